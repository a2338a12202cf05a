"""Targeted retrieval for the uncertainty and critique phases.

Both phases know *what* is missing (the point the samples disagree on, the claim without support)
but not which retrieval tools this run has. This module runs a query through whichever of PubMed,
web search and memory are present, in that order of preference, skips a tool for the rest of the
phase once it fails (offline, rate-limited), and makes sure whatever came back reaches the evidence
ledger, because the next prompt is built from the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agent.answers import tokens
from agent.events import ToolCalled
from memory.evidence import Evidence

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from agent.loop import Run

RETRIEVAL_TOOLS = ("pubmed_search", "web_search", "memory_search")
_QUERY_FIELDS = ("query", "q", "term", "text", "question")
MAX_CALLS_PER_SEARCH = 4
"""Tool calls one ``search`` may spend. The run's tool-call budget is shared with the ReAct phase,
so one targeted search must not exhaust it."""

KEYWORDS_PER_QUERY = 5
EVIDENCE_TEXT_CAP = 1500
MIN_EVIDENCE_CHARS = 40
"""Shorter unregistered output ("No results.") is a status message, not evidence worth a number."""


class SearchReport(BaseModel):
    """What a targeted search did: the ``tool: query`` pairs that ran and how much evidence they added."""

    searched: list[str] = Field(default_factory=list)
    new_evidence: int = 0


def query_field(tool: BaseTool) -> str | None:
    """The argument that carries the search text: a conventional name, else the first string field."""
    schema = tool.args_schema
    if schema is None:
        return None
    if isinstance(schema, dict):
        props: dict[str, Any] = schema.get("properties", {})
        names = list(props)
        strings = [n for n in names if props[n].get("type") == "string"]
    else:
        fields = schema.model_fields
        names = list(fields)
        strings = [n for n, f in fields.items() if f.annotation is str]
    for name in _QUERY_FIELDS:
        if name in names:
            return name
    return strings[0] if strings else None


def keywords(text: str, limit: int = KEYWORDS_PER_QUERY) -> list[str]:
    """The most specific content words of ``text``, in their original order.

    Specific means long, or carrying digits, capitals or hyphens (drug names, genes, mutations,
    doses), which is what a literature query needs; a clinical vignette's filler words score low.
    """
    originals = {w.lower(): w for w in text.replace("/", " ").split()}
    seen: dict[str, int] = {}
    for position, word in enumerate(tokens(text)):
        seen.setdefault(word, position)

    def score(word: str) -> float:
        raw = originals.get(word, word)
        bonus = 3 if any(c.isdigit() for c in word) or "-" in word or any(c.isupper() for c in raw[1:]) else 0
        return len(word) + bonus - seen[word] / 1000

    chosen = sorted(seen, key=score, reverse=True)[:limit]
    return sorted(chosen, key=seen.__getitem__)


class Searcher:
    """Targeted searches for one phase; remembers which tools failed so later rounds skip them."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.failed: set[str] = set()

    def tools(self) -> list[tuple[str, str]]:
        """``(tool name, query field)`` for the retrieval tools this run has that have not failed."""
        found = []
        for name in RETRIEVAL_TOOLS:
            tool = self.run.tools.get(name)
            if tool is None or name in self.failed:
                continue
            field = query_field(tool)
            if field is not None:
                found.append((name, field))
        return found

    def _already_called(self, name: str, args: dict[str, str]) -> bool:
        return any(isinstance(e, ToolCalled) and e.tool == name and e.args == args for e in self.run.events)

    def search(self, queries: Iterable[str]) -> SearchReport:
        """Run each query through the available retrieval tools within ``MAX_CALLS_PER_SEARCH`` calls.

        A tool that returns an error is skipped from then on. Output a tool returned without
        registering evidence itself is registered here as tool evidence, so it is numbered, citable
        and visible to the next prompt. A call this run already made is not repeated: its result is
        in the ledger already.
        """
        report = SearchReport()
        calls = 0
        for query in dict.fromkeys(" ".join(q.split()) for q in queries):
            if not query:
                continue
            for name, field in self.tools():
                args = {field: query}
                if self._already_called(name, args):
                    continue
                if calls >= MAX_CALLS_PER_SEARCH:
                    return report
                before = len(self.run.ledger.items)
                outcome = self.run.call_tool(name, args, step=0, automatic=True)
                calls += 1
                if outcome.is_error:
                    self.failed.add(name)
                    continue
                report.searched.append(f"{name}: {query}")
                if len(self.run.ledger.items) == before and len(outcome.text.strip()) >= MIN_EVIDENCE_CHARS:
                    self.run.add_evidence(
                        Evidence(
                            text=outcome.text[:EVIDENCE_TEXT_CAP],
                            source_kind="tool",
                            title=f"{name} results for '{query}'",
                            tool=name,
                            query=query,
                        )
                    )
                report.new_evidence += len(self.run.ledger.items) - before
        return report
