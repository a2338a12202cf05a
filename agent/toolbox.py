"""The default tool set: chemistry, literature and memory tools wired to one evidence store.

Tools and memory do not know each other; this is where literature results get a place to persist.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.core.evidence import Evidence
    from txscout.core.settings import Settings
    from txscout.memory.store import EvidenceStore


class _LazyStore:
    """Opens the evidence store on the first write or search: most runs never need chromadb loaded."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: EvidenceStore | None = None
        self._lock = threading.Lock()

    def get(self) -> EvidenceStore:
        with self._lock:
            if self._store is None:
                from txscout.memory.store import EvidenceStore

                self._store = EvidenceStore(self.settings)
            return self._store

    def add(self, items: list[Evidence]) -> int:
        return self.get().add(items)


def default_tools(settings: Settings | None = None) -> list[BaseTool]:
    """Every built-in tool, configured from ``settings`` (the effective settings when omitted)."""
    from txscout.core.settings import load_settings
    from txscout.memory import memory_tools
    from txscout.tools.chemistry import chemistry_tools
    from txscout.tools.literature import literature_tools

    settings = settings or load_settings()
    store = _LazyStore(settings)
    return [
        *chemistry_tools(settings),
        *literature_tools(settings, persist=store.add),
        *memory_tools(settings),
    ]
