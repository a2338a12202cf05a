"""A deterministic fake chat model for benchmark-runner tests, and a recipe Ray workers build it from.

It answers by looking up which key occurs in the question, so replies do not depend on the order in
which concurrent workers call it, and it counts calls so tests can prove no item was run twice. In a
Ray worker the calls are out of the test's reach, so it can also leave one file per call (``marks``):
the worker's PID and the question, which lets a test find and kill the process scoring an item and
count how often an item was attempted.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from txscout.agent.api import Agent
from txscout.core.errors import LimitReached
from txscout.core.settings import Settings, load_settings


class KeyedChatModel(BaseChatModel):
    answers: dict[str, str]
    default: str = "Answer: A"
    delay_s: float = 0.0
    interrupt_after: int | None = None
    raise_on: str | None = None
    context_full_on: str | None = None
    marks: str | None = None
    sigkill_self_on: str | None = None  # only ever in a Ray worker: in the test process it would kill pytest
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
        if self.marks:
            Path(self.marks, f"{os.getpid()}-{uuid.uuid4().hex}").write_text(text, encoding="utf-8")
        if self.sigkill_self_on and self.sigkill_self_on in text:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.delay_s)
        reply = next((v for k, v in self.answers.items() if k in text), self.default)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])


def marks_in(folder: Path) -> list[tuple[int, str]]:
    """(worker PID, question) for every call a model with ``marks=folder`` has made."""
    return [(int(p.name.split("-")[0]), p.read_text(encoding="utf-8")) for p in sorted(folder.iterdir())]


@dataclass(frozen=True)
class KeyedAgents:
    """A picklable recipe for a bare agent over :class:`KeyedChatModel`, built inside each Ray worker."""

    answers: dict[str, str]
    default: str = "Answer: A"
    delay_s: float = 0.0
    marks: str | None = None
    sigkill_self_on: str | None = None
    settings: Settings = field(default_factory=lambda: load_settings(mode="bare"))
    model_spec: str | None = None
    model_label: str = "KeyedChatModel"

    def __call__(self) -> Agent:
        model = KeyedChatModel(
            answers=self.answers,
            default=self.default,
            delay_s=self.delay_s,
            marks=self.marks,
            sigkill_self_on=self.sigkill_self_on,
        )
        return Agent(model=model, tools=[], mode="bare", settings=self.settings)
