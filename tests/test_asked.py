"""The asked property is the answer: wording linked to one property, its values read from the tool
artifacts, and every phase (ReAct, uncertainty, critique) constrained to them; closed sets stay
gradable in every mode. Models are scripted stand-ins that declare the embedded model's capabilities,
so the test reads the grammar each call was given; one test runs the real embedded model."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool, tool
from rdkit import Chem
from rdkit.Chem import Descriptors, rdMolDescriptors

from tests.sampling_fakes import EmbeddedLike, locked
from txscout.agent.answers import Choices
from txscout.agent.api import Agent
from txscout.agent.plan.asked import asked_property, asked_set
from txscout.agent.research.uncertainty import SETTLED
from txscout.core.events import ModelCall, Revision, UncertaintyRound
from txscout.core.settings import load_settings
from txscout.tools.chemistry import chemistry_tools

SETTINGS = load_settings(offline=True)
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
SMILES = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1c(=O)c2c(ncn2C)n(C)c1=O",
    "ibuprofen": IBUPROFEN,
    "paracetamol": "CC(=O)Nc1ccc(O)cc1",
}


def embedded(*replies: str) -> EmbeddedLike:
    return EmbeddedLike(responses=[AIMessage(r) for r in replies])


def grammars(model: EmbeddedLike) -> list[str]:
    return [kw.get("grammar", "") for kw in model.kwargs_seen]


def admitted_options(grammar: str) -> list[str]:
    """The alternatives of a grammar's ``option`` rule: what the answer may be."""
    (rule,) = re.findall(r"^option ::= (.*)$", grammar, re.MULTILINE)
    return re.findall(r'"((?:[^"\\]|\\.)*)"', rule)


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("What is the molecular weight of ibuprofen?", "molecular_weight"),
        ("What is the molar mass of aspirin?", "molecular_weight"),
        ("What's the exact mass of caffeine?", "exact_mass"),
        ("What is the molecular formula of aspirin?", "formula"),
        ("How many H-bond donors does metformin have?", "hbd"),
        ("How many hydrogen bond acceptors does caffeine have?", "hba"),
        ("What is the cLogP of ibuprofen?", "logp"),
        ("What is the polar surface area of paracetamol?", "tpsa"),
        ("How many stereocenters does morphine have?", "stereocentres"),
        ("Is imatinib Lipinski compliant?", "lipinski"),
        ("How many Lipinski violations does cyclosporine have?", "lipinski_violations"),
        ("How many violations of Lipinski's rule of five does imatinib have?", "lipinski_violations"),
        ("What is the QED of aspirin?", "qed"),
        ("What is imatinib's predicted hERG liability?", "hERG"),
        ("Is caffeine predicted to cross the blood-brain barrier?", "BBB_Martins"),
        ("Is aspirin a CYP3A4 inhibitor?", "CYP3A4_Veith"),
        ("Which is heavier, aspirin or ibuprofen?", "molecular_weight"),
        # none, several, or something else asked besides: no single property
        ("Is imatinib Lipinski compliant, and what is its hERG risk?", None),
        ("What are the molecular formula and weight of aspirin?", None),
        ("How many hydrogen bond donors and acceptors does caffeine have?", None),
        ("Can kidney donors take ibuprofen?", None),
        ("Does metformin reduce body weight?", None),
        ("Can infant formula be mixed with amoxicillin?", None),
        ("Does imatinib shrink a mass of the stomach wall?", None),
        ("What is the half-life of ibuprofen?", None),
        ("What is the mechanism of action of aspirin?", None),
    ],
)
def test_wording_links_one_asked_property(question: str, key: str | None) -> None:
    prop = asked_property(question)
    assert (prop.key if prop else None) == key


def lookalike(name: str, text: str) -> BaseTool:
    """A grounding tool whose rendered text lies: its artifact is the real tool's, its text is not."""
    real = {t.name: t for t in chemistry_tools(SETTINGS)}[name]

    @tool(name, response_format="content_and_artifact")
    def fake(molecule: str) -> tuple[str, Any]:
        """Look a molecule up."""
        call = {"name": name, "args": {"molecule": molecule}, "id": "x", "type": "tool_call"}
        return text, real.invoke(call).artifact

    return fake


def test_the_answer_is_constrained_to_the_value_in_the_artifact_not_the_text() -> None:
    tools = [lookalike("identify_molecule", "Ibuprofen: C1H1"), lookalike("molecule_properties", "MW 999.99, HBD 7")]
    model = embedded("Thought: The observation gives the weight.\nFinal Answer: 206.28 g/mol [2]")
    answer = Agent(model=model, tools=tools, mode="react", store=False).run(
        "What is the molecular weight of ibuprofen?"
    )

    (grammar,) = grammars(model)
    expected = f"{Descriptors.MolWt(Chem.MolFromSmiles(IBUPROFEN)):.2f} g/mol"
    assert [re.sub(r" \[\d+\]$", "", o) for o in admitted_options(grammar)] == [expected]
    assert "999.99" not in grammar and "HBD" not in grammar
    assert "Action:" not in grammar, "the tools settled the answer: no tool call is offered"
    assert answer.text.startswith(expected)


@pytest.mark.parametrize("word", ["higher", "lower"])
def test_a_comparison_admits_only_the_winner_named_as_the_question_names_it(word: str) -> None:
    from rdkit.Chem import Crippen

    model = embedded("Thought: The comparison gives it.\nFinal Answer: x")
    Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False).run(
        f"Which has the {word} logP, caffeine or ibuprofen?"
    )

    logp = {n: Crippen.MolLogP(Chem.MolFromSmiles(SMILES[n])) for n in ("caffeine", "ibuprofen")}
    winner = (max if word == "higher" else min)(logp, key=logp.__getitem__)
    (option,) = admitted_options(grammars(model)[0])
    assert option.startswith(f"{winner} (logP {logp[winner]:.2f} vs ")


def test_a_multiple_choice_comparison_is_narrowed_to_the_winning_option() -> None:
    question = "Which of these has the lowest TPSA?\nA. aspirin\nB. caffeine\nC. ibuprofen\nD. paracetamol"
    tpsa = [rdMolDescriptors.CalcTPSA(Chem.MolFromSmiles(SMILES[n])) for n in SMILES]
    winner = "ABCD"[tpsa.index(min(tpsa))]
    model = embedded(f"Thought: The comparison gives it.\nFinal Answer: {winner}")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False).run(question)

    compared = [e for e in answer.events if e.type == "tool_call" and e.tool == "compare_molecules"]
    assert len(compared) == 1 and len(compared[0].args["molecules"]) == 4, "every option is compared"
    assert admitted_options(grammars(model)[0]) == [winner]
    assert answer.text == winner


def test_a_question_asking_two_properties_admits_both_values_in_table_order() -> None:
    model = embedded("Thought: Both are given.\nFinal Answer: x")
    Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False).run(
        "What are the molecular weight and the molecular formula of ibuprofen?"
    )
    mol = Chem.MolFromSmiles(IBUPROFEN)
    (option,) = admitted_options(grammars(model)[0])
    formula, weight = rdMolDescriptors.CalcMolFormula(mol), f"{Descriptors.MolWt(mol):.2f} g/mol"
    assert re.fullmatch(rf"{formula} \[\d+\]; {weight} \[\d+\]", option)


def test_a_question_the_table_does_not_cover_keeps_the_copying_grammar() -> None:
    model = embedded("Thought: The formula gives it.\nFinal Answer: C13H18O2")
    Agent(model=model, tools=chemistry_tools(SETTINGS), mode="react", store=False).run(
        "How many carbon atoms does ibuprofen have?"
    )
    (grammar,) = grammars(model)
    assert "fact ::= " in grammar and "option ::= " not in grammar


def test_an_answer_the_tools_settled_is_not_sampled_and_has_full_confidence() -> None:
    model = embedded("Thought: The observation gives it.\nFinal Answer: 0 hydrogen bond donors [2]")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="full", store=False).run(
        "How many hydrogen bond donors does caffeine have?"
    )

    purposes = [e.purpose for e in answer.events if isinstance(e, ModelCall)]
    assert purposes == ["react"], "neither sampled nor put to the model critic"
    (settled,) = [e for e in answer.events if isinstance(e, UncertaintyRound)]
    assert settled.decision == SETTLED and settled.samples == []
    assert answer.confidence == 1.0 and answer.text.startswith("0 hydrogen bond donors")


def test_samples_of_a_copied_draft_are_drawn_under_the_copying_rule() -> None:
    draft = "Thought: The formula gives it.\nFinal Answer: C13H18O2"
    samples = [
        f"The evidence states it.\nAnswer: {a}"
        for a in ("C13H18O2", "C13H18O2", "MW 206.28 g/mol", "C13H18O2", "HBD 1")
    ]
    model = embedded(draft, *samples, "NONE")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="full", store=False, samples=5).run(
        "How many carbon atoms does ibuprofen have?"
    )

    sampled = grammars(model)[1:6]
    assert len(set(sampled)) == 1 and 'answer ::= fact ( "; " fact ){0,3}' in sampled[0]
    assert '"C13H18O2"' in sampled[0] and '"MW 206.28 g/mol"' in sampled[0]
    assert answer.confidence == pytest.approx(0.6)


LABELS = Choices(answers=["yes", "no", "maybe"])
PUBMEDQA = "Context: A small trial of 40 patients.\n\nQuestion: Does drug X lower blood pressure?"


def test_labels_constrain_samples_and_the_revision_in_full_mode() -> None:
    samples = [f"The trial suggests it.\nAnswer: {a}" for a in ("yes", "yes", "maybe", "yes", "no")]
    critic = "UNANSWERED: the answer gives no reason for its verdict"
    model = embedded(
        "Thought: The context says so.\nFinal Answer: yes", *samples, critic, "The trial was small.\nAnswer: maybe"
    )
    answer = Agent(model=model, tools=[], mode="full", store=False, samples=5).run(PUBMEDQA, choices=LABELS)

    calls = [e.purpose for e in answer.events if isinstance(e, ModelCall)]
    assert calls == ["react", *["uncertainty"] * 5, "critique", "revision"]
    sample_grammar, revision_grammar = grammars(model)[1], grammars(model)[-1]
    assert admitted_options(sample_grammar) == ["yes", "no", "maybe"]
    assert admitted_options(revision_grammar) == ["yes", "no", "maybe"]
    assert answer.confidence == pytest.approx(0.6)
    assert LABELS.pick(answer.text) == "yes", "a revision may not change the label without citing evidence"
    assert any("without citing evidence" in getattr(e, "message", "") for e in answer.events)


def test_a_revision_that_drops_the_choice_is_refused() -> None:
    """An endpoint takes no grammar: a revision stating no label would make the answer ungradable."""
    samples = [f"The trial suggests it.\nAnswer: {a}" for a in ("yes",) * 5]
    critic = "UNANSWERED: the answer gives no reason for its verdict"
    model = locked(
        "Thought: The context says so.\nFinal Answer: yes", *samples, critic, "The trial was small and short."
    )
    answer = Agent(model=model, tools=[], mode="full", store=False, samples=5).run(PUBMEDQA, choices=LABELS)

    assert not [e for e in answer.events if isinstance(e, Revision)]
    assert answer.text == "yes" and LABELS.pick(answer.text) == "yes"


def test_the_embedded_model_answers_a_property_question_with_the_right_value() -> None:
    settings = load_settings(offline=True, mode="react", max_steps=3)
    agent = Agent(model="local:smollm2", tools=chemistry_tools(settings), settings=settings, store=False)
    answer = agent.run("What is the topological polar surface area of paracetamol?")

    expected = rdMolDescriptors.CalcTPSA(Chem.MolFromSmiles(SMILES["paracetamol"]))
    stated = float(re.match(r"-?\d+(?:\.\d+)?", answer.text).group())  # type: ignore[union-attr]
    assert abs(stated - expected) <= 0.01 * expected


@pytest.mark.parametrize(
    ("question", "keys"),
    [
        ("How many rule-of-five criteria does atorvastatin violate?", ["lipinski_violations"]),
        ("Can gefitinib cross into the CNS, i.e. is it brain penetrant?", ["BBB_Martins"]),
        ("Is aspirin a PAINS hit?", ["PAINS"]),
        ("Which functional groups does aspirin have?", ["functional_groups"]),
        ("Does erlotinib pass Veber's rules?", ["Veber"]),
        ("What is the SMILES of erlotinib and how many H-bond donors does it have?", ["smiles", "hbd"]),
        # a part the table does not cover leaves the whole question open, not answered in part
        ("What is the molecular weight of aspirin and which enzyme does it inhibit?", []),
        ("What is the logP of aspirin; is it sold over the counter?", []),
        # a multiple-choice question's options are not asks of their own
        ("Which has the lowest TPSA?\nA. aspirin\nB. caffeine", ["tpsa"]),
    ],
)
def test_wording_beyond_the_property_names(question: str, keys: list[str]) -> None:
    assert [p.key for p in asked_set(question)] == keys


def run_grounded(question: str, *, mode: str = "react") -> tuple[Agent, Any, EmbeddedLike]:
    model = embedded("Thought: The observation gives it.\nFinal Answer: x")
    agent = Agent(model=model, tools=chemistry_tools(SETTINGS), mode=mode, store=False, offline=True)
    return agent, agent.run(question), model


def tool_artifact(name: str, **args: Any) -> Any:
    real = {t.name: t for t in chemistry_tools(SETTINGS)}[name]
    return real.invoke({"name": name, "args": args, "id": "x", "type": "tool_call"}).artifact


def level(percentile: float) -> str:
    return "high" if percentile >= 75 else "low" if percentile < 25 else "moderate"


@pytest.mark.parametrize(
    ("question", "drug", "endpoint", "meaning", "noun"),
    [
        ("What is the hERG risk of imatinib?", "imatinib", "hERG", "probability of blocking the hERG", "risk"),
        (
            "Does gefitinib cross the blood-brain barrier?",
            "gefitinib",
            "BBB_Martins",
            "probability of crossing the blood-brain barrier",
            "brain penetration",
        ),
    ],
)
def test_an_admet_answer_states_value_meaning_drugbank_percentile_and_risk(
    question: str, drug: str, endpoint: str, meaning: str, noun: str
) -> None:
    (predicted,) = tool_artifact("predict_admet", molecules=[drug], endpoints=[endpoint])["predictions"]
    (value,) = predicted["endpoints"]
    _, answer, model = run_grounded(question)  # after the model loaded: a cold load may outlast the tool timeout

    (option,) = admitted_options(grammars(model)[0])
    percentile = round(value["percentile"])
    assert option.startswith(f"{value['value']:.3g} {meaning}")
    assert f"; {percentile}" in option and "percentile of approved drugs (DrugBank)" in option
    assert re.search(rf"; {level(value['percentile'])} {noun} \[\d+\]$", option)
    ref = int(re.search(r"\[(\d+)\]$", option).group(1))  # type: ignore[union-attr]
    assert answer.evidence[ref - 1].tool == "predict_admet"


def test_imatinib_reads_as_a_high_herg_risk() -> None:
    """The issue's own example: ADMET-AI puts imatinib in the top decile of approved drugs for hERG."""
    _, _, model = run_grounded("hERG risk of imatinib")
    (option,) = admitted_options(grammars(model)[0])
    assert re.fullmatch(
        r"0\.9\d+ probability of blocking .*; 9\d(?:st|nd|rd|th) percentile .*; high risk \[\d+\]", option
    )


def test_a_two_part_question_is_answered_in_both_parts() -> None:
    _, _, model = run_grounded("What is the SMILES of erlotinib and how many H-bond donors does it have?")

    erlotinib = tool_artifact("identify_molecule", molecule="erlotinib")
    (option,) = admitted_options(grammars(model)[0])
    assert re.fullmatch(rf"{re.escape(erlotinib['smiles'])} \[\d+\]; 1 hydrogen bond donor \[\d+\]", option)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Is aspirin a PAINS hit?", r"not a PAINS hit: no PAINS alerts \[\d+\]"),
        ("Is levodopa a PAINS hit?", r"a PAINS hit: 1 PAINS alert \(catechol_A\(92\)\) \[\d+\]"),
        ("Which functional groups does aspirin have?", r"(?=.*\besters x1\b)(?=.*carboxylic acids x1\b).* \[\d+\]"),
    ],
)
def test_alert_and_group_questions_are_grounded_like_property_questions(question: str, expected: str) -> None:
    _, answer, model = run_grounded(question)

    auto = {e.tool for e in answer.events if e.type == "tool_call" and e.automatic}
    assert auto & {"structural_alerts", "functional_groups"}, "the tool that states it ran before the model"
    (option,) = admitted_options(grammars(model)[0])
    assert re.fullmatch(expected, option)
    assert len(model.kwargs_seen) == 1, "one model call: the answer is settled by the tool"


def test_a_rule_count_asked_in_other_words_is_the_count_not_every_property() -> None:
    _, answer, model = run_grounded("How many rule-of-five criteria does cyclosporine violate?")

    rules = tool_artifact("molecule_properties", molecule="cyclosporine")["rules"]
    (lipinski,) = [r for r in rules if r["rule"] == "Lipinski rule of five"]
    (option,) = admitted_options(grammars(model)[0])
    assert option.startswith(f"{len(lipinski['violations'])} violations of Lipinski's rule of five")
    assert "MW" not in option.split("(")[0] and "logP" not in answer.text.split("(")[0]


def test_a_settled_admet_answer_passes_the_critique_unrevised() -> None:
    """Every number the answer states (value and percentile) is in the evidence it cites, so the
    model-free support check finds nothing to revise."""
    _, _, first = run_grounded("What is the hERG risk of imatinib?")
    (option,) = admitted_options(grammars(first)[0])
    model = embedded(f"Thought: The prediction gives it.\nFinal Answer: {option}")
    answer = Agent(model=model, tools=chemistry_tools(SETTINGS), mode="full", store=False).run(
        "What is the hERG risk of imatinib?"
    )
    assert not [e for e in answer.events if isinstance(e, Revision)]
    assert answer.text == option and answer.confidence == 1.0


def test_a_property_of_an_unknown_compound_code_is_answered_as_an_unknown_name() -> None:
    _, answer, model = run_grounded("What is the molecular weight of notamolecule123xyz?")

    looked_up = [e.args for e in answer.events if e.type == "tool_call" and e.automatic]
    assert looked_up == [{"molecule": "notamolecule123xyz"}]
    (option,) = admitted_options(grammars(model)[0])
    assert option.startswith("unknown name 'notamolecule123xyz': not in the offline approved-drug table")
    assert "invalid SMILES" not in option and "ring bond" not in option


def test_a_known_development_code_is_answered_for_its_drug() -> None:
    _, _, model = run_grounded("What is the molecular weight of AZD9291?")
    (option,) = admitted_options(grammars(model)[0])
    weight = tool_artifact("molecule_properties", molecule="osimertinib")["descriptors"]["molecular_weight"]
    assert option.startswith(f"{weight:.2f} g/mol")


def test_the_readme_pains_example_is_grounded_and_answered_by_the_embedded_model() -> None:
    settings = load_settings(offline=True, mode="react", max_steps=3)
    agent = Agent(model="local:smollm2", tools=chemistry_tools(settings), settings=settings, store=False)
    answer = agent.run("Is aspirin a PAINS hit?")

    assert "structural_alerts" in {e.tool for e in answer.events if e.type == "tool_call" and e.automatic}
    assert re.fullmatch(r"not a PAINS hit: no PAINS alerts \[\d+\]", answer.text)
    assert answer.usage.model_calls == 1 and answer.citations[0].locator == "computed by structural_alerts"
