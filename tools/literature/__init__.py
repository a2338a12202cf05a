"""Literature tools: PubMed through NCBI E-utilities, web search, and reading web pages.

All network access goes through :mod:`tools.literature.http` (recording cache, retries, SSRF guard)
and NCBI calls share one process-wide rate limiter (:mod:`tools.literature.ratelimit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings


def literature_tools(settings: Settings, **options: Any) -> list[BaseTool]:
    """pubmed_search, pubmed_fetch, web_search and read_url configured from ``settings``.

    ``options`` are test seams (``transport``, ``persist``, ``ddgs_search``, ``backoff``); see
    :func:`tools.literature.tools.literature_tools`.
    """
    from txscout.tools.literature.tools import literature_tools as build

    return build(settings, **options)


__all__ = ["literature_tools"]
