"""Fake chat models for sampling tests: thread-safe scripts, an embedded-model stand-in, a batched backend.

The stand-ins declare capabilities the way real models do (``capabilities`` class attribute), so
the code under test takes the grammar-and-seed or the batched path by asking the backend.

``Run.sample`` sends concurrent requests to remote-style models, and the reply counter of langchain's
fake chat model is not thread-safe, so a script shared by concurrent samples must hand replies out
under a lock or two samples can receive the same reply.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

from tests.scripted import ScriptedChatModel
from txscout.agent.backends.capabilities import Capabilities


class LockedScript(ScriptedChatModel):
    """A scripted model safe under concurrent calls; records each call's keyword arguments too."""

    kwargs_seen: list[dict[str, Any]] = Field(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        with self._lock:
            self.kwargs_seen.append(kwargs)
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


class EmbeddedLike(LockedScript):
    """Declares what the embedded model declares: a grammar and a seed per call, one reply at a time."""

    capabilities: ClassVar[Capabilities] = Capabilities(grammar=True, serial=True, seeded=True)


class Batched(BaseChatModel):
    """A backend that takes ``n`` and returns n generations from one request."""

    capabilities: ClassVar[Capabilities] = Capabilities(native_n=True)
    batches: list[list[str]]
    requests: int = 0

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        replies = self.batches[self.requests]
        self.requests += 1
        assert kwargs.get("n") == len(replies)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(r)) for r in replies])

    @property
    def _llm_type(self) -> str:
        return "batched-fake"


def locked(*replies: str | AIMessage) -> LockedScript:
    return LockedScript(responses=[r if isinstance(r, AIMessage) else AIMessage(r) for r in replies])
