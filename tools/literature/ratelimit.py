"""One rate limiter per remote service, shared by every thread and coroutine in the process.

NCBI counts requests per API key (or per IP) across the whole process, so a limiter per client or per
tool call would let two concurrent tool calls exceed the limit together. Callers reserve a start slot
under a lock and then wait outside it, so a waiting thread never blocks the others from reserving.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

NCBI_RATE_WITHOUT_KEY = 3.0
NCBI_RATE_WITH_KEY = 10.0


class RateLimiter:
    """Spaces request starts at least ``1 / rate`` seconds apart.

    Spacing rather than a bursty token bucket: NCBI measures requests per second over short windows,
    and evenly spaced starts can never trip it. ``clock`` and ``sleep`` are injectable so tests can
    check the schedule without waiting.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free = float("-inf")

    @property
    def rate(self) -> float:
        return 1.0 / self._interval

    def set_rate(self, rate: float) -> None:
        """Adopt a new rate (an API key appeared or went away); slots already handed out stand."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self._interval = 1.0 / rate

    def reserve(self) -> float:
        """Claim the next start slot and return how long the caller must wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_free)
            self._next_free = slot + self._interval
            return slot - now

    def acquire(self) -> float:
        """Block until this caller may start a request; returns the time waited."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay

    async def acquire_async(self) -> float:
        """The same reservation as :meth:`acquire`, awaited so the event loop keeps running."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        return delay


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def shared_limiter(service: str, rate: float) -> RateLimiter:
    """The process-wide limiter for ``service``, created on first use and re-rated on later calls."""
    with _registry_lock:
        limiter = _registry.get(service)
        if limiter is None:
            limiter = _registry[service] = RateLimiter(rate)
        elif limiter.rate != rate:
            limiter.set_rate(rate)
        return limiter


def ncbi_rate(api_key: str | None) -> float:
    """NCBI's published limits: 3 requests/s per IP, 10 with an API key."""
    return NCBI_RATE_WITH_KEY if api_key else NCBI_RATE_WITHOUT_KEY
