"""NCBI E-utilities client: esearch, esummary and batched efetch, parsed by Biopython into typed records.

Requests go through the shared recording client, carry NCBI's ``tool``/``email``/``api_key``
parameters, and wait for the one process-wide NCBI rate limiter, so concurrent tool calls together
stay within what NCBI allows.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal
from xml.parsers.expat import ExpatError

import httpx
from Bio import Entrez
from Bio.Entrez.Parser import CorruptedXMLError, NotXMLError, ValidationError
from pydantic import BaseModel, Field

from txscout.tools.literature.http import CacheMode, from_cache, make_client, send_with_retry
from txscout.tools.literature.ratelimit import RateLimiter, ncbi_rate, shared_limiter

Sort = Literal["relevance", "pub_date", "first_author", "journal"]

_NCBI_SORT = {"relevance": "relevance", "pub_date": "pub_date", "first_author": "Author", "journal": "JournalName"}
EFETCH_BATCH = 200
_TAG = re.compile(r"<[^>]+>")
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")


class PubMedError(Exception):
    """NCBI answered, but not with something usable (an error message or malformed XML)."""


class AbstractSection(BaseModel):
    label: str = ""
    text: str


class PubMedRecord(BaseModel):
    pmid: str
    title: str
    sections: list[AbstractSection] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    journal: str = ""
    year: int | None = None
    doi: str | None = None
    mesh_terms: list[str] = Field(default_factory=list)
    publication_types: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @property
    def abstract(self) -> str:
        """The abstract as one text, keeping section labels because "RESULTS:" tells a reader what a
        sentence is."""
        return "\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in self.sections)

    @property
    def url(self) -> str:
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"


class SearchPage(BaseModel):
    count: int
    pmids: list[str]
    query_translation: str = ""
    warnings: list[str] = Field(default_factory=list)


class Summary(BaseModel):
    pmid: str
    title: str
    authors: list[str] = Field(default_factory=list)
    journal: str = ""
    year: int | None = None
    doi: str | None = None
    publication_types: list[str] = Field(default_factory=list)


def _text(value: Any) -> str:
    """Plain text from an Entrez string, dropping inline markup such as ``<i>EGFR</i>``."""
    return " ".join(_TAG.sub("", str(value)).split())


def _year(*candidates: Any) -> int | None:
    for candidate in candidates:
        if candidate:
            match = _YEAR.search(str(candidate))
            if match:
                return int(match.group(1))
    return None


def _author(entry: Any) -> str:
    if "CollectiveName" in entry:
        return _text(entry["CollectiveName"])
    last = _text(entry.get("LastName", ""))
    initials = _text(entry.get("Initials", ""))
    return f"{last} {initials}".strip()


def _record(article: Any) -> PubMedRecord:
    citation = article["MedlineCitation"]
    art = citation["Article"]
    journal = art.get("Journal", {})
    pub_date = journal.get("JournalIssue", {}).get("PubDate", {})
    article_dates = art.get("ArticleDate", [])
    sections = [
        AbstractSection(label=str(part.attributes.get("Label", "")), text=_text(part))
        for part in art.get("Abstract", {}).get("AbstractText", [])
        if _text(part)
    ]
    ids = article.get("PubmedData", {}).get("ArticleIdList", [])
    doi = next((str(i) for i in ids if i.attributes.get("IdType") == "doi"), None) or next(
        (str(e) for e in art.get("ELocationID", []) if e.attributes.get("EIdType") == "doi"), None
    )
    mesh = []
    for heading in citation.get("MeshHeadingList", []):
        qualifiers = [_text(q) for q in heading.get("QualifierName", [])]
        name = _text(heading["DescriptorName"])
        mesh.append(f"{name}/{'/'.join(qualifiers)}" if qualifiers else name)
    keywords = [_text(k) for group in citation.get("KeywordList", []) for k in group]
    return PubMedRecord(
        pmid=str(citation["PMID"]),
        title=_text(art.get("ArticleTitle", "")) or _text(art.get("VernacularTitle", "")),
        sections=sections,
        authors=[_author(a) for a in art.get("AuthorList", [])],
        journal=_text(journal.get("Title", "")) or _text(journal.get("ISOAbbreviation", "")),
        year=_year(
            pub_date.get("Year"),
            pub_date.get("MedlineDate"),
            article_dates[0].get("Year") if article_dates else None,
        ),
        doi=doi,
        mesh_terms=mesh,
        publication_types=[_text(p) for p in art.get("PublicationTypeList", [])],
        keywords=keywords,
    )


def _parse(content: bytes) -> Any:
    try:
        data = Entrez.read(io.BytesIO(content))
    except (CorruptedXMLError, NotXMLError, ValidationError, ExpatError, RuntimeError, ValueError) as exc:
        # ValueError also covers a well-formed document Biopython cannot map (no DTD), e.g. an HTML
        # error page from a proxy.
        raise PubMedError(f"NCBI returned malformed XML ({exc.__class__.__name__}: {exc})") from exc
    if isinstance(data, dict) and data.get("ERROR"):
        raise PubMedError(f"NCBI error: {_text(data['ERROR'])}")
    return data


def parse_efetch(content: bytes) -> list[PubMedRecord]:
    """Records from an efetch XML answer; one unparseable article does not cost the others."""
    data = _parse(content)
    records = []
    for article in data.get("PubmedArticle", []):
        try:
            records.append(_record(article))
        except (KeyError, TypeError, AttributeError, ValueError):
            continue
    return records


def parse_esearch(content: bytes) -> SearchPage:
    data = _parse(content)
    warnings = [
        f"{kind}: {', '.join(str(v) for v in values)}"
        for group in ("ErrorList", "WarningList")
        for kind, values in (data.get(group) or {}).items()
        if values
    ]
    return SearchPage(
        count=int(data.get("Count", 0)),
        pmids=[str(i) for i in data.get("IdList", [])],
        query_translation=str(data.get("QueryTranslation", "")),
        warnings=warnings,
    )


def parse_esummary(content: bytes) -> list[Summary]:
    summaries = []
    for doc in _parse(content):
        ids = doc.get("ArticleIds", {})
        doi = doc.get("DOI") or (ids.get("doi") if isinstance(ids, dict) else None)
        summaries.append(
            Summary(
                pmid=str(doc["Id"]),
                title=_text(doc.get("Title", "")),
                authors=[str(a) for a in doc.get("AuthorList", [])],
                journal=str(doc.get("FullJournalName") or doc.get("Source") or ""),
                year=_year(doc.get("PubDate"), doc.get("EPubDate")),
                doi=str(doi) if doi else None,
                publication_types=[str(p) for p in doc.get("PubTypeList", [])],
            )
        )
    return summaries


class PubMed:
    """E-utilities over httpx. One instance per settings; the rate limiter is shared process-wide.

    ``recorded_at`` is the oldest recording date of the responses behind this thread's last calls
    (reset it before a call), or None when they all came from the network, so tools can say an answer
    came from the cache.
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str,
        api_key: str | None = None,
        cache_dir: Path,
        cache_mode: CacheMode = "read-write",
        offline: Callable[[], bool] = lambda: False,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        timeout: float = 20.0,
        attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.api_key = api_key
        self.limiter = limiter or shared_limiter("ncbi", ncbi_rate(api_key))
        self.client = make_client(cache_dir, cache_mode, offline, timeout=timeout, transport=transport)
        self.attempts = attempts
        self.backoff = backoff
        self._local = threading.local()

    @property
    def recorded_at(self) -> float | None:
        return getattr(self._local, "recorded_at", None)

    @recorded_at.setter
    def recorded_at(self, value: float | None) -> None:
        # Per thread, because concurrent tool calls share one client but not their cache status.
        self._local.recorded_at = value

    def _identity(self) -> dict[str, str]:
        params = {"tool": "txscout", "email": self.email}
        if self.api_key:
            params["api_key"] = self.api_key
        return params

    def _call(self, endpoint: str, params: dict[str, str], *, post: bool = False) -> bytes:
        url = f"{self.base_url}/{endpoint}"
        merged = {**params, **self._identity()}

        def build() -> httpx.Request:
            if post:
                return self.client.build_request("POST", url, data=merged)
            return self.client.build_request("GET", url, params=merged)

        response = send_with_retry(
            self.client, build, limiter=self.limiter, attempts=self.attempts, backoff=self.backoff
        )
        content = response.content
        if response.status_code >= 400:
            raise PubMedError(f"NCBI answered HTTP {response.status_code} for {endpoint}")
        recorded = from_cache(response)
        if recorded is not None:
            self.recorded_at = recorded if self.recorded_at is None else min(self.recorded_at, recorded)
        return content

    def esearch(
        self,
        query: str,
        *,
        retmax: int = 10,
        retstart: int = 0,
        mindate: str | None = None,
        maxdate: str | None = None,
        sort: Sort = "relevance",
    ) -> SearchPage:
        params = {
            "db": "pubmed",
            "term": query,
            "retmax": str(retmax),
            "retstart": str(retstart),
            "sort": _NCBI_SORT[sort],
        }
        if mindate or maxdate:
            params |= {"datetype": "pdat", "mindate": mindate or "1800", "maxdate": maxdate or "3000"}
        return parse_esearch(self._call("esearch.fcgi", params))

    def esummary(self, pmids: Iterable[str]) -> list[Summary]:
        ids = list(dict.fromkeys(pmids))
        out: list[Summary] = []
        for start in range(0, len(ids), EFETCH_BATCH):
            batch = ",".join(ids[start : start + EFETCH_BATCH])
            out += parse_esummary(self._call("esummary.fcgi", {"db": "pubmed", "id": batch}, post=True))
        return out

    def efetch(self, pmids: Iterable[str]) -> list[PubMedRecord]:
        """Full records in batches of 200 (NCBI's advice for one request), in the order asked."""
        ids = list(dict.fromkeys(pmids))
        by_pmid: dict[str, PubMedRecord] = {}
        for start in range(0, len(ids), EFETCH_BATCH):
            batch = ",".join(ids[start : start + EFETCH_BATCH])
            params = {"db": "pubmed", "id": batch, "retmode": "xml", "rettype": "abstract"}
            for record in parse_efetch(self._call("efetch.fcgi", params, post=True)):
                by_pmid[record.pmid] = record
        return [by_pmid[p] for p in ids if p in by_pmid]

    def close(self) -> None:
        self.client.close()
