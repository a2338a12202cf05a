"""The two ways a model takes a ReAct step: the text protocol and native tool calling.

Both satisfy :class:`StepStrategy`, so ``ReactPhase`` drives either without knowing which: the
strategy writes the opening turn, shows grounding calls, takes one step (a tool call or the answer)
and reads a last tool-free answer when a budget runs out.

* :class:`TextSteps` (Thought / Action / Action Input / Final Answer, parsed by ``protocol``) works
  with any chat model. Where the backend takes a grammar, every reply is constrained so it parses;
  a closed answer set (``run.choices``) constrains the final answer to it, and when grounding closed it
  to the asked property's values the first step must give one of them. Otherwise the first step after
  grounding must open its answer with a value the observations state; and when evidence-first showed
  passages (``run.passages``), the answer must end every sentence with one of their numbers.
* :class:`NativeSteps` uses the model's own tool-calling API (``bind_tools``); where the backend takes a
  grammar, the steps that must answer are constrained in the bare form such a model answers in.

Chemistry grounding's values come before passages: a tool's value settles a property question, while a
passage only argues for an answer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from txscout.agent import protocol
from txscout.core.errors import FormatError
from txscout.core.events import ErrorRaised, Thought

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from txscout.agent.answers import Choices
    from txscout.agent.run import Run
    from txscout.agent.tool_calls import ToolOutcome

EMPTY_ANSWER = "(the model returned an empty answer)"


class StepStrategy(Protocol):
    """How the model asks for tools and gives its answer."""

    def system_prompt(self) -> str:
        """The system message that explains the format to the model."""
        ...

    def open(self, messages: list[BaseMessage], question: str) -> None:
        """Append the question's turn to the transcript."""
        ...

    def record_automatic(
        self, messages: list[BaseMessage], name: str, args: dict[str, Any], outcome: ToolOutcome
    ) -> None:
        """Show the model a tool call the agent made itself, before the model's first step."""
        ...

    def show_passages(self, messages: list[BaseMessage], passages: list[str]) -> None:
        """Show the model the passages evidence-first kept (each "[n] ..."), which its answer must cite."""
        ...

    def step(self, messages: list[BaseMessage], step: int) -> str | None:
        """One model call and, if it asked for one, its tool call; the answer when it gave one."""
        ...

    def final_grammar(self) -> str | None:
        """The grammar of a tool-free last reply (for backends that take one)."""
        ...

    def read_final(self, reply: str) -> str:
        """The answer in a tool-free last reply; empty when it holds none."""
        ...


def final_answer(reply: str) -> str:
    """The Final Answer of a text-protocol reply; empty when the reply has none or does not parse."""
    try:
        parsed = protocol.parse_reply(reply)
    except FormatError:
        return ""
    return parsed.answer.strip() if isinstance(parsed, protocol.Final) else ""


def system_prompt(tools: list[BaseTool], native: bool) -> str:
    """The system prompt of a ReAct phase over ``tools``, by native tool calling or the text protocol."""
    return protocol.native_system_prompt() if native else protocol.text_system_prompt(tools)


def strategy_for(run: Run, tool_calling: Runnable[Any, Any] | None) -> StepStrategy:
    """Native tool calling when the model has tools bound (``tool_calling``), else the text protocol."""
    return NativeSteps(run, tool_calling) if tool_calling is not None else TextSteps(run)


class QuestionTurn:
    """The question's turn of the transcript, which grounding's observations join: both strategies
    show them there rather than as tool calls the model never made."""

    def __init__(self) -> None:
        self.text = ""
        self.grounded: list[str] = []
        """The text of each successful grounding observation, in order."""
        self._at = -1

    def open(self, messages: list[BaseMessage], question: str, turn: str) -> None:
        """Append the turn (``turn``, the question as the strategy words it)."""
        messages.append(HumanMessage(turn))
        self._at = len(messages) - 1
        self.text = question

    def add(self, messages: list[BaseMessage], outcome: ToolOutcome, observation: str) -> None:
        """Append ``observation`` (the outcome as the strategy frames it) to the question's turn."""
        if not outcome.is_error:
            self.grounded.append(outcome.text)
        self._append(messages, observation)

    def passages(self, messages: list[BaseMessage], passages: list[str], prefix: str, choices: Choices | None) -> None:
        """Append the passages, each framed as an observation after ``prefix``, and the instruction to cite
        them (and, for a closed answer set, to open with its answer line). They are not ``grounded``: an
        answer cites a passage rather than copying a value from it."""
        framed = [f"{prefix}{protocol.frame_observation('memory_search', p)}" for p in passages]
        first = re.match(r"\[(\d+)\]", passages[0]) if passages else None
        cite = protocol.CITE_PASSAGES.format(ref=first.group(1) if first else 1)
        if choices is not None and not choices.grounded:
            cite = f"{cite} Open your answer with the line 'Answer: <{' or '.join(choices.answers)}>'."
        self._append(messages, "\n\n".join([*framed, cite]))

    def _append(self, messages: list[BaseMessage], text: str) -> None:
        messages[self._at] = HumanMessage(f"{messages[self._at].content}\n\n{text}")


class TextSteps:
    """The text protocol: replies parsed by ``protocol.parse_reply``, corrected when they do not parse."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.tools = run.offered
        self._question = QuestionTurn()

    def system_prompt(self) -> str:
        return system_prompt(self.tools, native=False)

    def open(self, messages: list[BaseMessage], question: str) -> None:
        self._question.open(messages, question, f"Question: {question}")

    def record_automatic(
        self, messages: list[BaseMessage], name: str, args: dict[str, Any], outcome: ToolOutcome
    ) -> None:
        """The observation goes under the question, not into a scripted "Action:" turn: small models
        shown one imitate it and call the same tool again rather than answer."""
        self._question.add(messages, outcome, f"Observation: {protocol.frame_observation(name, outcome.text)}")

    def show_passages(self, messages: list[BaseMessage], passages: list[str]) -> None:
        self._question.passages(messages, passages, "Observation: ", self.run.choices)

    def _grammar(self, step: int) -> str:
        """The step's grammar, read from the run's answer set as it stands (grounding may have closed it).

        Answers the tools settled (``choices.grounded``) need no tool call: the step gives one of them.
        Another closed set constrains the final answer and leaves the tools available. Without one, the
        first step after grounding must open its answer with a value the observations state
        (``protocol.copying_grammar``): tiny models pick the right fact far more often than they
        transcribe it. That grammar copies spans of the text the model was shown, since the point is that
        the answer quotes the observation verbatim; the grounded set is read from the artifacts."""
        choices = self.run.choices
        if choices is not None and choices.grounded:
            return protocol.grammar_for([], allow_actions=False, choices=choices)
        grounded = self._question.grounded
        if step == 1 and grounded and choices is None:
            return protocol.copying_grammar(grounded, self._question.text)
        if self.run.passages:
            return protocol.cited_grammar(self.run.ledger.shown(self.run.passages), choices)
        return protocol.grammar_for(self.tools, choices=choices)

    def step(self, messages: list[BaseMessage], step: int) -> str | None:
        reply = self.run.call_model(messages, purpose="react", step=step, grammar=self._grammar(step))
        text = reply.text
        messages.append(AIMessage(text))
        try:
            parsed = protocol.parse_reply(text)
        except FormatError as exc:
            self.run.emit(ErrorRaised(kind="format", message=str(exc)))
            messages.append(HumanMessage(f"Format error: {exc}"))
            return None
        if parsed.thought:
            self.run.emit(Thought(step=step, text=parsed.thought))
        if isinstance(parsed, protocol.Final):
            return parsed.answer
        outcome = self.run.call_tool(parsed.tool, parsed.args, step=step)
        messages.append(HumanMessage(f"Observation: {protocol.frame_observation(parsed.tool, outcome.text)}"))
        return None

    def final_grammar(self) -> str:
        choices = self.run.choices
        if self.run.passages and not (choices is not None and choices.grounded):
            return protocol.cited_grammar(self.run.ledger.shown(self.run.passages), choices)
        return protocol.grammar_for([], allow_actions=False, choices=choices)

    def read_final(self, reply: str) -> str:
        return final_answer(reply)


class NativeSteps:
    """Native tool calling: the model's tool calls arrive structured, its answer is a reply without any.

    Where the backend takes a grammar (the embedded model, a llama.cpp server with ``endpoint_grammar``),
    the steps that must answer are constrained as the text protocol's are, in the bare form a
    tool-calling model answers in: one of the answers the tools settled (``choices.grounded``), or, first
    after grounding, values copied from the observations with the citation each came from
    (``protocol.copying_answer_grammar``). Those steps are asked of the model without its tools, since
    a grammar and tool calls exclude each other (servers refuse both in one request, or, like
    llama-cpp-python's ``chatml-function-calling``, only honour one). Small models otherwise answer
    from the observations without citing them, or call the grounding tools again.
    """

    def __init__(self, run: Run, tool_calling: Runnable[Any, Any]) -> None:
        self.run = run
        self.tool_calling = tool_calling
        self._question = QuestionTurn()

    def system_prompt(self) -> str:
        return system_prompt(self.run.offered, native=True)

    def open(self, messages: list[BaseMessage], question: str) -> None:
        self._question.open(messages, question, question)

    def record_automatic(
        self, messages: list[BaseMessage], name: str, args: dict[str, Any], outcome: ToolOutcome
    ) -> None:
        """The observation goes under the question, as in the text protocol, not into a tool-call turn
        the model never made: every chat template renders a user turn, while some servers' tool-calling
        formats leave tool results out of the prompt (llama-cpp-python's ``chatml-function-calling``),
        and small models shown a scripted call repeat it instead of answering. The model's own calls
        still come back as tool-call turns."""
        self._question.add(messages, outcome, protocol.frame_observation(name, outcome.text))

    def show_passages(self, messages: list[BaseMessage], passages: list[str]) -> None:
        self._question.passages(messages, passages, "", self.run.choices)

    def _answer_grammar(self, step: int) -> str | None:
        """The grammar of a step that must answer, or None when the model may call tools."""
        if not self.run.backend.grammar:
            return None
        choices = self.run.choices
        if choices is not None and choices.grounded:
            return protocol.answer_grammar(choices)
        grounded = self._question.grounded
        if step == 1 and grounded and choices is None:
            return protocol.copying_answer_grammar(grounded, self._question.text)
        if self.run.passages:
            return protocol.cited_answer_grammar(self.run.ledger.shown(self.run.passages), choices)
        return None

    def step(self, messages: list[BaseMessage], step: int) -> str | None:
        grammar = self._answer_grammar(step)
        if grammar is not None:
            reply = self.run.call_model(messages, purpose="react", step=step, grammar=grammar)
            return reply.text.strip() or EMPTY_ANSWER
        reply = self.run.call_model(messages, purpose="react", step=step, runnable=self.tool_calling)
        content = reply.text.strip()
        if not reply.tool_calls:
            return content or EMPTY_ANSWER
        if content:
            self.run.emit(Thought(step=step, text=content))
        messages.append(reply)
        for call in reply.tool_calls:
            outcome = self.run.call_tool(call["name"], call["args"], step=step)
            messages.append(
                ToolMessage(protocol.frame_observation(call["name"], outcome.text), tool_call_id=call["id"])
            )
        return None

    def final_grammar(self) -> str | None:
        """A closed answer set constrains the tool-free last reply, in the bare form."""
        choices = self.run.choices
        if self.run.passages and not (choices is not None and choices.grounded):
            return protocol.cited_answer_grammar(self.run.ledger.shown(self.run.passages), choices)
        return protocol.answer_grammar(choices) if choices is not None else None

    def read_final(self, reply: str) -> str:
        return reply.strip()
