"""A run's events as an iterator: the run works in a thread and hands each event over as it happens.

``Agent.stream`` and ``Agent.astream`` are the same run as ``Agent.run``; only the delivery differs. A
run reports events through a callback, so here a worker thread runs it and a queue carries the events
to the caller, for a plain iterator or an async one, and the run's error re-raises at the caller once
the events before it are out.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from txscout.core.events import Event

Answering = Callable[[Callable[[Event], None]], object]
"""A run to stream, given the callback its events go to."""


def thread_events(answer: Answering) -> Iterator[Event]:
    """The events of ``answer`` run in a worker thread; its error re-raises after the last event."""
    events: queue.Queue[Event | None] = queue.Queue()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            answer(events.put)
        except BaseException as exc:
            failure.append(exc)
        finally:
            events.put(None)

    worker = threading.Thread(target=work, name="txscout-run", daemon=True)
    worker.start()
    while (event := events.get()) is not None:
        yield event
    worker.join()
    if failure:
        raise failure[0]


async def task_events(answer: Answering) -> AsyncIterator[Event]:
    """The events of ``answer`` run in a thread of the event loop's executor; its error re-raises after
    the last event."""
    events: asyncio.Queue[Event | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def put(event: Event) -> None:
        loop.call_soon_threadsafe(events.put_nowait, event)

    task = asyncio.ensure_future(asyncio.to_thread(answer, put))
    task.add_done_callback(lambda _t: loop.call_soon_threadsafe(events.put_nowait, None))
    while (event := await events.get()) is not None:
        yield event
    await task
