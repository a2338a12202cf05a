"""Items per minute for ``--mode bare`` on each suite with the embedded model.

One agent (one model load) is shared by every suite, and model loading is outside the timed part,
so the figure is steady-state throughput. Suites whose data is not present are reported as such.

    .venv/bin/python -m benchmarks.perf.bench_throughput --data-root ../shared/data --limit 50
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from txscout.agent.api import Agent
from txscout.benchmarks.runner import RunOptions, run_benchmark
from txscout.core.settings import load_settings

# suite -> dataset path relative to the data root (GPQA, HLE and oncology vignettes are not shipped).
SUITE_DATA = {
    "chembench": "chembench",
    "pubmedqa": "pubmedqa",
    "medqa": "medqa/medqa_us_4options_test.jsonl",
    "mmlu": "mmlu",
    "labbench": "lab-bench",
    "oncology-mc": ".",
    "gpqa": "gpqa/gpqa_diamond.csv",
    "hle": "hle/hle.jsonl",
}


def _rss_mb() -> float:
    """Resident memory now: the embedded model's prompt cache makes this worth watching per suite."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--model", default="local")
    parser.add_argument("--suites", nargs="*", default=list(SUITE_DATA))
    parser.add_argument("--out", type=Path, default=None, help="Where run folders go (default: a temp dir).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    out_root = args.out or Path(tempfile.mkdtemp(prefix="txscout-throughput-"))
    settings = load_settings(mode="bare", model=args.model)
    started = time.perf_counter()
    agent = Agent(model=args.model, tools=[], settings=settings, mode="bare")
    load_s = time.perf_counter() - started
    rss_after_load = _rss_mb()
    results: dict[str, dict[str, object]] = {}
    for suite in args.suites:
        data = args.data_root / SUITE_DATA[suite]
        if not data.exists():
            results[suite] = {"status": f"no data at {data}"}
            continue
        options = RunOptions(
            suite=suite,
            data=data,
            out=out_root / suite,
            limit=args.limit,
            mode="bare",
            model=args.model,
            progress=False,
        )
        summary = run_benchmark(options, agent=agent)
        results[suite] = {
            "status": "ok",
            "n": summary.n,
            "items_per_min": summary.items_per_min,
            "accuracy": summary.accuracy,
            "mean_latency_s": summary.elapsed_s / summary.n if summary.n else None,
            "tokens_per_item": (summary.input_tokens + summary.output_tokens) / summary.n if summary.n else None,
            "errors": summary.errors,
            "rss_mb_after": _rss_mb(),
        }
    report = {
        "model": agent.model_label,
        "limit": args.limit,
        "model_load_s": load_s,
        "rss_mb_after_load": rss_after_load,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "runs": str(out_root),
        "results": results,
    }
    table = Table(
        "suite",
        "n",
        "items/min",
        "s/item",
        "tokens/item",
        "accuracy",
        "errors",
        "RSS MB after",
        title=f"bare mode, {agent.model_label}, --limit {args.limit}",
    )
    for suite, r in results.items():
        if r["status"] != "ok":
            table.add_row(suite, "-", "-", "-", "-", "-", str(r["status"]), "-")
            continue
        table.add_row(
            suite,
            str(r["n"]),
            f"{r['items_per_min']:.2f}",
            f"{r['mean_latency_s']:.1f}",
            f"{r['tokens_per_item']:.0f}",
            f"{r['accuracy']:.1%}",
            str(r["errors"]),
            f"{r['rss_mb_after']:.0f}",
        )
    Console().print(table)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
