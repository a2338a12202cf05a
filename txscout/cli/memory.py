"""``txscout memory``: fill, search, inspect, export and clear the evidence store.

Only typer and rich load at import time; chromadb, torch and the HTTP stack load inside commands, so
mounting this app costs ``txscout --help`` nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from txscout.core.errors import UserError
from txscout.core.files import check_text
from txscout.core.output import write_stdout
from txscout.core.text import clean, clean_line

if TYPE_CHECKING:
    from txscout.core.evidence import Evidence
    from txscout.core.settings import Settings
    from txscout.memory.ingest import IngestReport, Progress
    from txscout.memory.store import EvidenceStore

app = typer.Typer(
    help="Manage the evidence store: add files, URLs or PubMed results; search; stats; export; clear.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

PathOpt = Annotated[
    Path | None, typer.Option("--memory-path", help="Store directory (default: $XDG_DATA_HOME/txscout/memory).")
]
UrlOpt = Annotated[str | None, typer.Option("--memory-url", help="Use a `chroma run` server, e.g. http://host:8000.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]


def _settings(memory_path: Path | None, memory_url: str | None) -> Settings:
    from txscout.core.settings import load_settings

    return load_settings(memory_path=memory_path, memory_url=memory_url)


def _store(settings: Settings) -> EvidenceStore:
    from txscout.memory.store import EvidenceStore

    return EvidenceStore(settings)


def _url_evidence(url: str, settings: Settings) -> list[Evidence]:
    from txscout.tools.literature.http import BlockedURL, OfflineMiss, ServiceError, Unreachable, make_client
    from txscout.tools.literature.read_url import UnsupportedContent, read_page

    client = make_client(settings.cache_dir, settings.http_cache, lambda: settings.offline)
    try:
        page = read_page(client, url, allow_loopback=settings.allow_loopback)
    except (BlockedURL, UnsupportedContent, OfflineMiss, Unreachable, ServiceError) as exc:
        raise UserError(f"cannot add {url}: {exc}") from exc
    finally:
        client.close()
    return page.evidence(tool="memory add")


def _pubmed_evidence(query: str, limit: int, settings: Settings) -> list[Evidence]:
    from txscout.core.evidence import Evidence
    from txscout.tools.literature.http import OfflineMiss, ServiceError, Unreachable
    from txscout.tools.literature.pubmed import PubMed, PubMedError

    api_key = settings.ncbi_api_key.get_secret_value() if settings.ncbi_api_key else None
    pubmed = PubMed(
        settings.ncbi_base_url,
        email=settings.ncbi_email,
        api_key=api_key or None,
        cache_dir=settings.cache_dir,
        cache_mode=settings.http_cache,
        offline=lambda: settings.offline,
    )
    try:
        records = pubmed.efetch(pubmed.esearch(query, retmax=limit).pmids)
    except (OfflineMiss, Unreachable, ServiceError, PubMedError) as exc:
        raise UserError(f"PubMed search failed: {exc}") from exc
    finally:
        pubmed.close()
    return [
        Evidence(
            text=f"{r.title}\n{r.abstract}",
            source_kind="pubmed",
            title=r.title,
            authors=(r.authors[0] + (" et al." if len(r.authors) > 1 else "")) if r.authors else None,
            journal=r.journal or None,
            pmid=r.pmid,
            doi=r.doi,
            year=r.year,
            tool="memory add",
            query=query,
        )
        for r in records
        if r.abstract
    ]


def _progress_line(progress: Progress, started: float) -> Text:
    elapsed = max(time.perf_counter() - started, 1e-6)
    return Text(
        f"files {progress.files_done}/{progress.files_total} · pages {progress.pages:,} · "
        f"chunks {progress.chunks:,} ({progress.chunks / elapsed:.1f}/s) · {clean_line(progress.current)[-60:]}"
    )


def _ingest_files(paths: list[Path], pattern: str | None, workers: int | None, max_pages: int,
                  store: EvidenceStore, quiet: bool, timeout: float) -> IngestReport:  # fmt: skip
    from rich.live import Live

    from txscout.memory.ingest import Ingest, collect

    files, failed = collect(paths, pattern)
    started = time.perf_counter()
    if quiet:
        return Ingest(store, workers=workers, max_pages=max_pages, timeout=timeout).run(files, failed)
    with Live(Text("reading…"), console=err, transient=True, refresh_per_second=4) as live:
        ingest = Ingest(
            store,
            workers=workers,
            max_pages=max_pages,
            timeout=timeout,
            on_progress=lambda p: live.update(_progress_line(p, started)),
        )
        return ingest.run(files, failed)


@app.command("add")
def add(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Files or folders (PDF, .txt, .md, .html, .jsonl, .bib, .ris) or URLs."),
    ] = None,
    pubmed: Annotated[str | None, typer.Option("--pubmed", help="Add the abstracts a PubMed query finds.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Articles to take from --pubmed.")] = 20,
    pattern: Annotated[
        str | None, typer.Option("--glob", help="In folders, only files matching this pattern, e.g. '*.pdf'.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="PDF parsing processes (default: one per core).")
    ] = None,
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="Refuse PDFs with more pages than this.")] = 2000,
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add files, folders, reference libraries, web pages or PubMed abstracts, chunked at sentence
    boundaries and deduplicated. A folder is read recursively; a file that cannot be read is reported
    and the rest are added. Exits 2 when something failed and nothing was added."""
    from txscout.memory.ingest import IngestReport, Outcome

    if not sources and not pubmed:
        raise UserError("nothing to add: give a FILE, FOLDER or URL, or --pubmed QUERY")
    settings = _settings(memory_path, memory_url)
    store = _store(settings)
    urls = [s for s in sources or [] if s.startswith(("http://", "https://"))]
    paths = [Path(s).expanduser() for s in sources or [] if s not in urls]
    report = IngestReport()
    if paths:
        report = _ingest_files(paths, pattern, workers, max_pages, store, as_json, settings.pdf_timeout_s)
    with err.status("adding to memory…") if urls or pubmed else contextlib.nullcontext():
        batches = [(url, _url_evidence(url, settings)) for url in urls]
        if pubmed:
            batches.append((f"PubMed: {pubmed}", _pubmed_evidence(pubmed, limit, settings)))
        for label, items in batches:
            added = store.add(items)
            report.outcomes.append(Outcome(source=label, status="added" if added else "unchanged", chunks=added))
    _show_report(report, store, as_json)
    if report.count("failed") and not report.count("added"):
        raise typer.Exit(2)


def _show_report(report: IngestReport, store: EvidenceStore, as_json: bool) -> None:
    if as_json:
        rows = [
            {"source": o.source, "status": o.status, "added": o.chunks, "pages": o.pages, "reason": o.reason}
            for o in report.outcomes
        ]
        write_stdout(json.dumps(rows, indent=2) + "\n")
        return
    for o in report.outcomes:
        if o.status == "failed":
            reason = o.reason or "failed"
            line = reason if reason.startswith(o.source) else f"{o.source}: {reason}"
            err.print(Text(f"error: {clean_line(line)}", style="red"), soft_wrap=True)
            continue
        pages = f", {o.pages} pages" if o.pages else ""
        note = f" ({clean_line(o.reason)})" if o.reason else ""
        what = f"{o.chunks} new chunks{pages}" if o.status == "added" else "already stored"
        out.print(Text(f"{clean_line(o.source)}: {what}{note}"), soft_wrap=True)
    if len(report.outcomes) > 1 or report.seconds > 5:
        rate = f" in {report.seconds:.1f} s" if report.seconds else ""
        summary = (
            f"added {report.count('added')}, unchanged {report.count('unchanged')}, failed {report.count('failed')}"
            f" ({report.chunks:,} chunks, {report.pages:,} pages{rate})"
        )
        out.print(Text(summary, style="bold"), soft_wrap=True)
    out.print(Text(f"memory: {clean_line(store.location)}", style="dim"), soft_wrap=True)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=100, help="How many passages.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="hybrid | dense | lexical")] = "hybrid",
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search stored evidence by meaning and exact terms."""
    if mode not in ("hybrid", "dense", "lexical"):
        raise UserError(f"--mode must be hybrid, dense or lexical, not {mode!r}")
    if not query.strip():
        raise UserError("the query is empty")
    check_text(query, "the query")
    store = _store(_settings(memory_path, memory_url))
    hits = store.search(query, k=k, mode=mode)  # type: ignore[arg-type]
    if as_json:
        payload = [
            {
                **h.evidence.model_dump(mode="json", exclude_none=True),
                "locator": h.evidence.locator,
                **h.model_dump(exclude={"evidence"}),
            }
            for h in hits
        ]
        # ASCII JSON: stored text may hold control characters, which must not reach a terminal raw.
        write_stdout(json.dumps(payload, indent=2) + "\n")
        return
    if not hits:
        out.print("no matching evidence", style="yellow")
        return
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("passage")
    table.add_column("source")
    for n, h in enumerate(hits, start=1):
        e = h.evidence
        passage = clean(e.text)
        passage = passage if len(passage) <= 400 else passage[:400] + "…"
        source = "\n".join(clean_line(p) for p in (e.label or e.title, e.section or "", e.locator) if p)
        table.add_row(str(n), f"{h.score:.3f}", Text(passage), Text(source))
    out.print(table)


def _when(stamp: float | None) -> str:
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if stamp else "—"


@app.command("list")
def list_documents(memory_path: PathOpt = None, memory_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """The stored documents, newest first: chunks, pages and when each was added."""
    documents = _store(_settings(memory_path, memory_url)).documents()
    if as_json:
        write_stdout(json.dumps([d.model_dump(mode="json") for d in documents], indent=2) + "\n")
        return
    if not documents:
        out.print("memory is empty", style="yellow")
        return
    table = Table()
    table.add_column("document")
    table.add_column("chunks", justify="right")
    table.add_column("pages", justify="right")
    table.add_column("added")
    table.add_column("id (for memory remove)", overflow="fold")
    for d in documents:
        table.add_row(
            Text(clean_line(d.label)), str(d.chunks), str(d.pages or ""), _when(d.added), Text(clean_line(d.doc))
        )
    out.print(table)


@app.command("remove")
def remove(
    document: Annotated[str, typer.Argument(help="A document's id from `memory list`, or the file it was read from.")],
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
) -> None:
    """Take one document (every chunk read from it) out of the store."""
    store = _store(_settings(memory_path, memory_url))
    candidates = {document}
    if not document.startswith(("http://", "https://", "file:", "pmid:", "doi:", "text:")):
        with contextlib.suppress(OSError, ValueError):
            candidates.add(Path(document).expanduser().resolve().as_uri())
    known = [d for d in store.documents() if d.doc in candidates]
    if not known:
        raise UserError(f"no stored document {document!r}; `txscout memory list` shows their ids")
    count = store.remove(known[0].doc)
    err.print(Text(f"removed {clean_line(known[0].label)} ({count} chunks)"), soft_wrap=True)


@app.command("stats")
def stats(memory_path: PathOpt = None, memory_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """How much is stored, from which kinds of source, and where."""
    result = _store(_settings(memory_path, memory_url)).stats()
    if as_json:
        write_stdout(result.model_dump_json(indent=2) + "\n")
        return

    table = Table(show_header=False, box=None)
    table.add_row("location", Text(clean_line(result.location)))
    table.add_row("chunks", str(result.chunks))
    table.add_row("sources", str(result.sources))
    table.add_row("by kind", Text(clean_line(", ".join(f"{k}: {v}" for k, v in result.by_kind.items())) or "—"))
    table.add_row("embedder", Text(clean_line(result.embedder)))
    table.add_row("oldest / newest", f"{_when(result.oldest)} / {_when(result.newest)}")
    if result.size_bytes is not None:
        table.add_row("size on disk", f"{result.size_bytes / 1e6:.1f} MB")
    out.print(table)


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="JSONL file to write (one evidence chunk per line).")],
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
) -> None:
    """Write every stored chunk with its provenance to a JSONL file (`memory add FILE.jsonl` reads it).
    Only a new path or a regular file is written: a symlink, FIFO or device is refused, not replaced."""
    from txscout.memory.store import refuse_special

    refuse_special(file)
    if not file.parent.exists():
        raise UserError(f"directory {file.parent} does not exist")
    count = _store(_settings(memory_path, memory_url)).export(file)
    err.print(Text(f"exported {count} chunks to {clean_line(str(file))}"), soft_wrap=True)


@app.command("clear")
def clear(
    yes: Annotated[bool, typer.Option("--yes", help="Really delete every stored chunk.")] = False,
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
) -> None:
    """Delete everything in the store (asks for --yes)."""
    if not yes:
        raise UserError("memory clear deletes every stored chunk; run it again with --yes")
    store = _store(_settings(memory_path, memory_url))
    count = store.clear()
    err.print(Text(f"cleared {count} chunks from {clean_line(store.location)}"), soft_wrap=True)
