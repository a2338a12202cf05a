"""Ingest speed (issue 20, issue 21): the 1,000 PubMedQA abstracts through ``memory add corpus.jsonl``
against plain chromadb in the same run, and a large plain-text file in MB per minute.

Baseline: a chromadb collection with chroma's SentenceTransformerEmbeddingFunction over the same
bundled MiniLM, whole abstracts, default settings. txscout: the JSONL corpus format the README
documents, through the same ``Ingest`` run the CLI uses (sentence-boundary chunks, int8 MiniLM,
one write per document). Model loading is timed apart from both.

    python benchmarks/perf/ingest_perf.py --data ../shared/data --text-mb 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--limit", type=int, default=1000, help="abstracts to ingest")
    parser.add_argument("--text-mb", type=float, default=1.0, help="size of the large text file (0 to skip)")
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
        print(f"plain chromadb: {len(pmids)} abstracts in {plain:.1f} s ({len(pmids) / plain:.1f} abstracts/s)")

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
        print(
            f"txscout memory add corpus.jsonl: {len(pmids)} abstracts, {chunks} chunks in {report.seconds:.1f} s "
            f"({len(pmids) / report.seconds:.1f} abstracts/s, {chunks / report.seconds:.1f} chunks/s); "
            f"ratio to plain chromadb {plain / report.seconds:.2f}"
        )
        if args.text_mb > 0:
            text = root / "large.txt"
            body = "\n\n".join(abstracts)
            target = int(args.text_mb * 1e6)
            text.write_text((body * (target // len(body) + 1))[:target], encoding="utf-8")
            size = text.stat().st_size / 1e6
            report = Ingest(EvidenceStore(path=root / "large")).run([text])
            print(
                f"large text file: {size:.2f} MB, {report.chunks} chunks in {report.seconds:.1f} s "
                f"= {size / report.seconds * 60:.2f} MB/min"
            )
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
