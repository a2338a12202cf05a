"""Deterministic grounding: molecules in the question are looked up before the model's first step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.sampling_fakes import EmbeddedLike
from tests.scripted import script
from txscout.agent import protocol
from txscout.agent.answers import Choices
from txscout.agent.api import Agent
from txscout.agent.backends.models import load_model
from txscout.core.settings import load_settings
from txscout.tools.chemistry import chemistry_tools

SETTINGS = load_settings(offline=True)


def test_text_protocol_gets_observations_under_the_question() -> None:
    model = script("Thought: The observation gives it.\nFinal Answer: C9H8O4 [1]")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", protocol="text").run(
        "What is the molecular formula of aspirin?"
    )
    auto = [e for e in answer.events if e.type == "tool_call"]
    assert {e.tool for e in auto} == {"identify_molecule", "molecule_properties"} and all(e.automatic for e in auto)
    prompt = model.prompts[0]
    assert not any(isinstance(m, AIMessage) for m in prompt)
    question = prompt[-1]
    assert isinstance(question, HumanMessage) and question.content.startswith("Question: What is the molecular")
    assert "C9H8O4" in question.content and question.content.count("<observation") == 2
    assert answer.text == "C9H8O4 [1]" and answer.citations[0].source_kind == "tool"


def test_native_protocol_gets_observations_under_the_question_too() -> None:
    """Not as tool-call turns the model never made: some servers' formats drop tool results."""
    model = script("Ibuprofen.", native=True)
    Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react").run(
        "Which has the higher logP, caffeine or ibuprofen?"
    )
    prompt = model.prompts[0]
    assert not any(isinstance(m, AIMessage | ToolMessage) for m in prompt)
    question = prompt[-1]
    assert isinstance(question, HumanMessage) and question.content.startswith("Which has the higher logP")
    assert question.content.count("<observation") == 5
    assert "Highest: Ibuprofen" in question.content


def test_no_molecules_no_grounding() -> None:
    model = script("Thought: nothing to look up.\nFinal Answer: no")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react").run("Is the sky blue?")
    assert not [e for e in answer.events if e.type == "tool_call"]


def test_copying_grammar_makes_embedded_model_open_with_an_observed_value() -> None:
    observations = ["Metformin: C4H11N5, MW 129.17 g/mol, HBD 5, HBA 5, logP -1.03"]
    model = load_model("local:smollm2", SETTINGS)
    reply = model.invoke(
        [
            HumanMessage(
                f"Question: How many hydrogen bond donors does metformin have?\n\nObservation: {observations[0]}"
            )
        ],
        grammar=protocol.copying_grammar(observations),
    )
    parsed = protocol.parse_reply(reply.content)
    assert isinstance(parsed, protocol.Final)
    assert any(parsed.answer.startswith(fact) for fact in protocol.facts(observations))


def test_plan_predicts_the_endpoints_the_question_names_and_compares_every_named_molecule() -> None:
    from txscout.agent.plan.grounding import plan
    from txscout.agent.run import Run

    run = Run(model=script(), tools=chemistry_tools(SETTINGS), settings=SETTINGS, emit=lambda _e: None)
    admet = dict(plan(run, "Is imatinib mutagenic in the Ames test, and what is its half-life?"))["predict_admet"]
    assert admet["endpoints"] == ["AMES", "Half_Life_Obach"] and isinstance(admet["molecules"], list)
    question = "Which has the most rotatable bonds: aspirin, caffeine, ibuprofen or paracetamol?"
    calls = plan(run, question)
    compare = dict(calls)["compare_molecules"]
    assert compare["property"] == "rotatable_bonds" and len(compare["molecules"]) == 4
    assert sum(tool == "molecule_properties" for tool, _ in calls) == 3, "lookups stay within MAX_LINKED"


class NativeEmbeddedLike(EmbeddedLike):
    """Takes a grammar as the embedded model does and calls tools natively; a call made with the tools
    bound is recorded with their names, so a test sees which steps offered them."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self.bind(tools=[t.name for t in tools])


def test_native_grammar_backend_answers_a_settled_property_with_the_tools_value_and_its_citation() -> None:
    model = NativeEmbeddedLike(responses=[AIMessage("C9H8O4 [1]")])
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False, protocol="native").run(
        "What is the molecular formula of aspirin?"
    )
    (seen,) = model.kwargs_seen
    assert "tools" not in seen, "a step that must answer is asked without the tools"
    assert seen["grammar"] == protocol.answer_grammar(Choices(answers=["C9H8O4 [1]"]))
    assert answer.text == "C9H8O4 [1]" and answer.citations[0].locator == "computed by identify_molecule"
    started = answer.events[0]
    assert started.type == "run_started" and started.protocol == "native"


def test_native_grammar_backend_copies_cited_values_first_after_grounding_then_may_call_tools() -> None:
    model = NativeEmbeddedLike(responses=[AIMessage("logP 1.31 [2], within Lipinski's limit.")])
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False, protocol="native").run(
        "Tell me about aspirin and whether it is drug-like."
    )
    (seen,) = model.kwargs_seen
    grammar = seen["grammar"]
    assert "tools" not in seen and grammar.startswith("root ::= fact")
    fact_rule = next(line for line in grammar.splitlines() if line.startswith("fact ::="))
    facts = [json.loads(f) for f in fact_rule.removeprefix("fact ::= ").split(" | ")]
    assert {"C9H8O4 [1]", "MW 180.16 g/mol [1]", "logP 1.31 [2]"} <= set(facts)
    assert not {"C9H8O4 [2]", "logP 1.31 [1]"} & set(facts), "each value cites the observation stating it"
    sources = {c.ref: c.locator for c in answer.citations}
    assert sources == {2: "computed by molecule_properties"}


def test_native_grammar_backend_offers_tools_when_nothing_was_grounded() -> None:
    model = NativeEmbeddedLike(responses=[AIMessage("Blue, by Rayleigh scattering.")])
    agent = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False, protocol="native")
    agent.run("Why is the sky blue?")
    (seen,) = model.kwargs_seen
    assert "grammar" not in seen and "identify_molecule" in seen["tools"]


def test_plan_runs_the_alert_or_group_tool_a_question_asks_about() -> None:
    from txscout.agent.plan.grounding import plan
    from txscout.agent.run import Run

    run = Run(model=script(), tools=chemistry_tools(SETTINGS), settings=SETTINGS, emit=lambda _e: None)
    assert ("structural_alerts", {"molecule": "CC(=O)Oc1ccccc1C(=O)O"}) in plan(run, "Is aspirin a PAINS hit?")
    groups = [tool for tool, _ in plan(run, "Which functional groups do aspirin and caffeine have?")]
    assert groups.count("functional_groups") == 2 and "structural_alerts" not in groups
    assert not {"structural_alerts", "functional_groups"} & {t for t, _ in plan(run, "What is the logP of aspirin?")}
