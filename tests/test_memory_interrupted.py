"""``memory add`` interrupted: a run killed mid-way, a replacement cut short between writing a file's new
version and deleting its old one, a corpus whose write stopped half-way. Each leaves every document
whole (or absent), and the next run completes what is missing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import pdf_factory
from tests.fake_embedder import HashEmbedder
from txscout.cli import app
from txscout.core.pdf import read_pdf_file
from txscout.memory.ingest import Ingest, pdf_evidence, read_plain
from txscout.memory.store import EvidenceStore


def _stored(path: Path) -> dict[str, int]:
    """Chunks per stored document, as a fresh reader of the store sees them."""
    return {d.doc: d.chunks for d in EvidenceStore(path=path).documents()}


def test_a_run_killed_mid_folder_leaves_whole_documents_and_a_rerun_adds_the_rest(
    memory_env: Path, tmp_path: Path
) -> None:
    import chromadb  # noqa: F401  (imported now, so that polling the store below reacts in time)

    folder = tmp_path / "papers"
    folder.mkdir()
    expected: dict[str, int] = {}
    chunker = EvidenceStore(path=tmp_path / "unused")
    for n in range(5):
        lines = [
            f"Paper {n} finding {i}: inhibitor {n * 997 + i} slows tumour line {i % 7} growth." for i in range(300)
        ]
        pdf = pdf_factory.prose(folder / f"paper{n}.pdf", lines)
        doc = pdf.resolve().as_uri()
        sha = hashlib.sha256(pdf.read_bytes()).hexdigest()[:24]
        expected[doc] = len(chunker.chunks(pdf_evidence(read_pdf_file(pdf), pdf), doc, sha))
    assert min(expected.values()) > 20

    run = subprocess.Popen(
        [sys.executable, "-m", "txscout", "memory", "add", str(folder), "--workers", "1", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)},
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and run.poll() is None and not _stored(memory_env):
        time.sleep(0.1)
    assert run.poll() is None, f"the run ended before it could be interrupted: {run.stderr.read()!r}"
    run.send_signal(signal.SIGKILL)
    run.wait()

    after_kill = _stored(memory_env)
    assert after_kill and len(after_kill) < len(expected)
    assert all(expected[doc] == chunks for doc, chunks in after_kill.items())

    result = CliRunner().invoke(app, ["memory", "add", str(folder), "--json"])
    assert result.exit_code == 0, result.stderr
    status = {Path(r["source"]).resolve().as_uri(): r["status"] for r in json.loads(result.stdout)}
    assert {d for d, s in status.items() if s == "unchanged"} == set(after_kill)
    assert {d for d, s in status.items() if s == "added"} == set(expected) - set(after_kill)
    assert _stored(memory_env) == expected


class BrokenEmbedder(HashEmbedder):
    """The test embedder failing mid-way, as a model that runs out of memory does."""

    def encode(self, texts: list[str], batch_size: int = 64) -> object:
        raise RuntimeError("out of memory")


def _paragraphs(*topics: str) -> str:
    return "\n\n".join(
        f"{t} " + " ".join(f"{t} observation {i} holds in cell line {i}." for i in range(30)) for t in topics
    )


def test_a_changed_file_is_never_missing_or_half_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "memory"
    notes = tmp_path / "notes.md"
    doc = notes.resolve().as_uri()
    notes.write_text(_paragraphs("Imatinib", "Nilotinib", "Dasatinib"))
    Ingest(EvidenceStore(path=path, embedder=HashEmbedder())).run([notes])
    old = {e.text for e in EvidenceStore(path=path, embedder=HashEmbedder()).document(doc)}
    assert len(old) >= 3

    notes.write_text(_paragraphs("Imatinib", "Ponatinib", "Asciminib"))
    new = {c.text for c, _ in EvidenceStore(path=path, embedder=HashEmbedder()).chunks(read_plain(notes), doc)}
    # The model fails while the new version is embedded: the run stops, the old version stays whole.
    with pytest.raises(RuntimeError, match="out of memory"):
        Ingest(EvidenceStore(path=path, embedder=BrokenEmbedder())).run([notes])
    assert {e.text for e in EvidenceStore(path=path, embedder=HashEmbedder()).document(doc)} == old

    # The process dies after the new version is written, before the old one is deleted.
    import chromadb.api.models.Collection as collection_module

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(collection_module.Collection, "delete", killed)
        with pytest.raises(KeyboardInterrupt):
            Ingest(EvidenceStore(path=path, embedder=HashEmbedder())).run([notes])
    assert new <= {e.text for e in EvidenceStore(path=path, embedder=HashEmbedder()).document(doc)}

    # The next run finds the new version stored whole and finishes the replacement.
    report = Ingest(EvidenceStore(path=path, embedder=HashEmbedder())).run([notes])
    assert [o.status for o in report.outcomes] == ["unchanged"]
    assert {e.text for e in EvidenceStore(path=path, embedder=HashEmbedder()).document(doc)} == new
    assert all(e.text in new for e in EvidenceStore(path=path, embedder=HashEmbedder()).document(doc))


def test_a_corpus_whose_write_stopped_half_way_is_completed_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "memory"
    corpus = tmp_path / "abstracts.jsonl"
    records = [
        {"text": f"Abstract {n}: compound {n} binds kinase {n % 50}.", "pmid": str(10_000 + n)} for n in range(2500)
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    import chromadb.api.models.Collection as collection_module

    real_add = collection_module.Collection.add
    calls = []

    def dies_on_second_batch(self: object, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_add(self, *args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(collection_module.Collection, "add", dies_on_second_batch)
        with pytest.raises(KeyboardInterrupt):
            Ingest(EvidenceStore(path=path, embedder=HashEmbedder())).run([corpus])
    store = EvidenceStore(path=path, embedder=HashEmbedder())
    partial = store.count()
    assert 0 < partial < len(records)
    report = Ingest(store).run([corpus])
    assert [(o.status, o.chunks) for o in report.outcomes] == [("added", len(records) - partial)]
    assert store.count() == len(records)
    assert [o.status for o in Ingest(store).run([corpus]).outcomes] == ["unchanged"]
