"""Web search backends, the SSRF guard and read_url against a local website."""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import pdf_factory
from tests.fake_servers import FIXTURES, FakeServer, Reply, Seen
from txscout.agent.citations import EvidenceLedger
from txscout.core.evidence import Evidence
from txscout.core.settings import Settings
from txscout.core.toolkit import ToolContext, tool_context
from txscout.tools.literature import literature_tools
from txscout.tools.literature.http import BlockedURL, check_peer, check_url, make_client
from txscout.tools.literature.read_url import fetch
from txscout.tools.literature.web import ddgs_results, searxng_results

ARTICLE = """<!doctype html><html><head><title>EGFR inhibitors | Example Journal</title>
<meta name="citation_date" content="2021-05-04"></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a> Subscribe now! Cookie settings</nav>
<article><h1>Third-generation EGFR inhibitors</h1>
<p>Osimertinib binds covalently to cysteine 797 of the epidermal growth factor receptor. It was designed to spare
wild-type EGFR and to inhibit the T790M resistance mutation that limits first-generation inhibitors.</p>
<p>In the FLAURA trial, first-line osimertinib prolonged overall survival compared with gefitinib or erlotinib.
The median overall survival was 38.6 months. Resistance eventually emerges, most often through MET amplification
or the C797S mutation, which removes the cysteine the drug binds to.</p>
<p>Brain metastases respond as well, because osimertinib crosses the blood-brain barrier better than earlier drugs.
This matters since a third of patients with EGFR-mutated lung cancer develop brain metastases.</p>
<p>Common adverse events include diarrhoea, rash, dry skin and paronychia; interstitial lung disease is rare but
can be fatal and requires stopping treatment. QT prolongation has been reported, so electrocardiograms are advised
for patients with cardiac risk factors or on other drugs that prolong the QT interval.</p>
<p>Combination strategies under study pair osimertinib with chemotherapy, with MET inhibitors such as savolitinib,
or with antibodies against EGFR and MET, aiming to delay or overcome acquired resistance.</p>
</article><footer>Copyright Example Journal. All rights reserved.</footer></body></html>"""


@functools.cache
def _paper_pdf() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return pdf_factory.paper(Path(folder) / "paper.pdf", pages=3).read_bytes()


def site_default(seen: Seen) -> Reply:
    html = "text/html; charset=utf-8"
    routes: dict[str, Reply] = {
        "/article": Reply(body=ARTICLE.encode(), content_type=html),
        "/moved": Reply(status=301, headers={"Location": "/article"}, content_type=html),
        "/to-metadata": Reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
        "/loop": Reply(status=302, headers={"Location": "/loop"}),
        "/paper.pdf": Reply(body=_paper_pdf(), content_type="application/pdf"),
        "/broken.pdf": Reply(body=b"%PDF-1.7 binary", content_type="application/pdf"),
        "/figure.png": Reply(body=b"\x89PNG\r\n", content_type="image/png"),
        "/notes.txt": Reply(body=b"Plain notes\nKRAS G12C inhibitors include sotorasib.", content_type="text/plain"),
        "/empty": Reply(body=b"<html><head><title>Nothing</title></head><body></body></html>", content_type=html),
        "/huge": Reply(
            body=(b"<p>" + b"filler text " * 8000 + b"</p>" for _ in range(520)),  # about 50 MB
            content_type=html,
        ),
    }
    return routes.get(seen.path, Reply(status=404, body=b"not here", content_type="text/plain"))


@pytest.fixture
def site() -> Iterator[FakeServer]:
    with FakeServer(site_default) as server:
        yield server


def web_tools(tmp_path: Path, stored: list[Evidence] | None = None, **kw: Any) -> dict[str, Any]:
    sink = stored if stored is not None else []
    options = {"allow_loopback": True, "cache_dir": tmp_path / "http"} | {
        k: v for k, v in kw.items() if k not in ("ddgs_search", "transport")
    }
    tools = literature_tools(
        Settings(**options),
        persist=lambda items: sink.extend(items) or len(items),
        ddgs_search=kw.get("ddgs_search"),
        transport=kw.get("transport"),
    )
    return {t.name: t for t in tools}


# -- SSRF guard --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "javascript:alert(1)",
    ],
)
def test_guard_refuses_non_public_targets(url: str) -> None:
    with pytest.raises(BlockedURL):
        check_url(url)


def test_allow_loopback_opens_loopback_only() -> None:
    assert check_url("http://127.0.0.1:8000/x", allow_loopback=True)
    with pytest.raises(BlockedURL):
        check_url("http://169.254.169.254/", allow_loopback=True)
    with pytest.raises(BlockedURL):
        check_url("http://10.1.2.3/", allow_loopback=True)
    assert check_url("https://93.184.215.14/page")  # a public address passes


def test_peer_address_is_checked_after_connecting(site: FakeServer, tmp_path: Path) -> None:
    with make_client(tmp_path, "off", lambda: False) as c, c.stream("GET", f"{site.url}/article") as response:
        check_peer(response, allow_loopback=True)
        with pytest.raises(BlockedURL, match="non-public"):
            check_peer(response, allow_loopback=False)


# -- read_url ----------------------------------------------------------------------------------------


def test_read_url_extracts_main_text_and_cites_passages(site: FakeServer, tmp_path: Path) -> None:
    ledger = EvidenceLedger()
    stored: list[Evidence] = []
    tool = web_tools(tmp_path, stored)["read_url"]
    with tool_context(ToolContext(add_evidence=lambda e: ledger.add(e)[0], run_id="r")):
        out = tool.invoke({"url": f"{site.url}/moved", "max_chunks": 1, "focus": "brain metastases"})
    assert "Third-generation EGFR inhibitors" in out or "EGFR inhibitors" in out
    assert f"{site.url}/article" in out  # the final URL after the redirect
    assert "[1] (passage" in out and "blood-brain barrier" in out
    assert "Cookie settings" not in out and "All rights reserved" not in out
    cited = ledger.get(1)
    assert cited is not None and cited.url == f"{site.url}/article" and cited.source_kind == "web"
    assert cited.query == "brain metastases" and cited.year == 2021
    assert len(ledger.items) == 1
    assert stored and all(e.text != cited.text for e in stored)  # unshown passages go to memory, once


def test_read_url_refuses_loopback_by_default(site: FakeServer, tmp_path: Path) -> None:
    out = web_tools(tmp_path, allow_loopback=False)["read_url"].invoke({"url": f"{site.url}/article"})
    assert out.startswith("read_url:") and "refusing" in out
    assert site.seen == []


def test_redirect_to_metadata_service_is_refused(site: FakeServer, tmp_path: Path) -> None:
    out = web_tools(tmp_path)["read_url"].invoke({"url": f"{site.url}/to-metadata"})
    assert "169.254.169.254" in out and "refusing" in out


def test_redirects_are_capped(site: FakeServer, tmp_path: Path) -> None:
    out = web_tools(tmp_path, http_cache="off")["read_url"].invoke({"url": f"{site.url}/loop"})
    assert "more than 5 redirects" in out
    assert len(site.seen) == 6


def test_non_html_is_refused_and_plain_text_is_read(site: FakeServer, tmp_path: Path) -> None:
    tools = web_tools(tmp_path)
    out = tools["read_url"].invoke({"url": f"{site.url}/figure.png"})
    assert "image/png" in out and "not a web page" in out
    out = tools["read_url"].invoke({"url": f"{site.url}/broken.pdf"})
    assert out.startswith("read_url:") and "truncated PDF" in out
    out = tools["read_url"].invoke({"url": f"{site.url}/notes.txt"})
    assert "sotorasib" in out
    assert "HTTP 404" in tools["read_url"].invoke({"url": f"{site.url}/nowhere"})
    assert "no readable main text" in tools["read_url"].invoke({"url": f"{site.url}/empty"})


def test_read_url_reads_a_pdf_page_by_page(site: FakeServer, tmp_path: Path) -> None:
    ledger = EvidenceLedger()
    tool = web_tools(tmp_path)["read_url"]
    with tool_context(ToolContext(add_evidence=lambda e: ledger.add(e)[0], run_id="r")):
        out = tool.invoke({"url": f"{site.url}/paper.pdf", "focus": "p3R10 kinase", "max_chunks": 1})
    assert "Covalent KRAS G12C inhibition in lung cancer" in out and "(p. 3, passage" in out
    cited = ledger.get(1)
    assert cited is not None and cited.page == 3 and cited.section == "3. Results part 3"
    assert cited.locator == f"{site.url}/paper.pdf#page=3" and cited.authors == "Jane Lee; Omar Diaz; Wei Chen"
    assert "p3R10" in cited.text


def test_a_50_mb_page_is_capped(site: FakeServer, tmp_path: Path) -> None:
    with make_client(tmp_path, "read-write", lambda: False) as c:
        _response, body, truncated = fetch(c, f"{site.url}/huge", allow_loopback=True, max_bytes=300_000)
    assert truncated and len(body) == 300_000
    assert site.bytes_sent < 10_000_000  # the server was cut off, not drained
    assert not list(tmp_path.rglob("*.json"))  # a truncated body is never recorded


def test_read_url_replays_offline(site: FakeServer, tmp_path: Path) -> None:
    web_tools(tmp_path)["read_url"].invoke({"url": f"{site.url}/article"})
    requests = len(site.seen)
    out = web_tools(tmp_path, offline=True)["read_url"].invoke({"url": f"{site.url}/article"})
    assert "answered from the HTTP cache" in out and "Osimertinib" in out
    assert len(site.seen) == requests
    out = web_tools(tmp_path, offline=True)["read_url"].invoke({"url": f"{site.url}/notes.txt"})
    assert "offline" in out


# -- web search --------------------------------------------------------------------------------------


def recorded_ddgs() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "web" / "ddgs_text.json").read_text())


def test_ddgs_results_are_typed_and_junk_dropped() -> None:
    results = ddgs_results(recorded_ddgs())
    assert next(r.url for r in results) == "https://en.wikipedia.org/wiki/Osimertinib"
    assert len(results) == 3 and all(r.url.startswith("https://") for r in results)
    assert results[1].snippet.startswith("TAGRISSO is a kinase inhibitor")


def test_web_search_cites_results_and_replays_from_cache(tmp_path: Path) -> None:
    calls: list[tuple[str, int, str | None]] = []

    def fake_ddgs(query: str, max_results: int, timelimit: str | None) -> list[dict[str, Any]]:
        calls.append((query, max_results, timelimit))
        return recorded_ddgs()

    ledger = EvidenceLedger()
    tool = web_tools(tmp_path, ddgs_search=fake_ddgs)["web_search"]
    with tool_context(ToolContext(add_evidence=lambda e: ledger.add(e)[0])):
        out = tool.invoke({"query": "osimertinib survival", "max_results": 2, "time_limit": "year"})
    assert calls == [("osimertinib survival", 2, "y")]
    assert "[1] Osimertinib - Wikipedia — https://en.wikipedia.org/wiki/Osimertinib" in out
    assert "[2] TAGRISSO" in out and "[3]" not in out
    assert ledger.items[0].source_kind == "web" and ledger.items[0].query == "osimertinib survival"
    offline = web_tools(tmp_path, offline=True, ddgs_search=fake_ddgs)["web_search"]
    replayed = offline.invoke({"query": "osimertinib survival", "max_results": 2, "time_limit": "year"})
    assert len(calls) == 1 and "answered from the HTTP cache" in replayed
    assert "offline" in offline.invoke({"query": "something new"})


def test_ddgs_failure_is_an_unreachable_observation(tmp_path: Path) -> None:
    from txscout.tools.literature.http import Unreachable

    def down(*_: object) -> list[dict[str, Any]]:
        raise Unreachable("web search failed: ConnectError")

    out = web_tools(tmp_path, ddgs_search=down)["web_search"].invoke({"query": "x"})
    assert out.startswith("web_search: unreachable")


def test_searxng_backend_over_its_json_api(tmp_path: Path) -> None:
    payload = (FIXTURES / "web" / "searxng.json").read_bytes()
    seen: list[httpx.Request] = []

    def searx(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=payload, headers={"content-type": "application/json"})

    tools = web_tools(
        tmp_path, web_backend="searxng", searxng_url="http://searx.local:8888", transport=httpx.MockTransport(searx)
    )
    out = tools["web_search"].invoke({"query": "PROTAC degrader", "time_limit": "month"})
    assert seen[0].url.path == "/search"
    assert dict(seen[0].url.params) == {"q": "PROTAC degrader", "format": "json", "time_range": "month"}
    assert "Proteolysis targeting chimera - Wikipedia" in out and "no url" not in out
    assert searxng_results(json.loads(payload))[1].source == "google"


def test_searxng_without_json_format_explains_the_fix(tmp_path: Path) -> None:
    tools = web_tools(
        tmp_path,
        web_backend="searxng",
        searxng_url="http://searx.local",
        transport=httpx.MockTransport(lambda r: httpx.Response(403, text="Forbidden")),
    )
    assert "search.formats" in tools["web_search"].invoke({"query": "x"})
