"""The literature tools a model calls: pubmed_search, pubmed_fetch, web_search and read_url.

Every item a tool shows is registered with the run's evidence ledger and printed with its citation
number, ``[n]``, so the model can cite only what it has seen. Persistence: inside a run the agent
stores registered evidence in the evidence store; the tools store only what the run never sees (page
chunks beyond those shown) and, outside a run, everything they fetched, so that every abstract and
page read ends up in memory exactly once. Search-result snippets are never stored: they are pointers,
not evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import httpx
from pydantic import BaseModel, Field, StringConstraints, field_validator

from txscout.core.errors import UserError
from txscout.core.evidence import Evidence
from txscout.core.toolkit import Toolbox, ToolError, current_context
from txscout.tools.literature.http import (
    BlockedURL,
    HttpCache,
    OfflineMiss,
    ServiceError,
    Unreachable,
    make_client,
)
from txscout.tools.literature.pubmed import PubMed, PubMedError, PubMedRecord, Sort, Summary
from txscout.tools.literature.read_url import Page, UnsupportedContent, read_page
from txscout.tools.literature.web import DdgsBackend, SearchBackend, SearxngBackend, TimeLimit, WebResult

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings

Persist = Callable[[list[Evidence]], int]

PubDate = Annotated[str, StringConstraints(pattern=r"^\d{4}(/\d{1,2}(/\d{1,2})?)?$")]
_SHOWN_ABSTRACT_CHARS = 1200


def _recorded(stamp: float | None) -> str:
    if stamp is None:
        return ""
    day = dt.datetime.fromtimestamp(stamp, tz=dt.UTC).strftime("%Y-%m-%d")
    return f" [answered from the HTTP cache, recorded {day}; not re-checked online]"


def _ref(ref: int | None) -> str:
    return f"[{ref}] " if ref is not None else ""


def _authors(names: list[str]) -> str | None:
    if not names:
        return None
    return names[0] if len(names) == 1 else f"{names[0]} et al."


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


# -- argument and result schemas -------------------------------------------------------------------


class PubMedSearchArgs(BaseModel):
    query: str = Field(
        min_length=1,
        description='PubMed query; field tags and booleans work, e.g. "osimertinib AND EGFR[tiab]"',
    )
    max_results: int = Field(default=5, ge=1, le=50, description="how many articles to return")
    min_date: PubDate | None = Field(default=None, description="earliest publication date, YYYY[/MM[/DD]]")
    max_date: PubDate | None = Field(default=None, description="latest publication date, YYYY[/MM[/DD]]")
    sort: Sort = Field(default="relevance", description="relevance, pub_date, first_author or journal")
    abstracts: bool = Field(
        default=True, description="fetch abstracts (citable); false lists titles only, which is faster"
    )


def _split_ids(value: object) -> object:
    if isinstance(value, str | int):
        return [p for p in re.split(r"[\s,;]+", str(value)) if p]
    return value


class PubMedFetchArgs(BaseModel):
    pmids: Annotated[
        list[Annotated[str, StringConstraints(pattern=r"^\d{1,9}$")]], Field(min_length=1, max_length=1000)
    ] = Field(description="PubMed IDs, e.g. ['31751012', '29151359']")

    _split = field_validator("pmids", mode="before")(_split_ids)


class WebSearchArgs(BaseModel):
    query: str = Field(min_length=1, description="what to search the web for")
    max_results: int = Field(default=5, ge=1, le=20)
    time_limit: TimeLimit | None = Field(default=None, description="only results from the last day/week/month/year")


class ReadUrlArgs(BaseModel):
    url: str = Field(min_length=1, description="an http(s) URL, e.g. one from web_search")
    focus: str | None = Field(default=None, description="optional: show the passages most relevant to this")
    max_chunks: int = Field(default=4, ge=1, le=20, description="how many passages to show")


class CitedArticle(BaseModel):
    ref: int | None = None
    record: PubMedRecord


class PubMedResult(BaseModel):
    query: str | None = None
    count: int | None = None
    query_translation: str = ""
    articles: list[CitedArticle] = Field(default_factory=list)
    summaries: list[Summary] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    recorded_at: float | None = None
    note: str = ""

    def render(self) -> str:
        lines = []
        if self.query is not None:
            shown = len(self.articles) or len(self.summaries)
            head = f"PubMed: {self.count} results for {self.query!r}, showing {shown}"
            lines.append(head + _recorded(self.recorded_at))
        else:
            lines.append(f"PubMed: {len(self.articles)} articles{_recorded(self.recorded_at)}")
        lines += [f"warning: {w}" for w in self.warnings]
        for article in self.articles:
            r = article.record
            meta = " | ".join(
                p for p in (_authors(r.authors), str(r.year or ""), r.journal, ", ".join(r.publication_types[:2])) if p
            )
            lines.append(f"{_ref(article.ref)}PMID {r.pmid} | {meta}\n{r.title}")
            abstract = r.abstract
            lines.append(_shorten(abstract, _SHOWN_ABSTRACT_CHARS) if abstract else "(no abstract in PubMed)")
        for s in self.summaries:
            lines.append(f"PMID {s.pmid} | {_authors(s.authors) or ''} {s.year or ''} {s.journal}\n{s.title}")
        if self.missing:
            lines.append(f"not found: {', '.join(self.missing)}")
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


class CitedWebResult(BaseModel):
    ref: int | None = None
    result: WebResult


class WebSearchResult(BaseModel):
    query: str
    backend: str
    results: list[CitedWebResult]
    recorded_at: float | None = None

    def render(self) -> str:
        head = f"Web ({self.backend}): {len(self.results)} results for {self.query!r}{_recorded(self.recorded_at)}"
        body = [f"{_ref(c.ref)}{c.result.title} — {c.result.url}\n{c.result.snippet}" for c in self.results]
        tail = ["Snippets are short; read_url a result before relying on it."] if self.results else []
        return "\n".join([head, *body, *tail])


class CitedPassage(BaseModel):
    ref: int | None = None
    index: int
    text: str


class ReadUrlResult(BaseModel):
    page: Page
    passages: list[CitedPassage]
    note: str = ""

    def _where(self, index: int) -> str:
        pages = self.page.chunk_pages
        return f"p. {pages[index]}, passage {index + 1}" if pages else f"passage {index + 1}"

    def render(self) -> str:
        p = self.page
        flags = " (page over the size cap; read the first part only)" if p.truncated else ""
        head = (
            f"{p.title or 'Untitled page'} — {p.url}{_recorded(p.recorded_at)}{flags}\n"
            f"{len(p.chunks)} passages, showing {len(self.passages)}"
        )
        body = [f"{_ref(c.ref)}({self._where(c.index)}) {c.text}" for c in self.passages]
        return "\n".join([head, *body, *([self.note] if self.note else [])])


# -- services --------------------------------------------------------------------------------------


class LiteratureServices:
    """Clients built once per tool set and shared by its tools; ``transport`` and ``persist`` replace
    the network and the evidence store in tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        persist: Persist | None = None,
        ddgs_search: Callable[..., list[dict[str, object]]] | None = None,
        backoff: float = 0.5,
    ) -> None:
        self.settings = settings
        self._persist = persist
        api_key = settings.ncbi_api_key.get_secret_value() if settings.ncbi_api_key else None
        self.pubmed = PubMed(
            settings.ncbi_base_url,
            email=settings.ncbi_email,
            api_key=api_key or None,
            cache_dir=settings.cache_dir,
            cache_mode=settings.http_cache,
            offline=self.offline,
            transport=transport,
            backoff=backoff,
        )
        self.pages = make_client(settings.cache_dir, settings.http_cache, self.offline, transport=transport)
        self.web: SearchBackend
        if settings.web_backend == "searxng":
            if not settings.searxng_url:
                raise UserError("web_backend is searxng but searxng_url is not set")
            self.web = SearxngBackend(settings.searxng_url, self.pages)
        else:
            cache = HttpCache(settings.cache_dir, settings.http_cache)
            self.web = DdgsBackend(cache, self.offline, *([ddgs_search] if ddgs_search else []))

    def offline(self) -> bool:
        """Asked per request of the tool context, the one owner of the network switch (see ``core.toolkit``)."""
        return current_context().offline

    def persist(self, items: list[Evidence]) -> str:
        """Store evidence where the caller asked (``persist``); returns a note for the model only when
        storing failed (the tool's answer stands either way). Without ``persist`` nothing is kept:
        the tools do not know the evidence store, the agent wires it in."""
        if not items or self._persist is None:
            return ""
        try:
            self._persist(items)
        except Exception as exc:
            return f"(not saved to memory: {exc})"
        return ""


def _explain(tool: str, exc: Exception) -> ToolError | None:
    """What the model reads when the network, a service or a page fails: what happened and what to do."""
    if isinstance(exc, OfflineMiss):
        current_context().require_network(tool)
        return ToolError(f"{tool}: offline — {exc.reason} and nothing recorded answers this request")
    if isinstance(exc, Unreachable):
        return ToolError(
            f"{tool}: unreachable — {exc}. The network may be down; go on with other tools or with what you have"
        )
    if isinstance(exc, ServiceError | PubMedError | BlockedURL | UnsupportedContent):
        return ToolError(f"{tool}: {exc}")
    return None


def _register(items: list[Evidence]) -> tuple[list[int | None], bool]:
    """Citation numbers for ``items`` and whether a run ledger took them."""
    ctx = current_context()
    return [ctx.evidence(item) for item in items], ctx.add_evidence is not None


def _article_evidence(record: PubMedRecord, tool: str, query: str | None) -> Evidence:
    text = f"{record.title}\n{record.abstract}" if record.abstract else record.title
    return Evidence(
        text=text,
        source_kind="pubmed",
        title=record.title,
        authors=_authors(record.authors),
        journal=record.journal or None,
        pmid=record.pmid,
        doi=record.doi,
        year=record.year,
        tool=tool,
        query=query,
    )


def _cite_articles(
    services: LiteratureServices, records: list[PubMedRecord], tool: str, query: str | None
) -> tuple[list[CitedArticle], str]:
    evidence = [_article_evidence(r, tool, query) for r in records]
    refs, in_run = _register(evidence)
    note = "" if in_run else services.persist([e for e in evidence if e.text != e.title])
    return [CitedArticle(ref=ref, record=r) for ref, r in zip(refs, records, strict=True)], note


LITERATURE = Toolbox[LiteratureServices](explain=_explain)


@LITERATURE.tool(
    "Search PubMed and return matching articles with abstracts, each with a citation number [n]. "
    "Use for published biomedical evidence: trials, mechanisms, drug effects.",
    needs_network=True,
)
def pubmed_search(services: LiteratureServices, args: PubMedSearchArgs) -> PubMedResult:
    services.pubmed.recorded_at = None
    page = services.pubmed.esearch(
        args.query,
        retmax=args.max_results,
        mindate=args.min_date,
        maxdate=args.max_date,
        sort=args.sort,
    )
    result = PubMedResult(
        query=args.query, count=page.count, query_translation=page.query_translation, warnings=page.warnings
    )
    if page.pmids and args.abstracts:
        result.articles, result.note = _cite_articles(
            services, services.pubmed.efetch(page.pmids), "pubmed_search", args.query
        )
    elif page.pmids:
        result.summaries = services.pubmed.esummary(page.pmids)
    result.recorded_at = services.pubmed.recorded_at
    return result


@LITERATURE.tool(
    "Fetch PubMed articles by PMID: title, abstract, authors, journal, year, DOI, MeSH terms, "
    "each with a citation number [n].",
    needs_network=True,
)
def pubmed_fetch(services: LiteratureServices, args: PubMedFetchArgs) -> PubMedResult:
    services.pubmed.recorded_at = None
    records = services.pubmed.efetch(args.pmids)
    articles, note = _cite_articles(services, records, "pubmed_fetch", None)
    found = {r.pmid for r in records}
    return PubMedResult(
        articles=articles,
        missing=[p for p in dict.fromkeys(args.pmids) if p not in found],
        recorded_at=services.pubmed.recorded_at,
        note=note,
    )


@LITERATURE.tool(
    "Search the web; returns titles, URLs and snippets with citation numbers [n]. Read a page "
    "with read_url before relying on it.",
    needs_network=True,
)
def web_search(services: LiteratureServices, args: WebSearchArgs) -> WebSearchResult:
    found = services.web.search(args.query, args.max_results, args.time_limit)
    evidence = [
        Evidence(
            text=f"{r.title}: {r.snippet}" if r.snippet else r.title,
            source_kind="web",
            title=r.title,
            url=r.url,
            tool="web_search",
            query=args.query,
        )
        for r in found.results
    ]
    refs, _ = _register(evidence)
    return WebSearchResult(
        query=args.query,
        backend=found.backend,
        results=[CitedWebResult(ref=ref, result=r) for ref, r in zip(refs, found.results, strict=True)],
        recorded_at=found.recorded_at,
    )


@LITERATURE.tool(
    "Read a web page (HTML, plain text or PDF) and return its main text as passages with citation "
    "numbers [n]; give focus to see the passages most relevant to a question.",
    needs_network=True,
)
def read_url(services: LiteratureServices, args: ReadUrlArgs) -> ReadUrlResult:
    page = read_page(services.pages, args.url, allow_loopback=services.settings.allow_loopback)
    order = list(range(len(page.chunks)))
    if args.focus:
        from txscout.core.lexical import LexicalIndex

        index = LexicalIndex.build([str(i) for i in order], page.chunks, "page")
        ranked = [int(i) for i, _ in index.search(args.focus, len(order))]
        order = ranked + [i for i in order if i not in set(ranked)]
    shown = sorted(order[: args.max_chunks])
    evidence = page.evidence(tool="read_url", query=args.focus)
    refs, in_run = _register([evidence[i] for i in shown])
    unseen = [e for i, e in enumerate(evidence) if not in_run or i not in shown]
    note = services.persist(unseen)
    passages = [CitedPassage(ref=ref, index=i, text=page.chunks[i]) for ref, i in zip(refs, shown, strict=True)]
    return ReadUrlResult(page=page, passages=passages, note=note)


def literature_tools(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    persist: Persist | None = None,
    ddgs_search: Callable[..., list[dict[str, object]]] | None = None,
    backoff: float = 0.5,
) -> list[BaseTool]:
    """pubmed_search, pubmed_fetch, web_search and read_url, configured from ``settings``."""
    services = LiteratureServices(
        settings, transport=transport, persist=persist, ddgs_search=ddgs_search, backoff=backoff
    )
    return LITERATURE.build(services, offline=settings.offline)
