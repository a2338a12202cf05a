"""How the MCP server is reached: stdio (what desktop hosts start) or streamable HTTP on HOST:PORT."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
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
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette

HTTP_PATH = "/mcp"


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_LOOPBACK_NAMES = {"127.0.0.1": ["127.0.0.1", "localhost"], "::1": ["[::1]", "localhost"]}
_LOOPBACK_NAMES["localhost"] = _LOOPBACK_NAMES["127.0.0.1"]  # bound as AF_INET: localhost is 127.0.0.1 here


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as given to ``--http``, checked whole before anything is
    printed or bound: an IPv6 address in brackets, an IPv4 address or a host name, and a port."""
    usage = f"--http wants HOST:PORT, e.g. 127.0.0.1:8765 or [::1]:8765 (got {address!r})"
    if address.startswith("["):
        host, sep, port = address[1:].partition("]:")
        try:
            valid = bool(sep) and ipaddress.IPv6Address(host) is not None
        except ValueError:
            valid = False
    else:
        host, _, port = address.rpartition(":")
        valid = bool(_HOSTNAME.match(host))
        if ":" in host:
            usage += "; put an IPv6 address in brackets"
    if not valid or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(usage)
    return host, int(port)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def url_of(host: str, port: int) -> str:
    return f"http://{_bracketed(host)}:{port}{HTTP_PATH}"


def own_hosts(host: str, port: int) -> list[str]:
    """The ``Host`` headers that name this server, bound at ``host``: the bound address as given, plus
    ``localhost`` for a loopback address; for a wildcard bind (0.0.0.0, ::), loopback, this machine's
    host name and the addresses it resolves to. Any other name is a DNS name an attacker pointed here (rebinding),
    or an address this socket does not serve. Each comes with the port, and without it on port 80."""
    names = _LOOPBACK_NAMES.get(host.lower())
    if names is None and host in ("0.0.0.0", "::"):
        machine = socket.gethostname().lower()
        try:
            resolved = {str(info[4][0]).split("%")[0] for info in socket.getaddrinfo(machine, None)}
        except OSError:
            resolved = set()
        loopback = ["127.0.0.1", *(["::1"] if host == "::" else [])]
        names = [_bracketed(name) for name in sorted({host, "localhost", machine, *loopback, *resolved})]
    if names is None:
        names = [_bracketed(host.lower())]
    return [f"{name}:{port}" for name in names] + (names if port == 80 else [])


def security_settings(host: str, port: int) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding guard for a server bound at ``host``: a request naming another host is
    refused with 421, and one sent by a web page from another origin with 403 (a request without an
    ``Origin``, from a program rather than a browser, passes)."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = own_hosts(host, port)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"{scheme}://{name}" for name in hosts for scheme in ("http", "https")],
    )


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


def http_app(server: Server[Any, Any], host: str, port: int) -> Starlette:
    """Streamable HTTP at ``/mcp``, answering only requests that name this server (:func:`security_settings`)."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
    from starlette.applications import Starlette
    from starlette.routing import Route

    manager = StreamableHTTPSessionManager(app=server, security_settings=security_settings(host, port))

    async def whole_requests(scope: Any, receive: Any, send: Any) -> None:
        """Hand the SDK only requests whose body arrived whole: a client that hangs up halfway has
        nobody left to answer, and the SDK would log its disconnect as a server error. Behind the
        SDK's own body-size limit, so no more than that is ever held."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await manager.handle_request(scope, receive, send)
            return
        parts: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        whole = [{"type": "http.request", "body": b"".join(parts), "more_body": False}]

        async def replay() -> Any:
            return whole.pop() if whole else await receive()

        await manager.handle_request(scope, replay, send)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    # An ASGI app object (not a function), so the route hands it every method of /mcp unchanged.
    endpoint = RequestBodyLimitMiddleware(whole_requests, DEFAULT_MAX_REQUEST_BODY_SIZE)
    return Starlette(routes=[Route(HTTP_PATH, endpoint=endpoint)], lifespan=lifespan)


def http_server(server: Server[Any, Any], host: str, port: int) -> uvicorn.Server:
    import uvicorn

    # log_config=None: uvicorn's loggers keep the one-line handler the command line gave them.
    app = http_app(server, host, port)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="on")
    return uvicorn.Server(config)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here rather than by uvicorn, so a taken port or unknown host is one
    line (before the start-up line claims an address), not a log and exit 1."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot serve MCP on {_bracketed(host)}:{port}: {exc.strerror or exc}") from None
    return sock


def serve_http(server: Server[Any, Any], sock: socket.socket, host: str, port: int) -> None:
    http_server(server, host, port).run(sockets=[sock])
