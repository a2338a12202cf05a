"""One question's run: its state and the services every phase uses.

``Run`` holds the model calls with budgets, tool calls with validation and timeouts, the evidence
ledger, the observations and the events. Control flow travels by exception: ``FormatError`` becomes a
correction for the model, ``LimitReached`` ends the tool use and sends the phase to its answer step
(:meth:`Run.limited`, :meth:`Run.reserving` keeps the budget that step needs), ``Cancelled`` stops the
run. The phases that use it (``agent.react``, ``agent.research``) import it; it imports none of them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.tools import ToolException
from pydantic import ValidationError

from txscout.agent.arguments import misplaced_question
from txscout.agent.backends.capabilities import Backend, Grammar, connection_error
from txscout.agent.citations import EvidenceLedger
from txscout.core.errors import Cancelled, LimitReached, ModelUnavailable, validation_problems
from txscout.core.events import (
    DraftWithdrawn,
    ErrorRaised,
    Event,
    EvidenceAdded,
    ModelCall,
    PromptRead,
    SafetyFlagged,
    TextDelta,
    ToolCalled,
    ToolResult,
    carries_model_text,
)
from txscout.core.toolkit import ToolContext, tool_context, unusable

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.agent.answers import Choices
    from txscout.core.evidence import Evidence, EvidencePlan
    from txscout.core.settings import Settings

_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="txscout-tool")
EVENT_OUTPUT_CAP = 4000


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call gave back: the text the model reads and, from tools that return one
    (``response_format="content_and_artifact"``), the structured artifact that code reads instead of
    parsing the text back."""

    text: str
    is_error: bool
    artifact: Any = None


@dataclass
class _Streamed:
    """A streamed reply: the merged message, how many text pieces it came in, whether the run's
    cancel flag stopped it."""

    reply: Any = None
    pieces: int = 0
    cancelled: bool = False


@dataclass(frozen=True)
class Observation:
    """A tool call the run executed, with its outcome; ``Run.observations`` keeps them in call order."""

    tool: str
    args: dict[str, Any]
    outcome: ToolOutcome
    step: int = 0
    automatic: bool = False


@dataclass
class LimitGuard:
    """What :meth:`Run.limited` saw: the budget that ran out inside its block, if one did."""

    limit: LimitReached | None = None

    @property
    def reason(self) -> str:
        return str(self.limit) if self.limit else ""


def call_key(name: str, args: dict[str, Any]) -> str:
    return f"{name}:{json.dumps(args, sort_keys=True, default=str)}"


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
        self.events: list[Event] = []
        self.observations: list[Observation] = []
        self.safety: list[SafetyFlagged] = []
        self.plan: EvidencePlan | None = None
        """What evidence-first read before the model's first step (``agent.plan.evidence_first``)."""
        self.passages: list[int] = []
        """The citation numbers of the passages shown to the model, which its answer must cite."""
        self._reserved = 0.0
        self.steps = 0
        self.model_calls = 0
        self.tool_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.started = time.monotonic()
        self._sink = emit
        self._store_evidence = store_evidence
        self._seen: set[str] = set()
        self._budgeted_calls = 0
        self._calls = 0
        self._lock = threading.Lock()
        self._emitting = threading.RLock()
        self._call_numbers = itertools.count()

    def emit(self, event: Event) -> None:
        """The one door every event of the run goes through, to ``events`` and to the sink.

        Once a structure is flagged the answer will be the refusal, so model text is withheld from
        then on; the first flag also withdraws the text already emitted: it is struck from ``events``
        and a ``DraftWithdrawn`` after the flag tells every sink to drop it. Events reach the sink one
        at a time, in the order they are recorded, so no text can slip out after the withdrawal.
        """
        event.run_id = self.run_id
        with self._emitting:
            if self.safety and carries_model_text(event):
                return
            withdraw = (
                isinstance(event, SafetyFlagged) and not self.safety and any(map(carries_model_text, self.events))
            )
            if withdraw:
                self.events = [e for e in self.events if not carries_model_text(e)]
            if isinstance(event, SafetyFlagged):
                self.safety.append(event)
            self.events.append(event)
            self._sink(event)
            if withdraw:
                self.emit(DraftWithdrawn())

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def options(self) -> dict[str, str]:
        """The question's options (letter -> text) when its answer set is lettered; else empty."""
        return self.choices.options if self.choices else {}

    def check(self) -> None:
        """Stop signals checked before every model or tool call. Inside :meth:`reserving` blocks the time
        and token limits are lowered by the shares those blocks keep back for the phases after them."""
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")
        usable = 1.0 - self._reserved
        kept = f" ({self._reserved:.0%} of it is kept for answering)" if self._reserved else ""
        seconds, tokens = self.settings.time_limit_s, self.settings.token_limit
        if self.elapsed > seconds * usable:
            raise LimitReached(f"time limit of {seconds:g} s reached{kept}")
        if self.input_tokens + self.output_tokens >= tokens * usable:
            raise LimitReached(f"token limit of {tokens} reached{kept}")

    @contextlib.contextmanager
    def reserving(self, share: float) -> Iterator[None]:
        """Keep ``share`` of the run's time and tokens back for what follows the block (the answer step,
        sampling and critique): inside it, the limits :meth:`check` applies are lowered by that share.
        Blocks nest, and their shares add up."""
        self._reserved += share
        try:
            yield
        finally:
            self._reserved -= share

    @contextlib.contextmanager
    def limited(self, stopped: str | None = None) -> Iterator[LimitGuard]:
        """Run a phase, or a step of one, until a budget runs out: ``LimitReached`` ends the block, not
        the run, and the guard says why. With ``stopped`` ("critique stopped") the stop is also
        reported as an error event, for phases whose early end the reader could not otherwise see."""
        guard = LimitGuard()
        try:
            yield guard
        except LimitReached as limit:
            guard.limit = limit
            if stopped:
                self.emit(ErrorRaised(kind="limit", message=f"{stopped}: {limit}"))

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

        request = self.backend.request(
            grammar=grammar, seed=seed, temperature=temperature, cancel=self.cancel, on_prompt=reading
        )
        started = time.perf_counter()
        streamed = self._guarded(
            lambda: self._stream(runnable or self.model, messages, request, purpose=purpose, step=step, call=call)
        )
        reply = streamed.reply
        latency = time.perf_counter() - started
        usage = getattr(reply, "usage_metadata", None) or {}
        tokens_in = usage.get("input_tokens") or sum(len(str(m.content)) for m in messages) // 4
        tokens_out = usage.get("output_tokens") or streamed.pieces or max(1, len(reply.text) // 4)
        self._account(purpose, step, tokens_in, tokens_out, latency, call=call)
        if streamed.cancelled:
            raise Cancelled("cancelled by the user")
        return reply

    def _stream(
        self,
        model: Runnable[Any, Any],
        messages: list[BaseMessage],
        request: dict[str, Any],
        *,
        purpose: str,
        step: int,
        call: int,
    ) -> _Streamed:
        """The reply merged from its streamed chunks (a model that cannot stream gives one message)."""
        out = _Streamed()
        stream = model.stream(messages, **request)
        try:
            for chunk in stream:
                out.reply = chunk if out.reply is None or not isinstance(chunk, AIMessageChunk) else out.reply + chunk
                if chunk.text:
                    out.pieces += 1
                    self.emit(TextDelta(step=step, purpose=purpose, call=call, text=chunk.text))
                if self.cancel.is_set():
                    out.cancelled = True
                    break
        finally:
            stream.close()
        if isinstance(out.reply, AIMessageChunk):
            out.reply = message_chunk_to_message(out.reply)
        elif out.reply is None:
            out.reply = AIMessage("")
        return out

    @staticmethod
    def _guarded(call: Callable[[], Any]) -> Any:
        """A model call with its failures turned into the run's errors: an unreachable endpoint or any
        other failure becomes ``ModelUnavailable``; the run's own stop signals pass through."""
        try:
            return call()
        except (ModelUnavailable, LimitReached, Cancelled):
            raise
        except Exception as exc:
            if connection_error(exc):
                raise ModelUnavailable(f"cannot reach the model endpoint: {exc}") from exc
            raise ModelUnavailable(f"the model call failed: {type(exc).__name__}: {exc}") from exc

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
            result = self._guarded(lambda: self.model.generate([messages], **request))
            replies = [g.message for g in result.generations[0] if isinstance(g.message, AIMessage)][:n]
            tokens_in = sum((r.usage_metadata or {}).get("input_tokens", 0) for r in replies[:1])
            tokens_out = sum((r.usage_metadata or {}).get("output_tokens", 0) for r in replies)
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
        outcome = self._refusal(name, args, key)
        if outcome is None:
            self._seen.add(key)
            with self._lock:
                self.tool_calls += 1
                self._budgeted_calls += int(budgeted)
            outcome = self._execute(self.tools[name], args, key)
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

    def _refusal(self, name: str, args: dict[str, Any], key: str) -> ToolOutcome | None:
        """Why a call is not run (unknown tool, a repeat, invalid arguments), or None to run it."""
        tool = self.tools.get(name)
        offered = (
            f"Available tools: {', '.join(t.name for t in self.offered)}."
            if self.offered
            else "No tools are available."
        )
        if tool is None:
            return ToolOutcome(f"Unknown tool '{name}'. {offered}", True)
        cannot = unusable(tool, offline=self.settings.offline)
        if cannot:
            return ToolOutcome(f"{name} was not called: it {cannot}. {offered}", True)
        misplaced = misplaced_question(tool, args, self.question)
        if misplaced:
            return ToolOutcome(misplaced, True)
        if key in self._seen:
            return ToolOutcome(
                f"You already called {name} with these arguments; its result is above. "
                "Use it, try different arguments, or give the Final Answer.",
                False,
            )
        if tool.args_schema is not None and isinstance(tool.args_schema, type):
            try:
                tool.args_schema.model_validate(args)
            except ValidationError as exc:
                expected = json.dumps(tool.tool_call_schema.model_json_schema().get("properties", {}))
                problems = validation_problems(exc, "arguments")
                return ToolOutcome(f"Invalid arguments for {name}: {problems}. Expected: {expected}", True)
        return None

    def _execute(self, tool: BaseTool, args: dict[str, Any], key: str) -> ToolOutcome:
        context = ToolContext(
            emit=self.emit, add_evidence=self.add_evidence, offline=self.settings.offline, run_id=self.run_id
        )

        def invoke() -> Any:
            with tool_context(context):
                return tool.invoke({"name": tool.name, "args": args, "id": key[:64], "type": "tool_call"})

        future = _EXECUTOR.submit(invoke)
        try:
            message = future.result(timeout=self.settings.tool_timeout_s)
        except FutureTimeout:
            return ToolOutcome(f"{tool.name} did not finish within {self.settings.tool_timeout_s:g} s.", True)
        except ToolException as exc:
            return ToolOutcome(str(exc), True)
        except Exception as exc:
            return ToolOutcome(f"{tool.name} failed: {type(exc).__name__}: {exc}", True)
        if not isinstance(message, ToolMessage):
            return ToolOutcome(_as_text(message), False)
        return ToolOutcome(_as_text(message.content), message.status == "error", message.artifact)


def _as_text(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content, default=str)
