"""A model's Markdown link never hides where it leads: the terminal shows the target after the text
(no hyperlink), and the TUI shows it too, keeping clickable only links that show their own target and
the answer's citation links."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from textual.widgets.markdown import MarkdownBlock

from tests.scripted import script
from tests.tui_fakes import until
from txscout.agent.api import Agent
from txscout.agent.render import answer_panel
from txscout.tui.app import TxscoutApp
from txscout.tui.sessions import SessionStore
from txscout.tui.widgets.answer import AnswerPane, answer_parser

REPLY = "Read [the FDA label](https://evil.example/payload) first."
_OSC8 = re.compile(r"\x1b]8;[^\x1b\x07]*(?:\x1b\\|\x07)")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_terminal_answer_shows_the_target_and_makes_no_hyperlink() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=160)
    console.print(answer_panel(REPLY, [], None, False))
    raw = buffer.getvalue()
    assert "\x1b]8;" not in raw  # no OSC 8 hyperlink
    visible = _SGR.sub("", _OSC8.sub("", raw))
    assert "the FDA label (https://evil.example/payload)" in visible


def _links(markdown: str) -> list[str]:
    tokens = answer_parser().parse(markdown)
    return [t.attrGet("href") for block in tokens for t in block.children or [] if t.type == "link_open"]


def test_tui_parser_unlinks_a_link_whose_text_is_not_its_target() -> None:
    markdown = (
        "See [the FDA label](https://evil.example/payload), \\[[1](#ref-1)\\] and "
        "[https://www.fda.gov/label](https://www.fda.gov/label)."
    )
    assert _links(markdown) == ["#ref-1", "https://www.fda.gov/label"]
    text = "".join(t.content for block in answer_parser().parse(markdown) for t in block.children or [])
    assert "the FDA label (https://evil.example/payload)" in text


async def test_tui_answer_pane_shows_the_target(tmp_path: Path) -> None:
    app = TxscoutApp(
        agent_factory=lambda: Agent(model=script(f"Final Answer: {REPLY}"), tools=[], mode="bare", store=False),
        store=SessionStore(tmp_path / "sessions"),
    )
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.agent_ready)
        app.question_input.value = "Where is the label?"
        await pilot.press("enter")
        await until(pilot, lambda: "FDA label" in app.query_one(AnswerPane).markdown and not app.running)
        await pilot.pause()
        shown = [str(block.render()) for block in app.query_one(AnswerPane).query(MarkdownBlock)]
    assert "Read the FDA label (https://evil.example/payload) first." in shown
