"""Fakes for the TUI tests and the TUI benchmark: tools that register evidence, a tool that waits on a gate,
scripted replies for one question, and a fixed agent whose every field is deterministic (for snapshots)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field
from textual.pilot import Pilot

from txscout.agent.citations import Citation
from txscout.agent.result import Answer, Usage
from txscout.core.events import (
    AnswerReady,
    CritiqueFinding,
    Event,
    EvidenceAdded,
    ModelCall,
    Revision,
    RunFinished,
    RunStarted,
    Thought,
    ToolCalled,
    ToolResult,
    UncertaintyRound,
)
from txscout.core.evidence import Evidence
from txscout.core.settings import Mode, Settings
from txscout.core.toolkit import ToolError, current_context


class Query(BaseModel):
    query: str = Field(description="what to look up")


def paper(query: str) -> Evidence:
    return Evidence(
        text=f"Abstract. In chronic myeloid leukaemia, {query} inhibits the BCR-ABL tyrosine kinase "
        "and induced complete haematological responses in most patients.",
        source_kind="pubmed",
        title=f"Clinical study of {query} in CML",
        pmid="11287972",
        year=2001,
        tool="search_papers",
        query=query,
    )


def search_papers() -> BaseTool:
    """A literature tool that registers one PubMed abstract per distinct query."""

    def run(query: str) -> str:
        item = paper(query)
        ref = current_context().evidence(item)
        return f"[{ref}] {item.title} (PMID {item.pmid}): {item.text}"

    return StructuredTool.from_function(
        func=run, name="search_papers", description="Search PubMed abstracts.", args_schema=Query
    )


def broken_tool() -> BaseTool:
    def run(query: str) -> str:
        raise ToolError(f"the database is unreachable for {query!r}")

    return StructuredTool.from_function(
        func=run,
        name="broken_lookup",
        description="Always fails.",
        args_schema=Query,
        handle_tool_error=True,
    )


def gated_tool(gate: threading.Event) -> BaseTool:
    """Blocks until the test opens ``gate``, so a run can be cancelled while it is provably in progress."""

    def run(query: str) -> str:
        gate.wait(10)
        return f"slow result for {query}"

    return StructuredTool.from_function(func=run, name="slow_lookup", description="Slow.", args_schema=Query)


def search_then_answer(query: str, tool: str = "search_papers") -> list[str]:
    """Text-protocol replies for one question: one tool call, then an answer citing [1]."""
    return [
        f"Thought: I should look up {query}.\nAction: {tool}\nAction Input: {json.dumps({'query': query})}",
        f"Thought: The abstract answers it.\nFinal Answer: {query.capitalize()} inhibits BCR-ABL [1].",
    ]


FIXED_QUESTION = "What does imatinib inhibit in CML?"
FIXED_PAPER = Evidence(
    text="Abstract. Imatinib inhibits the BCR-ABL tyrosine kinase in chronic myeloid leukaemia.",
    source_kind="pubmed",
    title="Clinical study of imatinib in CML",
    pmid="11287972",
    year=2001,
)
FIXED_TOOL_OUTPUT = (
    "[1] Clinical study of imatinib in CML (PMID 11287972): imatinib inhibits the BCR-ABL tyrosine kinase."
)


def fixed_events() -> list[Event]:
    """A full-mode run with every kind of timeline entry and fixed numbers, for snapshots."""
    return [
        RunStarted(question=FIXED_QUESTION, model="scripted", mode="full", tools=["search_papers"]),
        ModelCall(step=1, input_tokens=812, output_tokens=41, latency_s=0.5),
        Thought(step=1, text="I should search PubMed for imatinib's target."),
        ToolCalled(step=1, call_id="c1", tool="search_papers", args={"query": "imatinib CML target"}),
        EvidenceAdded(
            ref=1,
            evidence_id=FIXED_PAPER.content_hash,
            source_kind="pubmed",
            title=FIXED_PAPER.title,
            locator=FIXED_PAPER.locator,
        ),
        ToolResult(step=1, call_id="c1", tool="search_papers", output=FIXED_TOOL_OUTPUT, duration_s=0.25),
        ToolCalled(step=1, call_id="c2", tool="broken_lookup", args={"query": "imatinib"}),
        ToolResult(
            step=1,
            call_id="c2",
            tool="broken_lookup",
            output="the database is unreachable",
            is_error=True,
            duration_s=0.01,
        ),
        ModelCall(step=2, input_tokens=1020, output_tokens=37, latency_s=0.4),
        Thought(step=2, text="The abstract names the target."),
        UncertaintyRound(
            round=1,
            samples=["BCR-ABL", "BCR-ABL", "KIT"],
            distribution={"BCR-ABL": 0.67, "KIT": 0.33},
            entropy=0.92,
            majority_share=0.67,
            searched=["imatinib KIT inhibition"],
        ),
        CritiqueFinding(round=1, problems=["The answer omits that imatinib also inhibits KIT."]),
        Revision(round=1, text="Imatinib inhibits BCR-ABL [1] and also KIT."),
        AnswerReady(
            text="Imatinib inhibits the **BCR-ABL** tyrosine kinase [1].",
            citations=[fixed_citation().model_dump()],
            confidence=0.8,
        ),
        RunFinished(status="completed", steps=2, tool_calls=2, input_tokens=1832, output_tokens=78, elapsed_s=3.4),
    ]


def fixed_citation() -> Citation:
    return Citation(
        ref=1,
        title=FIXED_PAPER.title,
        locator=FIXED_PAPER.locator,
        source_kind="pubmed",
        evidence_id=FIXED_PAPER.content_hash,
    )


class FixedAgent:
    """Replays ``fixed_events`` for any question: same rendering every time, unlike a live run's timings."""

    model_label = "scripted"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings(offline=True)

    def warm(self, on_stage: Any = None, on_prompt: Any = None) -> bool:
        return False

    def run(
        self,
        question: str,
        *,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
        mode: Mode | None = None,
    ) -> Answer:
        events = fixed_events()
        for event in events:
            event.run_id = "fixedrun0001"
            if on_event is not None:
                on_event(event)
        answer_event = events[-2]
        assert isinstance(answer_event, AnswerReady)
        return Answer(
            question=question,
            text=answer_event.text,
            citations=[fixed_citation()],
            confidence=0.8,
            status="completed",
            mode=mode or "full",
            model=self.model_label,
            run_id="fixedrun0001",
            usage=Usage(steps=2, model_calls=2, tool_calls=2, input_tokens=1832, output_tokens=78, elapsed_s=3.4),
            events=events,
            evidence=[FIXED_PAPER],
        )


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app process messages until ``condition`` holds. The timeout is generous on purpose: a
    passing test returns as soon as the condition holds, and a loaded CI machine must not fail it."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.01)
