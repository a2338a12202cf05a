"""A deterministic fake chat model for benchmark-runner tests.

It answers by looking up which key occurs in the question, so replies do not depend on the order in
which concurrent workers call it, and it counts calls so tests can prove no item was run twice.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from txscout.core.errors import LimitReached


class KeyedChatModel(BaseChatModel):
    answers: dict[str, str]
    default: str = "Answer: A"
    delay_s: float = 0.0
    interrupt_after: int | None = None
    raise_on: str | None = None
    context_full_on: str | None = None
    _calls: list[str] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "keyed-fake"

    @property
    def calls(self) -> list[str]:
        return list(self._calls)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        text = str(messages[-1].content)
        with self._lock:
            if self.interrupt_after is not None and len(self._calls) >= self.interrupt_after:
                raise KeyboardInterrupt("simulated kill")
            self._calls.append(text)
        if self.raise_on and self.raise_on in text:
            raise RuntimeError("model crashed on this item")
        if self.context_full_on and self.context_full_on in text:
            raise LimitReached("the model's context window (4096 tokens) is full")
        time.sleep(self.delay_s)
        reply = next((v for k, v in self.answers.items() if k in text), self.default)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])
