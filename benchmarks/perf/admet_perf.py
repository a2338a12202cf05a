"""ADMET-AI through txscout against ADMET-AI alone (issue 13, item 7): throughput and one warm molecule.

Both run in this process on the same model object and the same molecules (approved drugs from the
reference set that ships with txscout), after one warm-up call each, alternating which goes first so
neither always finds the caches cold. Targets: txscout's ``admet.predict`` at >= 0.9x the molecules/s
of ``ADMETModel.predict`` on 1,000 molecules, and one warm molecule in <= 0.3 s.

    python benchmarks/perf/admet_perf.py --out benchmarks/perf/results/admet.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rdkit import Chem
from rich.console import Console
from rich.table import Table

from txscout.tools.chemistry import admet
from txscout.tools.chemistry.reference import reference_set


def approved_smiles(n: int) -> list[str]:
    """``n`` distinct single-fragment approved drugs of up to 80 heavy atoms, in reference-set order."""
    out: dict[str, None] = {}
    for mol in reference_set().mols:
        if mol.GetNumHeavyAtoms() <= 80:
            smiles = Chem.MolToSmiles(mol)
            if "." not in smiles:
                out[smiles] = None
        if len(out) == n:
            break
    return list(out)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="alternating timed rounds of each path")
    parser.add_argument("--singles", type=int, default=20, help="one-molecule calls for the warm latency")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/admet.json"))
    args = parser.parse_args()

    smiles = approved_smiles(args.molecules + args.singles)
    batch, singles = smiles[: args.molecules], smiles[args.molecules :]
    load_s = timed(admet.model)
    library = admet.model()

    def direct() -> object:
        with admet.quiet():
            return library.predict(batch)

    def ours() -> object:
        return admet.predict(batch)

    with admet.quiet():
        library.predict(batch[:2])
    admet.predict(batch[:2])
    direct_s: list[float] = []
    ours_s: list[float] = []
    for r in range(args.repeats):
        pair = [(direct_s, direct), (ours_s, ours)]
        for times, fn in pair if r % 2 == 0 else reversed(pair):
            times.append(timed(fn))
    single_s = [timed(lambda s=s: admet.predict([s])) for s in singles]

    direct_rate = len(batch) / statistics.median(direct_s)
    ours_rate = len(batch) / statistics.median(ours_s)
    results = {
        "molecules": len(batch),
        "repeats": args.repeats,
        "in_process_load_s": round(load_s, 2),
        "admet_ai_predict_molecules_per_s": round(direct_rate, 1),
        "txscout_predict_molecules_per_s": round(ours_rate, 1),
        "throughput_ratio": round(ours_rate / direct_rate, 2),
        "one_warm_molecule_s": {
            "n": len(single_s),
            "median": round(statistics.median(single_s), 3),
            "max": round(max(single_s), 3),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    table = Table("measure", "value", "target")
    table.add_row("model load in this process", f"{load_s:.2f} s", "")
    table.add_row(f"ADMETModel.predict, {len(batch)} molecules", f"{direct_rate:.1f} molecules/s", "")
    table.add_row(f"txscout admet.predict, {len(batch)} molecules", f"{ours_rate:.1f} molecules/s", "")
    table.add_row("throughput ratio", f"{ours_rate / direct_rate:.2f}x", ">= 0.9x")
    table.add_row(
        "one warm molecule",
        f"median {statistics.median(single_s):.3f} s, max {max(single_s):.3f} s",
        "<= 0.3 s",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
