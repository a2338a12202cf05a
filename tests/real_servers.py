"""Real counterparts started on 127.0.0.1 for integration tests: llama-cpp-python's OpenAI-compatible
server with the embedded SmolLM2 GGUF, a chroma server, txscout's own MCP server over HTTP, and a
socket that accepts and never answers.

Each server gets a free port, logs to a file (shown when it fails to start), and is stopped by its
owner: session fixtures in ``conftest.py`` for the shared ones, the test itself for those it kills.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from txscout.mcp.server import TxscoutMcp

LLAMA_CTX = 4096
"""Room for the text protocol's system prompt, the grounding observations and a short reply."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mcp_over_http(service: TxscoutMcp, host: str = "127.0.0.1") -> Iterator[int]:
    """txscout's MCP server (``service``) over streamable HTTP in this process, on a free
    port of ``host``, until the block ends; yields the port."""
    from txscout.mcp.server import build_server
    from txscout.mcp.transport import http_server

    port = free_port()
    server = http_server(build_server(service), host, port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Process:
    """A server process in its own session, ready once ``ready_path`` answers 200."""

    def __init__(self, argv: list[str], *, port: int, ready_path: str, log: Path, env: dict[str, str] | None = None):
        self.port = port
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        self._wait_ready(ready_path)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, path: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.origin + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"server {self.proc.args[:4]} did not start on port {self.port}:\n{tail}")

    def kill(self) -> None:
        """Stop at once, as a crash would: no shutdown handshake with open connections."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()


def start_llama_server(tmp: Path, *, chat_format: str = "chatml-function-calling", alias: str = "smollm2") -> Process:
    """llama-cpp-python's own server with SmolLM2: one thread writes replies, so it shares the machine
    politely; prompts, read in batches while the test waits for the reply, use every core."""
    from txscout.agent.backends.local_model import usable_cores
    from txscout.agent.backends.models import local_model_path

    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(local_model_path("smollm2")),
        "--model_alias",
        alias,
        "--chat_format",
        chat_format,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(LLAMA_CTX),
        "--n_threads",
        "1",
        "--n_threads_batch",
        str(usable_cores()),
        "--verbose",
        "false",
    ]
    return Process(argv, port=port, ready_path="/v1/models", log=tmp / f"llama-{port}.log")


def start_chroma_server(tmp: Path) -> Process:
    """``chroma run`` on a fresh folder; anonymised telemetry off, as everywhere in the tests."""
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    argv = [str(chroma), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp / "chroma-data")]
    return Process(
        argv,
        port=port,
        ready_path="/api/v2/heartbeat",
        log=tmp / f"chroma-{port}.log",
        env={"ANONYMIZED_TELEMETRY": "False"},
    )


class StallServer:
    """Accepts TCP connections and never answers: a server hung mid-request."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _accept(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = self.sock.accept()
                self.accepted.append(conn)

    def __enter__(self) -> StallServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()
