"""The terminal app's memory screen: add a PDF, search it, open a hit with its page."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from tests import pdf_factory
from tests.tui_fakes import until
from txscout.agent.api import Agent
from txscout.memory.embeddings import Embedder
from txscout.tui.app import TxscoutApp
from txscout.tui.screens.evidence import EvidenceScreen
from txscout.tui.screens.memory import MemoryScreen
from txscout.tui.sessions import SessionStore


@pytest.mark.asyncio
async def test_add_a_pdf_then_search_and_open_a_hit_with_its_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    from tests.scripted import script

    monkeypatch.setenv("TXSCOUT_MEMORY_PATH", str(tmp_path / "memory"))
    paper = pdf_factory.paper(tmp_path / "lee2021.pdf", pages=2)
    app = TxscoutApp(
        agent_factory=lambda: Agent(model=script("Answer: x"), tools=[], protocol="text", mode="react", store=False),
        store=SessionStore(tmp_path / "sessions"),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, MemoryScreen))
        screen = app.screen
        status = screen.query_one("#memory-status", Static)
        field = screen.query_one(Input)
        field.focus()
        field.value = str(paper)
        await pilot.press("enter")
        await until(pilot, lambda: "added 1" in str(status.render()))
        field.value = "p2R05 kinase inhibitor sentence"
        await pilot.press("enter")
        hits = screen.query_one(OptionList)
        await until(pilot, lambda: hits.option_count > 0)
        assert "passages for p2R05" in str(status.render())
        hits.focus()
        hits.highlighted = 0
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EvidenceScreen))
        opened = app.screen.record
        assert opened.page is not None and "Lee et al. 2021" in opened.title
        assert opened.locator.endswith(f"#page={opened.page}")
