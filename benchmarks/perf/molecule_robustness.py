"""Every SMILES in the shared MoleculeNet-style CSVs through identify_molecule and molecule_properties.

Counts how many parse, how many fail with a clean tool error, and how many crash (an exception that
escaped the tool); the last must be zero.

    python benchmarks/perf/molecule_robustness.py --data ../shared/data --out benchmarks/perf/results/robustness.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from txscout.core.settings import Settings
from txscout.tools.chemistry import chemistry_tools

csv.field_size_limit(sys.maxsize)


def read_smiles(data: Path) -> list[tuple[str, str]]:
    """(file name, SMILES) for every row of ``<data>/molecules/*.csv`` with a SMILES-like column."""
    rows: list[tuple[str, str]] = []
    for path in sorted((data / "molecules").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            column = next((c for c in reader.fieldnames or [] if c.strip().lower() in ("smiles", "mol")), None)
            if column is None:
                continue
            rows.extend((path.name, (row.get(column) or "").strip()) for row in reader)
    return rows


TOOLS = ("identify_molecule", "molecule_properties")


def run_chunk(rows: list[tuple[str, str]]) -> tuple[dict, dict, dict, list[str]]:
    """Outcome counts for one slice of the rows; runs in a worker process."""
    tools = {t.name: t for t in chemistry_tools(Settings(offline=True)) if t.name in TOOLS}
    counts: dict[str, Counter[str]] = {name: Counter() for name in TOOLS}
    reasons: Counter[str] = Counter()
    per_file: dict[str, Counter[str]] = {}
    crashed: list[str] = []
    for source, smiles in rows:
        for name, tool in tools.items():
            try:
                msg = tool.invoke({"name": name, "args": {"molecule": smiles}, "id": "r", "type": "tool_call"})
                outcome = "failed_cleanly" if msg.status == "error" else "parsed"
                if outcome == "failed_cleanly" and name == "identify_molecule":
                    reasons[msg.content.split("'")[0].strip()] += 1
            except Exception as exc:  # the point of the script: count anything that escapes a tool
                outcome = "crashed"
                crashed.append(f"{name} {smiles}: {exc.__class__.__name__}")
            counts[name][outcome] += 1
            if name == "identify_molecule":
                per_file.setdefault(source, Counter())[outcome] += 1
    return counts, reasons, per_file, crashed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/robustness.json"))
    parser.add_argument("--limit", type=int, default=0, help="only the first N SMILES (0 = all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    rows = read_smiles(args.data)
    if args.limit:
        rows = rows[: args.limit]
    counts: dict[str, Counter[str]] = {name: Counter() for name in TOOLS}
    reasons: Counter[str] = Counter()
    per_file: dict[str, Counter[str]] = {}
    crashes: list[str] = []
    chunks = [rows[i : i + 2000] for i in range(0, len(rows), 2000)]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for done, (c, r, f, x) in enumerate(pool.map(run_chunk, chunks), 1):
            crashes.extend(x)
            for name in TOOLS:
                counts[name].update(c[name])
            reasons.update(r)
            for source, outcome in f.items():
                per_file.setdefault(source, Counter()).update(outcome)
            print(
                f"  {min(done * 2000, len(rows)):,}/{len(rows):,} ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
            )
    elapsed = time.perf_counter() - start

    result = {
        "smiles": len(rows),
        "files": {k: dict(v) for k, v in per_file.items()},
        "tools": {k: {o: v.get(o, 0) for o in ("parsed", "failed_cleanly", "crashed")} for k, v in counts.items()},
        "failure_reasons": dict(reasons.most_common(10)),
        "crashes": crashes[:20],
        "elapsed_s": round(elapsed, 1),
        "calls_per_s": round(2 * len(rows) / elapsed, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{len(rows):,} SMILES from {len(per_file)} files in {elapsed:.0f} s")
    print(f"{'tool':22s} {'parsed':>8s} {'failed cleanly':>15s} {'crashed':>8s}")
    for name, c in counts.items():
        print(f"{name:22s} {c['parsed']:8,d} {c['failed_cleanly']:15,d} {c['crashed']:8,d}")
    print("clean-failure reasons:", dict(reasons.most_common(5)))
    for line in crashes[:20]:
        print("CRASH", line)


if __name__ == "__main__":
    main()
