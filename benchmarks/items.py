"""Typed boundary objects: dataset items, grades, per-item records and run summaries.

Every adapter produces the same ``Item`` shape and every scored item becomes one ``Record`` line in
``records.jsonl``, so the runner, the resume logic and the report never need suite-specific parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from txscout.benchmarks.grading import LETTERS

if TYPE_CHECKING:
    from txscout.agent.api import Choices

AnswerType = Literal["multiple_choice", "numeric", "exact_match", "label", "rubric"]


class Item(BaseModel):
    """One benchmark question, already rendered into the prompt the agent will see."""

    model_config = ConfigDict(frozen=True)

    id: str
    suite: str
    prompt: str
    answer_type: AnswerType
    choices: list[str] = Field(default_factory=list)
    several: bool = False  # the prompt says more than one option may be correct
    gold: list[str] | float | str
    subset: str
    tags: list[str] = Field(default_factory=list)
    source: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    def closed_answers(self) -> Choices | None:
        """What the agent may answer when its model must pick from a closed set: option letters for
        multiple choice, the labels for label questions; None for open answers."""
        from txscout.agent.api import Choices

        if self.answer_type == "multiple_choice" and self.choices:
            return Choices(answers=list(LETTERS[: len(self.choices)]), several=self.several)
        if self.answer_type == "label" and self.choices:
            return Choices(answers=self.choices)
        return None

    def in_subset(self, name: str) -> bool:
        wanted = name.casefold()
        return self.subset.casefold() == wanted or any(t.casefold() == wanted for t in self.tags)


class Skipped(BaseModel):
    """A row that was not turned into an item: where it is and why."""

    source: str
    reason: str
    malformed: bool = False


class LoadResult(BaseModel):
    items: list[Item]
    skipped: list[Skipped] = Field(default_factory=list)
    files: list[Path] = Field(default_factory=list)
    default_subsets: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Grade(BaseModel):
    """How one response scored; ``score`` is 0..1 (1/0 except for rubric suites)."""

    prediction: str | None
    correct: bool
    score: float
    refused: bool = False
    confidence: float | None = None
    axes: dict[str, float] = Field(default_factory=dict)
    grader: str
    detail: str = ""


class Record(BaseModel):
    """One JSONL line in ``records.jsonl``, written as soon as the item is scored."""

    item_id: str
    suite: str
    subset: str
    answer_type: AnswerType
    prediction: str | None
    gold: list[str] | float | str
    correct: bool
    score: float
    refused: bool = False
    confidence: float | None = None
    stated_confidence: float | None = None
    axes: dict[str, float] = Field(default_factory=dict)
    grader: str
    detail: str = ""
    response: str = ""
    status: str = "completed"
    error: str | None = None
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    trace: str = ""
    run_id: str = ""
    gold_cited: bool | None = None
    """Open-book items: whether the answer cited the item's own document (None where there is none)."""


class Interval(BaseModel):
    low: float
    high: float


class SubsetFigures(BaseModel):
    n: int
    correct: int
    accuracy: float
    ci95: Interval


class Summary(BaseModel):
    """``summary.json``: everything needed to trust and reproduce the headline number."""

    suite: str
    data: str
    data_sha256: str
    model: str
    mode: str
    seed: int
    grader: str
    subsets: list[str]
    limit: int | None
    n_selected: int
    n: int
    complete: bool
    correct: int
    accuracy: float
    ci95: Interval
    errors: int = 0
    per_subset: dict[str, SubsetFigures] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    skipped: int = 0
    malformed: int = 0
    skipped_reasons: dict[str, int] = Field(default_factory=dict)
    malformed_rows: list[str] = Field(default_factory=list)
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    elapsed_s: float = 0.0
    items_per_min: float | None = None
