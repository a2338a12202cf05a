"""The live timeline of a run: one entry per meaningful event, observations collapsed until asked for.

Model calls are not entries (they would double every step); their tokens go to the status bar. A
reply is one row that shows the model reading its prompt (``PromptRead``), then grows as the model
writes (``TextDelta``); a thought already shown there is not repeated. Uncertainty samples are not
shown as they stream: their entropy row sums them up. When a tool flags a structure
(``DraftWithdrawn``) every row of model text gives way to one notice. The same widget replays a saved
trace, so a reopened question looks as it did when it ran. Every string
shown came from the question, a tool or the model: it is cleaned of terminal control and put in a
``Text`` (never parsed as markup).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from txscout.core.events import (
    AnswerReady,
    CritiqueFinding,
    DraftWithdrawn,
    ErrorRaised,
    Event,
    EvidenceAdded,
    PromptRead,
    Revision,
    RunFinished,
    RunStarted,
    SafetyFlagged,
    TextDelta,
    Thought,
    ToolCalled,
    ToolResult,
    UncertaintyRound,
)
from txscout.core.text import clean
from txscout.tui._css import sibling_css
from txscout.tui.words import plural

LABEL_WIDTH = 9
_ARGS_PREVIEW = 300
_SUMMARISED = {"uncertainty"}


def _line(label: str, body: str | Text, *, label_style: str) -> Table:
    """A label column and a body that wraps under itself, not under the label."""
    grid = Table.grid()
    grid.add_column(width=LABEL_WIDTH, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(label, style=label_style), body if isinstance(body, Text) else Text(clean(body)))
    return grid


def _clip(text: str, limit: int) -> str:
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class TimelineEntry(Static):
    """One timeline row; ``kind`` is its CSS class (thought, tool, error, …)."""

    def __init__(self, content: Table, kind: str) -> None:
        super().__init__(content, classes=f"entry {kind}")
        self.kind = kind


def reading_words(done: int, total: int) -> str:
    return f"prompt read ({total:,} tokens)" if done >= total else f"reading its prompt: {done:,}/{total:,} tokens"


class ReplyEntry(TimelineEntry):
    """A model reply as it streams in: the row grows with every batch of deltas. Before the first token
    it shows how far the model has read its prompt, which can take many seconds on a small CPU."""

    def __init__(self, call: int) -> None:
        self.call = call
        self.text = ""
        self.reading: tuple[int, int] | None = None
        super().__init__(self._content(), "reply")

    def _content(self) -> Table:
        if not self.text and self.reading is not None:
            return _line("model", Text(reading_words(*self.reading), style="dim"), label_style="italic")
        return _line("model", Text(clean(self.text), style="italic"), label_style="italic")

    def append(self, text: str) -> None:
        self.text += text

    def show(self) -> None:
        self.update(self._content())


class Observation(Collapsible):
    """A tool's output, collapsed: it is long and mostly read only when something looks wrong."""

    def __init__(self, event: ToolResult) -> None:
        if event.is_error:
            title = f"error from {_clip(event.tool, 60)}: {_clip(event.output, 80)}"
        else:
            title = f"observation from {_clip(event.tool, 60)} · {len(event.output)} chars · {event.duration_s:.2f} s"
        super().__init__(
            Static(Text(clean(event.output)), classes="observation-body"),
            title=Content(title),
            collapsed=True,
            classes="observation error" if event.is_error else "observation",
        )


class RevisionEntry(Collapsible):
    def __init__(self, event: Revision) -> None:
        super().__init__(
            Static(Text(clean(event.text)), classes="observation-body"),
            title=Content(f"revised answer · critique round {event.round}"),
            collapsed=True,
            classes="observation revision",
        )


WITHDRAWN = "the model's text was withdrawn: a tool flagged a controlled structure, so the answer is the safety notice"
_MODEL_TEXT_KINDS = {"reply", "thought", "critique", "uncertainty"}


def _is_model_text(widget: Widget) -> bool:
    """Rows that show what a model wrote (replies, thoughts, critique findings, sampled answers, revisions)."""
    return isinstance(widget, RevisionEntry) or (isinstance(widget, TimelineEntry) and widget.kind in _MODEL_TEXT_KINDS)


def _question_row(question: str, started: RunStarted | None) -> Table:
    body = Text(clean(question), style="bold")
    if started is None:
        body.append("\nstarting…", style="dim")
    else:
        body.append(
            f"\n{_clip(started.model, 120)} · mode {_clip(started.mode, 40)} · {len(started.tools)} tools", style="dim"
        )
    return _line("question", body, label_style="bold")


def widgets_for(event: Event) -> list[Widget]:
    """The timeline rows for one event (none for events shown elsewhere, like model calls)."""
    if isinstance(event, RunStarted):
        return [TimelineEntry(_question_row(event.question, event), "question")]
    if isinstance(event, Thought):
        return [TimelineEntry(_line("thought", event.text, label_style="italic"), "thought")]
    if isinstance(event, ToolCalled):
        body = Text(_clip(event.tool, 80), style="bold")
        body.append(" " + _clip(json.dumps(event.args, ensure_ascii=False, default=str), _ARGS_PREVIEW))
        if event.automatic:
            body.append("  (automatic grounding)", style="dim")
        return [TimelineEntry(_line("tool", body, label_style="bold"), "tool")]
    if isinstance(event, ToolResult):
        return [Observation(event)]
    if isinstance(event, EvidenceAdded):
        body = Text(f"[{event.ref}] ", style="bold")
        body.append(_clip(event.title or event.evidence_id, 90))
        body.append(f"  {clean(event.locator)}", style="dim")
        return [TimelineEntry(_line("source", body, label_style=""), "source")]
    if isinstance(event, SafetyFlagged):
        body = (
            f"{_clip(event.molecule, 120)} resembles {_clip(event.matched, 80)} ({_clip(event.category, 80)}, "
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
                TimelineEntry(_line("critique", f"round {event.round}: no problems found", label_style=""), "critique")
            ]
        body = Text(f"round {event.round}: {plural(len(event.problems), 'problem')}")
        for problem in event.problems:
            body.append(f"\n  • {clean(problem)}")
        return [TimelineEntry(_line("critique", body, label_style="bold"), "critique")]
    if isinstance(event, Revision):
        return [RevisionEntry(event)]
    if isinstance(event, AnswerReady):
        if event.incomplete:
            body = f"incomplete: {event.reason or 'no reason given'}"
        elif event.confidence is not None:
            body = f"ready · confidence {event.confidence:.0%} · {plural(len(event.citations), 'citation')}"
        else:
            body = f"ready · {plural(len(event.citations), 'citation')}"
        if event.note:
            body += f" · {event.note}"
        return [TimelineEntry(_line("answer", body, label_style="bold"), "answer")]
    if isinstance(event, ErrorRaised):
        return [TimelineEntry(_line("error", f"{event.kind}: {event.message}", label_style="bold"), "error")]
    if isinstance(event, RunFinished):
        body = (
            f"{_clip(event.status, 40)} · {plural(event.steps, 'step')} · {plural(event.tool_calls, 'tool call')} · "
            f"{event.input_tokens + event.output_tokens:,} tokens · {event.elapsed_s:.1f} s"
        )
        return [TimelineEntry(_line("finished", body, label_style="bold"), f"finished {event.status}")]
    return []


class Timeline(VerticalScroll, can_focus=True):
    """Follows the run while the reader is at the bottom; stays put once they scroll up to read.

    (Textual's ``anchor()`` would also do this, but it pushes a short timeline to the bottom edge.)
    """

    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "toggle_observations", "Toggle observations"),
        Binding("n", "observation(1)", "Next observation", show=False),
        Binding("p", "observation(-1)", "Previous observation", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Timeline"
        self._header: TimelineEntry | None = None
        self._reply: ReplyEntry | None = None
        self._streamed_steps: set[int] = set()

    def reset(self, question: str) -> None:
        """Start a run's timeline with the question itself: the reader sees it in the next frame,
        without waiting for the worker thread; the agent's ``run_started`` then fills in the details."""
        self.remove_children()
        self._forget_replies()
        self._header = TimelineEntry(_question_row(question, None), "question")
        self.mount(self._header)

    def add_all(self, events: Iterable[Event]) -> None:
        """Mount the rows for a batch of events in one go (one layout pass, not one per event)."""
        widgets = self._rows(events)
        if widgets:
            self._mount_following(widgets)
        elif self._reply is not None and self.scroll_y >= self.max_scroll_y - 1:
            self.call_after_refresh(self.scroll_end, animate=False)  # the growing reply stays in view

    def replay(self, events: Iterable[Event]) -> None:
        """Show a finished run in one mount, which is much faster than one mount per event."""
        self.remove_children()
        self._header = None
        self._forget_replies()
        widgets = self._rows(events)
        if widgets:
            self.mount_all(widgets)

    def _forget_replies(self) -> None:
        self._reply = None
        self._streamed_steps = set()

    def _rows(self, events: Iterable[Event]) -> list[Widget]:
        """New rows for ``events``; streamed text grows the current reply row instead."""
        widgets: list[Widget] = []
        grown: set[ReplyEntry] = set()
        for event in events:
            if isinstance(event, DraftWithdrawn):
                widgets = self._withdraw(widgets)
                grown = set()
            elif isinstance(event, TextDelta | PromptRead):
                if event.purpose in _SUMMARISED:
                    continue
                if self._reply is None or self._reply.call != event.call:
                    self._reply = ReplyEntry(event.call)
                    widgets.append(self._reply)
                grown.add(self._reply)
                if isinstance(event, PromptRead):
                    self._reply.reading = (event.done, event.total)
                    continue
                self._reply.append(event.text)
                if event.purpose == "react":
                    self._streamed_steps.add(event.step)
            elif isinstance(event, RunStarted) and self._header is not None:
                self._header.update(_question_row(event.question, event))
                self._header = None
            elif not (isinstance(event, Thought) and event.step in self._streamed_steps):
                widgets.extend(widgets_for(event))
        for reply in grown:
            reply.show()
        return widgets

    def _withdraw(self, pending: list[Widget]) -> list[Widget]:
        """Replace the model's text, shown or about to be, with one notice where the first of it stood."""
        notice = TimelineEntry(_line("safety", WITHDRAWN, label_style="bold"), "safety")
        self._reply = None
        shown = [w for w in self.children if _is_model_text(w)]
        if shown:
            self.mount(notice, before=shown[0])
            for widget in shown:
                widget.remove()
            return [w for w in pending if not _is_model_text(w)]
        first = next((i for i, w in enumerate(pending) if _is_model_text(w)), len(pending))
        kept = [w for w in pending if not _is_model_text(w)]
        kept.insert(first, notice)
        return kept

    def note(self, message: str, kind: str = "note") -> None:
        """An entry from the app itself (loading the model, a failure outside the run)."""
        label = {"error": "error", "warning": "warning"}.get(kind, "note")
        self._mount_following([TimelineEntry(_line(label, message, label_style="bold"), kind)])

    def _mount_following(self, widgets: list[Widget]) -> None:
        at_bottom = self.scroll_y >= self.max_scroll_y - 1
        self.mount_all(widgets)
        if at_bottom:
            self.call_after_refresh(self.scroll_end, animate=False)

    @property
    def entries(self) -> list[Widget]:
        return [w for w in self.children if isinstance(w, TimelineEntry | Collapsible)]

    def action_observation(self, step: int) -> None:
        """Focus the next (or previous) observation's title, where Enter expands it: Tab leaves the
        timeline for the next panel instead of visiting every observation on the way."""
        titles = [c.query_one("CollapsibleTitle") for c in self.query(Collapsible)]
        if not titles:
            return
        focused = self.app.focused
        current = titles.index(focused) if focused in titles else (-1 if step > 0 else len(titles))
        target = titles[max(0, min(len(titles) - 1, current + step))]
        target.focus()
        target.scroll_visible(animate=False)

    def action_toggle_observations(self) -> None:
        observations = list(self.query(Collapsible))
        expand = any(o.collapsed for o in observations)
        for observation in observations:
            observation.collapsed = not expand
