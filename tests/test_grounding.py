"""Deterministic grounding: molecules in the question are looked up before the model's first step."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.scripted import script
from txscout.agent import protocol
from txscout.agent.api import Agent
from txscout.agent.models import load_model
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


def test_native_protocol_gets_tool_call_turns() -> None:
    model = script("Ibuprofen.", native=True)
    Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react").run(
        "Which has the higher logP, caffeine or ibuprofen?"
    )
    prompt = model.prompts[0]
    calls = [m for m in prompt if isinstance(m, AIMessage)]
    results = [m for m in prompt if isinstance(m, ToolMessage)]
    assert [c.tool_calls[0]["name"] for c in calls][-1] == "compare_molecules"
    assert len(calls) == len(results) == 5
    assert all(c.content == "" for c in calls), "content beside tool calls is an empty string, never None"
    assert "Highest: Ibuprofen" in results[-1].content


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
    from txscout.agent.grounding import plan
    from txscout.agent.loop import Run

    run = Run(model=script(), tools=chemistry_tools(SETTINGS), settings=SETTINGS, emit=lambda _e: None)
    admet = dict(plan(run, "Is imatinib mutagenic in the Ames test, and what is its half-life?"))["predict_admet"]
    assert admet["endpoints"] == ["AMES", "Half_Life_Obach"] and isinstance(admet["molecules"], list)
    question = "Which has the most rotatable bonds: aspirin, caffeine, ibuprofen or paracetamol?"
    calls = plan(run, question)
    compare = dict(calls)["compare_molecules"]
    assert compare["property"] == "rotatable_bonds" and len(compare["molecules"]) == 4
    assert sum(tool == "molecule_properties" for tool, _ in calls) == 3, "lookups stay within MAX_LINKED"
