"""A PDF's text layer, page by page, in reading order, with section headings and bibliographic metadata.

The parser is pypdfium2 (Google's PDFium; Apache-2.0/BSD): on our generated papers it extracts text
at several hundred pages a second, against about 70 for pypdf and 13 for pdfminer.six (see
``benchmarks/perf/pdf_perf.py``); PyMuPDF is AGPL and cannot ship in an Apache-2.0 tool.

PDFium gives the page's text in content-stream order and the rectangles of its text runs. Lines are
rebuilt from those runs so that two columns written line by line across the page (as some producers
do) read column by column: a page is two-column when enough runs sit wholly in each half. Around
that:

- running headers and footers (a line in the top or bottom margin that repeats on most pages, page
  numbers counted as one line) are dropped;
- ligatures and other compatibility characters are folded (NFKC), so "ﬁnding" is found as "finding";
- a word hyphenated across a line end is joined ("inhibi-" + "tion");
- a short line set larger than the body text, or numbered like "2.1 Methods", or a bare standard
  heading ("Results"), starts a section, and every passage after it carries that heading.

Every failure is a :class:`PdfError` whose message names the file and the cause (encrypted,
truncated, no text layer, too many pages), for the one-line report a person needs.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from txscout.core.errors import UserError

MAX_PAGES = 2000
MAX_BYTES = 300_000_000
MAX_CHARS = 20_000_000
"""More text than any paper or book holds (a 2,000-page book is about 6 M characters)."""

_MARGIN = 0.08
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
_DATED = re.compile(r"received|accepted|published|copyright|©|\(c\)|online", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|[IVX]{1,5}\.)\s+[A-Z][^.!?]{1,80}$")
_NAMED = re.compile(
    r"^(?:abstract|summary|introduction|background|methods?|materials and methods|results|discussion|"
    r"conclusions?|references|bibliography|acknowledge?ments?|supplementary (?:material|information))$",
    re.IGNORECASE,
)
_HYPHENS = ("-", "\u00ad", "\x02", "\u2010", "\ufffe")  # PDFium marks a line-end hyphen U+FFFE
_JUNK_TITLE = re.compile(r"^(?:untitled|microsoft word|.*\.(?:pdf|docx?|tex|dvi)$)", re.IGNORECASE)


class PdfError(UserError):
    """A PDF that cannot be read; the message names the file and why."""


class Passage(BaseModel):
    """Text from one page under one section heading."""

    page: int
    section: str | None = None
    text: str


class PdfText(BaseModel):
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    doi: str | None = None
    pages: int
    passages: list[Passage]
    empty_pages: list[int] = Field(default_factory=list)
    """Pages with no text layer (figures, scans), reported rather than silently missing."""


class _Line(NamedTuple):
    """A line of text and where it sits (PDF points, origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    size: float
    bold: bool


def _check_container(data: bytes, source: str) -> None:
    if len(data) > MAX_BYTES:
        raise PdfError(f"{source}: {len(data) / 1e6:.0f} MB is larger than the {MAX_BYTES / 1e6:.0f} MB read")
    if b"%PDF-" not in data[:1024]:
        raise PdfError(f"{source}: not a PDF (no %PDF header)")
    if b"%%EOF" not in data[-2048:]:
        raise PdfError(f"{source}: truncated PDF (no end-of-file marker); download it again")


def _open(data: bytes, source: str) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise PdfError(
                f"{source}: encrypted PDF (it needs a password); decrypt it first, e.g. qpdf --decrypt"
            ) from None
        raise PdfError(f"{source}: damaged PDF ({exc})") from None


def _runs(textpage: Any) -> list[tuple[float, float, float, float]]:
    """The page's text-run rectangles (left, bottom, right, top) in content order."""
    import pypdfium2.raw as raw

    left, top, right, bottom = box = [ctypes.c_double() for _ in range(4)]
    pointers = [ctypes.byref(v) for v in box]
    handle = textpage.raw
    runs = []
    for index in range(raw.FPDFText_CountRects(handle, 0, -1)):
        raw.FPDFText_GetRect(handle, index, *pointers)
        runs.append((left.value, bottom.value, right.value, top.value))
    return runs


class _Probe:
    """PDFium's per-character questions with their ctypes buffers allocated once per page."""

    def __init__(self, textpage: Any) -> None:
        import pypdfium2.raw as raw

        self.raw = raw
        self.textpage = textpage.raw  # the bare handle: the wrapper's conversion costs a Python call per use
        self.box = [ctypes.c_double() for _ in range(4)]
        self.refs = [ctypes.byref(v) for v in self.box]
        self.name = ctypes.create_string_buffer(128)

    def centre(self, index: int) -> tuple[float, float] | None:
        """The middle of character ``index``'s box; None where PDFium has no box for it."""
        if not self.raw.FPDFText_GetCharBox(self.textpage, index, *self.refs):
            return None
        left, right, bottom, top = self.box
        return (left.value + right.value) / 2, (bottom.value + top.value) / 2

    def inside(self, index: int, run: tuple[float, float, float, float]) -> bool:
        """Whether character ``index`` lies within the run's rectangle."""
        centre = self.centre(index)
        return centre is not None and run[0] - 1 <= centre[0] <= run[2] + 1 and run[1] - 1 <= centre[1] <= run[3] + 1

    def first_in_line(self, low: int, high: int, run: tuple[float, float, float, float]) -> int:
        """Where in the line ``[low, high)`` the run starts, if it is the character found by bisection
        (the characters of one line run left to right) and lies inside the run; else -1.

        Two columns on one baseline make PDFium put both on one line, so a run starting mid-line is
        common. Asking PDFium for the character at a point scans the whole page (40 µs, against under
        2 µs for one character's box), and most of the parse went there."""
        start, end = low, high
        while start < end:
            middle = (start + end) // 2
            centre = self.centre(middle)
            if centre is not None and centre[0] >= run[0] - 1:
                end = middle
            else:
                start = middle + 1
        return start if start < high and self.inside(start, run) else -1

    def at(self, run: tuple[float, float, float, float]) -> int:
        """The character at the run's left edge."""
        return int(self.raw.FPDFText_GetCharIndexAtPos(self.textpage, run[0] + 0.5, (run[1] + run[3]) / 2, 1.0, 1.0))

    def size(self, index: int) -> float:
        return float(self.raw.FPDFText_GetFontSize(self.textpage, index))

    def bold(self, index: int) -> bool:
        self.raw.FPDFText_GetFontInfo(self.textpage, index, self.name, 128, None)
        weight = self.raw.FPDFText_GetFontWeight(self.textpage, index)
        return weight >= 600 or b"bold" in self.name.value.lower()


def _page_lines(textpage: Any) -> list[_Line]:
    """Text lines with their boxes and fonts, one per run: PDFium's own lines can join two columns
    whose lines share a baseline, its runs do not."""
    text = textpage.get_text_range()
    runs = _runs(textpage)
    if not runs:
        return []
    probe = _Probe(textpage)
    starts = [0]
    for run in runs[1:]:
        # A run usually starts just after PDFium's next line break; where it does not (two runs on one
        # line, a superscript), ask PDFium which character sits at the run's left edge.
        after = max(starts[-1], 0)
        line_end = text.find("\n", after)
        guess = line_end + 1
        if guess <= 0 or not probe.inside(guess, run):
            guess = probe.first_in_line(after + 1, line_end if line_end >= 0 else len(text), run)
        if guess < 0:
            guess = probe.at(run)
        starts.append(guess if guess > after else -1)
    ends: list[int] = []
    end = len(text)
    for start in reversed(starts):
        ends.append(end)
        if start >= 0:
            end = start
    ends.reverse()
    lines: list[_Line] = []
    for run, start, stop in zip(runs, starts, ends, strict=True):
        if start < 0:
            continue
        raw_piece = text[start:stop]
        piece = raw_piece.replace("\r", "").replace("\n", "").strip()
        if not piece:
            continue
        first = start + len(raw_piece) - len(raw_piece.lstrip())
        # Boldness only decides whether a numbered line is a heading; asking costs two PDFium calls.
        bold = len(piece) <= 120 and _NUMBERED.match(piece) is not None and probe.bold(first)
        lines.append(_Line(run[0], run[1], run[2], run[3], piece, probe.size(first), bold))
    return lines


def reading_order(lines: list[_Line], width: float) -> list[_Line]:
    """Lines column by column when the page has two columns, else as the content stream gave them.

    Lines spanning the middle (a title, a full-width figure caption) split the page into bands; within
    a band the left column is read before the right one."""
    middle = width / 2
    left = [ln for ln in lines if ln.x1 <= middle + 5]
    right = [ln for ln in lines if ln.x0 >= middle - 5]
    if len(left) < 5 or len(right) < 5:
        return lines
    ordered: list[_Line] = []
    band: list[_Line] = []

    def flush() -> None:
        ordered.extend(sorted(band, key=lambda ln: (ln.x0 >= middle - 5, -ln.y1, ln.x0)))
        band.clear()

    for line in sorted(lines, key=lambda ln: (-ln.y1, ln.x0)):
        if line.x1 <= middle + 5 or line.x0 >= middle - 5:
            band.append(line)
        else:
            flush()
            ordered.append(line)
    flush()
    return ordered


def _furniture_key(line: _Line, height: float) -> str | None:
    """The key under which a margin line is compared across pages (digits folded, so "Page 3" and
    "Page 4" match); None for lines in the body of the page."""
    if line.y0 < height * (1 - _MARGIN) and line.y1 > height * _MARGIN:
        return None
    return re.sub(r"\d+", "#", line.text.lower()).strip()


def _is_heading(line: _Line, body: float) -> bool:
    text = line.text
    if len(text) > 120 or len(text.split()) > 14 or text.endswith((",", ";")):
        return False
    if _NAMED.match(text.rstrip(":.")):
        return True
    if _NUMBERED.match(text) and (line.size >= body * 1.05 or line.bold):
        return True
    return line.size >= body * 1.2 and not text.endswith(".") and any(c.isalpha() for c in text)


def _join(lines: list[str]) -> str:
    """Lines joined with spaces, a word hyphenated across a line end made whole again."""
    out = ""
    for line in lines:
        if out.endswith(_HYPHENS) and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def _authors(raw_authors: str) -> list[str]:
    parts = re.split(r";|,|\band\b|&", raw_authors)
    return [re.sub(r"[\d*†‡§]+$", "", p).strip() for p in parts if p.strip() and len(p.strip()) > 1]


def _first_page_metadata(lines: list[_Line], height: float) -> tuple[str | None, list[str]]:
    """Title (the largest type on the first page, consecutive lines joined) and the author line
    under it, for PDFs whose document information is empty."""
    body = [ln for ln in lines if _furniture_key(ln, height) is None]
    if not body:
        return None, []
    biggest = max(ln.size for ln in body)
    if biggest < statistics.median(ln.size for ln in body) * 1.15:
        return None, []
    title_lines = [ln for ln in body if ln.size >= biggest - 0.5]
    title = " ".join(ln.text for ln in title_lines[:3])
    below = [ln for ln in body if ln.y1 < title_lines[-1].y0 and ln.size < biggest - 0.5]
    for line in sorted(below, key=lambda ln: -ln.y1)[:3]:
        words = [w for w in re.split(r"[\s,;]+", line.text) if w and w.lower() not in ("and", "&")]
        capitalised = sum(1 for w in words if w[:1].isupper())
        if 2 <= len(words) <= 40 and capitalised >= 0.7 * len(words) and not _DOI.search(line.text):
            return title, _authors(line.text)
    return title, []


def _doi(text: str) -> str | None:
    match = _DOI.search(text)
    return match.group(0).rstrip(".,;)]") if match else None


def _year(first_page: str, created: str) -> int | None:
    for line in first_page.splitlines():
        if _DATED.search(line) and (match := _YEAR.search(line)):
            return int(match.group(0))
    match = _YEAR.search(created[2:6] if created.startswith("D:") else created)
    return int(match.group(0)) if match else None


@contextlib.contextmanager
def _closing(*handles: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for handle in handles:
            handle.close()


def read_pdf(data: bytes, source: str, *, max_pages: int = MAX_PAGES) -> PdfText:
    """The text of a PDF's pages as passages under their headings, with title, authors, year and DOI."""
    _check_container(data, source)
    document = _open(data, source)
    with _closing(document):
        count = len(document)
        if count > max_pages:
            raise PdfError(f"{source}: {count:,} pages, more than the {max_pages:,} read from one PDF")
        pages: list[tuple[float, list[_Line]]] = []
        total = 0
        for index in range(count):
            page = document[index]
            textpage = page.get_textpage()
            with _closing(textpage, page):
                height = page.get_height()
                lines = reading_order(_page_lines(textpage), page.get_width())
            total += sum(len(ln.text) for ln in lines)
            if total > MAX_CHARS:
                raise PdfError(f"{source}: more than {MAX_CHARS:,} characters of text (a decompression bomb?)")
            pages.append((height, lines))
        info = {k: (v or "").strip() for k, v in document.get_metadata_dict().items()}
    return _assemble(pages, info, source)


def _assemble(pages: list[tuple[float, list[_Line]]], info: dict[str, str], source: str) -> PdfText:
    empty = [n for n, (_, lines) in enumerate(pages, start=1) if not lines]
    if len(empty) == len(pages):
        raise PdfError(f"{source}: no text layer (scanned images?); run OCR first, e.g. ocrmypdf")
    seen = Counter(
        key for height, lines in pages for key in {_furniture_key(ln, height) for ln in lines} if key is not None
    )
    with_text = len(pages) - len(empty)
    repeated = {key for key, n in seen.items() if with_text >= 2 and n >= max(2, with_text // 2)}
    sizes = [ln.size for _, lines in pages for ln in lines for _ in range(max(1, len(ln.text) // 20))]
    body = statistics.median(sizes) if sizes else 10.0
    title, authors = None, []
    if pages[0][1]:
        title, authors = _first_page_metadata(pages[0][1], pages[0][0])
    passages: list[Passage] = []
    section: str | None = None
    first_page_text = ""
    for number, (height, lines) in enumerate(pages, start=1):
        kept = [
            ln for ln in lines if (key := _furniture_key(ln, height)) is None or (key not in repeated and key != "#")
        ]
        if number == 1:
            first_page_text = "\n".join(ln.text for ln in kept)
        buffer: list[str] = []
        for line in kept:
            text = unicodedata.normalize("NFKC", line.text)
            heading = _is_heading(line, body) and not (number == 1 and title and text in title)
            if heading:
                if buffer:
                    passages.append(Passage(page=number, section=section, text=_join(buffer)))
                    buffer = []
                section = text.rstrip(":")
            else:
                buffer.append(text)
        if buffer:
            passages.append(Passage(page=number, section=section, text=_join(buffer)))
    meta_title = info.get("Title", "")
    if meta_title and not _JUNK_TITLE.match(meta_title):
        title = meta_title
    if info.get("Author"):
        authors = _authors(info["Author"])
    doi = _doi(" ".join(info.get(k, "") for k in ("Subject", "Keywords", "Title"))) or _doi(first_page_text)
    return PdfText(
        title=unicodedata.normalize("NFKC", title) if title else None,
        authors=authors,
        year=_year(first_page_text, info.get("CreationDate", "")),
        doi=doi,
        pages=len(pages),
        passages=passages,
        empty_pages=empty,
    )


def read_pdf_file(path: Path, *, max_pages: int = MAX_PAGES) -> PdfText:
    """:func:`read_pdf` of a file on disk; an unreadable file is a :class:`PdfError` naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PdfError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return read_pdf(data, str(path), max_pages=max_pages)
