"""The TUI's pure parts: session persistence, Markdown export, answer rendering, folding events into entries."""

from __future__ import annotations

from pathlib import Path

from txscout.agent.citations import Citation
from txscout.agent.result import Answer, Usage
from txscout.core.events import (
    AnswerReady,
    ErrorRaised,
    EvidenceAdded,
    ModelCall,
    RunFinished,
    RunStarted,
    ToolCalled,
    ToolResult,
)
from txscout.core.evidence import Evidence
from txscout.tui.live import LiveRun
from txscout.tui.screens.help import key_label
from txscout.tui.sessions import EvidenceRecord, Session, SessionEntry, SessionStore, export_markdown
from txscout.tui.widgets.answer import answer_markdown, answer_plain, linkify_citations

PAPER = Evidence(
    text="Imatinib inhibits BCR-ABL.", source_kind="pubmed", title="Imatinib in CML", pmid="11287972", year=2001
)
CITATION = Citation(
    ref=1, title=PAPER.title, locator=PAPER.locator, source_kind="pubmed", evidence_id=PAPER.content_hash
)


def entry(**changes: object) -> SessionEntry:
    base = SessionEntry(question="What does imatinib inhibit?", asked_at=1.0, mode="react", model="m", trace="t")
    return base.model_copy(update=changes)


def test_sessions_round_trip_and_an_unfinished_run_reopens_as_interrupted(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = store.new()
    session.entries.append(entry(status="completed", answer="BCR-ABL [1]", citations=[CITATION]))
    session.entries.append(entry(question="And dasatinib?"))
    store.save(session)

    loaded = store.load(session.id)
    assert loaded.entries[0] == session.entries[0]
    assert loaded.entries[1].status == "interrupted"
    assert "stopped" in loaded.entries[1].reason


def test_session_list_is_newest_first_and_skips_unreadable_files(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    for number, stamp in enumerate((100.0, 300.0, 200.0)):
        session = Session(id=f"s{number}", created_at=stamp, updated_at=stamp, entries=[entry()])
        path = store.directory(session) / "session.json"
        path.parent.mkdir(parents=True)
        path.write_text(session.model_dump_json(), encoding="utf-8")
    broken = store.root / "broken" / "session.json"
    broken.parent.mkdir()
    broken.write_text("{not json", encoding="utf-8")

    assert [s.id for s in store.summaries()] == ["s1", "s2", "s0"]
    assert store.summaries()[0].title == "What does imatinib inhibit?"


def test_history_keeps_the_latest_use_of_each_question(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    assert store.history() == []
    for question in ("a", "b", "a", "c"):
        store.remember(question)
    with (store.root / "history.jsonl").open("a", encoding="utf-8") as fh:
        fh.write("garbage\n")
    assert store.history() == ["b", "a", "c"]
    assert store.history(limit=2) == ["a", "c"]


def test_session_ids_sort_by_time() -> None:
    store = SessionStore(Path("unused"))
    earlier, later = store.new(), store.new()
    assert earlier.id[:15] <= later.id[:15]
    assert earlier.id != later.id


def test_export_writes_questions_answers_and_sources(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = store.new()
    record = EvidenceRecord(
        ref=1, evidence_id=PAPER.content_hash, source_kind="pubmed", title=PAPER.title, locator=PAPER.locator
    )
    session.entries.append(
        entry(status="completed", answer="BCR-ABL [1]", confidence=0.8, citations=[CITATION], evidence=[record])
    )
    session.entries.append(entry(question="Why?", status="failed", error="endpoint down"))

    path = store.export(session)
    assert path == tmp_path / "exports" / f"txscout-session-{session.id}.md"
    text = path.read_text(encoding="utf-8")
    assert text == export_markdown(session)
    assert "## 1. What does imatinib inhibit?" in text
    assert "confidence 0.80" in text
    assert f"- [1] Imatinib in CML — {PAPER.locator} `{PAPER.content_hash}` (not cited)" in text
    assert "> error: endpoint down" in text and "_(no answer)_" in text


def test_citations_become_links_and_titles_are_escaped() -> None:
    assert linkify_citations("A [1] and B [2, 3].") == r"A \[[1](#ref-1)\] and B \[[2](#ref-2), [3](#ref-3)\]."
    tricky = CITATION.model_copy(update={"title": "IC50 *in vitro* [draft]"})
    markdown = answer_markdown(entry(status="completed", answer="X [1]", citations=[tricky], confidence=0.5))
    assert r"IC50 \*in vitro\* \[draft\]" in markdown
    assert f"[{PAPER.locator}]({PAPER.locator})" in markdown
    assert "confidence 50%" in markdown
    cancelled = answer_markdown(entry(status="cancelled", reason="cancelled by the user"))
    assert cancelled.startswith("> **Cancelled.**") and "_No answer._" in cancelled
    assert answer_plain(entry(answer="X [1]", citations=[CITATION])) == (
        f"X [1]\n\nSources:\n[1] Imatinib in CML — {PAPER.locator}\n"
    )


def test_live_run_keeps_the_observation_as_text_when_the_run_fails() -> None:
    live = LiveRun(entry())
    events = [
        RunStarted(run_id="r1", question="q", model="m", mode="react"),
        ModelCall(step=1, input_tokens=10, output_tokens=5),
        ToolCalled(step=1, call_id="c1", tool="search", args={}),
        EvidenceAdded(ref=1, evidence_id=PAPER.content_hash, source_kind="pubmed", title=PAPER.title),
        ToolResult(step=1, call_id="c1", tool="search", output="[1] Imatinib in CML: observation text"),
        ErrorRaised(kind="model", message="cannot reach the model endpoint"),
        RunFinished(status="failed", steps=1, input_tokens=10, output_tokens=5),
    ]
    added = [live.apply(e) for e in events]
    assert [a.ref for a in added if a is not None] == [1]
    assert live.entry.run_id == "r1"
    assert live.entry.evidence[0].text == "[1] Imatinib in CML: observation text"
    assert live.entry.status == "failed"
    assert live.entry.error == "cannot reach the model endpoint"
    assert live.entry.usage.input_tokens == 10


def test_live_run_takes_stored_texts_and_citations_from_the_answer() -> None:
    live = LiveRun(entry())
    live.apply(EvidenceAdded(ref=1, evidence_id=PAPER.content_hash, source_kind="pubmed", title=PAPER.title))
    live.apply(AnswerReady(text="BCR-ABL [1]", citations=[CITATION.model_dump()], confidence=0.9))
    assert live.entry.evidence[0].cited
    answer = Answer(
        question="q",
        text="BCR-ABL [1]",
        citations=[CITATION],
        confidence=0.9,
        run_id="r2",
        usage=Usage(steps=2, input_tokens=30, output_tokens=7, elapsed_s=1.5),
        evidence=[PAPER],
    )
    live.finish(answer)
    record = live.entry.evidence[0]
    assert (record.text, record.pmid, record.year, record.cited) == (PAPER.text, "11287972", 2001, True)
    assert live.entry.status == "completed" and live.entry.usage.elapsed_s == 1.5


def test_key_labels_read_like_keys() -> None:
    assert key_label("f1,question_mark") == "F1 / ?"
    assert key_label("ctrl+o") == "Ctrl+O"
    assert key_label("ctrl+up") == "Ctrl+↑"
    assert key_label("escape,q") == "Esc / Q"
