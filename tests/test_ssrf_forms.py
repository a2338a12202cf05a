"""IPv6 spellings of internal IPv4 addresses (NAT64, 6to4, IPv4-compatible) are refused like the
addresses they lead to, on the first request and after a redirect; ``allow_loopback`` opens loopback
URLs only, and never lets a page elsewhere redirect into this machine."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fake_servers import FakeServer, Reply, Seen
from txscout.core.settings import Settings
from txscout.tools.literature.http import BlockedURL, check_url, make_client
from txscout.tools.literature.read_url import fetch

PUBLIC = "93.184.215.14"
_real_getaddrinfo = socket.getaddrinfo

INTERNAL_FORMS = [
    "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
    "http://[64:ff9b::10.0.0.1]/",  # NAT64, dotted
    "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 (RFC 8215): a site's own translator
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://[2002:c0a8:101::]/",  # 6to4 of 192.168.1.1
    "http://[::127.0.0.1]/",  # IPv4-compatible loopback
    "http://[::169.254.169.254]/",
    "http://[::a00:1]/",  # IPv4-compatible 10.0.0.1, in hex
]


@pytest.mark.parametrize("url", INTERNAL_FORMS)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_embedded_internal_addresses_are_refused(url: str, allow_loopback: bool) -> None:
    with pytest.raises(BlockedURL, match="no setting opens it"):
        check_url(url, allow_loopback=allow_loopback)


@pytest.mark.parametrize("url", ["http://[64:ff9b::5db8:d70e]/", "http://[2002:5db8:d70e::]/"])
def test_embedded_public_addresses_pass(url: str) -> None:
    assert check_url(url)  # NAT64 and 6to4 of 93.184.215.14 reach a public host


def test_mapped_loopback_is_loopback() -> None:
    with pytest.raises(BlockedURL, match="set allow_loopback"):
        check_url("http://[::ffff:127.0.0.1]/")
    assert check_url("http://[::ffff:127.0.0.1]:8000/", allow_loopback=True)


def test_the_setting_says_what_it_opens() -> None:
    described = Settings.model_fields["allow_loopback"].description or ""
    assert "loopback" in described and "private" in described and "stay refused" in described


class PublicSite(httpx.BaseTransport):
    """``public.test`` (resolved to a public address) answers with a redirect; everything else goes to
    the real transport, so a followed redirect would reach the local server."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.real = httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC:
            return httpx.Response(302, headers={"Location": self.location}, request=request)
        return self.real.handle_request(request)


@pytest.fixture
def public_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: object, port: object, *args: object, **kwargs: object) -> list:
        if host == "public.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (PUBLIC, port or 80))]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def local_site() -> Iterator[FakeServer]:
    def page(seen: Seen) -> Reply:
        return Reply(body=b"<html><body><p>local admin page</p></body></html>", content_type="text/html")

    with FakeServer(page) as server:
        yield server


def _client(tmp_path: Path, transport: httpx.BaseTransport) -> httpx.Client:
    return make_client(tmp_path / "cache", "off", lambda: False, timeout=2.0, transport=transport)


@pytest.mark.usefixtures("public_name")
def test_a_public_page_cannot_redirect_into_loopback(local_site: FakeServer, tmp_path: Path) -> None:
    with (
        _client(tmp_path, PublicSite(f"{local_site.url}/admin")) as client,
        pytest.raises(BlockedURL, match=r"127\.0\.0\.1, a non-public loopback address"),
    ):
        fetch(client, "http://public.test/start", allow_loopback=True)
    assert local_site.seen == []


@pytest.mark.usefixtures("public_name")
@pytest.mark.parametrize(
    "location", ["http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/", "http://[::127.0.0.1]/"]
)
def test_a_redirect_to_an_embedded_internal_address_is_refused(location: str, tmp_path: Path) -> None:
    with _client(tmp_path, PublicSite(location)) as client, pytest.raises(BlockedURL, match="no setting opens it"):
        fetch(client, "http://public.test/start", allow_loopback=True)


def test_a_loopback_page_may_redirect_on_loopback(local_site: FakeServer, tmp_path: Path) -> None:
    def hop(seen: Seen) -> Reply:
        return Reply(status=302, headers={"Location": f"{local_site.url}/admin"})

    with FakeServer(hop) as start, _client(tmp_path, httpx.HTTPTransport(retries=0)) as client:
        response, body, _ = fetch(client, f"{start.url}/go", allow_loopback=True)
    assert response.status_code == 200 and b"local admin page" in body
    assert [s.path for s in local_site.seen] == ["/admin"]
