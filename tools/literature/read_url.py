"""Fetch one web page safely and reduce it to its main text.

The fetch is guarded before and after connecting (see :func:`vet_url` and :func:`check_peer`) and
connects to the very address that was checked, for the first request and every redirect, so a second
DNS answer cannot point it elsewhere. It follows at most a few redirects, reads at most ``max_bytes``
and accepts only text formats; trafilatura then separates the article from navigation, adverts and
footers.
"""

from __future__ import annotations

import ipaddress

import httpx
from pydantic import BaseModel, Field

from txscout.core.chunking import chunk_text
from txscout.core.evidence import Evidence
from txscout.core.webtext import TEXT_TYPES, extract
from txscout.tools.literature.http import (
    CONNECT_TO,
    BlockedURL,
    address_reach,
    check_peer,
    from_cache,
    send_with_retry,
    vet_url,
)

MAX_BYTES = 5_000_000
MAX_PDF_BYTES = 50_000_000
"""Papers with figures run to tens of megabytes; the PDF parser runs in a memory-capped process."""
_PDF_TYPES = ("application/pdf", "application/x-pdf")
MAX_REDIRECTS = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class UnsupportedContent(ValueError):
    """The URL answered with something that is not a readable text page."""


class Page(BaseModel):
    url: str
    requested_url: str
    title: str = ""
    text: str
    chunks: list[str]
    content_type: str
    year: int | None = None
    doi: str | None = None
    truncated: bool = False
    recorded_at: float | None = None
    authors: str | None = None
    chunk_pages: list[int] = Field(default_factory=list)
    """For a PDF, the page of each chunk (aligned with ``chunks``)."""
    chunk_sections: list[str | None] = Field(default_factory=list)

    def evidence(self, *, tool: str, query: str | None = None) -> list[Evidence]:
        """One evidence record per chunk, each carrying the page's provenance."""
        pages: list[int | None] = list(self.chunk_pages) or [None] * len(self.chunks)
        sections = list(self.chunk_sections) or [None] * len(self.chunks)
        return [
            Evidence(
                text=chunk,
                source_kind="web",
                title=self.title,
                authors=self.authors,
                url=self.url,
                doi=self.doi,
                year=self.year,
                page=page,
                section=section,
                tool=tool,
                query=query,
            )
            for chunk, page, section in zip(self.chunks, pages, sections, strict=True)
        ]


def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """At most ``max_bytes`` of the body, and whether more was left unread."""
    buffer = bytearray()
    for chunk in response.iter_bytes():
        buffer += chunk
        if len(buffer) > max_bytes:
            return bytes(buffer[:max_bytes]), True
    return bytes(buffer), False


def _media_type(response: httpx.Response, body_start: bytes) -> str:
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared:
        return declared
    sniff = body_start[:512].lstrip().lower()
    if sniff.startswith(b"%pdf-"):
        return "application/pdf"
    return "text/html" if sniff.startswith((b"<!doctype html", b"<html")) else "application/octet-stream"


def fetch(
    client: httpx.Client,
    url: str,
    *,
    allow_loopback: bool = False,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
) -> tuple[httpx.Response, bytes, bool]:
    """GET ``url`` following redirects by hand so that every hop passes the SSRF guard and connects to
    the address the guard checked. ``allow_loopback`` lets a loopback URL be read (a local mirror) and
    its redirects stay on loopback; a page elsewhere may never redirect into this machine."""
    current, address = vet_url(url, allow_loopback=allow_loopback)
    local = address is not None and address_reach(ipaddress.ip_address(address)) == "loopback"
    headers = {"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.1"}
    for _ in range(max_redirects + 1):
        request = client.build_request("GET", current, headers=headers, extensions={CONNECT_TO: address})
        response = send_with_retry(client, lambda request=request: request, attempts=2, stream=True)
        try:
            check_peer(response, allow_loopback=local)
            if response.is_redirect:
                location = response.headers.get("location", "")
                response.close()
                current, address = vet_url(str(httpx.URL(current).join(location)), allow_loopback=local)
                continue
            is_pdf = response.headers.get("content-type", "").split(";")[0].strip().lower() in _PDF_TYPES
            body, truncated = _read_capped(response, max(max_bytes, MAX_PDF_BYTES) if is_pdf else max_bytes)
        finally:
            response.close()
        return response, body, truncated
    raise BlockedURL(f"more than {max_redirects} redirects from {url}")


def read_page(
    client: httpx.Client,
    url: str,
    *,
    allow_loopback: bool = False,
    max_bytes: int = MAX_BYTES,
    chunk_chars: int = 900,
) -> Page:
    response, body, truncated = fetch(client, url, allow_loopback=allow_loopback, max_bytes=max_bytes)
    if response.status_code >= 400:
        raise UnsupportedContent(f"{url} answered HTTP {response.status_code}")
    media_type = _media_type(response, body)
    final_url = str(response.request.url)
    if media_type in _PDF_TYPES:
        return _pdf_page(body, url, final_url, truncated, chunk_chars, from_cache(response))
    if media_type not in _HTML_TYPES + TEXT_TYPES:
        raise UnsupportedContent(f"{url} is {media_type}, not a web page; read_url reads HTML, plain text and PDF only")
    title, text, year, doi = extract(body, media_type, final_url)
    if not text.strip():
        raise UnsupportedContent(f"no readable main text found at {final_url}")
    return Page(
        url=final_url,
        requested_url=url,
        title=title,
        text=text,
        chunks=chunk_text(text, chunk_chars),
        content_type=media_type,
        year=year,
        doi=doi,
        truncated=truncated,
        recorded_at=from_cache(response),
    )


def _pdf_page(body: bytes, url: str, final_url: str, truncated: bool, chunk_chars: int, recorded: float | None) -> Page:
    """A PDF response read page by page with the parser ``memory add`` uses, in a memory-capped process."""
    from txscout.core.pdf import PdfError
    from txscout.core.pdf_pool import parse_pdf_bytes

    if truncated:
        raise UnsupportedContent(f"{url}: the PDF is larger than {MAX_PDF_BYTES // 1_000_000} MB, the most read")
    try:
        parsed = parse_pdf_bytes(body, final_url)
    except PdfError as exc:
        raise UnsupportedContent(str(exc)) from None
    chunks: list[str] = []
    pages: list[int] = []
    sections: list[str | None] = []
    for passage in parsed.passages:
        for chunk in chunk_text(passage.text, chunk_chars):
            chunks.append(chunk)
            pages.append(passage.page)
            sections.append(passage.section)
    return Page(
        url=final_url,
        requested_url=url,
        title=parsed.title or final_url.rsplit("/", 1)[-1],
        text="\n\n".join(p.text for p in parsed.passages),
        chunks=chunks,
        content_type="application/pdf",
        year=parsed.year,
        doi=parsed.doi,
        authors="; ".join(parsed.authors) or None,
        recorded_at=recorded,
        chunk_pages=pages,
        chunk_sections=sections,
    )
