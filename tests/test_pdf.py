"""PDF text layers: pages, reading order, headings, running headers, metadata, and one-line refusals.

Every PDF here is written by reportlab (pypdf for the encrypted one) with known content, so each test
can say exactly what the parser must recover.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests import pdf_factory
from txscout.core.pdf import PdfError, PdfText, read_pdf_file
from txscout.core.pdf_pool import parse_pdf_bytes, parse_pdfs


def _markers(text: str) -> list[str]:
    return re.findall(r"p\d[LR]\d\d", text)


def test_two_columns_written_line_by_line_read_column_by_column(tmp_path: Path) -> None:
    parsed = read_pdf_file(pdf_factory.paper(tmp_path / "paper.pdf", pages=2))
    for page in (1, 2):
        text = " ".join(p.text for p in parsed.passages if p.page == page)
        expected = [f"p{page}L{n:02d}" for n in range(pdf_factory.COLUMN_LINES)]
        expected += [f"p{page}R{n:02d}" for n in range(pdf_factory.COLUMN_LINES)]
        found = _markers(text)
        assert found == [m for m in expected if m in found] and len(found) >= 2 * 30


def test_pages_sections_and_running_headers(tmp_path: Path) -> None:
    parsed = read_pdf_file(pdf_factory.paper(tmp_path / "paper.pdf", pages=3))
    assert parsed.pages == 3
    body = [p for p in parsed.passages if _markers(p.text)]
    assert {(p.page, p.section) for p in body} == {(n, f"{n}. Results part {n}") for n in (1, 2, 3)}
    everything = " ".join(p.text for p in parsed.passages)
    assert "Journal of Targeted Oncology" not in everything  # the running header repeats on every page
    assert not re.search(r"continues\. [123] p", everything)  # and the page-number footers are gone


def test_metadata_read_off_the_first_page_when_the_document_information_is_empty(tmp_path: Path) -> None:
    parsed = read_pdf_file(pdf_factory.paper(tmp_path / "latex.pdf", pages=2, metadata=False))
    assert parsed.title == "Covalent KRAS G12C inhibition in lung cancer"
    assert parsed.authors == ["Jane Lee", "Omar Diaz", "Wei Chen"]
    assert parsed.year == 2021 and parsed.doi == "10.1234/kras.2021.007"


def test_document_information_wins_when_present(tmp_path: Path) -> None:
    path = pdf_factory.paper(
        tmp_path / "word.pdf", pages=1, metadata=True, title="Body text title", doi="10.5555/meta.1"
    )
    parsed = read_pdf_file(path)
    assert parsed.title == "Body text title" and parsed.doi == "10.5555/meta.1"


def test_ligatures_folded_and_hyphenated_words_joined(tmp_path: Path) -> None:
    parsed = read_pdf_file(pdf_factory.ligatures(tmp_path / "lig.pdf"))
    text = " ".join(p.text for p in parsed.passages)
    assert "The first finding on fluorouracil was the inhibition of thymidylate synthase" in text


def test_a_page_that_is_only_an_image_is_reported_not_lost(tmp_path: Path) -> None:
    parsed = read_pdf_file(pdf_factory.paper(tmp_path / "fig.pdf", pages=3, image_page=2))
    assert parsed.empty_pages == [2]
    assert {p.page for p in parsed.passages} == {1, 3}


def test_bad_pdfs_are_refused_with_the_file_and_the_cause(tmp_path: Path) -> None:
    good = pdf_factory.paper(tmp_path / "good.pdf", pages=2)
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[:3000])
    scanned = pdf_factory.paper(tmp_path / "scan.pdf", pages=1, image_page=1)
    cases = {
        pdf_factory.encrypted(good, tmp_path / "locked.pdf"): "encrypted",
        truncated: "truncated",
        scanned: "no text layer",
        pdf_factory.blank_pages(tmp_path / "huge.pdf", 60): "60 pages, more than the 50",
    }
    (tmp_path / "fake.pdf").write_text("just text, renamed")
    cases[tmp_path / "fake.pdf"] = "not a PDF"
    for path, cause in cases.items():
        with pytest.raises(PdfError) as info:
            read_pdf_file(path, max_pages=50)
        message = str(info.value)
        assert message.startswith(f"{path}: ") and cause in message and "\n" not in message


def test_a_decompression_bomb_kills_only_its_own_worker(tmp_path: Path) -> None:
    bomb = pdf_factory.bomb(tmp_path / "bomb.pdf")
    good = pdf_factory.paper(tmp_path / "good.pdf", pages=1)
    results = dict(parse_pdfs([bomb, good], workers=2, memory_limit=512 * 1024**2))
    assert isinstance(results[bomb], PdfError) and "decompression bomb" in str(results[bomb])
    assert not isinstance(results[good], PdfError) and results[good].pages == 1


def stall_on_hung_files(path: Path, max_pages: int) -> PdfText:
    """The pool's parser, except that a file named hung* never finishes, as a pathological PDF can."""
    if path.name.startswith("hung"):
        time.sleep(3600)
    return read_pdf_file(path, max_pages=max_pages)


def test_a_hung_file_times_out_alone_and_the_folder_goes_on(tmp_path: Path) -> None:
    hung = pdf_factory.paper(tmp_path / "hung.pdf", pages=1)
    good = [pdf_factory.paper(tmp_path / f"good{n}.pdf", pages=1) for n in range(4)]
    started = time.monotonic()
    results = list(parse_pdfs([hung, *good], workers=2, timeout=1.5, parse=stall_on_hung_files))
    assert time.monotonic() - started < 60  # not the hour the hung file would take
    by_path = dict(results)
    assert len(results) == 5 and str(by_path[hung]) == f"{hung}: parse timed out after 1.5 s"
    assert all(not isinstance(by_path[p], PdfError) and by_path[p].pages == 1 for p in good)


def test_a_downloaded_pdf_is_parsed_in_a_worker_and_its_failure_raised(tmp_path: Path) -> None:
    data = pdf_factory.paper(tmp_path / "paper.pdf", pages=2).read_bytes()
    assert parse_pdf_bytes(data, "https://example.org/paper.pdf").pages == 2
    with pytest.raises(PdfError, match=r"^https://example.org/cut.pdf: truncated PDF"):
        parse_pdf_bytes(data[:2000], "https://example.org/cut.pdf")
