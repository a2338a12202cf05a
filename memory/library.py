"""Reference-manager exports (BibTeX, RIS from Zotero or Mendeley): each record's metadata as evidence,
and the PDFs its file fields name.

bibtexparser (v2, MIT) and rispy (MIT) do the parsing; LaTeX accents and braces are decoded. A record
becomes one evidence item, its title followed by its abstract when there is one, so a library without
PDFs is still searchable by what the papers are about. Attached PDFs are returned with the record's
metadata, which then labels every page of them (a reference manager's metadata is cleaner than what
a PDF says about itself).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from txscout.core.errors import UserError
from txscout.core.evidence import Evidence
from txscout.core.files import sniff_text

_YEAR = re.compile(r"(1[5-9]|20)\d\d")


def _year(value: Any) -> int | None:
    match = _YEAR.search(str(value or ""))
    return int(match.group(0)) if match else None


def _bib_files(field: str, base: Path) -> list[Path]:
    """PDF paths in a BibTeX ``file`` field: Zotero writes ``Title:path:mime``, Mendeley
    ``:path:pdf``, both ``;``-separated, with ``\\:`` for a colon inside the path."""
    paths: list[Path] = []
    for part in re.split(r"(?<!\\);", field):
        part = part.replace("$\\backslash$", "\\").strip()
        fields = re.split(r"(?<!\\):", part)
        candidate = ":".join(fields[1:-1]) if len(fields) >= 3 else part
        candidate = candidate.replace("\\:", ":").strip()
        if candidate.lower().endswith(".pdf"):
            paths.append(_resolve(candidate, base))
    return paths


def _resolve(candidate: str, base: Path) -> Path:
    candidate = candidate.removeprefix("file://")
    path = Path(candidate).expanduser()
    return path if path.is_absolute() else base / path


def _record(
    title: str, authors: list[str], year: int | None, doi: str | None, abstract: str, journal: str | None, uri: str
) -> Evidence | None:
    title = " ".join(title.split())
    text = f"{title}\n{abstract.strip()}" if abstract.strip() else title
    if not text.strip():
        return None
    return Evidence(
        text=text,
        source_kind="file",
        title=title,
        authors="; ".join(a.strip() for a in authors if a.strip()) or None,
        year=year,
        doi=(doi or "").strip() or None,
        journal=journal or None,
        url=uri,
    )


Attachments = dict[Path, dict[str, Any]]


def _given(record: Evidence | None, year: int | None, doi: str | None) -> dict[str, Any]:
    """The metadata a record gives the pages of its PDF."""
    return {"title": record.title if record else None, "authors": record.authors if record else None,
            "year": year, "doi": doi}  # fmt: skip


def _bibtex(text: str, path: Path) -> tuple[list[Evidence], Attachments]:
    import bibtexparser
    from bibtexparser import middlewares

    logging.getLogger("bibtexparser").setLevel(logging.ERROR)  # failed blocks are reported below instead
    library = bibtexparser.parse_string(text, append_middleware=[middlewares.LatexDecodingMiddleware()])
    if library.failed_blocks and not library.entries:
        line = getattr(library.failed_blocks[0], "start_line", 0) + 1
        raise UserError(f"{path}: not a BibTeX library (cannot parse the record at line {line})")
    items: list[Evidence] = []
    attachments: Attachments = {}
    uri = path.resolve().as_uri()
    for entry in library.entries:
        fields = {k.lower(): str(v) for k, v in entry.fields_dict.items() for v in [v.value]}
        authors = [a for a in re.split(r"\s+and\s+", fields.get("author", "")) if a]
        year = _year(fields.get("year") or fields.get("date"))
        doi = fields.get("doi")
        record = _record(
            fields.get("title", ""), authors, year, doi, fields.get("abstract", ""), fields.get("journal"),
            f"{uri}#{entry.key}",
        )  # fmt: skip
        if record is not None:
            items.append(record)
        for pdf in _bib_files(fields.get("file", ""), path.parent):
            attachments[pdf] = _given(record, year, doi)
    return items, attachments


def _ris(text: str, path: Path) -> tuple[list[Evidence], Attachments]:
    import rispy

    try:
        entries = rispy.loads(text)
    except Exception as exc:  # rispy raises IOError and ValueError variants for malformed input
        raise UserError(f"{path}: not a RIS library ({exc})") from None
    items: list[Evidence] = []
    attachments: Attachments = {}
    uri = path.resolve().as_uri()
    for number, entry in enumerate(entries, start=1):
        title = entry.get("title") or entry.get("primary_title") or ""
        authors = list(entry.get("authors") or entry.get("first_authors") or [])
        year = _year(entry.get("year") or entry.get("publication_year") or entry.get("date"))
        doi = entry.get("doi")
        journal = entry.get("journal_name") or entry.get("secondary_title")
        record = _record(title, authors, year, doi, entry.get("abstract", ""), journal, f"{uri}#record={number}")
        if record is not None:
            items.append(record)
        for key in ("file_attachments1", "file_attachments2"):
            for value in str(entry.get(key) or "").split(";"):
                if value.strip().lower().endswith(".pdf"):
                    attachments[_resolve(value.strip(), path.parent)] = _given(record, year, doi)
    return items, attachments


def read_library(path: Path, data: bytes) -> tuple[list[Evidence], Attachments]:
    """The records of a ``.bib`` or ``.ris`` export, and the PDFs they name with their metadata."""
    text = sniff_text(data, str(path))
    if path.suffix.lower() == ".ris":
        return _ris(text, path)
    return _bibtex(text, path)
