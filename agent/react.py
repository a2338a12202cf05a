"""The ReAct loop: question -> (thought, tool call, observation)* -> draft answer.

:class:`ReactPhase` drives the model through tool use until it answers or a budget ends the tool use,
then its answer step makes it answer. How a step asks for tools and reads the answer is the strategy's
business (``agent.steps``); the run's services (``agent.run``) make the calls.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from txscout.core.errors import LimitReached

if TYPE_CHECKING:
    from txscout.agent.run import Run
    from txscout.agent.steps import StepStrategy
    from txscout.agent.tool_calls import ToolOutcome

NO_ANSWER = "No answer could be formed within the budget."


@dataclass
class Draft:
    """A phase's answer. ``incomplete`` when no answer could be formed; ``reason`` says why, or how the
    answer was reached when a limit ended the tool use before it."""

    text: str
    incomplete: bool = False
    reason: str = ""


ANSWER_RESERVE = 0.15
"""The share of the run's time and tokens the tool-using steps leave for the answer step, so a run that
spends its budget on tools still has the means to answer."""


class ReactPhase:
    """Drives the model through tool use until it answers or a budget ends the tool use; then the
    answer step makes it answer.

    How a step asks for tools and reads the answer is the ``steps`` strategy's business (the text
    protocol or native tool calling, ``agent.steps``); the phase owns the transcript and the budgets.
    """

    def __init__(self, run: Run, steps: StepStrategy) -> None:
        self.run = run
        self.steps = steps
        self.messages: list[BaseMessage] = [SystemMessage(steps.system_prompt())]

    def start(self, question: str) -> None:
        self.steps.open(self.messages, question)

    def spending(self) -> contextlib.AbstractContextManager[None]:
        """The block in which the phase spends the run's budgets before its answer step: grounding,
        evidence-first and the tool-using steps leave :data:`ANSWER_RESERVE` of them untouched."""
        return self.run.reserving(ANSWER_RESERVE)

    def record_automatic(self, name: str, args: dict[str, Any], outcome: ToolOutcome) -> None:
        """Show the model a call the agent made itself (grounding) before its first step."""
        self.steps.record_automatic(self.messages, name, args, outcome)

    def show_passages(self, passages: list[str]) -> None:
        """Show the model the passages evidence-first kept, before its first step."""
        self.steps.show_passages(self.messages, passages)

    def execute(self) -> Draft:
        """The model's answer, or the best one a budget allows. Once a tool flags a structure the
        model is not asked again: the refusal replaces whatever it would write (``Agent``)."""
        with self.run.limited() as budget, self.spending():
            while not self.run.safety:
                self.run.steps += 1
                if self.run.steps > self.run.settings.max_steps:
                    raise LimitReached(f"step limit of {self.run.settings.max_steps} reached")
                before = len(self.messages)
                answer = self.steps.step(self.messages, self.run.steps)
                if answer is not None:
                    self._keep_transcript(self.messages[:before])
                    return Draft(answer)
        if self.run.safety:
            return Draft("")
        return self._answer_step(budget.reason)

    def _keep_transcript(self, messages: list[BaseMessage]) -> None:
        """Hand the research phases the conversation the answer is written from, so a model that keeps its
        state after a prompt reads only their own turn (``research.searcher.phase_prompt``)."""
        self.run.transcript = list(messages)
        self.run.transcript_evidence = len(self.run.ledger.items)

    def _answer_step(self, reason: str) -> Draft:
        """A limit ended the tool use before the model answered: one last call without tools, under the
        answer grammar (the closed set, or citations of the passages shown), asks for the answer from
        what the run gathered. That answer is the run's, with ``reason`` saying how it was reached; the
        run is incomplete only when even this call cannot be made or its reply holds no answer, and then
        its text says so rather than passing off a thought or the prompt as an answer."""
        self._keep_transcript(self.messages)
        with self.run.limited() as budget:
            prompt = [
                *self.messages,
                HumanMessage(f"{reason}. No more tools. Give your Final Answer now, from the observations above."),
            ]
            reply = self.run.call_model(
                prompt, purpose="finalize", step=self.run.steps, grammar=self.steps.final_grammar()
            )
            text = self.steps.read_final(reply.text)
            if text:
                return Draft(text, reason=f"{reason}; answered from what the run had gathered")
        return Draft(NO_ANSWER, incomplete=True, reason=budget.reason or f"{reason}; the last reply held no answer")
