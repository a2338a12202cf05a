"""Ingest speed (issue 20, issue 21): the 1,000 PubMedQA abstracts through ``memory add corpus.jsonl``
against plain chromadb in the same run, and a large plain-text file in MB per minute.

Baseline: a chromadb collection with chroma's SentenceTransformerEmbeddingFunction over the same
bundled MiniLM, whole abstracts, default settings. txscout: the JSONL corpus format the README
documents, through the same ``Ingest`` run the CLI uses (sentence-boundary chunks, int8 MiniLM,
one write per document). Model loading is timed apart from both.

The large text file is the abstracts over and over, each pass in another order, so that its chunks
are new text (the store keeps one copy of a repeated chunk, which would make a file of repeats look
fast). Its size is what the figure is about: a cost that grows faster than the file shows as MB/min
falling with ``--text-mb``.

    python benchmarks/perf/ingest_perf.py --data ../shared/data --text-mb 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--limit", type=int, default=1000, help="abstracts to ingest")
    parser.add_argument("--text-mb", type=float, default=5.0, help="size of the large text file in MB (0 to skip)")
    args = parser.parse_args()

    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    from txscout.memory.embeddings import get_embedder, model_dir
    from txscout.memory.ingest import Ingest
    from txscout.memory.store import EvidenceStore

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    raw = json.loads((args.data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    pmids = list(raw)[: args.limit]
    abstracts = [" ".join(raw[p]["CONTEXTS"]) for p in pmids]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ef = SentenceTransformerEmbeddingFunction(model_name=str(model_dir()), device="cpu")
        ef(["warm up"])
        client = chromadb.PersistentClient(
            path=str(root / "plain"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        collection = client.create_collection("plain", embedding_function=ef)  # type: ignore[arg-type]
        start = time.perf_counter()
        collection.add(ids=pmids, documents=abstracts)
        plain = time.perf_counter() - start
        rows = [("plain chromadb, whole abstracts", len(pmids), len(pmids), plain, "abstracts/s")]

        corpus = root / "pubmedqa.jsonl"
        with corpus.open("w", encoding="utf-8") as fh:
            for pmid, text in zip(pmids, abstracts, strict=True):
                year = raw[pmid].get("YEAR")
                record = {
                    "text": text,
                    "title": raw[pmid]["QUESTION"],
                    "pmid": pmid,
                    "year": int(year) if year else None,
                }
                fh.write(json.dumps(record) + "\n")
        start = time.perf_counter()
        get_embedder().encode(["warm up"])
        print(f"txscout model load: {time.perf_counter() - start:.1f} s")
        store = EvidenceStore(path=root / "memory")
        report = Ingest(store).run([corpus])
        chunks = store.count()
        rows.append(("txscout memory add corpus.jsonl", len(pmids), chunks, report.seconds, "abstracts/s"))
        if args.text_mb > 0:
            text = root / "large.txt"
            text.write_text(_large_text(abstracts, int(args.text_mb * 1e6)), encoding="utf-8")
            size = text.stat().st_size / 1e6
            report = Ingest(EvidenceStore(path=root / "large")).run([text])
            rows.append(
                (f"txscout memory add large.txt ({size:.2f} MB)", size, report.chunks, report.seconds, "MB/min")
            )
    print(f"\n{'run':<40} {'items':>8} {'chunks':>7} {'seconds':>8}  rate")
    for name, items, count, seconds, unit in rows:
        rate = items / seconds * (60 if unit == "MB/min" else 1)
        print(f"{name:<40} {items:>8.4g} {count:>7} {seconds:>8.1f}  {rate:.2f} {unit}")
    print(f"txscout / plain chromadb time for the abstracts: {rows[1][3] / rows[0][3]:.2f}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


def _large_text(abstracts: list[str], size: int) -> str:
    """``size`` characters of abstracts, reshuffled on every pass so no chunk repeats an earlier one."""
    rng = random.Random(0)
    parts: list[str] = []
    length = 0
    while length < size:
        order = abstracts[:]
        rng.shuffle(order)
        for abstract in order:
            parts.append(abstract)
            length += len(abstract) + 2
            if length >= size:
                break
    return "\n\n".join(parts)[:size]


if __name__ == "__main__":
    main()
