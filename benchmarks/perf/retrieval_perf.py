"""Evidence-store figures (issue 4): retrieval quality, ingest speed and query latency.

Quality: the 1,000 expert-annotated PubMedQA abstracts are indexed and each question is asked; the
one relevant document is the abstract it was written about. Recall@1, recall@5 and MRR@10 are
reported for dense, lexical (BM25) and hybrid (weighted fusion of normalised scores) retrieval.

Ingest: a plain chromadb collection with chroma's own sentence-transformers embedding function over
whole abstracts (the baseline), against ``EvidenceStore.add`` (sentence-boundary chunks, int8 MiniLM,
batched, precomputed vectors). Both run in this process on the same machine, baseline first.

Latency: p50/p95 of ``EvidenceStore.search`` at 1k chunks and again after adding synthetic filler to
reach ``--scale`` chunks. Embedding 100k filler texts would take most of an hour on two cores, so the
filler gets random unit vectors and random text drawn from the corpus vocabulary (so BM25 posting
lists are realistic); the measured queries are the real PubMedQA questions.

    python benchmarks/perf/retrieval_perf.py --data ../shared/data --out benchmarks/perf/results/retrieval.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

MODES = ("dense", "lexical", "hybrid")


def load_pubmedqa(data: Path) -> tuple[list[str], list[str], list[str]]:
    """(pmids, abstracts, questions) from ``pubmedqa/ori_pqal.json``."""
    raw = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    pmids = list(raw)
    return pmids, [" ".join(raw[p]["CONTEXTS"]) for p in pmids], [raw[p]["QUESTION"] for p in pmids]


def ranking_scores(ranked: list[list[str]], truth: list[str]) -> dict[str, float]:
    """Recall@1, recall@5 and MRR@10 for one relevant document per query."""
    r1 = r5 = mrr = 0.0
    for docs, gold in zip(ranked, truth, strict=True):
        if gold in docs[:1]:
            r1 += 1
        if gold in docs[:5]:
            r5 += 1
        if gold in docs[:10]:
            mrr += 1.0 / (docs.index(gold) + 1)
    n = len(truth)
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr@10": mrr / n}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def baseline(pmids: list[str], abstracts: list[str], questions: list[str], model_dir: str) -> dict[str, Any]:
    """chromadb with its SentenceTransformerEmbeddingFunction, whole abstracts, default settings."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    ef = SentenceTransformerEmbeddingFunction(model_name=model_dir, device="cpu")
    ef(["warm up"])  # load the model outside the timed part, as for txscout
    with tempfile.TemporaryDirectory() as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.create_collection("plain", embedding_function=ef)  # type: ignore[arg-type]
        start, cpu = time.perf_counter(), time.process_time()
        collection.add(ids=pmids, documents=abstracts)
        ingest, ingest_cpu = time.perf_counter() - start, time.process_time() - cpu
        result = collection.query(query_texts=questions, n_results=10)
    scores = ranking_scores([list(ids) for ids in result["ids"]], pmids)
    return {"ingest_s": ingest, "ingest_cpu_s": ingest_cpu, **scores}


def evaluate(store: Any, questions: list[str], pmids: list[str]) -> dict[str, Any]:
    """Quality and per-query latency for each mode; documents ranked by their best chunk.

    Chroma builds its HNSW index in the background after large inserts, and queries meanwhile scan
    unindexed vectors, so untimed warm-up queries run first until the index has caught up (the median
    of the last 20 dense queries under 100 ms, or ten minutes).
    """
    start = time.perf_counter()
    recent: list[float] = []
    for question in itertools.cycle(questions):
        began = time.perf_counter()
        store.search(question, k=20, mode="dense")
        recent.append(time.perf_counter() - began)
        settled = len(recent) >= 20 and statistics.median(recent[-20:]) < 0.1
        if settled or time.perf_counter() - start > 600:
            break
    out: dict[str, Any] = {"warmup_s": time.perf_counter() - start}
    for mode in MODES:
        ranked: list[list[str]] = []
        latencies: list[float] = []
        for question in questions:
            start = time.perf_counter()
            hits = store.search(question, k=20, mode=mode)
            latencies.append((time.perf_counter() - start) * 1000)
            docs: list[str] = []
            for hit in hits:
                pmid = hit.evidence.pmid
                if pmid and pmid not in docs:
                    docs.append(pmid)
            ranked.append(docs)
        out[mode] = {
            **ranking_scores(ranked, pmids),
            "p50_ms": statistics.median(latencies),
            "p95_ms": percentile(latencies, 0.95),
        }
    return out


def add_filler(store: Any, target: int, abstracts: list[str], seed: int = 7) -> tuple[int, float]:
    """Random-vector, corpus-vocabulary filler chunks until the store holds ``target`` chunks."""
    import numpy as np

    from txscout.core.evidence import Evidence

    rng = random.Random(seed)
    vocabulary = [w for text in abstracts for w in text.split()]
    need = target - store.count()
    start = time.perf_counter()
    generator = np.random.default_rng(seed)
    step = 5000
    for offset in range(0, need, step):
        n = min(step, need - offset)
        items = [
            Evidence(
                text=" ".join(rng.choices(vocabulary, k=rng.randint(60, 140))) + f" filler-{offset + i}.",
                source_kind="file",
                title="synthetic filler",
                url=f"file:///filler/{offset + i}",
            )
            for i in range(n)
        ]
        vectors = generator.standard_normal((n, 384)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.add_embedded(items, vectors)
    return store.count(), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/retrieval.json"))
    parser.add_argument("--scale", type=int, default=100_000, help="chunks for the large-store latency run")
    parser.add_argument("--latency-queries", type=int, default=300, help="questions timed at the large scale")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    from txscout.core.evidence import Evidence
    from txscout.memory.embeddings import get_embedder, model_dir
    from txscout.memory.store import EvidenceStore

    console = Console()
    pmids, abstracts, questions = load_pubmedqa(args.data)
    report: dict[str, Any] = {
        "dataset": "PubMedQA PQA-L (ori_pqal.json)",
        "documents": len(pmids),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if not args.skip_baseline:
        with console.status("baseline: plain chromadb + sentence-transformers…"):
            report["baseline"] = baseline(pmids, abstracts, questions, str(model_dir()))
    elif args.out.exists():
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        if "baseline" in previous:
            report["baseline"] = previous["baseline"] | {"from_previous_run": True}

    start = time.perf_counter()
    embedder = get_embedder()
    embedder.encode(["warm up"])
    report["model_load_s"] = time.perf_counter() - start
    items = [Evidence(text=text, source_kind="pubmed", pmid=pmid) for pmid, text in zip(pmids, abstracts, strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        store = EvidenceStore(path=Path(tmp) / "memory", embedder=embedder)
        store.count()
        with console.status("txscout: ingesting…"):
            start, cpu = time.perf_counter(), time.process_time()
            store.add(items)
            ingest, ingest_cpu = time.perf_counter() - start, time.process_time() - cpu
            start = time.perf_counter()
            store.search("warm up", k=1, mode="lexical")
            lexical_build = time.perf_counter() - start
        report["txscout"] = {
            "chunks": store.count(),
            "ingest_s": ingest,
            "ingest_cpu_s": ingest_cpu,
            "lexical_index_s": lexical_build,
            "embedder": embedder.name,
        }
        with console.status("txscout: evaluating at 1k…"):
            report["at_1k"] = evaluate(store, questions, pmids)
        if args.scale > store.count():
            with console.status(f"adding synthetic filler up to {args.scale:,} chunks…"):
                total, filler_s = add_filler(store, args.scale, abstracts)
                start = time.perf_counter()
                store.search("warm up", k=1, mode="lexical")
                rebuild = time.perf_counter() - start
            sample = random.Random(1).sample(range(len(questions)), min(args.latency_queries, len(questions)))
            with console.status(f"txscout: evaluating at {total:,}…"):
                large = evaluate(store, [questions[i] for i in sample], [pmids[i] for i in sample])
            report["at_scale"] = {"chunks": total, "filler_insert_s": filler_s, "lexical_index_s": rebuild, **large}
    if "baseline" in report:
        report["ingest_speedup"] = report["baseline"]["ingest_s"] / report["txscout"]["ingest_s"]
        report["ingest_speedup_cpu"] = report["baseline"]["ingest_cpu_s"] / report["txscout"]["ingest_cpu_s"]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_report(console, report)
    console.print(f"written to {args.out}")


def print_report(console: Console, report: dict[str, Any]) -> None:
    quality = Table(title=f"Retrieval on {report['dataset']}, {report['documents']} abstracts")
    for column in ("system", "recall@1", "recall@5", "MRR@10", "p50 ms (1k)", "p95 ms (1k)", "p50 ms (scale)",
                   "p95 ms (scale)"):  # fmt: skip
        quality.add_column(column, justify="right" if column != "system" else "left")
    if "baseline" in report:
        b = report["baseline"]
        quality.add_row("plain chromadb", f"{b['recall@1']:.3f}", f"{b['recall@5']:.3f}", f"{b['mrr@10']:.3f}",
                        "", "", "", "")  # fmt: skip
    scale = report.get("at_scale", {})
    for mode in MODES:
        m = report["at_1k"][mode]
        big = scale.get(mode, {})
        quality.add_row(
            f"txscout {mode}",
            f"{m['recall@1']:.3f}",
            f"{m['recall@5']:.3f}",
            f"{m['mrr@10']:.3f}",
            f"{m['p50_ms']:.1f}",
            f"{m['p95_ms']:.1f}",
            f"{big['p50_ms']:.1f}" if big else "",
            f"{big['p95_ms']:.1f}" if big else "",
        )
    console.print(quality)
    ingest = Table(title="Ingest of the 1,000 abstracts (model already loaded)")
    ingest.add_column("system")
    ingest.add_column("wall s", justify="right")
    ingest.add_column("CPU s", justify="right")
    ingest.add_column("notes")
    if "baseline" in report:
        b = report["baseline"]
        ingest.add_row("plain chromadb", f"{b['ingest_s']:.1f}", f"{b['ingest_cpu_s']:.1f}", "whole abstracts, fp32")
    t = report["txscout"]
    ingest.add_row(
        "txscout",
        f"{t['ingest_s']:.1f}",
        f"{t['ingest_cpu_s']:.1f}",
        f"{t['chunks']} chunks, {t['embedder']}; BM25 build {t['lexical_index_s']:.2f} s",
    )
    console.print(ingest)
    if "ingest_speedup" in report:
        console.print(
            f"ingest speed-up: {report['ingest_speedup']:.2f}x wall, {report['ingest_speedup_cpu']:.2f}x CPU time "
            "(CPU time is the fairer figure on a shared machine)"
        )
    if scale:
        console.print(
            f"scale run: {scale['chunks']:,} chunks (synthetic filler: random unit vectors, corpus-vocabulary "
            f"text), filler insert {scale['filler_insert_s']:.0f} s, BM25 rebuild {scale['lexical_index_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
