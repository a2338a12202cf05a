"""Rich rendering of the event stream: live steps while a run goes, the answer panel at the end.

The same renderer replays saved traces (``txscout trace show``), so a trace looks as the run did.
Everything shown came from a user, a tool or a model, so it goes through :func:`clean` and into
``Text`` objects: never read as rich markup, never passed to the terminal as control sequences.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.segment import Segment
from rich.text import Text

from txscout.core.events import Event, PromptRead, TextDelta
from txscout.core.text import clean

_PREVIEW = 220
_SUMMARISED = {"uncertainty"}
_LONG_PROMPT = 256
"""Prompt tokens left to read that take long enough (seconds on a small CPU) to be worth a line."""


def _preview(text: str, limit: int = _PREVIEW) -> str:
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def answer_panel(
    text: str, citations: list[dict[str, object]], confidence: float | None, incomplete: bool, note: str = ""
) -> Panel:
    # No terminal hyperlinks: a model's [text](target) would hide where it leads. Rich prints the
    # target after the text instead.
    parts: list[object] = [Markdown(clean(text) or "_(no answer)_", hyperlinks=False)]
    if note:
        parts.append(Text(f"\n{clean(note)}", style="yellow"))
    if citations:
        sources = Text("\nSources\n", style="bold")
        for c in citations:
            sources.append(f"[{c['ref']}] {_preview(str(c['title']), 300)}  ", style="default")
            sources.append(f"{_preview(str(c['locator']), 300)}\n", style="cyan")
        parts.append(sources)
    subtitle = []
    if confidence is not None:
        subtitle.append(f"confidence {confidence:.0%}")
    if incomplete:
        subtitle.append("incomplete")
    return Panel(
        Group(*parts),  # type: ignore[arg-type]
        title="Answer",
        subtitle=", ".join(subtitle) or None,
        border_style="yellow" if incomplete else "green",
    )


_WITHDRAWN = (
    "  ⚠ the model's text was withdrawn: a tool flagged a controlled structure, so the answer is the safety notice"
)


@dataclass
class _Line:
    renderable: RenderableType
    model_text: bool = False


class _Transcript:
    """A run's lines as the live display shows them: while the display runs, the latest lines that fit
    the screen; when it stops (its last frame, drawn under the display's lock), all of them."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.live: Live | None = None
        self.lock = threading.Lock()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        with self.lock:  # the run's thread appends while the display's thread renders
            items = [
                line.renderable.copy() if isinstance(line.renderable, Text) else line.renderable for line in self.lines
            ]
        if self.live is None or not self.live.is_started:
            yield from items
            return
        height = max(2, console.size.height - 1)  # the display must fit the screen to be redrawn in place
        one = options.update(height=None)
        rows: list[list[Segment]] = []
        for item in reversed(items):
            rows[:0] = console.render_lines(item, one, pad=False)
            if len(rows) > height:
                rows = [[Segment("  …", console.get_style("dim"))], *rows[-(height - 1) :]]
                break
        for number, row in enumerate(rows):
            if number:
                yield Segment.line()
            yield from row


class ConsoleRenderer:
    """Shows a run as it goes, one line per meaningful event; callable so it can be passed as ``on_event``.

    Model replies are written as they stream in, on a line of their own; a thought already shown that
    way is not repeated when its ``thought`` event follows. Uncertainty samples are not streamed: the
    entropy line sums them up, and concurrent samples would interleave.

    A run's lines stay in a live display until it finishes, because what the model wrote may be
    withdrawn (``draft_withdrawn``: a tool flagged a controlled structure): the display then replaces
    that text with a notice, and only the run as it stands at the end is printed for good. On a terminal
    the display follows the run; into a file or a pipe each run is written when it finishes. Call
    :meth:`close` when no more events will come (it prints a run left unfinished).
    """

    def __init__(self, console: Console, *, show_answer: bool = True) -> None:
        self.console = console
        self.show_answer = show_answer
        self._transcript = _Transcript()
        self._live: Live | None = None
        self._writing: _Line | None = None
        self._writing_call: int | None = None
        self._streamed_steps: set[int] = set()
        self._reading_calls: set[int] = set()
        self._closed = False
        self._lock = threading.RLock()  # the run's thread renders; the caller's closes

    def _add(self, renderable: RenderableType, *, model_text: bool = False) -> None:
        with self._transcript.lock:
            self._transcript.lines.append(_Line(renderable, model_text))
        self._writing = None

    def _delta(self, event: TextDelta) -> None:
        if event.purpose in _SUMMARISED:
            return
        if self._writing is None or event.call != self._writing_call:
            self._add(Text.assemble(("  ▸ ", "dim")), model_text=True)
            self._writing = self._transcript.lines[-1]
            self._writing_call = event.call
        if event.purpose == "react":
            self._streamed_steps.add(event.step)
        text = clean(event.text).replace("\n", "\n    ")
        with self._transcript.lock:
            self._writing.renderable.append(text, style="italic dim")  # type: ignore[union-attr]

    def _withdraw(self) -> None:
        """Replace every line of model text with one notice where the first stood."""
        with self._transcript.lock:
            lines = self._transcript.lines
            first = next((i for i, line in enumerate(lines) if line.model_text), len(lines))
            kept = [line for line in lines if not line.model_text]
            kept.insert(first, _Line(Text(_WITHDRAWN, style="yellow")))
            self._transcript.lines = kept
        self._writing = None

    def _start(self) -> None:
        if self._live is None:
            self._transcript = _Transcript()
            self._live = self._transcript.live = Live(
                self._transcript,
                console=self.console,
                refresh_per_second=8,
                vertical_overflow="visible",
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def close(self) -> None:
        """Print the run in progress as it stands and take no more events (a run still going after a
        second Ctrl+C must not start a display again)."""
        with self._lock:
            self._closed = True
            self._end_run()

    def _end_run(self) -> None:
        """End the live display, leaving the run's lines as they stand printed for good."""
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()
            if not self.console.is_terminal:
                self.console.line()  # rich ends the last frame with a newline on terminals only
        self._writing = None
        self._streamed_steps = set()

    def _reading(self, event: PromptRead) -> None:
        """One line when a model starts reading a long prompt, so the wait before its first token is
        explained (the TUI shows the count as it moves; a console line per batch would be noise)."""
        if event.purpose in _SUMMARISED or event.call in self._reading_calls or event.total - event.done < _LONG_PROMPT:
            return
        self._reading_calls.add(event.call)
        self._add(Text(f"  ⋯ reading the prompt: {event.total - event.done:,} tokens", style="dim"))

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._render(event)

    def _render(self, event: Event) -> None:
        if event.type == "model_call" or self._closed:
            return
        self._start()
        if isinstance(event, TextDelta):
            self._delta(event)
            return
        if isinstance(event, PromptRead):
            self._reading(event)
        else:
            self._show(event)
        if event.type == "run_finished":
            self._end_run()
        elif self._live is not None:
            self._live.refresh()  # a step shows at once; streamed text waits for the next frame

    def _show(self, event: Event) -> None:
        add = self._add
        match event.type:
            case "run_started":
                add(Text(f"? {clean(event.question)}", style="bold"))
                add(
                    Text(
                        f"  model {_preview(event.model, 120)} · mode {_preview(event.mode, 40)} · "
                        f"{len(event.tools)} tools",
                        style="dim",
                    )
                )
            case "thought":
                if event.step not in self._streamed_steps:
                    add(Text(f"  💭 {_preview(event.text)}", style="italic"), model_text=True)
            case "tool_call":
                marker = "⚙ auto" if event.automatic else "⚙"
                args = _preview(json.dumps(event.args, ensure_ascii=False, default=str), 120)
                add(Text(f"  {marker} {_preview(event.tool, 80)}({args})", style="cyan"))
            case "tool_result":
                style = "red" if event.is_error else "dim"
                add(Text(f"    → {_preview(event.output)}", style=style))
            case "evidence_added":
                add(Text(f"    + evidence [{event.ref}] {_preview(event.title or event.locator, 100)}", style="green"))
            case "evidence_plan":
                plan = event.plan
                for search in plan.searches:
                    state = search.note or f"{search.found} found"
                    where = "memory" if search.source == "memory" else "PubMed"
                    add(Text(f"  ⌕ {where}: {_preview(search.query, 100)} ({_preview(state, 100)})", style="cyan"))
                kept = plan.kept
                shown = ", ".join(f"[{p.ref}] {p.similarity:.2f}" for p in kept if p.similarity is not None)
                add(
                    Text(
                        f"    kept {len(kept)} of {len(plan.passages)} passages (floor {plan.floor:g})"
                        + (f": {shown}" if shown else ""),
                        style="green" if kept else "yellow",
                    )
                )
            case "safety_flag":
                add(
                    Text(
                        f"  ⚠ safety: {_preview(event.molecule, 120)} matches {_preview(event.matched, 80)} "
                        f"({_preview(event.category, 80)}, "
                        f"similarity {event.similarity:.2f})",
                        style="bold red",
                    )
                )
            case "uncertainty_round":
                add(
                    Text(
                        f"  ≈ round {event.round}: entropy {event.entropy:.2f} bits, "
                        f"majority {event.majority_share:.0%}"
                        + (f", searched {len(event.searched)}" if event.searched else "")
                        + (f" ({_preview(event.decision, 80)})" if event.decision else ""),
                        style="magenta",
                    )
                )
            case "critique":
                for problem in event.problems or ["no problems found"]:
                    add(Text(f"  ✎ critique: {_preview(problem, 160)}", style="magenta"), model_text=True)
            case "revision":
                add(Text("  ✎ revised the draft", style="magenta"))
            case "draft_withdrawn":
                self._withdraw()
            case "error":
                add(Text(f"  ✗ {_preview(event.kind, 60)}: {_preview(event.message)}", style="red"))
            case "answer":
                if self.show_answer:
                    add(answer_panel(event.text, event.citations, event.confidence, event.incomplete, event.note))
                    if event.incomplete and event.reason:
                        add(Text(f"  incomplete: {_preview(event.reason, 400)}", style="yellow"))
            case "run_finished":
                add(
                    Text(
                        f"  {_preview(event.status, 40)} · {event.steps} steps · {event.tool_calls} tool calls · "
                        f"{event.input_tokens + event.output_tokens} tokens · {event.elapsed_s:.1f} s",
                        style="dim",
                    )
                )
