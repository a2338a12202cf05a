"""Benchmarks on Ray, against a real local Ray instance: the same records as threads, a worker killed
mid-item replaced and its item retried, an item that kills its worker every time recorded as an error,
the driver killed and resumed, and one-line errors when Ray is missing or unreachable.

Ray takes seconds to start, so the module shares one instance; the runner, asked for a local Ray in a
process that already has one, uses it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from typer.testing import CliRunner

from tests.bench_fakes import KeyedAgents, marks_in
from txscout.benchmarks.runner import RunOptions, read_records, run_benchmark
from txscout.benchmarks.scoring import SpecAgents
from txscout.cli import app
from txscout.core.errors import UserError
from txscout.core.events import read_trace
from txscout.core.settings import load_settings

FIX = Path(__file__).parent / "fixtures" / "bench"
ROOT = Path(__file__).resolve().parents[1]
MEDQA_REPLIES = {"painless jaundice": "Answer: B", "scurvy": "The answer is (c).", "aromatase": "Answer: D"}
ITEMS = ["medqa-1", "medqa-2", "medqa-3", "medqa-4", "medqa-6"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """One small Ray instance for the module (module-scoped so it is gone before other tests run)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def ray_options(out: Path, **extra: object) -> RunOptions:
    values: dict[str, object] = {"ray": "local", "workers": 2, **extra}
    return RunOptions(suite="medqa", data=FIX / "medqa.jsonl", out=out, mode="bare", progress=False, **values)


def question_of(item_id: str) -> str:
    """A fragment that identifies the item's question."""
    return {"medqa-1": "painless jaundice", "medqa-2": "scurvy", "medqa-3": "aromatase"}[item_id]


def test_ray_scores_every_item_once_as_threads_do(local_ray: str, tmp_path: Path) -> None:
    agents = KeyedAgents(answers=MEDQA_REPLIES, default="Answer: E", settings=load_settings(mode="bare"))
    on_threads = run_benchmark(ray_options(tmp_path / "threads", ray=None), agents=agents)
    on_ray = run_benchmark(ray_options(tmp_path / "ray"), agents=agents)
    threads = {r.item_id: r for r in read_records(tmp_path / "threads" / "records.jsonl")}
    records = read_records(tmp_path / "ray" / "records.jsonl")
    assert sorted(r.item_id for r in records) == ITEMS
    for record in records:
        assert (record.prediction, record.correct) == (
            threads[record.item_id].prediction,
            threads[record.item_id].correct,
        )
        events = list(read_trace(tmp_path / "ray" / record.trace))  # written by the driver from the worker's events
        assert events[0].type == "run_started" and events[-1].type == "run_finished"
    assert (on_ray.correct, on_ray.n, on_ray.complete) == (on_threads.correct, 5, True) and on_ray.correct == 2
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["sessions"][0]["executor"] == "ray local, 2 workers x1"
    assert manifest["sessions"][0]["scored"] == 5


def test_a_model_the_workers_cannot_load_stops_the_run_before_any_item(local_ray: str, tmp_path: Path) -> None:
    agents = SpecAgents("nosuch:model", "bare", load_settings(mode="bare"))
    with pytest.raises(UserError, match="nosuch:model"):  # raised in a worker, re-raised here as itself
        run_benchmark(ray_options(tmp_path / "run"), agents=agents)
    assert list((tmp_path / "run").iterdir()) == []  # the folder was never claimed


def kill_first_worker_that_asks(marks: Path, fragment: str, killed: list[int], deadline_s: float = 120) -> None:
    """SIGKILL the worker process that first starts on the item whose question holds ``fragment``."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for pid, question in marks_in(marks):
            if fragment in question:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


def test_worker_deaths_retry_the_item_and_three_deaths_record_an_error(local_ray: str, tmp_path: Path) -> None:
    """The test SIGKILLs the worker scoring medqa-1 once; medqa-2 SIGKILLs whichever worker scores it,
    every time. Both workers die and are replaced while the run goes on."""
    marks = tmp_path / "marks"
    marks.mkdir()
    agents = KeyedAgents(
        answers=MEDQA_REPLIES,
        delay_s=1.0,
        marks=str(marks),
        sigkill_self_on="scurvy",
        settings=load_settings(mode="bare"),
    )
    killed: list[int] = []
    killer = threading.Thread(target=kill_first_worker_that_asks, args=(marks, "painless jaundice", killed))
    killer.start()
    summary = run_benchmark(ray_options(tmp_path / "run"), agents=agents)
    killer.join()
    records = read_records(tmp_path / "run" / "records.jsonl")
    assert sorted(r.item_id for r in records) == ITEMS  # every item exactly once
    by_id = {r.item_id: r for r in records}

    attempts = [pid for pid, question in marks_in(marks) if "painless jaundice" in question]
    assert killed and len(attempts) == 2 and attempts[0] == killed[0] and attempts[1] != killed[0]
    assert by_id["medqa-1"].prediction == "B" and by_id["medqa-1"].correct and by_id["medqa-1"].error is None

    assert sum("scurvy" in q for _, q in marks_in(marks)) == 3
    error = by_id["medqa-2"].error or ""
    assert "lost 3 times while scoring this item" in error and not by_id["medqa-2"].correct

    asked = Counter(question for _, question in marks_in(marks))
    assert sorted(asked.values()) == [1, 1, 1, 2, 3]  # nothing else ran twice
    assert summary.complete and summary.n == 5 and summary.errors == 1 and summary.correct == 1


DRIVER = """
import sys
from pathlib import Path
from tests.bench_fakes import KeyedAgents
from txscout.benchmarks.runner import RunOptions, run_benchmark

data, out, address, marks = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
options = RunOptions(suite="medqa", data=data, out=out, mode="bare", progress=False, ray=address, workers=2)
run_benchmark(options, agents=KeyedAgents(answers={}, default="Answer: B", delay_s=0.5, marks=marks))
"""


def test_a_killed_driver_resumes_on_the_cluster_without_losing_or_redoing_items(local_ray: str, tmp_path: Path) -> None:
    out, marks = tmp_path / "run", tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", DRIVER, str(FIX / "medqa.jsonl"), str(out), local_ray, str(marks)]
    driver = subprocess.Popen(args, cwd=ROOT, env=env)  # joins this module's cluster by its address
    records = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while not (records.exists() and records.read_text().count("\n") >= 2):
        assert driver.poll() is None, "the driver ended before it could be killed"
        assert time.monotonic() < deadline, "the driver never scored two items"
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    before = {r.item_id for r in read_records(records)}
    assert 2 <= len(before) < 5
    again = tmp_path / "marks-resumed"  # the killed driver's workers may still be stopping
    again.mkdir()
    agents = KeyedAgents(answers={}, default="Answer: B", marks=str(again), settings=load_settings(mode="bare"))
    summary = run_benchmark(ray_options(out, ray=local_ray, resume=True), agents=agents)
    ids = [r.item_id for r in read_records(records)]
    assert sorted(ids) == ITEMS  # each item once
    assert len(marks_in(again)) == 5 - len(before)  # only the unscored items ran again
    assert summary.complete and summary.correct == 2  # medqa-1 and medqa-6 have gold B


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ray", "127.0.0.1:{port}"], "error: cannot reach the Ray cluster at 127.0.0.1:{port}: Connection refused"),
        (["--ray", "http://u:secret@127.0.0.1:{port}"], "error: --ray address 'http://u:********@127.0.0.1:{port}'"),
        (["--workers", "3"], "error: --workers needs --ray; threads in this process take --concurrency"),
        (["--force"], "error: --force only applies with --resume"),
    ],
)
def test_cli_ray_mistakes_are_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    port = closed_port()
    argv = ["bench", "medqa", "--data", str(FIX / "medqa.jsonl"), "--out", str(tmp_path / "o"), "--mode", "bare"]
    result = CliRunner().invoke(app, [*argv, *(a.format(port=port) for a in args)])
    assert result.exit_code == 2
    assert result.stderr.startswith(message.format(port=port)) and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output and "secret" not in result.stderr


def test_cli_without_ray_installed_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without the extra sees on import
    argv = ["bench", "medqa", "--data", str(FIX / "medqa.jsonl"), "--out", str(tmp_path / "o"), "--ray"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert result.stderr == "error: --ray needs Ray, which is not installed: pip install 'txscout[ray]'\n"


def test_bare_ray_flag_means_a_local_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import txscout.benchmarks.runner as runner_module

    seen: list[RunOptions] = []
    monkeypatch.setattr(runner_module, "run_benchmark", seen.append)
    base = ["bench", "medqa", "--data", str(FIX / "medqa.jsonl"), "--out", str(tmp_path / "o")]
    for extra, address, workers in (
        (["--ray"], "local", 2),
        (["--ray", "--workers", "4"], "local", 4),
        (["--ray", "10.0.0.5:6379", "--workers", "8"], "10.0.0.5:6379", 8),
    ):
        assert CliRunner().invoke(app, [*base, *extra]).exit_code == 0
        assert (seen[-1].ray, seen[-1].workers) == (address, workers)
