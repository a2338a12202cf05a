"""Items per minute on Ray workers against threads, with a model that waits like an endpoint.

The model answers every call after ``--delay`` seconds (0.5 s, an endpoint's latency) and does no work,
so the figures measure how the runner spreads waiting: 1, 2 and 4 Ray workers on a local Ray instance,
next to ``--concurrency`` 1, 2 and 4 threads, on the same items in the same process. Targets: 4 workers
at least 3.2x one worker, and Ray's overhead per item at most 50 ms against threads.

Overhead per item compares slot time, ``wall x parallelism / items``: what one worker or thread spends
per item, model wait included, so the difference is what Ray adds (pickling the item and record,
dispatch, the trace handed back to the driver). Agents are built and warmed up (one question) before
each session's clock starts, in the driver for threads and in each worker for Ray, as the runner does.

    .venv/bin/python -m benchmarks.perf.ray_scaling --data ../shared/data/medqa/medqa_us_4options_test.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from rich.console import Console
from rich.table import Table

from txscout.agent.api import Agent
from txscout.benchmarks.runner import RunOptions, run_benchmark
from txscout.core.settings import Settings, load_settings

RESULTS = Path(__file__).parent / "results" / "ray_scaling.json"


@dataclass(frozen=True)
class WaitingAgents:
    """A recipe for a bare agent whose model waits ``delay_s`` per call and answers ``A``; a one-character
    reply is one streamed chunk, so a call waits once whether it is streamed or not. Defined in the
    script, so Ray ships it to workers by value."""

    delay_s: float
    settings: Settings
    model_spec: str | None = None
    model_label: str = "waits-per-call"

    def __call__(self) -> Agent:
        model = FakeListChatModel(responses=["A"], sleep=self.delay_s)
        agent = Agent(model=model, tools=[], mode="bare", settings=self.settings)
        agent.run("Warm-up: which letter comes first?\n\nA. a\nB. b", mode="bare")  # first-call imports
        return agent


def _measure(options: RunOptions, agents: WaitingAgents) -> dict[str, float]:
    summary = run_benchmark(options, agents=agents)
    assert summary.items_per_min is not None and summary.n == options.limit
    wall_s = summary.n / summary.items_per_min * 60
    parallel = options.workers if options.ray else options.concurrency
    return {"items_per_min": summary.items_per_min, "wall_s": wall_s, "slot_s": wall_s * parallel / summary.n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="A MedQA JSONL file (a real suite file).")
    parser.add_argument("--items", type=int, default=40, help="Items per measured run.")
    parser.add_argument("--delay", type=float, default=0.5, help="Seconds the model waits per call.")
    parser.add_argument("--parallel", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray_start_s = time.perf_counter() - started
    agents = WaitingAgents(delay_s=args.delay, settings=load_settings(mode="bare"))
    root = Path(tempfile.mkdtemp(prefix="txscout-ray-scaling-"))
    base = RunOptions(suite="medqa", data=args.data, out=root, mode="bare", limit=args.items, progress=False)
    rows: dict[int, dict[str, Any]] = {}
    for n in args.parallel:
        threads = _measure(base.model_copy(update={"out": root / f"threads-{n}", "concurrency": n}), agents)
        on_ray = _measure(base.model_copy(update={"out": root / f"ray-{n}", "ray": "local", "workers": n}), agents)
        rows[n] = {"threads": threads, "ray": on_ray, "ray_overhead_ms": (on_ray["slot_s"] - threads["slot_s"]) * 1000}
    ray.shutdown()
    one = rows[min(rows)]
    for row in rows.values():
        row["ray_speedup"] = row["ray"]["items_per_min"] / one["ray"]["items_per_min"]
        row["threads_speedup"] = row["threads"]["items_per_min"] / one["threads"]["items_per_min"]
    report = {
        "data": str(args.data),
        "items_per_run": args.items,
        "model_delay_s": args.delay,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "ray_version": ray.__version__,
        "ray_start_s": ray_start_s,
        "runs": str(root),
        "results": {str(n): row for n, row in rows.items()},
        "targets": {
            "ray_4_workers_speedup_min": 3.2,
            "ray_overhead_ms_per_item_max": 50,
            "met": bool(
                (4 not in rows or rows[4]["ray_speedup"] >= 3.2)
                and all(r["ray_overhead_ms"] <= 50 for r in rows.values())
            ),
        },
    }
    table = Table(
        "parallel",
        "threads items/min",
        "ray items/min",
        "threads speed-up",
        "ray speed-up",
        "ray overhead ms/item",
        title=f"{args.items} MedQA items per run, model waits {args.delay} s per call",
    )
    for n, row in rows.items():
        table.add_row(
            str(n),
            f"{row['threads']['items_per_min']:.1f}",
            f"{row['ray']['items_per_min']:.1f}",
            f"{row['threads_speedup']:.2f}x",
            f"{row['ray_speedup']:.2f}x",
            f"{row['ray_overhead_ms']:+.1f}",
        )
    Console().print(table)
    text = json.dumps(report, indent=2)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
