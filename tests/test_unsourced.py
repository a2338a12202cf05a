"""An answer that cites nothing says so: on the Answer, in its event, in the console and over MCP."""

from __future__ import annotations

import io

from rich.console import Console

from tests.scripted import script
from txscout.agent.api import Agent
from txscout.agent.render import ConsoleRenderer
from txscout.agent.result import UNSOURCED, UNSOURCED_BARE
from txscout.core.events import AnswerReady
from txscout.core.settings import load_settings
from txscout.mcp.server import render_answer
from txscout.tools.chemistry import chemistry_tools

SETTINGS = load_settings(offline=True)


def test_a_bare_answer_is_marked_as_the_models_own_everywhere_it_is_shown() -> None:
    shown = io.StringIO()
    agent = Agent(model=script("Aspirin inhibits COX-1 and COX-2."), tools=[], mode="bare", store=False)
    answer = agent.run(
        "How does aspirin work?", on_event=ConsoleRenderer(Console(file=shown, width=200, color_system=None))
    )

    assert answer.citations == [] and answer.note == UNSOURCED_BARE
    (ready,) = [e for e in answer.events if isinstance(e, AnswerReady)]
    assert ready.note == UNSOURCED_BARE
    assert UNSOURCED_BARE in shown.getvalue()
    assert UNSOURCED_BARE in render_answer(answer)


def test_an_answer_after_tools_that_cites_none_says_so() -> None:
    model = script("Thought: I know this.\nFinal Answer: It is an NSAID.")
    answer = Agent(
        model=model, tools=chemistry_tools(SETTINGS), mode="react", protocol="text", store=False, offline=True
    ).run("Tell me about aspirin.")
    assert answer.usage.tool_calls > 0 and answer.citations == []
    assert answer.note == UNSOURCED


def test_a_cited_answer_has_no_note() -> None:
    model = script("Thought: The observation gives it.\nFinal Answer: C9H8O4 [1]")
    answer = Agent(
        model=model, tools=chemistry_tools(SETTINGS), mode="react", protocol="text", store=False, offline=True
    ).run("What is the molecular formula of aspirin?")
    assert answer.citations and answer.note == ""
    assert "unsourced" not in render_answer(answer)
