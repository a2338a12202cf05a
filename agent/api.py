"""The library entry point: ``Agent(model=..., tools=...).run(question) -> Answer``.

The same run drives the CLI, the TUI and the benchmarks; they differ only in what they do with the
event stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel

from txscout.agent import modes
from txscout.agent.answers import Choices
from txscout.agent.backends.capabilities import Backend
from txscout.agent.plan.tool_choice import ToolChoice, ToolChooser
from txscout.agent.react import Draft
from txscout.agent.result import Answer, Outcome, conclude, finish
from txscout.agent.run import Run
from txscout.agent.steps import system_prompt
from txscout.agent.streaming import task_events, thread_events
from txscout.core.errors import Cancelled, UserError
from txscout.core.events import ErrorRaised, Event, RunStarted
from txscout.core.evidence import Evidence
from txscout.core.secrets import mask_text
from txscout.core.settings import MODES, Mode, Settings, ToolProtocol, load_settings

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.memory.store import EvidenceStore


def model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


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
        False when the model gains nothing from it: it keeps no state, its runs offer no tools (a model
        that does not pick tools opens with the short tool-free prompt, read faster than a saved state is
        restored), or each question gets its own tools; ``UserError`` when the prompt was read but its
        state could not be saved (the cache folder)."""
        capabilities = self.backend.capabilities
        if not capabilities.prompt_state or not capabilities.picks_tools:
            return False
        usable, _ = self.chooser.usable(self.tools, offline=self.settings.offline)
        if not usable or len(usable) > self.settings.max_offered_tools:
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
            outcome = modes.answer(run, question, mode, tool_calling=self._tool_calling(run), store=self.store)
        except Cancelled as exc:
            outcome = Outcome(Draft("", incomplete=True, reason=str(exc)), status="cancelled")
        except UserError as exc:
            # The one way a run's error leaves: masked here with the configured secrets, since an
            # endpoint may echo the key back, and without the library exception that quoted it.
            exc.args = (mask_text(str(exc), self.settings),)
            run.emit(ErrorRaised(kind="model", message=str(exc)))
            finish(run, "failed")
            raise exc from None
        return conclude(run, question, mode, outcome, self.model_label)

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

        if run.offered and not self.backend.capabilities.picks_tools:
            usable, left = self.chooser.usable(run.offered, offline=run.settings.offline)
            run.offered = []
            return ToolChoice(offered=[], available=len(usable), unusable=left, plan_only=True)
        choice = self.chooser.choose(question, run.offered, run.settings, keep=grounding)
        run.offered = [run.tools[name] for name in choice.offered]
        return choice

    def _tool_calling(self, run: Run) -> Runnable[Any, Any] | None:
        """The model with the run's offered tools bound, when it calls tools natively."""
        if self._native is None or not run.offered:
            return None
        return self.backend.bind_tools(run.offered)

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
        yield from thread_events(
            lambda on_event: self.run(question, on_event=on_event, cancel=cancel, mode=mode, choices=choices)
        )

    async def arun(self, question: str, **kwargs: Any) -> Answer:
        _check_question(question, kwargs.get("mode"), kwargs.get("choices"))
        return await asyncio.to_thread(self.run, question, **kwargs)

    async def astream(self, question: str, **kwargs: Any) -> AsyncIterator[Event]:
        _check_question(question, kwargs.get("mode"), kwargs.get("choices"))
        async for event in task_events(lambda on_event: self.run(question, on_event=on_event, **kwargs)):
            yield event
