"""Scripted chat models for loop tests, built on langchain-core's fake chat model.

``ScriptedChatModel`` replies from a list and records every prompt it was given, so a test can check
what the agent showed the model (evidence in a resampling prompt, framed observations, and so on).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import Field

_LOCK = threading.Lock()
"""Concurrent samples (``Run.sample``) must each take the next reply, never the same one twice."""


class ScriptedChatModel(FakeMessagesListChatModel):
    """Replies in order; with ``native=True`` it accepts ``bind_tools`` like a tool-calling model."""

    native: bool = False
    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        with _LOCK:
            self.prompts.append(list(messages))
            if len(self.prompts) > len(self.responses):
                raise AssertionError(f"script exhausted after {len(self.responses)} replies")
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        if not self.native:
            raise NotImplementedError
        return self


def script(*replies: str | AIMessage, native: bool = False) -> ScriptedChatModel:
    messages = [r if isinstance(r, AIMessage) else AIMessage(r) for r in replies]
    return ScriptedChatModel(responses=messages, native=native)


def tool_call(name: str, args: dict[str, Any], call_id: str = "call-1", text: str = "") -> AIMessage:
    return AIMessage(text, tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])
