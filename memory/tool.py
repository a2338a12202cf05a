"""``memory_search``: what earlier runs found, searched by meaning and by exact terms."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from txscout.core.toolkit import Toolbox, ToolError, current_context
from txscout.memory.store import EvidenceStore, Hit, SearchMode, StoreError

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings

_SHOWN_CHARS = 900


class MemorySearchArgs(BaseModel):
    query: str = Field(min_length=1, description="what to look for in evidence gathered by earlier searches")
    k: int = Field(default=5, ge=1, le=20, description="how many passages to return")
    mode: SearchMode = Field(default="hybrid", description="hybrid (default), dense or lexical")


class CitedHit(BaseModel):
    ref: int | None = None
    hit: Hit


class MemorySearchResult(BaseModel):
    query: str
    hits: list[CitedHit]
    store_size: int | None = None

    def render(self) -> str:
        if not self.hits:
            if self.store_size == 0:
                return "Memory is empty: nothing has been stored yet. Use pubmed_search or web_search."
            return f"Nothing in memory matches {self.query!r} ({self.store_size} passages stored)."
        lines = [f"Memory: {len(self.hits)} passages for {self.query!r}"]
        for cited in self.hits:
            e = cited.hit.evidence
            where = f"PMID {e.pmid}" if e.pmid else (e.url or e.doi or e.source_kind)
            ref = f"[{cited.ref}] " if cited.ref is not None else ""
            meta = ", ".join(p for p in (where, str(e.year or "")) if p)
            text = e.text if len(e.text) <= _SHOWN_CHARS else e.text[:_SHOWN_CHARS].rsplit(" ", 1)[0] + " …"
            lines.append(f"{ref}({meta}) {e.label if e.page else e.title}\n{text}")
        return "\n".join(lines)


class MemoryService:
    """The evidence store behind ``memory_search``, opened on first use: most runs never search memory."""

    def __init__(self, settings: Settings, store: EvidenceStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()

    @property
    def store(self) -> EvidenceStore:
        with self._lock:
            if self._store is None:
                self._store = EvidenceStore(self.settings)
            return self._store


def _explain(tool: str, exc: Exception) -> ToolError | None:
    return ToolError(f"{tool}: {exc}") if isinstance(exc, StoreError) else None


MEMORY = Toolbox[MemoryService](explain=_explain)


@MEMORY.tool(
    "Search evidence stored by earlier PubMed and web lookups (abstracts, page passages) by meaning "
    "and exact terms; each passage has a citation number [n] and its original source."
)
def memory_search(memory: MemoryService, args: MemorySearchArgs) -> MemorySearchResult:
    target = memory.store
    hits = target.search(args.query, k=args.k, mode=args.mode)
    size = None if hits else target.count()
    ctx = current_context()
    cited = [CitedHit(ref=ctx.evidence(h.evidence.model_copy()), hit=h) for h in hits]
    return MemorySearchResult(query=args.query, hits=cited, store_size=size)


def memory_tools(settings: Settings, store: EvidenceStore | None = None) -> list[BaseTool]:
    """``memory_search`` over the evidence store in ``settings`` (opened on first use)."""
    return MEMORY.build(MemoryService(settings, store), offline=settings.offline)
