"""Typed events: the one record of a run that the CLI, the TUI, benchmark logs and traces all read.

Every event is a pydantic model with a literal ``type`` so that a JSONL trace can be parsed back into
the same objects and re-rendered later.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, field_validator
from pydantic_core import PydanticSerializationError

from txscout.core.evidence import EvidencePlan
from txscout.core.files import atomic_writer, open_private
from txscout.core.secrets import mask_text


class _Event(BaseModel):
    run_id: str = ""
    ts: float = Field(default_factory=time.time)


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    question: str
    model: str
    mode: str
    tools: list[str] = Field(default_factory=list)
    """The tools offered to the model."""
    tool_choice: dict[str, Any] = Field(default_factory=dict)
    """How they were chosen (``agent.plan.tool_choice.ToolChoice``): how many could work, which could not and
    why, and each offered tool's relevance when they were ranked."""
    protocol: Literal["text", "native", ""] = ""
    """How the model calls tools: the text protocol or its native tool calling; empty when it has none
    (bare mode, no tools)."""


class ModelCall(_Event):
    """A finished (or cancelled) model call with its token counts; ``call`` matches its ``TextDelta``s."""

    type: Literal["model_call"] = "model_call"
    step: int
    purpose: str = "react"
    call: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0


class TextDelta(_Event):
    """Text a model has just generated, as it streams. ``call`` numbers the run's model calls, so the
    replies of concurrent calls (uncertainty samples) can be told apart; ``tokens`` is how many
    generated tokens the text stands for. A trace may hold several consecutive deltas merged into one."""

    type: Literal["text_delta"] = "text_delta"
    step: int
    purpose: str = "react"
    call: int = 0
    text: str
    tokens: int = 1


class PromptRead(_Event):
    """A model reading its prompt, before its first token: ``done`` of ``total`` prompt tokens are in its
    context (tokens it held from an earlier call count as done). Sent by models that report it (the
    embedded one), once before reading and after each batch, so a long silent wait shows progress."""

    type: Literal["prompt_read"] = "prompt_read"
    step: int
    purpose: str = "react"
    call: int = 0
    done: int
    total: int


class Thought(_Event):
    type: Literal["thought"] = "thought"
    step: int
    text: str


class ToolCalled(_Event):
    type: Literal["tool_call"] = "tool_call"
    step: int
    call_id: str
    tool: str
    args: dict[str, Any]
    automatic: bool = False


class ToolResult(_Event):
    type: Literal["tool_result"] = "tool_result"
    step: int
    call_id: str
    tool: str
    output: str
    is_error: bool = False
    duration_s: float = 0.0


class EvidenceAdded(_Event):
    type: Literal["evidence_added"] = "evidence_added"
    ref: int
    evidence_id: str
    source_kind: str
    title: str = ""
    locator: str = ""
    page: int | None = None


class EvidencePlanned(_Event):
    """What the agent read before the model's first step (``agent.plan.evidence_first``): the searches, every
    candidate passage with its scores, and which were shown to the model."""

    type: Literal["evidence_plan"] = "evidence_plan"
    plan: EvidencePlan


class SafetyFlagged(_Event):
    type: Literal["safety_flag"] = "safety_flag"
    tool: str
    molecule: str
    matched: str
    similarity: float
    category: str


class DraftWithdrawn(_Event):
    """The model's text so far is withdrawn: a tool flagged a controlled structure, so the answer will be
    the safety refusal and no draft may stay on screen or on disk. Emitted once, right after the run's
    first flag, and only when model text had been emitted; the run emits no model text after it (see
    :func:`carries_model_text`). Live views replace the text with a notice, :class:`TraceWriter` strikes
    it from the trace, and a consumer of ``Agent.stream`` should drop what it kept of it."""

    type: Literal["draft_withdrawn"] = "draft_withdrawn"


class UncertaintyRound(_Event):
    type: Literal["uncertainty_round"] = "uncertainty_round"
    round: int
    samples: list[str]
    distribution: dict[str, float]
    entropy: float
    majority_share: float
    searched: list[str] = Field(default_factory=list)
    decision: str = ""


class CritiqueFinding(_Event):
    type: Literal["critique"] = "critique"
    round: int
    problems: list[str]


class Revision(_Event):
    type: Literal["revision"] = "revision"
    round: int
    text: str


class AnswerReady(_Event):
    type: Literal["answer"] = "answer"
    text: str
    citations: list[dict[str, Any]] = Field(default_factory=list)
    confidence: float | None = None
    incomplete: bool = False
    reason: str = ""
    note: str = ""
    """What a reader must know to weigh the answer that its text does not say: that it is unsourced."""


class ErrorRaised(_Event):
    """A problem during a run. Its message often quotes a library or an endpoint, which may echo a key
    back ("Incorrect API key provided: Bearer sk-..."), so secrets in it are masked on the way in: no
    sink (terminal, trace, TUI, session, stream) ever holds them."""

    type: Literal["error"] = "error"
    kind: str
    message: str

    @field_validator("message")
    @classmethod
    def _masked(cls, message: str) -> str:
        return mask_text(message)


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: Literal["completed", "incomplete", "cancelled", "failed"]
    steps: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    elapsed_s: float = 0.0


Event = Annotated[
    RunStarted
    | ModelCall
    | TextDelta
    | PromptRead
    | Thought
    | ToolCalled
    | ToolResult
    | EvidenceAdded
    | EvidencePlanned
    | SafetyFlagged
    | DraftWithdrawn
    | UncertaintyRound
    | CritiqueFinding
    | Revision
    | AnswerReady
    | ErrorRaised
    | RunFinished,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

_MODEL_TEXT = (TextDelta, Thought, UncertaintyRound, CritiqueFinding, Revision)


def carries_model_text(event: Event) -> bool:
    """Whether the event holds text a model wrote on its way to an answer: streamed replies, thoughts,
    uncertainty samples, critique findings (they quote the draft) and revisions. These are what a safety
    flag withdraws; the final ``answer`` is not among them, since a flagged run's answer is the refusal."""
    return isinstance(event, _MODEL_TEXT)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def event_to_json(event: Event) -> str:
    """One JSON line. Text from a tool or model can hold lone surrogates (undecodable bytes a library
    let through), which UTF-8 cannot carry: they become U+FFFD instead of failing the whole trace."""
    try:
        return event.model_dump_json()
    except PydanticSerializationError:
        return _LONE_SURROGATE.sub("\ufffd", json.dumps(event.model_dump(mode="json"), ensure_ascii=False))


def event_from_json(line: str) -> Event:
    return EVENT_ADAPTER.validate_json(line)


class TraceWriter:
    """Appends events to a JSONL file, flushing each line so a crash loses at most the event in flight.

    A trace holds the question and everything read for it, so a new file is created 0600 (and any
    directory made for it 0700).

    Streamed text arrives a token at a time; consecutive deltas of one model call are merged into one
    line, written when another event arrives, after ``DELTA_FLUSH_S`` or on ``close``. The merged
    delta carries the same text, so a re-rendered trace shows what the live run showed.

    A ``draft_withdrawn`` event strikes its run's model text from the file: the trace is rewritten
    without it (a new file renamed over the old one, so a crash leaves one or the other whole), and the
    text was never the answer. Lines of other runs in the same file are kept as they were.
    """

    DELTA_FLUSH_S = 1.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open_private(path, "a")
        self._pending: TextDelta | None = None
        self._pending_since = 0.0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._record(event)

    def _record(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            pending = self._pending
            if pending is not None and (pending.run_id, pending.call) == (event.run_id, event.call):
                pending.text += event.text
                pending.tokens += event.tokens
            else:
                self._flush_delta()
                self._pending = event.model_copy()
                self._pending_since = time.monotonic()
            if time.monotonic() - self._pending_since >= self.DELTA_FLUSH_S:
                self._flush_delta()
            return
        self._flush_delta()
        if isinstance(event, DraftWithdrawn):
            self._strike(event.run_id)
        self._write(event)

    def _strike(self, run_id: str) -> None:
        """Rewrite the trace without ``run_id``'s model text. Only a regular file (or the one a link
        names) is rewritten; a pipe or device has already passed on what it was given."""
        target = self.path.resolve()
        if not target.is_file():
            return
        self._fh.close()
        try:
            with target.open("rb") as old:
                kept = [line for line in old if not _model_text_of(line, run_id)]
            with atomic_writer(target, binary=True, private=True, durable=True) as new:
                new.writelines(kept)
        finally:
            self._fh = open_private(target, "a")

    def _flush_delta(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._write(pending)

    def _write(self, event: Event) -> None:
        self._fh.write(event_to_json(event) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Write what is pending and close the file; the file is closed even when that write fails."""
        with self._lock:
            try:
                self._flush_delta()
            finally:
                self._fh.close()


def _model_text_of(line: bytes, run_id: str) -> bool:
    """Whether a trace line is model text of ``run_id``; a line that is not an event is kept as it is."""
    try:
        event = EVENT_ADAPTER.validate_json(line)
    except ValueError:
        return False
    return event.run_id == run_id and carries_model_text(event)


class TraceFormatError(ValueError):
    """A trace file line is not a txscout event."""


def read_trace(path: Path) -> Iterator[Event]:
    with path.open("rb") as fh:
        if b"\x00" in fh.read(8192):
            raise TraceFormatError(f"{path} is a binary file, not a JSONL trace")
        fh.seek(0)
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TraceFormatError(f"{path}:{lineno}: not UTF-8 text, so not a JSONL trace") from None
            if not line.strip():
                continue
            try:
                yield event_from_json(line)
            except (ValueError, json.JSONDecodeError) as exc:
                raise TraceFormatError(f"{path}:{lineno}: not a txscout event ({exc.__class__.__name__})") from exc


def validate_sequence(events: Iterable[Event]) -> list[str]:
    """Problems with the order of a run's events; an empty list means the trace is well formed."""
    problems: list[str] = []
    items = list(events)
    if not items or items[0].type != "run_started":
        problems.append("trace does not start with run_started")
    if not items or items[-1].type != "run_finished":
        problems.append("trace does not end with run_finished")
    open_calls: set[str] = set()
    for ev in items:
        if ev.type == "tool_call":
            open_calls.add(ev.call_id)
        elif ev.type == "tool_result":
            if ev.call_id not in open_calls:
                problems.append(f"tool_result {ev.call_id} has no tool_call")
            open_calls.discard(ev.call_id)
    if open_calls:
        problems.append(f"tool calls without results: {sorted(open_calls)}")
    finished = [ev for ev in items if ev.type == "run_finished"]
    if finished and finished[-1].status in ("completed", "incomplete") and not any(ev.type == "answer" for ev in items):
        problems.append("run finished without an answer")
    return problems
