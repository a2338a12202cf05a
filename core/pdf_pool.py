"""PDFs parsed in worker processes, in parallel, each worker with a memory ceiling and each file with a
time limit.

Processes rather than threads: PDFium is not thread-safe, so pypdfium2 serialises every call behind
one lock and threads would parse one page at a time. A worker also contains the damage a hostile file
can do: a decompression bomb that inflates past the ceiling makes PDFium abort its process, and a
pathological file can keep it busy for ever. Each worker reads one file at a time, so the file that
kills its worker, or outlives its time limit, is known exactly: it alone is reported (as needing more
memory than allowed, or as timed out), its worker is replaced and the other files go on.

``concurrent.futures`` cannot do this: a crash breaks the whole pool without saying which file caused
it, and a running call can be neither timed from when it started nor stopped.

Workers are forked from multiprocessing's fork server, which has this module and PDFium loaded
already: a new worker costs milliseconds, where a spawned one re-imports Python, pydantic, PDFium and
the program's main module (the whole CLI) before reading its first page.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from txscout.core.pdf import MAX_PAGES, PdfError, PdfText, read_pdf, read_pdf_file

MEMORY_LIMIT = 3 * 1024**3
"""Address space a worker may use: a 300 MB PDF parses in well under this, a bomb does not."""

TIMEOUT = 120.0
"""Seconds one PDF may take: a 2,000-page book parses in well under a minute on a busy laptop."""

Parser = Callable[..., PdfText]
"""What a worker runs on each job: the job's arguments in, the PDF's text out (or a PdfError)."""


def _limit_memory(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _read_file(path: Path, max_pages: int) -> PdfText:
    return read_pdf_file(path, max_pages=max_pages)


def _read_bytes(data: bytes, source: str, max_pages: int) -> PdfText:
    return read_pdf(data, source, max_pages=max_pages)


def _serve(conn: Connection, limit: int, parse: Parser) -> None:
    """A worker's life: say it is ready, then run each job sent until the pipe closes."""
    _limit_memory(limit)
    conn.send(None)
    while True:
        try:
            label, args = conn.recv()
        except EOFError:
            return
        try:
            result: PdfText | PdfError | MemoryError = parse(*args)
        except (PdfError, MemoryError) as exc:
            result = exc
        except Exception as exc:  # a parser bug on one odd file must not end the folder run
            result = PdfError(f"{label}: cannot be read ({exc.__class__.__name__}: {exc})")
        conn.send(result)


def _context() -> Any:
    """The fork server, preloaded with this module (so PDFium and pydantic) and with the main module
    once, so that forked workers import neither. Forking a server rather than this process: the
    caller may hold chromadb's and torch's threads, which a fork would copy mid-lock."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    _start_resource_tracker()
    return context


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


class _Worker:
    """One parsing process, the job it is running and since when."""

    def __init__(self, context: Any, limit: int, parse: Parser) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, limit, parse), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.label: Any = None
        self.started = 0.0

    @property
    def idle(self) -> bool:
        return self.ready and self.label is None

    def send(self, label: Any, args: tuple[Any, ...]) -> None:
        self.conn.send((label, args))
        self.label, self.started = label, time.monotonic()

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def default_workers(files: int) -> int:
    return max(1, min(files, os.cpu_count() or 1))


def _run(
    jobs: list[tuple[Any, tuple[Any, ...]]], workers: int, memory_limit: int, timeout: float, parse: Parser
) -> Iterator[tuple[Any, PdfText | PdfError]]:
    """Each job's label with its result, as each finishes, ``workers`` jobs at a time."""
    context = _context()
    pool = [_Worker(context, memory_limit, parse) for _ in range(workers)]
    queue = deque(jobs)
    try:
        while queue or any(w.label is not None for w in pool):
            for worker in pool:
                if worker.idle and queue:
                    worker.send(*queue.popleft())
            deadline = min((w.started + timeout for w in pool if w.label is not None), default=None)
            wait(
                [w.conn for w in pool] + [w.process.sentinel for w in pool],
                timeout=None if deadline is None else max(0.0, deadline - time.monotonic()),
            )
            for index, worker in enumerate(pool):
                outcome, spent = _collect(worker, memory_limit, timeout)
                if outcome is not None:
                    yield outcome
                if spent:
                    worker.stop()
                    pool[index] = _Worker(context, memory_limit, parse)
    finally:
        for worker in pool:
            worker.stop()


def _collect(worker: _Worker, memory_limit: int, timeout: float) -> tuple[tuple[Any, PdfText | PdfError] | None, bool]:
    """What a worker has to report, if anything (a job's result, its crash or its time running out),
    and whether the worker is spent and must be replaced."""
    alive = worker.process.is_alive()
    if worker.conn.poll():
        try:
            result = worker.conn.recv()
        except (EOFError, OSError):
            alive = False
        else:
            if not worker.ready:
                worker.ready = True
                return None, False
            label, worker.label = worker.label, None
            if isinstance(result, MemoryError):
                return (label, _too_big(label, memory_limit)), False
            return (label, result), False
    if not alive:
        if worker.label is not None:
            return (worker.label, _too_big(worker.label, memory_limit)), True
        if not worker.ready:
            worker.process.join(5)  # for its exit code
            raise PdfError(f"a PDF worker process could not start (exit code {worker.process.exitcode})")
        return None, True
    if worker.label is not None and time.monotonic() - worker.started >= timeout:
        return (worker.label, PdfError(f"{worker.label}: parse timed out after {timeout:g} s")), True
    return None, False


def parse_pdfs(
    paths: list[Path],
    *,
    workers: int | None = None,
    max_pages: int = MAX_PAGES,
    memory_limit: int = MEMORY_LIMIT,
    timeout: float = TIMEOUT,
    parse: Parser = _read_file,
) -> Iterator[tuple[Path, PdfText | PdfError]]:
    """Each path with its text or the error that names why it cannot be read, as each finishes.

    A file still being read ``timeout`` seconds after its worker took it is reported as timed out and
    its worker killed. ``parse`` is what a worker runs on each file, called with the path and
    ``max_pages`` (a module-level function: it reaches the workers by name); the default reads the PDF.
    """
    if not paths:
        return iter(())
    jobs = [(path, (path, max_pages)) for path in paths]
    return _run(jobs, workers or default_workers(len(paths)), memory_limit, timeout, parse)


def parse_pdf_bytes(
    data: bytes, source: str, *, max_pages: int = MAX_PAGES, memory_limit: int = MEMORY_LIMIT, timeout: float = TIMEOUT
) -> PdfText:
    """One PDF held in memory (a download) parsed in its own memory-capped, time-limited worker;
    :class:`PdfError` if it cannot be read."""
    ((_, result),) = _run([(source, (data, source, max_pages))], 1, memory_limit, timeout, _read_bytes)
    if isinstance(result, PdfError):
        raise result
    return result


def _too_big(label: Any, limit: int) -> PdfError:
    return PdfError(f"{label}: needs more than {limit / 1024**2:,.0f} MB of memory to read (a decompression bomb?)")
