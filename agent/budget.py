"""The run's stop signals: the cancel flag and the time and token limits, with the shares of them kept
back for the phases that must still run (the answer step, sampling, critique).

A budget that runs out raises ``LimitReached``; :func:`limited` turns that into the end of a block rather
than of the run, so the phase after it still answers.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from txscout.core.errors import Cancelled, LimitReached
from txscout.core.events import ErrorRaised, Event

if TYPE_CHECKING:
    from txscout.core.settings import Settings


class Budget:
    """One run's clock, limits and reserved shares; ``check`` before every model or tool call."""

    def __init__(self, settings: Settings, cancel: threading.Event) -> None:
        self.settings = settings
        self.cancel = cancel
        self.started = time.monotonic()
        self.reserved = 0.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def check(self, tokens_used: int) -> None:
        """Stop signals checked before every model or tool call. Inside :meth:`reserving` blocks the time
        and token limits are lowered by the shares those blocks keep back for the phases after them."""
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")
        usable = 1.0 - self.reserved
        kept = f" ({self.reserved:.0%} of it is kept for answering)" if self.reserved else ""
        seconds, tokens = self.settings.time_limit_s, self.settings.token_limit
        if self.elapsed > seconds * usable:
            raise LimitReached(f"time limit of {seconds:g} s reached{kept}")
        if tokens_used >= tokens * usable:
            raise LimitReached(f"token limit of {tokens} reached{kept}")

    @contextlib.contextmanager
    def reserving(self, share: float) -> Iterator[None]:
        """Keep ``share`` of the run's time and tokens back for what follows the block (the answer step,
        sampling and critique): inside it, the limits :meth:`check` applies are lowered by that share.
        Blocks nest, and their shares add up."""
        self.reserved += share
        try:
            yield
        finally:
            self.reserved -= share


@dataclass
class LimitGuard:
    """What :func:`limited` saw: the budget that ran out inside its block, if one did."""

    limit: LimitReached | None = None

    @property
    def reason(self) -> str:
        return str(self.limit) if self.limit else ""


@contextlib.contextmanager
def limited(emit: Callable[[Event], None], stopped: str | None = None) -> Iterator[LimitGuard]:
    """Run a phase, or a step of one, until a budget runs out: ``LimitReached`` ends the block, not
    the run, and the guard says why. With ``stopped`` ("critique stopped") the stop is also
    reported as an error event, for phases whose early end the reader could not otherwise see."""
    guard = LimitGuard()
    try:
        yield guard
    except LimitReached as limit:
        guard.limit = limit
        if stopped:
            emit(ErrorRaised(kind="limit", message=f"{stopped}: {limit}"))
