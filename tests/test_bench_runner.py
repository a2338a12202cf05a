"""The runner: records written as items are scored, summaries, resume after an interrupt or a kill,
refusing to mix setups, bad input, the CLI and the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.bench_fakes import KeyedChatModel
from tests.scripted import script
from txscout.agent.api import Agent, Choices
from txscout.agent.result import Answer
from txscout.benchmarks.cli import app
from txscout.benchmarks.judge import Judge, JudgeUnavailable
from txscout.benchmarks.runner import RunOptions, options_from, read_records, run_benchmark
from txscout.core.errors import ModelUnavailable, UserError

FIX = Path(__file__).parent / "fixtures" / "bench"
ROOT = Path(__file__).resolve().parents[1]
# MedQA fixture: question fragment -> reply; two right, one wrong, two unparseable.
MEDQA_REPLIES = {
    "painless jaundice": "Answer: B",
    "scurvy": "The answer is (c).",
    "aromatase": "Answer: D",
    "hilar adenopathy": "I am not sure.",
}


def medqa_options(out: Path, **extra: object) -> RunOptions:
    return RunOptions(suite="medqa", data=FIX / "medqa.jsonl", out=out, mode="bare", progress=False, **extra)


def agent_for(model: KeyedChatModel) -> Agent:
    return Agent(model=model, tools=[], mode="bare")


def test_run_writes_one_record_per_item_and_a_summary(tmp_path: Path) -> None:
    model = KeyedChatModel(answers=MEDQA_REPLIES, default="Answer: E")
    summary = run_benchmark(medqa_options(tmp_path / "run"), agent=agent_for(model))
    records = read_records(tmp_path / "run" / "records.jsonl")
    assert [r.item_id for r in records] == ["medqa-1", "medqa-2", "medqa-3", "medqa-4", "medqa-6"]
    by_id = {r.item_id: r for r in records}
    assert by_id["medqa-2"].correct and by_id["medqa-2"].prediction == "C"
    assert not by_id["medqa-3"].correct and by_id["medqa-4"].prediction is None
    assert by_id["medqa-6"].prediction == "E" and not by_id["medqa-6"].correct  # five-option item, wrong letter
    assert all(r.model_calls == 1 and r.input_tokens >= 0 and r.latency_s >= 0 for r in records)
    trace = tmp_path / "run" / by_id["medqa-1"].trace
    assert trace.exists() and '"type":"run_finished"' in trace.read_text()
    assert summary.n == summary.n_selected == 5 and summary.complete
    assert summary.correct == 2 and summary.accuracy == pytest.approx(0.4)
    assert 0 < summary.ci95.low < 0.4 < summary.ci95.high
    assert summary.per_subset["step1"].n == 4 and summary.per_subset["step2&3"].correct == 1
    assert summary.malformed == 1 and summary.skipped_reasons == {"answer_idx 'F' is not one of the options": 1}
    assert summary.malformed_rows == [f"{FIX / 'medqa.jsonl'}:5: answer_idx 'F' is not one of the options"]
    assert summary.mode == "bare" and summary.model == "KeyedChatModel" and summary.grader == "letter-exact-set"
    assert len(summary.data_sha256) == 64 and summary.seed == 0
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["accuracy"] == pytest.approx(0.4)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["http_cache"] == "read-write"


def test_subset_limit_and_concurrency(tmp_path: Path) -> None:
    model = KeyedChatModel(answers=MEDQA_REPLIES, delay_s=0.01)
    options = medqa_options(tmp_path / "run", subsets=["step1"], limit=3, concurrency=3)
    summary = run_benchmark(options, agent=agent_for(model))
    assert summary.n == 3 and set(summary.per_subset) == {"step1"}
    assert len(model.calls) == 3
    assert sorted(r.item_id for r in read_records(tmp_path / "run" / "records.jsonl")) == [
        "medqa-2",
        "medqa-3",
        "medqa-4",
    ]


class ChoicesSeen(Agent):
    """The real agent, noting the closed answer set the runner hands it for each question."""

    seen: dict[str, Choices | None]

    def run(self, question: str, **kwargs: Any) -> Answer:
        self.seen[question.split("\n", 1)[0]] = kwargs.get("choices")
        return super().run(question, **kwargs)


def test_runner_hands_the_agent_each_items_answer_letters(tmp_path: Path) -> None:
    agent = ChoicesSeen(model=KeyedChatModel(answers=MEDQA_REPLIES), tools=[], mode="bare")
    agent.seen = {}
    run_benchmark(medqa_options(tmp_path / "run"), agent=agent)
    sets = {q: c.answers for q, c in agent.seen.items() if c is not None}
    assert len(sets) == len(agent.seen) == 5
    assert sorted(len(a) for a in sets.values()) == [4, 4, 4, 4, 5]
    assert all(a == list("ABCDE"[: len(a)]) for a in sets.values())


class CrashesOn(Agent):
    """The real agent, except that it fails (as a bug would) on questions containing ``word``."""

    word: str

    def run(self, question: str, **kwargs: Any) -> Answer:
        if self.word in question:
            raise RuntimeError("agent bug on this item")
        return super().run(question, **kwargs)


def test_item_errors_are_recorded_not_fatal(tmp_path: Path) -> None:
    agent = CrashesOn(model=KeyedChatModel(answers=MEDQA_REPLIES), tools=[], mode="bare")
    agent.word = "scurvy"
    summary = run_benchmark(medqa_options(tmp_path / "run"), agent=agent)
    failed = [r for r in read_records(tmp_path / "run" / "records.jsonl") if r.error]
    assert [r.item_id for r in failed] == ["medqa-2"]
    assert "agent bug" in (failed[0].error or "") and not failed[0].correct
    assert summary.errors == 1 and summary.n == 5


def test_full_context_window_is_an_incomplete_answer_scored_wrong(tmp_path: Path) -> None:
    model = KeyedChatModel(answers=MEDQA_REPLIES, context_full_on="scurvy")
    summary = run_benchmark(medqa_options(tmp_path / "run"), agent=agent_for(model))
    by_id = {r.item_id: r for r in read_records(tmp_path / "run" / "records.jsonl")}
    assert by_id["medqa-2"].status == "incomplete" and not by_id["medqa-2"].correct
    assert summary.errors == 0 and summary.n == 5


def test_unavailable_model_stops_the_run_and_keeps_scored_items(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(ModelUnavailable, match="model crashed"):
        run_benchmark(medqa_options(out), agent=agent_for(KeyedChatModel(answers=MEDQA_REPLIES, raise_on="scurvy")))
    assert [r.item_id for r in read_records(out / "records.jsonl")] == ["medqa-1"]
    assert json.loads((out / "summary.json").read_text())["complete"] is False
    again = KeyedChatModel(answers=MEDQA_REPLIES)
    assert run_benchmark(medqa_options(out, resume=True), agent=agent_for(again)).complete
    assert len(again.calls) == 4


def test_resume_after_interrupt_neither_loses_nor_redoes_items(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = KeyedChatModel(answers=MEDQA_REPLIES, interrupt_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(medqa_options(out), agent=agent_for(first))
    assert [r.item_id for r in read_records(out / "records.jsonl")] == ["medqa-1", "medqa-2"]
    partial = json.loads((out / "summary.json").read_text())
    assert partial["complete"] is False and partial["n"] == 2
    assert json.loads((out / "manifest.json").read_text())["sessions"][0]["scored"] == 2

    with pytest.raises(UserError, match="--resume"):
        run_benchmark(medqa_options(out), agent=agent_for(KeyedChatModel(answers=MEDQA_REPLIES)))

    second = KeyedChatModel(answers=MEDQA_REPLIES)
    summary = run_benchmark(medqa_options(out, resume=True), agent=agent_for(second))
    assert len(second.calls) == 3
    assert not any("painless jaundice" in c or "scurvy" in c for c in second.calls)
    ids = [r.item_id for r in read_records(out / "records.jsonl")]
    assert sorted(ids) == ["medqa-1", "medqa-2", "medqa-3", "medqa-4", "medqa-6"] and len(ids) == len(set(ids))
    assert summary.complete and summary.correct == 2


def test_resume_drops_a_half_written_line_and_reruns_that_item(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_benchmark(medqa_options(out, limit=2), agent=agent_for(KeyedChatModel(answers=MEDQA_REPLIES)))
    lines = (out / "records.jsonl").read_text().splitlines(keepends=True)
    (out / "records.jsonl").write_text(lines[0] + lines[1][: len(lines[1]) // 2])
    again = KeyedChatModel(answers=MEDQA_REPLIES)
    summary = run_benchmark(medqa_options(out, limit=2, resume=True), agent=agent_for(again))
    assert len(again.calls) == 1 and "scurvy" in again.calls[0]
    assert summary.n == 2 and [r.item_id for r in read_records(out / "records.jsonl")] == ["medqa-1", "medqa-2"]


def test_resume_refuses_a_changed_setup(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_benchmark(medqa_options(out, limit=1), agent=agent_for(KeyedChatModel(answers=MEDQA_REPLIES)))
    with pytest.raises(UserError, match=r"setup changed \(seed: 0 -> 7\)"):
        run_benchmark(medqa_options(out, limit=1, seed=7, resume=True), agent=agent_for(KeyedChatModel(answers={})))


KILL_SCRIPT = """
import sys
from pathlib import Path
from txscout.agent.api import Agent, Choices
from txscout.agent.result import Answer
from txscout.benchmarks.runner import RunOptions, run_benchmark
from tests.bench_fakes import KeyedChatModel

model = KeyedChatModel(answers={}, default="Answer: B", delay_s=0.3)
options = RunOptions(suite="medqa", data=Path(sys.argv[1]), out=Path(sys.argv[2]), mode="bare", progress=False)
run_benchmark(options, agent=Agent(model=model, tools=[], mode="bare"))
"""


def test_resume_after_sigkill_mid_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(FIX / "medqa.jsonl"), str(out)], cwd=ROOT, env=dict(os.environ)
    )
    records = out / "records.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if records.exists() and records.read_text().count("\n") >= 2:
            break
        if proc.poll() is not None:
            pytest.fail("the benchmark process ended before it could be killed")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_records(records)
    assert 2 <= len(before) < 5
    killed = json.loads((out / "manifest.json").read_text())["sessions"]
    assert len(killed) == 1 and killed[0]["ended_at"] is None and killed[0]["scored"] >= 1  # listed as it ran
    resumed = KeyedChatModel(answers={}, default="Answer: B")
    summary = run_benchmark(medqa_options(out, resume=True), agent=agent_for(resumed))
    assert len(resumed.calls) == 5 - len(before)
    ids = [r.item_id for r in read_records(records)]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert summary.complete and summary.correct == 2  # medqa-1 and medqa-6 have gold B
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["started_at"] for s in sessions[:1]] == [killed[0]["started_at"]] and len(sessions) == 2
    assert sessions[0]["ended_at"] is None and sessions[1]["ended_at"] and sessions[1]["scored"] == 5 - len(before)


def test_bad_input_errors_list_choices(tmp_path: Path) -> None:
    agent = agent_for(KeyedChatModel(answers={}))
    with pytest.raises(UserError, match=r"unknown subset 'step4'; valid subsets: .*step1"):
        run_benchmark(medqa_options(tmp_path / "a", subsets=["step4"]), agent=agent)
    with pytest.raises(UserError, match="data path not found"):
        run_benchmark(RunOptions(suite="medqa", data=tmp_path / "x.jsonl", out=tmp_path / "b"), agent=agent)
    with pytest.raises(UserError, match="unknown suite 'pubmed'; valid suites"):
        run_benchmark(RunOptions(suite="pubmed", data=tmp_path, out=tmp_path / "c"), agent=agent)
    with pytest.raises(UserError, match="graded without a judge"):
        run_benchmark(medqa_options(tmp_path / "d", judge="openai:gpt-4o"), agent=agent)
    with pytest.raises(UserError, match="unknown mode 'fast'; valid modes: bare, react, full"):
        options_from(suite="medqa", data=tmp_path, out=tmp_path, mode="fast")


def test_unavailable_judge_stops_the_run_before_any_item(tmp_path: Path) -> None:
    model = KeyedChatModel(answers={})
    options = RunOptions(
        suite="hle",
        data=FIX / "hle" / "hle.jsonl",
        out=tmp_path / "run",
        judge="nosuch:judge",
        mode="bare",
        progress=False,
    )
    with pytest.raises(JudgeUnavailable):
        run_benchmark(options, agent=agent_for(model))
    assert model.calls == []
    vignettes = RunOptions(suite="oncology", data=FIX / "vignettes.jsonl", out=tmp_path / "v", mode="bare")
    with pytest.raises(UserError, match="pass --judge MODEL"):
        run_benchmark(vignettes, agent=agent_for(model))


def test_judge_graded_run_names_its_grader(tmp_path: Path) -> None:
    verdict = json.dumps({"extracted_final_answer": "x", "reasoning": "", "correct": "yes", "confidence": 80})
    judge = Judge(script(*[verdict] * 4), "scripted-judge")
    model = KeyedChatModel(answers={}, default="Answer: x\nConfidence: 80%")
    options = RunOptions(suite="hle", data=FIX / "hle" / "hle.jsonl", out=tmp_path / "run", mode="bare", progress=False)
    summary = run_benchmark(options, agent=agent_for(model), judge=judge)
    assert summary.grader == "judge:scripted-judge" and summary.accuracy == 1.0
    assert summary.metrics["calibration_error_rms"] == pytest.approx(0.2)
    unjudged = run_benchmark(options.model_copy(update={"out": tmp_path / "plain"}), agent=agent_for(model))
    assert unjudged.grader == "exact-match (no judge)" and unjudged.accuracy == 0.0


def test_cli_validate_counts_and_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["validate", "labbench", "--data", str(FIX / "labbench"), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["items"] == 3 and counts["per_subset"] == {"LitQA2": 2, "SeqQA": 1} and counts["skipped"] == 3
    text = runner.invoke(app, ["validate", "medqa", "--data", str(FIX / "medqa.jsonl")])
    assert "5 items, 1 skipped (1 malformed)" in text.output and "medqa.jsonl:5" in text.output
    bad = runner.invoke(app, ["validate", "nosuch", "--data", str(FIX)])
    assert isinstance(bad.exception, UserError) and "valid suites" in str(bad.exception)


def test_cli_exits_2_on_user_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "txscout.benchmarks.cli", "validate", "medqa", "--data", "/no/such/file.jsonl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: data path not found")


def test_report_compares_runs_and_writes_plots(tmp_path: Path) -> None:
    good = KeyedChatModel(
        answers={"atomic number 6": "Answer: B\nConfidence: 90%", "table salt": "Answer: NaCl\nConfidence: 60%"},
        default="Answer: none\nConfidence: 30%",
    )
    base = RunOptions(suite="hle", data=FIX / "hle" / "hle.jsonl", out=tmp_path / "a", mode="bare", progress=False)
    run_benchmark(base, agent=agent_for(good))
    run_benchmark(base.model_copy(update={"out": tmp_path / "b"}), agent=agent_for(KeyedChatModel(answers={})))
    result = CliRunner().invoke(
        app, ["report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "rep")]
    )
    assert result.exit_code == 0, result.output
    for name in ("accuracy.png", "calibration.png"):
        assert (tmp_path / "rep" / name).read_bytes()[:4] == b"\x89PNG"
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert [r["accuracy"] for r in report["runs"]] == [0.5, 0.0]
    assert report["runs"][0]["per_subset"]["Chemistry"]["correct"] == 2
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nothing")])
    assert isinstance(missing.exception, UserError)


def test_cli_suite_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import txscout.benchmarks.runner as runner_module

    model = KeyedChatModel(answers=MEDQA_REPLIES)
    original = runner_module.run_benchmark
    monkeypatch.setattr(runner_module, "run_benchmark", lambda options: original(options, agent=agent_for(model)))
    result = CliRunner().invoke(
        app,
        [
            "medqa",
            "--data",
            str(FIX / "medqa.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--mode",
            "bare",
            "--subset",
            "step1,step2&3",
            "--limit",
            "2",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["n"] == 2


def test_cli_module_imports_stay_light() -> None:
    code = (
        "import sys, txscout.benchmarks.cli; "
        "heavy = ('matplotlib', 'pandas', 'pyarrow', 'txscout.agent.api', 'langchain_core', 'rich.progress'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_trace_files_stay_apart_for_ids_that_sanitise_alike(tmp_path: Path) -> None:
    rows = [
        {"realidx": rid, "question": f"Question {n}?", "options": {"A": "x", "B": "y"}, "answer_idx": "A"}
        for n, rid in enumerate(["a/1", "a_1", "a 1", "A_1"])
    ]
    data = tmp_path / "medqa_coll.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    options = RunOptions(suite="medqa", data=data, out=tmp_path / "run", mode="bare", progress=False)
    run_benchmark(options, agent=agent_for(KeyedChatModel(answers={})))
    records = read_records(tmp_path / "run" / "records.jsonl")
    assert [r.item_id for r in records] == ["medqa_coll-a/1", "medqa_coll-a_1", "medqa_coll-a 1", "medqa_coll-A_1"]
    names = {r.trace.casefold() for r in records}  # distinct even on a case-insensitive file system
    assert len(names) == 4
    for n, record in enumerate(records):
        started = json.loads((tmp_path / "run" / record.trace).read_text().splitlines()[0])
        assert started["type"] == "run_started" and started["question"].startswith(f"Question {n}?")


def bench_cli(*args: str) -> Any:
    from txscout.cli import app as root

    return CliRunner().invoke(root, ["bench", *args])


def test_out_naming_a_file_is_one_line_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "taken.txt"
    target.write_text("not a folder")
    result = bench_cli("medqa", "--data", str(FIX / "medqa.jsonl"), "--out", str(target), "--mode", "bare")
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {target} is a file; give a folder for the run\n"
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("suite", "name"),
    [("medqa", "x.jsonl"), ("gpqa", "x.csv"), ("mmlu", "x_test.csv"), ("hle", "x.parquet"), ("hle", "x.jsonl")],
)
def test_validate_a_binary_data_file_is_one_line_exit_2(tmp_path: Path, suite: str, name: str) -> None:
    data = tmp_path / name
    data.write_bytes(bytes(range(256)) * 64)  # not UTF-8, NUL bytes, no format's magic
    result = bench_cli("validate", suite, "--data", str(data))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and str(data) in result.stderr
    assert "Traceback" not in result.output


def test_a_model_that_cannot_load_leaves_no_run_behind(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(UserError, match="nosuch:model"):
        run_benchmark(medqa_options(out, model="nosuch:model"))
    assert sorted(p.name for p in out.iterdir()) == []  # so the same command works once the model is fixed
    run_benchmark(medqa_options(out, limit=1), agent=agent_for(KeyedChatModel(answers={})))
    assert (out / "manifest.json").exists()
