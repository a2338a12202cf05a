"""The evidence store: dedupe, provenance, hybrid retrieval, export, faults and concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fake_embedder import HashEmbedder
from txscout.agent.citations import EvidenceLedger
from txscout.core.evidence import Evidence
from txscout.core.settings import Settings
from txscout.core.toolkit import ToolContext, tool_context
from txscout.memory.embeddings import Embedder
from txscout.memory.store import EvidenceStore, StoreError, fuse
from txscout.memory.tool import memory_tools

ROOT = Path(__file__).resolve().parents[1]

ABSTRACTS = [
    Evidence(
        text="Osimertinib in untreated EGFR-mutated advanced non-small-cell lung cancer.\nRESULTS: The median overall "
        "survival was 38.6 months with osimertinib and 31.8 months with the comparator (hazard ratio 0.80).",
        source_kind="pubmed",
        title="Osimertinib in untreated EGFR-mutated advanced NSCLC",
        pmid="31751012",
        doi="10.1056/NEJMoa1913662",
        year=2019,
        query="osimertinib survival",
        run_id="run-a",
    ),
    Evidence(
        text="Proteolysis-targeting chimeras recruit an E3 ubiquitin ligase to a protein of interest and trigger its "
        "degradation by the proteasome; they act catalytically rather than by occupancy.",
        source_kind="web",
        title="PROTAC degraders",
        url="https://example.org/protac",
        year=2021,
    ),
    Evidence(
        text="Sotorasib (AMG 510) covalently inhibits KRAS G12C by locking the protein in its inactive "
        "GDP-bound state.",
        source_kind="pubmed",
        title="KRAS G12C inhibition",
        pmid="31666701",
        year=2019,
    ),
    Evidence(
        text="Statins lower LDL cholesterol by inhibiting HMG-CoA reductase, the rate-limiting enzyme of the "
        "mevalonate pathway, and reduce cardiovascular events in primary and secondary prevention.",
        source_kind="file",
        title="Statin pharmacology",
        url="file:///notes/statins.md",
    ),
]


@pytest.fixture
def store(tmp_path: Path, embedder: Embedder) -> EvidenceStore:
    return EvidenceStore(path=tmp_path / "memory", embedder=embedder)


def test_add_is_deduplicated_by_content(store: EvidenceStore) -> None:
    assert store.add(ABSTRACTS) == 4
    assert store.add(ABSTRACTS) == 0
    again = ABSTRACTS[0].model_copy(update={"run_id": "run-b", "query": "another query"})
    assert store.add([again, again]) == 0
    assert store.count() == 4


def test_provenance_survives_storage(store: EvidenceStore) -> None:
    store.add(ABSTRACTS)
    (hit,) = store.search("overall survival with osimertinib", k=1)
    e = hit.evidence
    assert (e.pmid, e.doi, e.year, e.source_kind) == ("31751012", "10.1056/NEJMoa1913662", 2019, "pubmed")
    assert (e.query, e.run_id) == ("osimertinib survival", "run-a")
    assert e.retrieved_at == pytest.approx(ABSTRACTS[0].retrieved_at, abs=1e-3)
    assert e.content_hash == ABSTRACTS[0].content_hash
    assert e.locator == "https://pubmed.ncbi.nlm.nih.gov/31751012/"


def test_long_sources_are_chunked_with_their_provenance(store: EvidenceStore) -> None:
    sentences = " ".join(f"Finding {i}: ibrutinib inhibits Bruton tyrosine kinase in B cells." for i in range(60))
    page = Evidence(text=sentences, source_kind="web", title="BTK review", url="https://example.org/btk")
    chunks = store.chunks([page])
    assert len(chunks) > 3
    assert all(len(c.text) <= store.chunk_chars and c.text.endswith(".") for c, _ in chunks)
    assert {m["parent"] for _, m in chunks} == {page.content_hash}
    assert [m["chunk"] for _, m in chunks] == list(range(len(chunks)))
    assert store.add([page]) == len(chunks)
    assert store.stats().sources == 1
    hits = store.search("Bruton tyrosine kinase", k=3)
    assert all(h.evidence.url == "https://example.org/btk" for h in hits)


def test_hybrid_finds_exact_codes_and_paraphrases(store: EvidenceStore) -> None:
    store.add(ABSTRACTS)
    lexical = store.search("AMG 510", k=2, mode="lexical")
    assert lexical[0].evidence.pmid == "31666701" and lexical[0].lexical_rank == 1
    dense = store.search("drugs that make cells destroy a target protein", k=1, mode="dense")
    assert dense[0].evidence.url == "https://example.org/protac" and dense[0].dense_rank == 1
    hybrid = store.search("cholesterol lowering enzyme inhibitor", k=4)
    assert hybrid[0].evidence.title == "Statin pharmacology"
    assert hybrid[0].dense_rank is not None and hybrid[0].lexical_rank is not None
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)


def test_fusion_rewards_agreement_and_normalises_scales() -> None:
    fused = fuse({"a": 0.9, "b": 0.8, "c": 0.1}, {"b": 40.0, "d": 10.0})
    assert max(fused, key=fused.__getitem__) == "b"
    assert fused["a"] > fused["c"] and fused["d"] > 0
    assert all(0.0 <= v <= 1.0 for v in fused.values())
    assert fuse({}, {}) == {}


def test_lexical_index_is_saved_and_reused(tmp_path: Path, store: EvidenceStore, embedder: Embedder) -> None:
    store.add(ABSTRACTS)
    store.search("KRAS", mode="lexical")
    saved = list((tmp_path / "memory" / "lexical").glob("*/ids.json"))
    assert len(saved) == 1
    other = EvidenceStore(path=tmp_path / "memory", embedder=embedder)
    assert other.search("KRAS", k=1, mode="lexical")[0].evidence.pmid == "31666701"
    other.add([Evidence(text="KRAS G12D is targeted by MRTX1133.", source_kind="web", url="https://x.org/k")])
    assert {h.evidence.url for h in store.search("MRTX1133", k=1, mode="lexical")} == {"https://x.org/k"}


def test_search_sees_chunks_another_process_added(tmp_path: Path, store: EvidenceStore, embedder: Embedder) -> None:
    store.add(ABSTRACTS[:1])
    assert len(store.search("cancer", k=5, mode="dense")) == 1
    EvidenceStore(path=tmp_path / "memory", embedder=embedder).add(ABSTRACTS[1:])
    assert len(store.search("cancer", k=5, mode="dense")) == 4
    assert len(store.search("cancer", k=5)) == 4


def test_empty_store_and_empty_query(store: EvidenceStore) -> None:
    assert store.search("anything") == []
    store.add(ABSTRACTS)
    assert store.search("   ") == []
    assert store.search("zzzzqqq", mode="lexical") == []


def test_export_then_import_round_trips(tmp_path: Path, store: EvidenceStore, embedder: Embedder) -> None:
    store.add(ABSTRACTS)
    out = tmp_path / "export.jsonl"
    assert store.export(out) == 4
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r.get("pmid") for r in records} >= {"31751012", "31666701"}
    assert all("parent" in r and "retrieved_at" in r for r in records)
    fresh = EvidenceStore(path=tmp_path / "other", embedder=embedder)
    assert fresh.import_jsonl(out) == 4
    assert fresh.search("KRAS G12C", k=1)[0].evidence.pmid == "31666701"


def test_clear_empties_the_store(store: EvidenceStore) -> None:
    store.add(ABSTRACTS)
    assert store.clear() == 4
    assert store.count() == 0 and store.search("KRAS") == []
    assert store.add(ABSTRACTS[:1]) == 1


def test_stats(store: EvidenceStore) -> None:
    store.add(ABSTRACTS)
    stats = store.stats()
    assert stats.chunks == 4 and stats.sources == 4
    assert stats.by_kind == {"file": 1, "pubmed": 2, "web": 1}
    assert stats.embedder == "all-MiniLM-L6-v2-int8" and stats.size_bytes


def test_corrupt_store_is_a_clear_error_and_left_untouched(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "memory"
    path.mkdir()
    garbage = b"this is not a sqlite database" * 100
    (path / "chroma.sqlite3").write_bytes(garbage)
    (path / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match=r"cannot be read.*Nothing was changed"):
        EvidenceStore(path=path, embedder=embedder).add(ABSTRACTS)
    assert (path / "chroma.sqlite3").read_bytes() == garbage
    assert (path / "notes.txt").read_text() == "keep me"


def test_store_path_that_is_a_file(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "memory").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        EvidenceStore(path=tmp_path / "memory", embedder=embedder).count()


def test_locked_store_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    from filelock import FileLock

    path = tmp_path / "memory"
    store = EvidenceStore(path=path, embedder=embedder, lock_timeout=0.2)
    store.count()
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with FileLock(str(path / ".write.lock")):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(StoreError, match="locked by another"):
            store.add(ABSTRACTS)
    finally:
        release.set()
        thread.join()
    assert store.count() == 0
    assert store.add(ABSTRACTS) == 4


def test_vectors_from_another_model_are_refused(tmp_path: Path, store: EvidenceStore) -> None:
    store.add(ABSTRACTS[:1])
    with pytest.raises(StoreError, match="holds all-MiniLM-L6-v2-int8 vectors"):
        EvidenceStore(path=tmp_path / "memory", quantized=False).count()


WRITER = """
import sys
from pathlib import Path
from txscout.core.evidence import Evidence
from txscout.memory.store import EvidenceStore
from tests.fake_embedder import HashEmbedder
store = EvidenceStore(path=Path(sys.argv[1]), embedder=HashEmbedder())
items = [Evidence(text=f"Writer {sys.argv[2]} finding {i} about kinase {i}.", source_kind="web",
                  url=f"https://x.org/{sys.argv[2]}/{i}") for i in range(25)]
shared = [Evidence(text=f"Shared finding {i}.", source_kind="web", url="https://x.org/s") for i in range(5)]
for start in range(0, 25, 5):
    store.add(items[start:start + 5] + shared)
"""


def test_two_processes_writing_at_once(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    EvidenceStore(path=path, embedder=HashEmbedder()).count()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], env=env, stderr=subprocess.PIPE)
        for name in ("alpha", "beta")
    ]
    for proc in writers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    reader = EvidenceStore(path=path, embedder=HashEmbedder())
    assert reader.count() == 55
    assert reader.search("Writer beta finding 24", k=1, mode="lexical")[0].evidence.url == "https://x.org/beta/24"


def test_memory_search_tool_cites_hits(tmp_path: Path, store: EvidenceStore) -> None:
    (tool,) = memory_tools(Settings(memory_path=tmp_path / "memory"), store=store)
    assert "Memory is empty" in tool.invoke({"query": "KRAS"})
    store.add(ABSTRACTS)
    ledger = EvidenceLedger()
    with tool_context(ToolContext(add_evidence=lambda e: ledger.add(e)[0])):
        out = tool.invoke({"query": "KRAS G12C covalent inhibitor", "k": 2})
    assert out.splitlines()[1].startswith("[1] (PMID 31666701, 2019) KRAS G12C inhibition")
    first = ledger.get(1)
    assert first is not None and first.pmid == "31666701" and first.source_kind == "pubmed"
    resolved, citations = ledger.resolve("Sotorasib locks KRAS G12C [1]; see also [7].")
    assert resolved == "Sotorasib locks KRAS G12C [1]; see also." and [c.ref for c in citations] == [1]
    assert citations[0].locator == "https://pubmed.ncbi.nlm.nih.gov/31666701/"
