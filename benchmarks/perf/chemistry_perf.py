"""Chemistry tool speed (issue 3 figures): ADMET-AI cold load and throughput, descriptors, name resolution.

Cold load is measured in a fresh interpreter (import plus model construction), since that is what a
CLI call pays; throughput runs in this process after a warm-up call.

    python benchmarks/perf/chemistry_perf.py --data ../shared/data --out benchmarks/perf/results/chemistry.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rdkit import Chem
from rich.console import Console
from rich.table import Table

from txscout.benchmarks.perf.molecule_robustness import read_smiles
from txscout.core.settings import Settings
from txscout.tools.chemistry import admet, chemistry_tools, find_molecules
from txscout.tools.chemistry.names import name_index
from txscout.tools.chemistry.properties import descriptors, rules
from txscout.tools.chemistry.resolve import Resolver

_COLD = (
    "import time; t = time.perf_counter(); from txscout.tools.chemistry import admet; admet.model(); "
    "print(time.perf_counter() - t)"
)


_FIRST_NAME = (
    "import time; from tools.chemistry.resolve import Resolver; t = time.perf_counter(); "
    "Resolver(None, offline=True).resolve('aspirin'); print(time.perf_counter() - t)"
)


def cold_load_s(repeats: int) -> list[float]:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return runs


def sample_smiles(data: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` distinct SMILES that RDKit parses, drawn reproducibly from the shared molecule sets."""
    pool = list(dict.fromkeys(s for _, s in read_smiles(data) if s))
    random.Random(seed).shuffle(pool)
    out = []
    for s in pool:
        mol = Chem.MolFromSmiles(s)
        if mol is not None and "." not in s and mol.GetNumHeavyAtoms() <= 80:
            out.append(Chem.MolToSmiles(mol))
        if len(out) == n:
            break
    return out


def admet_throughput(smiles: list[str], batch: int, repeats: int) -> float:
    times = []
    for r in range(repeats):
        chunk = smiles[r * batch : (r + 1) * batch] if batch * repeats <= len(smiles) else smiles[:batch]
        start = time.perf_counter()
        admet.predict(chunk)
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/chemistry.json"))
    parser.add_argument("--cold-repeats", type=int, default=2)
    args = parser.parse_args()

    smiles = sample_smiles(args.data, 3000)
    results: dict[str, object] = {"molecules_sampled": len(smiles)}

    cold = cold_load_s(args.cold_repeats)
    results["admet_cold_load_s"] = {"runs": [round(c, 2) for c in cold], "median": round(statistics.median(cold), 2)}

    start = time.perf_counter()
    admet.model()
    results["admet_in_process_load_s"] = round(time.perf_counter() - start, 2)
    admet.predict(smiles[:2])  # the first prediction warms caches; not part of steady state
    results["admet_molecules_per_s"] = {
        "batch_1": round(admet_throughput(smiles[100:], 1, 10), 2),
        "batch_100": round(admet_throughput(smiles[200:], 100, 3), 1),
        "batch_1000": round(admet_throughput(smiles[1000:], 1000, 1), 1),
    }

    mols = [Chem.MolFromSmiles(s) for s in smiles[:2000]]
    start = time.perf_counter()
    for mol in mols:
        rules(mol, descriptors(mol))
    results["descriptors_per_s"] = round(len(mols) / (time.perf_counter() - start), 1)
    tool = next(t for t in chemistry_tools(Settings(offline=True)) if t.name == "molecule_properties")
    start = time.perf_counter()
    for s in smiles[:1000]:
        tool.invoke({"name": tool.name, "args": {"molecule": s}, "id": "p", "type": "tool_call"})
    results["molecule_properties_tool_calls_per_s"] = round(1000 / (time.perf_counter() - start), 1)

    first = subprocess.run([sys.executable, "-c", _FIRST_NAME], capture_output=True, text=True, check=True)
    results["name_index_first_use_s"] = round(float(first.stdout.strip().splitlines()[-1]), 3)
    index = name_index()
    resolver = Resolver(None, offline=True)
    names = [e.name for e in random.Random(1).sample(index.entries, 300)]
    names += ["aspirin", "paracetamol", "metformin hydrochloride", "imatinib mesylate", "sodium valproate"]
    latencies = []
    for name in names:
        start = time.perf_counter()
        resolver.resolve(name)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    results["name_resolution_ms"] = {
        "n": len(latencies),
        "median": round(statistics.median(latencies), 3),
        "p95": round(latencies[int(0.95 * len(latencies))], 3),
    }
    start = time.perf_counter()
    for _ in range(10):
        index.suggest("ibuprofin")
    results["close_match_suggestion_ms"] = round((time.perf_counter() - start) * 100, 2)
    question = "Compare the hERG liability of imatinib, dasatinib and nilotinib with CCN(CC)CCNC(=O)c1ccc(N)cc1"
    start = time.perf_counter()
    for _ in range(200):
        find_molecules(question)
    results["find_molecules_ms"] = round((time.perf_counter() - start) * 5, 3)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = Table("measure", "value")
    table.add_row("ADMET-AI cold load (fresh process)", f"{results['admet_cold_load_s']['median']} s")
    for k, v in results["admet_molecules_per_s"].items():  # type: ignore[union-attr]
        table.add_row(f"ADMET-AI molecules/s, {k.replace('_', ' ')}", str(v))
    table.add_row("RDKit descriptors + rules, molecules/s", str(results["descriptors_per_s"]))
    table.add_row("molecule_properties tool calls/s", str(results["molecule_properties_tool_calls_per_s"]))
    table.add_row("name index + structure index, first use", f"{results['name_index_first_use_s']} s")
    lat = results["name_resolution_ms"]
    table.add_row("name resolution (offline)", f"median {lat['median']} ms, p95 {lat['p95']} ms")  # type: ignore[index]
    table.add_row("close-match suggestions", f"{results['close_match_suggestion_ms']} ms")
    table.add_row("find_molecules per question", f"{results['find_molecules_ms']} ms")
    Console().print(table)


if __name__ == "__main__":
    main()
