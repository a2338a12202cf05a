"""MCP peers that misbehave cost one line, never a traceback: a stdio server in ``--mcp-config`` that
writes text that is not JSON-RPC is left out at once, saying so; a client that hangs up on
``txscout mcp --http`` halfway through its request leaves nothing in the server's log."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real_servers import mcp_over_http
from txscout.agent.mcp_tools import McpServers
from txscout.core.settings import load_settings
from txscout.mcp.server import TxscoutMcp
from txscout.mcp.transport import HTTP_PATH

NOISY = """
import sys
print("hello, I am not JSON-RPC", flush=True)
for line in sys.stdin:
    print("still not JSON: " + line.strip(), flush=True)
"""


@pytest.fixture
def noisy_config(tmp_path: Path) -> Path:
    script = tmp_path / "noisy.py"
    script.write_text(NOISY, encoding="utf-8")
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"noisy": {"command": sys.executable, "args": [str(script)]}}}))
    return config


def test_a_server_writing_non_json_is_left_out_with_its_first_line(noisy_config: Path) -> None:
    servers = McpServers(noisy_config, call_timeout_s=5, open_timeout_s=120)
    try:
        assert servers.tools == []
        assert servers.problems == [
            "MCP server 'noisy' left out: it writes text that is not MCP JSON-RPC to stdout: 'hello, I am not JSON-RPC'"
        ]
    finally:
        servers.close()


def test_the_cli_reports_it_in_one_line_without_a_traceback(noisy_config: Path) -> None:
    args = ["ask", "--mode", "react", "--model", "openai:never-called", "--base-url", "http://127.0.0.1:9/v1"]
    args += ["--json", "--mcp-config", str(noisy_config), "How do I synthesize sarin?"]  # refused before any model call
    done = subprocess.run(
        [sys.executable, "-m", "txscout", *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Failed to parse" not in done.stderr
    assert "✗ mcp: MCP server 'noisy' left out: it writes text that is not MCP JSON-RPC" in done.stderr
    assert json.loads(done.stdout)["status"] == "completed"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def mcp_logs() -> Iterator[Collect]:
    """Every warning the SDK logs, wherever the application routes its records."""
    handler = Collect()
    logger = logging.getLogger("mcp")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def http_port() -> Iterator[int]:
    service = TxscoutMcp(load_settings(offline=True), tools=[], agent_factory=lambda: pytest.fail("no ask here"))
    with mcp_over_http(service) as port:
        yield port


def test_a_client_hanging_up_mid_request_is_not_a_server_error(http_port: int, mcp_logs: Collect) -> None:
    head = (
        f"POST {HTTP_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{http_port}\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\nContent-Length: 500\r\n\r\n"
    )
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", http_port)) as client:
            client.sendall(head.encode() + b'{"jsonrpc": "2.0", "id": 1, ')  # 500 bytes announced, 29 sent
    deadline = time.monotonic() + 2  # the old server logged each within milliseconds
    while not mcp_logs.records and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.getMessage() for r in mcp_logs.records] == []


def test_library_log_records_print_as_one_masked_line(capsys: pytest.CaptureFixture[str]) -> None:
    from txscout.core.logs import one_line_logs

    logger = logging.getLogger("mcp.server.streamable_http")
    saved = (logging.getLogger("mcp").handlers, logging.getLogger("mcp").level, logging.getLogger("mcp").propagate)
    one_line_logs({"mcp": logging.WARNING})
    try:
        try:
            raise ValueError("peer sent\nBearer sk-proj-AbCdEfGhIjKlMnOpQrStUv\x1b]0;title\x07")
        except ValueError:
            logger.exception("Error handling POST request")
        logger.info("not shown")
    finally:
        mcp = logging.getLogger("mcp")
        mcp.handlers, mcp.propagate = saved[0], saved[2]
        mcp.setLevel(saved[1])
    err = capsys.readouterr().err
    assert err == (
        "error: mcp.server.streamable_http: Error handling POST request (ValueError: peer sent Bearer ********)\n"
    )
