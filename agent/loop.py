"""The ReAct loop: question -> (thought, tool call, observation)* -> draft answer.

``Run`` holds one question's state and the services every phase uses (model calls with budgets,
tool calls with validation and timeouts, the evidence ledger, events). Control flow travels by
exception: ``FormatError`` becomes a correction for the model, ``LimitReached`` ends the phase with
the best answer so far, ``Cancelled`` stops the run.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import ToolException
from pydantic import ValidationError

from txscout.agent import protocol
from txscout.agent.citations import EvidenceLedger
from txscout.core.errors import Cancelled, FormatError, LimitReached, ModelUnavailable
from txscout.core.events import (
    ErrorRaised,
    Event,
    EvidenceAdded,
    ModelCall,
    SafetyFlagged,
    Thought,
    ToolCalled,
    ToolResult,
)
from txscout.core.toolkit import ToolContext, tool_context

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.core.evidence import Evidence
    from txscout.core.settings import Settings

_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="txscout-tool")
EVENT_OUTPUT_CAP = 4000


@dataclass
class ToolOutcome:
    text: str
    is_error: bool


def _connection_error(exc: Exception) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"APIConnectionError", "ConnectError", "ConnectionError", "APITimeoutError"})


class Run:
    """One question's state and services, shared by the ReAct, uncertainty and critique phases."""

    def __init__(
        self,
        *,
        model: BaseChatModel,
        tools: list[BaseTool],
        settings: Settings,
        emit: Callable[[Event], None],
        cancel: threading.Event | None = None,
        store_evidence: Callable[[Evidence], None] | None = None,
    ) -> None:
        self.run_id = uuid.uuid4().hex[:12]
        self.model = model
        self.tools = {tool.name: tool for tool in tools}
        self.settings = settings
        self.cancel = cancel or threading.Event()
        self.ledger = EvidenceLedger()
        self.events: list[Event] = []
        self.safety: list[SafetyFlagged] = []
        self.steps = 0
        self.model_calls = 0
        self.tool_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.started = time.monotonic()
        self._sink = emit
        self._store_evidence = store_evidence
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        event.run_id = self.run_id
        with self._lock:
            self.events.append(event)
            if isinstance(event, SafetyFlagged):
                self.safety.append(event)
        self._sink(event)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def check(self) -> None:
        """Stop signals checked before every model or tool call."""
        if self.cancel.is_set():
            raise Cancelled("cancelled by the user")
        if self.elapsed > self.settings.time_limit_s:
            raise LimitReached(f"time limit of {self.settings.time_limit_s:g} s reached")
        if self.input_tokens + self.output_tokens >= self.settings.token_limit:
            raise LimitReached(f"token limit of {self.settings.token_limit} reached")

    def call_model(
        self,
        messages: list[BaseMessage],
        *,
        purpose: str,
        step: int = 0,
        runnable: Runnable[Any, Any] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        self.check()
        started = time.perf_counter()
        try:
            reply = (runnable or self.model).invoke(messages, **kwargs)
        except (ModelUnavailable, LimitReached, Cancelled):
            raise
        except Exception as exc:
            if _connection_error(exc):
                raise ModelUnavailable(f"cannot reach the model endpoint: {exc}") from exc
            raise ModelUnavailable(f"the model call failed: {type(exc).__name__}: {exc}") from exc
        latency = time.perf_counter() - started
        usage = getattr(reply, "usage_metadata", None) or {}
        text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        tokens_in = usage.get("input_tokens") or sum(len(str(m.content)) for m in messages) // 4
        tokens_out = usage.get("output_tokens") or max(1, len(text) // 4)
        self._account(purpose, step, tokens_in, tokens_out, latency)
        return reply

    def _account(self, purpose: str, step: int, tokens_in: int, tokens_out: int, latency: float) -> None:
        with self._lock:
            self.model_calls += 1
            self.input_tokens += tokens_in
            self.output_tokens += tokens_out
        self.emit(
            ModelCall(step=step, purpose=purpose, input_tokens=tokens_in, output_tokens=tokens_out, latency_s=latency)
        )

    def sample(self, messages: list[BaseMessage], *, n: int, purpose: str, **kwargs: Any) -> list[AIMessage]:
        """``n`` replies to one prompt: one batched request where the backend takes ``n``, otherwise
        concurrent requests (the embedded model serialises them itself and reuses its prompt cache)."""
        if n > 1 and "n" in type(self.model).model_fields:
            self.check()
            started = time.perf_counter()
            result = self.model.generate([messages], n=n, **kwargs)
            replies = [g.message for g in result.generations[0] if isinstance(g.message, AIMessage)]
            tokens_in = sum((r.usage_metadata or {}).get("input_tokens", 0) for r in replies[:1])
            tokens_out = sum((r.usage_metadata or {}).get("output_tokens", 0) for r in replies)
            self._account(purpose, 0, tokens_in, tokens_out, time.perf_counter() - started)
            return replies
        workers = 1 if self.model._llm_type == "txscout-llama-cpp" else min(n, 8)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(self.call_model, messages, purpose=purpose, seed=i, **kwargs)
                if self.model._llm_type == "txscout-llama-cpp"
                else pool.submit(self.call_model, messages, purpose=purpose, **kwargs)
                for i in range(n)
            ]
            return [f.result() for f in futures]

    def add_evidence(self, item: Evidence) -> int:
        ref, new = self.ledger.add(item)
        if new:
            self.emit(
                EvidenceAdded(
                    ref=ref,
                    evidence_id=item.content_hash,
                    source_kind=item.source_kind,
                    title=item.title,
                    locator=item.locator,
                )
            )
            if self._store_evidence is not None and item.source_kind != "tool":
                try:
                    self._store_evidence(item)
                except Exception as exc:
                    self.emit(ErrorRaised(kind="memory", message=f"evidence not persisted: {exc}"))
        return ref

    def call_tool(self, name: str, args: dict[str, Any], *, step: int, automatic: bool = False) -> ToolOutcome:
        """Run a tool with every failure turned into an observation the model can recover from."""
        self.check()
        key = f"{name}:{json.dumps(args, sort_keys=True, default=str)}"
        if key not in self._seen and name in self.tools and self.tool_calls >= self.settings.max_tool_calls:
            raise LimitReached(f"tool-call limit of {self.settings.max_tool_calls} reached")
        call_id = f"{self.run_id}-{len(self.events)}"
        self.emit(ToolCalled(step=step, call_id=call_id, tool=name, args=args, automatic=automatic))
        started = time.perf_counter()
        outcome = self._execute(name, args, key)
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

    def _execute(self, name: str, args: dict[str, Any], key: str) -> ToolOutcome:
        tool = self.tools.get(name)
        if tool is None:
            return ToolOutcome(f"Unknown tool '{name}'. Available tools: {', '.join(self.tools)}.", True)
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
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
                )
                expected = json.dumps(tool.tool_call_schema.model_json_schema().get("properties", {}))
                return ToolOutcome(f"Invalid arguments for {name}: {problems}. Expected: {expected}", True)
        self._seen.add(key)
        with self._lock:
            self.tool_calls += 1
        context = ToolContext(
            emit=self.emit, add_evidence=self.add_evidence, offline=self.settings.offline, run_id=self.run_id
        )

        def invoke() -> Any:
            with tool_context(context):
                return tool.invoke({"name": name, "args": args, "id": key[:64], "type": "tool_call"})

        future = _EXECUTOR.submit(invoke)
        try:
            message = future.result(timeout=self.settings.tool_timeout_s)
        except FutureTimeout:
            return ToolOutcome(f"{name} did not finish within {self.settings.tool_timeout_s:g} s.", True)
        except ToolException as exc:
            return ToolOutcome(str(exc), True)
        except Exception as exc:
            return ToolOutcome(f"{name} failed: {type(exc).__name__}: {exc}", True)
        content = message.content if isinstance(message, ToolMessage) else message
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        return ToolOutcome(text, getattr(message, "status", "success") == "error")


@dataclass
class Draft:
    text: str
    incomplete: bool = False
    reason: str = ""


class ReactPhase:
    """Drives the model through tool use until it answers or a budget ends the phase."""

    def __init__(self, run: Run, *, native: Runnable[Any, Any] | None) -> None:
        self.run = run
        self.native = native
        tools = list(run.tools.values())
        self.grammar = protocol.grammar_for(tools) if run.model._llm_type == "txscout-llama-cpp" else None
        system = protocol.native_system_prompt() if native else protocol.text_system_prompt(tools)
        self.messages: list[BaseMessage] = [SystemMessage(system)]

    def start(self, question: str) -> None:
        self.messages.append(HumanMessage(f"Question: {question}" if not self.native else question))
        self._question_at = len(self.messages) - 1
        self._question = question
        self._grounded: list[str] = []

    def record_automatic(self, name: str, args: dict[str, Any], outcome: ToolOutcome) -> None:
        """Show the model a call the agent made itself (grounding) before its first step.

        Native models see an ordinary tool-call turn. Text-protocol models see the observations under
        the question instead: small models shown a scripted "Action:" turn imitate it and call the
        same tool again rather than answer.
        """
        observation = protocol.frame_observation(name, outcome.text)
        if self.native:
            call_id = f"auto-{len(self.messages)}"
            self.messages.append(AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}]))
            self.messages.append(ToolMessage(observation, tool_call_id=call_id))
            return
        if not outcome.is_error:
            self._grounded.append(outcome.text)
        question = self.messages[self._question_at]
        self.messages[self._question_at] = HumanMessage(f"{question.content}\n\nObservation: {observation}")

    def execute(self) -> Draft:
        try:
            while True:
                self.run.steps += 1
                if self.run.steps > self.run.settings.max_steps:
                    raise LimitReached(f"step limit of {self.run.settings.max_steps} reached")
                answer = self._native_step() if self.native else self._text_step()
                if answer is not None:
                    return Draft(answer)
        except LimitReached as limit:
            return self._best_effort(str(limit))

    def _native_step(self) -> str | None:
        step = self.run.steps
        reply = self.run.call_model(self.messages, purpose="react", step=step, runnable=self.native)
        content = reply.content if isinstance(reply.content, str) else ""
        if not reply.tool_calls:
            return content.strip() or "(the model returned an empty answer)"
        if content.strip():
            self.run.emit(Thought(step=step, text=content.strip()))
        self.messages.append(reply)
        for call in reply.tool_calls:
            outcome = self.run.call_tool(call["name"], call["args"], step=step)
            self.messages.append(
                ToolMessage(protocol.frame_observation(call["name"], outcome.text), tool_call_id=call["id"])
            )
        return None

    def _text_step(self) -> str | None:
        step = self.run.steps
        grammar = self.grammar
        if grammar and step == 1 and self._grounded:
            grammar = protocol.copying_grammar(self._grounded, self._question)
        kwargs = {"grammar": grammar} if grammar else {}
        reply = self.run.call_model(self.messages, purpose="react", step=step, **kwargs)
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        self.messages.append(AIMessage(text))
        try:
            parsed = protocol.parse_reply(text)
        except FormatError as exc:
            self.run.emit(ErrorRaised(kind="format", message=str(exc)))
            self.messages.append(HumanMessage(f"Format error: {exc}"))
            return None
        if parsed.thought:
            self.run.emit(Thought(step=step, text=parsed.thought))
        if isinstance(parsed, protocol.Final):
            return parsed.answer
        outcome = self.run.call_tool(parsed.tool, parsed.args, step=step)
        self.messages.append(HumanMessage(f"Observation: {protocol.frame_observation(parsed.tool, outcome.text)}"))
        return None

    def _best_effort(self, reason: str) -> Draft:
        """Out of budget: one last tool-free call for an answer when time and tokens allow."""
        try:
            self.run.check()
            prompt = [*self.messages, HumanMessage(f"{reason}. No more tools. Give your Final Answer now.")]
            grammar = protocol.grammar_for([], allow_actions=False) if self.grammar else None
            reply = self.run.call_model(
                prompt, purpose="finalize", step=self.run.steps, **({"grammar": grammar} if grammar else {})
            )
            text = reply.content if isinstance(reply.content, str) else ""
            if not self.native:
                try:
                    parsed = protocol.parse_reply(text)
                    text = parsed.answer if isinstance(parsed, protocol.Final) else ""
                except FormatError:
                    text = ""
            if text.strip():
                return Draft(text.strip(), incomplete=True, reason=reason)
        except LimitReached:
            pass
        thoughts = [e.text for e in self.run.events if isinstance(e, Thought)]
        fallback = thoughts[-1] if thoughts else "No answer could be formed within the budget."
        return Draft(fallback, incomplete=True, reason=reason)
