"""Local HTTP servers for literature tests: a fake NCBI E-utilities and a small website.

Both run ``http.server`` in a thread on 127.0.0.1 with a free port, so tests exercise the real httpx
stack (sockets, timeouts, redirects, streaming) without leaving the machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterator[bytes] = b""
    content_type: str = "text/xml; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, list[str]]
    body: bytes = b""


class FakeServer:
    """Answers each path from a queue of scripted replies, then from a default; records every request."""

    def __init__(self, default: Callable[[Seen], Reply]) -> None:
        self.default = default
        self.queues: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.bytes_sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                body = b""
                if self.command == "POST":
                    body = self.rfile.read(int(self.headers.get("content-length", 0)))
                    params |= parse_qs(body.decode())
                seen = Seen(self.command, parts.path, params, body)
                server.seen.append(seen)
                queue = server.queues.get(parts.path)
                reply = queue.pop(0) if queue else server.default(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    if isinstance(reply.body, bytes):
                        self.send_header("Content-Length", str(len(reply.body)))
                        self.end_headers()
                        self.wfile.write(reply.body)
                        server.bytes_sent += len(reply.body)
                    else:
                        self.end_headers()
                        for chunk in reply.body:
                            self.wfile.write(chunk)
                            server.bytes_sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        self.queues.setdefault(path, []).extend(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def eutils_default(seen: Seen) -> Reply:
    """NCBI-format answers from the fixtures, chosen by endpoint as the real service would."""
    name = seen.path.rsplit("/", 1)[-1]
    fixture = {
        "esearch.fcgi": "esearch.xml",
        "efetch.fcgi": "efetch_batch.xml",
        "esummary.fcgi": "esummary.xml",
    }.get(name)
    if fixture is None:
        return Reply(status=404, body=b"not found", content_type="text/plain")
    return Reply(body=(FIXTURES / "pubmed" / fixture).read_bytes())
