"""PDFs parsed in worker processes, in parallel, each worker with a memory ceiling.

Processes rather than threads: PDFium is not thread-safe, so pypdfium2 serialises every call behind
one lock and threads would parse one page at a time. A worker also contains the damage a hostile file
can do: a decompression bomb that inflates past the ceiling makes PDFium abort its process, and only
the files in flight with it are affected. Those are parsed again one by one, so the file that kills
its worker alone is reported (as needing more memory than allowed), and the others are read.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from txscout.core.pdf import MAX_PAGES, PdfError, PdfText, read_pdf, read_pdf_file

MEMORY_LIMIT = 3 * 1024**3
"""Address space a worker may use: a 300 MB PDF parses in well under this, a bomb does not."""


def _limit_memory(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _parse(path: str, max_pages: int) -> PdfText:
    return read_pdf_file(Path(path), max_pages=max_pages)


def _parse_bytes(data: bytes, source: str, max_pages: int) -> PdfText:
    return read_pdf(data, source, max_pages=max_pages)


def parse_pdf_bytes(
    data: bytes, source: str, *, max_pages: int = MAX_PAGES, memory_limit: int = MEMORY_LIMIT
) -> PdfText:
    """One PDF held in memory (a download) parsed in its own memory-capped worker; :class:`PdfError`
    if it cannot be read."""
    with _pool(1, memory_limit) as pool:
        try:
            return pool.submit(_parse_bytes, data, source, max_pages).result()
        except (BrokenProcessPool, MemoryError):
            raise _too_big(source, memory_limit) from None


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr. Under the terminal app sys.stderr is
    a capture whose fileno() is -1, which the tracker would pass on to its process and fail."""
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (OSError, ValueError):
        usable = False
    saved = sys.stderr
    if not usable:
        sys.stderr = sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = saved


def _pool(workers: int, limit: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent may hold chromadb's and torch's threads, which a fork copies mid-lock.
    context = multiprocessing.get_context("spawn")
    _start_resource_tracker()
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_limit_memory, initargs=(limit,))


def default_workers(files: int) -> int:
    return max(1, min(files, os.cpu_count() or 1))


def parse_pdfs(
    paths: list[Path], *, workers: int | None = None, max_pages: int = MAX_PAGES, memory_limit: int = MEMORY_LIMIT
) -> Iterator[tuple[Path, PdfText | PdfError]]:
    """Each path with its text or the error that names why it cannot be read, as each finishes.

    At most two files per worker are in flight, so a crashing worker costs little work."""
    workers = workers or default_workers(len(paths))
    crashed: list[Path] = []
    queue = list(reversed(paths))
    with _pool(workers, memory_limit) as pool:
        running: dict[Future[PdfText], Path] = {}
        while queue or running:
            while queue and len(running) < 2 * workers and not crashed:
                path = queue.pop()
                running[pool.submit(_parse, str(path), max_pages)] = path
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                path = running.pop(future)
                try:
                    yield path, future.result()
                except PdfError as exc:
                    yield path, exc
                except BrokenProcessPool:
                    crashed.append(path)
                except MemoryError:
                    yield path, _too_big(path, memory_limit)
            if crashed and not running:
                break
    for path in crashed:
        yield from _alone(path, max_pages, memory_limit)
    if crashed and queue:
        yield from parse_pdfs(list(reversed(queue)), workers=workers, max_pages=max_pages, memory_limit=memory_limit)


def _alone(path: Path, max_pages: int, memory_limit: int) -> Iterator[tuple[Path, PdfText | PdfError]]:
    with _pool(1, memory_limit) as pool:
        try:
            yield path, pool.submit(_parse, str(path), max_pages).result()
        except PdfError as exc:
            yield path, exc
        except (BrokenProcessPool, MemoryError):
            yield path, _too_big(path, memory_limit)


def _too_big(path: Path | str, limit: int) -> PdfError:
    return PdfError(f"{path}: needs more than {limit / 1024**2:,.0f} MB of memory to read (a decompression bomb?)")
