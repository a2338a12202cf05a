"""Rich rendering of the event stream: live steps while a run goes, the answer panel at the end.

The same renderer replays saved traces (``txscout trace show``), so a trace looks as the run did.
Everything shown came from a user, a tool or a model, so it goes through :func:`clean` and into
``Text`` objects: never read as rich markup, never passed to the terminal as control sequences.
"""

from __future__ import annotations

import json

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from txscout.core.events import Event, TextDelta
from txscout.core.text import clean

_PREVIEW = 220
_SUMMARISED = {"uncertainty"}


def _preview(text: str, limit: int = _PREVIEW) -> str:
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def answer_panel(text: str, citations: list[dict[str, object]], confidence: float | None, incomplete: bool) -> Panel:
    parts: list[object] = [Markdown(clean(text) or "_(no answer)_")]
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


class ConsoleRenderer:
    """Prints one line per meaningful event; callable so it can be passed as ``on_event``.

    Model replies are written as they stream in, on a line of their own; a thought already shown that
    way is not repeated when its ``thought`` event follows. Uncertainty samples are not streamed: the
    entropy line sums them up, and concurrent samples would interleave.
    """

    def __init__(self, console: Console, *, show_answer: bool = True) -> None:
        self.console = console
        self.show_answer = show_answer
        self._writing: int | None = None
        self._streamed_steps: set[int] = set()

    def _end_line(self) -> None:
        if self._writing is not None:
            self.console.print()
            self._writing = None

    def _delta(self, event: TextDelta) -> None:
        if event.purpose in _SUMMARISED:
            return
        if event.call != self._writing:
            self._end_line()
            self.console.print(Text("  ▸ ", style="dim"), end="")
            self._writing = event.call
        if event.purpose == "react":
            self._streamed_steps.add(event.step)
        text = clean(event.text).replace("\n", "\n    ")
        self.console.print(Text(text, style="italic dim"), end="", soft_wrap=True, highlight=False)

    def __call__(self, event: Event) -> None:
        c = self.console
        if isinstance(event, TextDelta):
            self._delta(event)
            return
        if event.type == "model_call":
            return
        self._end_line()
        match event.type:
            case "run_started":
                c.print(Text(f"? {clean(event.question)}", style="bold"))
                c.print(
                    Text(
                        f"  model {_preview(event.model, 120)} · mode {_preview(event.mode, 40)} · "
                        f"{len(event.tools)} tools",
                        style="dim",
                    )
                )
            case "thought":
                if event.step not in self._streamed_steps:
                    c.print(Text(f"  💭 {_preview(event.text)}", style="italic"))
            case "tool_call":
                marker = "⚙ auto" if event.automatic else "⚙"
                args = _preview(json.dumps(event.args, ensure_ascii=False, default=str), 120)
                c.print(Text(f"  {marker} {_preview(event.tool, 80)}({args})", style="cyan"))
            case "tool_result":
                style = "red" if event.is_error else "dim"
                c.print(Text(f"    → {_preview(event.output)}", style=style))
            case "evidence_added":
                c.print(
                    Text(f"    + evidence [{event.ref}] {_preview(event.title or event.locator, 100)}", style="green")
                )
            case "evidence_plan":
                plan = event.plan
                for search in plan.searches:
                    state = search.note or f"{search.found} found"
                    where = "memory" if search.source == "memory" else "PubMed"
                    c.print(Text(f"  ⌕ {where}: {_preview(search.query, 100)} ({_preview(state, 100)})", style="cyan"))
                kept = plan.kept
                shown = ", ".join(f"[{p.ref}] {p.similarity:.2f}" for p in kept if p.similarity is not None)
                c.print(
                    Text(
                        f"    kept {len(kept)} of {len(plan.passages)} passages (floor {plan.floor:g})"
                        + (f": {shown}" if shown else ""),
                        style="green" if kept else "yellow",
                    )
                )
            case "safety_flag":
                c.print(
                    Text(
                        f"  ⚠ safety: {_preview(event.molecule, 120)} matches {_preview(event.matched, 80)} "
                        f"({_preview(event.category, 80)}, "
                        f"similarity {event.similarity:.2f})",
                        style="bold red",
                    )
                )
            case "uncertainty_round":
                c.print(
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
                    c.print(Text(f"  ✎ critique: {_preview(problem, 160)}", style="magenta"))
            case "revision":
                c.print(Text("  ✎ revised the draft", style="magenta"))
            case "error":
                c.print(Text(f"  ✗ {_preview(event.kind, 60)}: {_preview(event.message)}", style="red"))
            case "answer":
                if self.show_answer:
                    c.print(answer_panel(event.text, event.citations, event.confidence, event.incomplete))
                    if event.incomplete and event.reason:
                        c.print(Text(f"  incomplete: {_preview(event.reason, 400)}", style="yellow"))
            case "run_finished":
                c.print(
                    Text(
                        f"  {_preview(event.status, 40)} · {event.steps} steps · {event.tool_calls} tool calls · "
                        f"{event.input_tokens + event.output_tokens} tokens · {event.elapsed_s:.1f} s",
                        style="dim",
                    )
                )
