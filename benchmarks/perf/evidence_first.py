"""Evidence first on PubMedQA without its context (issue 19): is the gold abstract found, shown and cited?

The 1,000 PubMedQA abstracts are stored once in an evidence store (kept in ``--store`` and reused), then
questions are asked in react mode without their context, offline, with the yes/no/maybe answer set.
Per item: whether the gold abstract was kept (shown to the model), whether the answer cites it, the
label and whether it is right, the time.

``--latency`` times, in one process and with one agent, warm questions answered from the store against
warm single-property chemistry questions (issue 19's target: the store question's p50 is at most twice the
chemistry question's). The first question of each kind is a warm-up and not counted.

``--calibrate`` instead reports the cosine similarities the relevance floor (``evidence_floor``) is set
against: of each PubMedQA question to its own abstract (which should be kept), and of MedQA questions,
which no PubMedQA abstract answers, to their best passage (which should not).

    python benchmarks/perf/evidence_first.py --data ../shared/data --items 10 [--balanced]
    python benchmarks/perf/evidence_first.py --data ../shared/data --calibrate
    python benchmarks/perf/evidence_first.py --data ../shared/data --latency --items 10
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def open_store(data: Path, where: Path) -> Any:
    """The store of all PubMedQA abstracts, built on first use."""
    from txscout.core.evidence import Evidence
    from txscout.memory.store import EvidenceStore

    store = EvidenceStore(path=where)
    if store.count() == 0:
        raw = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
        items = [
            Evidence(
                text=" ".join(row["CONTEXTS"]), source_kind="pubmed", pmid=pmid, year=int(row["YEAR"] or 0) or None
            )
            for pmid, row in raw.items()
        ]
        started = time.perf_counter()
        store.add(items)
        print(f"stored {len(items)} abstracts ({store.count()} chunks) in {time.perf_counter() - started:.0f} s")
    return store


def quantiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=10)
    return f"p10 {cuts[0]:.2f} · median {statistics.median(values):.2f} · p90 {cuts[-1]:.2f}"


def calibrate(data: Path, store: Any, n: int) -> None:
    raw = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    gold: list[float] = []
    for pmid, row in list(raw.items())[:n]:
        hits = store.search(row["QUESTION"], k=6)
        own = [h.similarity for h in hits if h.evidence.pmid == pmid and h.similarity is not None]
        gold.append(max(own) if own else 0.0)
    medqa = (data / "medqa" / "medqa_us_4options_test.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    off: list[float] = []
    for line in medqa:
        hits = store.search(json.loads(line)["question"], k=6)
        off.append(max((h.similarity or 0.0) for h in hits) if hits else 0.0)
    table = Table("questions", "cosine similarity to the best passage", title="relevance floor calibration")
    table.add_row(f"PubMedQA → its own abstract ({len(gold)})", quantiles(gold))
    table.add_row(f"MedQA → best PubMedQA passage ({len(off)})", quantiles(off))
    Console().print(table)
    for floor in (0.4, 0.45, 0.5, 0.55, 0.6):
        kept = sum(s >= floor for s in gold) / len(gold)
        wrong = sum(s >= floor for s in off) / len(off)
        print(f"floor {floor:.2f}: gold kept {kept:.0%}, off-topic passage kept {wrong:.0%}")


def ask(data: Path, store: Any, items: int, mode: str, model: str, balanced: bool) -> None:
    from benchmarks.grading import extract_label
    from txscout.agent.answers import Choices
    from txscout.agent.api import Agent

    raw = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    test = list(json.loads((data / "pubmedqa" / "test_ground_truth.json").read_text(encoding="utf-8")))
    if balanced:  # round-robin over the gold labels, so a model that always says one label cannot score well
        by_label = [[p for p in test if raw[p]["final_decision"] == label] for label in ("yes", "no", "maybe")]
        test = [p for group in itertools.zip_longest(*by_label) for p in group if p]
    test = test[:items]
    agent = Agent(model=model, mode=mode, store=store, offline=True)  # type: ignore[arg-type]
    labels = ["yes", "no", "maybe"]
    table = Table("pmid", "kept", "cited", "label", "gold", "s")
    rows: list[dict[str, Any]] = []
    for pmid in test:
        row = raw[pmid]
        started = time.perf_counter()
        answer = agent.run(row["QUESTION"], choices=Choices(answers=labels))
        took = time.perf_counter() - started
        kept = bool(answer.plan and any(p.kept and p.locator.endswith(f"/{pmid}/") for p in answer.plan.passages))
        cited = any(c.locator.endswith(f"/{pmid}/") for c in answer.citations)
        label = extract_label(answer.text, labels)
        right = label == row["final_decision"]
        rows.append({"kept": kept, "cited": cited, "right": right, "s": took, "status": answer.status})
        table.add_row(pmid, "✓" if kept else "", "✓" if cited else "", str(label), row["final_decision"], f"{took:.0f}")
        print(
            f"{pmid}: kept {kept} cited {cited} {label}/{row['final_decision']} {took:.0f} s {answer.status}",
            flush=True,
        )
    console = Console()
    console.print(table)
    n = len(rows)
    console.print(
        f"{n} items, {mode}, {model}: gold kept {sum(r['kept'] for r in rows)}/{n}, gold cited "
        f"{sum(r['cited'] for r in rows)}/{n}, right {sum(r['right'] for r in rows)}/{n}, incomplete "
        f"{sum(r['status'] != 'completed' for r in rows)}, median {statistics.median(r['s'] for r in rows):.0f} s/item"
    )


CHEMISTRY = (
    "What is the molecular weight of {}?",
    "What is the logP of {}?",
    "How many hydrogen bond donors does {} have?",
    "What is the topological polar surface area of {}?",
)
DRUGS = ("aspirin", "ibuprofen", "caffeine", "metformin", "imatinib", "paracetamol", "naproxen", "atorvastatin")


def latency(data: Path, store: Any, items: int, mode: str, model: str) -> None:
    """Warm p50 of questions answered from the store against warm single-property chemistry questions,
    alternated so that neither kind runs on a warmer process than the other."""
    from txscout import Agent, Choices

    raw = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    test = list(json.loads((data / "pubmedqa" / "test_ground_truth.json").read_text(encoding="utf-8")))
    agent = Agent(model=model, mode=mode, store=store, offline=True)  # type: ignore[arg-type]
    labels = Choices(answers=["yes", "no", "maybe"])
    timings: dict[str, list[float]] = {"store": [], "chemistry": []}
    cited = 0
    for i in range(items + 1):
        chemistry = CHEMISTRY[i % len(CHEMISTRY)].format(DRUGS[i % len(DRUGS)])
        started = time.perf_counter()
        agent.run(chemistry)
        took_chemistry = time.perf_counter() - started
        pmid = test[i]
        started = time.perf_counter()
        answer = agent.run(raw[pmid]["QUESTION"], choices=labels)
        took_store = time.perf_counter() - started
        if i == 0:
            continue  # warm-up: the first run of each kind loads the embedder and the store
        timings["chemistry"].append(took_chemistry)
        timings["store"].append(took_store)
        cited += any(c.locator.endswith(f"/{pmid}/") for c in answer.citations)
        print(f"{i}: chemistry {took_chemistry:.2f} s, store {took_store:.2f} s", flush=True)
    chemistry_p50 = statistics.median(timings["chemistry"])
    store_p50 = statistics.median(timings["store"])
    table = Table("question", "warm p50 s", "max s", title=f"{items} warm questions each, {mode}, {model}, one process")
    for kind, values in timings.items():
        table.add_row(kind, f"{statistics.median(values):.2f}", f"{max(values):.2f}")
    Console().print(table)
    ratio = store_p50 / chemistry_p50
    print(
        f"store p50 / chemistry p50 = {ratio:.2f} (target <= 2: {'met' if ratio <= 2 else 'missed'}); "
        f"gold abstract cited {cited}/{items}; load average {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store", type=Path, default=Path("/tmp/txscout-pubmedqa-store"))
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--mode", default="react")
    parser.add_argument("--model", default="local")
    parser.add_argument("--balanced", action="store_true", help="alternate yes, no and maybe items")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--latency", action="store_true", help="warm p50 of store questions against chemistry ones")
    parser.add_argument("--calibrate-n", type=int, default=200)
    args = parser.parse_args()
    store = open_store(args.data, args.store)
    if args.calibrate:
        calibrate(args.data, store, args.calibrate_n)
    elif args.latency:
        latency(args.data, store, args.items, args.mode, args.model)
    else:
        ask(args.data, store, args.items, args.mode, args.model, args.balanced)


if __name__ == "__main__":
    main()
