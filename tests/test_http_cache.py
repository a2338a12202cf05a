"""Record and replay: the modes, what is keyed and stored, and what is never recorded."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from txscout.tools.literature.http import (
    CacheMode,
    HttpCache,
    OfflineMiss,
    ServiceError,
    cache_key,
    from_cache,
    make_client,
    send_with_retry,
)


class Upstream:
    def __init__(self, status: int = 200, body: bytes = b"<xml>answer</xml>", streamed: bool = False) -> None:
        self.calls: list[httpx.Request] = []
        self.status = status
        self.body = body
        self.streamed = streamed

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.streamed:  # like a socket: the body arrives in pieces and may be left unread
            pieces = (self.body[i : i + 8192] for i in range(0, len(self.body), 8192))
            return httpx.Response(self.status, content=pieces, headers={"content-type": "text/html"})
        return httpx.Response(self.status, content=self.body, headers={"content-type": "text/xml"})


def client(tmp_path: Path, upstream: Upstream, mode: CacheMode = "read-write", offline: bool = False) -> httpx.Client:
    return make_client(tmp_path / "cache", mode, lambda: offline, transport=httpx.MockTransport(upstream))


def test_read_write_records_then_replays(tmp_path: Path) -> None:
    upstream = Upstream()
    first = client(tmp_path, upstream).get("https://api.example.org/q", params={"term": "egfr"})
    again = client(tmp_path, upstream).get("https://api.example.org/q", params={"term": "egfr"})
    assert first.content == again.content == b"<xml>answer</xml>"
    assert len(upstream.calls) == 1
    assert from_cache(first) is None and from_cache(again) is not None
    assert again.headers["content-type"] == "text/xml"


def test_caller_identity_is_not_part_of_the_key_and_secrets_are_not_written(tmp_path: Path) -> None:
    upstream = Upstream()
    client(tmp_path, upstream).get("https://x.org/e", params={"term": "a", "api_key": "TOPSECRET", "email": "me@x"})
    replay = client(tmp_path, upstream, mode="replay-only").get(
        "https://x.org/e", params={"email": "you@y", "term": "a"}
    )
    assert replay.status_code == 200 and len(upstream.calls) == 1
    recorded = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert "TOPSECRET" not in recorded and "term=a" in recorded


def test_form_bodies_are_keyed_by_content_not_order() -> None:
    form = "application/x-www-form-urlencoded"
    a = cache_key("POST", "https://x.org/efetch", b"id=1,2&db=pubmed&api_key=K1", form)
    b = cache_key("POST", "https://x.org/efetch", b"db=pubmed&id=1,2&api_key=K2", form)
    c = cache_key("POST", "https://x.org/efetch", b"db=pubmed&id=1,3", form)
    assert a == b != c


def test_off_mode_neither_reads_nor_writes(tmp_path: Path) -> None:
    upstream = Upstream()
    for _ in range(2):
        client(tmp_path, upstream, mode="off").get("https://x.org/a")
    assert len(upstream.calls) == 2
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_replay_only_and_offline_misses_never_reach_the_network(tmp_path: Path) -> None:
    upstream = Upstream()
    with pytest.raises(OfflineMiss, match="replay-only"):
        client(tmp_path, upstream, mode="replay-only").get("https://x.org/new")
    with pytest.raises(OfflineMiss, match="offline"):
        client(tmp_path, upstream, offline=True).get("https://x.org/new")
    assert upstream.calls == []


def test_errors_are_not_recorded_but_not_found_is(tmp_path: Path) -> None:
    failing = Upstream(status=503)
    with pytest.raises(ServiceError):
        c = client(tmp_path, failing)
        send_with_retry(c, lambda: c.build_request("GET", "https://x.org/flaky"), attempts=2, backoff=0.001)
    assert len(failing.calls) == 2
    assert not list((tmp_path / "cache").rglob("*.json"))
    missing = Upstream(status=404, body=b"no such record")
    client(tmp_path, missing).get("https://x.org/gone")
    assert client(tmp_path, missing).get("https://x.org/gone").status_code == 404
    assert len(missing.calls) == 1


def test_a_body_read_only_in_part_is_not_recorded(tmp_path: Path) -> None:
    upstream = Upstream(body=b"x" * 100_000, streamed=True)
    c = client(tmp_path, upstream)
    with c.stream("GET", "https://x.org/big") as response:
        next(response.iter_raw(1024))
    assert not list((tmp_path / "cache").rglob("*.json"))
    with c.stream("GET", "https://x.org/big") as response:
        response.read()
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1


def test_a_torn_cache_file_is_a_miss(tmp_path: Path) -> None:
    upstream = Upstream()
    client(tmp_path, upstream).get("https://x.org/a")
    (entry,) = (tmp_path / "cache").rglob("*.json")
    entry.write_text('{"status": 200, "bo')
    assert client(tmp_path, upstream).get("https://x.org/a").content == b"<xml>answer</xml>"
    assert len(upstream.calls) == 2
    assert json.loads(entry.read_text())["status"] == 200  # rewritten whole


def test_json_values_for_non_httpx_callers(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path, "read-write")
    cache.put_json("ddgs:abc", [{"title": "t"}])
    assert cache.get_json("ddgs:abc") == [{"title": "t"}]
    assert HttpCache(tmp_path, "off").get_json("ddgs:abc") is None
    HttpCache(tmp_path, "replay-only").put_json("ddgs:new", [1])
    assert cache.get_json("ddgs:new") is None
