"""Streaming: replies reach the run's events, the CLI renderer, traces and the TUI as they are written."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field
from rich.console import Console

from tests.tui_fakes import until
from txscout.agent.api import Agent
from txscout.agent.backends.models import load_model
from txscout.agent.render import ConsoleRenderer
from txscout.core.events import ModelCall, TextDelta, Thought, TraceWriter, read_trace, validate_sequence
from txscout.core.settings import load_settings
from txscout.tools.chemistry import chemistry_tools
from txscout.tui.app import TxscoutApp
from txscout.tui.sessions import SessionStore
from txscout.tui.widgets.timeline import ReplyEntry

SETTINGS = load_settings(offline=True)
QUESTION = "What is the molecular formula of aspirin?"
REPLY = "Thought: The observation gives the formula.\nFinal Answer: C9H8O4 [1]"


def streaming(*replies: str) -> GenericFakeChatModel:
    """langchain-core's fake model that streams each reply in word-sized chunks."""
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


def grounded_agent(model: BaseChatModel) -> Agent:
    return Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", protocol="text", store=False)


def test_a_reply_streams_as_deltas_that_add_up_to_it() -> None:
    answer = grounded_agent(streaming(REPLY)).run(QUESTION)
    deltas = [e for e in answer.events if isinstance(e, TextDelta)]
    [call] = [e for e in answer.events if isinstance(e, ModelCall)]
    assert len(deltas) > 5 and "".join(d.text for d in deltas) == REPLY
    assert {(d.call, d.step, d.purpose) for d in deltas} == {(call.call, 1, "react")}
    assert answer.events.index(deltas[-1]) < answer.events.index(call)
    assert answer.text == "C9H8O4 [1]" and answer.status == "completed"


def test_the_trace_merges_deltas_and_replays_as_the_run_looked(tmp_path: Path) -> None:
    live = io.StringIO()
    renderer = ConsoleRenderer(Console(file=live, width=100))
    writer = TraceWriter(tmp_path / "run.jsonl")
    answer = grounded_agent(streaming(REPLY)).run(QUESTION, on_event=lambda e: (renderer(e), writer(e)))
    writer.close()

    events = list(read_trace(tmp_path / "run.jsonl"))
    merged = [e for e in events if isinstance(e, TextDelta)]
    assert len(merged) < len([e for e in answer.events if isinstance(e, TextDelta)])
    assert "".join(d.text for d in merged) == REPLY
    assert validate_sequence(events) == []
    replayed = io.StringIO()
    replay = ConsoleRenderer(Console(file=replayed, width=100))
    for event in events:
        replay(event)
    assert replayed.getvalue() == live.getvalue()
    shown = live.getvalue()
    assert "Final Answer: C9H8O4 [1]" in shown
    assert shown.count("The observation gives the formula.") == 1  # streamed, not repeated as a thought
    assert any(isinstance(e, Thought) for e in events)


def test_trace_writer_keeps_calls_apart_and_flushes_on_close(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    writer = TraceWriter(path)
    for call, text in [(1, "a"), (1, "b"), (2, "x"), (1, "c")]:
        writer(TextDelta(run_id="r", step=1, call=call, text=text))
    writer(ModelCall(run_id="r", step=1, call=1, output_tokens=3))
    writer(TextDelta(run_id="r", step=2, call=3, text="tail"))
    assert [e.type for e in read_trace(path)][-1] == "model_call"  # the open delta waits for more text
    writer.close()
    events = list(read_trace(path))
    assert [(e.call, e.text, e.tokens) for e in events if isinstance(e, TextDelta)] == [
        (1, "ab", 2),
        (2, "x", 1),
        (1, "c", 1),
        (3, "tail", 1),
    ]


def test_embedded_model_streams_the_reply_and_usage_it_would_have_returned() -> None:
    model = load_model("local:smollm2", SETTINGS)
    messages = [HumanMessage("Name three noble gases.")]
    whole = model.invoke(messages, max_tokens=40)
    chunks = list(model.stream(messages, max_tokens=40))
    assert len([c for c in chunks if c.content]) > 3
    assert "".join(c.content for c in chunks) == whole.content
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.usage_metadata == whole.usage_metadata


def test_endpoint_replies_stream(llama_server: Any) -> None:
    agent = Agent(
        model="openai:smollm2",
        base_url=f"{llama_server.origin}/v1",
        tools=[],
        mode="bare",
        store=False,
        offline=True,
        max_reply_tokens=40,
    )
    answer = agent.run("Name three noble gases.")
    deltas = [e for e in answer.events if isinstance(e, TextDelta)]
    [call] = [e for e in answer.events if isinstance(e, ModelCall)]
    assert len(deltas) > 3 and {d.call for d in deltas} == {call.call}
    assert answer.text.strip() and answer.text.strip() in "".join(d.text for d in deltas)


class GatedStreamingModel(BaseChatModel):
    """Streams its reply a word at a time and, after ``hold_after`` words, waits for ``gate``: a test
    sees a reply provably in the middle of being written."""

    reply: str
    hold_after: int
    gate: threading.Event = Field(default_factory=threading.Event)

    @property
    def _llm_type(self) -> str:
        return "gated-streaming-test-model"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        for i, word in enumerate(self.reply.split(" ")):
            if i == self.hold_after:
                self.gate.wait(30)
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))


async def test_tui_reply_row_grows_token_counter_moves_and_escape_stops_it(tmp_path: Path) -> None:
    words = "Thought: writing a long reply " + " ".join(f"word{i}" for i in range(40))
    models = [GatedStreamingModel(reply=words, hold_after=6), streaming("Thought: easy.\nFinal Answer: 4")]
    app = TxscoutApp(
        agent_factory=lambda: Agent(model=models.pop(0), tools=[], mode="bare", store=False),
        store=SessionStore(tmp_path / "sessions"),
    )
    gated = models[0]
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.agent_ready)
        app.question_input.value = "Write something long."
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.timeline.query(ReplyEntry)))
        await until(pilot, lambda: app.status.output_tokens == 6)
        [row] = app.timeline.query(ReplyEntry)
        assert row.text == "Thought: writing a long reply word0"
        assert app.running

        await pilot.press("escape")
        gated.gate.set()
        await until(pilot, lambda: not app.running)
        entry = app.session.entries[-1]
        assert entry.status == "cancelled" and app.status.state == "ready"
        assert row.text.startswith("Thought: writing a long reply word0") and "word39" not in row.text

        app.agent = Agent(model=models.pop(0), tools=[], mode="bare", store=False)
        app.question_input.value = "What is 2 + 2?"
        await pilot.press("enter")
        await until(pilot, lambda: len(app.session.entries) == 2 and not app.running)
        assert app.session.entries[-1].status == "completed" and app.session.entries[-1].answer == "4"
