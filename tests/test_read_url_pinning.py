"""read_url connects to the address its SSRF guard checked, so a resolver that changes its answer (DNS
rebinding) cannot send the request anywhere else: not on the first request, not on a redirect.

The resolver is replaced for one made-up name; real sockets and real local servers do the rest. Tests
never leave the machine: :class:`NoInternet` stands in for the public internet by refusing connections to
public addresses, and lets everything else (names included) through to the real transport.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fake_servers import FakeServer, Reply, Seen
from txscout.tools.literature.http import Unreachable, make_client
from txscout.tools.literature.read_url import fetch

PUBLIC = ["93.184.215.14", "93.184.215.15"]  # global addresses: the guard lets them through
_real_getaddrinfo = socket.getaddrinfo


class NoInternet(httpx.BaseTransport):
    """The real HTTP transport, except that a connection to a literal public address fails at once.

    A request by name passes, so a fetcher that connected by name (and so resolved again) would reach
    whatever the second DNS answer names, as it would in production."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport(retries=0)
        self.refused: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            public = ipaddress.ip_address(request.url.host).is_global
        except ValueError:
            public = False
        if public:
            self.refused.append(request.url.host)
            raise httpx.ConnectError("no route to the internet from tests", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


class Rebinder:
    """Answers ``name`` from a script (the last answer repeats) and counts the lookups."""

    def __init__(self, name: str, answers: list[str]) -> None:
        self.name = name
        self.answers = answers
        self.lookups = 0

    def __call__(self, host: object, port: object, *args: object, **kwargs: object) -> list:
        if host != self.name:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (answer, port or 80))]


@pytest.fixture
def rebind(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[str]], Rebinder]:
    def install(name: str, answers: list[str]) -> Rebinder:
        resolver = Rebinder(name, answers)
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        return resolver

    return install


def _page(seen: Seen) -> Reply:
    return Reply(body=b"<html><body><p>internal admin page</p></body></html>", content_type="text/html")


@pytest.fixture
def loopback_site() -> Iterator[FakeServer]:
    with FakeServer(_page) as server:
        yield server


def _client(tmp_path: Path, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return make_client(tmp_path / "cache", "off", lambda: False, timeout=2.0, transport=transport)


def test_first_request_goes_to_the_checked_address_not_the_second_answer(
    rebind: Callable[[str, list[str]], Rebinder], loopback_site: FakeServer, tmp_path: Path
) -> None:
    port = loopback_site.httpd.server_address[1]
    resolver = rebind("rebind.test", [PUBLIC[0], "127.0.0.1"])
    internet = NoInternet()
    with _client(tmp_path, internet) as client, pytest.raises(Unreachable):
        fetch(client, f"http://rebind.test:{port}/admin")
    assert loopback_site.seen == []  # the loopback server never saw the request
    assert set(internet.refused) == {PUBLIC[0]}  # every attempt went to the checked address
    assert resolver.lookups == 1  # resolved once, by the guard; the connection did not ask again


def test_a_redirect_hop_goes_to_the_address_checked_for_that_hop(
    rebind: Callable[[str, list[str]], Rebinder], loopback_site: FakeServer, tmp_path: Path
) -> None:
    target_port = loopback_site.httpd.server_address[1]

    def redirect(seen: Seen) -> Reply:
        return Reply(status=302, headers={"Location": f"http://rebind.test:{target_port}/admin"})

    resolver = rebind("rebind.test", [PUBLIC[0], "127.0.0.1"])
    internet = NoInternet()
    with FakeServer(redirect) as start, _client(tmp_path, internet) as client, pytest.raises(Unreachable):
        # Loopback is allowed so that the first hop (a local server) is reachable at all; the redirect
        # target must still be reached only at the address checked for it, which routes nowhere.
        fetch(client, f"{start.url}/go", allow_loopback=True)
    assert [s.path for s in start.seen] == ["/go"]
    assert loopback_site.seen == []
    assert set(internet.refused) == {PUBLIC[0]}
    assert resolver.lookups == 1


def test_pinned_requests_keep_the_name_in_host_and_tls(
    rebind: Callable[[str, list[str]], Rebinder], tmp_path: Path
) -> None:
    sent: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path == "/start":
            return httpx.Response(301, headers={"Location": "https://rebind.test/end"})
        return httpx.Response(200, text="final page", headers={"Content-Type": "text/plain"})

    rebind("rebind.test", [PUBLIC[0], PUBLIC[1], "127.0.0.1"])
    with _client(tmp_path, httpx.MockTransport(upstream)) as client:
        response, body, _ = fetch(client, "https://rebind.test/start")
    assert body == b"final page"
    assert [(r.url.host, r.headers["host"], r.extensions.get("sni_hostname")) for r in sent] == [
        (PUBLIC[0], "rebind.test", "rebind.test"),
        (PUBLIC[1], "rebind.test", "rebind.test"),  # the redirect was checked and pinned on its own
    ]
    assert str(response.request.url) == "https://rebind.test/end"  # callers still see the name


def _certificate(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_to_a_pinned_address_verifies_the_name(
    rebind: Callable[[str, list[str]], Rebinder], tmp_path: Path
) -> None:
    """A real TLS server whose certificate names only ``secure.test``: the pinned connection goes to
    127.0.0.1 yet verifies and sends ``secure.test``, so the handshake and the Host header both pass."""
    cert, key = _certificate("secure.test", tmp_path)
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            body = b"over TLS"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        port = httpd.server_address[1]
        resolver = rebind("secure.test", ["127.0.0.1", "192.0.2.1"])
        trust = ssl.create_default_context(cafile=str(cert))
        with _client(tmp_path, httpx.HTTPTransport(retries=0, verify=trust)) as client:
            response, body, _ = fetch(client, f"https://secure.test:{port}/", allow_loopback=True)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert response.status_code == 200 and body == b"over TLS"
    assert names == ["secure.test"] and hosts == [f"secure.test:{port}"]
    assert resolver.lookups == 1
