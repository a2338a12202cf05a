"""Run a suite through the agent: one fsynced JSONL record per scored item, resumable after a crash.

The output folder holds ``run.json`` (what was run, so a resume can refuse a changed setup),
``records.jsonl`` (one line per scored item, appended and fsynced as each item finishes),
``traces/<item>.jsonl`` (the agent's event stream per item) and ``summary.json``.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from txscout.benchmarks.adapters import get_adapter
from txscout.benchmarks.adapters.base import check_subsets
from txscout.benchmarks.grading import auroc, expected_calibration_error, wilson_interval
from txscout.benchmarks.items import Interval, Item, LoadResult, Record, SubsetFigures, Summary
from txscout.core.errors import UserError
from txscout.core.files import atomic_write_text, atomic_writer
from txscout.core.settings import Mode, Settings, load_settings

if TYPE_CHECKING:
    from rich.console import Console

    from txscout.agent.api import Answer, Choices
    from txscout.benchmarks.adapters.base import Adapter
    from txscout.benchmarks.judge import Judge
    from txscout.core.events import Event

MODES: tuple[str, ...] = ("bare", "react", "full")
RECORDS = "records.jsonl"
MAX_LISTED = 200
MANIFEST = "run.json"
SUMMARY = "summary.json"
# What must match for a resumed run to continue the same experiment.
RESUME_KEYS = ("suite", "data_sha256", "model", "mode", "seed", "subsets", "limit", "shots", "judge")


class AgentLike(Protocol):
    model_label: str

    def run(
        self,
        question: str,
        *,
        on_event: Callable[[Event], None] | None = ...,
        mode: Mode | None = ...,
        choices: Choices | None = ...,
    ) -> Answer: ...


class RunOptions(BaseModel):
    suite: str
    data: Path
    out: Path
    subsets: list[str] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1)
    mode: Mode | None = None
    model: str | None = None
    judge: str | None = None
    concurrency: int = Field(default=1, ge=1)
    seed: int = 0
    shots: int | None = Field(default=None, ge=0)
    resume: bool = False
    progress: bool = True


class Session(BaseModel):
    scored: int
    wall_s: float


class Manifest(BaseModel):
    suite: str
    data: str
    data_sha256: str
    model: str
    mode: str
    seed: int
    subsets: list[str]
    limit: int | None
    shots: int | None
    judge: str | None
    grader: str
    http_cache: str
    sessions: list[Session] = Field(default_factory=list)


def options_from(**values: Any) -> RunOptions:
    """Build options from CLI values, turning validation failures into one-line user errors."""
    mode = values.get("mode")
    if mode is not None and mode not in MODES:
        raise UserError(f"unknown mode {mode!r}; valid modes: {', '.join(MODES)}")
    try:
        return RunOptions(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"invalid option {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def dataset_hash(files: Sequence[Path]) -> str:
    """SHA-256 over the dataset files read (name and bytes), so summaries pin the exact data."""
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


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


def safe_name(item_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", item_id)[:150]


def read_records(path: Path) -> list[Record]:
    """Scored records; a line cut off by a kill (or otherwise unreadable) is dropped so its item reruns."""
    if not path.exists():
        return []
    records: list[Record] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
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


def _write_json(path: Path, data: BaseModel) -> None:
    atomic_write_text(path, data.model_dump_json(indent=2) + "\n")


def _settings(options: RunOptions) -> Settings:
    settings = load_settings(mode=options.mode, model=options.model)
    if settings.http_cache == "off":
        settings = settings.model_copy(update={"http_cache": "read-write"})
    return settings


def summarize(
    manifest: Manifest,
    adapter: Adapter,
    records: Sequence[Record],
    selected: int,
    loaded: LoadResult,
) -> Summary:
    n = len(records)
    correct = sum(r.correct for r in records)
    low, high = wilson_interval(correct, n)
    per_subset: dict[str, SubsetFigures] = {}
    for name in sorted({r.subset for r in records}):
        group = [r for r in records if r.subset == name]
        k = sum(r.correct for r in group)
        lo, hi = wilson_interval(k, len(group))
        per_subset[name] = SubsetFigures(
            n=len(group), correct=k, accuracy=k / len(group), ci95=Interval(low=lo, high=hi)
        )
    metrics = adapter.metrics(records)
    confident = [r for r in records if r.confidence is not None]
    if confident:
        conf = [float(r.confidence or 0.0) for r in confident]
        ok = [r.correct for r in confident]
        metrics.update(
            {
                "n_with_confidence": len(confident),
                "ece": expected_calibration_error(conf, ok),
                "auroc": auroc(conf, ok),
            }
        )
    reasons: dict[str, int] = {}
    for skip in loaded.skipped:
        key = skip.reason if len(skip.reason) < 80 else skip.reason[:77] + "..."
        reasons[key] = reasons.get(key, 0) + 1
    wall = sum(s.wall_s for s in manifest.sessions)
    scored = sum(s.scored for s in manifest.sessions)
    return Summary(
        suite=manifest.suite,
        data=manifest.data,
        data_sha256=manifest.data_sha256,
        model=manifest.model,
        mode=manifest.mode,
        seed=manifest.seed,
        grader=manifest.grader,
        subsets=manifest.subsets,
        limit=manifest.limit,
        n_selected=selected,
        n=n,
        complete=n == selected,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        ci95=Interval(low=low, high=high),
        errors=sum(r.error is not None for r in records),
        per_subset=per_subset,
        metrics=metrics,
        skipped=len(loaded.skipped),
        malformed=sum(s.malformed for s in loaded.skipped),
        skipped_reasons=reasons,
        malformed_rows=[f"{s.source}: {s.reason}" for s in loaded.skipped if s.malformed][:MAX_LISTED],
        model_calls=sum(r.model_calls for r in records),
        tool_calls=sum(r.tool_calls for r in records),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        elapsed_s=sum(r.latency_s for r in records),
        items_per_min=scored / wall * 60 if wall > 0 and scored else None,
    )


class _Writer:
    """Appends one record per line, flushed and fsynced before the item counts as scored."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: Record) -> None:
        with self._lock:
            self._fh.write(record.model_dump_json() + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def _check_resume(out: Path, manifest: Manifest, resume: bool) -> Manifest:
    path = out / MANIFEST
    if not path.exists():
        if (out / RECORDS).exists():
            raise UserError(f"{out} has records but no {MANIFEST}; choose another --out")
        return manifest
    if not resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    try:
        previous = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise UserError(f"{path} is not a txscout run manifest: {exc.errors()[0]['msg']}") from exc
    changed = [k for k in RESUME_KEYS if getattr(previous, k) != getattr(manifest, k)]
    if changed:
        detail = ", ".join(f"{k}: {getattr(previous, k)!r} -> {getattr(manifest, k)!r}" for k in changed)
        raise UserError(f"cannot resume {out}: the run setup changed ({detail})")
    return previous


def run_benchmark(
    options: RunOptions,
    *,
    agent: AgentLike | None = None,
    judge: Judge | None = None,
    console: Console | None = None,
) -> Summary:
    """Run (or resume) a suite; ``agent`` and ``judge`` may be injected, otherwise built from settings."""
    from rich.console import Console

    console = console or Console(stderr=True)
    adapter = get_adapter(options.suite)
    loaded = adapter.load(options.data, seed=options.seed, shots=options.shots)
    items = select(loaded, options.subsets, options.limit)
    if not items:
        raise UserError(f"no items to run in {options.data} ({len(loaded.skipped)} skipped)")
    bad_rows = [s for s in loaded.skipped if s.malformed]
    for skip in bad_rows[:10]:
        console.print(f"[yellow]skipped malformed row[/] {skip.source}: {skip.reason}", soft_wrap=True)
    if len(bad_rows) > 10:
        console.print(f"... and {len(bad_rows) - 10} more malformed rows (listed in summary.json)")
    settings = _settings(options)
    mode = options.mode or settings.mode
    if options.judge and adapter.judge_use == "none":
        raise UserError(f"the {adapter.name} suite is graded without a judge; drop --judge")
    if judge is None and options.judge:
        from txscout.benchmarks.judge import Judge

        judge = Judge.load(options.judge, settings)
    if adapter.judge_use == "required" and judge is None:
        raise UserError(f"the {adapter.name} suite is graded by a judge model; pass --judge MODEL")
    if agent is None:
        from txscout.agent.models import describe

        label = describe(options.model or settings.model)
    else:
        label = agent.model_label
    manifest = Manifest(
        suite=adapter.name,
        data=str(options.data.resolve()),
        data_sha256=dataset_hash(loaded.files),
        model=label,
        mode=mode,
        seed=options.seed,
        subsets=options.subsets,
        limit=options.limit,
        shots=options.shots,
        judge=judge.label if judge else None,
        grader=adapter.grader_name(judge),
        http_cache=settings.http_cache,
    )
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    manifest = _check_resume(out, manifest, options.resume)
    records_path = out / RECORDS
    records = read_records(records_path)
    _rewrite(records_path, records)
    done = {r.item_id for r in records}
    todo = [i for i in items if i.id not in done]
    _write_json(out / MANIFEST, manifest)
    if todo and agent is None:
        from txscout.agent.api import Agent

        agent = Agent(model=options.model, tools=[] if mode == "bare" else None, settings=settings, mode=mode)
    started = time.monotonic()
    scored_now: list[Record] = []
    try:
        if todo:
            assert agent is not None
            _execute(options, adapter, agent, judge, mode, todo, records, out, console, scored_now)
    finally:
        manifest.sessions.append(Session(scored=len(scored_now), wall_s=time.monotonic() - started))
        _write_json(out / MANIFEST, manifest)
        all_records = read_records(records_path)
        selected_ids = {i.id for i in items}
        summary = summarize(
            manifest, adapter, [r for r in all_records if r.item_id in selected_ids], len(items), loaded
        )
        _write_json(out / SUMMARY, summary)
    if options.progress:
        print_summary(summary, console)
    return summary


def _score(adapter: Adapter, agent: AgentLike, judge: Judge | None, mode: Mode, item: Item, out: Path) -> Record:
    from txscout.core.events import TraceWriter

    trace = out / "traces" / f"{safe_name(item.id)}.jsonl"
    trace.unlink(missing_ok=True)
    writer = TraceWriter(trace)
    started = time.monotonic()
    base = {
        "item_id": item.id,
        "suite": item.suite,
        "subset": item.subset,
        "answer_type": item.answer_type,
        "gold": item.gold,
        "trace": str(trace.relative_to(out)),
    }
    try:
        answer = agent.run(item.prompt, on_event=writer, mode=mode, choices=item.closed_answers())
    except UserError:
        raise
    except Exception as exc:
        return Record(
            **base,
            prediction=None,
            correct=False,
            score=0.0,
            grader=adapter.grader_name(judge),
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            latency_s=time.monotonic() - started,
        )
    finally:
        writer.close()
    latency = time.monotonic() - started
    grade = adapter.grade(item, answer.text, judge)
    return Record(
        **base,
        prediction=grade.prediction,
        correct=grade.correct,
        score=grade.score,
        refused=grade.refused,
        confidence=answer.confidence if answer.confidence is not None else grade.confidence,
        stated_confidence=grade.confidence,
        axes=grade.axes,
        grader=grade.grader,
        detail=grade.detail,
        response=answer.text,
        status=answer.status,
        model_calls=answer.usage.model_calls,
        tool_calls=answer.usage.tool_calls,
        input_tokens=answer.usage.input_tokens,
        output_tokens=answer.usage.output_tokens,
        latency_s=latency,
        run_id=answer.run_id,
    )


def _execute(
    options: RunOptions,
    adapter: Adapter,
    agent: AgentLike,
    judge: Judge | None,
    mode: Mode,
    todo: Sequence[Item],
    previous: Sequence[Record],
    out: Path,
    console: Console,
    scored: list[Record],
) -> None:
    """Score ``todo`` with a thread pool, appending each record to ``scored`` as it lands (also when
    the run is interrupted, so the session's item count stays right)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    writer = _Writer(out / RECORDS)
    totals = {"correct": sum(r.correct for r in previous), "n": len(previous), "tokens": 0}
    totals["tokens"] = sum(r.input_tokens + r.output_tokens for r in previous)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("acc {task.fields[acc]}"),
        TextColumn("{task.fields[tokens]} tok"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        disable=not options.progress,
    )

    def fields() -> dict[str, str]:
        acc = f"{totals['correct'] / totals['n']:.1%}" if totals["n"] else "-"
        return {"acc": acc, "tokens": f"{totals['tokens']:,}"}

    stop = threading.Event()

    def work(item: Item) -> Record | None:
        if stop.is_set():
            return None
        try:
            record = _score(adapter, agent, judge, mode, item, out)
        except BaseException:
            stop.set()  # queued items must not start once the run is failing
            raise
        writer.write(record)
        return record

    with progress:
        task = progress.add_task(
            f"{adapter.name} {mode}", total=len(todo) + len(previous), completed=len(previous), **fields()
        )
        pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="txscout-bench")
        try:
            futures: list[Future[Record | None]] = [pool.submit(work, item) for item in todo]
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                # Count every item that did finish before re-raising the first failure.
                failed = [f for f in finished if f.exception() is not None]
                for future in finished:
                    record = None if future in failed else future.result()
                    if record is None:
                        continue
                    scored.append(record)
                    totals["n"] += 1
                    totals["correct"] += record.correct
                    totals["tokens"] += record.input_tokens + record.output_tokens
                    progress.update(task, advance=1, **fields())
                if failed:
                    failed[0].result()
        finally:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            writer.close()


def print_summary(summary: Summary, console: Console) -> None:
    from rich.table import Table

    title = f"{summary.suite} · {summary.model} · {summary.mode} · grader: {summary.grader}"
    table = Table(title=title)
    for column in ("subset", "n", "correct", "accuracy", "95% CI"):
        table.add_column(column, justify="left" if column == "subset" else "right")
    for name, fig in summary.per_subset.items():
        table.add_row(
            name,
            str(fig.n),
            str(fig.correct),
            f"{fig.accuracy:.1%}",
            f"{fig.ci95.low:.1%}–{fig.ci95.high:.1%}",
        )
    table.add_row(
        "[bold]all",
        str(summary.n),
        str(summary.correct),
        f"[bold]{summary.accuracy:.1%}",
        f"{summary.ci95.low:.1%}–{summary.ci95.high:.1%}",
    )
    console.print(table)
    extras = [f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.metrics.items()]
    status = "complete" if summary.complete else f"INCOMPLETE ({summary.n}/{summary.n_selected})"
    console.print(
        f"{status}; errors {summary.errors}; skipped {summary.skipped} (malformed {summary.malformed}); "
        f"tokens {summary.input_tokens + summary.output_tokens:,}; tool calls {summary.tool_calls}"
        + (f"; {summary.items_per_min:.1f} items/min" if summary.items_per_min else "")
    )
    if extras:
        console.print("; ".join(extras))
