"""``summary.json`` and the closing table: the headline figures of a run, recomputed from its records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from txscout.benchmarks.grading import auroc, expected_calibration_error, wilson_interval
from txscout.benchmarks.items import Interval, LoadResult, Record, SubsetFigures, Summary
from txscout.core.text import clean

if TYPE_CHECKING:
    from rich.console import Console

    from txscout.benchmarks.adapters.base import Adapter
    from txscout.benchmarks.manifest import Manifest

MAX_LISTED = 200


def per_subset(records: Sequence[Record]) -> dict[str, SubsetFigures]:
    figures: dict[str, SubsetFigures] = {}
    for name in sorted({r.subset for r in records}):
        group = [r for r in records if r.subset == name]
        k = sum(r.correct for r in group)
        lo, hi = wilson_interval(k, len(group))
        figures[name] = SubsetFigures(n=len(group), correct=k, accuracy=k / len(group), ci95=Interval(low=lo, high=hi))
    return figures


def _metrics(adapter: Adapter, records: Sequence[Record]) -> dict[str, Any]:
    metrics = adapter.metrics(records)
    confident = [r for r in records if r.confidence is not None]
    if confident:
        conf = [float(r.confidence or 0.0) for r in confident]
        ok = [r.correct for r in confident]
        metrics.update(
            {"n_with_confidence": len(confident), "ece": expected_calibration_error(conf, ok), "auroc": auroc(conf, ok)}
        )
    return metrics


def _skip_reasons(loaded: LoadResult) -> dict[str, int]:
    reasons: dict[str, int] = {}
    for skip in loaded.skipped:
        key = skip.reason if len(skip.reason) < 80 else skip.reason[:77] + "..."
        reasons[key] = reasons.get(key, 0) + 1
    return reasons


def summarize(
    manifest: Manifest, adapter: Adapter, records: Sequence[Record], selected: int, loaded: LoadResult
) -> Summary:
    n = len(records)
    correct = sum(r.correct for r in records)
    low, high = wilson_interval(correct, n)
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
        per_subset=per_subset(records),
        metrics=_metrics(adapter, records),
        skipped=len(loaded.skipped),
        malformed=sum(s.malformed for s in loaded.skipped),
        skipped_reasons=_skip_reasons(loaded),
        malformed_rows=[f"{s.source}: {s.reason}" for s in loaded.skipped if s.malformed][:MAX_LISTED],
        model_calls=sum(r.model_calls for r in records),
        tool_calls=sum(r.tool_calls for r in records),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        elapsed_s=sum(r.latency_s for r in records),
        items_per_min=scored / wall * 60 if wall > 0 and scored else None,
    )


def print_summary(summary: Summary, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    title = f"{summary.suite} · {summary.model} · {summary.mode} · grader: {summary.grader}"
    table = Table(title=Text(clean(title)))
    for column in ("subset", "n", "correct", "accuracy", "95% CI"):
        table.add_column(column, justify="left" if column == "subset" else "right")
    for name, fig in summary.per_subset.items():
        table.add_row(
            Text(clean(name)),
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
        + (f"; {summary.items_per_min:.1f} items/min" if summary.items_per_min else ""),
        markup=False,
    )
    if extras:
        console.print("; ".join(extras), markup=False)
