"""What a run hands back: the :class:`Answer`, assembled from the run once its mode has a draft.

Assembly is the same for every mode: a safety refusal replaces any draft, the citations in the text are
resolved against the run's ledger, an answer that cites nothing says so (:func:`sourcing_note`), one the
searched sources did not support says what was searched (``agent.plan.evidence_first.unsupported``),
and the closing events go out before the answer is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from txscout.agent.citations import Citation
from txscout.agent.plan.evidence_first import unsupported
from txscout.agent.react import Draft
from txscout.core.events import AnswerReady, Event, RunFinished
from txscout.core.evidence import Evidence, EvidencePlan

if TYPE_CHECKING:
    from txscout.agent.run import Run
    from txscout.core.settings import Mode


class Usage(BaseModel):
    steps: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    elapsed_s: float = 0.0


class Answer(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float | None = None
    entropies: list[float] = Field(default_factory=list)
    incomplete: bool = False
    reason: str = ""
    note: str = ""
    """Set when the answer cites no source (:func:`sourcing_note`): the reader sees it is the model's own."""
    status: str = "completed"
    plan: EvidencePlan | None = None
    """What the run read before the model's first step (react and full): searches, scores, passages kept."""
    supported: bool | None = None
    """False when the sources searched did not answer the question and the text gives the model's own
    answer, marked as unsupported; None when no source was searched (bare mode, no store and offline)."""
    mode: str = "react"
    model: str = ""
    run_id: str = ""
    usage: Usage = Field(default_factory=Usage)
    events: list[Event] = Field(default_factory=list, repr=False)
    evidence: list[Evidence] = Field(default_factory=list, repr=False)


UNSOURCED_BARE = "unsourced: the model's own answer, no tools were used"
UNSOURCED = "unsourced: the answer cites none of the tool results"


def sourcing_note(citations: Sequence[Citation], tool_calls: int) -> str:
    """What an answer without citations is: a bare answer (or one where no tool ran) is the model's
    own, which nothing else on the answer would tell a reader; one after tool calls cited none of them."""
    if citations:
        return ""
    return UNSOURCED_BARE if tool_calls == 0 else UNSOURCED


@dataclass
class Outcome:
    """What a mode ended with: its draft, and the confidence when it sampled."""

    draft: Draft
    confidence: float | None = None
    entropies: list[float] = field(default_factory=list)
    status: Literal["completed", "cancelled"] = "completed"


def conclude(run: Run, question: str, mode: Mode, outcome: Outcome, model_label: str) -> Answer:
    """The safety refusal over any draft, citations resolved, the closing events, the Answer."""
    draft = outcome.draft
    if run.safety:
        from txscout.agent.safety import guarded_answer

        draft = Draft(guarded_answer(run.safety), draft.incomplete, draft.reason)
    text, citations = run.ledger.resolve(draft.text)
    note = "" if run.safety or not text else sourcing_note(citations, run.tool_calls)
    supported = None
    if run.plan is not None and run.plan.ran:
        supported = bool(citations or run.plan.kept or run.plan.linked or run.safety or draft.incomplete)
        if not supported:
            text = unsupported(run.plan, text)
    status = outcome.status
    if status != "cancelled":
        status = "incomplete" if draft.incomplete else "completed"
        run.emit(
            AnswerReady(
                text=text,
                citations=[c.model_dump() for c in citations],
                confidence=outcome.confidence,
                incomplete=draft.incomplete,
                reason=draft.reason,
                note=note,
            )
        )
    finish(run, status)
    return Answer(
        question=question,
        text=text,
        citations=citations,
        confidence=outcome.confidence,
        entropies=outcome.entropies,
        incomplete=draft.incomplete,
        reason=draft.reason,
        note=note,
        status=status,
        plan=run.plan,
        supported=supported,
        mode=mode,
        model=model_label,
        run_id=run.run_id,
        usage=Usage(
            steps=run.steps,
            model_calls=run.model_calls,
            tool_calls=run.tool_calls,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            elapsed_s=run.elapsed,
        ),
        events=list(run.events),
        evidence=list(run.ledger.items),
    )


def finish(run: Run, status: Literal["completed", "incomplete", "cancelled", "failed"]) -> None:
    """The run's last event: how it ended and what it spent."""
    run.emit(
        RunFinished(
            status=status,
            steps=run.steps,
            tool_calls=run.tool_calls,
            input_tokens=run.input_tokens,
            output_tokens=run.output_tokens,
            elapsed_s=run.elapsed,
        )
    )
