"""How the MCP server is reached: stdio (what desktop hosts start) or streamable HTTP on HOST:PORT."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from io import TextIOWrapper
from typing import TYPE_CHECKING, Any

import anyio

from txscout.core.errors import UserError

if TYPE_CHECKING:
    import uvicorn
    from mcp.server.lowlevel import Server
    from starlette.applications import Starlette

HTTP_PATH = "/mcp"


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as given to ``--http``."""
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--http wants HOST:PORT, e.g. 127.0.0.1:8765 (got {address!r})")
    return host, int(port)


@contextlib.contextmanager
def _protocol_stdout() -> Any:
    """The real stdout for the protocol alone: everything else written to fd 1 (a library's print, a
    C extension's log line) goes to stderr, where it cannot corrupt the JSON-RPC stream."""
    protocol_fd = os.dup(1)
    saved_stdout = sys.stdout
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield anyio.wrap_file(TextIOWrapper(os.fdopen(protocol_fd, "wb", buffering=0), encoding="utf-8"))
    finally:
        sys.stdout = saved_stdout


def serve_stdio(server: Server[Any, Any]) -> None:
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        with _protocol_stdout() as stdout:
            async with stdio_server(stdout=stdout) as (read, write):
                await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def http_app(server: Server[Any, Any], host: str) -> Starlette:
    """Streamable HTTP at ``/mcp``; on a loopback host, requests naming another host are refused
    (DNS rebinding), as the SDK's own servers do."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette
    from starlette.routing import Route

    security = None
    if host in ("127.0.0.1", "localhost", "::1"):
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    manager = StreamableHTTPSessionManager(app=server, security_settings=security)

    class Endpoint:
        """An ASGI app (not a function), so the route hands it every method of ``/mcp`` unchanged."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await manager.handle_request(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(routes=[Route(HTTP_PATH, endpoint=Endpoint())], lifespan=lifespan)


def http_server(server: Server[Any, Any], host: str, port: int) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(http_app(server, host), host=host, port=port, log_level="warning", lifespan="on")
    return uvicorn.Server(config)


def serve_http(server: Server[Any, Any], host: str, port: int) -> None:
    """Bound here rather than by uvicorn, so a taken port or unknown host is one line, not a log and exit 1."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot serve MCP on {host}:{port}: {exc.strerror or exc}") from None
    http_server(server, host, port).run(sockets=[sock])
