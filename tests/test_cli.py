"""The CLI through typer's runner: bad input exits 2 with one line, and the happy paths print what they say."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_servers import FakeServer, Reply
from tests.scripted import script
from txscout.agent.api import Agent
from txscout.cli import app
from txscout.core.events import TraceWriter
from txscout.core.settings import load_settings

runner = CliRunner()


def invoke(*args: str) -> object:
    return runner.invoke(app, list(args))


def assert_user_error(result: object, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "txscout 0.1.0"


def test_empty_question() -> None:
    assert_user_error(invoke("ask", "   "), "question is empty")


def test_unknown_model_spec() -> None:
    assert_user_error(invoke("ask", "--model", "bogus:thing", "hi"), "'bogus:thing'")


def test_missing_gguf(tmp_path: Path) -> None:
    assert_user_error(invoke("ask", "--model", f"local:{tmp_path / 'nope.gguf'}", "hi"), "model file not found")


def test_file_that_is_not_a_model(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("definitely not weights")
    assert_user_error(invoke("ask", "--model", f"local:{fake}", "hi"), "not a GGUF model file")


def test_unreachable_endpoint_fails_the_run_with_one_line() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = invoke("ask", "--model", "openai:test-model", "--base-url", url, "--mode", "bare", "hi")
    assert result.exit_code == 4 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach the model endpoint" in lines[0], result.stderr


def test_malformed_config_file(isolated_settings: Path) -> None:
    (isolated_settings / "config.toml").write_text("model = [unclosed\n")
    assert_user_error(invoke("config", "show"), "is not valid TOML")


def test_unknown_config_key(isolated_settings: Path) -> None:
    (isolated_settings / "config.toml").write_text('modle = "local"\n')
    assert_user_error(invoke("config", "show"), "unknown keys: modle")


def test_config_precedence_and_masking(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated_settings / "config.toml").write_text('model = "local:smollm2"\nmax_steps = 9\n')
    assert load_settings().model == "local:smollm2"
    monkeypatch.setenv("TXSCOUT_MODEL", "openai:from-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    assert load_settings().model == "openai:from-env"
    assert load_settings(model="local:gemma3-270m").model == "local:gemma3-270m"
    result = invoke("config", "show", "--json")
    data = {s["key"]: s["value"] for group in json.loads(result.stdout)["groups"] for s in group["settings"]}
    assert data["model"] == "openai:from-env" and data["max_steps"] == 9
    assert data["api_key"] == "********" and "sk-very-secret" not in result.output


def test_invalid_setting_value() -> None:
    assert_user_error(invoke("ask", "--mode", "turbo", "hi"), "invalid setting mode")


def test_tools_call_bad_json() -> None:
    assert_user_error(invoke("tools", "call", "identify_molecule", "{query: aspirin}"), "not valid JSON")


def test_tools_call_unknown_tool() -> None:
    assert_user_error(invoke("tools", "call", "teleport", "{}"), "unknown tool 'teleport'")


def test_tools_list_and_call_json() -> None:
    listed = json.loads(invoke("tools", "list", "--json").stdout)
    names = {t["name"] for t in listed}
    assert {"identify_molecule", "molecule_properties", "pubmed_search", "memory_search"} <= names
    result = invoke("tools", "call", "identify_molecule", '{"molecule": "aspirin"}', "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["formula"] == "C9H8O4"


def test_network_tool_offline_is_clear_error() -> None:
    result = invoke("tools", "call", "pubmed_search", '{"query": "imatinib"}', "--offline")
    assert result.exit_code == 2 and "offline" in result.stderr.lower()


def test_trace_show_rerenders_saved_run(tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    writer = TraceWriter(trace)
    Agent(model=script("Thought: easy\nFinal Answer: forty-two"), tools=[], mode="react").run("q", on_event=writer)
    writer.close()
    result = invoke("trace", "show", str(trace))
    assert result.exit_code == 0 and "forty-two" in result.stdout and "warning" not in result.output


def test_trace_show_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "nonsense"}\n')
    assert_user_error(invoke("trace", "show", str(bad)), "bad.jsonl:1: not a txscout event")


def test_models_reports_each_embedded_model_and_a_dead_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the joined Gemma file would go
    url = f"http://127.0.0.1:{closed_port()}/v1"
    result = invoke("models", "--json", "--model", "openai:served", "--base-url", url)
    rows = {row["spec"]: row for row in json.loads(result.stdout)}
    assert rows["local:smollm2"]["status"] == rows["local:gemma3-270m"]["status"] == "loads"
    assert rows["openai:served"]["configured"] and rows["openai:served"]["status"].startswith("unreachable")
    # A check writes no model file: Gemma's chunks are described where they are, not joined.
    assert "4 chunks" in rows["local:gemma3-270m"]["detail"] and "on first use" in rows["local:gemma3-270m"]["detail"]
    assert not list(tmp_path.rglob("*")), list(tmp_path.rglob("*"))


def test_molecule_over_the_atom_limit_names_the_limit_and_never_reaches_pubchem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oversized = json.dumps({"molecule": "C" * 1001})
    with FakeServer(lambda seen: Reply(status=404)) as pubchem:
        monkeypatch.setenv("TXSCOUT_PUBCHEM_BASE_URL", pubchem.url)
        for network in ("--offline", "--online"):
            result = invoke("tools", "call", "identify_molecule", oversized, network)
            assert_user_error(result, "1,001 heavy atoms; the limit is 1,000")
        assert pubchem.seen == []


def test_tool_errors_name_the_tool_once() -> None:
    result = invoke("tools", "call", "read_url", '{"url": "http://127.0.0.1:9/"}')
    assert_user_error(result, "read_url: refusing to fetch")
    assert "read_url: read_url" not in result.stderr


def test_smiles_print_exactly() -> None:
    result = invoke("tools", "call", "identify_molecule", '{"molecule": "omeprazole"}')
    assert result.exit_code == 0
    assert "COc1ccc2nc(S(=O)Cc3ncc(C)c(OC)c3C)[nH]c2c1" in result.stdout
