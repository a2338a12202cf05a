"""The process-wide rate limiter, checked with a fake clock so no test waits for real time."""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import pytest

import txscout.tools.literature.ratelimit as ratelimit
from txscout.tools.literature.pubmed import PubMed
from txscout.tools.literature.ratelimit import RateLimiter, ncbi_rate, shared_limiter


class FakeClock:
    """Time stands still unless a sleeper advances it; every sleep is recorded as a start slot."""

    def __init__(self) -> None:
        self.now = 100.0
        self.starts: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.starts.append(self.now + seconds)


def max_in_any_window(starts: list[float], window: float = 1.0) -> int:
    ordered = sorted(starts)
    return max(sum(1 for t in ordered if s <= t < s + window - 1e-9) for s in ordered)


@pytest.mark.parametrize("rate", [3.0, 10.0])
def test_concurrent_threads_never_exceed_the_rate(rate: float) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    barrier = threading.Barrier(40)

    def worker() -> None:
        barrier.wait()
        delay = limiter.acquire()
        if delay == 0:
            clock.sleep(0)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts = sorted(clock.starts)
    assert len(starts) == 40
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / rate - 1e-9
    assert max_in_any_window(starts) == int(rate)
    assert starts[-1] - starts[0] == pytest.approx(39 / rate)


def test_async_and_thread_callers_share_one_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)

    async def fake_sleep(seconds: float) -> None:
        clock.sleep(seconds)

    monkeypatch.setattr(ratelimit.asyncio, "sleep", fake_sleep)

    async def coroutines() -> list[float]:
        return await asyncio.gather(*(limiter.acquire_async() for _ in range(5)))

    thread_slots: list[float] = []
    threads = [threading.Thread(target=lambda: thread_slots.append(clock.now + limiter.acquire())) for _ in range(5)]
    for t in threads:
        t.start()
    async_slots = [clock.now + d for d in asyncio.run(coroutines())]
    for t in threads:
        t.join()
    slots = sorted(thread_slots + async_slots)
    assert len(slots) == 10
    assert len(set(round(s, 6) for s in slots)) == 10
    assert max_in_any_window(slots) == 3


def test_time_passing_frees_slots() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock, sleep=clock.sleep)
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(0.1)
    clock.now += 5.0
    assert limiter.acquire() == 0  # idle time is not banked into a burst


def test_ncbi_limits_and_one_shared_limiter_per_process(tmp_path: Path) -> None:
    assert ncbi_rate(None) == 3.0 and ncbi_rate("key") == 10.0
    a = shared_limiter("test-service", 3.0)
    assert shared_limiter("test-service", 3.0) is a
    keyed = PubMed("http://127.0.0.1:9", email="x@y", api_key="k", cache_dir=tmp_path)
    anonymous = PubMed("http://127.0.0.1:9", email="x@y", cache_dir=tmp_path)
    assert keyed.limiter is anonymous.limiter is shared_limiter("ncbi", 3.0)
    assert anonymous.limiter.rate == 3.0  # the last client's key decides; both now share it


def test_rejects_nonsense_rates() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
