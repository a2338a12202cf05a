"""Do the research modes help? bare, react and full on one suite, measured in one run (issue 19, item 7).

Each mode is a ``txscout bench`` run of the same items, offline, with the same model, one after the
other on the same machine, so the table compares like with like. ``--suite open-book`` compares
PubMedQA asked without its context (all 1,000 abstracts stored once, ``--setting open-book``) against
bare on the context-given setting, and reports how often the gold abstract was cited.

Targets (issue 19) are printed beside each figure:

- medqa, pubmedqa: react and full accuracy >= bare - 2 points; incomplete <= 2%; every full answer has a
  confidence; full runs at >= 1/3 of bare's items/min;
- open-book: the gold abstract is cited in >= 90% of answers; accuracy >= bare (context given) - 5 points.

Items/min are only meaningful on an otherwise idle machine: the script prints the load average at the
start and the end, and the runs are kept in ``--out`` for ``txscout bench report``.

    python benchmarks/perf/research_modes.py --suite medqa --items 100 \
        --data ../shared/data/medqa/medqa_us_4options_test.jsonl
    python benchmarks/perf/research_modes.py --suite pubmedqa --data ../shared/data/pubmedqa --items 100
    python benchmarks/perf/research_modes.py --suite open-book --data ../shared/data/pubmedqa --items 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from txscout.benchmarks.report import RunFigures, load_run

ACCURACY_SLACK = {"medqa": 0.02, "pubmedqa": 0.02, "open-book": 0.05}
INCOMPLETE_MAX = 0.02
SPEED_SHARE = 1 / 3
GOLD_CITED_MIN = 0.90


def bench(suite: str, data: Path, out: Path, mode: str, items: int, model: str, setting: str | None) -> RunFigures:
    """One ``txscout bench`` run in its own process (as a user runs it). A complete run already in ``out``
    is reused and an interrupted one resumed, so a comparison stopped part-way goes on where it stopped."""
    summary = out / "summary.json"
    if summary.exists() and json.loads(summary.read_text()).get("complete"):
        return load_run(out)
    command = [sys.executable, "-m", "txscout", "bench", suite, "--data", str(data), "--out", str(out)]
    command += ["--mode", mode, "--limit", str(items), "--model", model, "--offline", "--quiet"]
    if setting:
        command += ["--setting", setting]
    if (out / "records.jsonl").exists():
        command.append("--resume")
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {done.returncode}")
    return load_run(out)


def confident(run: RunFigures) -> tuple[int, int]:
    """(answers with a confidence, answers) of a run, read from its records."""
    rows = [json.loads(line) for line in Path(run.path, "records.jsonl").read_text().splitlines() if line.strip()]
    return sum(r.get("confidence") is not None for r in rows), len(rows)


def verdict(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]missed[/]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=["medqa", "pubmedqa", "open-book"], required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--modes", default="bare,react,full", help="comma-separated (open-book: react,full)")
    parser.add_argument("--model", default="local")
    parser.add_argument("--out", type=Path, default=Path("/tmp/txscout-research-modes"))
    args = parser.parse_args()

    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"load average at start: {os.getloadavg()[0]:.2f} (figures of speed need an idle machine)")
    suite = "pubmedqa" if args.suite == "open-book" else args.suite
    folder = args.out / f"{args.suite}-{args.items}"
    runs: dict[str, RunFigures] = {}
    # the baseline is bare with the context given, for every suite
    runs["bare"] = bench(suite, args.data, folder / "bare", "bare", args.items, args.model, None)
    modes = [m for m in args.modes.split(",") if m and m != "bare"]
    setting = "open-book" if args.suite == "open-book" else None
    for mode in modes:
        runs[mode] = bench(suite, args.data, folder / mode, mode, args.items, args.model, setting)
    console.print(f"load average at end: {os.getloadavg()[0]:.2f}")

    bare = runs["bare"]
    table = Table(title=f"{args.suite}, {args.items} items, {args.model} (runs in {folder})")
    for column in ("mode", "n", "accuracy", "macro-F1", "vs bare", "incomplete", "confidence", "items/min", "speed"):
        table.add_column(column)
    if args.suite == "open-book":
        table.add_column("gold cited")
    slack = ACCURACY_SLACK[args.suite]
    for mode, run in runs.items():
        f1 = run.metrics.get("macro_f1")
        gain = run.accuracy - bare.accuracy
        with_confidence, answers = confident(run)
        row = [
            mode if mode == "bare" or not setting else f"{mode} ({setting})",
            str(run.n),
            f"{run.accuracy:.1%}",
            "-" if f1 is None else f"{f1:.3f}",
            "-" if mode == "bare" else f"{gain:+.1%} {verdict(gain >= -slack)}",
            f"{run.incomplete} {verdict(run.incomplete <= INCOMPLETE_MAX * run.n)}",
            f"{with_confidence}/{answers}" + (f" {verdict(with_confidence == answers)}" if mode == "full" else ""),
            "-" if run.items_per_min is None else f"{run.items_per_min:.1f}",
        ]
        share = (run.items_per_min or 0) / bare.items_per_min if bare.items_per_min else None
        speed = "-" if share is None or mode == "bare" else f"{share:.2f}x bare"
        if mode == "full" and share is not None:
            speed += f" {verdict(share >= SPEED_SHARE)}"
        row.append(speed)
        if args.suite == "open-book":
            cited = run.gold_cited
            row.append("-" if cited is None else f"{cited:.0%} {verdict(cited >= GOLD_CITED_MIN)}")
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
