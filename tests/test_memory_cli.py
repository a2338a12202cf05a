"""``txscout memory``: add, search, stats, export and clear, through the real top-level command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fake_servers import FakeServer, eutils_default
from txscout.cli import app

runner = CliRunner()


@pytest.fixture
def eutils() -> Iterator[FakeServer]:
    with FakeServer(eutils_default) as server:
        yield server


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["memory", *args])
    return result.exit_code, result.stdout, result.stderr


def test_add_files_then_search_as_json(memory_env: Path, tmp_path: Path) -> None:
    notes = tmp_path / "kras.md"
    notes.write_text("# KRAS notes\n\nSotorasib (AMG 510) inhibits KRAS G12C covalently. Adagrasib does too.")
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Statins</title></head><body><article><p>Statins inhibit HMG-CoA reductase and lower "
        "LDL cholesterol, which reduces cardiovascular events in many trials.</p></article></body></html>"
    )
    code, out, _ = invoke("add", str(notes), str(page), "--json")
    assert code == 0
    assert [row["added"] for row in json.loads(out)] == [1, 1]
    code, out, _ = invoke("add", str(notes))
    assert code == 0 and "kras.md: already stored" in out
    code, out, _ = invoke("search", "AMG 510", "-k", "1", "--json")
    assert code == 0
    (hit,) = json.loads(out)  # stdout is JSON and nothing else
    assert "Sotorasib" in hit["text"] and hit["source_kind"] == "file"
    assert hit["locator"].startswith("file://") and hit["score"] > 0


def test_add_pubmed_query_stats_export_and_clear(memory_env: Path, tmp_path: Path, eutils: FakeServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("TXSCOUT_NCBI_BASE_URL", eutils.url)
    code, out, _ = invoke("add", "--pubmed", "osimertinib", "--limit", "3")
    assert code == 0 and "PubMed: osimertinib" in out
    assert eutils.requests_to("/esearch.fcgi")[0].params["retmax"] == ["3"]
    code, out, _ = invoke("stats", "--json")
    stats = json.loads(out)
    assert stats["by_kind"] == {"pubmed": 2} and stats["sources"] == 2  # the record without abstract is skipped
    target = tmp_path / "export.jsonl"
    code, _, err = invoke("export", str(target))
    assert code == 0 and "exported 2 chunks" in err
    assert {json.loads(line)["pmid"] for line in target.read_text().splitlines()} == {"31000001", "31000003"}
    code, _, err = invoke("clear")
    assert code == 2 and "--yes" in err
    code, _, err = invoke("clear", "--yes")
    assert code == 0 and "cleared 2 chunks" in err
    code, out, _ = invoke("add", str(target), "--json")
    assert json.loads(out)[0]["added"] == 2  # an export reads back in


def test_user_mistakes_are_one_line_errors(memory_env: Path, tmp_path: Path) -> None:
    code, _, err = invoke("add", str(tmp_path / "missing.txt"))
    assert code == 2 and "no such file" in err and "Traceback" not in err
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    code, _, err = invoke("add", str(tmp_path / "data.bin"))
    assert code == 2 and "cannot read this kind of file" in err
    code, _, err = invoke("add", "http://127.0.0.1:9/x")
    assert code == 2 and "refusing" in err
    code, _, err = invoke("add")
    assert code == 2 and "nothing to add" in err
    code, _, err = invoke("search", "x", "--mode", "fuzzy")
    assert code == 2 and "--mode" in err


def test_corrupt_store_is_reported_not_repaired(memory_env: Path) -> None:
    memory_env.mkdir(parents=True)
    (memory_env / "chroma.sqlite3").write_bytes(b"garbage" * 50)
    code, _, err = invoke("stats")
    assert code == 2 and "cannot be read" in err
    assert (memory_env / "chroma.sqlite3").read_bytes() == b"garbage" * 50
