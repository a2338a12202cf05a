"""The terminal app's surface, through Textual's Pilot: Tab between panels, focus after a source, what
loading and a model reading its prompt say while nothing else moves."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from rich.console import Console
from textual.widgets import Static

from tests.scripted import ScriptedChatModel, script
from tests.tui_fakes import FixedAgent, search_papers, search_then_answer, until
from txscout.agent.api import Agent
from txscout.agent.backends.capabilities import Capabilities
from txscout.tui.app import TxscoutApp
from txscout.tui.screens.evidence import EvidenceScreen
from txscout.tui.screens.help import HelpScreen
from txscout.tui.sessions import SessionStore
from txscout.tui.widgets.timeline import ReplyEntry, TimelineEntry

SIZE = (120, 40)
QUESTION = "What does imatinib inhibit?"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


def shown(widget: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def notes(app: TxscoutApp) -> list[str]:
    return [shown(w) for w in app.timeline.entries if isinstance(w, TimelineEntry) and w.kind == "note"]


def panel_of(app: TxscoutApp) -> str:
    focused = app.focused
    assert focused is not None
    for selector in app.PANELS:
        panel = app.query_one(selector)
        if focused is panel or panel in focused.ancestors:
            return selector
    raise AssertionError(f"focus is outside every panel: {focused!r}")


async def asked(pilot: Any, app: TxscoutApp) -> None:
    await until(pilot, lambda: app.agent_ready)
    app.question_input.value = QUESTION
    await pilot.press("enter")
    await until(pilot, lambda: bool(app.session.entries) and not app.running and app.shown_entry == 0)


async def test_tab_steps_between_panels_not_through_timeline_entries(store: SessionStore) -> None:
    app = TxscoutApp(agent_factory=FixedAgent, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, app)
        assert len(app.timeline.query("CollapsibleTitle")) == 3  # observations and a revision Tab used to visit
        app.question_input.focus()
        visited = []
        for _ in range(4):
            await pilot.press("tab")
            visited.append(panel_of(app))
        assert visited == ["#timeline", "#answer", "#evidence-list", "#question"]
        back = []
        for _ in range(4):
            await pilot.press("shift+tab")
            back.append(panel_of(app))
        assert back == ["#evidence-list", "#answer", "#timeline", "#question"]

        # Inside the timeline, n and p walk the observations; Tab from one leaves for the next panel.
        await pilot.press("tab", "n", "n")
        titles = list(app.timeline.query("CollapsibleTitle"))
        assert app.focused is titles[1]
        await pilot.press("p")
        assert app.focused is titles[0]
        await pilot.press("tab")
        assert panel_of(app) == "#answer"


async def test_tab_skips_the_sources_list_while_it_is_empty(store: SessionStore) -> None:
    app = TxscoutApp(agent_factory=FixedAgent, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.agent_ready)
        app.query_one("#answer").focus()
        await pilot.press("tab")
        assert panel_of(app) == "#question"


async def test_after_reading_a_source_typing_goes_to_the_question(store: SessionStore) -> None:
    app = TxscoutApp(agent_factory=FixedAgent, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, app)
        app.query_one("#evidence-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EvidenceScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, EvidenceScreen))
        assert app.focused is app.question_input
        await pilot.press("w", "h", "y", "question_mark")
        assert app.question_input.value == "why?"
        assert not isinstance(app.screen, HelpScreen)


class SlowLoad(FixedAgent):
    """Loads in stages a test steps through: the model file, then the system prompt read in batches."""

    gate: ClassVar[threading.Event]

    def warm(self, on_stage: Any = None, on_prompt: Any = None) -> bool:
        on_stage("preparing the system prompt")
        on_prompt(0, 2048)
        on_prompt(512, 2048)
        assert self.gate.wait(30)
        on_prompt(2048, 2048)
        return True


async def test_loading_says_each_stage_with_its_time_and_the_prompt_progress(store: SessionStore) -> None:
    started = threading.Event()
    SlowLoad.gate = threading.Event()
    ticks = iter(float(n) for n in range(1000))
    app: TxscoutApp

    def factory() -> SlowLoad:
        app.load_stage("loading the model scripted")
        started.set()
        return SlowLoad()

    app = TxscoutApp(agent_factory=factory, store=store, clock=lambda: next(ticks))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status.state == "loading: reading the system prompt 512/2,048 tokens")
        said = notes(app)
        assert any("loading the model scripted… · " in line and " s" in line for line in said), said
        assert any("preparing the system prompt… · " in line for line in said), said
        assert any("reading the system prompt (2,048 tokens)…" in line for line in said), said
        assert not app.agent_ready
        SlowLoad.gate.set()
        await until(pilot, lambda: app.agent_ready)
        assert app.status.state == "ready"
        assert any("model scripted ready in " in line for line in notes(app))


class ReadsSlowly(ScriptedChatModel):
    """A model that reports reading its prompt, then waits for the test before its first token."""

    capabilities: ClassVar[Capabilities] = Capabilities(prompt_progress=True)
    gate: threading.Event

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        report = kwargs["on_prompt"]
        report(0, 2048)
        report(1024, 2048)
        assert self.gate.wait(30)
        report(2048, 2048)
        for generation in self._generate(messages, stop=stop).generations:
            yield ChatGenerationChunk(message=AIMessageChunk(content=generation.message.content))


async def test_a_model_reading_its_prompt_shows_progress_before_the_first_token(store: SessionStore) -> None:
    replies = search_then_answer("imatinib")
    model = ReadsSlowly(responses=script(*replies).responses, gate=threading.Event())
    app = TxscoutApp(
        agent_factory=lambda: Agent(model=model, tools=[search_papers()], protocol="text", mode="react", store=False),
        store=store,
    )
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.agent_ready)
        app.question_input.value = QUESTION
        await pilot.press("enter")
        await until(pilot, lambda: app.status.state == "reading prompt 1,024/2,048 tokens")
        [reply] = app.query(ReplyEntry)
        assert "reading its prompt: 1,024/2,048 tokens" in shown(reply)
        model.gate.set()
        await until(pilot, lambda: not app.running)
        assert app.status.state == "ready"
        assert app.session.entries[0].status == "completed"
        first = app.query(ReplyEntry).first()
        assert first.text.startswith("Thought:") and "prompt" not in shown(first)  # the reply replaced the progress
