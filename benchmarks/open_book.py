"""The open-book setting: the suite's documents stored once in an evidence store of their own, then each
question asked without its context, so the agent has to find the passage itself.

The store lives under the data folder, named by the suite and the data's SHA-256, and is filled once:
a marker written after the last document says it is complete, so later runs (and resumes) open it
without re-reading or re-embedding anything, and a changed data file gets a store of its own. It is
never the user's own evidence store: answers there could come from anything the user read.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from txscout.core.errors import UserError
from txscout.core.files import atomic_write_text, private_dir
from txscout.core.settings import data_dir

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from txscout.benchmarks.adapters.base import Adapter
    from txscout.benchmarks.items import LoadResult
    from txscout.core.settings import Settings

MARKER = "open-book.json"


def store_dir(suite: str, data_sha256: str) -> Path:
    """Where a suite's open-book store for this data lives."""
    return data_dir() / "bench-stores" / f"{suite}-{data_sha256[:16]}"


def open_book_settings(
    adapter: Adapter, loaded: LoadResult, data_sha256: str, settings: Settings, console: Console
) -> Settings:
    """``settings`` pointed at the suite's open-book store, filled first if it is not complete."""
    folder = store_dir(adapter.name, data_sha256)
    marker = folder / MARKER
    if not _complete(marker, data_sha256):
        documents = adapter.documents(loaded)
        if not documents:
            raise UserError(f"the {adapter.name} data has no documents to store for the open-book setting")
        from txscout.memory.store import EvidenceStore

        private_dir(folder)
        store = EvidenceStore(path=folder)
        with console.status(f"storing {len(documents):,} {adapter.name} documents for the open-book setting…"):
            store.add(documents)
        marker_text = {"data_sha256": data_sha256, "documents": len(documents), "chunks": store.count()}
        atomic_write_text(marker, json.dumps(marker_text) + "\n")
    return settings.model_copy(update={"memory_path": folder, "memory_url": None})


def _complete(marker: Path, data_sha256: str) -> bool:
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("data_sha256") == data_sha256
    except (OSError, ValueError, AttributeError):
        return False
