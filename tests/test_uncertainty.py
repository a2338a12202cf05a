"""Uncertainty-guided re-search with scripted models: when samples disagree the agent searches and the
new evidence reaches the resampling prompt; when they agree it does not; round caps hold; the reported
confidence is the measured majority share."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import BaseTool, tool

from tests.sampling_fakes import Batched, EmbeddedLike, locked
from txscout.agent import protocol
from txscout.agent.answers import Choices, entropy_bits
from txscout.agent.api import Agent
from txscout.agent.research.uncertainty import SampleConstraint, resolve_uncertainty, sample_grammar
from txscout.agent.run import Run
from txscout.core.events import ModelCall, ToolCalled, UncertaintyRound, validate_sequence
from txscout.core.evidence import Evidence
from txscout.core.settings import load_settings
from txscout.core.toolkit import ToolError, current_context

QUESTION = "Which EGFR inhibitor is active against the T790M resistance mutation in NSCLC?"
MCQ = """A 60-year-old man has hypertension and asthma. Which drug should be avoided?
A. Lisinopril
B. Propranolol
C. Amlodipine
D. Hydrochlorothiazide"""
MCQ_CHOICES = Choices.for_question(MCQ)
DRAFT = "Osimertinib is active against EGFR T790M [1]."


def samples(*answers: str) -> list[str]:
    return [f"Reasoning from the evidence [1].\nAnswer: {a}" for a in answers]


def pubmed(texts: list[str], queries: list[str]) -> BaseTool:
    """A PubMed stand-in that registers one new evidence item per call, like the real tool."""

    @tool("pubmed_search")
    def pubmed_search(query: str) -> str:
        """Search PubMed for abstracts."""
        queries.append(query)
        text = texts[min(len(queries), len(texts)) - 1]
        ref = current_context().evidence(
            Evidence(text=text, source_kind="pubmed", title=f"Study {len(queries)}", pmid=str(1000 + len(queries)))
        )
        return f"[{ref}] {text}"

    return pubmed_search


def offline_web(calls: list[str]) -> BaseTool:
    @tool("web_search")
    def web_search(query: str) -> str:
        """Search the web."""
        calls.append(query)
        raise ToolError("web_search: the network is off (--offline); this tool was not called")

    web_search.handle_tool_error = True
    return web_search


def make_run(
    model: BaseChatModel, tools: list[BaseTool], events: list[Any], choices: Choices | None = None, **settings: Any
) -> Run:
    run = Run(model=model, tools=tools, settings=load_settings(**settings), emit=events.append, choices=choices)
    run.add_evidence(Evidence(text="Osimertinib inhibits EGFR T790M in NSCLC.", source_kind="pubmed", pmid="1"))
    return run


def rounds_of(events: list[Any]) -> list[UncertaintyRound]:
    return [e for e in events if isinstance(e, UncertaintyRound)]


def test_disagreement_triggers_search_and_new_evidence_reaches_resampling_prompt() -> None:
    sentinel = "Erlotinib lacks activity against T790M (SENTINEL-7731)."
    queries: list[str] = []
    model = locked(
        'Thought: look it up\nAction: pubmed_search\nAction Input: {"query": "EGFR T790M inhibitor"}',
        "Thought: found it\nFinal Answer: " + DRAFT,
        *samples("osimertinib", "erlotinib", "Osimertinib", "erlotinib", "osimertinib [1]"),
        *samples(*["osimertinib"] * 5),
        "NONE",
    )
    texts = ["Osimertinib inhibits EGFR T790M.", sentinel, sentinel]
    agent = Agent(model=model, tools=[pubmed(texts, queries)], mode="full", protocol="text", evidence_k=0)
    answer = agent.run(QUESTION)

    found = rounds_of(answer.events)
    assert [r.decision for r in found] == ["searched", "agreed"]
    assert found[0].entropy == pytest.approx(entropy_bits([3, 2]))
    assert found[0].searched, "the disagreement round must record its searches"
    assert any("erlotinib" in q.lower() for q in queries[1:]), "queries target the competing answers"
    first_round, second_round = model.prompts[2:7], model.prompts[7:12]
    assert all(sentinel not in str(p[-1].content) for p in first_round)
    assert all(sentinel in str(p[-1].content) for p in second_round)
    assert answer.entropies == [pytest.approx(entropy_bits([3, 2])), 0.0]
    assert answer.confidence == 1.0
    assert "Osimertinib" in answer.text and "[1]" in answer.text, "the draft (with its citation) survives"
    assert validate_sequence(answer.events) == []


def test_agreeing_samples_skip_search() -> None:
    queries: list[str] = []
    model = locked(
        "Thought: known\nFinal Answer: " + DRAFT,
        *samples("osimertinib", "Osimertinib (Tagrisso)", "osimertinib [1]", "osimertinib.", "OSIMERTINIB"),
        "NONE",
    )
    answer = Agent(model=model, tools=[pubmed(["x" * 50], queries)], mode="full", protocol="text", evidence_k=0).run(
        QUESTION
    )

    assert queries == []
    assert not [e for e in answer.events if isinstance(e, ToolCalled)]
    (only,) = rounds_of(answer.events)
    assert only.decision == "agreed" and only.searched == []
    assert answer.entropies == [0.0] and answer.confidence == 1.0


@pytest.mark.parametrize("cap", [0, 1, 2])
def test_round_cap_holds_when_samples_keep_disagreeing(cap: int) -> None:
    events: list[Any] = []
    queries: list[str] = []
    split = samples("osimertinib", "erlotinib", "osimertinib", "erlotinib", "osimertinib")
    model = locked(*(split * (cap + 1)))
    texts = [f"Unique finding number {i} about EGFR inhibitors and T790M." for i in range(20)]
    run = make_run(model, [pubmed(texts, queries)], events, search_rounds=cap)

    outcome = resolve_uncertainty(run, QUESTION, DRAFT)

    found = rounds_of(events)
    assert outcome.rounds == len(found) == cap + 1
    assert [r.decision for r in found] == ["searched"] * cap + ["round cap reached"]
    assert len(outcome.entropies) == cap + 1
    assert outcome.searched == [q for r in found for q in r.searched]
    assert len(model.prompts) == 5 * (cap + 1), "no sampling beyond the cap"


def test_reported_confidence_equals_measured_distribution() -> None:
    events: list[Any] = []
    model = locked(*samples("osimertinib", "osimertinib", "erlotinib", "osimertinib", "osimertinib"))
    run = make_run(model, [], events)

    outcome = resolve_uncertainty(run, QUESTION, DRAFT)

    (only,) = rounds_of(events)
    assert only.distribution == {"osimertinib": 0.8, "erlotinib": 0.2}
    assert outcome.confidence == only.majority_share == 0.8
    assert outcome.distribution == only.distribution
    assert outcome.entropies == [pytest.approx(entropy_bits([4, 1]))]
    assert only.decision == "agreed", "4-1 is below the default 0.9-bit threshold"


def test_confidence_reaches_the_answer_object() -> None:
    model = locked(
        "Thought: known\nFinal Answer: B. Propranolol can trigger bronchospasm.",
        *samples("B", "B", "B", "C", "A"),
        "NONE",
    )
    answer = Agent(model=model, tools=[], mode="full", protocol="text").run(MCQ)
    assert answer.confidence == pytest.approx(0.6)
    assert answer.entropies == [pytest.approx(entropy_bits([3, 1, 1]))]


def test_numbers_within_tolerance_count_as_one_answer() -> None:
    events: list[Any] = []
    model = locked(*samples("12 h", "12.1 hours", "720 min", "12 hr", "0.5 days"))
    run = make_run(model, [], events)

    outcome = resolve_uncertainty(run, "What is the plasma half-life of drug X?", "About 12 hours [1].")

    assert outcome.confidence == 1.0
    assert outcome.entropies == [0.0]
    assert outcome.answer == "About 12 hours [1]."


def test_without_retrieval_tools_it_says_so_and_stops() -> None:
    events: list[Any] = []
    model = locked(*samples("osimertinib", "erlotinib", "gefitinib", "erlotinib", "osimertinib"))
    run = make_run(model, [], events)

    outcome = resolve_uncertainty(run, QUESTION, DRAFT)

    (only,) = rounds_of(events)
    assert only.searched == []
    assert only.decision == "no retrieval tool available"
    assert outcome.rounds == 1 and len(model.prompts) == 5


def test_failing_tool_is_skipped_and_no_new_evidence_stops_resampling() -> None:
    events: list[Any] = []
    calls: list[str] = []
    model = locked(*samples("osimertinib", "erlotinib", "osimertinib", "erlotinib", "osimertinib"))
    run = make_run(model, [offline_web(calls)], events)

    resolve_uncertainty(run, QUESTION, DRAFT)

    assert len(calls) == 1, "after the first error the tool is not called again"
    (only,) = rounds_of(events)
    assert only.decision == "no new evidence"
    assert len(model.prompts) == 5


def test_samples_on_the_drafts_own_evidence_measure_confidence_but_keep_the_draft() -> None:
    events: list[Any] = []
    model = locked(*samples("B", "B", "C", "B", "B"))
    run = make_run(model, [], events, MCQ_CHOICES)

    outcome = resolve_uncertainty(run, MCQ, "Amlodipine should be avoided.\nAnswer: C")

    assert outcome.answer.endswith("Answer: C"), "no search added evidence: the samples only measure"
    assert outcome.confidence == pytest.approx(0.2), "the share of the samples that give the draft's answer"


def test_a_majority_drawn_on_new_evidence_replaces_the_draft() -> None:
    events: list[Any] = []
    queries: list[str] = []
    model = locked(*samples("B", "C", "D", "B", "C"), *samples("B", "B", "C", "B", "B"))
    tools = [pubmed(["Propranolol, a non-selective beta blocker, worsens asthma."], queries)]
    run = make_run(model, tools, events, MCQ_CHOICES, search_rounds=1)

    outcome = resolve_uncertainty(run, MCQ, "Amlodipine should be avoided.\nAnswer: C")

    assert [r.decision for r in rounds_of(events)] == ["searched", "agreed"]
    assert outcome.answer.endswith("Answer: B. Propranolol")
    assert outcome.confidence == pytest.approx(0.8)


def test_tie_goes_to_the_draft_cluster() -> None:
    events: list[Any] = []
    model = locked(*samples("A", "C", "C", "A", "D"))
    run = make_run(model, [], events, MCQ_CHOICES, entropy_threshold=5.0)

    outcome = resolve_uncertainty(run, MCQ, "Answer: C")
    assert outcome.answer == "Answer: C"
    assert outcome.confidence == 0.4


def test_garbage_samples_keep_the_draft_with_zero_confidence() -> None:
    events: list[Any] = []
    model = locked("", "???", "I cannot say", "blah blah", "\n\n")
    run = make_run(model, [], events, MCQ_CHOICES)

    outcome = resolve_uncertainty(run, MCQ, "Answer: B")
    assert outcome.answer == "Answer: B"
    assert outcome.confidence == 0.0


def test_budget_exhausted_returns_best_so_far() -> None:
    events: list[Any] = []
    queries: list[str] = []
    model = locked(*samples("osimertinib", "erlotinib", "osimertinib", "erlotinib", "osimertinib"))
    run = make_run(model, [pubmed(["y" * 60], queries)], events, max_tool_calls=0)

    outcome = resolve_uncertainty(run, QUESTION, DRAFT)

    assert queries == []
    (only,) = rounds_of(events)
    assert only.decision.startswith("budget exhausted")
    assert outcome.answer == DRAFT and outcome.confidence == pytest.approx(0.6)


def test_embedded_model_gets_grammar_temperature_and_distinct_seeds() -> None:
    events: list[Any] = []
    model = EmbeddedLike(responses=[AIMessage(r) for r in samples(*["B"] * 5)])
    run = make_run(model, [], events, MCQ_CHOICES, sample_temperature=0.7)

    resolve_uncertainty(run, MCQ, "Answer: B")

    assert {kw["temperature"] for kw in model.kwargs_seen} == {0.7}
    expected = sample_grammar(SampleConstraint(choices=MCQ_CHOICES))
    assert all(kw["grammar"] == expected for kw in model.kwargs_seen)
    assert sorted(kw["seed"] for kw in model.kwargs_seen) == [0, 1, 2, 3, 4]


def test_batched_backend_samples_in_one_request() -> None:
    events: list[Any] = []
    model = Batched(batches=[samples("B", "B", "B", "B", "A")])
    run = make_run(model, [], events, MCQ_CHOICES)

    outcome = resolve_uncertainty(run, MCQ, "Answer: B")

    assert model.requests == 1
    assert len([e for e in events if isinstance(e, ModelCall)]) == 1
    assert outcome.confidence == 0.8


def test_sample_grammar_compiles() -> None:
    import llama_cpp

    constraints = [
        SampleConstraint(),
        SampleConstraint(choices=MCQ_CHOICES),
        SampleConstraint(choices=Choices(answers=["yes", "no", "maybe"])),
        SampleConstraint(choices=Choices(answers=["206.28 g/mol [2]"], grounded=True)),
        SampleConstraint(facts=protocol.fact_rule(["Ibuprofen: C13H18O2, MW 206.28 g/mol"])),
    ]
    for constraint in constraints:
        assert llama_cpp.LlamaGrammar.from_string(sample_grammar(constraint), verbose=False) is not None


def test_searcher_caps_calls_and_never_repeats_a_call() -> None:
    from txscout.agent.research.searcher import MAX_CALLS_PER_SEARCH, Searcher

    events: list[Any] = []
    calls: list[str] = []

    def retrieval(name: str) -> BaseTool:
        @tool(name)
        def search(query: str) -> str:
            """Search."""
            calls.append(f"{name}: {query}")
            current_context().evidence(Evidence(text=f"{name} {query}", source_kind="web"))
            return "ok"

        return search

    tools = [retrieval(n) for n in ("pubmed_search", "web_search", "memory_search")]
    run = make_run(locked(), tools, events)
    searcher = Searcher(run)

    first = searcher.search(["alpha one", "beta two", "gamma three"])
    assert len(calls) == MAX_CALLS_PER_SEARCH == len(first.searched) == first.new_evidence
    assert calls[:3] == ["pubmed_search: alpha one", "web_search: alpha one", "memory_search: alpha one"]
    second = searcher.search(["alpha one", "beta two"])
    assert len(set(calls)) == len(calls), "no tool is called twice with the same query"
    assert second.searched == ["web_search: beta two", "memory_search: beta two"]


def test_no_two_samples_agreeing_keeps_the_draft() -> None:
    from tests.scripted import script
    from txscout.agent.api import Agent

    samples = [f"Thought: guess\nAnswer: {word}" for word in ("red", "green", "blue", "cyan", "pink")]
    model = script("Thought: I know this.\nFinal Answer: magenta", *samples)
    answer = Agent(model=model, tools=[], mode="full", store=False, samples=5, critique_rounds=0).run("Colour?")
    assert answer.text == "magenta"
    assert answer.confidence == 0.0, "no sample gives the draft's answer"


def test_choices_on_the_run_decide_how_samples_compare_even_when_the_question_lists_none() -> None:
    """A benchmark can hand the run its option letters; the samples are then compared by letter."""
    events: list[Any] = []
    model = locked(*samples("B", "option B", "(B) the second drug", "B.", "A"))
    run = make_run(model, [], events, Choices(answers=list("ABCD")))

    outcome = resolve_uncertainty(run, "Which drug should be avoided? Answer with a letter.", "Answer: B")

    assert outcome.distribution == {"B": 0.8, "A": 0.2}
    assert outcome.answer == "Answer: B" and outcome.confidence == 0.8


@pytest.mark.parametrize(
    ("sampled", "kept"),
    [
        (("B", "B", "A", "C", "D"), "A"),  # two samples against the draft and one with it: a tie, the draft's
        (("B", "B", "C", "C", "A"), "A"),  # three answers with two votes each, one the draft's: the draft's
        (("B", "B", "B", "A", "D"), "B"),  # three against the draft's two votes: the samples win
    ],
)
def test_the_draft_votes_with_the_samples_that_give_its_answer(sampled: tuple[str, ...], kept: str) -> None:
    events: list[Any] = []
    tools = [pubmed(["Lisinopril is safe in asthma; propranolol is not."], [])]
    model = locked(*samples("B", "C", "D", "A", "C"), *samples(*sampled))  # a split first round searches
    run = make_run(model, tools, events, choices=MCQ_CHOICES, samples=5, search_rounds=1)
    outcome = resolve_uncertainty(run, MCQ, "Lisinopril is safe.\nAnswer: A")

    assert rounds_of(events)[0].decision == "searched"
    assert MCQ_CHOICES.pick(outcome.answer) == kept
