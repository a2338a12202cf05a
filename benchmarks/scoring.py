"""Scoring one item: run the agent on its prompt, grade the reply, keep the trace.

The thread pool in the driver and the Ray workers both score through :class:`Scorer`, so an item gets
the same record whichever ran it. Agents reach Ray workers as recipes (:class:`AgentFactory`), never
as built objects: a model holds locks, file handles and native memory that cannot be pickled, and each
worker should load its model once rather than receive a copy per item.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from txscout.benchmarks.items import Item, Record
from txscout.core.errors import UserError
from txscout.core.secrets import mask_text

if TYPE_CHECKING:
    from txscout.agent.api import Choices
    from txscout.agent.result import Answer
    from txscout.benchmarks.adapters.base import Adapter
    from txscout.benchmarks.judge import Judge
    from txscout.core.events import Event
    from txscout.core.settings import Mode, Settings

TRACES = "traces"


class AgentLike(Protocol):
    model_label: str
    settings: Settings

    def run(
        self,
        question: str,
        *,
        on_event: Callable[[Event], None] | None = ...,
        mode: Mode | None = ...,
        choices: Choices | None = ...,
    ) -> Answer: ...


class AgentFactory(Protocol):
    """A picklable recipe that builds an agent where it is called (in a Ray worker, once).

    ``model_spec`` is the spec the model is built from (``None`` for a model given as an object), and
    ``model_label`` and ``settings`` describe the agent for the run manifest without building it.
    """

    model_spec: str | None
    model_label: str
    settings: Settings

    def __call__(self) -> AgentLike: ...


@dataclass(frozen=True)
class SpecAgents:
    """The agent a benchmark run uses by default: a model spec, a mode and the effective settings.
    Bare mode runs without tools, so the model alone is measured."""

    model_spec: str
    mode: Mode
    settings: Settings

    @property
    def model_label(self) -> str:
        from txscout.agent.backends.models import describe

        return describe(self.model_spec)

    def __call__(self) -> AgentLike:
        from txscout.agent.api import Agent

        tools = [] if self.mode == "bare" else None
        return Agent(model=self.model_spec, tools=tools, settings=self.settings, mode=self.mode)


def gold_cited(item: Item, answer: Answer) -> bool | None:
    """Whether the answer cites the item's own document (``metadata["gold_pmid"]``, open-book items):
    the citations are matched to the evidence they number, and that evidence's PMID to the gold one."""
    gold = item.metadata.get("gold_pmid")
    if gold is None:
        return None
    cited = {c.evidence_id for c in answer.citations}
    return any(e.pmid == gold for e in answer.evidence if e.content_hash in cited)


def trace_name(item_id: str) -> str:
    """A file name for an item's trace, distinct for distinct ids: a readable prefix plus a hash of the
    whole id, since ``a/1``, ``a_1`` and ``a 1`` sanitise alike, and ``A``/``a`` collide on
    case-insensitive file systems."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id)[:100].strip("._") or "item"
    return f"{readable}-{hashlib.sha256(item_id.encode()).hexdigest()[:16]}.jsonl"


def trace_path(item_id: str) -> str:
    """The trace's path relative to the run folder, as the record stores it."""
    return f"{TRACES}/{trace_name(item_id)}"


@dataclass
class Scorer:
    """What scoring needs, built once per process: the suite's grader, the agent and the judge."""

    adapter: Adapter
    agent: AgentLike
    judge: Judge | None
    mode: Mode

    def score(self, item: Item, on_event: Callable[[Event], None]) -> Record:
        """The item's record. An agent failure is recorded as a wrong, errored item; a user error (the
        model or judge is unavailable) propagates and stops the run."""
        started = time.monotonic()
        base = {
            "item_id": item.id,
            "suite": item.suite,
            "subset": item.subset,
            "answer_type": item.answer_type,
            "gold": item.gold,
            "trace": trace_path(item.id),
        }
        try:
            answer = self.agent.run(item.prompt, on_event=on_event, mode=self.mode, choices=item.closed_answers())
        except UserError:
            raise
        except Exception as exc:
            return self.failed(item, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        latency = time.monotonic() - started
        grade = self.adapter.grade(item, answer.text, self.judge)
        return Record(
            **base,
            prediction=grade.prediction,
            correct=grade.correct,
            score=grade.score,
            refused=grade.refused,
            confidence=answer.confidence if answer.confidence is not None else grade.confidence,
            stated_confidence=grade.confidence,
            axes=grade.axes,
            grader=grade.grader,
            detail=grade.detail,
            response=answer.text,
            status=answer.status,
            model_calls=answer.usage.model_calls,
            tool_calls=answer.usage.tool_calls,
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            latency_s=latency,
            run_id=answer.run_id,
            gold_cited=gold_cited(item, answer),
        )

    def failed(self, item: Item, reason: str, latency_s: float = 0.0) -> Record:
        """A record for an item that could not be answered: wrong, with the reason (secrets masked)."""
        grader = self.adapter.grader_name(self.judge)
        return failed_record(item, grader, reason, latency_s, settings=self.agent.settings)


def failed_record(
    item: Item, grader: str, reason: str, latency_s: float = 0.0, *, settings: Settings | None = None
) -> Record:
    """A wrong, errored record; the reason is masked, including the secret values ``settings`` holds."""
    return Record(
        item_id=item.id,
        suite=item.suite,
        subset=item.subset,
        answer_type=item.answer_type,
        gold=item.gold,
        trace=trace_path(item.id),
        prediction=None,
        correct=False,
        score=0.0,
        grader=grader,
        status="error",
        error=mask_text(reason, settings),
        latency_s=latency_s,
    )
