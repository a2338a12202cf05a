"""An endpoint that echoes the API key back in its error ("Incorrect API key provided: Bearer sk-...")
never gets it shown or stored: not on the terminal, not in a trace, not in a benchmark's records or
traces, not in the library's exception or events.

The endpoint is a local fake OpenAI-compatible server (a proxy in front of a provider, say) that rejects
the request with HTTP 400 quoting the Authorization header it was sent and the bare key, as careless
servers do; txscout quotes an endpoint's own explanation of a rejected request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_servers import FakeServer, Reply, Seen
from txscout.agent.api import Agent
from txscout.benchmarks.runner import RunOptions, run_benchmark
from txscout.cli import app
from txscout.core.errors import ModelUnavailable
from txscout.core.events import ErrorRaised, Event

KEY = "hunter2-configured-key-0042"  # no provider shape: only the configured value can find it
STRANGER = "sk-proj-AbCdEfGhIjKlMnOpQrStUv"  # a key in a provider's shape txscout was never given
MEDQA = Path(__file__).parent / "fixtures" / "bench" / "medqa.jsonl"


def _unauthorized(seen: Seen) -> Reply:
    message = f"Incorrect API key provided: Bearer {KEY}. Also tried {KEY} and {STRANGER}."
    body = {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}
    return Reply(status=400, body=json.dumps(body).encode(), content_type="application/json")


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    with FakeServer(_unauthorized) as server:
        monkeypatch.setenv("TXSCOUT_API_KEY", KEY)
        monkeypatch.setenv("TXSCOUT_BASE_URL", f"{server.url}/v1")
        monkeypatch.setenv("TXSCOUT_REQUEST_RETRIES", "0")
        yield server


def _clean(text: str) -> None:
    assert KEY not in text and STRANGER not in text, text
    assert "hunter2" not in text and "AbCdEfGh" not in text


def test_library_error_and_events_are_masked(endpoint: FakeServer) -> None:
    events: list[Event] = []
    agent = Agent(model="openai:gpt-test", tools=[], mode="bare", store=False)
    with pytest.raises(ModelUnavailable) as failed:
        agent.run("What is aspirin?", on_event=events.append)
    assert endpoint.seen  # the endpoint was really asked, and answered with the key
    message = str(failed.value)
    _clean(message)
    assert "Incorrect API key provided: Bearer ********" in message
    errors = [e for e in events if isinstance(e, ErrorRaised)]
    assert errors and all(KEY not in e.message and STRANGER not in e.message for e in errors)


def test_cli_error_line_and_trace_are_masked(endpoint: FakeServer, tmp_path: Path) -> None:
    trace = tmp_path / "run.jsonl"
    args = ["ask", "--model", "openai:gpt-test", "--mode", "bare", "--trace", str(trace), "What is aspirin?"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 4, result.output  # the model failed mid-run (README: exit codes)
    assert "Traceback" not in result.output and "Incorrect API key provided" in result.stderr
    _clean(result.stdout + result.stderr)
    written = trace.read_text(encoding="utf-8")
    assert '"type":"error"' in written.replace(" ", "") and "Incorrect API key provided" in written
    _clean(written)


def test_benchmark_records_and_traces_are_masked(endpoint: FakeServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    agent = Agent(model="openai:gpt-test", tools=[], mode="bare", store=False)
    options = RunOptions(suite="medqa", data=MEDQA, out=out, mode="bare", progress=False, limit=1)
    with pytest.raises(ModelUnavailable) as stopped:  # a model that cannot answer stops the run
        run_benchmark(options, agent=agent)
    _clean(str(stopped.value))
    written = {p.name: p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file()}
    assert any("Incorrect API key provided" in text for name, text in written.items() if name != "records.jsonl")
    for text in written.values():
        _clean(text)


async def test_tui_timeline_and_saved_session_are_masked(endpoint: FakeServer, tmp_path: Path) -> None:
    from tests.tui_fakes import until
    from txscout.tui.app import TxscoutApp
    from txscout.tui.sessions import SessionStore
    from txscout.tui.widgets.answer import AnswerPane

    sessions = tmp_path / "sessions"
    app = TxscoutApp(
        agent_factory=lambda: Agent(model="openai:gpt-test", tools=[], mode="bare", store=False),
        store=SessionStore(sessions),
    )
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.agent_ready)
        app.question_input.value = "What is aspirin?"
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.session.entries) and not app.running)
        shown = app.query_one(AnswerPane).markdown
    saved = "".join(p.read_text(encoding="utf-8") for p in sessions.rglob("*") if p.is_file())
    assert "Incorrect API key provided" in shown and "Incorrect API key provided" in saved
    _clean(shown)
    _clean(saved)
