"""The run's events: the one door each goes through, to the run's record and to the caller's sink.

A structure flagged by the safety gate means the answer will be the refusal, so from then on model text
is withheld; the first flag also withdraws the text already emitted. That bookkeeping is kept here, apart
from the services that emit (``agent.run``), so every event passes the same check in the same order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from txscout.core.events import DraftWithdrawn, Event, SafetyFlagged, carries_model_text


class EventLog:
    """The events of one run (``events``), the safety flags among them (``safety``), and the sink."""

    def __init__(self, run_id: str, sink: Callable[[Event], None]) -> None:
        self.run_id = run_id
        self.events: list[Event] = []
        self.safety: list[SafetyFlagged] = []
        self._sink = sink
        self._emitting = threading.RLock()

    def emit(self, event: Event) -> None:
        """Record ``event`` and pass it to the sink.

        Once a structure is flagged the answer will be the refusal, so model text is withheld from
        then on; the first flag also withdraws the text already emitted: it is struck from ``events``
        and a ``DraftWithdrawn`` after the flag tells every sink to drop it. Events reach the sink one
        at a time, in the order they are recorded, so no text can slip out after the withdrawal.
        """
        event.run_id = self.run_id
        with self._emitting:
            if self.safety and carries_model_text(event):
                return
            withdraw = (
                isinstance(event, SafetyFlagged) and not self.safety and any(map(carries_model_text, self.events))
            )
            if withdraw:
                self.events = [e for e in self.events if not carries_model_text(e)]
            if isinstance(event, SafetyFlagged):
                self.safety.append(event)
            self.events.append(event)
            self._sink(event)
            if withdraw:
                self.emit(DraftWithdrawn())
