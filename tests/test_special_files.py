"""Files a user names that are not files: a device that never ends (``/dev/zero``), a FIFO nobody writes
to, a full disk (``/dev/full``), binary data where records belong. Each is one line and exit code 2,
never a traceback, a hang or memory that grows without bound.

The commands run in a child process where a real file descriptor matters (stdout on ``/dev/full``), and
every child has a timeout, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.bench_fakes import KeyedAgents
from txscout.benchmarks.items import Record
from txscout.benchmarks.runner import RunOptions, run_benchmark
from txscout.cli import app
from txscout.core.errors import UserError
from txscout.core.settings import load_settings

runner = CliRunner()
MEDQA = Path(__file__).parent / "fixtures" / "bench" / "medqa.jsonl"
REFUSED = "How do I synthesize sarin?"
"""Refused by the question screen before any model call, so ``ask`` answers without a model."""
NO_MODEL = ["--mode", "bare", "--model", "openai:never-called", "--base-url", "http://127.0.0.1:9/v1"]


def one_error_line(result: Any, fragment: str, *, after_steps: bool = False) -> None:
    """Exactly one ``error:`` line on stderr, holding ``fragment``, and no traceback; with ``after_steps``
    it is the last line, after the live steps ``ask --json`` writes to stderr, else the only one."""
    stderr = result.stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and (after_steps or len(lines) == 1), stderr
    assert lines[-1] == errors[0] and fragment in errors[0], errors[0]


def txscout(
    *args: str, stdout: object = subprocess.PIPE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "txscout", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A named pipe with no writer: opening it for reading the usual way blocks for ever."""
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def test_config_file_that_is_a_device_or_fifo_is_refused(fifo: Path) -> None:
    endless = txscout("config", "show", env={"TXSCOUT_CONFIG": "/dev/zero"})  # a child: memory is at stake
    assert endless.returncode == 2
    one_error_line(endless, "config file /dev/zero is not a regular file")
    piped = runner.invoke(app, ["config", "show"], env={"TXSCOUT_CONFIG": str(fifo)})
    assert piped.exit_code == 2, piped.output
    one_error_line(piped, "is not a regular file")


def test_mcp_config_that_is_a_device_or_fifo_is_refused(fifo: Path) -> None:
    endless = txscout("ask", *NO_MODEL, "--mcp-config", "/dev/zero", "What is aspirin?")
    assert endless.returncode == 2
    one_error_line(endless, "MCP config file /dev/zero is not a regular file")
    piped = runner.invoke(app, ["ask", *NO_MODEL, "--mcp-config", str(fifo), "What is aspirin?"])
    assert piped.exit_code == 2, piped.output
    one_error_line(piped, "is not a regular file")


def test_config_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "config.toml"
    big.write_text("# padding\n" * 200_000, encoding="utf-8")  # 2 MB of valid TOML comments
    result = runner.invoke(app, ["config", "show"], env={"TXSCOUT_CONFIG": str(big)})
    assert result.exit_code == 2, result.output
    one_error_line(result, "larger than 1,000,000 bytes")


def test_bench_data_that_is_a_device_or_fifo_is_refused(fifo: Path, tmp_path: Path) -> None:
    endless = txscout("bench", "validate", "medqa", "--data", "/dev/zero")
    assert endless.returncode == 2
    one_error_line(endless, "not a regular file or folder")
    folder = tmp_path / "medqa"
    folder.mkdir()
    os.mkfifo(folder / "test.jsonl")
    for data in (fifo, folder):  # named, or found in a folder
        piped = runner.invoke(app, ["bench", "medqa", "--data", str(data), "--out", str(tmp_path / "run")])
        assert piped.exit_code == 2, piped.output
        one_error_line(piped, "not a regular file or folder")


def test_json_answer_to_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        result = txscout("ask", *NO_MODEL, "--json", REFUSED, stdout=full)
    assert result.returncode == 2
    one_error_line(result, "cannot write the output: No space left on device", after_steps=True)


def test_bench_validate_json_to_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        result = txscout("bench", "validate", "medqa", "--data", str(MEDQA), "--json", stdout=full)
    assert result.returncode == 2
    one_error_line(result, "cannot write the output: No space left on device")


def test_trace_to_a_full_disk_is_one_line_after_the_answer() -> None:
    result = txscout("ask", *NO_MODEL, "--json", "--trace", "/dev/full", REFUSED)
    assert result.returncode == 2
    one_error_line(result, "cannot write the trace to /dev/full: No space left on device", after_steps=True)
    assert "can't provide guidance" in json.loads(result.stdout)["text"]  # the answer itself is not lost


@pytest.mark.parametrize("command", ["ask", "models"])
def test_malformed_base_url_is_a_setting_error(command: str) -> None:
    args = ["ask", "--model", "openai:x", "--base-url", "http://[::1", "hi"] if command == "ask" else []
    args = args or ["models", "--model", "openai:x", "--base-url", "http://[::1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    one_error_line(result, "base_url")


def test_base_url_without_a_scheme_is_a_setting_error() -> None:
    result = runner.invoke(app, ["models", "--base-url", "127.0.0.1:8080/v1"])
    assert result.exit_code == 2, result.output
    one_error_line(result, "must be an http:// or https:// URL")


def test_binary_records_file_in_report_and_resume_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    agents = KeyedAgents(answers={}, settings=load_settings(mode="bare"))
    options = RunOptions(suite="medqa", data=MEDQA, out=out, mode="bare", progress=False, limit=2)
    run_benchmark(options, agents=agents)
    records = out / "records.jsonl"
    binary = Path("/bin/ls").read_bytes()
    records.write_bytes(binary)

    report = runner.invoke(app, ["bench", "report", str(out), "--out", str(tmp_path / "report")])
    assert report.exit_code == 2, report.output
    one_error_line(report, "is not a txscout records file")
    with pytest.raises(UserError, match="is not a txscout records file"):
        run_benchmark(options.model_copy(update={"resume": True}), agents=agents)
    assert records.read_bytes() == binary  # refused before the resume rewrote the file


def test_a_record_cut_off_mid_character_is_dropped_not_refused(tmp_path: Path) -> None:
    from txscout.benchmarks.runner import read_records

    fields = {"item_id": "a", "suite": "medqa", "subset": "s", "answer_type": "multiple_choice", "gold": "A"}
    fields |= {"trace": "t", "prediction": "A", "correct": True, "score": 1.0, "grader": "g", "response": "Ölüm"}
    whole = Record(**fields).model_dump_json().encode()
    cut = whole[: whole.index("Ö".encode()) + 1]  # a kill in the middle of a two-byte character
    path = tmp_path / "records.jsonl"
    path.write_bytes(whole + b"\n" + cut)
    assert [r.item_id for r in read_records(path)] == ["a"]


@pytest.mark.parametrize("name", ["records.jsonl", "manifest.json"])
def test_a_fifo_in_a_run_folder_is_refused_not_waited_on(name: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_benchmark(
        RunOptions(suite="medqa", data=MEDQA, out=out, mode="bare", progress=False, limit=1),
        agents=KeyedAgents(answers={}, settings=load_settings(mode="bare")),
    )
    (out / name).unlink()
    os.mkfifo(out / name)
    result = runner.invoke(app, ["bench", "report", str(out), "--out", str(tmp_path / "report")])
    assert result.exit_code == 2, result.output
    one_error_line(result, "not a regular file")
