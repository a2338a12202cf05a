"""The live timeline of a run: one entry per meaningful event, observations collapsed until asked for.

Model calls are not entries (they would double every step); their tokens go to the status bar. The
same widget replays a saved trace, so a reopened question looks as it did when it ran.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from agent.events import (
    AnswerReady,
    CritiqueFinding,
    ErrorRaised,
    Event,
    EvidenceAdded,
    Revision,
    RunFinished,
    RunStarted,
    SafetyFlagged,
    Thought,
    ToolCalled,
    ToolResult,
    UncertaintyRound,
)
from tui._css import sibling_css

LABEL_WIDTH = 9
_ARGS_PREVIEW = 300


def _line(label: str, body: str | Text, *, label_style: str) -> Text:
    text = Text(f"{label:<{LABEL_WIDTH}}", style=label_style, no_wrap=False)
    text.append_text(body if isinstance(body, Text) else Text(body))
    return text


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class TimelineEntry(Static):
    """One timeline row; ``kind`` is its CSS class (thought, tool, error, …)."""

    def __init__(self, content: Text, kind: str) -> None:
        super().__init__(content, classes=f"entry {kind}")
        self.kind = kind


class Observation(Collapsible):
    """A tool's output, collapsed: it is long and mostly read only when something looks wrong."""

    def __init__(self, event: ToolResult) -> None:
        if event.is_error:
            title = f"error from {event.tool}: {_clip(event.output, 80)}"
        else:
            title = f"observation from {event.tool} · {len(event.output)} chars · {event.duration_s:.2f} s"
        super().__init__(
            Static(Text(event.output), classes="observation-body"),
            title=Content(title),
            collapsed=True,
            classes="observation error" if event.is_error else "observation",
        )


class RevisionEntry(Collapsible):
    def __init__(self, event: Revision) -> None:
        super().__init__(
            Static(Text(event.text), classes="observation-body"),
            title=Content(f"revised answer · critique round {event.round}"),
            collapsed=True,
            classes="observation revision",
        )


def widgets_for(event: Event) -> list[Widget]:
    """The timeline rows for one event (none for events shown elsewhere, like model calls)."""
    if isinstance(event, RunStarted):
        body = Text(event.question, style="bold")
        body.append(f"\n{event.model} · mode {event.mode} · {len(event.tools)} tools", style="dim")
        return [TimelineEntry(_line("question", body, label_style="bold"), "question")]
    if isinstance(event, Thought):
        return [TimelineEntry(_line("thought", event.text, label_style="italic"), "thought")]
    if isinstance(event, ToolCalled):
        body = Text(event.tool, style="bold")
        body.append(" " + _clip(json.dumps(event.args, ensure_ascii=False, default=str), _ARGS_PREVIEW))
        if event.automatic:
            body.append("  (automatic grounding)", style="dim")
        return [TimelineEntry(_line("tool", body, label_style="bold"), "tool")]
    if isinstance(event, ToolResult):
        return [Observation(event)]
    if isinstance(event, EvidenceAdded):
        body = Text(f"[{event.ref}] ", style="bold")
        body.append(_clip(event.title or event.evidence_id, 90))
        body.append(f"  {event.locator}", style="dim")
        return [TimelineEntry(_line("source", body, label_style=""), "source")]
    if isinstance(event, SafetyFlagged):
        body = (
            f"{event.molecule} resembles {event.matched} ({event.category}, "
            f"similarity {event.similarity:.2f}); the answer will be guarded"
        )
        return [TimelineEntry(_line("safety", body, label_style="bold"), "safety")]
    if isinstance(event, UncertaintyRound):
        body = Text(f"round {event.round}: entropy {event.entropy:.2f}, majority {event.majority_share:.0%}")
        ranked = sorted(event.distribution.items(), key=lambda kv: kv[1], reverse=True)
        for answer, share in ranked[:4]:
            body.append(f"\n  {share:>4.0%}  {_clip(answer, 100)}", style="dim")
        for query in event.searched:
            body.append(f"\n  searched: {_clip(query, 100)}")
        return [TimelineEntry(_line("entropy", body, label_style="bold"), "uncertainty")]
    if isinstance(event, CritiqueFinding):
        if not event.problems:
            return [
                TimelineEntry(
                    _line("critique", f"round {event.round}: no problems found", label_style=""), "critique"
                )
            ]
        body = Text(f"round {event.round}: {len(event.problems)} problem(s)")
        for problem in event.problems:
            body.append(f"\n  • {problem}")
        return [TimelineEntry(_line("critique", body, label_style="bold"), "critique")]
    if isinstance(event, Revision):
        return [RevisionEntry(event)]
    if isinstance(event, AnswerReady):
        if event.incomplete:
            body = f"incomplete: {event.reason or 'no reason given'}"
        elif event.confidence is not None:
            body = f"ready · confidence {event.confidence:.0%} · {len(event.citations)} citation(s)"
        else:
            body = f"ready · {len(event.citations)} citation(s)"
        return [TimelineEntry(_line("answer", body, label_style="bold"), "answer")]
    if isinstance(event, ErrorRaised):
        return [TimelineEntry(_line("error", f"{event.kind}: {event.message}", label_style="bold"), "error")]
    if isinstance(event, RunFinished):
        body = (
            f"{event.status} · {event.steps} step(s) · {event.tool_calls} tool call(s) · "
            f"{event.input_tokens + event.output_tokens} tokens · {event.elapsed_s:.1f} s"
        )
        return [TimelineEntry(_line("finished", body, label_style="bold"), f"finished {event.status}")]
    return []


class Timeline(VerticalScroll, can_focus=True):
    """Scrolls with the run while the reader is at the bottom; stays put once they scroll up."""

    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "toggle_observations", "Expand/collapse observations"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Timeline"
        self.started_at: float | None = None
        self.first_entry_at: float | None = None
        self._awaiting_first = False

    def on_mount(self) -> None:
        self.anchor()

    def reset(self) -> None:
        """Empty the timeline for a new run and start the Enter-to-first-entry clock."""
        self.remove_children()
        self.started_at = time.perf_counter()
        self.first_entry_at = None
        self._awaiting_first = True
        self.anchor()

    def add(self, event: Event) -> None:
        widgets = widgets_for(event)
        if widgets:
            self.mount_all(widgets)
            if self._awaiting_first:
                self._awaiting_first = False
                self.call_after_refresh(self._mark_first_entry)

    def _mark_first_entry(self) -> None:
        """Stamped after the refresh that paints the entry: the latency the reader actually sees."""
        self.first_entry_at = time.perf_counter()

    def replay(self, events: Iterable[Event]) -> None:
        """Show a finished run in one mount, which is much faster than one mount per event."""
        self.remove_children()
        self.started_at = self.first_entry_at = None
        self._awaiting_first = False
        widgets = [w for event in events for w in widgets_for(event)]
        if widgets:
            self.mount_all(widgets)
        self.anchor()

    def note(self, message: str, kind: str = "note") -> None:
        """An entry from the app itself (loading the model, a failure outside the run)."""
        label = {"error": "error", "warning": "warning"}.get(kind, "note")
        self.mount(TimelineEntry(_line(label, message, label_style="bold"), kind))

    @property
    def entries(self) -> list[Widget]:
        return [w for w in self.children if isinstance(w, TimelineEntry | Collapsible)]

    def action_toggle_observations(self) -> None:
        observations = list(self.query(Collapsible))
        expand = any(o.collapsed for o in observations)
        for observation in observations:
            observation.collapsed = not expand
