"""Snapshots of the main screens at a fixed terminal size (pytest-textual-snapshot).

The agent is ``FixedAgent``, whose events carry fixed timings and token counts, and session times are
fixed and shown in UTC, so every render is identical. Update with ``pytest --snapshot-update``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui_fakes import FIXED_QUESTION, FixedAgent, until
from txscout.tui.app import TxscoutApp
from txscout.tui.screens.evidence import EvidenceScreen
from txscout.tui.screens.help import HelpScreen
from txscout.tui.screens.sessions import SessionsScreen
from txscout.tui.sessions import Session, SessionEntry, SessionStore

SIZE = (120, 36)
FIXED_TIME = 1_790_000_000.0


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def app(tmp_path: Path) -> TxscoutApp:
    return TxscoutApp(agent_factory=FixedAgent, store=SessionStore(tmp_path / "sessions"), clock=lambda: 0.0)


async def asked(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, TxscoutApp)
    await until(pilot, lambda: app.agent_ready)
    app.question_input.value = FIXED_QUESTION
    await pilot.press("enter")
    await until(pilot, lambda: app.shown_entry == 0)
    app.question_input.blur()
    await pilot.pause()


def test_main_screen_after_a_run(app: TxscoutApp, snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=SIZE, run_before=asked)


def test_observation_expanded(app: TxscoutApp, snap_compare: Any) -> None:
    async def expand(pilot: Pilot[Any]) -> None:
        await asked(pilot)
        app.timeline.focus()
        await pilot.press("x")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=expand)


def test_evidence_detail(app: TxscoutApp, snap_compare: Any) -> None:
    async def open_source(pilot: Pilot[Any]) -> None:
        await asked(pilot)
        app.query_one("#evidence-list").focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EvidenceScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_source)


def test_session_list(tmp_path: Path, snap_compare: Any) -> None:
    store = SessionStore(tmp_path / "sessions")
    for number, question in enumerate(["What does imatinib inhibit in CML?", "Is aspirin hERG-liable?"]):
        entry = SessionEntry(
            question=question,
            asked_at=FIXED_TIME,
            mode="full",
            model="scripted",
            trace="traces/q001.jsonl",
            status="completed",
        )
        stamp = FIXED_TIME + number * 3600
        session = Session(id=f"s{number}", created_at=stamp, updated_at=stamp, entries=[entry])
        path = store.directory(session) / "session.json"
        path.parent.mkdir(parents=True)
        path.write_text(session.model_dump_json(), encoding="utf-8")
    app = TxscoutApp(agent_factory=FixedAgent, store=store, clock=lambda: 0.0)

    async def open_list(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: app.agent_ready)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_list)


def test_help_screen(app: TxscoutApp, snap_compare: Any) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: app.agent_ready)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)
