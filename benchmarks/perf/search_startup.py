"""``txscout memory search`` in a fresh process with 10,000 chunks stored (issue 20: at most 2 s).

Fills a store with PubMedQA abstracts as text and random unit vectors (the vectors do not change
how long a search takes, and embedding 10,000 chunks would take most of an hour on two busy cores),
runs one search to build the BM25 index (saved for later processes), then times fresh processes of
the real command and reports whether torch or sentence-transformers were imported.

    python benchmarks/perf/search_startup.py --data ../shared/data --chunks 10000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = (
    "import sys, time; t = time.perf_counter(); from txscout.cli import main; sys.argv = ['txscout', 'memory', "
    "'search', {query!r}, '-k', '5', '--json']\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "print('HEAVY', any(m in sys.modules for m in ('torch', 'sentence_transformers')), file=sys.stderr)"
)


def fill(path: Path, data: Path, chunks: int) -> None:
    import numpy as np

    from txscout.core.evidence import Evidence
    from txscout.memory.store import EvidenceStore

    raw = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    texts = [(pmid, " ".join(item["CONTEXTS"])) for pmid, item in raw.items()]
    store = EvidenceStore(path=path)
    rng = np.random.default_rng(7)
    items = [
        Evidence(
            text=f"{texts[i % len(texts)][1]} (copy {i})", source_kind="pubmed", pmid=f"{texts[i % len(texts)][0]}-{i}"
        )
        for i in range(chunks)
    ]
    vectors = rng.standard_normal((chunks, 384)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.add_embedded(items, vectors)


def timed(env: dict[str, str], query: str) -> tuple[float, bool]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(query=query)], env=env, capture_output=True, text=True, check=True
    )
    heavy = "HEAVY True" in done.stderr
    return time.perf_counter() - start, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "memory"
        start = time.perf_counter()
        fill(store, args.data, args.chunks)
        print(f"filled {args.chunks:,} chunks in {time.perf_counter() - start:.1f} s")
        env = os.environ | {"TXSCOUT_MEMORY_PATH": str(store), "TXSCOUT_CACHE_DIR": str(Path(tmp) / "cache")}
        first, heavy = timed(env, "Does metformin reduce mortality in sepsis?")
        print(f"first search (builds and saves the BM25 index): {first:.2f} s, torch imported: {heavy}")
        times = []
        for n in range(args.runs):
            seconds, heavy = timed(env, f"Do statins lower the risk of stroke in trial {n}?")
            times.append(seconds)
            print(f"fresh process {n + 1}: {seconds:.2f} s, torch imported: {heavy}")
        print(f"median {statistics.median(times):.2f} s, best {min(times):.2f} s over {args.runs} fresh processes")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
