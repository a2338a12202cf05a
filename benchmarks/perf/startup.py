"""Start-up of ``txscout ask`` (issue 13, item 5): wall time minus the time inside the run.

Runs ``txscout ask --offline --mode bare --json "hi"`` in fresh processes; the run's own elapsed time
(``usage.elapsed_s`` in the JSON answer, from the first event to the last) is the generation, and what
is left of the wall time is start-up: interpreter, imports, settings, model load and process exit.
Also times ``txscout --help`` and a bare interpreter for reference, and with ``--imports`` lists the
slowest imports of one run (``python -X importtime``). Target: start-up <= 2 s.

    python benchmarks/perf/startup.py --out benchmarks/perf/results/startup.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ASK = ["-m", "txscout", "ask", "--offline", "--mode", "bare", "--json", "hi"]


def timed(args: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def slowest_imports(count: int) -> list[tuple[str, float]]:
    """Modules with the largest cumulative import time in one ``ask`` (self plus what they import)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *ASK], capture_output=True, text=True, check=True)
    top_level = []
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        if not fields[2].startswith("  "):  # deeper indentation: imported by another module
            top_level.append((fields[2].strip(), int(fields[1]) / 1e6))
    return sorted(top_level, key=lambda r: r[1], reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--imports", type=int, default=15, help="list this many slowest imports (0: none)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/startup.json"))
    args = parser.parse_args()

    timed(ASK)  # warm the disk cache and Python's bytecode cache, as for any second use
    walls, runs, startups = [], [], []
    for _ in range(args.repeats):
        wall, stdout = timed(ASK)
        inside = json.loads(stdout)["usage"]["elapsed_s"]
        walls.append(wall)
        runs.append(inside)
        startups.append(wall - inside)
    help_s = statistics.median(timed(["-m", "txscout", "--help"])[0] for _ in range(args.repeats))
    python_s = statistics.median(timed(["-c", "pass"])[0] for _ in range(args.repeats))
    imports = slowest_imports(args.imports) if args.imports else []

    result = {
        "command": "txscout " + " ".join(ASK[2:]),
        "repeats": args.repeats,
        "wall_s": {"median": round(statistics.median(walls), 3), "runs": [round(w, 3) for w in walls]},
        "inside_run_s": {"median": round(statistics.median(runs), 3), "runs": [round(r, 3) for r in runs]},
        "startup_s": {"median": round(statistics.median(startups), 3), "max": round(max(startups), 3)},
        "help_s": round(help_s, 3),
        "python_s": round(python_s, 3),
        "slowest_imports_s": {name: round(s, 3) for name, s in imports},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    table = Table("measure", "median", "target", title=result["command"])
    table.add_row("wall time", f"{result['wall_s']['median']:.2f} s", "")
    table.add_row("inside the run (generation)", f"{result['inside_run_s']['median']:.2f} s", "")
    table.add_row("start-up = wall - run", f"{result['startup_s']['median']:.2f} s", "<= 2 s")
    table.add_row("txscout --help", f"{help_s:.2f} s", "")
    table.add_row("python -c pass", f"{python_s:.2f} s", "")
    Console().print(table)
    if imports:
        slow = Table("module (top level)", "cumulative import s", title="slowest imports of one ask")
        for name, s in imports:
            slow.add_row(name, f"{s:.3f}")
        Console().print(slow)


if __name__ == "__main__":
    main()
