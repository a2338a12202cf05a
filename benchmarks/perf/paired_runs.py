"""Two txscout processes at once (issue 13, item 4): one react-mode question solo, then two at the same time.

Each run is a fresh ``txscout ask --offline --mode react --json`` process with the embedded default
model. Solo runs go one after another; paired runs start two processes together and time each. Both
the wall time and the time inside the run (``usage.elapsed_s``, which leaves out start-up) are
reported. Target: a paired run takes at most 2.5x its solo time. ``--threads`` sets TXSCOUT_THREADS
for every process, to compare thread counts on the same machine.

    python benchmarks/perf/paired_runs.py --out benchmarks/perf/results/paired_runs.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

QUESTION = "What is the molecular formula of aspirin?"


def command(question: str) -> list[str]:
    return [sys.executable, "-m", "txscout", "ask", "--offline", "--mode", "react", "--json", question]


def start(question: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], float]:
    proc = subprocess.Popen(command(question), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    return proc, time.perf_counter()


def finish(proc: subprocess.Popen[str], started: float) -> tuple[float, float, str]:
    """(wall s, in-run s, answer text) of a process started at ``started``."""
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"txscout ask exited with {proc.returncode}")
    answer = json.loads(stdout)
    return wall, answer["usage"]["elapsed_s"], answer["text"]


def summary(runs: list[tuple[float, float, str]]) -> dict[str, object]:
    return {
        "wall_s": round(statistics.median(r[0] for r in runs), 2),
        "inside_run_s": round(statistics.median(r[1] for r in runs), 2),
        "runs": [{"wall_s": round(w, 2), "inside_run_s": round(i, 2), "answer": a[:80]} for w, i, a in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="TXSCOUT_THREADS for every process")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/paired_runs.json"))
    args = parser.parse_args()

    env = dict(os.environ)
    if args.threads:
        env["TXSCOUT_THREADS"] = str(args.threads)
    finish(*start(args.question, env))  # warm the disk cache and bytecode, as for any later use
    solo = [finish(*start(args.question, env)) for _ in range(args.repeats)]
    paired: list[tuple[float, float, str]] = []
    for _ in range(args.repeats):
        pair = [start(args.question, env), start(args.question, env)]
        paired.extend(finish(*p) for p in pair)

    result = {
        "question": args.question,
        "threads": args.threads or "default",
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "solo": summary(solo),
        "paired": summary(paired),
    }
    result["paired_over_solo_wall"] = round(result["paired"]["wall_s"] / result["solo"]["wall_s"], 2)
    result["paired_over_solo_inside_run"] = round(result["paired"]["inside_run_s"] / result["solo"]["inside_run_s"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    table = Table("", "solo", "paired (each)", "paired / solo", "target", title=f"react mode: {args.question}")
    for key, label in (("wall_s", "wall time"), ("inside_run_s", "inside the run")):
        solo_s, paired_s = result["solo"][key], result["paired"][key]
        table.add_row(label, f"{solo_s:.1f} s", f"{paired_s:.1f} s", f"{paired_s / solo_s:.2f}x", "<= 2.5x")
    Console().print(table)


if __name__ == "__main__":
    main()
