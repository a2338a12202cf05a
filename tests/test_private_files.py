"""What txscout keeps about a person is theirs: traces, sessions, history, exports and the evidence store
are created 0700 (directories) and 0600 (files) under a permissive umask. Files handed in as text are
sniffed first: binary or undecodable content is refused before anything is stored."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txscout.cli import app
from txscout.core.errors import UserError
from txscout.core.events import RunStarted, TraceWriter
from txscout.core.files import check_text, sniff_text
from txscout.memory.embeddings import Embedder
from txscout.memory.store import EvidenceStore
from txscout.tools.literature.http import HttpCache
from txscout.tui.sessions import SessionEntry, SessionStore

runner = CliRunner()


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common default, under which anything not created private would be readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_trace_and_the_folders_made_for_it_are_private(tmp_path: Path) -> None:
    existing = tmp_path / "shared"
    existing.mkdir()
    path = existing / "runs" / "today" / "run.jsonl"
    writer = TraceWriter(path)
    writer(RunStarted(question="a private question", model="m", mode="react"))
    writer.close()
    assert mode(path) == 0o600
    assert mode(path.parent) == mode(path.parent.parent) == 0o700
    assert mode(existing) == 0o755  # a folder that already existed is left as it was


def test_sessions_history_and_exports_are_private(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data" / "sessions")
    session = store.new()
    session.entries.append(
        SessionEntry(question="q", asked_at=0.0, mode="react", model="m", trace="traces/q001.jsonl", status="completed")
    )
    store.save(session)
    store.remember("q")
    exported = store.export(session)
    trace = TraceWriter(store.trace_path(session, session.entries[0]))
    trace.close()
    for folder in (tmp_path / "data", store.root, store.directory(session), exported.parent, trace.path.parent):
        assert mode(folder) == 0o700, folder
    for file in (store.directory(session) / "session.json", store.root / "history.jsonl", exported, trace.path):
        assert mode(file) == 0o600, file


def test_the_evidence_store_and_the_data_folder_are_private(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    store = EvidenceStore(path=data / "memory", embedder=embedder)
    assert store.count() == 0
    assert mode(data) == mode(data / "memory") == 0o700


def test_text_sniffing() -> None:
    assert sniff_text("\ufeffÉtude sur l'aspirine\n".encode(), "notes.txt") == "Étude sur l'aspirine\n"
    assert check_text("coloured \x1b[31mlog\x1b[0m line\n", "log.txt").startswith("coloured")
    for data, reason in [
        (b"ELF\x02\x01\x00\x00binary", "NUL"),
        ("café".encode("latin-1"), "not UTF-8"),
        ("ok".encode("utf-16"), "NUL"),
    ]:
        with pytest.raises(UserError, match=reason):
            sniff_text(data, "input")
    with pytest.raises(UserError, match="not UTF-8"):
        check_text("half \ud800 a character", "input")


def test_a_binary_renamed_md_is_refused_and_only_the_good_file_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    monkeypatch.setenv("TXSCOUT_MEMORY_PATH", str(tmp_path / "memory"))
    fake = tmp_path / "lsbin.md"
    shutil.copyfile("/bin/ls", fake)
    notes = tmp_path / "notes.md"
    notes.write_text("Imatinib inhibits BCR-ABL.\n", encoding="utf-8")
    result = runner.invoke(app, ["memory", "add", str(notes), str(fake)])
    # The run goes on past a bad file (issue 20): the good one is stored, the binary is named and refused.
    assert result.exit_code == 0 and "lsbin.md is binary" in result.stderr
    stats = json.loads(runner.invoke(app, ["memory", "stats", "--json"]).stdout)
    assert stats["chunks"] == 1


def test_the_http_cache_is_private(tmp_path: Path) -> None:
    """Recorded responses name the URLs and queries a person looked up."""
    cache = HttpCache(tmp_path / "cache" / "http")
    cache.put_json("a" * 64, {"query": "my patient's rare mutation"})
    (recorded,) = (tmp_path / "cache").rglob("*.json")
    assert mode(recorded) == 0o600
    folders = [tmp_path / folder for folder in recorded.relative_to(tmp_path).parents if folder != Path(".")]
    assert len(folders) == 3 and all(mode(folder) == 0o700 for folder in folders)
