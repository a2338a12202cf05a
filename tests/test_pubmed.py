"""PubMed over a fake E-utilities server on 127.0.0.1 serving NCBI-format XML."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_servers import FIXTURES, FakeServer, Reply, eutils_default
from txscout.agent.citations import EvidenceLedger
from txscout.core.evidence import Evidence
from txscout.core.settings import Settings
from txscout.core.toolkit import ToolContext, tool_context
from txscout.tools.literature import literature_tools
from txscout.tools.literature.http import OfflineMiss, ServiceError, Unreachable
from txscout.tools.literature.pubmed import EFETCH_BATCH, PubMed, PubMedError, parse_efetch
from txscout.tools.literature.ratelimit import RateLimiter


@pytest.fixture
def eutils() -> Iterator[FakeServer]:
    with FakeServer(eutils_default) as server:
        yield server


def client(server: FakeServer, tmp_path: Path, **kw: object) -> PubMed:
    options: dict[str, object] = {
        "email": "dev@example.org",
        "cache_dir": tmp_path / "http",
        "limiter": RateLimiter(1000.0),
        "backoff": 0.01,
    }
    options |= kw
    return PubMed(server.url, **options)  # type: ignore[arg-type]


def settings(tmp_path: Path, server: FakeServer, **kw: object) -> Settings:
    return Settings(ncbi_base_url=server.url, cache_dir=tmp_path / "http", memory_path=tmp_path / "mem", **kw)


def tools_by_name(s: Settings, stored: list[Evidence] | None = None) -> dict[str, object]:
    sink = stored if stored is not None else []
    tools = literature_tools(s, persist=lambda items: sink.extend(items) or len(items), backoff=0.01)
    return {t.name: t for t in tools}


class Run:
    """A run context with the agent's real ledger, as the loop wires it."""

    def __init__(self) -> None:
        self.ledger = EvidenceLedger()
        self.ctx = ToolContext(add_evidence=lambda e: self.ledger.add(e)[0], run_id="run-1")


def test_records_are_typed_with_sections_mesh_doi_and_types() -> None:
    records = parse_efetch((FIXTURES / "pubmed" / "efetch_batch.xml").read_bytes())
    first, no_abstract, review = records
    assert first.pmid == "31000001"
    assert first.title.startswith("Osimertinib in untreated EGFR-mutated")  # inline <i> markup removed
    assert [s.label for s in first.sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert first.abstract.splitlines()[2].startswith("RESULTS: The median overall survival was 38.6")
    assert first.authors == ["Ramalingam SS", "Vansteenkiste J", "FLAURA Investigators"]
    assert (first.journal, first.year, first.doi) == (
        "The New England journal of medicine",
        2019,
        "10.1056/NEJMoa1913662",
    )
    assert "Carcinoma, Non-Small-Cell Lung/drug therapy" in first.mesh_terms
    assert "Randomized Controlled Trial" in first.publication_types
    assert no_abstract.sections == [] and no_abstract.year == 1998  # from MedlineDate "1998 Dec-1999 Jan"
    assert review.doi == "10.1038/s41573-021-00001-x" and review.keywords == ["PROTAC"]


def test_esearch_sends_query_syntax_dates_sort_and_etiquette(eutils: FakeServer, tmp_path: Path) -> None:
    pm = client(eutils, tmp_path, api_key="SECRETKEY")
    page = pm.esearch("osimertinib AND EGFR[tiab]", retmax=3, mindate="2018", maxdate="2020/06", sort="pub_date")
    assert page.count == 1532 and page.pmids == ["31000001", "31000002", "31000003"]
    params = eutils.requests_to("/esearch.fcgi")[0].params
    assert params["term"] == ["osimertinib AND EGFR[tiab]"]
    assert (params["mindate"], params["maxdate"], params["datetype"]) == (["2018"], ["2020/06"], ["pdat"])
    assert params["sort"] == ["pub_date"] and params["retmax"] == ["3"]
    assert params["tool"] == ["txscout"] and params["email"] == ["dev@example.org"]
    assert params["api_key"] == ["SECRETKEY"]
    cached = "".join(p.read_text() for p in (tmp_path / "http").rglob("*.json"))
    assert cached and "SECRETKEY" not in cached


def test_efetch_posts_batches_of_at_most_200(eutils: FakeServer, tmp_path: Path) -> None:
    pmids = [str(40000000 + i) for i in range(450)] + ["31000003", "31000001"]
    records = client(eutils, tmp_path).efetch(pmids)
    batches = [s.params["id"][0].split(",") for s in eutils.requests_to("/efetch.fcgi")]
    assert [len(b) for b in batches] == [EFETCH_BATCH, EFETCH_BATCH, 52]
    assert all(s.method == "POST" for s in eutils.requests_to("/efetch.fcgi"))
    assert [r.pmid for r in records] == ["31000003", "31000001"]  # in the order asked


def test_429_then_success_is_retried_and_nothing_is_lost(eutils: FakeServer, tmp_path: Path) -> None:
    limited = Reply(status=429, body=b'{"error":"API rate limit exceeded"}', content_type="application/json")
    eutils.script("/efetch.fcgi", limited, Reply(status=429, headers={"Retry-After": "0"}))
    records = client(eutils, tmp_path).efetch(["31000001", "31000002", "31000003"])
    assert len(eutils.requests_to("/efetch.fcgi")) == 3
    assert [r.pmid for r in records] == ["31000001", "31000002", "31000003"]


def test_persistent_5xx_gives_a_service_error(eutils: FakeServer, tmp_path: Path) -> None:
    eutils.script("/esearch.fcgi", *[Reply(status=503)] * 4)
    with pytest.raises(ServiceError, match="503"):
        client(eutils, tmp_path, attempts=3).esearch("x")
    assert len(eutils.requests_to("/esearch.fcgi")) == 3


def test_slow_reply_times_out_and_the_retry_succeeds(eutils: FakeServer, tmp_path: Path) -> None:
    eutils.script("/esearch.fcgi", Reply(delay=1.0, body=(FIXTURES / "pubmed" / "esearch.xml").read_bytes()))
    page = client(eutils, tmp_path, timeout=0.3).esearch("osimertinib")
    assert page.pmids and len(eutils.requests_to("/esearch.fcgi")) == 2


def test_malformed_xml_is_a_clean_error(eutils: FakeServer, tmp_path: Path) -> None:
    eutils.script("/efetch.fcgi", Reply(body=(FIXTURES / "pubmed" / "efetch_malformed.xml").read_bytes()))
    with pytest.raises(PubMedError, match="malformed XML"):
        client(eutils, tmp_path).efetch(["1"])
    tool = tools_by_name(settings(tmp_path, eutils))["pubmed_fetch"]
    eutils.script("/efetch.fcgi", Reply(body=b"<html>Service temporarily down</html>", content_type="text/html"))
    out = tool.invoke({"pmids": ["1"]})  # type: ignore[attr-defined]
    assert out.startswith("pubmed_fetch:") and "malformed" in out


def test_ncbi_error_element_is_reported(eutils: FakeServer, tmp_path: Path) -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
        b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
        b"<eSearchResult><ERROR>Invalid query syntax</ERROR></eSearchResult>"
    )
    eutils.script("/esearch.fcgi", Reply(body=body))
    with pytest.raises(PubMedError, match="Invalid query syntax"):
        client(eutils, tmp_path).esearch("((")


def test_unreachable_service(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    pm = PubMed(f"http://127.0.0.1:{port}", email="x@y", cache_dir=tmp_path, backoff=0.01, limiter=RateLimiter(100))
    with pytest.raises(Unreachable, match="cannot connect"):
        pm.esearch("x")
    tools = literature_tools(
        Settings(ncbi_base_url=f"http://127.0.0.1:{port}", cache_dir=tmp_path / "c"), persist=len, backoff=0.01
    )
    out = next(t for t in tools if t.name == "pubmed_search").invoke({"query": "egfr"})
    assert "unreachable" in out and "go on" in out


def test_search_tool_cites_each_abstract_with_provenance(eutils: FakeServer, tmp_path: Path) -> None:
    run = Run()
    stored: list[Evidence] = []
    tool = tools_by_name(settings(tmp_path, eutils), stored)["pubmed_search"]
    with tool_context(run.ctx):
        out = tool.invoke({"query": "osimertinib", "max_results": 3, "min_date": "2019"})  # type: ignore[attr-defined]
    assert "1532 results" in out
    assert "[1] PMID 31000001 | Ramalingam SS et al. | 2019" in out
    assert "[2] PMID 31000002" in out and "(no abstract in PubMed)" in out
    assert "[3] PMID 31000003" in out
    first = run.ledger.get(1)
    assert first is not None and first.pmid == "31000001" and first.doi == "10.1056/NEJMoa1913662"
    assert first.query == "osimertinib" and first.tool == "pubmed_search" and first.run_id == "run-1"
    assert first.locator == "https://pubmed.ncbi.nlm.nih.gov/31000001/"
    assert "RESULTS: The median overall survival" in first.text
    assert stored == []  # inside a run, the agent persists what the ledger took


def test_same_abstract_found_twice_keeps_its_citation_number(eutils: FakeServer, tmp_path: Path) -> None:
    run = Run()
    tools = tools_by_name(settings(tmp_path, eutils))
    with tool_context(run.ctx):
        tools["pubmed_search"].invoke({"query": "osimertinib"})  # type: ignore[attr-defined]
        out = tools["pubmed_fetch"].invoke({"pmids": "31000003, 31000001"})  # type: ignore[attr-defined]
    assert "[3] PMID 31000003" in out and "[1] PMID 31000001" in out
    assert len(run.ledger.items) == 3


def test_outside_a_run_abstracts_are_persisted_to_the_store(eutils: FakeServer, tmp_path: Path) -> None:
    stored: list[Evidence] = []
    out = tools_by_name(settings(tmp_path, eutils), stored)["pubmed_fetch"].invoke(  # type: ignore[attr-defined]
        {"pmids": ["31000001", "31000002", "31000003", "99999999"]}
    )
    assert "PMID 31000001" in out and "[1]" not in out
    assert "not found: 99999999" in out
    assert sorted(e.pmid for e in stored) == ["31000001", "31000003"]  # title-only records are not evidence text


def test_titles_only_search_uses_esummary(eutils: FakeServer, tmp_path: Path) -> None:
    out = tools_by_name(settings(tmp_path, eutils))["pubmed_search"].invoke(  # type: ignore[attr-defined]
        {"query": "osimertinib", "abstracts": False}
    )
    assert "PMID 31000001" in out and "N Engl J Med" not in out and "New England" in out
    assert eutils.requests_to("/esummary.fcgi") and not eutils.requests_to("/efetch.fcgi")


def test_offline_answers_from_recording_and_says_so(eutils: FakeServer, tmp_path: Path) -> None:
    s = settings(tmp_path, eutils)
    tools_by_name(s)["pubmed_search"].invoke({"query": "osimertinib"})  # type: ignore[attr-defined]
    before = len(eutils.seen)
    offline_tool = tools_by_name(s.model_copy(update={"offline": True}))["pubmed_search"]
    out = offline_tool.invoke({"query": "osimertinib"})  # type: ignore[attr-defined]
    assert "answered from the HTTP cache" in out and "PMID 31000001" in out
    assert len(eutils.seen) == before
    with tool_context(ToolContext(offline=True)):
        out = offline_tool.invoke({"query": "never asked before"})  # type: ignore[attr-defined]
    assert "network is off" in out and len(eutils.seen) == before


def test_replay_only_never_touches_the_network(eutils: FakeServer, tmp_path: Path) -> None:
    client(eutils, tmp_path).esearch("osimertinib")
    replay = client(eutils, tmp_path, cache_mode="replay-only")
    before = len(eutils.seen)
    assert replay.esearch("osimertinib").pmids == ["31000001", "31000002", "31000003"]
    assert replay.recorded_at is not None
    with pytest.raises(OfflineMiss, match="replay-only"):
        replay.esearch("something else")
    assert len(eutils.seen) == before


def test_arguments_are_validated(eutils: FakeServer, tmp_path: Path) -> None:
    tools = tools_by_name(settings(tmp_path, eutils))
    with pytest.raises(ValueError):
        tools["pubmed_search"].invoke({"query": "x", "min_date": "last year"})  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        tools["pubmed_fetch"].invoke({"pmids": ["PMC123"]})  # type: ignore[attr-defined]
