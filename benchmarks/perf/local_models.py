"""Which embedded model answers chemistry property questions better? Picks txscout's default.

Questions are generated from approved drugs in the DrugBank table shipped with admet-ai, with gold
values computed by RDKit: molecular formula, molecular weight (within 1%), hydrogen-bond donor
count, and which of two drugs has the higher logP. Each model runs the real agent (react mode, the
chemistry tools, deterministic grounding) on the same questions.

    python benchmarks/perf/local_models.py --per-kind 10 --out benchmarks/perf/results/local_models.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors
from rich.console import Console
from rich.table import Table

KINDS = ("formula", "weight", "donors", "compare")


def _drugs(seed: int) -> list[tuple[str, Chem.Mol]]:
    from txscout.tools.chemistry.names import name_index

    out = []
    for entry in name_index().entries:
        name = entry.name
        if not re.fullmatch(r"[A-Z][a-z]{4,14}", name):
            continue
        mol = Chem.MolFromSmiles(entry.smiles)
        if mol is None or "." in entry.smiles or mol.GetNumHeavyAtoms() > 40:
            continue
        out.append((name, mol))
    random.Random(seed).shuffle(out)
    return out


def questions(per_kind: int, seed: int) -> list[dict[str, object]]:
    drugs = _drugs(seed)
    items: list[dict[str, object]] = []
    for i in range(per_kind):
        name, mol = drugs[i]
        items.append(
            {
                "kind": "formula",
                "q": f"What is the molecular formula of {name}?",
                "gold": rdMolDescriptors.CalcMolFormula(mol),
            }
        )
        name, mol = drugs[per_kind + i]
        items.append(
            {"kind": "weight", "q": f"What is the molecular weight of {name}?", "gold": Descriptors.MolWt(mol)}
        )
        name, mol = drugs[2 * per_kind + i]
        items.append(
            {
                "kind": "donors",
                "q": f"How many hydrogen bond donors does {name} have?",
                "gold": Lipinski.NumHDonors(mol),
            }
        )
        (a, ma), (b, mb) = drugs[3 * per_kind + 2 * i], drugs[3 * per_kind + 2 * i + 1]
        items.append(
            {
                "kind": "compare",
                "q": f"Which has the higher logP, {a} or {b}?",
                "gold": a if Crippen.MolLogP(ma) > Crippen.MolLogP(mb) else b,
                "other": b if a != b else a,
            }
        )
    return items


def correct(item: dict[str, object], answer: str) -> bool:
    kind, gold = item["kind"], item["gold"]
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", answer)]
    if kind == "formula":
        return str(gold).lower() in answer.replace(" ", "").lower()
    if kind == "weight":
        return any(abs(n - float(gold)) <= 0.01 * float(gold) for n in numbers)
    if kind == "donors":
        return bool(numbers) and numbers[0] == float(gold)
    lowered = answer.lower()
    winner, loser = str(gold).lower(), str(item["other"]).lower()
    return winner in lowered and (loser not in lowered or lowered.index(winner) < lowered.index(loser))


def evaluate(spec: str, items: list[dict[str, object]]) -> dict[str, object]:
    from txscout.agent.api import Agent
    from txscout.core.settings import load_settings
    from txscout.tools.chemistry import chemistry_tools

    settings = load_settings(offline=True, mode="react", max_steps=3)
    agent = Agent(model=spec, tools=chemistry_tools(settings), settings=settings, store=False)
    per_kind: dict[str, list[bool]] = {k: [] for k in KINDS}
    started = time.perf_counter()
    for item in items:
        answer = agent.run(str(item["q"]))
        per_kind[str(item["kind"])].append(correct(item, answer.text))
    elapsed = time.perf_counter() - started
    flat = [ok for oks in per_kind.values() for ok in oks]
    return {
        "accuracy": sum(flat) / len(flat),
        "per_kind": {k: sum(v) / len(v) for k, v in per_kind.items() if v},
        "seconds_per_question": elapsed / len(items),
        "n": len(flat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=["local:smollm2", "local:gemma3-270m"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/local_models.json"))
    args = parser.parse_args()
    items = questions(args.per_kind, args.seed)
    results = {spec: evaluate(spec, items) for spec in args.models}
    table = Table("model", "accuracy", *KINDS, "s/question", title=f"chemistry property questions (n={len(items)})")
    for spec, r in results.items():
        per_kind = r["per_kind"]
        table.add_row(
            spec,
            f"{r['accuracy']:.0%}",
            *(f"{per_kind.get(k, 0):.0%}" for k in KINDS),
            f"{r['seconds_per_question']:.1f}",
        )
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "per_kind": args.per_kind, "results": results}, indent=2))


if __name__ == "__main__":
    main()
