"""A researcher's own papers through ``txscout memory``: folders of PDFs, reference libraries, corpora,
page-level sources, listing and removing documents, and the bad files a real folder holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import pdf_factory
from txscout.agent.citations import EvidenceLedger
from txscout.cli import app
from txscout.core.evidence import Evidence

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["memory", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    """A folder as researchers keep one: papers in subfolders, a few files that cannot be read."""
    root = tmp_path / "papers"
    (root / "kras").mkdir(parents=True)
    (root / ".trash").mkdir()
    pdf_factory.paper(root / "kras" / "lee2021.pdf", pages=3)
    pdf_factory.prose(
        root / "egfr.pdf",
        ["Osimertinib overcomes the EGFR T790M resistance mutation in non-small cell lung cancer."] * 3,
    )
    good = pdf_factory.paper(root / ".trash" / "old.pdf", pages=1)
    pdf_factory.encrypted(good, root / "locked.pdf")
    (root / "cut.pdf").write_bytes((root / "kras" / "lee2021.pdf").read_bytes()[:2500])
    pdf_factory.paper(root / "scan.pdf", pages=1, image_page=1)
    (root / "notes.txt").write_text("Adagrasib is a KRAS G12C inhibitor with CNS penetration.")
    (root / "image.png").write_bytes(b"\x89PNG not read")
    return root


def test_a_folder_is_added_with_a_summary_and_bad_files_named(memory_env: Path, papers: Path) -> None:
    code, out, _ = invoke("add", str(papers), "--json")
    assert code == 0
    rows = {Path(r["source"]).name: r for r in json.loads(out)}
    assert set(rows) == {"lee2021.pdf", "egfr.pdf", "locked.pdf", "cut.pdf", "scan.pdf", "notes.txt"}
    assert {n for n, r in rows.items() if r["status"] == "added"} == {"lee2021.pdf", "egfr.pdf", "notes.txt"}
    assert rows["lee2021.pdf"]["pages"] == 3 and rows["lee2021.pdf"]["added"] >= 3
    assert "encrypted" in rows["locked.pdf"]["reason"]
    assert "truncated" in rows["cut.pdf"]["reason"]
    assert "no text layer" in rows["scan.pdf"]["reason"]
    # Run again: nothing new, the same files fail, and since nothing was added the exit code says so.
    code, out, err = invoke("add", str(papers))
    assert code == 2
    assert "added 0, unchanged 3, failed 3" in out
    assert f"{papers / 'locked.pdf'}: encrypted PDF" in err and "Traceback" not in err
    code, out, _ = invoke("add", str(papers), "--glob", "*.txt", "--json")
    assert code == 0 and [Path(r["source"]).name for r in json.loads(out)] == ["notes.txt"]


def test_page_and_metadata_reach_search_exports_and_citations(memory_env: Path, tmp_path: Path) -> None:
    paper = pdf_factory.paper(tmp_path / "lee2021.pdf", pages=3)
    assert invoke("add", str(paper))[0] == 0
    _, out, _ = invoke("search", "p2R07 kinase inhibitor", "-k", "1", "--mode", "lexical", "--json")
    (hit,) = json.loads(out)
    assert hit["page"] == 2 and hit["section"] == "2. Results part 2"
    assert hit["authors"] == "Jane Lee; Omar Diaz; Wei Chen" and hit["year"] == 2021
    assert hit["doi"] == "10.1234/kras.2021.007"
    assert hit["locator"] == f"{paper.resolve().as_uri()}#page=2"
    # An answer that cites this chunk names the paper and the page, and links to the page.
    ledger = EvidenceLedger()
    ledger.add(Evidence(**{k: v for k, v in hit.items() if k in Evidence.model_fields}))
    citation = ledger.citation(1)
    assert citation.title == "Lee et al. 2021. Covalent KRAS G12C inhibition in lung cancer. p. 2"
    assert citation.locator == hit["locator"] and citation.page == 2
    target = tmp_path / "export.jsonl"
    assert invoke("export", str(target))[0] == 0
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["page"] for r in records} == {1, 2, 3}


def test_list_and_remove_documents(memory_env: Path, tmp_path: Path) -> None:
    paper = pdf_factory.paper(tmp_path / "lee2021.pdf", pages=2)
    notes = tmp_path / "notes.md"
    notes.write_text("Sotorasib was the first approved KRAS G12C inhibitor.")
    invoke("add", str(paper), str(notes))
    code, out, _ = invoke("list", "--json")
    documents = {d["doc"]: d for d in json.loads(out)}
    assert set(documents) == {paper.resolve().as_uri(), notes.resolve().as_uri()}
    assert documents[paper.resolve().as_uri()]["pages"] == 2 and documents[notes.resolve().as_uri()]["chunks"] == 1
    code, _, err = invoke("remove", str(paper))
    assert code == 0 and "removed Lee et al. 2021" in err
    code, out, _ = invoke("list", "--json")
    assert [d["doc"] for d in json.loads(out)] == [notes.resolve().as_uri()]
    code, _, err = invoke("remove", str(paper))
    assert code == 2 and "no stored document" in err


def test_a_changed_file_replaces_its_old_text(memory_env: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Imatinib inhibits BCR-ABL.")
    invoke("add", str(notes))
    notes.write_text("Dasatinib inhibits BCR-ABL and SRC.")
    invoke("add", str(notes))
    _, out, _ = invoke("search", "inhibits BCR-ABL", "--mode", "lexical", "--json")
    assert [h["text"] for h in json.loads(out)] == ["Dasatinib inhibits BCR-ABL and SRC."]


def test_export_refuses_a_symlink_and_a_fifo(memory_env: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("Sotorasib was the first approved KRAS G12C inhibitor.")
    invoke("add", str(notes))
    kept = tmp_path / "kept.txt"
    kept.write_text("not to be replaced")
    link = tmp_path / "link.jsonl"
    link.symlink_to(kept)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    for target, cause in ((link, "symbolic link"), (fifo, "FIFO")):
        code, _, err = invoke("export", str(target))
        assert code == 2 and cause in err and "Traceback" not in err
    assert link.is_symlink() and kept.read_text() == "not to be replaced"
    assert fifo.is_fifo()
    if Path("/dev/full").exists():  # as root, a rename over it would replace the device node
        code, _, err = invoke("export", "/dev/full")
        assert code == 2 and "device" in err
        assert Path("/dev/full").is_char_device()


def test_bibtex_library_adds_records_and_the_pdfs_it_names(memory_env: Path, tmp_path: Path) -> None:
    library = tmp_path / "zotero"
    (library / "files" / "7").mkdir(parents=True)
    pdf_factory.prose(library / "files" / "7" / "scan-name.pdf", ["Body text about pan-RAS inhibition in cells."] * 2)
    (library / "export.bib").write_text(
        "@article{kim2023,\n"
        "  title = {Pan-{RAS} inhibition by {RMC}-6236},\n"
        '  author = {Kim, Min and M{\\"u}ller, Anna},\n'
        "  year = {2023},\n  doi = {10.1000/ras.2023.1},\n"
        "  file = {Full Text:files/7/scan-name.pdf:application/pdf}\n}\n"
        "@article{ng2020,\n  title = {Resistance to KRAS inhibitors},\n  author = {Ng, Li},\n  year = {2020},\n"
        "  abstract = {Secondary KRAS mutations confer resistance to covalent inhibitors.}\n}\n"
    )
    code, out, _ = invoke("add", str(library / "export.bib"), "--json")
    assert code == 0
    assert {Path(r["source"]).name: r["status"] for r in json.loads(out)} == {
        "export.bib": "added",
        "scan-name.pdf": "added",
    }
    code, out, _ = invoke("search", "pan-RAS inhibition in cells", "-k", "1", "--mode", "lexical", "--json")
    (hit,) = json.loads(out)
    assert hit["title"] == "Pan-RAS inhibition by RMC-6236" and hit["authors"] == "Kim, Min; Müller, Anna"
    assert hit["page"] == 1 and hit["year"] == 2023
    code, out, _ = invoke("search", "secondary KRAS mutations resistance", "-k", "1", "--mode", "lexical", "--json")
    assert json.loads(out)[0]["title"] == "Resistance to KRAS inhibitors"


def test_ris_library_records(memory_env: Path, tmp_path: Path) -> None:
    ris = tmp_path / "mendeley.ris"
    ris.write_text(
        "TY  - JOUR\nTI  - Sotorasib in KRAS G12C lung cancer\nAU  - Skoulidis, Ferdinandos\nAU  - Li, Bob\n"
        "PY  - 2021\nDO  - 10.1056/NEJMoa2103695\nAB  - Sotorasib showed durable benefit.\nL1  - missing.pdf\n"
        "ER  - \n"
    )
    code, out, _ = invoke("add", str(ris), "--json")
    rows = {Path(r["source"]).name: r for r in json.loads(out)}
    assert code == 0 and rows["mendeley.ris"]["status"] == "added"
    assert rows["missing.pdf"]["status"] == "failed" and "not found" in rows["missing.pdf"]["reason"]
    code, out, _ = invoke("search", "durable benefit", "-k", "1", "--mode", "lexical", "--json")
    (hit,) = json.loads(out)
    assert hit["authors"] == "Skoulidis, Ferdinandos; Li, Bob" and hit["doi"] == "10.1056/NEJMoa2103695"


def test_jsonl_corpus_records(memory_env: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    records = [
        {"text": "Metformin lowers hepatic glucose output.", "title": "Metformin", "authors": ["A Smith", "B Jones"],
         "year": 2019, "pmid": 30000001},
        {"text": "Aspirin irreversibly acetylates COX-1.", "title": "Aspirin", "doi": "10.1/asp", "page": 4},
    ]  # fmt: skip
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    code, out, _ = invoke("add", str(corpus), "--json")
    assert code == 0 and json.loads(out)[0]["added"] == 2
    code, out, _ = invoke("search", "hepatic glucose", "-k", "1", "--mode", "lexical", "--json")
    (hit,) = json.loads(out)
    assert hit["source_kind"] == "pubmed" and hit["locator"] == "https://pubmed.ncbi.nlm.nih.gov/30000001/"
    assert hit["authors"] == "A Smith; B Jones"
    code, out, _ = invoke("search", "acetylates", "-k", "1", "--mode", "lexical", "--json")
    assert json.loads(out)[0]["page"] == 4


def test_an_empty_folder_is_a_failure_not_a_silent_success(memory_env: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = invoke("add", str(tmp_path / "empty"))
    assert code == 2 and "no files txscout reads in this folder" in err
