"""Run a suite through the agent: one fsynced JSONL record per scored item, resumable after a crash.

The output folder holds ``manifest.json`` (what was run, to repeat it and so a resume can refuse a
changed setup), ``records.jsonl`` (one line per scored item, appended and fsynced as each item
finishes), ``traces/<item>.jsonl`` (the agent's event stream per item) and ``summary.json``.

Items are scored by a thread pool in this process (``--concurrency``) or by Ray workers (``--ray``,
``--workers``, :mod:`txscout.benchmarks.ray_pool`); either way this process alone writes the folder, so
the guarantees above do not depend on where items ran.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from txscout.benchmarks.adapters import get_adapter
from txscout.benchmarks.adapters.base import check_subsets
from txscout.benchmarks.items import Item, LoadResult, Record, Summary
from txscout.benchmarks.manifest import (
    MANIFEST,
    Changes,
    Manifest,
    Session,
    data_files,
    dataset_hash,
    environment_facts,
    masked_settings,
    model_facts,
    now,
    resume_manifest,
    write_manifest,
)
from txscout.benchmarks.scoring import AgentFactory, AgentLike, Scorer, SpecAgents, trace_path
from txscout.benchmarks.summary import print_summary, summarize
from txscout.core.errors import UserError, validation_problems
from txscout.core.files import (
    NotText,
    atomic_write_text,
    atomic_writer,
    open_private,
    path_kind,
    private_dir,
    refuse_binary,
    sniff_text,
)
from txscout.core.secrets import mask_text, mask_url
from txscout.core.settings import MODES, Mode, Settings, load_settings
from txscout.core.text import clean

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from txscout.benchmarks.adapters.base import Adapter
    from txscout.benchmarks.judge import Judge

__all__ = ["MANIFEST", "RECORDS", "SUMMARY", "RunOptions", "options_from", "read_records", "run_benchmark"]

RECORDS = "records.jsonl"
SUMMARY = "summary.json"
LOCAL_RAY = "local"


class RunOptions(BaseModel):
    suite: str
    data: Path
    out: Path
    subsets: list[str] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)
    mode: Mode | None = None
    model: str | None = None
    judge: str | None = None
    concurrency: int = Field(default=1, ge=1, description="Items in flight at once (per worker with Ray).")
    ray: str | None = Field(default=None, description="Ray cluster address, or 'local' to start one here.")
    workers: int = Field(default=2, ge=1, description="Ray worker actors (with ray only).")
    seed: int = 0
    shots: int | None = Field(default=None, ge=0)
    resume: bool = False
    force: bool = False
    progress: bool = True
    setting: str | None = Field(default=None, description="How the suite's questions are asked (open-book, ...).")
    offline: bool | None = Field(default=None, description="Network tools off (None: the offline setting).")


def options_from(**values: Any) -> RunOptions:
    """Build options from CLI values, turning validation failures into one-line user errors."""
    mode = values.get("mode")
    if mode is not None and mode not in MODES:
        raise UserError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    try:
        return RunOptions(**values)
    except ValidationError as exc:
        raise UserError(f"invalid option {validation_problems(exc, 'options')}") from None


def select(loaded: LoadResult, subsets: Sequence[str], limit: int | None) -> list[Item]:
    """Items in file order, filtered to the named subsets (or the suite's defaults), then the first N."""
    wanted = [s for s in subsets if s] or loaded.default_subsets
    if subsets:
        check_subsets(loaded.items, wanted)
    items = [i for i in loaded.items if not wanted or any(i.in_subset(w) for w in wanted)]
    counts = Counter(i.id for i in items)
    duplicates = sorted(k for k, v in counts.items() if v > 1)
    if duplicates:
        raise UserError(f"duplicate item ids in the data, cannot resume safely: {', '.join(duplicates[:5])}")
    return items[:limit] if limit else items


def read_records(path: Path) -> list[Record]:
    """Scored records; a line cut off by a kill (or otherwise unreadable) is dropped so its item reruns.
    A whole line that is not text means the file is not a records file at all: a user error, so that
    a resume never rewrites it and nothing in it is lost."""
    kind = path_kind(path)
    if kind == "missing":
        return []
    if kind != "file":
        raise UserError(f"{path} is not a txscout records file: it is not a regular file")
    records: list[Record] = []
    seen: set[str] = set()
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                if not line.endswith(b"\n"):
                    refuse_binary(line, f"line {lineno}")  # a cut-off tail may end inside a character
                    break
                sniff_text(line, f"line {lineno}")
            except NotText as exc:
                raise UserError(f"{path} is not a txscout records file: {exc}") from None
            try:
                record = Record.model_validate_json(line)
            except ValidationError:
                continue
            if record.item_id not in seen:
                seen.add(record.item_id)
                records.append(record)
    return records


def _rewrite(path: Path, records: Sequence[Record]) -> None:
    """Atomically replace ``records.jsonl`` with only whole, valid lines before appending to it."""
    with atomic_writer(path, durable=True) as fh:
        for record in records:
            fh.write(record.model_dump_json() + "\n")


def _settings(options: RunOptions) -> Settings:
    settings = load_settings(mode=options.mode, model=options.model, offline=options.offline)
    if settings.http_cache == "off":
        settings = settings.model_copy(update={"http_cache": "read-write"})
    return settings


def prepare_out(out: Path) -> Path:
    """The output folder, created private; a file in its place or an unwritable parent is a user error."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the run")
    try:
        return private_dir(out)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None


class RecordWriter:
    """Appends one record per line, flushed and fsynced before the item counts as scored."""

    def __init__(self, path: Path) -> None:
        self._fh = open_private(path, "a")
        self._lock = threading.Lock()

    def write(self, record: Record) -> None:
        with self._lock:
            self._fh.write(record.model_dump_json() + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


class Tally:
    """The driver's side of scoring: writes each record (and a trace handed over by a worker), counts
    it for the session and moves the progress bar."""

    def __init__(
        self, run: BenchRun, previous: Sequence[Record], scored: list[Record], progress: Progress, task: TaskID
    ) -> None:
        self.run = run
        self.scored = scored
        self._writer = RecordWriter(run.out / RECORDS)
        self._progress = progress
        self._task = task
        self._n = len(previous)
        self._correct = sum(r.correct for r in previous)
        self._tokens = sum(r.input_tokens + r.output_tokens for r in previous)

    def fields(self) -> dict[str, str]:
        acc = f"{self._correct / self._n:.1%}" if self._n else "-"
        return {"acc": acc, "tokens": f"{self._tokens:,}"}

    def write(self, record: Record, trace: str | None = None) -> None:
        """Make the item durable (thread-safe). A trace from a worker is written before the record, so
        a scored item always has its trace."""
        if trace:
            path = self.run.out / record.trace
            private_dir(path.parent)
            atomic_write_text(path, trace, private=True)
        self._writer.write(record)

    def count(self, record: Record) -> None:
        """Count a written record for the session and the progress bar (from the driver's loop only)."""
        self.scored.append(record)
        self._n += 1
        self._correct += record.correct
        self._tokens += record.input_tokens + record.output_tokens
        self._progress.update(self._task, advance=1, **self.fields())
        self.run.progress(len(self.scored))

    def land(self, record: Record, trace: str | None = None) -> None:
        self.write(record, trace)
        self.count(record)

    def close(self) -> None:
        self._writer.close()


def _progress(console: Console, enabled: bool) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("acc {task.fields[acc]}"),
        TextColumn("{task.fields[tokens]} tok"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
    )


@dataclass
class BenchRun:
    """One invocation of a benchmark run: what to score, where it goes, and who answers.

    ``settings`` are the run's effective settings (the judge's too). Exactly one of ``agent`` (an agent
    object, scored by threads in this process) and ``agents`` (a picklable recipe, built here for threads
    or in each Ray worker) is set. ``forced`` holds what a ``--force`` resume overrode.
    """

    options: RunOptions
    adapter: Adapter
    loaded: LoadResult
    items: list[Item]
    settings: Settings
    mode: Mode
    judge: Judge | None
    agent: AgentLike | None
    agents: AgentFactory | None
    manifest: Manifest
    console: Console
    forced: Changes = field(default_factory=dict)
    clock: float = 0.0  # monotonic start of this session

    @property
    def out(self) -> Path:
        return self.options.out

    @property
    def executor(self) -> str:
        if self.options.ray is None:
            return f"threads x{self.options.concurrency}"
        where = "local" if self.options.ray == LOCAL_RAY else mask_url(self.options.ray)
        return f"ray {where}, {self.options.workers} workers x{self.options.concurrency}"

    def scorer(self) -> Scorer:
        """The scorer for threads in this process (building the agent from its recipe once)."""
        if self.agent is None:
            assert self.agents is not None
            self.agent = self.agents()
        return Scorer(self.adapter, self.agent, self.judge, self.mode)

    def pending(self) -> tuple[list[Record], list[Item]]:
        """Records already scored and the selected items still to score (nothing is written yet)."""
        records = read_records(self.out / RECORDS)
        done = {r.item_id for r in records}
        return records, [i for i in self.items if i.id not in done]

    def start(self, previous: Sequence[Record], started_at: str) -> None:
        """Claim the folder: records cut back to whole lines, the manifest written with this session
        already listed, so a session killed before it finishes (``kill -9``) is still on record."""
        self.clock = time.monotonic()
        _rewrite(self.out / RECORDS, previous)
        self.manifest.sessions.append(
            Session(
                scored=0,
                wall_s=0.0,
                started_at=started_at,
                executor=self.executor,
                txscout_version=self.manifest.txscout_version,
                git_commit=self.manifest.git_commit,
                forced=self.forced,
            )
        )
        write_manifest(self.out, self.manifest)

    def progress(self, scored: int) -> None:
        """Bring this session's entry up to date after each scored item, so a killed session says how
        far it got."""
        session = self.manifest.sessions[-1]
        session.scored, session.wall_s = scored, round(time.monotonic() - self.clock, 3)
        write_manifest(self.out, self.manifest)

    def finish(self, scored: int, wall_s: float) -> Summary:
        """Close the session: manifest and summary written, from whatever records exist now."""
        session = self.manifest.sessions[-1]
        session.scored, session.wall_s, session.ended_at = scored, wall_s, now()
        write_manifest(self.out, self.manifest)
        selected = {i.id for i in self.items}
        records = [r for r in read_records(self.out / RECORDS) if r.item_id in selected]
        summary = summarize(self.manifest, self.adapter, records, len(self.items), self.loaded)
        atomic_write_text(self.out / SUMMARY, summary.model_dump_json(indent=2) + "\n")
        return summary


def _load(adapter: Adapter, options: RunOptions) -> tuple[LoadResult, list[Item]]:
    loaded = adapter.read(options.data, seed=options.seed, shots=options.shots)
    items = select(loaded, options.subsets, options.limit)
    if not items:
        raise UserError(f"no items to run in {options.data} ({len(loaded.skipped)} skipped)")
    return loaded, items


def _warn_malformed(loaded: LoadResult, console: Console) -> None:
    from rich.text import Text

    bad_rows = [s for s in loaded.skipped if s.malformed]
    for skip in bad_rows[:10]:
        console.print(Text(clean(f"skipped malformed row {skip.source}: {skip.reason}")), soft_wrap=True)
    if len(bad_rows) > 10:
        console.print(f"... and {len(bad_rows) - 10} more malformed rows (listed in summary.json)")


def _judge(adapter: Adapter, options: RunOptions, judge: Judge | None, settings: Settings) -> Judge | None:
    if options.judge and adapter.judge_use == "none":
        raise UserError(f"the {adapter.name} suite is graded without a judge; drop --judge")
    if judge is None and options.judge:
        from txscout.benchmarks.judge import Judge

        judge = Judge.load(options.judge, settings)
    if adapter.judge_use == "required" and judge is None:
        raise UserError(f"the {adapter.name} suite is graded by a judge model; pass --judge MODEL")
    return judge


def _describe(run_options: RunOptions, agent: AgentLike | None, agents: AgentFactory | None) -> dict[str, Any]:
    """Model label, spec and effective settings, from the agent object or its recipe, without building it."""
    if agent is not None:
        return {"model": agent.model_label, "spec": run_options.model, "settings": agent.settings}
    assert agents is not None
    return {"model": agents.model_label, "spec": agents.model_spec, "settings": agents.settings}


def _manifest(options: RunOptions, adapter: Adapter, loaded: LoadResult, items: list[Item], **run: Any) -> Manifest:
    settings: Settings = run["settings"]
    judge: Judge | None = run["judge"]
    return Manifest(
        **environment_facts(),
        suite=adapter.name,
        # Only a setting other than the suite's default is recorded, so runs from before settings existed
        # still resume under the same manifest.
        setting=adapter.setting if adapter.setting != next(iter(adapter.settings_offered), None) else None,
        data=str(options.data.resolve()),
        data_sha256=dataset_hash(loaded.files),
        data_files=data_files(options.data, loaded.files),
        data_items=len(loaded.items),
        selected=len(items),
        subsets=options.subsets,
        limit=options.limit,
        seed=options.seed,
        shots=options.shots,
        model=mask_text(run["model"], settings),
        **model_facts(run["spec"], settings),
        mode=run["mode"],
        judge=mask_text(judge.label, settings) if judge else None,
        grader=adapter.grader_name(judge),
        http_cache=settings.http_cache,
        settings=masked_settings(settings),
    )


def _open_book(
    adapter: Adapter, loaded: LoadResult, settings: Settings, given: AgentLike | AgentFactory | None, console: Console
) -> Settings:
    """The run's settings over the suite's open-book store (filled on first use). An agent passed in must
    already search that store: one built over the user's own store would be graded on other evidence."""
    from txscout.benchmarks.open_book import open_book_settings

    settings = open_book_settings(adapter, loaded, dataset_hash(loaded.files), settings, console)
    if given is not None and (given.settings.memory_path, given.settings.memory_url) != (settings.memory_path, None):
        raise UserError(f"the open-book setting needs an agent whose memory_path is {settings.memory_path}")
    return settings


def prepare(
    options: RunOptions,
    *,
    agent: AgentLike | None,
    agents: AgentFactory | None,
    judge: Judge | None,
    console: Console,
) -> BenchRun:
    """Everything checked and described before any item runs: data, judge, model, output folder, manifest."""
    if options.ray is not None and agent is not None:
        raise ValueError("Ray workers build their own agents: pass agents= (a picklable recipe), not agent=")
    if options.ray is not None and judge is not None:
        raise ValueError("Ray workers load the judge named by options.judge; do not pass judge=")
    if agent is not None and agents is not None:
        raise ValueError("pass an agent or a recipe for agents, not both")
    prepare_out(options.out)
    if options.ray is not None:
        from txscout.benchmarks.ray_pool import preflight

        preflight(options.ray)
    adapter = get_adapter(options.suite, options.setting)
    loaded, items = _load(adapter, options)
    settings = _settings(options)
    mode = options.mode or settings.mode
    judge = _judge(adapter, options, judge, settings)
    if adapter.setting == "open-book":
        settings = _open_book(adapter, loaded, settings, agent or agents, console)
    if agent is None and agents is None:
        agents = SpecAgents(options.model or settings.model, mode, settings)
    described = _describe(options, agent, agents)
    manifest = _manifest(options, adapter, loaded, items, mode=mode, judge=judge, **described)
    manifest, forced = resume_manifest(options.out, manifest, resume=options.resume, force=options.force)
    _warn_malformed(loaded, console)  # after the checks, so a refused run says one thing
    return BenchRun(options, adapter, loaded, items, settings, mode, judge, agent, agents, manifest, console, forced)


def run_benchmark(
    options: RunOptions,
    *,
    agent: AgentLike | None = None,
    agents: AgentFactory | None = None,
    judge: Judge | None = None,
    console: Console | None = None,
) -> Summary:
    """Run (or resume) a suite. ``agent`` (an object, for threads) or ``agents`` (a picklable recipe,
    required for Ray) and ``judge`` may be injected; otherwise they are built from settings."""
    from rich.console import Console

    run = prepare(options, agent=agent, agents=agents, judge=judge, console=console or Console(stderr=True))
    previous, todo = run.pending()
    # Models load (and Ray starts) before the folder is claimed, so a model that cannot load leaves no
    # half-started run behind, and before the session's clock starts.
    executor = _executor(run) if todo else None
    scored: list[Record] = []
    started, started_at = time.monotonic(), now()
    run.start(previous, started_at)
    try:
        if executor is not None:
            _execute(run, executor, previous, todo, scored)
    finally:
        wall_s = time.monotonic() - started
        try:
            if executor is not None:
                executor.close()
        finally:
            summary = run.finish(len(scored), wall_s)
    if options.progress:
        print_summary(summary, run.console)
    return summary


class Executor(Protocol):
    """Scores items somewhere and hands each record to the tally, in this process."""

    def run(self, todo: list[Item], tally: Tally) -> None: ...

    def close(self) -> None: ...


def _executor(run: BenchRun) -> Executor:
    if run.options.ray is None:
        return ThreadPool(run)
    from txscout.benchmarks.ray_pool import RayPool

    return RayPool.start(run)


def _execute(run: BenchRun, executor: Executor, previous: list[Record], todo: list[Item], scored: list[Record]) -> None:
    """Score ``todo`` under the progress bar; ``scored`` grows as records land, so an interrupted run
    still reports how many items its session scored."""
    progress = _progress(run.console, run.options.progress)
    with progress:
        description = f"{run.adapter.name} {run.mode}"
        task = progress.add_task(description, total=len(run.items), completed=len(previous), acc="-", tokens="0")
        tally = Tally(run, previous, scored, progress, task)
        progress.update(task, **tally.fields())
        try:
            executor.run(todo, tally)
        finally:
            tally.close()


class ThreadPool:
    """Items scored by threads in this process, sharing one agent; the first failure stops queued items
    from starting."""

    def __init__(self, run: BenchRun) -> None:
        self._run = run
        self._scorer = run.scorer()
        self._stop = threading.Event()

    def _work(self, item: Item, tally: Tally) -> Record | None:
        from txscout.core.events import TraceWriter

        if self._stop.is_set():
            return None
        path = self._run.out / trace_path(item.id)
        path.unlink(missing_ok=True)  # a rerun after a kill starts the trace afresh
        trace = TraceWriter(path)
        try:
            record = self._scorer.score(item, trace)
        except BaseException:
            self._stop.set()
            raise
        finally:
            trace.close()
        tally.write(record)
        return record

    def run(self, todo: list[Item], tally: Tally) -> None:
        pool = ThreadPoolExecutor(max_workers=self._run.options.concurrency, thread_name_prefix="txscout-bench")
        try:
            pending: set[Future[Record | None]] = {pool.submit(self._work, item, tally) for item in todo}
            while pending:
                # FIRST_COMPLETED, not FIRST_EXCEPTION: the latter returns only when all items are done
                # unless one fails, and the bar would sit at 0/N until the end.
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                failed = [f for f in finished if f.exception() is not None]
                for future in finished:  # count every item that did finish before re-raising the first failure
                    record = None if future in failed else future.result()
                    if record is not None:
                        tally.count(record)
                if failed:
                    failed[0].result()
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Threads end with :meth:`run`; the agent stays usable by whoever passed it in."""
