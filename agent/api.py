"""The library entry point: ``Agent(model=..., tools=...).run(question) -> Answer``.

The same run drives the CLI, the TUI and the benchmarks; they differ only in what they do with the
event stream.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from txscout.agent import protocol
from txscout.agent.answers import Choices
from txscout.agent.backends.capabilities import Backend
from txscout.agent.citations import Citation
from txscout.agent.plan.evidence_first import unsupported
from txscout.agent.plan.tool_choice import ToolChoice, ToolChooser
from txscout.agent.react import NO_ANSWER, Draft, ReactPhase
from txscout.agent.run import Run
from txscout.agent.safety import screen_question
from txscout.agent.steps import final_answer, strategy_for, system_prompt
from txscout.core.errors import Cancelled, UserError
from txscout.core.events import AnswerReady, ErrorRaised, Event, RunFinished, RunStarted
from txscout.core.evidence import Evidence, EvidencePlan
from txscout.core.secrets import mask_text
from txscout.core.settings import MODES, Mode, Settings, ToolProtocol, load_settings

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.memory.store import EvidenceStore


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
    note: str = ""
    """Set when the answer cites no source (:func:`sourcing_note`): the reader sees it is the model's own."""
    status: str = "completed"
    plan: EvidencePlan | None = None
    """What the run read before the model's first step (react and full): searches, scores, passages kept."""
    supported: bool | None = None
    """False when the sources searched did not answer the question and the text gives the model's own
    answer, marked as unsupported; None when no source was searched (bare mode, no store and offline)."""
    mode: str = "react"
    model: str = ""
    run_id: str = ""
    usage: Usage = Field(default_factory=Usage)
    events: list[Event] = Field(default_factory=list, repr=False)
    evidence: list[Evidence] = Field(default_factory=list, repr=False)


UNSOURCED_BARE = "unsourced: the model's own answer, no tools were used"
UNSOURCED = "unsourced: the answer cites none of the tool results"


def sourcing_note(citations: Sequence[Citation], tool_calls: int) -> str:
    """What an answer without citations is: a bare answer (or one where no tool ran) is the model's
    own, which nothing else on the answer would tell a reader; one after tool calls cited none of them."""
    if citations:
        return ""
    return UNSOURCED_BARE if tool_calls == 0 else UNSOURCED


SAMPLING_RESERVE = 0.25
CRITIQUE_RESERVE = 0.15
"""The shares of the run's time and tokens that full mode keeps for sampling and for critique: the ReAct
phase (answer step included) leaves both, sampling leaves critique's, so every full answer is sampled
and has a confidence, and is critiqued."""


def model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


@dataclass
class _Outcome:
    """What a mode ended with: its draft, and the confidence when it sampled."""

    draft: Draft
    confidence: float | None = None
    entropies: list[float] = field(default_factory=list)
    status: Literal["completed", "cancelled"] = "completed"


def _check_mode(mode: object) -> None:
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)} (or None for the configured one), not {mode!r}")


def _check_question(question: object, mode: object, choices: object) -> None:
    """The arguments of ``run`` and its variants, checked before any work, with the error a caller can
    act on (``run(None)`` would otherwise fail deep inside as an AttributeError, and a misspelt mode
    would silently run the default one)."""
    if not isinstance(question, str):
        raise TypeError(f"question must be a str, not {type(question).__name__}")
    _check_mode(mode)
    if choices is not None and not isinstance(choices, Choices):
        raise TypeError(
            "choices must be a txscout.Choices (e.g. Choices(answers=['A', 'B'])) or None, "
            f"not {type(choices).__name__}"
        )


class Agent:
    """A configured research agent; cheap to call repeatedly, the model loads once.

    ``model`` is a spec (``local``, ``openai:MODEL``, ...), any LangChain chat model, or a ``Backend``
    (a chat model with capabilities its class does not declare, see ``agent.backends.capabilities``); ``tools``
    defaults to ``tools.default_tools()``. Retrieved literature is kept in ``store``: the configured
    evidence store when omitted, none with ``store=False``. ``on_stage`` hears what building the agent
    is busy with (loading the model, the tools, opening the store): a first start can take minutes on a
    busy machine. Other keyword arguments override settings (``max_steps=3``, ``offline=True``, ...).
    """

    def __init__(
        self,
        model: str | BaseChatModel | Backend | None = None,
        tools: Sequence[BaseTool] | None = None,
        *,
        mode: Mode | None = None,
        settings: Settings | None = None,
        protocol: ToolProtocol | None = None,
        store: EvidenceStore | Literal[False] | None = None,
        on_stage: Callable[[str], None] | None = None,
        **overrides: Any,
    ) -> None:
        stage = on_stage or (lambda _stage: None)
        if model is not None and not isinstance(model, str | Backend | BaseChatModel):
            raise TypeError(
                f"model must be a spec such as 'local' or 'openai:gpt-4o-mini', a LangChain chat model or a "
                f"Backend, not {type(model).__name__}"
            )
        _check_mode(mode)
        self.settings = settings or load_settings(mode=mode, **overrides)
        if settings is not None and (mode or overrides):
            self.settings = settings.model_copy(update={"mode": mode or settings.mode, **overrides})
        if isinstance(model, str) or model is None:
            from txscout.agent.backends.models import describe, load_model

            spec = model or self.settings.model
            stage(f"loading the model {describe(spec)}")
            self.backend = Backend.of(load_model(spec, self.settings))
            self.model_label = describe(spec)
        else:
            self.backend = Backend.of(model)
            self.model_label = model_name(self.backend.model)
        self.model = self.backend.model
        # Problems found while building the agent (an MCP server left out), reported once by the next run.
        self._unreported: list[str] = []
        if tools is None:
            stage("loading the tools")
            from txscout.agent.toolbox import default_tools

            tools = default_tools(self.settings)
            if self.settings.mcp_config is not None:
                from txscout.agent.mcp_tools import McpServers

                servers = McpServers(self.settings.mcp_config, call_timeout_s=self.settings.tool_timeout_s)
                tools = [*tools, *servers.tools]
                self._unreported = list(servers.problems)
        self.tools = list(tools)
        self.protocol: ToolProtocol = protocol or self.settings.tool_protocol
        if store is None:
            stage("opening the evidence store")
            from txscout.memory.store import EvidenceStore

            store = EvidenceStore(self.settings)
        self.store = store or None
        self.chooser = ToolChooser()
        self._native = self._bind_native()

    def _bind_native(self) -> Runnable[Any, Any] | None:
        """Native tool calling, unless the text protocol is asked for or, on ``auto``, the backend takes a
        grammar: then every text-protocol reply is constrained to parse, which small models need. Each run
        binds the tools it offers (:meth:`_tool_calling`); this binding says whether the model can."""
        if self.protocol == "text" or not self.tools or (self.protocol == "auto" and self.backend.grammar):
            return None
        bound = self.backend.bind_tools(self.tools[: self.settings.max_offered_tools])
        if bound is None and self.protocol == "native":
            raise UserError(f"model {self.model_label} does not support native tool calling")
        return bound

    def warm(
        self,
        on_stage: Callable[[str], None] | None = None,
        on_prompt: Callable[[int, int], None] | None = None,
    ) -> bool:
        """Read the ReAct system prompt ahead of the first question, where the model keeps it
        (``prompt_state``: the embedded model, which also saves it for later processes), so the first
        question is answered as fast as the ones after it. ``on_stage`` hears that it starts;
        ``on_prompt(done, total)`` the progress through the prompt when it is read rather than restored.
        False when the model gains nothing from it; ``UserError`` when the prompt was read but its state
        could not be saved (the cache folder)."""
        usable, _ = self.chooser.usable(self.tools, offline=self.settings.offline)
        if not self.backend.capabilities.prompt_state or not usable or len(usable) > self.settings.max_offered_tools:
            return False  # more usable tools than the cap: each question gets its own list
        prompt = system_prompt(usable, native=self._native is not None)
        if on_stage is not None:
            on_stage("preparing the system prompt (restored when a saved state matches)")
        # what prompt_state promises
        problem = self.model.prepare(prompt, on_prompt=on_prompt)  # type: ignore[attr-defined]
        if problem:
            raise UserError(f"{problem}; set prompt_cache_dir to a writable folder, or prompt_cache = false")
        return True

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

        ``choices`` closes the answer set (option letters, yes/no/maybe); without it, options the
        question lists ("A. ...") are the set. Every phase reads it: a model that takes a grammar may
        then only answer from it, and uncertainty and critique compare answers by option.
        """
        _check_question(question, mode, choices)
        question = question.strip()
        if not question:
            raise UserError("the question is empty")
        mode = mode or self.settings.mode
        run = self._start(question, mode, on_event, cancel, choices)
        try:
            outcome = self._answer(run, question, mode)
        except Cancelled as exc:
            outcome = _Outcome(Draft("", incomplete=True, reason=str(exc)), status="cancelled")
        except UserError as exc:
            # The one way a run's error leaves: masked here with the configured secrets, since an
            # endpoint may echo the key back, and without the library exception that quoted it.
            exc.args = (mask_text(str(exc), self.settings),)
            run.emit(ErrorRaised(kind="model", message=str(exc)))
            self._finish(run, "failed")
            raise exc from None
        return self._conclude(run, question, mode, outcome)

    def _start(
        self,
        question: str,
        mode: Mode,
        on_event: Callable[[Event], None] | None,
        cancel: threading.Event | None,
        choices: Choices | None,
    ) -> Run:
        run = Run(
            model=self.backend,
            tools=[] if mode == "bare" else self.tools,
            settings=self.settings,
            emit=on_event or (lambda _e: None),
            cancel=cancel,
            store_evidence=self._persist(),
            choices=Choices.for_question(question, choices),
        )
        run.question = question
        choice = self._offer(run, question)
        calling = ("native" if self._native is not None else "text") if run.offered else ""
        run.emit(
            RunStarted(
                question=question,
                model=self.model_label,
                mode=mode,
                tools=choice.offered,
                tool_choice=choice.model_dump(),
                protocol=calling,
            )
        )
        while self._unreported:
            run.emit(ErrorRaised(kind="mcp", message=self._unreported.pop(0)))
        return run

    def _offer(self, run: Run, question: str) -> ToolChoice:
        """Narrow what the model is shown to the tools that can work and, past the cap, the most relevant
        (``agent.plan.tool_choice``); grounding's tools stay offered."""
        from txscout.agent.plan.grounding import plan

        def grounding() -> list[str]:
            return [tool for tool, _ in plan(run, question)]

        choice = self.chooser.choose(question, run.offered, run.settings, keep=grounding)
        run.offered = [run.tools[name] for name in choice.offered]
        return choice

    def _tool_calling(self, run: Run) -> Runnable[Any, Any] | None:
        """The model with the run's offered tools bound, when it calls tools natively."""
        if self._native is None or not run.offered:
            return None
        return self.backend.bind_tools(run.offered)

    def _answer(self, run: Run, question: str, mode: Mode) -> _Outcome:
        """The draft a mode produces; the question screen refuses before any model call."""
        if screen_question(question, run.emit):
            return _Outcome(Draft(""))  # the refusal replaces it in _conclude
        if mode == "bare":
            return _Outcome(self._bare(run, question))
        if mode != "full":
            return _Outcome(self._react(run, question))
        from txscout.agent.research.critique import critique_and_revise
        from txscout.agent.research.uncertainty import resolve_uncertainty

        with run.reserving(SAMPLING_RESERVE + CRITIQUE_RESERVE):
            draft = self._react(run, question)
        if run.safety:  # a flagged draft is replaced, not refined
            return _Outcome(draft)
        # Sampling runs on an incomplete draft too: the majority of the samples is then the answer.
        with run.reserving(CRITIQUE_RESERVE):
            settled = resolve_uncertainty(run, question, draft.text)
        if run.safety:  # a search flagged a structure: the refusal replaces the draft, so no critique
            return _Outcome(Draft(""))
        if settled.answer != draft.text:
            draft = Draft(settled.answer, reason=draft.reason)
        revised = critique_and_revise(run, question, draft.text)
        return _Outcome(
            Draft(revised, draft.incomplete, draft.reason), confidence=settled.confidence, entropies=settled.entropies
        )

    def _conclude(self, run: Run, question: str, mode: Mode, outcome: _Outcome) -> Answer:
        """The safety refusal over any draft, citations resolved, the closing events, the Answer."""
        draft = outcome.draft
        if run.safety:
            from txscout.agent.safety import guarded_answer

            draft = Draft(guarded_answer(run.safety), draft.incomplete, draft.reason)
        text, citations = run.ledger.resolve(draft.text)
        note = "" if run.safety or not text else sourcing_note(citations, run.tool_calls)
        supported = None
        if run.plan is not None and run.plan.ran:
            supported = bool(citations or run.plan.kept or run.plan.linked or run.safety or draft.incomplete)
            if not supported:
                text = unsupported(run.plan, text)
        status = outcome.status
        if status != "cancelled":
            status = "incomplete" if draft.incomplete else "completed"
            run.emit(
                AnswerReady(
                    text=text,
                    citations=[c.model_dump() for c in citations],
                    confidence=outcome.confidence,
                    incomplete=draft.incomplete,
                    reason=draft.reason,
                    note=note,
                )
            )
        self._finish(run, status)
        return Answer(
            question=question,
            text=text,
            citations=citations,
            confidence=outcome.confidence,
            entropies=outcome.entropies,
            incomplete=draft.incomplete,
            reason=draft.reason,
            note=note,
            status=status,
            plan=run.plan,
            supported=supported,
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

    def _bare(self, run: Run, question: str) -> Draft:
        """One model call, no tools: the ablation baseline. A question too long for the model's
        context (or any other budget) ends as an incomplete answer saying so, like the other modes."""
        with run.limited() as budget:
            return Draft(_bare_answer(run, question))
        return Draft(NO_ANSWER, incomplete=True, reason=budget.reason)

    def _react(self, run: Run, question: str) -> Draft:
        from txscout.agent.plan.evidence_first import gather
        from txscout.agent.plan.grounding import ground

        phase = ReactPhase(run, strategy_for(run, self._tool_calling(run)))
        phase.start(question)
        with run.limited(), phase.spending():
            ground(run, question, phase)
            gather(run, question, phase, self.store)
        return phase.execute()

    def stream(
        self,
        question: str,
        *,
        cancel: threading.Event | None = None,
        mode: Mode | None = None,
        choices: Choices | None = None,
    ) -> Iterator[Event]:
        """Events as they happen; the run executes in a worker thread. Errors re-raise here; bad
        arguments before the thread starts, on the first ``next``."""
        _check_question(question, mode, choices)
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
        _check_question(question, kwargs.get("mode"), kwargs.get("choices"))
        return await asyncio.to_thread(self.run, question, **kwargs)

    async def astream(self, question: str, **kwargs: Any) -> AsyncIterator[Event]:
        _check_question(question, kwargs.get("mode"), kwargs.get("choices"))
        events: asyncio.Queue[Event | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def put(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        task = asyncio.ensure_future(asyncio.to_thread(self.run, question, on_event=put, **kwargs))
        task.add_done_callback(lambda _t: loop.call_soon_threadsafe(events.put_nowait, None))
        while (event := await events.get()) is not None:
            yield event
        await task


def _bare_answer(run: Run, question: str) -> str:
    """One tool-free reply. A backend that takes a grammar gets the text protocol's prompt, so the
    grammar can hold the reply to a final answer (from the run's answer set, when it has one); other
    models get the plain system prompt, and a reply outside the protocol is the answer as it stands."""
    system = protocol.text_system_prompt([]) if run.backend.grammar else protocol.SYSTEM_CORE
    grammar = protocol.grammar_for([], allow_actions=False, choices=run.choices)
    reply = run.call_model(
        [SystemMessage(system), HumanMessage(f"Question: {question}")], purpose="bare", step=1, grammar=grammar
    )
    run.steps = 1
    return final_answer(reply.text) or reply.text.strip()
