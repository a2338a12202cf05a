"""Sessions on disk: every question, answer, source and trace of a TUI session, reopenable later.

Layout under ``data_dir()/sessions``::

    history.jsonl                 questions typed in any session, for the input's history
    <session id>/session.json     the session (pydantic ``Session``), rewritten atomically
    <session id>/traces/qNNN.jsonl  one JSONL event trace per question (``agent.events.TraceWriter``)

A session is written after each question is submitted and again when its run ends, so a crash loses
at most the answer in flight; an entry left as ``running`` is reported as interrupted on reopening.
Sessions hold what a person asked and read, so every directory here is created 0700 and every file 0600.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from txscout.agent.citations import Citation
from txscout.agent.result import Usage
from txscout.core.files import atomic_write_text, open_private, private_dir, write_private
from txscout.tui.words import plural

HISTORY_LIMIT = 500


class EvidenceRecord(BaseModel):
    """One source of a run, with its stored text so it can be read again offline."""

    ref: int
    evidence_id: str
    source_kind: str
    title: str = ""
    locator: str = ""
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    year: int | None = None
    page: int | None = None
    text: str = ""
    cited: bool = False

    @property
    def label(self) -> str:
        return self.title or self.text[:80] or self.evidence_id


class SessionEntry(BaseModel):
    """One question and everything needed to show its run again."""

    question: str
    asked_at: float
    mode: str
    model: str
    trace: str
    status: str = "running"
    run_id: str = ""
    answer: str = ""
    confidence: float | None = None
    reason: str = ""
    error: str = ""
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[EvidenceRecord] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)


class Session(BaseModel):
    version: int = 1
    id: str
    created_at: float
    updated_at: float
    entries: list[SessionEntry] = Field(default_factory=list)

    @property
    def title(self) -> str:
        return self.entries[0].question if self.entries else "(empty session)"


class SessionSummary(BaseModel):
    id: str
    title: str
    questions: int
    updated_at: float


def new_session_id(now: float | None = None) -> str:
    """Sortable by time (the session list is newest first) and unique within a second."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


class SessionStore:
    """Reads and writes sessions under one directory; every write is atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> SessionStore:
        from txscout.core.settings import data_dir

        return cls(data_dir() / "sessions")

    def new(self) -> Session:
        now = time.time()
        return Session(id=new_session_id(now), created_at=now, updated_at=now)

    def directory(self, session: Session | str) -> Path:
        return self.root / (session if isinstance(session, str) else session.id)

    def trace_path(self, session: Session, entry: SessionEntry) -> Path:
        return self.directory(session) / entry.trace

    def save(self, session: Session) -> None:
        session.updated_at = time.time()
        path = self.directory(session) / "session.json"
        atomic_write_text(path, session.model_dump_json(indent=1), private=True)

    def load(self, session_id: str) -> Session:
        path = self.directory(session_id) / "session.json"
        session = Session.model_validate_json(path.read_bytes())  # bad UTF-8 is a ValidationError too
        for entry in session.entries:
            if entry.status == "running":
                entry.status = "interrupted"
                entry.reason = entry.reason or "the app stopped before this run finished"
        return session

    def summaries(self) -> list[SessionSummary]:
        """Sessions newest first; unreadable session files are skipped, not fatal."""
        summaries: list[SessionSummary] = []
        if not self.root.is_dir():
            return summaries
        for path in self.root.glob("*/session.json"):
            try:
                session = Session.model_validate_json(path.read_bytes())
            except (OSError, ValidationError):
                continue
            summaries.append(
                SessionSummary(
                    id=session.id,
                    title=session.title,
                    questions=len(session.entries),
                    updated_at=session.updated_at,
                )
            )
        return sorted(summaries, key=lambda s: (s.updated_at, s.id), reverse=True)

    def export(self, session: Session) -> Path:
        """Write the session as Markdown beside the sessions directory (``data_dir()/exports``)."""
        path = self.root.parent / "exports" / f"txscout-session-{session.id}.md"
        write_private(path, export_markdown(session))
        return path

    def remember(self, question: str) -> None:
        private_dir(self.root)
        with open_private(self.root / "history.jsonl", "a") as fh:
            fh.write(json.dumps({"q": question, "ts": time.time()}) + "\n")

    def history(self, limit: int = HISTORY_LIMIT) -> list[str]:
        """Distinct past questions, oldest first, so the newest is one Up-arrow away."""
        path = self.root / "history.jsonl"
        if not path.exists():
            return []
        questions: list[str] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():  # a torn line is skipped
            try:
                question = json.loads(line)["q"]
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(question, str) and question.strip():
                if question in questions:
                    questions.remove(question)
                questions.append(question)
        return questions[-limit:]


def export_markdown(session: Session) -> str:
    """The whole session as a Markdown document: each question, its answer and its sources."""
    created = datetime.fromtimestamp(session.created_at).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# txscout session {session.id}",
        "",
        f"Started {created}; {plural(len(session.entries), 'question')}.",
        "",
    ]
    for number, entry in enumerate(session.entries, start=1):
        lines += [f"## {number}. {entry.question}", ""]
        facts = [f"model {entry.model}", f"mode {entry.mode}", f"status {entry.status}"]
        if entry.confidence is not None:
            facts.append(f"confidence {entry.confidence:.2f}")
        facts.append(f"tokens {entry.usage.input_tokens + entry.usage.output_tokens}")
        lines += ["*" + ", ".join(facts) + "*", ""]
        if entry.reason:
            lines += [f"> {entry.reason}", ""]
        if entry.error:
            lines += [f"> error: {entry.error}", ""]
        lines += [entry.answer or "_(no answer)_", ""]
        if entry.evidence:
            lines += ["### Sources", ""]
            for item in entry.evidence:
                mark = "" if item.cited else " (not cited)"
                lines.append(f"- [{item.ref}] {item.label} — {item.locator} `{item.evidence_id}`{mark}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
