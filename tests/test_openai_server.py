"""``openai:MODEL`` against real servers on 127.0.0.1: llama-cpp-python's own OpenAI-compatible server with
the embedded SmolLM2 GGUF, one that is killed mid-run, one that stalls, and one that answers 429 or 503.

The llama server is shared by the session (``llama_server`` in conftest); runs are kept short with
small step and reply-token limits, because one thread generates every reply.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_servers import FakeServer, Reply, Seen
from tests.real_servers import StallServer, start_llama_server
from txscout.agent.api import Agent
from txscout.agent.backends.endpoint import EndpointChatModel
from txscout.cli import app
from txscout.core.errors import ModelUnavailable
from txscout.core.events import ErrorRaised, RunFinished, UncertaintyRound

QUESTION = "What is the molecular formula of aspirin?"
runner = CliRunner()


def _text_agent(base_url: str, **overrides: object) -> Agent:
    """The server's grammar on, so the text protocol runs as it does for the embedded model."""
    settings = {"offline": True, "max_steps": 2, "max_reply_tokens": 160, "endpoint_grammar": True, **overrides}
    return Agent(model="openai:smollm2", base_url=base_url, store=False, **settings)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_tool_call_turns_go_out_as_every_server_accepts_them(llama_server) -> None:
    """The reported failure: a tool-call turn went out with ``"content": null`` and llama-cpp-python's
    server answered 500. ``ChatOpenAI`` still sends null here; ``EndpointChatModel`` sends an empty string."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_openai import ChatOpenAI

    call = {"name": "identify_molecule", "args": {"molecule": "aspirin"}, "id": "call-1"}
    turns = [
        HumanMessage(QUESTION),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage("[1] Aspirin: C9H8O4", tool_call_id="call-1"),
    ]
    options = {"model": "smollm2", "base_url": f"{llama_server.origin}/v1", "api_key": "none", "max_tokens": 8}
    with pytest.raises(Exception, match="500"):
        ChatOpenAI(**options, max_retries=0).invoke(turns)
    reply = EndpointChatModel(**options).invoke(turns)
    assert isinstance(reply, AIMessage)


def test_text_protocol_with_server_grammar_answers_with_citations(llama_server) -> None:
    """With ``endpoint_grammar`` the llama.cpp server constrains replies as the embedded model is
    constrained (the text protocol, chosen on its own), so the tiny model copies the grounded value and
    cites it."""
    result = runner.invoke(
        app,
        [
            "ask",
            *("--offline", "--mode", "react", "--model", "openai:smollm2", "--max-steps", "2", "--json"),
            *("--base-url", f"{llama_server.origin}/v1", QUESTION),
        ],
        env={"TXSCOUT_ENDPOINT_GRAMMAR": "true", "TXSCOUT_MAX_REPLY_TOKENS": "96"},
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["status"] == "completed"
    assert "C9H8O4" in answer["text"]
    assert answer["citations"], answer["text"]
    assert {c["locator"] for c in answer["citations"]} <= {
        "computed by identify_molecule",
        "computed by molecule_properties",
    }
    assert f"[{answer['citations'][0]['ref']}]" in answer["text"]


def _native_ask(origin: str, trace: Path, question: str) -> dict[str, object]:
    """``txscout ask`` with native tool calling and the server's grammar, as a user would configure it."""
    result = runner.invoke(
        app,
        [
            "ask",
            *("--offline", "--mode", "react", "--model", "openai:smollm2", "--max-steps", "2", "--json"),
            *("--base-url", f"{origin}/v1", "--trace", str(trace), question),
        ],
        env={"TXSCOUT_ENDPOINT_GRAMMAR": "true", "TXSCOUT_TOOL_PROTOCOL": "native", "TXSCOUT_MAX_REPLY_TOKENS": "48"},
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert events[0]["type"] == "run_started" and events[0]["protocol"] == "native"
    return json.loads(result.stdout)


def test_native_tool_calling_answers_a_settled_property_with_its_citation(llama_server, tmp_path: Path) -> None:
    """Native tool calling (``chatml-function-calling``) to a cited answer: grounding's calls go out as
    tool-call turns, and the answer step is constrained to the value the tools returned, with its source."""
    answer = _native_ask(llama_server.origin, tmp_path / "native.jsonl", QUESTION)
    assert answer["status"] == "completed"
    assert answer["text"].startswith("C9H8O4 [1]"), answer["text"]
    assert answer["citations"][0]["locator"] == "computed by identify_molecule"


def test_native_tool_calling_copies_cited_values_from_grounding(llama_server, tmp_path: Path) -> None:
    """No asked property settles this one: the answer opens with values the observations state, each
    citing the observation it was copied from."""
    answer = _native_ask(llama_server.origin, tmp_path / "open.jsonl", "Tell me about aspirin.")
    assert answer["status"] == "completed" and answer["citations"], answer["text"]
    by_ref = {c["ref"]: c["locator"] for c in answer["citations"]}
    assert set(by_ref.values()) <= {"computed by identify_molecule", "computed by molecule_properties"}
    assert re.match(r"^[^\n\[]+ \[\d\]", answer["text"]), answer["text"]


def test_full_mode_gets_every_sample_from_a_server_that_ignores_n(llama_server) -> None:
    """llama-cpp-python answers one choice whatever ``n`` says; the samples still number ``samples``."""
    answer = _text_agent(
        f"{llama_server.origin}/v1",
        mode="full",
        samples=3,
        search_rounds=0,
        critique_rounds=0,
        max_reply_tokens=64,
    ).run("How many carbon atoms does aspirin have?")  # a count no tool states, so it is sampled
    rounds = [e for e in answer.events if isinstance(e, UncertaintyRound)]
    assert answer.status == "completed", answer.reason
    assert rounds and len(rounds[0].samples) == 3
    assert answer.confidence is not None


def test_server_killed_mid_run_fails_the_run_with_one_line(tmp_path: Path) -> None:
    server = start_llama_server(tmp_path)
    trace = tmp_path / "killed.jsonl"
    txscout = Path(sys.executable).with_name("txscout")
    proc = subprocess.Popen(
        [
            str(txscout),
            "ask",
            *("--offline", "--mode", "react", "--model", "openai:smollm2", "--max-steps", "2"),
            *("--base-url", f"{server.origin}/v1", "--trace", str(trace)),
            QUESTION,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TXSCOUT_REQUEST_RETRIES": "1", "TXSCOUT_MAX_REPLY_TOKENS": "64"},
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and '"tool_result"' not in (trace.read_text() if trace.exists() else ""):
            time.sleep(0.05)
        server.kill()
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
    assert proc.returncode == 4, stderr
    lines = _error_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert f"127.0.0.1:{server.port}" in lines[0]
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "failed"
    assert any(e["type"] == "error" and e["kind"] == "model" for e in events)


def test_stalled_server_times_out_after_the_configured_timeout() -> None:
    """Each attempt waits ``request_timeout_s`` and no longer; the retry waits as long again."""
    with StallServer() as stall:
        agent = Agent(
            model="openai:stalled",
            base_url=stall.url,
            tools=[],
            store=False,
            mode="bare",
            request_timeout_s=1,
            request_retries=1,
        )
        events: list[object] = []
        started = time.monotonic()
        with pytest.raises(ModelUnavailable) as failure:
            agent.run("hello?", on_event=events.append)
        elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 8.0
    assert len(stall.accepted) == 2
    assert "did not answer within 1 s (2 attempts)" in str(failure.value)
    assert any(isinstance(e, ErrorRaised) and e.kind == "model" for e in events)
    assert isinstance(events[-1], RunFinished) and events[-1].status == "failed"


def _completion(seen: Seen, text: str) -> Reply:
    """A chat completion answering ``text``: one JSON body, or server-sent events when the request
    asked to stream (as txscout's model calls do)."""
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    if json.loads(seen.body or b"{}").get("stream"):
        chunks = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage},
        ]
        events = b"".join(
            b"data: "
            + json.dumps(
                {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "scripted", **c}
            ).encode()
            + b"\n\n"
            for c in chunks
        )
        return Reply(status=200, body=events + b"data: [DONE]\n\n", content_type="text/event-stream")
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage,
    }
    return Reply(status=200, body=json.dumps(body).encode(), content_type="application/json")


def _error(status: int, message: str) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
    return Reply(status=status, body=body, content_type="application/json", headers={"retry-after-ms": "20"})


def test_rate_limited_requests_are_retried_until_they_succeed() -> None:
    with FakeServer(lambda seen: _completion(seen, "Final Answer: 42")) as server:
        server.script("/v1/chat/completions", _error(429, "slow down"), _error(429, "slow down"))
        agent = Agent(
            model="openai:scripted", base_url=f"{server.url}/v1", tools=[], store=False, mode="bare", request_retries=2
        )
        answer = agent.run("What is six times seven?")
    assert answer.status == "completed" and "42" in answer.text
    assert len(server.requests_to("/v1/chat/completions")) == 3


@pytest.mark.parametrize(
    ("status", "said"), [(429, "rate limiting requests (HTTP 429, 3 attempts)"), (503, "HTTP 503")]
)
def test_persistent_429_or_5xx_ends_in_one_clear_line_after_bounded_retries(status: int, said: str) -> None:
    problem = "backend overloaded\nTraceback (most recent call last): ..."
    body = json.dumps({"error": {"message": problem}}).encode()
    server_error = Reply(status=status, body=body, content_type="application/json")
    with FakeServer(lambda _seen: server_error) as server:
        started = time.monotonic()
        result = runner.invoke(
            app,
            ["ask", "--mode", "bare", "--model", "openai:scripted", "--base-url", f"{server.url}/v1", "hello?"],
            env={"TXSCOUT_REQUEST_RETRIES": "2", "TXSCOUT_OFFLINE": "true"},
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 4, result.output
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert said in lines[0] and "backend overloaded" in lines[0] and "Traceback" not in lines[0]
    assert len(server.requests_to("/v1/chat/completions")) == 3
    assert elapsed >= 1.0  # two backoffs: 0.5 s and 1 s, less at most a quarter of jitter


def test_models_lists_what_the_endpoint_serves(llama_server) -> None:
    url = f"{llama_server.origin}/v1"
    served = runner.invoke(app, ["models", "--json", "--model", "openai:smollm2", "--base-url", url])
    rows = {row["spec"]: row for row in json.loads(served.stdout)}
    assert rows["openai:smollm2"]["configured"] and rows["openai:smollm2"]["ok"]
    assert rows["openai:smollm2"]["status"] == "reachable; serves smollm2"
    assert rows["local:smollm2"]["ok"] and rows["local:smollm2"]["detail"].endswith("MB)")

    missing = runner.invoke(app, ["models", "--json", "--model", "openai:gpt-9", "--base-url", url])
    row = next(r for r in json.loads(missing.stdout) if r["configured"])
    assert not row["ok"] and "does not list 'gpt-9'; it serves smollm2" in row["status"]


def test_a_provider_whose_package_is_missing_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)  # as if never installed
    result = runner.invoke(app, ["ask", "--offline", "--model", "ollama:qwen2.5:7b", "hello?"])
    assert result.exit_code == 2
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "pip install langchain-ollama" in lines[0], result.stderr
    listed = runner.invoke(app, ["models", "--json", "--model", "ollama:qwen2.5:7b"])
    row = next(r for r in json.loads(listed.stdout) if r["configured"])
    assert not row["ok"] and "pip install langchain-ollama" in row["status"]


def test_an_unknown_provider_is_a_user_error() -> None:
    result = runner.invoke(app, ["ask", "--offline", "--model", "nosuchprovider:model-1", "hello?"])
    assert result.exit_code == 2 and "unknown model provider" in result.stderr
