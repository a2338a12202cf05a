"""``txscout bench report``: compare finished (or partial) runs and draw accuracy and calibration plots.

Figures are recomputed from ``records.jsonl`` rather than trusted from ``summary.json`` so that a
report over a run that was killed before writing its summary is still right.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from txscout.benchmarks.grading import auroc, calibration_curve, expected_calibration_error, wilson_interval
from txscout.benchmarks.items import Interval, Record, SubsetFigures
from txscout.benchmarks.runner import MANIFEST, RECORDS, Manifest, read_records
from txscout.core.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console


class RunFigures(BaseModel):
    label: str
    path: str
    suite: str
    model: str
    mode: str
    grader: str
    n: int
    accuracy: float
    ci95: Interval
    per_subset: dict[str, SubsetFigures]
    ece: float | None = None
    auroc: float | None = None
    calibration: list[tuple[float, float, int]] = Field(default_factory=list)


class Report(BaseModel):
    runs: list[RunFigures]
    plots: list[str]


def _figures(records: Sequence[Record]) -> tuple[int, float, Interval]:
    k = sum(r.correct for r in records)
    lo, hi = wilson_interval(k, len(records))
    return k, (k / len(records) if records else 0.0), Interval(low=lo, high=hi)


def load_run(path: Path) -> RunFigures:
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        raise UserError(f"{path} is not a benchmark run folder (no {MANIFEST})")
    manifest = Manifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    records = read_records(path / RECORDS)
    _, accuracy, ci = _figures(records)
    per_subset = {}
    for name in sorted({r.subset for r in records}):
        group = [r for r in records if r.subset == name]
        k, acc, sub_ci = _figures(group)
        per_subset[name] = SubsetFigures(n=len(group), correct=k, accuracy=acc, ci95=sub_ci)
    confident = [r for r in records if r.confidence is not None]
    conf = [float(r.confidence or 0.0) for r in confident]
    ok = [r.correct for r in confident]
    return RunFigures(
        label=f"{path.name} ({manifest.mode})",
        path=str(path),
        suite=manifest.suite,
        model=manifest.model,
        mode=manifest.mode,
        grader=manifest.grader,
        n=len(records),
        accuracy=accuracy,
        ci95=ci,
        per_subset=per_subset,
        ece=expected_calibration_error(conf, ok) if confident else None,
        auroc=auroc(conf, ok) if confident else None,
        calibration=calibration_curve(conf, ok) if confident else [],
    )


def _plot_accuracy(runs: Sequence[RunFigures], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subsets = sorted({s for r in runs for s in r.per_subset})
    groups = ["all", *subsets] if len(subsets) > 1 and len(subsets) <= 25 else ["all"]
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 + 0.6 * len(groups) * len(runs)), 4.5))
    for k, run in enumerate(runs):
        values, lows, highs = [], [], []
        for g in groups:
            figures = (run.accuracy, run.ci95) if g == "all" else None
            if g in run.per_subset:
                figures = (run.per_subset[g].accuracy, run.per_subset[g].ci95)
            if figures is None:  # this run has no items in the subset: draw no bar rather than a 0% one
                values.append(math.nan)
                lows.append(0.0)
                highs.append(0.0)
                continue
            acc, ci = figures
            values.append(acc)
            lows.append(acc - ci.low)
            highs.append(ci.high - acc)
        xs = [i + k * width for i in range(len(groups))]
        ax.bar(xs, values, width, yerr=[lows, highs], capsize=3, label=run.label)
    ax.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(groups))])
    ax.set_xticklabels(groups, rotation=45 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (95% Wilson interval)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_calibration(runs: Sequence[RunFigures], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for run in runs:
        xs = [c for c, _, _ in run.calibration]
        ys = [a for _, a, _ in run.calibration]
        ax.plot(xs, ys, marker="o", label=f"{run.label} ECE={run.ece:.3f}" if run.ece is not None else run.label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_report(paths: Sequence[Path], out: Path) -> Report:
    if not paths:
        raise UserError("give at least one run folder")
    runs = [load_run(p) for p in paths]
    out.mkdir(parents=True, exist_ok=True)
    plots = [out / "accuracy.png"]
    _plot_accuracy(runs, plots[0])
    calibrated = [r for r in runs if r.calibration]
    if calibrated:
        plots.append(out / "calibration.png")
        _plot_calibration(calibrated, plots[-1])
    report = Report(runs=runs, plots=[str(p) for p in plots])
    (out / "report.json").write_text(json.dumps(report.model_dump(), indent=2) + "\n", encoding="utf-8")
    return report


def print_report(report: Report, console: Console) -> None:
    from rich.table import Table

    table = Table(title="runs")
    for column in ("run", "suite", "model", "mode", "n", "accuracy [95% CI]", "ECE", "AUROC"):
        table.add_column(column)
    for run in report.runs:
        table.add_row(
            run.label,
            run.suite,
            run.model,
            run.mode,
            str(run.n),
            f"{run.accuracy:.1%} [{run.ci95.low:.1%}, {run.ci95.high:.1%}]",
            "-" if run.ece is None else f"{run.ece:.3f}",
            "-" if run.auroc is None else f"{run.auroc:.3f}",
        )
    console.print(table)
    subsets = sorted({s for r in report.runs for s in r.per_subset})
    if len(subsets) > 1:
        by_subject = Table("subset", *[r.label for r in report.runs], title="accuracy per subset")
        for name in subsets:
            cells = [
                f"{r.per_subset[name].accuracy:.1%} (n={r.per_subset[name].n})" if name in r.per_subset else "-"
                for r in report.runs
            ]
            by_subject.add_row(name, *cells)
        console.print(by_subject)
    for run in report.runs:
        console.print(f"{run.label}: grader {run.grader}", soft_wrap=True)
    for plot in report.plots:
        console.print(f"wrote {plot}")
