"""Interactive latency with the embedded default model (issue 13, item 5).

Warm process: one ``Agent`` answers single-property questions on named drugs ("What is the molecular
formula / molecular weight / TPSA of X?") in ``react`` and then ``full`` mode; a first untimed question
loads the model and tools. Cold process: ``make run``'s command, ``txscout ask --offline --mode full``
on the sample question, in a fresh process (model and tool loading included), in a new prompt-cache
folder that ``txscout warm`` has prepared as ``make run``'s install step does; and once more with the
prompt cache off, for comparison. Each answer is checked against RDKit's value, so a fast wrong answer
does not pass for a fast one.
Targets: react p50 <= 3 s, full p50 <= 10 s, the cold sample <= 12 s.

    python benchmarks/perf/latency.py --out benchmarks/perf/results/latency.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import Descriptors, rdMolDescriptors
from rich.console import Console
from rich.table import Table

DRUGS = {
    "caffeine": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "paracetamol": "CC(=O)NC1=CC=C(C=C1)O",
    "ibuprofen": "CC(C)CC1=CC=C(C=C1)C(C)C(=O)O",
    "aspirin": "CC(=O)OC1=CC=CC=C1C(=O)O",
}
SAMPLE = "What is the molecular formula of aspirin?"


def is_right(prop: str, smiles: str, text: str) -> bool:
    """The formula verbatim; a number within 0.5% of RDKit's value (answers round differently)."""
    mol = Chem.MolFromSmiles(smiles)
    if prop == "molecular formula":
        return rdMolDescriptors.CalcMolFormula(mol) in text
    want = Descriptors.MolWt(mol) if prop == "molecular weight" else rdMolDescriptors.CalcTPSA(mol)
    return any(abs(float(n) - want) <= 0.005 * want for n in re.findall(r"\d+(?:\.\d+)?", text))


def warm_latencies(mode: str) -> list[dict[str, object]]:
    from txscout import Agent

    agent = Agent(mode=mode, offline=True, store=False)
    agent.run("What is the molecular formula of water?")
    rows = []
    for prop in ("molecular formula", "molecular weight", "TPSA"):
        for name, smiles in DRUGS.items():
            started = time.perf_counter()
            answer = agent.run(f"What is the {prop} of {name}?")
            seconds = time.perf_counter() - started
            right = is_right(prop, smiles, answer.text)
            rows.append({"question": f"{prop} of {name}", "s": round(seconds, 2), "right": right})
    return rows


def cold_sample(env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "txscout", "ask", "--offline", "--mode", "full", "--json", SAMPLE],
        check=True,
        capture_output=True,
        env=env,
    )
    seconds = time.perf_counter() - started
    if "C9H8O4" not in json.loads(done.stdout)["text"]:
        raise SystemExit(f"wrong cold answer: {done.stdout[:200]!r}")
    return seconds


def cold_samples(repeats: int) -> dict[str, list[float]]:
    """After install (``txscout warm`` run once in a new prompt folder), and with the prompt cache off."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "TXSCOUT_PROMPT_CACHE_DIR": folder}
        subprocess.run([sys.executable, "-m", "txscout", "warm"], check=True, capture_output=True, env=env)
        installed = [cold_sample(env) for _ in range(repeats)]
    uncached = [cold_sample({**os.environ, "TXSCOUT_PROMPT_CACHE": "false"})]
    return {"after install": installed, "prompt cache off": uncached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/latency.json"))
    args = parser.parse_args()
    results: dict[str, object] = {}
    table = Table("measure", "p50 s", "max s", "right", "target")
    for mode, target in (("react", 3.0), ("full", 10.0)):
        rows = warm_latencies(mode)
        times = [float(r["s"]) for r in rows]  # type: ignore[arg-type]
        right = sum(bool(r["right"]) for r in rows)
        results[mode] = {"p50_s": statistics.median(times), "max_s": max(times), "right": right, "rows": rows}
        p50, worst = f"{statistics.median(times):.2f}", f"{max(times):.2f}"
        table.add_row(f"{mode}, warm", p50, worst, f"{right}/{len(rows)}", f"<= {target:g}")
    cold = cold_samples(args.cold_repeats)
    runs = cold["after install"]
    results["cold_sample_s"] = {"runs": [round(c, 2) for c in runs], "median": statistics.median(runs)}
    results["cold_sample_uncached_s"] = round(cold["prompt cache off"][0], 2)
    table.add_row("make run sample, cold process", f"{statistics.median(runs):.2f}", f"{max(runs):.2f}", "", "<= 12")
    table.add_row("the same, prompt cache off", f"{cold['prompt cache off'][0]:.2f}", "", "", "")
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
