"""Self-critique with scripted models: deterministic and model-found problems, targeted search,
revision, round caps, and tolerance of garbage from small models."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool, tool

from tests.sampling_fakes import locked
from tests.scripted import ScriptedChatModel, script
from txscout.agent.answers import Choices
from txscout.agent.api import Agent
from txscout.agent.research.critique import (
    Problem,
    check_coverage,
    check_safety,
    check_support,
    critic_grammar,
    critic_prompt,
    critique_and_revise,
    parse_critic,
    repoint_citations,
    revision_grammar,
    revision_prompt,
    sentences,
    toxicity_flags,
)
from txscout.agent.research.uncertainty import sampling_prompt
from txscout.agent.run import Run
from txscout.core.events import CritiqueFinding, ErrorRaised, Revision, ToolCalled
from txscout.core.evidence import Evidence
from txscout.core.settings import load_settings
from txscout.core.toolkit import ToolError, artifact, current_context

QUESTION = "Which EGFR inhibitor is active against the T790M resistance mutation in NSCLC?"
OSI = "Osimertinib is a third-generation EGFR inhibitor active against the T790M resistance mutation."
MELANOMA = "Osimertinib has no approved indication in melanoma; trials in melanoma were negative."
DRAFT = "Osimertinib targets EGFR T790M [1]. It also cures metastatic melanoma in most patients."
MCQ = """A 60-year-old man has hypertension and asthma. Which drug should be avoided?
A. Lisinopril
B. Propranolol
C. Amlodipine"""


def pubmed(queries: list[str], texts: dict[str, str]) -> BaseTool:
    """Returns (and registers) the text whose keyword appears in the query."""

    @tool("pubmed_search")
    def pubmed_search(query: str) -> str:
        """Search PubMed for abstracts."""
        queries.append(query)
        for word, text in texts.items():
            if word in query.lower():
                ref = current_context().evidence(Evidence(text=text, source_kind="pubmed", pmid=str(len(queries))))
                return f"[{ref}] {text}"
        return "No results."

    return pubmed_search


def predictor(result: Any) -> BaseTool:
    """A predict_admet stand-in whose structured result (the artifact) is ``result``; its text says nothing."""

    @tool("predict_admet", response_format="content_and_artifact")
    def predict_admet(smiles: str) -> tuple[str, Any]:
        """Predict ADMET endpoints."""
        return "predicted", result

    return predict_admet


def failing_predictor(message: str) -> BaseTool:
    @tool("predict_tox")
    def predict_tox(smiles: str) -> str:
        """Predict toxicity."""
        raise ToolError(message)

    predict_tox.handle_tool_error = True
    return predict_tox


def make_run(model: ScriptedChatModel, tools: list[BaseTool], events: list[Any], **settings: Any) -> Run:
    return Run(model=model, tools=tools, settings=load_settings(**settings), emit=events.append)


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def test_unsupported_claim_is_found_searched_and_revised_end_to_end() -> None:
    queries: list[str] = []
    revised = "Osimertinib targets EGFR T790M [1]; it has no approved indication in melanoma [2]."
    model = locked(
        'Thought: look it up\nAction: pubmed_search\nAction Input: {"query": "EGFR T790M"}',
        "Thought: done\nFinal Answer: " + DRAFT,
        *[f"It is osimertinib [1].\nAnswer: osimertinib{' [1]' * (i % 2)}" for i in range(5)],
        "NONE",
        revised,
    )
    agent = Agent(
        model=model,
        tools=[pubmed(queries, {"t790m": OSI, "melanoma": MELANOMA})],
        mode="full",
        protocol="text",
    )
    answer = agent.run(QUESTION)

    (finding,) = of_type(answer.events, CritiqueFinding)
    unsupported = [p for p in finding.problems if p.startswith("unsupported")]
    assert len(unsupported) == 1 and "melanoma" in unsupported[0]
    assert any("melanoma" in q for q in queries), "the targeted search looks for the unsupported claim"
    revision_prompt = str(model.prompts[-1][-1].content)
    assert "melanoma in most patients" in revision_prompt and MELANOMA in revision_prompt
    (revision,) = of_type(answer.events, Revision)
    assert revision.text == revised
    assert answer.text == revised
    ledger = Run(model=model, tools=[], settings=load_settings(), emit=lambda _e: None).ledger
    for item in answer.evidence:
        ledger.add(item)
    assert check_support(answer.text, ledger) == [], "the revised answer supports every claim"


def test_clean_draft_is_returned_unchanged_without_revision() -> None:
    events: list[Any] = []
    model = script("NONE")
    run = make_run(model, [], events)
    run.add_evidence(Evidence(text=OSI, source_kind="pubmed", pmid="1"))
    draft = "Osimertinib is active against EGFR T790M [1]."

    assert critique_and_revise(run, QUESTION, draft) == draft
    (finding,) = of_type(events, CritiqueFinding)
    assert finding.problems == []
    assert of_type(events, Revision) == []
    assert len(model.prompts) == 1


def test_model_critic_finding_drives_revision() -> None:
    events: list[Any] = []
    model = script("- CONTRADICTION: says both active and inactive against T790M", "Osimertinib is active [1].")
    run = make_run(model, [], events)
    run.add_evidence(Evidence(text=OSI, source_kind="pubmed", pmid="1"))

    text = critique_and_revise(run, QUESTION, "Osimertinib is active against EGFR T790M [1].")

    (finding,) = of_type(events, CritiqueFinding)
    assert finding.problems == ["contradiction: says both active and inactive against T790M"]
    assert text == "Osimertinib is active [1]."


@pytest.mark.parametrize("cap", [0, 1, 2])
def test_critique_round_cap_holds(cap: int) -> None:
    events: list[Any] = []
    replies = ["UNSUPPORTED: still no source", "Revised text without change."] * cap
    model = script(*replies) if replies else script("unused")
    run = make_run(model, [], events, critique_rounds=cap)

    critique_and_revise(run, QUESTION, "Some draft.")

    assert len(of_type(events, CritiqueFinding)) == cap
    assert len(of_type(events, Revision)) == cap
    assert len(model.prompts) == 2 * cap


def test_garbage_from_the_critic_is_ignored() -> None:
    events: list[Any] = []
    model = script("lorem ipsum {not json\nPROBLEM maybe?\n- something vague")
    run = make_run(model, [], events)

    assert critique_and_revise(run, QUESTION, "Osimertinib.") == "Osimertinib."
    assert of_type(events, Revision) == []


def test_empty_revision_keeps_the_draft() -> None:
    events: list[Any] = []
    model = script("UNANSWERED: the mutation is not named", "   ")
    run = make_run(model, [], events)

    assert critique_and_revise(run, QUESTION, "Osimertinib.") == "Osimertinib."
    assert of_type(events, Revision) == []
    assert any(e.kind == "format" for e in of_type(events, ErrorRaised))


def test_revision_that_fails_more_checks_than_the_draft_is_rejected() -> None:
    events: list[Any] = []
    garbage = "The answer contains no evidence supporting its sentence.\nA valid proof by chemistry experts is needed."
    model = script("CONTRADICTION: says both active and inactive against T790M", garbage)
    run = make_run(model, [], events)
    run.add_evidence(Evidence(text=OSI, source_kind="pubmed", pmid="1"))
    draft = "Osimertinib is active against EGFR T790M [1]."

    assert critique_and_revise(run, QUESTION, draft) == draft
    assert of_type(events, Revision) == []
    (error,) = of_type(events, ErrorRaised)
    assert "fails 1 more check(s)" in error.message  # the uncited claim about experts


def test_parse_critic_accepts_lines_bullets_and_json() -> None:
    assert [p.kind for p in parse_critic("1. **SAFETY**: no mention of QT\n* miscited - [2] is off-topic")] == [
        "safety",
        "miscited",
    ]
    parsed = parse_critic('[{"kind": "unanswered", "detail": "dose not given"}, {"kind": "bogus", "detail": "x"}]')
    assert [(p.kind, p.detail) for p in parsed] == [("unanswered", "dose not given")]
    assert parse_critic("NONE") == []
    assert parse_critic("CONTRADICTION: [0] 3.\nUNSUPPORTED: x") == [], "findings naming nothing are noise"
    parroted = "SAFETY: the answer is UNSUPPORTED (a claim no evidence supports). If there is no problem, do"
    assert parse_critic(parroted) == [], "the critic repeating its instructions is not a finding"
    assert parse_critic('{"broken": ') == []


def test_miscitations_are_found() -> None:
    events: list[Any] = []
    run = make_run(script("NONE"), [], events)
    run.add_evidence(Evidence(text="Aspirin irreversibly inhibits COX-1 in platelets.", source_kind="pubmed"))
    run.add_evidence(Evidence(text="The half-life of drug X was 36 hours in adults.", source_kind="pubmed"))

    off_topic = check_support("Osimertinib penetrates the blood-brain barrier [1].", run.ledger)
    assert [p.kind for p in off_topic] == ["miscited"] and "[1]" in off_topic[0].detail
    wrong_number = check_support("The half-life of drug X is 48 hours [2].", run.ledger)
    assert [p.kind for p in wrong_number] == ["miscited"] and "48" in wrong_number[0].detail
    assert check_support("The half-life of drug X is 36 hours [2].", run.ledger) == []
    dangling = check_support("Drug X is cleared renally [9].", run.ledger)
    assert "points to no evidence" in dangling[0].detail


def test_wrong_citation_moves_to_the_entry_that_states_the_claim() -> None:
    events: list[Any] = []
    model = script("NONE")
    run = make_run(model, [], events)
    run.add_evidence(Evidence(text="Acetylsalicylic acid: formula C9H8O4, InChIKey BSYNRYMUTXBXSQ", source_kind="tool"))
    run.add_evidence(Evidence(text="Acetylsalicylic acid: MW 180.16 g/mol, LogP 1.31, TPSA 63.6", source_kind="tool"))

    assert repoint_citations("C9H8O4 [2]", run.ledger) == "C9H8O4 [1]"
    assert repoint_citations("Its weight is 180.16 g/mol [1]. Formula C9H8O4 [1].", run.ledger) == (
        "Its weight is 180.16 g/mol [2]. Formula C9H8O4 [1]."
    )
    assert critique_and_revise(run, "What is the formula of aspirin?", "C9H8O4 [2]") == "C9H8O4 [1]"
    (revision,) = of_type(events, Revision)
    assert revision.text == "C9H8O4 [1]"
    (finding,) = of_type(events, CritiqueFinding)
    assert finding.problems == [], "the critic sees the corrected citation"


def test_citation_stays_when_no_single_entry_supports_the_claim() -> None:
    run = make_run(script("NONE"), [], [])
    run.add_evidence(Evidence(text="Drug X half-life 36 hours in adults.", source_kind="pubmed"))
    run.add_evidence(Evidence(text="Drug X half-life 36 hours in children.", source_kind="pubmed"))
    run.add_evidence(Evidence(text="Aspirin irreversibly inhibits COX-1.", source_kind="pubmed"))

    tie = "Drug X half-life is 36 hours [3]."
    assert repoint_citations(tie, run.ledger) == tie, "two entries support it equally: no guess"
    unsupported = "Osimertinib crosses the blood-brain barrier [3]."
    assert repoint_citations(unsupported, run.ledger) == unsupported
    assert repoint_citations("Drug X half-life is 36 hours in adults [3].", run.ledger) == (
        "Drug X half-life is 36 hours in adults [1]."
    )


def test_uncited_claims_only_count_when_there_is_evidence() -> None:
    events: list[Any] = []
    run = make_run(script("NONE"), [], events)
    claim = "Osimertinib crosses the blood-brain barrier in most patients."
    assert check_support(claim, run.ledger) == []
    run.add_evidence(Evidence(text=OSI, source_kind="pubmed"))
    assert [p.kind for p in check_support(claim, run.ledger)] == ["unsupported"]
    assert check_support("I could not find evidence on this.", run.ledger) == []


def test_sentences_keep_trailing_citations() -> None:
    assert sentences("First claim here. [1] Second claim, 3.5 mg. Third?") == [
        "First claim here. [1]",
        "Second claim, 3.5 mg.",
        "Third?",
    ]


def test_predictor_toxicity_flags_must_be_mentioned() -> None:
    events: list[Any] = []
    artifact = {"hERG": 0.83, "hERG_drugbank_approved_percentile": 97.1, "AMES": 0.12, "DILI": "high"}
    run = make_run(script("NONE"), [predictor(artifact)], events)
    run.call_tool("predict_admet", {"smiles": "CCO"}, step=1)

    assert toxicity_flags(run) == {"herg": 0.83, "dili": 1.0}
    problems = check_safety("The molecule is orally bioavailable.", run)
    assert sorted(p.detail.split()[3] for p in problems) == ["DILI", "hERG"]
    assert check_safety("Predicted QT risk (hERG) and liver injury risk should be monitored.", run) == []


def test_toxicity_is_read_from_the_structured_result_not_the_rendered_text() -> None:
    """The rendered text of a batch shows the first ten molecules; the eleventh's hERG flag is only in
    the artifact, and an error's text naming hERG flags nothing."""
    from txscout.tools.chemistry.admet import EndpointValue
    from txscout.tools.chemistry.results import AdmetResult, MoleculePrediction

    def herg(p: float) -> EndpointValue:
        return EndpointValue(
            id="hERG", name="hERG blocking", category="Toxicity", value=p, unit="probability", meaning=""
        )

    result = AdmetResult(predictions=[MoleculePrediction(input=f"m{i}", endpoints=[herg(0.1)]) for i in range(10)])
    result.predictions.append(MoleculePrediction(input="m10", endpoints=[herg(0.92)]))
    assert "0.92" not in result.render()
    events: list[Any] = []
    run = make_run(script("NONE"), [predictor(artifact(result)), failing_predictor("hERG 0.99")], events)
    run.call_tool("predict_admet", {"smiles": "CCO"}, step=1)
    run.call_tool("predict_tox", {"smiles": "CCO"}, step=1)

    assert toxicity_flags(run) == {"herg": 0.92}


def test_contraindication_in_cited_evidence_must_be_mentioned() -> None:
    events: list[Any] = []
    run = make_run(script("NONE"), [], events)
    run.add_evidence(
        Evidence(text="Propranolol is contraindicated in asthma because of bronchospasm.", source_kind="pubmed")
    )
    assert [p.kind for p in check_safety("Propranolol lowers blood pressure [1].", run)] == ["safety"]
    assert check_safety("Propranolol is contraindicated in asthma [1].", run) == []


def test_coverage_of_options_and_sub_questions() -> None:
    choices = Choices.for_question(MCQ)
    assert [p.kind for p in check_coverage(MCQ, "Beta blockers are risky.", choices)] == ["unanswered"]
    assert check_coverage(MCQ, "Propranolol worsens asthma.\nAnswer: B", choices) == []
    two_part = "What is the mechanism of osimertinib? What is its main toxicity?"
    missing = check_coverage(two_part, "Osimertinib irreversibly binds mutant EGFR.", None)
    assert len(missing) == 1 and "toxicity" in missing[0].detail


def test_safety_problem_reaches_the_revision_prompt() -> None:
    events: list[Any] = []
    model = script("NONE", "Drug X is active, but the predictor flags hERG liability (QT risk).")
    run = make_run(model, [predictor({"hERG": 0.91})], events)
    run.call_tool("predict_admet", {"smiles": "CCO"}, step=1)

    text = critique_and_revise(run, QUESTION, "Drug X is active.")

    prompt = str(model.prompts[-1][-1].content)
    assert "hERG" in prompt and "predictor flagged hERG" in prompt
    assert "hERG" in text


def test_no_search_without_retrieval_tools() -> None:
    events: list[Any] = []
    model = script("UNSUPPORTED: the claim about melanoma has no source", "Osimertinib [1].")
    run = make_run(model, [], events)
    run.add_evidence(Evidence(text=OSI, source_kind="pubmed"))

    critique_and_revise(run, QUESTION, DRAFT)
    assert of_type(events, ToolCalled) == []


def test_grammars_compile() -> None:
    import llama_cpp

    labels = Choices(answers=["yes", "no", "maybe"])
    for grammar in (
        critic_grammar(),
        revision_grammar(),
        revision_grammar(Choices.for_question(MCQ)),
        revision_grammar(labels),
    ):
        assert llama_cpp.LlamaGrammar.from_string(grammar, verbose=False) is not None


def test_revision_is_the_models_text_even_with_a_prefix() -> None:
    events: list[Any] = []
    model = script("UNANSWERED: no drug named", AIMessage("Revised answer: Osimertinib [1]."))
    run = make_run(model, [], events)
    assert critique_and_revise(run, QUESTION, "It depends.") == "Osimertinib [1]."


def test_phase_prompts_share_a_cacheable_prefix() -> None:
    events: list[Any] = []
    run = make_run(script("NONE"), [], events)
    run.add_evidence(Evidence(text=OSI, source_kind="pubmed"))
    prefix = f"Question: {QUESTION}\n\nEvidence:\n{run.ledger.digest()}"
    prompts = [
        sampling_prompt(run, QUESTION),
        critic_prompt(run, QUESTION, "draft"),
        revision_prompt(run, QUESTION, "draft", [Problem(kind="unsupported", detail="no source for x y")]),
    ]
    assert len({str(p[0].content) for p in prompts}) == 1
    assert all(str(p[1].content).startswith(prefix) for p in prompts)
