"""The three modes' pipelines, from a started run to the draft its answer is made from.

* ``bare``: one model call, no tools, the ablation baseline.
* ``react``: chemistry grounding and evidence first (``agent.plan``), then the ReAct loop
  (``agent.react``) until the model answers or a budget sends it to its answer step.
* ``full``: react, then uncertainty-guided sampling and self-critique (``agent.research``), each with
  a share of the run's budget kept for it, so every full answer is sampled, has a confidence and is
  critiqued.

The question screen runs first in every mode and refuses before any model call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.messages import HumanMessage, SystemMessage

from txscout.agent import protocol
from txscout.agent.react import NO_ANSWER, Draft, ReactPhase
from txscout.agent.result import Outcome
from txscout.agent.safety import screen_question
from txscout.agent.steps import final_answer, strategy_for

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from txscout.agent.run import Run
    from txscout.core.settings import Mode
    from txscout.memory.store import EvidenceStore

SAMPLING_RESERVE = 0.25
CRITIQUE_RESERVE = 0.15
"""The shares of the run's time and tokens that full mode keeps for sampling and for critique: the ReAct
phase (answer step included) leaves both, sampling leaves critique's, so every full answer is sampled
and has a confidence, and is critiqued."""


def answer(
    run: Run,
    question: str,
    mode: Mode,
    *,
    tool_calling: Runnable[Any, Any] | None,
    store: EvidenceStore | None,
) -> Outcome:
    """The draft ``mode`` produces. ``tool_calling`` is the model with the run's tools bound when it calls
    tools natively; ``store`` is the evidence store evidence first searches."""
    if screen_question(question, run.emit):
        return Outcome(Draft(""))  # the refusal replaces it in result.conclude
    if mode == "bare":
        return Outcome(bare(run, question))
    if mode != "full":
        return Outcome(react(run, question, tool_calling, store))
    return full(run, question, tool_calling, store)


def bare(run: Run, question: str) -> Draft:
    """One model call, no tools: the ablation baseline. A question too long for the model's
    context (or any other budget) ends as an incomplete answer saying so, like the other modes."""
    with run.limited() as budget:
        return Draft(_bare_answer(run, question))
    return Draft(NO_ANSWER, incomplete=True, reason=budget.reason)


def react(run: Run, question: str, tool_calling: Runnable[Any, Any] | None, store: EvidenceStore | None) -> Draft:
    """Grounding and evidence first inside the phase's spending block, then the ReAct loop."""
    from txscout.agent.plan.evidence_first import gather
    from txscout.agent.plan.grounding import ground

    phase = ReactPhase(run, strategy_for(run, tool_calling))
    phase.start(question)
    with run.limited(), phase.spending():
        ground(run, question, phase)
        gather(run, question, phase, store)
    return phase.execute()


def full(run: Run, question: str, tool_calling: Runnable[Any, Any] | None, store: EvidenceStore | None) -> Outcome:
    """React with sampling's and critique's shares kept back, then sampling, then critique."""
    from txscout.agent.research.critique import critique_and_revise
    from txscout.agent.research.uncertainty import resolve_uncertainty

    with run.reserving(SAMPLING_RESERVE + CRITIQUE_RESERVE):
        draft = react(run, question, tool_calling, store)
    if run.safety:  # a flagged draft is replaced, not refined
        return Outcome(draft)
    # Sampling runs on an incomplete draft too: the majority of the samples is then the answer.
    with run.reserving(CRITIQUE_RESERVE):
        settled = resolve_uncertainty(run, question, draft.text)
    if run.safety:  # a search flagged a structure: the refusal replaces the draft, so no critique
        return Outcome(Draft(""))
    if settled.answer != draft.text:
        draft = Draft(settled.answer, reason=draft.reason)
    revised = critique_and_revise(run, question, draft.text)
    return Outcome(
        Draft(revised, draft.incomplete, draft.reason), confidence=settled.confidence, entropies=settled.entropies
    )


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
