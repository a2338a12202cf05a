"""Targeted retrieval for the uncertainty and critique phases.

Both phases know *what* is missing (the point the samples disagree on, the claim without support)
but not which retrieval tools this run has. This module runs a query through whichever of PubMed,
web search and memory are present, in that order of preference, and skips a tool for the rest of
the phase once it fails (offline, rate-limited). These tools register what they find in the run's
evidence ledger themselves, and the next prompt is built from the ledger, so new evidence reaches
the model without passing through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from txscout.agent import protocol
from txscout.agent.queries import query_field

if TYPE_CHECKING:
    from txscout.agent.run import Run

RETRIEVAL_TOOLS = ("pubmed_search", "web_search", "memory_search")
MAX_CALLS_PER_SEARCH = 4
"""Tool calls one ``search`` may spend. The run's tool-call budget is shared with the ReAct phase,
so one targeted search must not exhaust it."""


class SearchReport(BaseModel):
    """What a targeted search did: the ``tool: query`` pairs that ran and how much evidence they added."""

    searched: list[str] = Field(default_factory=list)
    new_evidence: int = 0


def phase_prompt(run: Run, question: str, sections: list[str], instruction: str) -> list[BaseMessage]:
    """A prompt for the phases after ReAct (sampling, critique, revision), its own task last: small models
    follow the instruction nearest the end best.

    A backend that keeps its state after a prompt (``prompt_state``, the embedded model) continues the
    conversation the draft was written from (``run.transcript``: the question and everything shown with
    it), with the evidence found since and the phase's task in one new turn: it then reads only that
    turn, where a fresh prompt would have it read the question and the evidence again for every phase.
    Other backends get a fresh prompt, the same for every phase: the system text, the question and the
    numbered evidence, then the phase's task.
    """
    if run.transcript and run.backend.capabilities.prompt_state:
        since = run.ledger.digest(start=run.transcript_evidence).strip()
        parts = [f"Evidence found since:\n{since}"] if since else []
        return [*run.transcript, HumanMessage("\n\n".join([*parts, *sections, instruction]))]
    body = run.ledger.digest().strip() or "(no evidence was gathered)"
    parts = [f"Question: {question}", f"Evidence:\n{body}", *sections, instruction]
    return [SystemMessage(protocol.SYSTEM_CORE), HumanMessage("\n\n".join(parts))]


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

    def search(self, queries: Iterable[str]) -> SearchReport:
        """Run each query through the available retrieval tools within ``MAX_CALLS_PER_SEARCH`` calls.

        A tool that returns an error is skipped from then on. A call this run already made is not
        repeated: its result is in the ledger already. ``new_evidence`` counts ledger entries the
        calls added; evidence the run had before does not count, since it cannot change the answer.
        """
        report = SearchReport()
        calls = 0
        for query in dict.fromkeys(" ".join(q.split()) for q in queries):
            if not query:
                continue
            for name, field in self.tools():
                args = {field: query}
                if self.run.has_called(name, args):
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
                report.new_evidence += len(self.run.ledger.items) - before
        return report
