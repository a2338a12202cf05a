"""The run manifest: what it records to repeat a run (versions, commit, model file, endpoint without
secrets, every setting, the data), resume refusing a changed setup unless ``--force``, folders written
before the manifest (``run.json``), and the report showing each run's setup and what differs."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import pydantic
import pytest
from typer.testing import CliRunner

from tests.bench_fakes import KeyedAgents, KeyedChatModel
from txscout.agent.api import Agent
from txscout.agent.backends.models import local_model_path
from txscout.agent.result import Answer
from txscout.benchmarks.runner import RunOptions, read_records, run_benchmark
from txscout.cli import app
from txscout.core.errors import UserError
from txscout.core.settings import Settings, load_settings

FIX = Path(__file__).parent / "fixtures" / "bench"
ROOT = Path(__file__).resolve().parents[1]
REPLIES = {"painless jaundice": "Answer: B", "scurvy": "Answer: C"}


def medqa_options(out: Path, **extra: Any) -> RunOptions:
    return RunOptions(suite="medqa", data=FIX / "medqa.jsonl", out=out, mode="bare", progress=False, **extra)


def fake_gguf(path: Path, weights: bytes) -> Path:
    path.write_bytes(b"GGUF" + weights)
    return path


def keyed(**extra: Any) -> KeyedAgents:
    return KeyedAgents(answers=REPLIES, settings=load_settings(mode="bare"), **extra)


def manifest_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())


def test_manifest_records_what_it_takes_to_repeat_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_MAX_STEPS", "4")
    weights = fake_gguf(tmp_path / "model.gguf", b"\x01" * 64)
    run_benchmark(medqa_options(tmp_path / "run", limit=3), agents=keyed(model_spec=f"local:{weights}"))
    m = manifest_of(tmp_path / "run")
    assert m["model"] == "KeyedChatModel" and m["model_spec"] == f"local:{weights}" and m["endpoint"] is None
    assert m["model_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    data = (FIX / "medqa.jsonl").read_bytes()
    assert m["data"] == str(FIX / "medqa.jsonl")
    assert m["data_sha256"] == hashlib.sha256(b"medqa.jsonl\0" + data).hexdigest()
    assert m["data_files"] == {"medqa.jsonl": hashlib.sha256(data).hexdigest()}  # what sha256sum prints
    assert (m["data_items"], m["selected"], m["limit"], m["seed"], m["subsets"], m["mode"]) == (5, 3, 3, 0, [], "bare")
    assert m["txscout_version"] == importlib.metadata.version("txscout") and m["python"] == platform.python_version()
    assert m["packages"]["pydantic"] == pydantic.VERSION and "ray" in m["packages"]
    assert re.fullmatch("[0-9a-f]{40}", m["git_commit"]) and isinstance(m["git_dirty"], bool)
    assert subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{m['git_commit']}^{{commit}}"]).returncode == 0
    assert set(m["settings"]) == set(Settings.model_fields) and m["settings"]["max_steps"] == 4
    assert m["grader"] == "letter-exact-set" and m["sessions"][0]["scored"] == 3


def test_the_embedded_model_is_pinned_by_its_file_hash(tmp_path: Path) -> None:
    run_benchmark(medqa_options(tmp_path / "run", limit=1), agents=keyed(model_spec="local"))
    smollm2 = local_model_path("smollm2")
    assert manifest_of(tmp_path / "run")["model_sha256"] == hashlib.sha256(smollm2.read_bytes()).hexdigest()


class LeakyAgent(Agent):
    """An agent whose run fails with a message quoting the endpoint's credentials and the API key, as an
    HTTP client's error can."""

    def run(self, question: str, **kwargs: Any) -> Answer:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        raise ConnectionError(f"POST {self.settings.base_url}/chat failed with key {key}")


def test_manifest_and_records_never_hold_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_BASE_URL", "http://user:hunter2pass@127.0.0.1:9/v1")
    monkeypatch.setenv("TXSCOUT_API_KEY", "sk-verysecretkey123")
    monkeypatch.setenv("TXSCOUT_SEARXNG_URL", "http://127.0.0.1:8/search?api_key=abc123secret")
    agent = LeakyAgent(model=KeyedChatModel(answers={}), tools=[], mode="bare")
    summary = run_benchmark(medqa_options(tmp_path / "run", limit=1, model="openai:gpt-4o-mini"), agent=agent)
    assert summary.errors == 1
    m = manifest_of(tmp_path / "run")
    assert m["endpoint"] == "http://user:********@127.0.0.1:9/v1" and m["model_spec"] == "openai:gpt-4o-mini"
    assert m["settings"]["api_key"] == "********"
    written = "".join(p.read_text() for p in (tmp_path / "run").rglob("*") if p.is_file())
    for secret in ("hunter2pass", "sk-verysecretkey123", "abc123secret"):
        assert secret not in written
    error = read_records(tmp_path / "run" / "records.jsonl")[0].error or ""
    assert error.startswith("ConnectionError: POST http://user:********@127.0.0.1:9/v1/chat")


def test_resume_names_every_difference_and_force_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    weights = fake_gguf(tmp_path / "model.gguf", b"\x01" * 64)
    first = run_benchmark(medqa_options(out, limit=2), agents=keyed(model_spec=f"local:{weights}"))
    old_hash = hashlib.sha256(weights.read_bytes()).hexdigest()
    fake_gguf(weights, b"\x02" * 64)  # same spec, other weights
    monkeypatch.setenv("TXSCOUT_MAX_STEPS", "3")
    second = keyed(model_spec=f"local:{weights}")
    with pytest.raises(UserError) as refused:
        run_benchmark(medqa_options(out, limit=3, resume=True), agents=second)
    message = str(refused.value)
    assert message.startswith(f"cannot resume {out}: the run setup changed (")
    assert f"model_sha256: '{old_hash}' -> " in message and "limit: 2 -> 3" in message
    assert "settings.max_steps: 6 -> 3" in message and message.endswith("pass --force to resume anyway")
    assert first.n == 2 and len(read_records(out / "records.jsonl")) == 2  # nothing ran
    summary = run_benchmark(medqa_options(out, limit=3, resume=True, force=True), agents=second)
    assert summary.n == 3 and summary.complete
    m = manifest_of(out)
    assert m["limit"] == 3 and m["settings"]["max_steps"] == 3 and len(m["sessions"]) == 2
    assert m["sessions"][1]["forced"]["settings.max_steps"] == [6, 3] and m["sessions"][1]["scored"] == 1


def test_cli_resume_refusal_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "run"
    default = keyed(model_spec="local", model_label="local:smollm2")  # what the CLI builds when no model is named
    run_benchmark(medqa_options(out, limit=1), agents=default)
    argv = ["bench", "medqa", "--data", str(FIX / "medqa.jsonl"), "--out", str(out), "--mode", "bare"]
    result = CliRunner().invoke(app, [*argv, "--limit", "1", "--seed", "7", "--resume", "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.endswith("the run setup changed (seed: 0 -> 7); pass --force to resume anyway\n")
    assert result.stderr.startswith("error: cannot resume") and result.stderr.count("\n") == 1


def legacy_folder(out: Path, **changes: Any) -> None:
    """Turn a run folder into one written before manifest.json: its setup in run.json, no versions or settings."""
    m = manifest_of(out)
    keys = ("suite", "data", "data_sha256", "model", "mode", "seed", "subsets", "limit", "shots", "judge", "grader")
    legacy = {k: m[k] for k in keys} | {"http_cache": "read-write", "sessions": [{"scored": 1, "wall_s": 0.5}]}
    (out / "run.json").write_text(json.dumps(legacy | changes))
    (out / "manifest.json").unlink()


def test_a_run_json_folder_resumes_and_then_carries_manifest_json(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        interrupted = Agent(model=KeyedChatModel(answers=REPLIES, interrupt_after=1), tools=[], mode="bare")
        run_benchmark(medqa_options(out, limit=3), agent=interrupted)
    legacy_folder(out)
    summary = run_benchmark(medqa_options(out, limit=3, resume=True), agents=keyed())
    assert summary.complete and sorted(r.item_id for r in read_records(out / "records.jsonl")) == [
        "medqa-1",
        "medqa-2",
        "medqa-3",
    ]
    assert not (out / "run.json").exists()
    m = manifest_of(out)
    assert [s["scored"] for s in m["sessions"]] == [1, 2] and m["settings"]["mode"] == "bare"

    other = tmp_path / "other"
    run_benchmark(medqa_options(other, limit=1), agents=keyed())
    legacy_folder(other, seed=7)
    with pytest.raises(UserError, match=r"setup changed \(seed: 7 -> 0\)"):
        run_benchmark(medqa_options(other, limit=1, resume=True), agents=keyed())


def test_report_shows_each_runs_setup_and_what_differs(tmp_path: Path) -> None:
    run_benchmark(medqa_options(tmp_path / "a", limit=2), agents=keyed())
    run_benchmark(medqa_options(tmp_path / "b", limit=2, seed=7), agents=keyed())
    result = CliRunner().invoke(
        app, ["bench", "report", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "rep")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["differences"]["seed"] == [0, 7] and "model" not in report["differences"]
    assert report["runs"][0]["setup"]["data_sha256"] == report["runs"][1]["setup"]["data_sha256"]
    assert "* seed" in result.stdout and "setup (from each run's manifest)" in result.stdout
    sha = report["runs"][0]["setup"]["data_sha256"]
    assert sha[:12] in result.stdout  # the data each run used, beside its figures


def test_cli_errors_never_print_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXSCOUT_API_KEY", "sk-verysecretkey123")
    judge = "nosuch:http://u:hunter2@127.0.0.1/v1?token=sk-verysecretkey123"
    argv = ["bench", "hle", "--data", str(FIX / "hle" / "hle.jsonl"), "--out", str(tmp_path / "o"), "--judge", judge]
    result = CliRunner().invoke(app, [*argv, "--mode", "bare", "--quiet"])
    assert result.exit_code == 2 and result.stderr.startswith("error: judge model 'nosuch:http://u:********@127.0.0.1")
    assert "hunter2" not in result.output + result.stderr and "sk-verysecretkey123" not in result.stderr
