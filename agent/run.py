"""One question's run: its state and the services every phase uses.

``Run`` holds the model calls with budgets, tool calls with validation and timeouts, the evidence
ledger, the observations and the events. Control flow travels by exception: ``FormatError`` becomes a
correction for the model, ``LimitReached`` ends the tool use and sends the phase to its answer step
(:meth:`Run.limited`, :meth:`Run.reserving` keeps the budget that step needs), ``Cancelled`` stops the
run. The phases that use it (``agent.react``, ``agent.research``) import it; it imports none of them.
Its parts are modules of their own: the events (``event_log``), the stop signals (``budget``), what
happens inside a model call (``model_calls``) and inside a tool call (``tool_calls``).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage

from txscout.agent.backends.capabilities import Backend, Grammar
from txscout.agent.budget import Budget, LimitGuard, limited
from txscout.agent.citations import EvidenceLedger
from txscout.agent.event_log import EventLog
from txscout.agent.model_calls import batched, guarded, reply_tokens, stream_reply
from txscout.agent.tool_calls import EVENT_OUTPUT_CAP, Observation, ToolOutcome, call_key, execute, refusal
from txscout.core.errors import Cancelled, LimitReached
from txscout.core.events import (
    ErrorRaised,
    Event,
    EvidenceAdded,
    ModelCall,
    PromptRead,
    SafetyFlagged,
    TextDelta,
    ToolCalled,
    ToolResult,
)
from txscout.core.toolkit import ToolContext

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.agent.answers import Choices
    from txscout.core.evidence import Evidence, EvidencePlan
    from txscout.core.settings import Settings


class Run:
    """One question's state and services, shared by the ReAct, uncertainty and critique phases.

    ``model`` is a chat model (wrapped with its declared capabilities) or a :class:`Backend`;
    ``choices`` is the question's closed answer set, if it has one, for every phase to read.
    """

    def __init__(
        self,
        *,
        model: BaseChatModel | Backend,
        tools: list[BaseTool],
        settings: Settings,
        emit: Callable[[Event], None],
        cancel: threading.Event | None = None,
        store_evidence: Callable[[Evidence], None] | None = None,
        choices: Choices | None = None,
    ) -> None:
        self.run_id = uuid.uuid4().hex[:12]
        self.backend = Backend.of(model)
        self.model = self.backend.model
        self.tools = {tool.name: tool for tool in tools}
        self.offered = list(tools)
        """The tools shown to the model (``agent.plan.tool_choice``); the others in ``tools`` still serve grounding."""
        self.question = ""
        self.settings = settings
        self.choices = choices
        self.cancel = cancel or threading.Event()
        self.ledger = EvidenceLedger()
        self.log = EventLog(self.run_id, emit)
        self.observations: list[Observation] = []
        self.plan: EvidencePlan | None = None
        """What evidence-first read before the model's first step (``agent.plan.evidence_first``)."""
        self.passages: list[int] = []
        """The citation numbers of the passages shown to the model, which its answer must cite."""
        self.transcript: list[BaseMessage] = []
        """The conversation the ReAct phase's answer was written from (system prompt, question, observations),
        without the answer: the research phases continue it (``research.searcher.phase_prompt``)."""
        self.transcript_evidence = 0
        """How many ledger items the transcript had shown: later ones are new to a phase continuing it."""
        self.steps = 0
        self.model_calls = 0
        self.tool_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.budget = Budget(settings, self.cancel)
        self._store_evidence = store_evidence
        self._seen: set[str] = set()
        self._budgeted_calls = 0
        self._calls = 0
        self._lock = threading.Lock()
        self._call_numbers = itertools.count()

    def emit(self, event: Event) -> None:
        """The one door every event of the run goes through (``EventLog.emit``)."""
        self.log.emit(event)

    @property
    def events(self) -> list[Event]:
        """The run's events so far, model text withdrawn once a structure was flagged."""
        return self.log.events

    @property
    def safety(self) -> list[SafetyFlagged]:
        """The structures the safety gate flagged; any one makes the answer the refusal."""
        return self.log.safety

    @property
    def elapsed(self) -> float:
        return self.budget.elapsed

    def check(self) -> None:
        """Stop signals checked before every model or tool call (``Budget.check``)."""
        self.budget.check(self.input_tokens + self.output_tokens)

    def reserving(self, share: float) -> contextlib.AbstractContextManager[None]:
        """Keep ``share`` of the run's time and tokens back for what follows the block (``Budget.reserving``)."""
        return self.budget.reserving(share)

    def limited(self, stopped: str | None = None) -> contextlib.AbstractContextManager[LimitGuard]:
        """A block that a budget running out ends, rather than the run (``budget.limited``)."""
        return limited(self.emit, stopped)

    def call_model(
        self,
        messages: list[BaseMessage],
        *,
        purpose: str,
        step: int = 0,
        grammar: str | Grammar | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        runnable: Runnable[Any, Any] | None = None,
    ) -> AIMessage:
        """One model reply, within the run's budgets. ``grammar`` and ``seed`` reach the model where
        its backend takes them; ``runnable`` replaces the model (the model with tools bound).

        A model that reports reading its prompt emits ``PromptRead`` events before the first token.
        The reply streams: each piece of text is emitted as a ``TextDelta`` as it arrives, and the
        cancel flag is checked between pieces. Once it is set the stream is closed, which stops the
        embedded model before its next token and closes an endpoint's connection; the call is
        accounted with what was generated and the run stops (``Cancelled``).
        """
        self.check()
        with self._lock:
            self._calls += 1
            call = self._calls

        def reading(done: int, total: int) -> None:
            self.emit(PromptRead(step=step, purpose=purpose, call=call, done=done, total=total))

        def text(piece: str) -> None:
            self.emit(TextDelta(step=step, purpose=purpose, call=call, text=piece))

        request = self.backend.request(
            grammar=grammar, seed=seed, temperature=temperature, cancel=self.cancel, on_prompt=reading
        )
        started = time.perf_counter()
        model = runnable or self.model
        streamed = guarded(lambda: stream_reply(model, messages, request, cancel=self.cancel, on_text=text))
        latency = time.perf_counter() - started
        tokens_in, tokens_out = reply_tokens(streamed, messages)
        self._account(purpose, step, tokens_in, tokens_out, latency, call=call)
        if streamed.cancelled:
            raise Cancelled("cancelled by the user")
        return streamed.reply

    def _account(
        self, purpose: str, step: int, tokens_in: int, tokens_out: int, latency: float, *, call: int = 0
    ) -> None:
        with self._lock:
            self.model_calls += 1
            self.input_tokens += tokens_in
            self.output_tokens += tokens_out
        self.emit(
            ModelCall(
                step=step,
                purpose=purpose,
                call=call,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                latency_s=latency,
            )
        )

    def sample(
        self,
        messages: list[BaseMessage],
        *,
        n: int,
        purpose: str,
        grammar: str | Grammar | None = None,
        temperature: float | None = None,
    ) -> list[AIMessage]:
        """``n`` replies to one prompt: one batched request where the backend takes ``n``, otherwise
        separate requests, each with its own seed where the backend is seeded, and concurrent unless
        the backend generates serially (the embedded model, which also reuses its prompt cache)."""
        replies: list[AIMessage] = []
        if n > 1 and self.backend.native_n:
            self.check()
            request = self.backend.request(grammar=grammar, temperature=temperature, n=n)
            started = time.perf_counter()
            result = guarded(lambda: self.model.generate([messages], **request))
            replies, tokens_in, tokens_out = batched(result, n)
            self._account(purpose, 0, tokens_in, tokens_out, time.perf_counter() - started)
        # A server that ignores ``n`` returns one reply: the rest are asked for one by one.
        seeds = range(len(replies), n)
        with ThreadPoolExecutor(max_workers=self.backend.sample_workers(len(seeds))) as pool:
            futures = [
                pool.submit(
                    self.call_model, messages, purpose=purpose, grammar=grammar, seed=seed, temperature=temperature
                )
                for seed in seeds
            ]
            return replies + [f.result() for f in futures]

    def add_evidence(self, item: Evidence, *, persist: bool = True) -> int:
        """The citation number of ``item``; new literature is also kept in the evidence store, unless it
        came from there (``persist=False``)."""
        ref, new = self.ledger.add(item)
        if new:
            self.emit(
                EvidenceAdded(
                    ref=ref,
                    evidence_id=item.content_hash,
                    source_kind=item.source_kind,
                    title=item.label if item.page else item.title,
                    locator=item.locator,
                    page=item.page,
                )
            )
            if persist and self._store_evidence is not None and item.source_kind != "tool":
                try:
                    self._store_evidence(item)
                except Exception as exc:
                    self.emit(ErrorRaised(kind="memory", message=f"evidence not persisted: {exc}"))
        return ref

    def has_called(self, name: str, args: dict[str, Any]) -> bool:
        """Whether this run already executed ``name`` with exactly these arguments."""
        return call_key(name, args) in self._seen

    def call_tool(
        self, name: str, args: dict[str, Any], *, step: int, automatic: bool = False, budgeted: bool = True
    ) -> ToolOutcome:
        """Run a tool with every failure turned into an observation the model can recover from.

        A ``budgeted`` call spends the run's ``max_tool_calls``; grounding's calls are not (it budgets
        its own). Every executed call counts in ``tool_calls`` and is kept in ``observations``.
        """
        self.check()
        key = call_key(name, args)
        over = self._budgeted_calls >= self.settings.max_tool_calls
        if budgeted and over and key not in self._seen and name in self.tools:
            raise LimitReached(f"tool-call limit of {self.settings.max_tool_calls} reached")
        call_id = f"{self.run_id}-{next(self._call_numbers)}"
        self.emit(ToolCalled(step=step, call_id=call_id, tool=name, args=args, automatic=automatic))
        started = time.perf_counter()
        outcome = refusal(
            self.tools.get(name),
            name,
            args,
            repeated=key in self._seen,
            offered=self.offered,
            offline=self.settings.offline,
            question=self.question,
        )
        if outcome is None:
            self._seen.add(key)
            with self._lock:
                self.tool_calls += 1
                self._budgeted_calls += int(budgeted)
            context = ToolContext(
                emit=self.emit, add_evidence=self.add_evidence, offline=self.settings.offline, run_id=self.run_id
            )
            outcome = execute(self.tools[name], args, key, context, self.settings.tool_timeout_s)
            self.observations.append(Observation(name, args, outcome, step, automatic))
        self.emit(
            ToolResult(
                step=step,
                call_id=call_id,
                tool=name,
                output=outcome.text[:EVENT_OUTPUT_CAP],
                is_error=outcome.is_error,
                duration_s=time.perf_counter() - started,
            )
        )
        return outcome
