"""PDF parsing speed (issue 20): the parsers alone against txscout's reading of a folder.

Generates a folder of two-column papers with reportlab (lines of both columns interleaved, running
headers, page-number footers), then measures pages per second for:

- pypdfium2 alone: each page's text in PDFium's order (``get_text_range``), no layout work;
- pypdf and pdfminer.six alone, where installed (licence-compatible alternatives);
- txscout's ``read_pdf`` in this process (reading order, headings, headers, metadata);
- txscout's folder path, ``parse_pdfs`` in worker processes (what ``memory add DIR`` runs). Threads
  are no option: PDFium is not thread-safe (two threads reading at once crash the process), which is
  why the folder path, and every other caller, parses in worker processes.

Embedding is reported separately: the chunks of the folder are embedded by the int8 MiniLM and
chunks per second printed, since on two cores it, not parsing, decides how long ``memory add`` takes.

    python benchmarks/perf/pdf_perf.py --files 40 --pages 20 --skip-embedding
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.pdf_factory writes the PDFs


TARGET = 0.8
"""Issue 20: parsing a folder through txscout at no less than this share of the parser's own pages/s."""


def _rate(label: str, pages: int, seconds: float) -> float:
    rate = pages / seconds
    print(f"{label:<44} {pages:>6} pages {seconds:>7.2f} s {rate:>8.1f} pages/s")
    return rate


def pdfium_alone(paths: list[Path]) -> int:
    import pypdfium2 as pdfium

    pages = 0
    for path in paths:
        document = pdfium.PdfDocument(path)
        for page in document:
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
            pages += 1
        document.close()
    return pages


def pypdf_alone(paths: list[Path]) -> int:
    from pypdf import PdfReader

    return sum(1 for path in paths for page in PdfReader(path).pages if page.extract_text() is not None)


def pdfminer_alone(paths: list[Path]) -> int:
    from pdfminer.high_level import extract_pages

    return sum(1 for path in paths for _ in extract_pages(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-embedding", action="store_true")
    args = parser.parse_args()

    from tests import pdf_factory
    from txscout.core.chunking import chunk_text
    from txscout.core.pdf import read_pdf_file
    from txscout.core.pdf_pool import parse_pdfs

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            pdf_factory.paper(
                Path(tmp) / f"paper{n:03d}.pdf", pages=args.pages, title=f"Paper {n} on kinase inhibitors"
            )
            for n in range(args.files)
        ]
        total = args.files * args.pages
        start = time.perf_counter()
        pages = pdfium_alone(paths)
        alone = _rate("pypdfium2 alone (text in stream order)", pages, time.perf_counter() - start)
        for name, fn in (("pypdf alone", pypdf_alone), ("pdfminer.six alone", pdfminer_alone)):
            try:
                start = time.perf_counter()
                _rate(name, fn(paths[:3]), time.perf_counter() - start)
            except ImportError:
                print(f"{name:<44} not installed")
        start = time.perf_counter()
        parsed = [read_pdf_file(p) for p in paths]
        inline = _rate("txscout read_pdf, one process", total, time.perf_counter() - start)
        start = time.perf_counter()
        results = list(parse_pdfs(paths, workers=args.workers))
        pooled = _rate(
            f"txscout parse_pdfs, {args.workers} workers (memory add DIR)", total, time.perf_counter() - start
        )
        assert all(not isinstance(r, Exception) for _, r in results)
        print(f"ratio txscout/pypdfium2: one process {inline / alone:.2f}, folder path {pooled / alone:.2f}")
        verdict = "met" if pooled / alone >= TARGET else "NOT met"
        print(f"target: folder path >= {TARGET:.2f} x pypdfium2 alone: {verdict} ({pooled / alone:.2f})")
        if not args.skip_embedding:
            from txscout.memory.embeddings import get_embedder

            chunks = [c for doc in parsed for passage in doc.passages for c in chunk_text(passage.text)]
            embedder = get_embedder()
            embedder.encode(["warm up"])
            start = time.perf_counter()
            embedder.encode(chunks)
            seconds = time.perf_counter() - start
            print(f"embedding (int8 MiniLM): {len(chunks)} chunks {seconds:.1f} s {len(chunks) / seconds:.1f} chunks/s")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
