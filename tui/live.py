"""Folds a run's events into its session entry as they arrive, so the session is right even if the run dies.

The evidence panel fills from ``EvidenceAdded`` while the run is going. Those events carry no text, so
until the answer arrives (``Answer.evidence`` holds the stored texts) a source shows the observation of
the tool call that produced it; a failed run keeps that observation as the best text there is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from txscout.agent.citations import Citation
from txscout.agent.result import Usage
from txscout.core.events import (
    AnswerReady,
    ErrorRaised,
    Event,
    EvidenceAdded,
    ModelCall,
    RunFinished,
    RunStarted,
    ToolCalled,
    ToolResult,
)
from txscout.tui.sessions import EvidenceRecord, SessionEntry

if TYPE_CHECKING:
    from txscout.agent.result import Answer


class LiveRun:
    def __init__(self, entry: SessionEntry) -> None:
        self.entry = entry
        self._open_calls: list[str] = []
        self._refs_by_call: dict[str, list[int]] = {}
        self._last_error = ""

    def apply(self, event: Event) -> EvidenceRecord | None:
        """Record one event; returns the new source when the event added one."""
        entry = self.entry
        if isinstance(event, RunStarted):
            entry.run_id = event.run_id
        elif isinstance(event, ModelCall):
            entry.usage.input_tokens += event.input_tokens
            entry.usage.output_tokens += event.output_tokens
        elif isinstance(event, ToolCalled):
            self._open_calls.append(event.call_id)
        elif isinstance(event, EvidenceAdded):
            record = EvidenceRecord(
                ref=event.ref,
                evidence_id=event.evidence_id,
                source_kind=event.source_kind,
                title=event.title,
                locator=event.locator,
                page=event.page,
            )
            entry.evidence.append(record)
            if self._open_calls:
                self._refs_by_call.setdefault(self._open_calls[-1], []).append(record.ref)
            return record
        elif isinstance(event, ToolResult):
            if event.call_id in self._open_calls:
                self._open_calls.remove(event.call_id)
            for ref in self._refs_by_call.pop(event.call_id, []):
                record = self.record(ref)
                if record is not None and not record.text:
                    record.text = event.output
        elif isinstance(event, AnswerReady):
            entry.answer = event.text
            entry.citations = [Citation.model_validate(c) for c in event.citations]
            entry.confidence = event.confidence
            entry.reason = event.reason
            self._mark_cited()
        elif isinstance(event, ErrorRaised):
            self._last_error = event.message
        elif isinstance(event, RunFinished):
            entry.status = event.status
            entry.usage = Usage(
                steps=event.steps,
                tool_calls=event.tool_calls,
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                elapsed_s=event.elapsed_s,
            )
            if event.status == "failed" and not entry.error:
                entry.error = self._last_error or "the run failed"
        return None

    def record(self, ref: int) -> EvidenceRecord | None:
        return next((r for r in self.entry.evidence if r.ref == ref), None)

    def finish(self, answer: Answer) -> None:
        """Take the final word from the answer: stored evidence texts, PMIDs and URLs, citations."""
        entry = self.entry
        entry.answer = answer.text
        entry.citations = list(answer.citations)
        entry.confidence = answer.confidence
        entry.reason = answer.reason
        entry.status = answer.status
        entry.run_id = answer.run_id
        entry.usage = answer.usage.model_copy()
        stored = {item.content_hash: item for item in answer.evidence}
        for record in entry.evidence:
            item = stored.get(record.evidence_id)
            if item is None:
                continue
            record.text = item.text
            record.pmid, record.doi, record.url, record.year = item.pmid, item.doi, item.url, item.year
            record.title = record.title or item.title
        self._mark_cited()

    def fail(self, message: str) -> None:
        self.entry.status = "failed"
        self.entry.error = message

    def _mark_cited(self) -> None:
        cited = {c.ref for c in self.entry.citations}
        for record in self.entry.evidence:
            record.cited = record.ref in cited
