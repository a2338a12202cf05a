"""The open-book PubMedQA setting (abstracts stored once, questions asked alone, gold citations recorded),
the report's per-run figures, the progress bar moving per item, and ``bench --offline``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.bench_fakes import KeyedChatModel
from tests.scripted import script
from txscout.agent.api import Agent
from txscout.agent.result import Answer
from txscout.benchmarks import runner as runner_module
from txscout.benchmarks.adapters import get_adapter
from txscout.benchmarks.cli import app
from txscout.benchmarks.manifest import dataset_hash
from txscout.benchmarks.open_book import MARKER, store_dir
from txscout.benchmarks.report import build_report, print_report
from txscout.benchmarks.runner import RunOptions, read_records, run_benchmark
from txscout.core.errors import UserError
from txscout.core.settings import load_settings

FIX = Path(__file__).parent / "fixtures" / "bench"
PUBMEDQA = FIX / "pubmedqa"
OPEN = FIX / "pubmedqa_open"  # questions naming no molecule, so grounding adds no evidence before the search


def open_book_options(out: Path, **extra: Any) -> RunOptions:
    return RunOptions(suite="pubmedqa", data=OPEN, out=out, mode="react", setting="open-book", progress=False, **extra)


def test_open_book_items_carry_no_context_and_every_abstract_is_a_document() -> None:
    adapter = get_adapter("pubmedqa", "open-book")
    loaded = adapter.read(PUBMEDQA)
    aspirin = next(i for i in loaded.items if i.id == "101")
    assert "febrile adults" not in aspirin.prompt and aspirin.prompt.startswith("Question: Does aspirin reduce fever?")
    assert aspirin.metadata["gold_pmid"] == "101"
    documents = adapter.documents(loaded)
    assert {d.pmid for d in documents} == {i.id for i in loaded.items}  # the whole corpus, not only the test split
    assert "febrile adults" in next(d.text for d in documents if d.pmid == "101")
    closed = get_adapter("pubmedqa")
    assert "febrile adults" in next(i for i in closed.read(PUBMEDQA).items if i.id == "101").prompt
    assert closed.documents(closed.read(PUBMEDQA)) == []
    with pytest.raises(UserError, match="no setting 'open-book'"):
        get_adapter("medqa", "open-book")


def _searching_agent(settings_path: Path, queries: list[str], cite: list[str]) -> Agent:
    """A react agent that searches memory with each query in turn and answers 'yes' citing the given ref."""
    replies: list[str] = []
    for query, ref in zip(queries, cite, strict=True):
        replies.append(f"Thought: search.\nAction: memory_search\nAction Input: {json.dumps({'query': query, 'k': 1})}")
        replies.append(f"Thought: found it.\nFinal Answer: yes {ref}\nAnswer: yes")
    # evidence_k=0: no search before the first step, so the scripted search decides what is cited
    settings = load_settings(memory_path=settings_path, offline=True, evidence_k=0)
    return Agent(model=script(*replies), settings=settings, mode="react")


def test_open_book_run_stores_the_abstracts_once_and_records_gold_citations(tmp_path: Path) -> None:
    loaded = get_adapter("pubmedqa", "open-book").read(OPEN)
    folder = store_dir("pubmedqa", dataset_hash(loaded.files))
    # Item 201's search finds its own abstract; item 202's finds another one (203's), which it cites.
    queries = ["aerobic training resting systolic pressure", "music before surgery anxiety scores"]
    agent = _searching_agent(folder, queries, ["[1]", "[1]"])
    summary = run_benchmark(open_book_options(tmp_path / "run"), agent=agent)
    records = {r.item_id: r for r in read_records(tmp_path / "run" / "records.jsonl")}
    assert records["201"].gold_cited is True and records["202"].gold_cited is False
    assert summary.metrics["gold_cited"] == 0.5
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["setting"] == "open-book" and manifest["settings"]["memory_path"] == str(folder)
    marker = json.loads((folder / MARKER).read_text())
    assert marker["documents"] == 3  # the whole corpus, not only the two test items
    stored = (folder / MARKER).stat().st_mtime_ns
    again = _searching_agent(folder, ["night shifts nurses"], ["[1]"])
    run_benchmark(open_book_options(tmp_path / "again", limit=1), agent=again)
    assert (folder / MARKER).stat().st_mtime_ns == stored  # the store was reused, not filled again


def test_open_book_refuses_an_agent_over_another_store(tmp_path: Path) -> None:
    agent = Agent(model=script("Final Answer: yes"), settings=load_settings(memory_path=tmp_path / "mine"))
    with pytest.raises(UserError, match="needs an agent whose memory_path is"):
        run_benchmark(open_book_options(tmp_path / "run", limit=1), agent=agent)


def test_report_shows_macro_f1_incomplete_tool_calls_and_speed(tmp_path: Path) -> None:
    model = KeyedChatModel(answers={"aspirin": "Answer: yes", "vitamin C": "Answer: yes"}, default="Answer: maybe")
    options = RunOptions(suite="pubmedqa", data=PUBMEDQA, out=tmp_path / "a", mode="bare", progress=False)
    run_benchmark(options, agent=Agent(model=model, tools=[], mode="bare"))
    report = build_report([tmp_path / "a"], tmp_path / "rep")
    figures = report.runs[0]
    # gold: 101 yes, 102 no, 103 maybe; predicted: yes, yes, maybe -> F1 yes 2/3, no 0, maybe 1.
    assert figures.metrics["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert figures.incomplete == 0 and figures.tool_calls == 0 and figures.items_per_min is not None
    from rich.console import Console

    console = Console(record=True, width=250)
    print_report(report, console)
    text = console.export_text()
    for column in ("macro-F1", "incomplete", "tool calls", "items/min"):
        assert column in text
    assert f"{figures.metrics['macro_f1']:.3f}" in text


def test_progress_counts_each_item_as_it_finishes(tmp_path: Path) -> None:
    """With one item in flight, the second item starts only after the first is scored; the driver must
    count the first (and move the bar) while the second still runs, not when every item is done."""
    scored: list[Any] = []
    counted_during_second: list[int] = []

    class Watching:
        model_label = "watching"
        settings = load_settings()

        def __init__(self) -> None:
            self.inner = Agent(model=KeyedChatModel(answers={}, default="Answer: yes"), tools=[], mode="bare")
            self.calls = 0

        def run(self, question: str, **kwargs: Any) -> Answer:
            self.calls += 1
            if self.calls == 2:
                deadline = time.monotonic() + 5
                while not scored and time.monotonic() < deadline:
                    time.sleep(0.01)
                counted_during_second.append(len(scored))
            return self.inner.run(question, **kwargs)

    from rich.console import Console

    options = RunOptions(suite="pubmedqa", data=PUBMEDQA, out=tmp_path / "p", mode="bare", progress=False, limit=2)
    run = runner_module.prepare(options, agent=Watching(), agents=None, judge=None, console=Console(quiet=True))
    previous, todo = run.pending()
    run.start(previous, runner_module.now())
    runner_module._execute(run, runner_module.ThreadPool(run), previous, todo, scored)
    assert counted_during_second == [1] and len(scored) == 2


def test_bench_offline_flag_switches_the_network_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[RunOptions] = []
    monkeypatch.setattr(runner_module, "run_benchmark", lambda options: captured.append(options))
    args = ["pubmedqa", "--data", str(PUBMEDQA), "--out", str(tmp_path / "o"), "--quiet"]
    result = CliRunner().invoke(app, [*args, "--offline", "--setting", "open-book"])
    assert result.exit_code == 0, result.output
    assert captured[0].setting == "open-book"
    assert runner_module._settings(captured[0]).offline is True
    assert runner_module._settings(captured[0].model_copy(update={"offline": None})).offline is False
