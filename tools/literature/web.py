"""Web search through ``ddgs`` (no key, no server) or a self-hosted SearxNG instance's JSON API.

Both backends produce the same typed results, and both are recorded in the HTTP cache: SearxNG
through the caching transport, ddgs (which has its own HTTP stack) by recording its parsed results
under a key made from the query, so a replayed run sees the same hits either way.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel

from txscout.tools.literature.http import (
    HttpCache,
    OfflineMiss,
    Unreachable,
    from_cache,
    send_with_retry,
)
from txscout.tools.literature.ratelimit import shared_limiter

TimeLimit = Literal["day", "week", "month", "year"]
_DDGS_TIMELIMIT = {"day": "d", "week": "w", "month": "m", "year": "y"}
_SEARX_TIMELIMIT = {"day": "day", "week": "week", "month": "month", "year": "year"}


class WebResult(BaseModel):
    title: str
    url: str
    snippet: str = ""
    source: str = ""


class WebResults(BaseModel):
    query: str
    backend: str
    results: list[WebResult]
    recorded_at: float | None = None


class SearchBackend(Protocol):
    name: str

    def search(self, query: str, max_results: int, time_limit: TimeLimit | None) -> WebResults: ...


def _clean(value: Any) -> str:
    return " ".join(str(value or "").split())


def ddgs_results(raw: list[dict[str, Any]]) -> list[WebResult]:
    """Typed results from ddgs dicts (``title``, ``href``, ``body``); entries without a URL are dropped."""
    out = []
    for item in raw:
        url = _clean(item.get("href") or item.get("url"))
        if url.startswith(("http://", "https://")):
            out.append(WebResult(title=_clean(item.get("title")) or url, url=url, snippet=_clean(item.get("body"))))
    return out


def searxng_results(payload: dict[str, Any]) -> list[WebResult]:
    """Typed results from SearxNG's ``format=json`` answer (``title``, ``url``, ``content``, ``engine``)."""
    out = []
    for item in payload.get("results") or []:
        url = _clean(item.get("url"))
        if url.startswith(("http://", "https://")):
            out.append(
                WebResult(
                    title=_clean(item.get("title")) or url,
                    url=url,
                    snippet=_clean(item.get("content")),
                    source=_clean(item.get("engine")),
                )
            )
    return out


def _default_ddgs_search(query: str, max_results: int, timelimit: str | None) -> list[dict[str, Any]]:
    from ddgs import DDGS
    from ddgs.exceptions import DDGSException, TimeoutException

    try:
        return DDGS(timeout=10).text(query, max_results=max_results, timelimit=timelimit)
    except TimeoutException as exc:
        raise Unreachable(f"web search timed out: {exc}") from exc
    except DDGSException as exc:
        if "no results" in str(exc).lower():
            return []
        raise Unreachable(f"web search failed: {exc}") from exc


class DdgsBackend:
    """ddgs metasearch. ``search_fn`` stands in for the library in tests."""

    name = "ddgs"

    def __init__(
        self,
        cache: HttpCache,
        offline: Callable[[], bool],
        search_fn: Callable[[str, int, str | None], list[dict[str, Any]]] = _default_ddgs_search,
    ) -> None:
        self.cache = cache
        self.offline = offline
        self.search_fn = search_fn
        # The engines behind ddgs throttle bursts; one search a second keeps them answering.
        self.limiter = shared_limiter("ddgs", 1.0)

    def search(self, query: str, max_results: int, time_limit: TimeLimit | None) -> WebResults:
        timelimit = _DDGS_TIMELIMIT[time_limit] if time_limit else None
        key = "ddgs:" + hashlib.sha256(json.dumps([query, max_results, timelimit]).encode()).hexdigest()
        entry = self.cache.get(key)
        if entry is not None:
            results = [WebResult(**r) for r in entry["value"]]
            return WebResults(query=query, backend=self.name, results=results, recorded_at=entry["recorded_at"])
        if self.offline():
            raise OfflineMiss(f"ddgs:{query}", "the network is off (--offline)")
        if self.cache.mode == "replay-only":
            raise OfflineMiss(f"ddgs:{query}", "the HTTP cache is in replay-only mode")
        self.limiter.acquire()
        results = ddgs_results(self.search_fn(query, max_results, timelimit))[:max_results]
        if results:
            self.cache.put(key, {"value": [r.model_dump() for r in results], "recorded_at": time.time()})
        return WebResults(query=query, backend=self.name, results=results)


class SearxngBackend:
    """A SearxNG instance the user runs; its URL is configuration, so the SSRF guard does not apply."""

    name = "searxng"

    def __init__(self, base_url: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    def search(self, query: str, max_results: int, time_limit: TimeLimit | None) -> WebResults:
        params = {"q": query, "format": "json"}
        if time_limit:
            params["time_range"] = _SEARX_TIMELIMIT[time_limit]

        def build() -> httpx.Request:
            return self.client.build_request("GET", f"{self.base_url}/search", params=params)

        response = send_with_retry(self.client, build, attempts=3)
        if response.status_code == 403:
            raise Unreachable(
                "SearxNG refused the JSON API (HTTP 403): enable 'json' under search.formats in its settings.yml"
            )
        if response.status_code >= 400:
            raise Unreachable(f"SearxNG answered HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise Unreachable("SearxNG did not answer with JSON") from exc
        return WebResults(
            query=query,
            backend=self.name,
            results=searxng_results(payload)[:max_results],
            recorded_at=from_cache(response),
        )
