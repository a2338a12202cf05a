"""Fetch one web page safely and reduce it to its main text.

The fetch is guarded before and after connecting (see :func:`vet_url` and :func:`check_peer`) and
connects to the very address that was checked, for the first request and every redirect, so a second
DNS answer cannot point it elsewhere. It follows at most a few redirects, reads at most ``max_bytes``
and accepts only text formats; trafilatura then separates the article from navigation, adverts and
footers.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import httpx
from pydantic import BaseModel

from txscout.core.chunking import chunk_text
from txscout.core.evidence import Evidence
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
MAX_REDIRECTS = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
_YEAR = re.compile(r"\b(19|20)\d\d\b")


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

    def evidence(self, *, tool: str, query: str | None = None) -> list[Evidence]:
        """One evidence record per chunk, each carrying the page's provenance."""
        return [
            Evidence(
                text=chunk,
                source_kind="web",
                title=self.title,
                url=self.url,
                doi=self.doi,
                year=self.year,
                tool=tool,
                query=query,
            )
            for chunk in self.chunks
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
    headers = {"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"}
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
            body, truncated = _read_capped(response, max_bytes)
        finally:
            response.close()
        return response, body, truncated
    raise BlockedURL(f"more than {max_redirects} redirects from {url}")


def _doi(metadata: Any) -> str | None:
    for candidate in (getattr(metadata, "url", None), getattr(metadata, "id", None)):
        if candidate and "doi.org/" in str(candidate):
            return str(candidate).split("doi.org/", 1)[1]
    return None


def extract(body: bytes, media_type: str, url: str) -> tuple[str, str, int | None, str | None]:
    """(title, main text, year, doi) of a page; plain text is taken as it is."""
    if media_type in _TEXT_TYPES:
        text = body.decode("utf-8", "replace")
        first_line = text.strip().splitlines()[0] if text.strip() else ""
        return first_line[:200].lstrip("# "), text, None, None
    import trafilatura

    document = trafilatura.bare_extraction(
        body, url=url, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
    )
    if document is None or not (document.text or "").strip():
        return "", "", None, None
    year_match = _YEAR.search(str(document.date or ""))
    return (
        document.title or "",
        document.text,
        int(year_match.group(0)) if year_match else None,
        _doi(document),
    )


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
    if media_type not in _HTML_TYPES + _TEXT_TYPES:
        raise UnsupportedContent(f"{url} is {media_type}, not a web page; read_url reads HTML and plain text only")
    final_url = str(response.request.url)
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
