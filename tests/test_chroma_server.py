"""A shared evidence store on a real ``chroma run`` server (``chroma_server`` in conftest): the memory
commands with ``--memory-url``, and two processes adding at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txscout.cli import app
from txscout.core.evidence import Evidence
from txscout.memory.store import EvidenceStore

runner = CliRunner()
TOPICS = {
    "osimertinib.txt": [
        "Osimertinib is a third-generation EGFR tyrosine kinase inhibitor used in non-small cell lung cancer.",
        "The EGFR C797S mutation prevents the covalent bond of osimertinib and confers acquired resistance.",
        "MET amplification is a frequent EGFR-independent mechanism of resistance after osimertinib.",
    ],
    "imatinib.txt": [
        "Imatinib inhibits the BCR-ABL fusion kinase that drives chronic myeloid leukaemia.",
        "The T315I gatekeeper mutation in ABL1 blocks imatinib binding; ponatinib remains active against it.",
        "Imatinib also inhibits KIT and is the first-line treatment of gastrointestinal stromal tumours.",
    ],
    "herg.txt": [
        "Blockade of the hERG potassium channel prolongs the QT interval and can cause torsades de pointes.",
        "Terfenadine and cisapride were withdrawn from the market because of hERG-related arrhythmias.",
        "Patch-clamp assays on hERG-expressing cells measure the IC50 of channel blockade in vitro.",
    ],
}


@pytest.fixture
def documents(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, sentences in TOPICS.items():
        path = tmp_path / name
        path.write_text("\n\n".join(sentences) + "\n")
        paths[name] = path
    return paths


@pytest.fixture
def shared(chroma_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session's chroma server, emptied for this test; lexical index caches kept out of the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    url = chroma_server.origin
    cleared = runner.invoke(app, ["memory", "clear", "--yes", "--memory-url", url])
    assert cleared.exit_code == 0, cleared.output
    return url


def _memory(*args: str) -> object:
    result = runner.invoke(app, ["memory", *args])
    assert result.exit_code == 0, result.output
    return result


def test_add_search_stats_and_export_through_the_server(shared: str, documents: dict[str, Path], tmp_path) -> None:
    added = json.loads(_memory("add", str(documents["osimertinib.txt"]), "--memory-url", shared, "--json").stdout)
    assert added[0]["status"] == "added" and added[0]["added"] >= 1
    again = json.loads(_memory("add", str(documents["osimertinib.txt"]), "--memory-url", shared, "--json").stdout)
    assert again[0]["status"] == "unchanged" and again[0]["added"] == 0

    hits = json.loads(_memory("search", "acquired resistance mutation", "--memory-url", shared, "--json").stdout)
    assert hits and "C797S" in " ".join(hit["text"] for hit in hits)

    stats = json.loads(_memory("stats", "--memory-url", shared, "--json").stdout)
    assert stats["chunks"] == added[0]["added"] and stats["location"] == shared
    assert "minilm" in stats["embedder"].lower()

    exported = tmp_path / "export.jsonl"
    _memory("export", str(exported), "--memory-url", shared)
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(records) == stats["chunks"]
    exported_text = " ".join(record["text"] for record in records)
    assert all(sentence in exported_text for sentence in TOPICS["osimertinib.txt"])


def test_two_clients_adding_at_once_lose_nothing_and_duplicate_nothing(
    shared: str, documents: dict[str, Path], tmp_path: Path
) -> None:
    """Two processes add overlapping files at the same moment; the store holds each chunk once."""
    txscout = str(Path(sys.executable).with_name("txscout"))
    env = {**os.environ}
    overlapping = [
        [documents["osimertinib.txt"], documents["imatinib.txt"]],
        [documents["imatinib.txt"], documents["herg.txt"]],
    ]
    clients = [
        subprocess.Popen(
            [txscout, "memory", "add", *map(str, files), "--memory-url", shared, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for files in overlapping
    ]
    reports = []
    for client in clients:
        stdout, stderr = client.communicate(timeout=120)
        assert client.returncode == 0, stderr
        reports.append(json.loads(stdout))

    exported = tmp_path / "all.jsonl"
    _memory("export", str(exported), "--memory-url", shared)
    texts = [json.loads(line)["text"] for line in exported.read_text().splitlines()]
    assert len(texts) == len(set(texts)), "a chunk was stored twice"
    stored = " ".join(texts)
    for sentences in TOPICS.values():
        for sentence in sentences:
            assert sentence in stored, f"lost: {sentence}"
    assert all(row["status"] in ("added", "unchanged") for report in reports for row in report)
    assert sum(row["added"] for report in reports for row in report) == len(texts), json.dumps(reports)


class _StaleReader(EvidenceStore):
    """A client whose absence check ran before another client's write landed: it sees nothing stored."""

    def _existing(self, ids: list[str]) -> dict[str, tuple[str, str | None]]:
        return {}


def test_a_write_that_lost_the_race_counts_nothing(shared: str) -> None:
    """Both clients send the same chunks; the store keeps one copy and only the first write counts it."""
    items = [Evidence(text=" ".join(sentences), source_kind="file", title=name) for name, sentences in TOPICS.items()]
    first = EvidenceStore(url=shared).add(items)
    assert first == len(items)
    assert _StaleReader(url=shared).add(items) == 0
    assert EvidenceStore(url=shared).stats().chunks == first
