"""``txscout memory``: fill, search, inspect, export and clear the evidence store.

Only typer and rich load at import time; chromadb, torch and the HTTP stack load inside commands, so
mounting this app costs ``txscout --help`` nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from txscout.core.errors import UserError
from txscout.core.files import check_text, path_kind
from txscout.core.output import write_stdout
from txscout.core.text import clean, clean_line

if TYPE_CHECKING:
    from txscout.core.evidence import Evidence
    from txscout.core.settings import Settings
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

_TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text"}
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}


def _settings(memory_path: Path | None, memory_url: str | None) -> Settings:
    from txscout.core.settings import load_settings

    return load_settings(memory_path=memory_path, memory_url=memory_url)


def _store(settings: Settings) -> EvidenceStore:
    from txscout.memory.store import EvidenceStore

    return EvidenceStore(settings)


def _file_evidence(path: Path) -> list[Evidence]:
    """A file's text as evidence. The extension picks the reader, but the content decides whether it is
    text at all: a binary renamed ``.md`` is refused, never stored as garbage."""
    from txscout.core.evidence import Evidence
    from txscout.core.files import read_bytes, read_text, refuse_binary
    from txscout.memory.store import EvidenceStore

    kind = path_kind(path)
    if kind == "directory":
        raise UserError(f"{path} is a directory; add the files in it one by one")
    if kind != "file":
        raise UserError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return EvidenceStore.read_jsonl(path)
    if suffix in _HTML_SUFFIXES:
        from txscout.tools.literature.read_url import extract

        page = refuse_binary(read_bytes(path), str(path))  # the page may declare a non-UTF-8 charset
        title, text, year, doi = extract(page, "text/html", path.resolve().as_uri())
    elif suffix in _TEXT_SUFFIXES:
        text = read_text(path)
        title, year, doi = path.stem, None, None
    else:
        raise UserError(f"cannot add {path}: only .txt, .md, .html and .jsonl (an export) files are read")
    if not text.strip():
        raise UserError(f"no text found in {path}")
    return [
        Evidence(
            text=text, source_kind="file", title=title or path.stem, url=path.resolve().as_uri(), year=year, doi=doi
        )
    ]


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


@app.command("add")
def add(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Files (.txt, .md, .html, .jsonl export) or URLs.")
    ] = None,
    pubmed: Annotated[str | None, typer.Option("--pubmed", help="Add the abstracts a PubMed query finds.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="Articles to take from --pubmed.")] = 20,
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add files, web pages or PubMed abstracts, chunked at sentence boundaries and deduplicated."""
    if not sources and not pubmed:
        raise UserError("nothing to add: give a FILE or URL, or --pubmed QUERY")
    settings = _settings(memory_path, memory_url)
    store = _store(settings)
    report: list[dict[str, object]] = []
    with err.status("adding to memory…"):
        batches: list[tuple[str, list[Evidence]]] = []
        for source in sources or []:
            if source.startswith(("http://", "https://")):
                batches.append((source, _url_evidence(source, settings)))
            else:
                batches.append((source, _file_evidence(Path(source).expanduser())))
        if pubmed:
            batches.append((f"PubMed: {pubmed}", _pubmed_evidence(pubmed, limit, settings)))
        for label, items in batches:
            chunks = len(store.chunks(items))
            added = store.add(items)
            report.append({"source": label, "chunks": chunks, "added": added, "already_stored": chunks - added})
    if as_json:
        write_stdout(json.dumps(report, indent=2) + "\n")
        return
    for row in report:
        out.print(
            Text(
                f"{clean_line(str(row['source']))}: {row['added']} new chunks, {row['already_stored']} already stored"
            ),
            soft_wrap=True,
        )
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
        source = "\n".join(clean_line(p) for p in (e.title or "", str(e.year or ""), e.locator) if p)
        table.add_row(str(n), f"{h.score:.3f}", Text(passage), Text(source))
    out.print(table)


@app.command("stats")
def stats(memory_path: PathOpt = None, memory_url: UrlOpt = None, as_json: JsonOpt = False) -> None:
    """How much is stored, from which kinds of source, and where."""
    result = _store(_settings(memory_path, memory_url)).stats()
    if as_json:
        write_stdout(result.model_dump_json(indent=2) + "\n")
        return

    def when(stamp: float | None) -> str:
        return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if stamp else "—"

    table = Table(show_header=False, box=None)
    table.add_row("location", Text(clean_line(result.location)))
    table.add_row("chunks", str(result.chunks))
    table.add_row("sources", str(result.sources))
    table.add_row("by kind", Text(clean_line(", ".join(f"{k}: {v}" for k, v in result.by_kind.items())) or "—"))
    table.add_row("embedder", Text(clean_line(result.embedder)))
    table.add_row("oldest / newest", f"{when(result.oldest)} / {when(result.newest)}")
    if result.size_bytes is not None:
        table.add_row("size on disk", f"{result.size_bytes / 1e6:.1f} MB")
    out.print(table)


@app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="JSONL file to write (one evidence chunk per line).")],
    memory_path: PathOpt = None,
    memory_url: UrlOpt = None,
) -> None:
    """Write every stored chunk with its provenance to a JSONL file (`memory add FILE.jsonl` reads it)."""
    if path_kind(file) == "directory":
        raise UserError(f"{file} is a directory")
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
