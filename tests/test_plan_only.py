"""A model that does not pick tools well is offered none; grounding looks up only what a question asks.

Tiny models copy well and choose badly: offered tools, they call chemistry tools with the question as
the molecule until the step limit, and answer worse than with no tools at all. A backend that says so
(``Capabilities.picks_tools=False``, the embedded model) gets the agent's plan instead: grounding and
evidence first run the tools, and the model answers from what it was shown in one call. A question
the plan found nothing for is then asked exactly as bare mode asks it.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from langchain_core.messages import AIMessage

from tests.sampling_fakes import EmbeddedLike
from txscout.agent.api import Agent
from txscout.agent.backends.capabilities import Capabilities
from txscout.agent.plan.grounding import asks_chemistry
from txscout.core.events import RunStarted, ToolCalled
from txscout.core.settings import load_settings
from txscout.tools.chemistry import chemistry_tools, find_molecules

SETTINGS = load_settings(offline=True)
VIGNETTE = (
    "A 45-year-old man who takes lisinopril for hypertension presents with a dry cough for 3 weeks. "
    "What is the most likely cause?\nA. Bradykinin accumulation\nB. Asthma\nC. Reflux\nD. Infection"
)


class PlanOnly(EmbeddedLike):
    """The embedded model's declaration: a grammar per call, and no tools of its own choosing."""

    capabilities: ClassVar[Capabilities] = Capabilities(grammar=True, serial=True, seeded=True, picks_tools=False)


def plan_only(*replies: str) -> PlanOnly:
    return PlanOnly(responses=[AIMessage(r) for r in replies])


def started(answer: object) -> RunStarted:
    return next(e for e in answer.events if isinstance(e, RunStarted))  # type: ignore[attr-defined]


def test_a_model_that_does_not_pick_tools_answers_a_question_with_nothing_found_as_bare_asks_it() -> None:
    react_model = plan_only("Thought: ACE inhibitors raise bradykinin.\nFinal Answer: A")
    bare_model = plan_only("Thought: ACE inhibitors raise bradykinin.\nFinal Answer: A")
    tools = chemistry_tools(SETTINGS)
    react = Agent(model=react_model, tools=tools, mode="react", store=False, offline=True).run(VIGNETTE)
    Agent(model=bare_model, tools=tools, mode="bare", store=False, offline=True).run(VIGNETTE)

    assert [m.content for m in react_model.prompts[0]] == [m.content for m in bare_model.prompts[0]]
    assert react_model.kwargs_seen[0]["grammar"] == bare_model.kwargs_seen[0]["grammar"]
    assert "Action:" not in react_model.kwargs_seen[0]["grammar"]
    choice = started(react).tool_choice
    assert choice["plan_only"] is True and choice["offered"] == []
    assert choice["available"] + len(choice["unusable"]) == len(tools)
    assert react.usage.model_calls == 1 and react.usage.tool_calls == 0
    assert react.text == "A" and react.supported is None  # nothing was searched: no store, offline


def test_a_model_that_does_not_pick_tools_still_gets_grounding_and_answers_from_it_in_one_call() -> None:
    model = plan_only("Thought: The observation gives it.\nFinal Answer: MW 180.16 g/mol [2]")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False).run(
        "What is the molecular weight of aspirin?"
    )

    assert answer.usage.model_calls == 1
    assert {e.tool for e in answer.events if isinstance(e, ToolCalled)} >= {"identify_molecule", "molecule_properties"}
    assert all(e.automatic for e in answer.events if isinstance(e, ToolCalled))
    assert "180.16" in answer.text and answer.citations


def test_a_model_that_picks_tools_is_offered_them() -> None:
    model = EmbeddedLike(responses=[AIMessage("Thought: ACE inhibitors raise bradykinin.\nFinal Answer: A")])
    tools = chemistry_tools(SETTINGS)
    answer = Agent(model=model, tools=tools, mode="react", store=False).run(VIGNETTE)

    choice = started(answer).tool_choice
    assert choice["plan_only"] is False and len(choice["offered"]) == choice["available"] > 0
    assert "Action:" in model.kwargs_seen[0]["grammar"]


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("What are known resistance mechanisms to osimertinib?", False),
        ("What is osimertinib used for?", False),
        ("Does metformin reduce mortality in patients with type 2 diabetes?", False),
        (VIGNETTE, False),
        ("What is imatinib?", True),
        ("Tell me about aspirin and whether it is drug-like.", True),
        ("Describe the structure of caffeine", True),
        ("What is the molecular weight of ibuprofen?", True),
        ("How many carbon atoms does ibuprofen have?", True),
        ("Is aspirin a PAINS hit?", True),
        ("What is the hERG risk of terfenadine?", True),
        ("Which has the higher logP, caffeine or aspirin?", True),
    ],
)
def test_grounding_looks_up_a_molecule_only_when_the_question_asks_its_chemistry(question: str, asks: bool) -> None:
    mentions = [m.mention for m in find_molecules(question) if m.smiles]
    assert mentions, "every question here names a drug"
    assert asks_chemistry(question, mentions) is asks


def test_a_drug_mentioned_in_a_literature_question_is_not_looked_up() -> None:
    model = plan_only(
        "Thought: Resistance arises through C797S.\nFinal Answer: EGFR C797S mutations and MET amplification."
    )
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False).run(
        "What are known resistance mechanisms to osimertinib?"
    )

    assert answer.usage.tool_calls == 0
    assert "C28H33N7O2" not in str(model.prompts[0])


class StateKeeping(EmbeddedLike):
    """The embedded model's declaration in full: it also keeps its state after a prompt."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        grammar=True, serial=True, seeded=True, prompt_state=True, picks_tools=False
    )


def test_the_research_phases_continue_the_conversation_the_draft_was_written_from() -> None:
    samples = ["Bradykinin builds up.\nAnswer: A"] * 5
    model = StateKeeping(
        responses=[
            AIMessage(r) for r in ("Thought: ACE inhibitors raise bradykinin.\nFinal Answer: A", *samples, "NONE")
        ]
    )
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="full", store=False, samples=5).run(VIGNETTE)

    draft_prompt, *later = model.prompts
    assert [str(p[0].content) for p in later] and len(later) == 6, "five samples and the critic"
    for prompt in later:
        assert [m.content for m in prompt[: len(draft_prompt)]] == [m.content for m in draft_prompt]
        assert len(prompt) == len(draft_prompt) + 1, "one new turn: the phase's own task"
    assert "Evidence found since" not in str(later[0][-1].content), "nothing was found after the draft"
    assert answer.confidence == 1.0 and answer.text.endswith("A")
