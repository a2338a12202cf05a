"""The evidence store: chromadb for dense vectors and provenance, bm25s for exact terms, fused by rank.

By default the store is a chromadb ``PersistentClient`` directory at ``$XDG_DATA_HOME/txscout/memory``
(``~/.local/share/txscout/memory``; ``memory_path`` or ``TXSCOUT_MEMORY_PATH`` moves it). With
``memory_url`` it is a collection on a ``chroma run`` server shared by several users.

Retrieval is hybrid: cosine similarity from chroma's HNSW index and BM25 from bm25s, fused by a
weighted sum of normalised scores (:func:`fuse`).

Chunks are identified by their content hash, so adding the same abstract twice, from two runs or two
processes, stores it once. Writers take a file lock next to the store so that two processes adding at
the same time queue instead of corrupting each other; readers never wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from txscout.core.chunking import DEFAULT_MAX_CHARS, chunk_text
from txscout.core.errors import UserError
from txscout.core.evidence import Evidence
from txscout.core.files import atomic_writer, check_text, private_dir, sniff_text
from txscout.memory.embeddings import embedder_name

if TYPE_CHECKING:
    from txscout.core.lexical import LexicalIndex
    from txscout.core.settings import Settings
    from txscout.memory.embeddings import Embedder
    from txscout.memory.query_encoder import QueryEncoder

SearchMode = Literal["hybrid", "dense", "lexical"]

COLLECTION = "txscout_evidence"
DENSE_WEIGHT = 0.6
_BATCH = 1000
_META_FIELDS = ("source_kind", "title", "authors", "journal", "pmid", "doi", "url", "year", "page", "section",
                "tool", "query", "run_id", "retrieved_at")  # fmt: skip
_EMBED_BATCH = 64


class StoreError(UserError):
    """The store cannot be used as asked (unreadable, locked, unreachable, built with another model).

    It is a :class:`UserError` because the fix is the user's (move a directory, start a server), and
    nothing in the store has been changed when it is raised.
    """


class Hit(BaseModel):
    """A retrieved chunk. ``score`` is cosine similarity (dense), BM25 (lexical) or the fusion of both
    (hybrid, between 0 and 1); the ranks say which retriever found it and where. ``similarity`` is the
    cosine similarity of chunk and query whenever it was computed (dense and hybrid): unlike the fused
    score, which ranks candidates against each other, it is absolute, so a relevance floor can be set on it."""

    evidence: Evidence
    score: float
    similarity: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None


class DocumentInfo(BaseModel):
    """One stored document: a file, a PubMed record, a web page or one record of a corpus."""

    doc: str
    label: str
    source_kind: str
    locator: str
    chunks: int
    pages: int | None = None
    added: float | None = None


class StoreStats(BaseModel):
    location: str
    chunks: int
    sources: int
    by_kind: dict[str, int] = Field(default_factory=dict)
    embedder: str
    oldest: float | None = None
    newest: float | None = None
    size_bytes: int | None = None


def document_key(item: Evidence) -> str:
    """The document a chunk belongs to when the caller names none: its PubMed record, its page (URL
    without fragment) or, for loose text, the item itself."""
    if item.pmid:
        return f"pmid:{item.pmid}"
    if item.url:
        return item.url.split("#", 1)[0]
    if item.doi:
        return f"doi:{item.doi}"
    return f"text:{item.content_hash}"


def _meta_document(meta: dict[str, Any]) -> str:
    """The document key of a stored chunk; chunks stored before documents were recorded get one from
    their provenance, as :func:`document_key` would have given."""
    if meta.get("doc"):
        return str(meta["doc"])
    if meta.get("pmid"):
        return f"pmid:{meta['pmid']}"
    if meta.get("url"):
        return str(meta["url"]).split("#", 1)[0]
    if meta.get("doi"):
        return f"doi:{meta['doi']}"
    return f"text:{meta.get('parent', '')}"


def _metadata(
    item: Evidence, parent: str, chunk: int, doc: str | None = None, sha: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {name: getattr(item, name) for name in _META_FIELDS if getattr(item, name) not in (None, "")}
    return meta | {"parent": parent, "chunk": chunk, "doc": doc or document_key(item)} | ({"sha": sha} if sha else {})


def _evidence(text: str, meta: dict[str, Any]) -> Evidence:
    fields = {name: meta[name] for name in _META_FIELDS if name in meta}
    return Evidence(text=text, **fields)


def refuse_special(path: Path) -> None:
    """Refuse to write over anything but a regular file: writing "to" a symlink, FIFO or device by
    renaming a new file over it would silently replace it (as root, even ``/dev/full``)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise StoreError(f"refusing to write {path}: it is a symbolic link; give the file it points to")
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise StoreError(f"refusing to write {path}: it is {kind}, not a regular file")


def _corpus_record(data: dict[str, Any], path: Path) -> Evidence:
    """An evidence record from one JSONL line: an export's full record, or a corpus record with only
    some of text, title, authors (a string or a list), year, pmid, doi, url and page. A record with no
    link of its own points at the corpus file."""
    fields = {k: v for k, v in data.items() if k in Evidence.model_fields}
    if isinstance(fields.get("authors"), list):
        fields["authors"] = "; ".join(str(a) for a in fields["authors"])
    if fields.get("pmid") is not None:
        fields["pmid"] = str(fields["pmid"])
    fields.setdefault("source_kind", "pubmed" if fields.get("pmid") else "file")
    if not any(fields.get(k) for k in ("pmid", "doi", "url", "tool")):
        fields["url"] = Path(path).resolve().as_uri()
    return Evidence(**fields)


def _batched(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fuse(dense: dict[str, float], lexical: dict[str, float], alpha: float = DENSE_WEIGHT) -> dict[str, float]:
    """Weighted sum of min-max normalised cosine and max-normalised BM25 over the union of candidates.

    Score fusion rather than reciprocal-rank fusion because it keeps how sure each retriever is: on
    PubMedQA it reaches recall@1 0.981 where RRF stays at 0.977 (see benchmarks/perf/retrieval_perf.py).
    A candidate missing from the BM25 list scores 0 there, which is what BM25 gives a chunk sharing no
    query term.
    """
    keys = set(dense) | set(lexical)
    if not keys:
        return {}
    low = min(dense.values(), default=0.0)
    span = (max(dense.values(), default=0.0) - low) or 1.0
    top = max(lexical.values(), default=0.0) or 1.0
    return {
        key: alpha * ((dense.get(key, low) - low) / span) + (1 - alpha) * (lexical.get(key, 0.0) / top) for key in keys
    }


class _ChromaEmbedding:
    """Chroma's embedding-function protocol over our offline model, so that chroma never falls back to
    its default model (which it would try to download). The store passes vectors itself; this is only
    called if someone queries the collection with text through chroma directly."""

    def __init__(self, quantized: bool = True) -> None:
        self.quantized = quantized

    def __call__(self, input: list[str]) -> list[Any]:
        from txscout.memory.embeddings import get_embedder

        return list(get_embedder(quantized=self.quantized).encode(list(input)))

    @staticmethod
    def name() -> str:
        return "txscout-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"quantized": self.quantized}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> _ChromaEmbedding:
        return _ChromaEmbedding(bool(config.get("quantized", True)))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]

    def embed_query(self, input: list[str]) -> list[Any]:
        return self(input)


class EvidenceStore:
    """Evidence chunks with provenance, searchable by meaning and by exact terms.

    Opening is lazy: constructing a store costs nothing, the first call opens chromadb and the first
    add or search loads the embedding model.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        path: Path | None = None,
        url: str | None = None,
        embedder: Embedder | None = None,
        quantized: bool = True,
        chunk_chars: int = DEFAULT_MAX_CHARS,
        lock_timeout: float = 60.0,
    ) -> None:
        if settings is not None:
            path = path or settings.memory_path
            url = url or settings.memory_url
        if url is None and path is None:
            from txscout.core.settings import load_settings

            path = load_settings().memory_path
        self.url = url
        self.path = None if url else Path(path).expanduser()  # type: ignore[arg-type]
        self._embedder = embedder
        self.embedder_name = embedder.name if embedder else embedder_name(quantized)
        self.quantized = embedder.quantized if embedder else quantized
        self.chunk_chars = chunk_chars
        self.lock_timeout = lock_timeout
        self._client: Any = None
        self._collection: Any = None
        self._lexical: LexicalIndex | None = None
        self._sized: tuple[str, int] | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- opening -----------------------------------------------------------------------------------

    @property
    def location(self) -> str:
        return self.url or str(self.path)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from txscout.memory.embeddings import EmbeddingUnavailable, get_embedder

            try:
                self._embedder = get_embedder(quantized=self.quantized)
            except EmbeddingUnavailable as exc:
                raise StoreError(str(exc)) from exc
        return self._embedder

    def _query_embedder(self) -> Embedder | QueryEncoder:
        """The model for a query: the one given or already loaded, else the numpy encoder, which
        gives the same vectors without importing torch (:mod:`txscout.memory.query_encoder`)."""
        if self._embedder is not None:
            return self._embedder
        from txscout.memory.embeddings import EmbeddingUnavailable
        from txscout.memory.query_encoder import get_query_encoder

        try:
            return get_query_encoder(quantized=self.quantized)
        except EmbeddingUnavailable as exc:
            raise StoreError(str(exc)) from exc

    def _lexical_dir(self) -> Path:
        if self.path is not None:
            return self.path / "lexical"
        from platformdirs import user_cache_dir

        key = uuid.uuid5(uuid.NAMESPACE_URL, self.url or "").hex[:12]
        return Path(user_cache_dir("txscout")) / "lexical" / key

    def _open_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.url:
            parts = urlsplit(self.url if "://" in self.url else f"http://{self.url}")
            try:
                return chromadb.HttpClient(
                    host=parts.hostname or "localhost",
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:
                raise StoreError(f"cannot reach the chroma server at {self.url}: {exc}") from exc
        assert self.path is not None
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"memory store path {self.path} is a file, not a directory")
        try:
            private_dir(self.path)  # what a person has read is theirs alone: 0700
            return chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except Exception as exc:
            raise StoreError(self._unreadable(exc)) from exc

    def _unreadable(self, exc: BaseException) -> str:
        return (
            f"memory store {self.location} cannot be read ({exc.__class__.__name__}: {exc}); it may be "
            "corrupt or from an incompatible chromadb. Nothing was changed: move it aside or set "
            "--memory-path to use another store"
        )

    def _coll(self) -> Any:
        if self._collection is not None:
            return self._collection
        if self._client is None:
            self._client = self._open_client()
        try:
            collection = self._client.get_or_create_collection(
                COLLECTION,
                embedding_function=_ChromaEmbedding(self.quantized),
                metadata={"embedder": self.embedder_name, "created_by": "txscout"},
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise StoreError(self._unreadable(exc)) from exc
        stored = (collection.metadata or {}).get("embedder")
        if stored and stored != self.embedder_name:
            raise StoreError(
                f"memory store {self.location} holds {stored} vectors, not {self.embedder_name}; "
                "use a store built with the same model"
            )
        self._collection = collection
        return collection

    @contextlib.contextmanager
    def _failing_as(self, doing: str) -> Iterator[None]:
        """Any failure of the store's client inside the block becomes one ``StoreError`` naming what was
        being done ("read", "write to") and the store; a ``StoreError`` passes unchanged."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"could not {doing} memory store {self.location}: {exc}") from exc

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        if self.path is None:
            yield  # a server has no lock across clients; _written_by attributes each chunk to one write
            return
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path / ".write.lock"), timeout=self.lock_timeout)
        try:
            with lock:
                yield
        except Timeout as exc:
            raise StoreError(
                f"memory store {self.path} is locked by another txscout process (waited "
                f"{self.lock_timeout:.0f} s); try again when it has finished"
            ) from exc

    def _generation(self) -> str:
        """The store's write generation, read fresh because another process may have written since."""
        self._coll()
        current = self._client.get_collection(COLLECTION, embedding_function=_ChromaEmbedding(self.quantized))
        return str((current.metadata or {}).get("generation", "0"))

    def _bump_generation(self) -> None:
        collection = self._coll()
        current = self._client.get_collection(COLLECTION, embedding_function=_ChromaEmbedding(self.quantized))
        metadata = dict(current.metadata or {})
        metadata["generation"] = uuid.uuid4().hex
        collection.modify(metadata=metadata)

    # -- writing -----------------------------------------------------------------------------------

    def chunks(
        self, items: Iterable[Evidence], doc: str | None = None, sha: str | None = None
    ) -> list[tuple[Evidence, dict[str, Any]]]:
        """Items cut into chunks that carry their parent's provenance (and ``doc``, the document they
        belong to, and ``sha``, the hash of the file they were read from), deduplicated by content. An
        item whose text is not text (NUL bytes, undecodable characters) is refused before anything is
        stored."""
        out: dict[str, tuple[Evidence, dict[str, Any]]] = {}
        for item in items:
            check_text(item.text, item.locator)
            # Hashed once per item, not once per chunk: a 50 MB file cut into 55,000 chunks would
            # otherwise normalise and hash all 50 MB again for every chunk.
            parent = item.content_hash
            key = doc or document_key(item)
            pieces = chunk_text(item.text, self.chunk_chars)
            if len(pieces) <= 1:
                pieces = [item.text] if item.text.strip() else []
            for index, piece in enumerate(pieces):
                chunk = item if piece == item.text else item.model_copy(update={"text": piece})
                digest = parent if chunk is item else chunk.content_hash
                out.setdefault(digest, (chunk, _metadata(item, parent, index, key, sha)))
        return list(out.values())

    def _existing(self, ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """Which of ``ids`` are stored, each with the document it belongs to and the content hash of the
        file it was read from."""
        collection = self._coll()
        found: dict[str, tuple[str, str | None]] = {}
        for batch in _batched(ids, _BATCH):
            page = collection.get(ids=batch, include=["metadatas"])
            for key, meta in zip(page["ids"], page["metadatas"] or [], strict=True):
                found[key] = (_meta_document(meta or {}), (meta or {}).get("sha"))
        return found

    @staticmethod
    def _to_write(key: str, known: dict[str, tuple[str, str | None]], replacing: str | None, sha: str | None) -> bool:
        """Whether a chunk goes to the store: it is not there, or it is part of the document being
        replaced and was read from that document's other content. A chunk stored from this very content
        (another client adding the same file at the same moment) is left as it is and not counted."""
        if key not in known:
            return True
        doc, stored_sha = known[key]
        return replacing is not None and doc == replacing and stored_sha != sha

    def add(
        self,
        items: list[Evidence],
        *,
        doc: str | None = None,
        sha: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Store evidence; returns how many chunks were written. ``doc`` names the document all items
        come from, else each item's own source is its document.

        With both ``doc`` and ``sha`` (a file's path and content hash) the items are the document's new
        version: its chunks are written (new ones added, ones it shares with the old version
        re-stamped), and only then are the old version's other chunks deleted. A reader, or a process
        killed in between, never finds the document missing; at worst both versions are there until
        :meth:`finish_replacement` runs, which the next ``memory add`` of the file does.

        Embedding happens outside the write lock so a large import does not make other writers wait for
        the model; ``progress`` hears how many chunks each embedded batch held."""
        chunks = self.chunks(items, doc, sha)
        if not chunks:
            return 0
        replacing = doc if doc is not None and sha is not None else None
        with self._failing_as("read"):
            known = self._existing([c.content_hash for c, _ in chunks])
        fresh = [(c, m) for c, m in chunks if self._to_write(c.content_hash, known, replacing, sha)]
        if not fresh:
            return 0
        texts = [self._embedding_text(c) for c, _ in fresh]
        vectors: list[Any] = []
        for batch in _batched(texts, _EMBED_BATCH * 4):
            vectors.extend(self.embedder.encode(batch))
            if progress is not None:
                progress(len(batch))
        rows = [(c, m, v) for (c, m), v in zip(fresh, vectors, strict=True)]
        return self._write(rows, replacing=replacing, sha=sha)

    def add_embedded(self, items: list[Evidence], vectors: Any) -> int:
        """Store items whose vectors were computed elsewhere with this store's model (bulk imports, the
        retrieval benchmark's filler); items are stored as given, not chunked."""
        rows = [
            (item, _metadata(item, item.content_hash, 0), vector) for item, vector in zip(items, vectors, strict=True)
        ]
        return self._write(rows)

    def _write(
        self, rows: list[tuple[Evidence, dict[str, Any], Any]], *, replacing: str | None = None, sha: str | None = None
    ) -> int:
        """Write rows whose ids are not stored yet (or, when ``replacing`` a document, are stored as part
        of it), each chunk stamped with this write and, for a file, with ``parts``: how many chunks its
        content hash has once the write is done, so that :meth:`has_content` can tell a file written
        whole from one whose write was cut short."""
        with self._failing_as("write to"), self._write_lock():
            known = self._existing([c.content_hash for c, _, _ in rows])
            unique: dict[str, tuple[Evidence, dict[str, Any], Any]] = {}
            for row in rows:
                if self._to_write(row[0].content_hash, known, replacing, sha):
                    unique.setdefault(row[0].content_hash, row)
            collection = self._coll()
            write = uuid.uuid4().hex
            stamp: dict[str, Any] = {"write": write}
            if sha is not None:
                stamp["parts"] = len(set(unique) | set(self._ids_where({"sha": sha})))
            # Chunks new to the store are added, so that of two clients sending the same chunk the first
            # copy stays and only its write counts it; chunks the document already holds are re-stamped
            # by an upsert, which merges metadata, so fields the new version lacks are cleared.
            cleared = dict.fromkeys(_META_FIELDS)
            for renewing in (False, True):
                rows_now = [row for key, row in unique.items() if (key in known) == renewing]
                for batch in self._document_batches(rows_now):
                    (collection.upsert if renewing else collection.add)(
                        ids=[c.content_hash for c, _, _ in batch],
                        embeddings=[v for _, _, v in batch],
                        documents=[c.text for c, _, _ in batch],
                        metadatas=[(cleared if renewing else {}) | m | stamp for _, m, _ in batch],
                    )
            added = self._written_by(write, list(unique))
            stale = self._drop_stale(replacing, sha) if replacing is not None and sha is not None else 0
            if added or stale:
                self._bump_generation()
        self._lexical = None
        return added

    def _ids_where(self, where: dict[str, Any]) -> list[str]:
        return list(self._coll().get(where=where, include=[])["ids"])

    def _drop_stale(self, doc: str, sha: str) -> int:
        """Delete the chunks of ``doc`` read from content other than ``sha`` (under the write lock)."""
        stale = self._ids_where({"$and": [{"doc": doc}, {"sha": {"$ne": sha}}]})
        for batch in _batched(stale, _BATCH):
            self._coll().delete(ids=batch)
        return len(stale)

    def finish_replacement(self, doc: str, sha: str) -> int:
        """Delete what is left of ``doc``'s earlier versions now that the version read from content
        ``sha`` is stored whole (a replacement interrupted between writing the new version and deleting
        the old); returns how many chunks went."""
        with self._failing_as("write to"):
            if not self._ids_where({"$and": [{"doc": doc}, {"sha": {"$ne": sha}}]}):
                return 0
            with self._write_lock():
                removed = self._drop_stale(doc, sha)
                if removed:
                    self._bump_generation()
        self._lexical = None
        return removed

    def _document_batches(
        self, rows: list[tuple[Evidence, dict[str, Any], Any]]
    ) -> Iterator[list[tuple[Evidence, dict[str, Any], Any]]]:
        """Rows in batches that never split a document (one chroma add is one transaction), a document
        larger than a batch going alone up to the server's largest batch."""
        by_doc: dict[str, list[tuple[Evidence, dict[str, Any], Any]]] = {}
        for row in rows:
            by_doc.setdefault(str(row[1]["doc"]), []).append(row)
        limit = max(_BATCH, int(self._client.get_max_batch_size()))
        batch: list[tuple[Evidence, dict[str, Any], Any]] = []
        for group in by_doc.values():
            if batch and len(batch) + len(group) > _BATCH:
                yield from _batched(batch, limit)
                batch = []
            batch.extend(group)
        if batch:
            yield from _batched(batch, limit)

    def _written_by(self, write: str, ids: list[str]) -> int:
        """How many of `ids` this write stored. Chroma keeps the first copy of an id and ignores later
        ones, and a shared server has no lock, so two clients may both find a chunk absent and both send
        it; the stamp read back says whose copy the store kept, so each chunk is counted once."""
        collection = self._coll()
        kept = 0
        for batch in _batched(ids, _BATCH):
            metadatas = collection.get(ids=batch, include=["metadatas"])["metadatas"] or []
            kept += sum(1 for meta in metadatas if (meta or {}).get("write") == write)
        return kept

    @staticmethod
    def _embedding_text(chunk: Evidence) -> str:
        # A title says what a chunk from the middle of a page is about; the model reads it too.
        if chunk.title and chunk.title not in chunk.text:
            return f"{chunk.title}. {chunk.text}"
        return chunk.text

    def clear(self) -> int:
        """Delete every chunk; returns how many there were."""
        with self._write_lock():
            collection = self._coll()
            count = collection.count()
            self._client.delete_collection(COLLECTION)
            self._collection = None
            self._lexical = None
            self._sized = None
            shutil.rmtree(self._lexical_dir(), ignore_errors=True)
        return count

    # -- reading -----------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._coll().count())

    def iter_all(
        self, include_embeddings: bool = False, include_text: bool = True
    ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
        """Every chunk as (id, text, metadata, embedding or None), in pages so memory stays flat."""
        collection = self._coll()
        include = [*(["documents"] if include_text else []), "metadatas"]
        include += ["embeddings"] if include_embeddings else []
        offset = 0
        while True:
            page = collection.get(limit=_BATCH * 5, offset=offset, include=include)
            if not page["ids"]:
                return
            embeddings = page.get("embeddings") if include_embeddings else None
            for i, chunk_id in enumerate(page["ids"]):
                vector = embeddings[i] if embeddings is not None else None
                text = page["documents"][i] if include_text else ""
                yield chunk_id, text, page["metadatas"][i] or {}, vector
            offset += len(page["ids"])

    def document(self, doc: str) -> list[Evidence]:
        """A stored document's chunks in order (``doc`` as :meth:`documents` names it), each with its
        provenance; none when there is no such document."""
        if self.path is not None and not self.path.exists():
            return []
        rows = [(text, meta) for _, text, meta, _ in self.iter_all() if _meta_document(meta) == doc]
        rows.sort(key=lambda r: (int(r[1].get("page") or 0), int(r[1].get("chunk", 0))))
        return [_evidence(text, meta) for text, meta in rows]

    def _lexical_index(self, generation: str) -> LexicalIndex:
        from txscout.core.lexical import LexicalIndex

        if self._lexical is not None and self._lexical.generation == generation:
            return self._lexical
        directory = self._lexical_dir() / generation
        index = LexicalIndex.load(directory)
        if index is None or index.generation != generation:
            ids: list[str] = []
            texts: list[str] = []
            for chunk_id, text, meta, _ in self.iter_all():
                ids.append(chunk_id)
                title = str(meta.get("title", ""))
                texts.append(f"{title}. {text}" if title and title not in text else text)
            index = LexicalIndex.build(ids, texts, generation)
            self._save_lexical(index)
        self._lexical = index
        return index

    def _save_lexical(self, index: LexicalIndex) -> None:
        """Save under a directory named by generation, written aside and renamed into place, so that
        concurrent readers only ever load a complete index. Older generations are removed."""
        root = self._lexical_dir()
        staging = root / f".tmp-{uuid.uuid4().hex}"
        try:
            index.save(staging)
            target = root / index.generation
            if target.exists():
                shutil.rmtree(staging, ignore_errors=True)
            else:
                staging.rename(target)
            for old in root.iterdir():
                if old.name != index.generation and not old.name.startswith(".tmp-"):
                    shutil.rmtree(old, ignore_errors=True)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # a cache, not data: rebuilt next time

    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        """The ``k`` chunks that best answer ``query``."""
        with self._failing_as("search"):
            return self._search(query, k, mode)

    def _size(self, generation: str) -> int:
        """Chunks in the store. Chroma counts by scanning (11 ms at 100k chunks, a fifth of a query), so
        the count is kept per write generation; generation "0" (never written by txscout) is not kept."""
        if self._sized is None or self._sized[0] != generation or generation == "0":
            self._sized = (generation, int(self._coll().count()))
        return self._sized[1]

    def _lexical_search(self, query: str, k: int, generation: str) -> Future[list[tuple[str, float]]]:
        """BM25 in a worker thread, so it overlaps the query embedding and the vector search."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="txscout-bm25")
        return self._pool.submit(lambda: self._lexical_index(generation).search(query, k))

    def _search(self, query: str, k: int, mode: SearchMode) -> list[Hit]:
        collection = self._coll()
        generation = self._generation()
        total = self._size(generation)
        if total == 0 or k <= 0 or not query.strip():
            return []
        depth = min(total, max(4 * k, 50))
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        pending = None
        if mode != "dense":
            pending = self._lexical_search(query, depth if mode == "hybrid" else k, generation)
        vector = None
        if mode in ("hybrid", "dense"):
            vector = self._query_embedder().encode([query])
            result = collection.query(
                query_embeddings=vector,
                n_results=depth if mode == "hybrid" else min(k, total),
                include=["documents", "metadatas", "distances"],
            )
            for chunk_id, text, meta, distance in zip(
                result["ids"][0],
                result["documents"][0],
                result["metadatas"][0],
                result["distances"][0],
                strict=True,
            ):
                dense[chunk_id] = 1.0 - float(distance)
                found[chunk_id] = (text, meta or {})
        if pending is not None:
            lexical = dict(pending.result())
        missing = [i for i in lexical if i not in found]
        if missing:
            include = ["documents", "metadatas", *(["embeddings"] if vector is not None else [])]
            page = collection.get(ids=missing, include=include)
            for i, chunk_id in enumerate(page["ids"]):
                found[chunk_id] = (page["documents"][i], page["metadatas"][i] or {})
                if vector is not None:
                    # Exact cosine for chunks only BM25 found, so fusion compares like with like.
                    dense[chunk_id] = float(vector[0] @ page["embeddings"][i])
        if mode == "dense":
            scores = dense
        elif mode == "lexical":
            scores = lexical
        else:
            scores = fuse(dense, lexical)
        ranked = sorted(scores.items(), key=lambda item: -item[1])[:k]
        dense_rank = {i: r + 1 for r, i in enumerate(sorted(dense, key=lambda i: -dense[i]))}
        lexical_rank = {i: r + 1 for r, i in enumerate(sorted(lexical, key=lambda i: -lexical[i]))}
        return [
            Hit(
                evidence=_evidence(*found[i]),
                score=score,
                similarity=dense.get(i),
                dense_rank=dense_rank.get(i),
                lexical_rank=lexical_rank.get(i),
            )
            for i, score in ranked
            if i in found
        ]

    def has_content(self, sha: str) -> bool:
        """Whether the chunks read from a file with content hash ``sha`` are all stored, so an unchanged
        file is skipped before it is even parsed. A file whose write was cut short (a document larger
        than one transaction, a corpus of many) has fewer chunks than its ``parts`` and is read again."""
        with self._failing_as("read"):
            first = self._coll().get(where={"sha": sha}, limit=1, include=["metadatas"])
            if not first["ids"]:
                return False
            parts = (first["metadatas"][0] or {}).get("parts")
            return not isinstance(parts, int) or parts <= 1 or len(self._ids_where({"sha": sha})) >= parts

    def documents(self) -> list[DocumentInfo]:
        """Every stored document with its chunk count, pages and when it was first added, newest first; a
        store never written to has none and is not created by asking."""
        if self.path is not None and not self.path.exists():
            return []
        found: dict[str, DocumentInfo] = {}
        pages: dict[str, set[int]] = {}
        for _, _, meta, _ in self.iter_all(include_text=False):
            key = _meta_document(meta)
            stamp = meta.get("retrieved_at")
            info = found.get(key)
            if info is None:
                evidence = _evidence("", meta)
                label = evidence.model_copy(update={"page": None}).label or evidence.locator
                locator = evidence.model_copy(update={"page": None}).locator
                info = found[key] = DocumentInfo(
                    doc=key, label=label, source_kind=evidence.source_kind, locator=locator, chunks=0
                )
            info.chunks += 1
            if isinstance(stamp, int | float):
                info.added = stamp if info.added is None else min(info.added, stamp)
            if isinstance(meta.get("page"), int):
                pages.setdefault(key, set()).add(int(meta["page"]))
        for key, numbers in pages.items():
            found[key].pages = len(numbers)
        return sorted(found.values(), key=lambda d: -(d.added or 0))

    def remove(self, doc: str) -> int:
        """Delete every chunk of document ``doc``; returns how many there were."""
        with self._write_lock():
            ids = [
                chunk_id for chunk_id, _, meta, _ in self.iter_all(include_text=False) if _meta_document(meta) == doc
            ]
            collection = self._coll()
            for batch in _batched(ids, _BATCH):
                collection.delete(ids=batch)
            if ids:
                self._bump_generation()
        self._lexical = None
        return len(ids)

    def stats(self) -> StoreStats:
        by_kind: dict[str, int] = {}
        parents: set[str] = set()
        oldest: float | None = None
        newest: float | None = None
        chunks = 0
        for _, _, meta, _ in self.iter_all(include_text=False):
            chunks += 1
            kind = str(meta.get("source_kind", "?"))
            by_kind[kind] = by_kind.get(kind, 0) + 1
            parents.add(str(meta.get("parent", "")))
            stamp = meta.get("retrieved_at")
            if isinstance(stamp, int | float):
                oldest = stamp if oldest is None else min(oldest, stamp)
                newest = stamp if newest is None else max(newest, stamp)
        size = None
        if self.path is not None:
            size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return StoreStats(
            location=self.location,
            chunks=chunks,
            sources=len(parents),
            by_kind=dict(sorted(by_kind.items())),
            embedder=self.embedder_name,
            oldest=oldest,
            newest=newest,
            size_bytes=size,
        )

    def export(self, path: Path) -> int:
        """Write every chunk as one JSON line (evidence fields plus ``parent`` and ``chunk``), written
        aside and renamed so a failed export never leaves half a file; :meth:`import_jsonl` reads it
        back."""
        path = Path(path)
        refuse_special(path)
        count = 0
        try:
            with atomic_writer(path) as fh:
                for _, text, meta, _ in self.iter_all():
                    record = _evidence(text, meta).model_dump(mode="json", exclude_none=True)
                    record |= {"parent": meta.get("parent"), "chunk": meta.get("chunk"), "doc": _meta_document(meta)}
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                    count += 1
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc}") from exc
        return count

    @staticmethod
    def read_jsonl(path: Path) -> list[Evidence]:
        """Evidence records from an export; a line that is not one is an error naming the line, and a
        file that is not text is refused before any line is read."""
        try:
            text = sniff_text(Path(path).read_bytes(), str(path))
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        items: list[Evidence] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise StoreError(f"{path}:{lineno}: not JSON ({exc.__class__.__name__})") from exc
            if not isinstance(data, dict):
                shown = line.strip()[:40]
                raise StoreError(f"{path}:{lineno}: not an evidence record (expected a JSON object, found {shown})")
            try:
                items.append(_corpus_record(data, path))
            except ValueError as exc:
                raise StoreError(f"{path}:{lineno}: not an evidence record ({exc.__class__.__name__})") from exc
        return items

    def import_jsonl(self, path: Path) -> int:
        """Add an export or a corpus file; each record is stored as its own document."""
        return self.add(self.read_jsonl(path))
