"""``txscout bench report``: compare finished (or partial) runs and draw accuracy and calibration plots.

Figures are recomputed from ``records.jsonl`` rather than trusted from ``summary.json`` so that a
report over a run that was killed before writing its summary is still right. Each run's manifest is
shown beside its figures (model and file hash, data hash, mode, selection, version), and every manifest
key whose value differs between the runs is listed, so two runs are never compared without seeing what
else differed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from txscout.benchmarks.adapters import get_adapter
from txscout.benchmarks.grading import auroc, calibration_curve, expected_calibration_error, wilson_interval
from txscout.benchmarks.items import Interval, Record, SubsetFigures
from txscout.benchmarks.manifest import MANIFEST, read_manifest
from txscout.benchmarks.runner import RECORDS, read_records
from txscout.core.errors import UserError
from txscout.core.text import clean

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text


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
    metrics: dict[str, Any] = Field(default_factory=dict)  # the suite's own figures (PubMedQA: macro_f1)
    incomplete: int = 0  # answers given when a budget ran out
    errors: int = 0
    tool_calls: int = 0
    items_per_min: float | None = None  # items scored per minute of the sessions' wall time
    gold_cited: float | None = None  # open-book: share of answers citing the item's own document
    setup: dict[str, Any] = Field(default_factory=dict)  # the manifest, flattened (settings.KEY), sessions left out


class Report(BaseModel):
    runs: list[RunFigures]
    plots: list[str]
    differences: dict[str, list[Any]] = Field(default_factory=dict)  # manifest key -> each run's value


# Manifest keys that differ between any two runs without saying anything about the setup.
_INCIDENTAL = frozenset({"created_at", "sessions", "format"})
FACTS = (
    ("model", "model"),
    ("model file", "model_sha256"),
    ("data", "data_sha256"),
    ("items", "selected"),
    ("seed", "seed"),
    ("limit", "limit"),
    ("subsets", "subsets"),
    ("setting", "setting"),
    ("txscout", "txscout_version"),
    ("commit", "git_commit"),
)


def _figures(records: Sequence[Record]) -> tuple[int, float, Interval]:
    k = sum(r.correct for r in records)
    lo, hi = wilson_interval(k, len(records))
    return k, (k / len(records) if records else 0.0), Interval(low=lo, high=hi)


def _flatten(manifest: BaseModel) -> dict[str, Any]:
    data = manifest.model_dump(mode="json", exclude={"sessions"})
    settings = data.pop("settings", None) or {}
    packages = data.pop("packages", None) or {}
    data.update({f"settings.{k}": v for k, v in settings.items()})
    data.update({f"packages.{k}": v for k, v in packages.items()})
    return data


def load_run(path: Path) -> RunFigures:
    if not path.is_dir():
        raise UserError(f"{path} is not a benchmark run folder")
    manifest = read_manifest(path)
    if manifest is None:
        raise UserError(f"{path} is not a benchmark run folder (no {MANIFEST})")
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
    sessions = getattr(manifest, "sessions", [])
    wall = sum(session.wall_s for session in sessions)
    scored = sum(session.scored for session in sessions)
    open_book = [r.gold_cited for r in records if r.gold_cited is not None]
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
        metrics=get_adapter(manifest.suite).metrics(records) if records else {},
        incomplete=sum(r.status == "incomplete" for r in records),
        errors=sum(r.error is not None for r in records),
        tool_calls=sum(r.tool_calls for r in records),
        items_per_min=scored / wall * 60 if wall > 0 and scored else None,
        gold_cited=sum(open_book) / len(open_book) if open_book else None,
        setup=_flatten(manifest),
    )


def setup_differences(runs: Sequence[RunFigures]) -> dict[str, list[Any]]:
    """Manifest keys whose values are not the same in every run (a key a run lacks counts as differing)."""
    keys = sorted({k for r in runs for k in r.setup} - _INCIDENTAL)
    missing = object()
    differing = {}
    for key in keys:
        values = [r.setup.get(key, missing) for r in runs]
        if any(v != values[0] for v in values[1:]):
            differing[key] = [None if v is missing else v for v in values]
    return differing


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
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the report")
    out.mkdir(parents=True, exist_ok=True)
    plots = [out / "accuracy.png"]
    _plot_accuracy(runs, plots[0])
    calibrated = [r for r in runs if r.calibration]
    if calibrated:
        plots.append(out / "calibration.png")
        _plot_calibration(calibrated, plots[-1])
    report = Report(runs=runs, plots=[str(p) for p in plots], differences=setup_differences(runs))
    (out / "report.json").write_text(json.dumps(report.model_dump(), indent=2) + "\n", encoding="utf-8")
    return report


def _text(value: str) -> Text:
    """Text from run folders and data files, shown as itself: never markup, never terminal control."""
    from rich.text import Text

    return Text(clean(value))


def _cell(value: Any) -> str:
    """A manifest value as table text: hashes and commits shortened, lists joined, absent values as a dash."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    text = str(value)
    return text[:12] if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else text


def _runs_table(report: Report) -> Table:
    from rich.table import Table

    table = Table(title="runs")
    for column in ("run", "suite", "model", "mode", "n", "accuracy [95% CI]", "macro-F1", "ECE", "AUROC"):
        table.add_column(column)
    for run in report.runs:
        f1 = run.metrics.get("macro_f1")
        table.add_row(
            *map(_text, (run.label, run.suite, run.model, run.mode)),
            str(run.n),
            f"{run.accuracy:.1%} [{run.ci95.low:.1%}, {run.ci95.high:.1%}]",
            f"{f1:.3f}" if isinstance(f1, float) else "-",
            "-" if run.ece is None else f"{run.ece:.3f}",
            "-" if run.auroc is None else f"{run.auroc:.3f}",
        )
    return table


def _work_table(report: Report) -> Table:
    """How each run got there: answers cut short by a budget, failures, tool use, speed, gold citations."""
    from rich.table import Table

    table = Table(title="how the runs went")
    for column in ("run", "incomplete", "errors", "tool calls", "items/min", "gold cited"):
        table.add_column(column)
    for run in report.runs:
        table.add_row(
            _text(run.label),
            f"{run.incomplete} of {run.n}",
            str(run.errors),
            str(run.tool_calls),
            "-" if run.items_per_min is None else f"{run.items_per_min:.1f}",
            "-" if run.gold_cited is None else f"{run.gold_cited:.1%}",
        )
    return table


def _setup_table(report: Report) -> Table:
    """One row per key manifest fact, then every other key whose value is not the same in all runs;
    differing rows are starred. Runs are columns, so a narrow terminal still shows whole values."""
    from rich.table import Table

    table = Table(title="setup (from each run's manifest)", caption="* differs between the runs")
    table.add_column("key")
    for run in report.runs:
        table.add_column(_text(run.label))
    keys = [key for _, key in FACTS] + [k for k in report.differences if k not in {key for _, key in FACTS}]
    names = {key: label for label, key in FACTS}
    for key in keys:
        star = "* " if key in report.differences else ""
        cells = [_text(_cell(run.setup.get(key))) for run in report.runs]
        table.add_row(_text(star + names.get(key, key)), *cells)
    return table


def print_report(report: Report, console: Console) -> None:
    from rich.table import Table

    console.print(_runs_table(report))
    console.print(_work_table(report))
    console.print(_setup_table(report))
    if len(report.runs) > 1 and not report.differences:
        console.print("the runs share the same setup (every manifest key is equal)")
    subsets = sorted({s for r in report.runs for s in r.per_subset})
    if len(subsets) > 1:
        by_subject = Table("subset", title="accuracy per subset")
        for run in report.runs:
            by_subject.add_column(_text(run.label))
        for name in subsets:
            cells = [
                f"{r.per_subset[name].accuracy:.1%} (n={r.per_subset[name].n})" if name in r.per_subset else "-"
                for r in report.runs
            ]
            by_subject.add_row(_text(name), *cells)
        console.print(by_subject)
    for run in report.runs:
        console.print(_text(f"{run.label}: grader {run.grader}"), soft_wrap=True)
    for plot in report.plots:
        console.print(_text(f"wrote {plot}"))
