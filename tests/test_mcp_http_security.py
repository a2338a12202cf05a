"""``txscout mcp --http`` answers only requests that name it: a ``Host`` other than the bound address's own
names gets 421 (DNS rebinding), a browser ``Origin`` from elsewhere gets 403. The address is checked,
and bound, before the start-up line names it. The server is the real one, on a free local port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from tests.real_servers import mcp_over_http
from txscout.cli import app
from txscout.core.errors import UserError
from txscout.core.settings import load_settings
from txscout.mcp.server import TxscoutMcp
from txscout.mcp.transport import HTTP_PATH, own_hosts, parse_address

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}


def _serve(host: str) -> Iterator[tuple[str, int]]:
    service = TxscoutMcp(load_settings(offline=True), tools=[], agent_factory=lambda: pytest.fail("no ask here"))
    with mcp_over_http(service, host) as port:
        yield host, port


@pytest.fixture(scope="module")
def loopback_v4() -> Iterator[tuple[str, int]]:
    yield from _serve("127.0.0.1")


def _post(host: str, port: int, *, host_header: str, origin: str | None = None) -> int:
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}{HTTP_PATH}"
    headers = {"Host": host_header, "Accept": "application/json, text/event-stream"}
    if origin is not None:
        headers["Origin"] = origin
    return httpx.post(url, json=INITIALIZE, headers=headers, timeout=10).status_code


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_own_names_with_the_port_are_served(loopback_v4: tuple[str, int], name: str) -> None:
    host, port = loopback_v4
    assert _post(host, port, host_header=f"{name}:{port}") == 200


@pytest.mark.parametrize(
    "foreign",
    [
        "attacker.example:{port}",
        "localhost.attacker.example:{port}",
        "127.0.0.2:{port}",
        "0.0.0.0:{port}",
        "[::]:{port}",
        "[::1]:{port}",  # a loopback name, but not of this IPv4 socket
        "[::ffff:127.0.0.1]:{port}",
        "127.0.0.1:1",  # another port
        "127.0.0.1",  # no port: a name on port 80 is another server
    ],
)
def test_foreign_host_headers_get_421(loopback_v4: tuple[str, int], foreign: str) -> None:
    host, port = loopback_v4
    assert _post(host, port, host_header=foreign.format(port=port)) == 421


@pytest.mark.parametrize("origin", ["http://attacker.example", "http://127.0.0.2:{port}", "null", "http://localhost:1"])
def test_foreign_origins_get_403(loopback_v4: tuple[str, int], origin: str) -> None:
    host, port = loopback_v4
    assert _post(host, port, host_header=f"127.0.0.1:{port}", origin=origin.format(port=port)) == 403


def test_own_origin_is_served(loopback_v4: tuple[str, int]) -> None:
    host, port = loopback_v4
    assert _post(host, port, host_header=f"localhost:{port}", origin=f"http://localhost:{port}") == 200


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback_bind_serves_its_own_names_only() -> None:
    for host, port in _serve("::1"):
        assert _post(host, port, host_header=f"[::1]:{port}") == 200
        assert _post(host, port, host_header=f"localhost:{port}") == 200
        assert _post(host, port, host_header=f"127.0.0.1:{port}") == 421
        assert _post(host, port, host_header=f"[::ffff:127.0.0.1]:{port}") == 421


@pytest.mark.parametrize("bad", ["[::1", "::1:8765", "[::1]", "[nonsense]:80", "host name:80", "127.0.0.1:0", ":8765"])
def test_malformed_addresses_are_refused(bad: str) -> None:
    with pytest.raises(UserError, match="--http wants HOST:PORT"):
        parse_address(bad)


@pytest.mark.parametrize(("given", "parsed"), [("[::1]:8765", ("::1", 8765)), ("localhost:80", ("localhost", 80))])
def test_well_formed_addresses_parse(given: str, parsed: tuple[str, int]) -> None:
    assert parse_address(given) == parsed


def test_a_bad_address_prints_no_start_up_line() -> None:
    result = CliRunner().invoke(app, ["mcp", "--http", "[::1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --http wants HOST:PORT") and result.stderr.count("\n") == 1


def test_a_taken_port_prints_no_start_up_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["mcp", "--offline", "--http", f"127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot serve MCP on 127.0.0.1:{port}") and result.stderr.count("\n") == 1


def test_a_wildcard_bind_answers_to_this_machine_only() -> None:
    hosts = own_hosts("0.0.0.0", 8765)
    assert {"0.0.0.0:8765", "localhost:8765", "127.0.0.1:8765", f"{socket.gethostname().lower()}:8765"} <= set(hosts)
    assert all(h.endswith(":8765") for h in hosts)  # a name on another port is another server
    assert "[::1]:8765" in own_hosts("::", 8765) and "[::1]:8765" not in hosts  # an IPv4 socket has no ::1
