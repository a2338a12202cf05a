"""TUI figures (issue 7): Enter to first timeline entry, and memory over a 20-question session.

The app runs headless (Textual's ``run_test``) with a real ``Agent`` on a scripted zero-latency model
and a literature tool that registers one PubMed-style abstract per question, so the figures measure
the interface and the event path, not a model (nor the evidence store, which is off). Two moments
are stamped when the compositor first renders the row in question (a probe on
``TimelineEntry.render_lines``), so the polling loop here does not inflate them: the first timeline
entry (the question, shown as soon as Enter is handled) and the first entry that came from the
agent's worker thread.

    python benchmarks/perf/tui_perf.py --questions 20 --out benchmarks/perf/results/tui.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from txscout.agent.api import Agent
from txscout.core.evidence import Evidence
from txscout.core.toolkit import current_context
from txscout.tui.app import TxscoutApp
from txscout.tui.sessions import SessionStore
from txscout.tui.widgets.timeline import TimelineEntry

THINK_TIME_S = 0.3  # a reader's pause before the next question, so one run's last frames don't overlap it
DRUGS = ["imatinib", "dasatinib", "nilotinib", "bosutinib", "ponatinib", "asciminib", "gefitinib", "erlotinib"]


class Query(BaseModel):
    query: str


def literature_tool() -> BaseTool:
    def run(query: str) -> str:
        item = Evidence(
            text=f"Abstract about {query}. " + "It inhibits a tyrosine kinase in a clinical study. " * 20,
            source_kind="pubmed",
            title=f"A study of {query}",
            pmid="11287972",
        )
        ref = current_context().evidence(item)
        return f"[{ref}] {item.title}: {item.text}"

    return StructuredTool.from_function(func=run, name="search_papers", description="Search.", args_schema=Query)


def script(questions: list[str]) -> FakeMessagesListChatModel:
    replies: list[AIMessage] = []
    for number, question in enumerate(questions):
        query = json.dumps({"query": f"{question} {number}"})
        replies.append(AIMessage(f"Thought: search.\nAction: search_papers\nAction Input: {query}"))
        replies.append(AIMessage(f"Thought: found it.\nFinal Answer: {question} inhibits BCR-ABL [1]."))
    return FakeMessagesListChatModel(responses=replies)


def questions(count: int) -> list[str]:
    return [f"What does {DRUGS[i % len(DRUGS)]} inhibit (case {i})?" for i in range(count)]


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.002)


class RenderProbe:
    """Records when the compositor first renders a question row, and a row from the agent, after ``arm``."""

    def __init__(self) -> None:
        self.armed_at = 0.0
        self.question_at: float | None = None
        self.agent_at: float | None = None
        self._original = TimelineEntry.render_lines

    def arm(self) -> None:
        self.armed_at = time.perf_counter()
        self.question_at = self.agent_at = None

    def install(self) -> None:
        probe, original = self, self._original

        def render_lines(entry: TimelineEntry, crop: Any) -> Any:
            now = time.perf_counter()
            if entry.kind == "question":
                probe.question_at = probe.question_at or now
            elif entry.kind != "note":
                probe.agent_at = probe.agent_at or now
            return original(entry, crop)

        TimelineEntry.render_lines = render_lines  # type: ignore[method-assign]

    def uninstall(self) -> None:
        TimelineEntry.render_lines = self._original  # type: ignore[method-assign]


async def measure(count: int, root: Path) -> dict[str, Any]:
    asked = questions(count)
    agent = Agent(model=script(asked), tools=[literature_tool()], protocol="text", mode="react", store=False)
    app = TxscoutApp(agent_factory=lambda: agent, store=SessionStore(root / "sessions"))
    latencies_ms: list[float] = []
    agent_ms: list[float] = []
    totals_ms: list[float] = []
    rss: dict[str, float] = {}
    probe = RenderProbe()
    probe.install()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.agent_ready)
        rss["ready"] = rss_mb()
        for number, question in enumerate(asked, start=1):
            app.question_input.value = question
            probe.arm()
            pressed = probe.armed_at
            await pilot.press("enter")
            await until(pilot, lambda n=number: len(app.session.entries) == n and not app.running)
            totals_ms.append((time.perf_counter() - pressed) * 1000)
            await until(pilot, lambda n=number: app.shown_entry == n - 1)
            assert probe.question_at is not None and probe.agent_at is not None
            latencies_ms.append((probe.question_at - pressed) * 1000)
            agent_ms.append((probe.agent_at - pressed) * 1000)
            await pilot.pause(THINK_TIME_S)
            if number == 1:
                rss["after_1"] = rss_mb()
        await pilot.pause()
        rss[f"after_{count}"] = rss_mb()
        widgets = len(app.query("*"))
        statuses = {e.status for e in app.session.entries}
    probe.uninstall()
    session_file = root / "sessions" / app.session.id / "session.json"
    return {
        "questions": count,
        "enter_to_first_entry_ms": summary(latencies_ms),
        "enter_to_first_agent_event_ms": summary(agent_ms),
        "enter_to_finished_ms_median": statistics.median(totals_ms),
        "rss_mb": rss,
        "rss_growth_mb_per_question": (rss[f"after_{count}"] - rss["after_1"]) / max(1, count - 1),
        "widgets_after": widgets,
        "session_json_kb": session_file.stat().st_size / 1024,
        "statuses": sorted(statuses),
    }


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(values),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max": max(values),
        "first_question": values[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/tui.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(measure(args.questions, Path(tmp)))
    table = Table("figure", "value", title=f"txscout TUI, scripted model, {args.questions} questions in one session")
    for key, label in (
        ("enter_to_first_entry_ms", "Enter → first timeline entry"),
        ("enter_to_first_agent_event_ms", "Enter → first agent event on screen"),
    ):
        figure = results[key]
        table.add_row(f"{label} (median)", f"{figure['median']:.1f} ms")
        table.add_row(f"{label} (p95 / max)", f"{figure['p95']:.1f} / {figure['max']:.1f} ms")
        table.add_row(f"{label} (first question)", f"{figure['first_question']:.1f} ms")
    table.add_row("Enter → run finished in the UI (median)", f"{results['enter_to_finished_ms_median']:.1f} ms")
    for stage, value in results["rss_mb"].items():
        table.add_row(f"RSS {stage.replace('_', ' ')}", f"{value:.1f} MB")
    table.add_row("RSS growth per question (2nd onwards)", f"{results['rss_growth_mb_per_question']:.2f} MB")
    table.add_row("widgets in the DOM at the end", str(results["widgets_after"]))
    table.add_row("session.json size", f"{results['session_json_kb']:.1f} KB")
    table.add_row("run statuses", ", ".join(results["statuses"]))
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
