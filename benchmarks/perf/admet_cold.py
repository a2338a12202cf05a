"""Where a cold ``txscout tools call predict_admet`` spends its time (issue 22): each stage of a fresh
process, wall clock and CPU time.

Wall time on a shared machine mostly measures waiting for a core; CPU time is what the stage costs.
Each repeat is a new interpreter, so every import is cold in the process (the files may be in the OS
page cache after the first).

    python benchmarks/perf/admet_cold.py --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from rich.console import Console
from rich.table import Table

STAGES = r"""
import json, time
marks = []
wall, cpu = time.perf_counter(), time.process_time()
def lap(label):
    global wall, cpu
    now_wall, now_cpu = time.perf_counter(), time.process_time()
    marks.append((label, now_wall - wall, now_cpu - cpu))
    wall, cpu = now_wall, now_cpu
import txscout.cli
lap("import txscout.cli")
from txscout.agent.toolbox import default_tools
from txscout.core.settings import load_settings
default_tools(load_settings(offline=True))
lap("build every tool (tools call does)")
import torch
lap("import torch")
import lightning.pytorch
lap("import lightning")
import chemprop.models, chemprop.data
lap("import chemprop (sklearn, torchmetrics)")
from txscout.tools.chemistry import admet
admet.model()
lap("ADMETModel: 10 checkpoints, DrugBank table")
admet.predict(["CC(=O)Oc1ccccc1C(=O)O"])
lap("first prediction")
print(json.dumps(marks))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeats):
        done = subprocess.run([sys.executable, "-c", STAGES], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    table = Table("stage", *(f"run {i + 1} wall / CPU s" for i in range(len(runs))))
    for index, (label, _, _) in enumerate(runs[0]):
        table.add_row(label, *(f"{run[index][1]:.1f} / {run[index][2]:.1f}" for run in runs))
    table.add_row("total", *(f"{sum(m[1] for m in run):.1f} / {sum(m[2] for m in run):.1f}" for run in runs))
    console = Console()
    console.print(table)
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
