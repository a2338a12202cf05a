"""The TUI's network switch (F6) after starting with --offline: it turns a real network tool on and
off again, observed through what the tool does (its backend reached or not) on the next question."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.scripted import script
from tests.tui_fakes import search_then_answer, until
from txscout.agent.api import Agent
from txscout.core.events import ToolResult, read_trace
from txscout.core.settings import load_settings
from txscout.tools.literature import literature_tools
from txscout.tui.app import TxscoutApp
from txscout.tui.sessions import SessionStore


async def ask(pilot: Pilot[Any], app: TxscoutApp, question: str) -> ToolResult:
    """Ask through the input box; returns the web_search result the run recorded in its trace."""
    asked = len(app.session.entries)
    app.question_input.focus()
    app.question_input.value = question
    await pilot.press("enter")
    await until(pilot, lambda: len(app.session.entries) > asked and not app.running)
    trace = app.store.trace_path(app.session, app.session.entries[-1])
    (result,) = [e for e in read_trace(trace) if isinstance(e, ToolResult)]
    return result


async def test_f6_switches_the_network_on_and_off_after_starting_offline(tmp_path: Path) -> None:
    settings = load_settings(offline=True, mode="react", http_cache="off", cache_dir=tmp_path / "http")
    reached: list[str] = []

    def ddgs(query: str, max_results: int, timelimit: str | None) -> list[dict[str, object]]:
        reached.append(query)
        return [{"title": f"{query} review", "href": "https://example.org/review", "body": f"{query} inhibits."}]

    (web_search,) = [t for t in literature_tools(settings, ddgs_search=ddgs) if t.name == "web_search"]
    replies = [r for query in ("imatinib", "dasatinib", "nilotinib") for r in search_then_answer(query, "web_search")]
    app = TxscoutApp(
        settings,
        agent_factory=lambda: Agent(
            model=script(*replies), tools=[web_search], settings=settings, protocol="text", store=False
        ),
        store=SessionStore(tmp_path / "sessions"),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.agent_ready)
        assert app.status.offline

        offline = await ask(pilot, app, "What does imatinib inhibit?")
        assert offline.is_error and "network is off" in offline.output and reached == []

        await pilot.press("f6")
        assert not app.status.offline
        online = await ask(pilot, app, "What does dasatinib inhibit?")
        assert not online.is_error and "dasatinib review" in online.output and reached == ["dasatinib"]

        await pilot.press("f6")
        assert app.status.offline
        again = await ask(pilot, app, "What does nilotinib inhibit?")
        assert again.is_error and "network is off" in again.output and reached == ["dasatinib"]
