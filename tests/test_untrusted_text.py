"""Text from users, files, tools and models is data: never rich markup, never terminal control.

Property-based (hypothesis): arbitrary strings with markup brackets, ANSI CSI and OSC sequences, 8-bit
controls, NULs, lone surrogates, bidirectional overrides and 100k characters go through every printing
path: the CLI (typer's runner), the console renderer that ``ask`` and ``trace show`` use, ``memory
search``, and the TUI's widgets. Nothing raises, nothing that drives a terminal comes out, and text
without control characters comes out exactly as it went in (a SMILES keeps its ``[nH]``).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget
from typer.testing import CliRunner

from txscout.agent.citations import Citation
from txscout.agent.render import ConsoleRenderer
from txscout.cli import app
from txscout.core.events import (
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
    TraceWriter,
    UncertaintyRound,
)
from txscout.core.text import clean, clean_line
from txscout.tui.screens.evidence import provenance
from txscout.tui.screens.sessions import _prompt as session_prompt
from txscout.tui.sessions import EvidenceRecord, SessionEntry, SessionSummary
from txscout.tui.widgets.answer import AnswerPane, answer_markdown
from txscout.tui.widgets.evidence import EvidencePanel
from txscout.tui.widgets.evidence import _prompt as evidence_prompt
from txscout.tui.widgets.timeline import Timeline, TimelineEntry, widgets_for

# What must never reach a terminal, defined here independently of the code under test: C0 controls
# other than tab and newline (ESC starts every escape sequence), DEL, C1 controls (8-bit CSI, OSC, ...),
# lone surrogates and the bidirectional overrides and isolates.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
SURROGATES = re.compile("[\ud800-\udfff]")

NASTY = [
    "[/quote]", "[/]", "[bold red]", "[link=https://evil.example]", "[@click=app.quit]", ":warning:",
    "\x1b[2J", "\x1b[31m", "\x1b]0;pwned\x07", "\x1b]8;;https://evil.example\x1b\\", "\x1b]52;c;ZXZpbA==\x07",
    "\x1bP+q\x1b\\", "\x9b2J", "\x9d0;title\x9c", "\x00", "\x07", "\x08", "\r", "\x7f", "\ud800", "\udfff",
    "\u202e", "\u2066", "\t", "\n", "\\", "[nH]", "](javascript:x)", "*", "_", "`", "#", "<b>",
]  # fmt: skip
hostile = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)), max_size=24).map("".join)
# Text with nothing to remove: it must come out exactly (markup-looking brackets included).
printable = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=80
).filter(lambda s: s.strip() == s and "  " not in s)
HUGE = ("[/x]\x1b[31m\x1b]0;t\x07C1=CC=C[nH]1 " * 4000)[:100_000]

SMILES = [
    "COc1ccc2nc(S(=O)Cc3ncc(C)c(OC)c3C)[nH]c2c1",  # omeprazole
    "C[C@H](N)C(=O)O",
    "[O-][N+](=O)c1ccc(cc1)[S@@](=O)C",
    "c1ccc2c(c1)[nH]c1ccccc12",
    "[2H]C([2H])([2H])N1CC[C@]23CCCC[C@H]2[C@H]1Cc1ccc(O)cc13",
]


def assert_safe(output: str) -> None:
    found = UNSAFE.search(output)
    assert found is None, f"terminal control {found.group()!r} in output" if found else ""


def flat(text: str) -> str:
    return " ".join(text.split())


def plain_console(width: int = 200) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, color_system=None, force_terminal=False, legacy_windows=False), buffer


def events_carrying(text: str) -> list[Event]:
    """One event of every kind the renderers show, with ``text`` in every string field."""
    return [
        RunStarted(question=text, model=text, mode=text, tools=[text]),
        Thought(step=1, text=text),
        ToolCalled(step=1, call_id="c1", tool=text, args={"molecule": text, text: [text]}),
        ToolResult(step=1, call_id="c1", tool=text, output=text),
        ToolResult(step=1, call_id="c1", tool=text, output=text, is_error=True),
        EvidenceAdded(ref=1, evidence_id=text, source_kind=text, title=text, locator=text),
        SafetyFlagged(tool=text, molecule=text, matched=text, similarity=0.9, category=text),
        UncertaintyRound(
            round=1, samples=[text], distribution={text: 1.0}, entropy=0.0, majority_share=1.0, searched=[text]
        ),
        CritiqueFinding(round=1, problems=[text]),
        Revision(round=1, text=text),
        AnswerReady(
            text=text,
            citations=[{"ref": 1, "title": text, "locator": text}],
            confidence=0.5,
            incomplete=True,
            reason=text,
        ),
        ErrorRaised(kind=text, message=text),
        RunFinished(status="incomplete"),
    ]


def render_events(text: str, width: int = 200) -> str:
    console, buffer = plain_console(width)
    renderer = ConsoleRenderer(console)
    for event in events_carrying(text):
        renderer(event)
    renderer.close()
    return buffer.getvalue()


# -- the sanitiser --------------------------------------------------------------------------------------


@given(hostile)
@example(HUGE)
def test_clean_leaves_nothing_that_drives_a_terminal(text: str) -> None:
    cleaned = clean(text)
    assert_safe(cleaned)
    assert clean(cleaned) == cleaned
    assert "\n" not in clean_line(text) and "\t" not in clean_line(text)


@given(printable)
def test_clean_keeps_ordinary_text_exactly(text: str) -> None:
    assert clean(text) == text


# -- the console renderer (ask, trace show) -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(hostile)
@example(HUGE)
def test_renderer_prints_hostile_text_safely(text: str) -> None:
    assert_safe(render_events(text))


@settings(max_examples=60, deadline=None)
@given(printable)
def test_renderer_prints_ordinary_text_exactly(text: str) -> None:
    console, buffer = plain_console(width=1000)
    renderer = ConsoleRenderer(console)
    renderer(RunStarted(question=text, model="m", mode="react"))
    renderer(ToolResult(step=1, call_id="c", tool="t", output=text))
    renderer.close()
    output = flat(buffer.getvalue())
    assert f"? {flat(text)}" in output and f"→ {flat(text)}" in output


@pytest.mark.parametrize("smiles", SMILES)
def test_renderer_prints_smiles_exactly(smiles: str) -> None:
    console, buffer = plain_console()
    renderer = ConsoleRenderer(console)
    renderer(ToolResult(step=1, call_id="c", tool="identify_molecule", output=f"SMILES {smiles};"))
    renderer.close()
    assert f"SMILES {smiles};" in buffer.getvalue()


# -- the CLI --------------------------------------------------------------------------------------------

runner = CliRunner()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile.filter(lambda s: s.strip()))
@example("x[/foo]")
@example(HUGE)
def test_cli_error_line_is_safe_and_one_line(text: str) -> None:
    for args in (["tools", "call", text, "{}"], ["trace", "show", f"/nonexistent/{text}"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
        assert_safe(result.stdout + result.stderr)
        assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile)
@example("[/quote] \x1b]0;title\x07 \x1b[2J")
@example(HUGE)
def test_trace_show_prints_a_hostile_trace_safely(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.jsonl"
        writer = TraceWriter(path)
        for event in events_carrying(SURROGATES.sub("", text)):  # a UTF-8 file cannot hold them
            writer(event)
        writer.close()
        result = runner.invoke(app, ["trace", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert_safe(result.stdout + result.stderr)


@pytest.mark.parametrize("smiles", SMILES[:3])
def test_tools_call_prints_smiles_exactly(smiles: str) -> None:
    result = runner.invoke(app, ["tools", "call", "identify_molecule", json.dumps({"molecule": smiles})])
    assert result.exit_code == 0, result.output
    record = json.loads(
        runner.invoke(app, ["tools", "call", "identify_molecule", json.dumps({"molecule": smiles}), "--json"]).stdout
    )
    assert f"SMILES {record['smiles']};" in result.stdout  # exactly what the tool computed, brackets kept


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Path]:
    """A store holding documents full of markup and escape sequences, added through ``memory add``."""
    root = tmp_path_factory.mktemp("hostile-memory")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TXSCOUT_MEMORY_PATH", str(root / "memory"))
        for number, text in enumerate(
            [
                "Omeprazole [/quote] inhibits the proton pump. \x1b]0;pwned\x07\x1b[2J SMILES COc1ccc2[nH]c2c1.",
                "[bold]Imatinib[/bold] \x9b31m targets BCR-ABL [link=https://evil.example]click[/link] \x07.",
                "Aspirin :warning: acetylates COX-1 \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ irreversibly.",
            ]
        ):
            path = root / f"doc[{number}]\x1b[31m.txt"
            path.write_text(text, encoding="utf-8")
            result = runner.invoke(app, ["memory", "add", str(path)])
            assert result.exit_code == 0, result.output
            assert_safe(result.stdout + result.stderr)
        yield root / "memory"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile.filter(lambda s: clean(s).strip()))
@example("quote")
@example("proton pump omeprazole")
def test_memory_search_prints_stored_hostile_text_safely(
    hostile_store: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("TXSCOUT_MEMORY_PATH", str(hostile_store))
    result = runner.invoke(app, ["memory", "search", "--mode", "lexical", "-k", "3", "--", clean(text)])
    assert result.exit_code == 0, result.output
    assert_safe(result.stdout + result.stderr)
    for flag in ([], ["--json"]):
        shown = runner.invoke(app, ["memory", "search", "proton pump omeprazole BCR-ABL aspirin", "-k", "3", *flag])
        assert shown.exit_code == 0, shown.output
        assert_safe(shown.stdout + shown.stderr)
        assert "[/quote]" in shown.stdout and "[nH]" in shown.stdout  # stored text shown as text, not markup


# -- the TUI --------------------------------------------------------------------------------------------


def _renderable(widget: Widget) -> Any:
    return widget.content if isinstance(widget, TimelineEntry) else None


@settings(max_examples=60, deadline=None)
@given(hostile)
@example(HUGE)
def test_tui_renderables_carry_no_terminal_control(text: str) -> None:
    console, buffer = plain_console()
    for event in events_carrying(text):
        for widget in widgets_for(event):
            renderable = _renderable(widget)
            if renderable is not None:
                console.print(renderable)
            title = getattr(widget, "title", None)
            if title is not None:
                assert_safe(str(title))
    record = EvidenceRecord(ref=1, evidence_id=text, source_kind=text, title=text, locator=text, url=text, text=text)
    console.print(evidence_prompt(record))
    console.print(provenance(record))
    console.print(session_prompt(SessionSummary(id=text, title=text, questions=1, updated_at=0.0), current=True))
    assert_safe(buffer.getvalue())
    entry = SessionEntry(
        question=text,
        asked_at=0.0,
        mode="react",
        model=text,
        trace="q.jsonl",
        status="failed",
        answer=text,
        reason=text,
        error=text,
        citations=[Citation(ref=1, title=text, locator=text, source_kind="web", evidence_id="e")],
    )
    assert_safe(answer_markdown(entry))


class _Panes(App[None]):
    def compose(self) -> ComposeResult:
        yield Timeline(id="timeline")
        yield EvidencePanel(id="evidence")
        yield AnswerPane(id="answer")


def _painted(app: App[None]) -> str:
    """The text of every line the screen's widgets paint: what the terminal would be sent."""
    lines: list[str] = []
    for widget in app.screen.walk_children(Widget):
        if widget.size.area:
            strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
            lines.extend("".join(segment.text for segment in strip) for strip in strips)
    return "\n".join(lines)


@pytest.mark.parametrize(
    "text",
    [
        "[/quote] \x1b]0;pwned\x07 \x1b[2J [bold]x[/bold] \x00\x9b31m\ud800 SMILES C1=CC=C[nH]1",
        "[link=https://evil.example]click[/link] \x1b]8;;https://e\x1b\\here\x1b]8;;\x1b\\ :warning: [@click=app.quit]",
        HUGE[:5000],
    ],
    ids=["markup-and-escapes", "links-and-emoji", "5000-characters"],
)
async def test_tui_panes_paint_hostile_text_safely(text: str) -> None:
    app = _Panes()
    async with app.run_test(size=(120, 60)) as pilot:
        timeline = app.query_one(Timeline)
        timeline.reset(text)
        timeline.add_all(events_carrying(text))
        timeline.action_toggle_observations()
        timeline.note(text, "error")
        records = [EvidenceRecord(ref=1, evidence_id="e1", source_kind="web", title=text, locator=text, text=text)]
        app.query_one(EvidencePanel).show(records)
        pane = app.query_one(AnswerPane)
        pane.waiting(text)
        entry = SessionEntry(
            question=text, asked_at=0.0, mode="react", model="m", trace="q.jsonl", status="failed", answer=text
        )
        await pane.show(answer_markdown(entry))
        await pilot.pause()
        painted = _painted(app)
    assert_safe(painted)
    assert "[/quote]" in painted or "[link=" in painted or "[/x]" in painted  # brackets shown, not parsed


def test_trace_lines_survive_lone_surrogates_in_tool_output(tmp_path: Path) -> None:
    from txscout.core.events import ToolResult, TraceWriter, read_trace

    path = tmp_path / "trace.jsonl"
    writer = TraceWriter(path)
    writer(ToolResult(step=1, call_id="c", tool="read_url", output="before \udcff after [nH]"))
    writer.close()
    (event,) = list(read_trace(path))
    assert event.output == "before \ufffd after [nH]"
