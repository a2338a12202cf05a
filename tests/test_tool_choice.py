"""Which tools a run offers: only those that can work (network, configuration), the most relevant when
more can than the cap allows, description embeddings cached by hash, and a question handed to a tool
as its molecule refused with a hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from langchain_core.tools import StructuredTool

from tests.fake_embedder import HashEmbedder
from tests.scripted import script
from txscout.agent.api import Agent
from txscout.agent.arguments import reads_as_sentence
from txscout.agent.plan.tool_choice import DescriptionVectors, ToolChooser
from txscout.agent.toolbox import default_tools
from txscout.core.events import RunStarted, ToolResult
from txscout.core.settings import load_settings
from txscout.core.toolkit import needs_network, unusable

ROOT = Path(__file__).resolve().parents[1]
NETWORK_TOOLS = {"pubmed_search", "pubmed_fetch", "web_search", "read_url"}


def started(answer: object) -> RunStarted:
    return next(e for e in answer.events if isinstance(e, RunStarted))  # type: ignore[attr-defined]


def test_built_in_tools_declare_whether_they_need_the_network() -> None:
    tools = {t.name: t for t in default_tools(load_settings())}
    assert {name for name, tool in tools.items() if needs_network(tool)} == NETWORK_TOOLS
    assert unusable(tools["pubmed_search"], offline=True) == "needs the network, and the network is off (--offline)"
    assert unusable(tools["pubmed_search"], offline=False) is None
    assert "predictor_url" in (unusable(tools["predict_tdc"], offline=False) or "")
    configured = default_tools(load_settings(predictor_url="http://127.0.0.1:9/v1", predictor_model="txgemma"))
    predictor = next(t for t in configured if t.name == "predict_tdc")
    assert unusable(predictor, offline=True) is None  # a predictor on this machine works offline


def test_an_offline_run_offers_no_network_tool_and_refuses_a_call_to_one() -> None:
    model = script(
        'Thought: search PubMed.\nAction: pubmed_search\nAction Input: {"query": "EGFR inhibitor resistance"}',
        "Thought: nothing.\nFinal Answer: The sources available offline do not say.",
    )
    agent = Agent(model=model, mode="react", offline=True, store=False)
    answer = agent.run("What are known resistance mechanisms to EGFR inhibitors in lung cancer?")
    run = started(answer)
    assert NETWORK_TOOLS.isdisjoint(run.tools) and {"memory_search", "identify_molecule"} <= set(run.tools)
    assert set(run.tool_choice["unusable"]) == NETWORK_TOOLS | {"predict_tdc"}
    system = str(model.prompts[0][0].content)
    assert "- pubmed_search:" not in system and "- memory_search:" in system
    refused = next(e for e in answer.events if isinstance(e, ToolResult) and e.tool == "pubmed_search")
    assert refused.is_error and "was not called" in refused.output and "offline" in refused.output
    assert answer.usage.tool_calls == 0


def test_online_the_default_tools_fit_the_cap_and_keep_their_order() -> None:
    model = script("Thought: done.\nFinal Answer: unknown", "Thought: done.\nFinal Answer: unknown")
    agent = Agent(model=model, mode="react", store=False)
    question = "What are known resistance mechanisms to EGFR inhibitors in lung cancer?"
    run = started(agent.run(question))
    usable = [t.name for t in agent.tools if t.name != "predict_tdc"]
    assert run.tools == usable and set(run.tools) >= NETWORK_TOOLS
    assert run.tool_choice["scores"] == {}  # not ranked: the system prompt stays the same for every question
    agent.settings = agent.settings.model_copy(update={"offline": True})  # the TUI's network switch
    assert NETWORK_TOOLS.isdisjoint(started(agent.run(question)).tools)


def _tool(name: str, description: str) -> StructuredTool:
    return StructuredTool.from_function(func=lambda query: query, name=name, description=description)


def test_past_the_cap_the_most_relevant_tools_and_grounding_tools_are_offered() -> None:
    tools = [
        _tool("bed_forecast", "Forecast hospital bed occupancy from daily admissions"),
        _tool("venom_lookup", "Find antivenoms for a snake species"),
        _tool("dose_planner", "Plan a dose escalation for a phase I trial"),
        _tool("identify_molecule", "Identify a molecule from its name"),
    ]
    chooser = ToolChooser(encoder=HashEmbedder())
    settings = load_settings(max_offered_tools=2)
    choice = chooser.choose("Which antivenoms treat a bite from this snake species?", tools, settings)
    assert choice.offered[0] == "venom_lookup" and len(choice.offered) == 2 and choice.available == 4
    kept = chooser.choose(
        "Plan the dose escalation of my phase I trial", tools, settings, keep=lambda: ["identify_molecule"]
    )
    assert kept.offered == ["dose_planner", "identify_molecule"]  # declared order, grounding's tool kept
    assert kept.kept == ["identify_molecule"]
    named = chooser.choose("Use bed_forecast for the snake species antivenoms", tools, settings)
    assert "bed_forecast" in named.offered  # a tool the question names ranks first


def test_tools_are_ranked_by_meaning_not_only_shared_words(embedder: object) -> None:
    tools = [
        *default_tools(load_settings()),
        _tool("venom_lookup", "Find antivenoms that neutralise the venom of a snake species"),
        _tool("bed_forecast", "Forecast intensive-care bed occupancy from daily admissions"),
        _tool("dose_planner", "Plan a dose-escalation scheme for a phase I trial"),
    ]
    chooser = ToolChooser(encoder=embedder)  # type: ignore[arg-type]
    settings = load_settings(max_offered_tools=3)
    assert (
        "venom_lookup" in chooser.choose("What should be given to someone bitten by a cobra?", tools, settings).offered
    )
    assert "bed_forecast" in chooser.choose("Will our ICU run out of beds next week?", tools, settings).offered


def test_description_embeddings_are_cached_by_hash_across_processes(tmp_path: Path) -> None:
    texts = [f"tool {i}: does thing number {i}" for i in range(50)]
    counting = f"""
import sys, numpy as np
sys.path.insert(0, {str(ROOT)!r})
from tests.fake_embedder import HashEmbedder
from txscout.agent.plan.tool_choice import DescriptionVectors
class Counting(HashEmbedder):
    seen = 0
    def encode(self, texts, batch_size=64):
        Counting.seen += len(texts)
        return super().encode(texts)
texts = {texts!r} + sys.argv[1:]
vectors = DescriptionVectors(Counting(), __import__("pathlib").Path({str(tmp_path)!r})).vectors(texts)
print(Counting.seen, vectors.shape[0])
"""

    def embedded(*extra: str) -> tuple[int, int]:
        done = subprocess.run([sys.executable, "-c", counting, *extra], capture_output=True, text=True, check=True)
        seen, rows = done.stdout.split()
        return int(seen), int(rows)

    assert embedded() == (50, 50)
    assert embedded() == (0, 50)  # the next process reads them from disk
    assert embedded("tool 50: a new description") == (1, 51)
    in_process = DescriptionVectors(HashEmbedder(), tmp_path).vectors(texts[:3])
    assert np.allclose(in_process, HashEmbedder().encode(texts[:3]))


def test_a_question_given_as_the_molecule_is_refused_with_a_hint() -> None:
    question = "Does aspirin reduce the risk of colorectal cancer in adults?"
    model = script(
        f"Thought: look it up.\nAction: molecule_properties\nAction Input: {json.dumps({'molecule': question})}",
        "Thought: ok.\nFinal Answer: unsure",
    )
    agent = Agent(model=model, mode="react", offline=True, store=False)
    answer = agent.run(question)
    mine = [e for e in answer.events if isinstance(e, ToolResult) and e.step == 1]
    assert len(mine) == 1 and mine[0].is_error
    assert "was not called" in mine[0].output and "takes a molecule" in mine[0].output
    automatic = [e for e in answer.events if isinstance(e, ToolResult) and e.step == 0]
    assert answer.usage.tool_calls == len(automatic)  # grounding's calls ran; the refused one did not
    assert "takes a molecule" in str(model.prompts[1][-1].content)


def test_names_are_not_sentences_and_sentences_are() -> None:
    question = "What is the logP of aspirin?"
    for name in ("aspirin", "acetylsalicylic acid", "ethyl ester of acetic acid", "CC(=O)Oc1ccccc1C(=O)O"):
        assert not reads_as_sentence(name, question)
    for sentence in (question, "what is the logP of aspirin", "Is it safe to give this drug to the elderly?"):
        assert reads_as_sentence(sentence, question)
