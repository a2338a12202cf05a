"""Real PDFs written with reportlab for the PDF tests and the parsing benchmark.

Each maker draws text with known positions, so a test can say what reading order, pages, headers and
headings the parser must recover: two columns written line by line across both (the interleaved
order some producers use), a running header and page-number footer on every page, a hyphen at a
line end, an "fi" ligature, numbered section headings in a larger bold font.
"""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = A4
LEFT_X = 50
RIGHT_X = WIDTH / 2 + 15
COLUMN_LINES = 40


def _page_furniture(pdf: canvas.Canvas, page: int, header: str) -> None:
    pdf.setFont("Helvetica", 8)
    pdf.drawString(LEFT_X, HEIGHT - 30, header)
    pdf.drawCentredString(WIDTH / 2, 25, str(page))


def column_lines(page: int, side: str, count: int = COLUMN_LINES) -> list[str]:
    """The lines of one column: each names its page, column and line so order can be checked."""
    return [f"p{page}{side}{n:02d} kinase inhibitor sentence number {n} continues." for n in range(count)]


def paper(
    path: Path,
    *,
    pages: int = 3,
    title: str = "Covalent KRAS G12C inhibition in lung cancer",
    authors: str = "Jane Lee, Omar Diaz, Wei Chen",
    year: int = 2021,
    doi: str = "10.1234/kras.2021.007",
    metadata: bool = False,
    two_columns: bool = True,
    image_page: int | None = None,
) -> Path:
    """A journal-style paper: title block on page 1, two interleaved columns, headers, footers.

    ``metadata`` writes title and author into the PDF's document information; without it (as LaTeX
    output often is) they must be read off the first page. ``image_page`` (1-based) is a page that
    is only a drawn picture, with no text layer.
    """
    pdf = canvas.Canvas(str(path), pagesize=A4)
    if metadata:
        pdf.setTitle(title)
        pdf.setAuthor(authors)
        pdf.setSubject(f"doi:{doi}")
    else:
        pdf.setTitle("")
        pdf.setAuthor("")
    for page in range(1, pages + 1):
        if page == image_page:
            pdf.setFillColorRGB(0.2, 0.4, 0.6)
            pdf.rect(100, 200, 300, 400, fill=1)
            pdf.showPage()
            continue
        _page_furniture(pdf, page, "Journal of Targeted Oncology 12 (2021)")
        top = HEIGHT - 70
        if page == 1:
            pdf.setFont("Helvetica-Bold", 18)
            pdf.drawString(LEFT_X, top, title)
            pdf.setFont("Helvetica", 10)
            pdf.drawString(LEFT_X, top - 22, authors)
            pdf.drawString(LEFT_X, top - 36, f"Received 3 March {year}. https://doi.org/{doi}")
            top -= 70
        pdf.setFont("Helvetica-Bold", 13)
        pdf.drawString(LEFT_X, top, f"{page}. Results part {page}")
        top -= 20
        left = column_lines(page, "L")
        right = column_lines(page, "R")
        pdf.setFont("Helvetica", 9)
        for n in range(COLUMN_LINES):
            y = top - n * 12
            if y < 50:
                break
            if two_columns:
                pdf.drawString(LEFT_X, y, left[n])
                pdf.drawString(RIGHT_X, y, right[n])
            else:
                pdf.drawString(LEFT_X, y, left[n] + " " + right[n])
        pdf.showPage()
    pdf.save()
    return path


def prose(path: Path, lines: list[str], *, header: str | None = None) -> Path:
    """One column of the given lines, one PDF line each, on as many pages as they need."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    page = 1
    y = HEIGHT - 70
    if header:
        _page_furniture(pdf, page, header)
    pdf.setFont("Helvetica", 10)
    for line in lines:
        if y < 60:
            pdf.showPage()
            page += 1
            if header:
                _page_furniture(pdf, page, header)
            pdf.setFont("Helvetica", 10)
            y = HEIGHT - 70
        pdf.drawString(LEFT_X, y, line)
        y -= 14
    pdf.showPage()
    pdf.save()
    return path


def blank_pages(path: Path, pages: int) -> Path:
    """Many pages, each with one short line (for the page cap)."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for page in range(pages):
        pdf.setFont("Helvetica", 10)
        pdf.drawString(LEFT_X, 400, f"page {page}")
        pdf.showPage()
    pdf.save()
    return path


def encrypted(source: Path, path: Path, password: str = "secret") -> Path:
    """``source`` encrypted with a user password (pypdf writes standard AES encryption)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(source).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def bomb(path: Path, inflated: int = 700_000_000) -> Path:
    """A one-page PDF whose content stream inflates from under 1 MB per 800 MB to ``inflated`` bytes."""
    import zlib

    compressor = zlib.compressobj(1)  # fast to write; spaces still shrink about 800 to 1
    block = b" " * 1_000_000
    packed = b"".join(compressor.compress(block) for _ in range(inflated // len(block))) + compressor.flush()
    buffer = io.BytesIO()
    offsets: list[int] = []

    def obj(body: bytes) -> None:
        offsets.append(buffer.tell())
        buffer.write(f"{len(offsets)} 0 obj\n".encode() + body + b"\nendobj\n")

    buffer.write(b"%PDF-1.4\n")
    obj(b"<< /Type /Catalog /Pages 2 0 R >>")
    obj(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    obj(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>")
    obj(f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode() + packed + b"\nendstream")
    xref = buffer.tell()
    buffer.write(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        buffer.write(f"{offset:010d} 00000 n \n".encode())
    buffer.write(f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    path.write_bytes(buffer.getvalue())
    return path


def ligatures(path: Path) -> Path:
    """Lines set in DejaVu Sans with typographic ligatures (U+FB01 "ﬁ", U+FB02 "ﬂ") and a word
    hyphenated across a line end, as typeset papers have them."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setFont("DejaVu", 10)
    for n, line in enumerate(
        ["The ﬁrst ﬁnding on ﬂuorouracil was the inhibi-", "tion of thymidylate synthase in tumour cells."]
    ):
        pdf.drawString(LEFT_X, HEIGHT - 100 - 14 * n, line)
    pdf.showPage()
    pdf.save()
    return path
