"""The library entry point: ``Agent(model=..., tools=...).run(question) -> Answer``.

The same run drives the CLI, the TUI and the benchmarks; they differ only in what they do with the
event stream.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from txscout.agent import protocol
from txscout.agent.citations import Citation
from txscout.agent.loop import Draft, ReactPhase, Run
from txscout.core.errors import Cancelled, FormatError, UserError
from txscout.core.events import AnswerReady, ErrorRaised, Event, RunFinished, RunStarted
from txscout.core.evidence import Evidence
from txscout.core.settings import Mode, Settings, load_settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.memory.store import EvidenceStore

Protocol = Literal["auto", "native", "text"]


class Choices(BaseModel):
    """A closed answer set: the option letters of a multiple-choice question, or labels such as
    yes/no/maybe; ``several`` when the question allows more than one of them."""

    model_config = ConfigDict(frozen=True)

    answers: list[str] = Field(min_length=1)
    several: bool = False


class Usage(BaseModel):
    steps: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    elapsed_s: float = 0.0


class Answer(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float | None = None
    entropies: list[float] = Field(default_factory=list)
    incomplete: bool = False
    reason: str = ""
    status: str = "completed"
    mode: str = "react"
    model: str = ""
    run_id: str = ""
    usage: Usage = Field(default_factory=Usage)
    events: list[Event] = Field(default_factory=list, repr=False)
    evidence: list[Evidence] = Field(default_factory=list, repr=False)


def model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


class Agent:
    """A configured research agent; cheap to call repeatedly, the model loads once.

    ``model`` is a spec (``local``, ``openai:MODEL``, ...) or any LangChain chat model; ``tools``
    defaults to ``tools.default_tools()``. Retrieved literature is kept in ``store``: the configured
    evidence store when omitted, none with ``store=False``. Other keyword arguments override settings
    (``max_steps=3``, ``offline=True``, ...).
    """

    def __init__(
        self,
        model: str | BaseChatModel | None = None,
        tools: Sequence[BaseTool] | None = None,
        *,
        mode: Mode | None = None,
        settings: Settings | None = None,
        protocol: Protocol = "auto",
        store: EvidenceStore | Literal[False] | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings or load_settings(mode=mode, **overrides)
        if settings is not None and (mode or overrides):
            self.settings = settings.model_copy(update={"mode": mode or settings.mode, **overrides})
        if isinstance(model, str) or model is None:
            from txscout.agent.models import describe, load_model

            spec = model or self.settings.model
            self.model = load_model(spec, self.settings)
            self.model_label = describe(spec)
        else:
            self.model = model
            self.model_label = model_name(model)
        if tools is None:
            from txscout.agent.toolbox import default_tools

            tools = default_tools(self.settings)
        self.tools = list(tools)
        self.protocol = protocol
        if store is None:
            from txscout.memory.store import EvidenceStore

            store = EvidenceStore(self.settings)
        self.store = store or None
        self._native = self._bind_native()

    def _bind_native(self) -> Runnable[Any, Any] | None:
        if self.protocol == "text" or not self.tools:
            return None
        try:
            return self.model.bind_tools(self.tools)
        except NotImplementedError:
            if self.protocol == "native":
                raise UserError(f"model {self.model_label} does not support native tool calling") from None
            return None

    def _persist(self) -> Callable[[Evidence], None] | None:
        """Retrieved literature outlives the run in the evidence store (computed tool output does not)."""
        if self.store is None:
            return None
        store = self.store
        return lambda item: store.add([item])

    def run(
        self,
        question: str,
        *,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
        mode: Mode | None = None,
        choices: Choices | None = None,
    ) -> Answer:
        """Answer one question; events go to ``on_event`` as they happen and are kept on the answer.

        ``choices`` closes the answer set (option letters, yes/no/maybe): an embedded model answering
        ``bare`` may then only answer from it.
        """
        question = question.strip()
        if not question:
            raise UserError("the question is empty")
        mode = mode or self.settings.mode
        tools = [] if mode == "bare" else self.tools
        run = Run(
            model=self.model,
            tools=tools,
            settings=self.settings,
            emit=on_event or (lambda _e: None),
            cancel=cancel,
            store_evidence=self._persist(),
        )
        run.emit(RunStarted(question=question, model=self.model_label, mode=mode, tools=list(run.tools)))
        confidence: float | None = None
        entropies: list[float] = []
        status = "completed"
        try:
            if mode == "bare":
                draft = self._bare(run, question, choices)
            else:
                draft = self._react(run, question)
                if mode == "full" and not draft.incomplete:
                    from txscout.agent.critique import critique_and_revise
                    from txscout.agent.uncertainty import resolve_uncertainty

                    outcome = resolve_uncertainty(run, question, draft.text)
                    confidence, entropies = outcome.confidence, outcome.entropies
                    draft = Draft(critique_and_revise(run, question, outcome.answer))
        except Cancelled as exc:
            draft = Draft("", incomplete=True, reason=str(exc))
            status = "cancelled"
        except UserError as exc:
            run.emit(ErrorRaised(kind="model", message=str(exc)))
            self._finish(run, "failed")
            raise
        if run.safety:
            from txscout.agent.safety import guarded_answer

            draft = Draft(guarded_answer(run.safety), draft.incomplete, draft.reason)
        text, citations = run.ledger.resolve(draft.text)
        if status != "cancelled":
            status = "incomplete" if draft.incomplete else "completed"
            run.emit(
                AnswerReady(
                    text=text,
                    citations=[c.model_dump() for c in citations],
                    confidence=confidence,
                    incomplete=draft.incomplete,
                    reason=draft.reason,
                )
            )
        self._finish(run, status)
        return Answer(
            question=question,
            text=text,
            citations=citations,
            confidence=confidence,
            entropies=entropies,
            incomplete=draft.incomplete,
            reason=draft.reason,
            status=status,
            mode=mode,
            model=self.model_label,
            run_id=run.run_id,
            usage=Usage(
                steps=run.steps,
                model_calls=run.model_calls,
                tool_calls=run.tool_calls,
                input_tokens=run.input_tokens,
                output_tokens=run.output_tokens,
                elapsed_s=run.elapsed,
            ),
            events=list(run.events),
            evidence=list(run.ledger.items),
        )

    @staticmethod
    def _finish(run: Run, status: Literal["completed", "incomplete", "cancelled", "failed"]) -> None:
        run.emit(
            RunFinished(
                status=status,
                steps=run.steps,
                tool_calls=run.tool_calls,
                input_tokens=run.input_tokens,
                output_tokens=run.output_tokens,
                elapsed_s=run.elapsed,
            )
        )

    def _bare(self, run: Run, question: str, choices: Choices | None) -> Draft:
        """One model call, no tools: the ablation baseline."""
        local = self.model._llm_type == "txscout-llama-cpp"
        system = protocol.text_system_prompt([]) if local else protocol.SYSTEM_CORE
        kwargs: dict[str, Any] = {}
        if local:
            kwargs["grammar"] = (
                protocol.closed_answer_grammar(choices.answers, choices.several)
                if choices
                else protocol.grammar_for([], allow_actions=False)
            )
        reply = run.call_model(
            [SystemMessage(system), HumanMessage(f"Question: {question}")], purpose="bare", step=1, **kwargs
        )
        run.steps = 1
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        try:
            parsed = protocol.parse_reply(text)
            if isinstance(parsed, protocol.Final):
                return Draft(parsed.answer)
        except FormatError:
            pass
        return Draft(text.strip())

    def _react(self, run: Run, question: str) -> Draft:
        from txscout.agent.grounding import ground

        phase = ReactPhase(run, native=self._native)
        phase.start(question)
        ground(run, question, phase)
        return phase.execute()

    def stream(
        self,
        question: str,
        *,
        cancel: threading.Event | None = None,
        mode: Mode | None = None,
        choices: Choices | None = None,
    ) -> Iterator[Event]:
        """Events as they happen; the run executes in a worker thread. Errors re-raise here."""
        events: queue.Queue[Event | None] = queue.Queue()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.run(question, on_event=events.put, cancel=cancel, mode=mode, choices=choices)
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

    async def arun(self, question: str, **kwargs: Any) -> Answer:
        return await asyncio.to_thread(self.run, question, **kwargs)

    async def astream(self, question: str, **kwargs: Any) -> AsyncIterator[Event]:
        events: asyncio.Queue[Event | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def put(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        task = asyncio.ensure_future(asyncio.to_thread(self.run, question, on_event=put, **kwargs))
        task.add_done_callback(lambda _t: loop.call_soon_threadsafe(events.put_nowait, None))
        while (event := await events.get()) is not None:
            yield event
        await task
