"""Cancel means stop: a cancelled run stops its model mid-generation, says so, and leaves things usable.

The embedded model is the real one (SmolLM2), asked for a long essay so that the cancel provably lands
in the middle of a generation that would otherwise run for minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from langchain_core.messages import HumanMessage

from txscout.agent.api import Agent
from txscout.agent.backends.local_model import GENERATION_LOCK, LocalChatModel
from txscout.agent.backends.models import local_model_path
from txscout.agent.run import Run
from txscout.core.errors import Cancelled
from txscout.core.events import Event, ModelCall, TextDelta, TraceWriter, read_trace, validate_sequence
from txscout.core.settings import load_settings

SETTINGS = load_settings(offline=True)
ESSAY = "Write a very long essay, at least three thousand words, on the history of chemistry."
STOP_WITHIN_S = 1.5  # the target is 1 s; the margin is for a loaded machine, not for the code


def long_model() -> LocalChatModel:
    """The embedded model allowed to write for thousands of tokens (minutes on this machine)."""
    model = LocalChatModel(model_path=str(local_model_path("smollm2")), model_name="local:smollm2", max_tokens=4000)
    model.llama()
    return model


def in_background(run: Run, prompt: str) -> tuple[threading.Thread, list[BaseException]]:
    """One model call on a worker thread; what it raises is kept for the test to inspect."""
    raised: list[BaseException] = []

    def generate() -> None:
        try:
            run.call_model([HumanMessage(prompt)], purpose="react", step=1)
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=generate)
    worker.start()
    return worker, raised


def cancel_and_time(cancel: threading.Event, worker: threading.Thread) -> float:
    """Seconds from setting the cancel to the worker's end."""
    cancelled_at = time.monotonic()
    cancel.set()
    worker.join(30)
    return time.monotonic() - cancelled_at


def test_cancel_stops_a_long_embedded_generation_within_a_second() -> None:
    events: list[Event] = []
    writing = threading.Event()
    cancel = threading.Event()

    def emit(event: Event) -> None:
        events.append(event)
        if sum(isinstance(e, TextDelta) for e in events) >= 20:
            writing.set()

    run = Run(model=long_model(), tools=[], settings=SETTINGS, emit=emit, cancel=cancel)
    worker, raised = in_background(run, ESSAY)
    assert writing.wait(300), "the model never started writing"
    stopped_after = cancel_and_time(cancel, worker)

    assert not worker.is_alive() and len(raised) == 1 and isinstance(raised[0], Cancelled)
    assert stopped_after < STOP_WITHIN_S, f"generation went on for {stopped_after:.2f} s after the cancel"
    [call] = [e for e in events if isinstance(e, ModelCall)]
    written = sum(isinstance(e, TextDelta) for e in events)
    assert 20 <= call.output_tokens < 200 and written < 200  # stopped long before max_tokens
    assert not GENERATION_LOCK.locked()


def test_cancel_stops_the_embedded_model_while_it_reads_a_long_prompt() -> None:
    """No token comes back while a long prompt is read (seconds on a small CPU): the cancel must reach
    llama.cpp itself, and the model must answer normally afterwards."""
    events: list[Event] = []
    cancel = threading.Event()
    run = Run(model=long_model(), tools=[], settings=SETTINGS, emit=events.append, cancel=cancel)
    prompt = f"Summarise this text ({time.time_ns()}). " + "Chemistry grew out of alchemy and metallurgy. " * 250
    worker, raised = in_background(run, prompt)
    time.sleep(0.5)
    assert worker.is_alive() and not any(isinstance(e, TextDelta) for e in events)  # still reading
    stopped_after = cancel_and_time(cancel, worker)

    assert len(raised) == 1 and isinstance(raised[0], Cancelled)
    assert stopped_after < STOP_WITHIN_S, f"the prompt was read for {stopped_after:.2f} s after the cancel"
    assert not any(isinstance(e, TextDelta) for e in events)
    reply = long_model().invoke([HumanMessage("What is the chemical symbol of gold?")], max_tokens=30)
    assert "Au" in reply.content


def test_cancelled_run_is_recorded_and_the_agent_answers_the_next_question(tmp_path: Path) -> None:
    agent = Agent(model=long_model(), tools=[], mode="bare", store=False, offline=True)
    cancel = threading.Event()
    writer = TraceWriter(tmp_path / "cancelled.jsonl")

    def on_event(event: Event) -> None:
        writer(event)
        if isinstance(event, TextDelta) and event.text and not cancel.is_set():
            threading.Timer(0.2, cancel.set).start()  # from another thread, as Esc or Ctrl+C would

    answer = agent.run(ESSAY, on_event=on_event, cancel=cancel)
    writer.close()
    assert answer.status == "cancelled" and answer.incomplete
    events = list(read_trace(tmp_path / "cancelled.jsonl"))
    assert events[-1].type == "run_finished" and events[-1].status == "cancelled"
    assert validate_sequence(events) == []

    again = agent.run("What is the chemical symbol of gold?")
    assert again.status == "completed" and again.text.strip()


def test_ctrl_c_in_ask_cancels_the_run_and_exits_130(tmp_path: Path) -> None:
    trace = tmp_path / "ask.jsonl"
    txscout = Path(sys.executable).with_name("txscout")
    proc = subprocess.Popen(
        [str(txscout), "ask", "--offline", "--mode", "bare", "--trace", str(trace), ESSAY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 300
    # The reply has been streaming for a while once the trace holds some of it (the steps on a pipe are
    # written when the run ends, so stdout says nothing yet).
    while not (trace.exists() and b'"text_delta"' in trace.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b'"text_delta"' in trace.read_bytes()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    finally:
        proc.kill()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 130, stderr
    assert "cancelling" in stderr and "Traceback" not in stderr
    events = list(read_trace(trace))
    assert events[-1].type == "run_finished" and events[-1].status == "cancelled"
