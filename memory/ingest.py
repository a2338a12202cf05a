"""Files and folders into the evidence store: each file read into one document, stored whole or not at all.

A folder is walked recursively (hidden entries skipped) for the files txscout reads: PDFs, text,
Markdown, HTML, JSONL corpora and exports, and BibTeX or RIS libraries. A file whose content hash is
already stored is skipped before it is parsed. PDFs are parsed in worker processes
(:mod:`txscout.core.pdf_pool`) while the main process embeds and writes the ones already parsed.
A file that cannot be read is reported with its cause and the run goes on; each document's chunks go
into the store in one write, so a run killed mid-way leaves every file either stored or absent, and a
changed file's new version is written before its old one is deleted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from txscout.core.errors import UserError
from txscout.core.evidence import Evidence
from txscout.core.files import path_kind
from txscout.core.pdf import MAX_PAGES, PdfError, PdfText
from txscout.core.pdf_pool import TIMEOUT
from txscout.memory.store import EvidenceStore

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
LIBRARY_SUFFIXES = frozenset({".bib", ".ris"})
READABLE = TEXT_SUFFIXES | HTML_SUFFIXES | LIBRARY_SUFFIXES | {".pdf", ".jsonl"}
DOCUMENT_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".pdf"}
"""Files stored as one document named by their path, which a changed version replaces."""


class Document(BaseModel):
    """What one file (or one library record's PDF) gives the store."""

    source: str
    doc: str | None = None
    sha: str | None = None
    items: list[Evidence]
    pages: int = 0
    note: str | None = None


class Outcome(BaseModel):
    source: str
    status: str
    """added, unchanged or failed"""
    chunks: int = 0
    pages: int = 0
    reason: str | None = None


class IngestReport(BaseModel):
    outcomes: list[Outcome] = Field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks(self) -> int:
        return sum(o.chunks for o in self.outcomes)

    @property
    def pages(self) -> int:
        return sum(o.pages for o in self.outcomes)


class Progress(BaseModel):
    """Where a run is, for a progress display."""

    files_done: int = 0
    files_total: int = 0
    pages: int = 0
    chunks: int = 0
    current: str = ""


def collect(sources: list[Path], pattern: str | None = None) -> tuple[list[Path], list[Outcome]]:
    """The readable files named or found under folders (matching ``pattern``, a glob such as
    ``*.pdf``), in a stable order; a named path that does not exist or cannot be read is a failure."""
    files: list[Path] = []
    failed: list[Outcome] = []
    for source in sources:
        kind = path_kind(source)
        if kind == "directory":
            found = sorted(
                p
                for p in source.rglob(pattern or "*")
                if p.suffix.lower() in READABLE
                and not any(part.startswith(".") for part in p.relative_to(source).parts)
                and path_kind(p) == "file"
            )
            files.extend(found)
            if not found:
                reason = f"no files matching {pattern}" if pattern else "no files txscout reads in this folder"
                failed.append(Outcome(source=str(source), status="failed", reason=reason))
        elif kind == "file":
            files.append(source)
        elif kind == "missing":
            failed.append(Outcome(source=str(source), status="failed", reason="no such file or directory"))
        else:
            failed.append(Outcome(source=str(source), status="failed", reason="not a regular file"))
    unique = list(dict.fromkeys(files))
    return unique, failed


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:24]


def pdf_evidence(parsed: PdfText, path: Path, *, title: str | None = None, authors: str | None = None,
                 year: int | None = None, doi: str | None = None) -> list[Evidence]:  # fmt: skip
    """One evidence item per passage, each with its page and section; metadata given by a reference
    library wins over what the PDF says about itself."""
    uri = path.resolve().as_uri()
    return [
        Evidence(
            text=passage.text,
            source_kind="file",
            title=title or parsed.title or path.stem,
            authors=authors or ("; ".join(parsed.authors) or None),
            year=year or parsed.year,
            doi=doi or parsed.doi,
            url=uri,
            page=passage.page,
            section=passage.section,
        )
        for passage in parsed.passages
    ]


def _pdf_note(parsed: PdfText) -> str | None:
    if not parsed.empty_pages:
        return None
    shown = ", ".join(str(n) for n in parsed.empty_pages[:10]) + ("…" if len(parsed.empty_pages) > 10 else "")
    return f"no text layer on page{'s' if len(parsed.empty_pages) > 1 else ''} {shown}"


def read_plain(path: Path) -> list[Evidence]:
    """A text, Markdown or HTML file as one evidence item (chunked by the store)."""
    from txscout.core.files import read_bytes, read_text, refuse_binary

    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        from txscout.core.webtext import extract

        page = refuse_binary(read_bytes(path), str(path))  # the page may declare a non-UTF-8 charset
        title, text, year, doi = extract(page, "text/html", path.resolve().as_uri())
    else:
        text = read_text(path)
        title, year, doi = path.stem, None, None
    if not text.strip():
        raise UserError(f"{path}: no text found")
    return [
        Evidence(
            text=text, source_kind="file", title=title or path.stem, url=path.resolve().as_uri(), year=year, doi=doi
        )
    ]


class Ingest:
    """One ``memory add`` run over files: parse, embed and store, reporting each file's outcome."""

    def __init__(
        self,
        store: EvidenceStore,
        *,
        workers: int | None = None,
        max_pages: int = MAX_PAGES,
        timeout: float = TIMEOUT,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.store = store
        self.workers = workers
        self.max_pages = max_pages
        self.timeout = timeout
        self.on_progress = on_progress
        self.progress = Progress()
        self.report = IngestReport()

    def _tell(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def _fail(self, source: str, reason: str) -> None:
        self.report.outcomes.append(Outcome(source=source, status="failed", reason=reason))
        self.progress.files_done += 1
        self._tell()

    def store_document(self, document: Document) -> None:
        """Embed and write one document, recording whether it added anything. A file stored before
        with other content is replaced: its new version is written, then the old one's text deleted."""
        self.progress.current = document.source

        def embedded(count: int) -> None:
            self.progress.chunks += count
            self._tell()

        try:
            added = self.store.add(document.items, doc=document.doc, sha=document.sha, progress=embedded)
        except UserError as exc:
            self._fail(document.source, str(exc))
            return
        status = "added" if added else "unchanged"
        self.report.outcomes.append(
            Outcome(source=document.source, status=status, chunks=added, pages=document.pages, reason=document.note)
        )
        self.progress.files_done += 1
        self.progress.pages += document.pages
        self._tell()

    def run(self, files: list[Path], failed: list[Outcome] | None = None) -> IngestReport:
        """Add ``files``; ``failed`` are outcomes already known (paths that did not exist)."""
        start = time.perf_counter()
        self.report.outcomes.extend(failed or [])
        self.progress.files_total = len(files)
        self._tell()
        pdfs: dict[Path, str] = {}
        for path in files:
            suffix = path.suffix.lower()
            try:
                data = path.read_bytes()
            except OSError as exc:
                self._fail(str(path), f"cannot read ({exc.strerror or exc})")
                continue
            sha = _sha(data)
            if self._unchanged(path, sha):
                continue
            if suffix == ".pdf":
                pdfs[path] = sha
                continue
            try:
                documents = list(self._read_other(path, data, sha))
            except UserError as exc:
                self._fail(str(path), str(exc).removeprefix(f"{path}: "))
                continue
            for document in documents:
                self.store_document(document)
        self._pdfs(pdfs)
        self.report.seconds = time.perf_counter() - start
        return self.report

    def _pdfs(self, pdfs: dict[Path, str], meta: dict[Path, dict[str, object]] | None = None) -> None:
        from txscout.core.pdf_pool import parse_pdfs

        if not pdfs:
            return
        for path, parsed in parse_pdfs(
            list(pdfs), workers=self.workers, max_pages=self.max_pages, timeout=self.timeout
        ):
            if isinstance(parsed, PdfError):
                self._fail(str(path), str(parsed).removeprefix(f"{path}: "))
                continue
            given = (meta or {}).get(path, {})
            items = pdf_evidence(parsed, path, **given)  # type: ignore[arg-type]
            document = Document(
                source=str(path),
                doc=path.resolve().as_uri(),
                sha=pdfs[path],
                items=items,
                pages=parsed.pages,
                note=_pdf_note(parsed),
            )
            self.store_document(document)

    def _unchanged(self, path: Path, sha: str) -> bool:
        """Whether the file's content is stored whole already (then a replacement of it that was cut
        short is finished here)."""
        if not self.store.has_content(sha):
            return False
        if path.suffix.lower() in DOCUMENT_SUFFIXES:
            self.store.finish_replacement(path.resolve().as_uri(), sha)
        self.report.outcomes.append(Outcome(source=str(path), status="unchanged"))
        self.progress.files_done += 1
        self._tell()
        return True

    def _read_other(self, path: Path, data: bytes, sha: str) -> Iterator[Document]:
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            items = self.store.read_jsonl(path)
            yield Document(source=str(path), sha=sha, items=items)
        elif suffix in LIBRARY_SUFFIXES:
            from txscout.memory.library import read_library

            records, attachments = read_library(path, data)
            yield Document(source=str(path), sha=sha, items=records)
            self.progress.files_total += len(attachments)
            pdfs: dict[Path, str] = {}
            for pdf in attachments:
                if path_kind(pdf) != "file":
                    self._fail(str(pdf), f"named in {path.name} but not found")
                elif not self._unchanged(pdf, digest := _sha(pdf.read_bytes())):
                    pdfs[pdf] = digest
            self._pdfs(pdfs, attachments)
        elif suffix in TEXT_SUFFIXES | HTML_SUFFIXES:
            yield Document(source=str(path), doc=path.resolve().as_uri(), sha=sha, items=read_plain(path))
        else:
            kinds = "PDF, .txt, .md, .html, .jsonl (a corpus or an export), .bib and .ris"
            raise UserError(f"{path}: cannot read this kind of file; {kinds} files are read")
