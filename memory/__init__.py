"""The evidence store: provenance-carrying chunks in chromadb with hybrid dense + BM25 retrieval.

Import-light on purpose (``txscout --help`` must start fast): chromadb, torch and bm25s load inside
the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings


def memory_tools(settings: Settings) -> list[BaseTool]:
    """``memory_search`` over the store configured in ``settings``."""
    from txscout.memory.tool import memory_tools as build

    return build(settings)


__all__ = ["memory_tools"]
