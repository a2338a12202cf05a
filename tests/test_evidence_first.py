"""Evidence first: every react and full question reads the evidence store (and PubMed online) before the
model's first step, the answer cites the passages shown, and every run ends with an answer.

The chat model is scripted (it records every prompt and the grammar it was offered); the evidence store
is a real local chromadb store with the bag-of-words test embedder, so similarities are deterministic.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from tests.fake_embedder import HashEmbedder
from tests.gbnf import admits
from tests.sampling_fakes import EmbeddedLike
from tests.scripted import script
from txscout.agent.answers import Choices
from txscout.agent.api import Agent
from txscout.agent.react import NO_ANSWER
from txscout.agent.run import Run
from txscout.core.errors import LimitReached
from txscout.core.events import EvidencePlanned, ModelCall, validate_sequence
from txscout.core.evidence import Evidence
from txscout.core.settings import load_settings
from txscout.core.toolkit import current_context, txtool
from txscout.memory.store import EvidenceStore

QUESTION = "Does osimertinib improve overall survival in EGFR-mutated non-small-cell lung cancer?"
OSIMERTINIB = Evidence(
    text="Osimertinib in untreated EGFR-mutated advanced non-small-cell lung cancer. RESULTS: The median overall "
    "survival was 38.6 months with osimertinib and 31.8 months with the comparator (hazard ratio 0.80).",
    source_kind="pubmed",
    title="Overall survival with osimertinib in EGFR-mutated lung cancer",
    pmid="31751012",
    year=2019,
)
STATINS = Evidence(
    text="Statins lower LDL cholesterol by inhibiting HMG-CoA reductase, the rate-limiting enzyme of the "
    "mevalonate pathway.",
    source_kind="file",
    title="Statin pharmacology",
    url="file:///notes/statins.md",
)
PROTACS = Evidence(
    text="Proteolysis-targeting chimeras recruit an E3 ubiquitin ligase to a protein and trigger its degradation.",
    source_kind="web",
    title="PROTAC degraders",
    url="https://example.org/protac",
)
FLOOR = 0.3
"""Between the test embedder's similarity of the question to the osimertinib abstract and to the others."""
QUOTE = (
    "RESULTS: The median overall survival was 38.6 months with osimertinib and 31.8 months with the comparator "
    "(hazard ratio 0.80) [1]."
)
"""A sentence of the osimertinib abstract as a cited answer quotes it."""
CITED = f"Thought: The passage reports it.\nFinal Answer: {QUOTE}"


class Lookup(BaseModel):
    term: str = Field(description="What to look up.")


@txtool("lookup", Lookup, "Look up a term in the test encyclopedia.")
def lookup(args: Lookup) -> str:
    ref = current_context().evidence(
        Evidence(text=f"{args.term} is a test entry.", source_kind="file", title=args.term)
    )
    return f"[{ref}] {args.term} is a test entry."


def act(term: str) -> str:
    return f"Thought: Look it up.\nAction: lookup\nAction Input: {json.dumps({'term': term})}"


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    memory = EvidenceStore(path=tmp_path / "memory", embedder=HashEmbedder())
    memory.add([OSIMERTINIB, STATINS, PROTACS])
    return memory


def agent_for(model: object, store: EvidenceStore | None, **settings: object) -> Agent:
    settings = {"mode": "react", "offline": True, "evidence_floor": FLOOR, **settings}
    return Agent(model=model, tools=[lookup], protocol="text", store=store or False, **settings)  # type: ignore[arg-type]


def embedded(*replies: str, native: bool = False) -> EmbeddedLike:
    """A scripted model that takes grammars as the embedded one does, and records each call's grammar."""
    return EmbeddedLike(responses=[AIMessage(r) for r in replies], native=native)


def question_turn(model: object, call: int = 0) -> str:
    turns = [m for m in model.prompts[call] if isinstance(m, HumanMessage)]  # type: ignore[attr-defined]
    return str(turns[0].content)


def test_the_store_is_searched_before_the_first_model_call_and_its_passages_are_shown(store: EvidenceStore) -> None:
    model = script(CITED)
    answer = agent_for(model, store).run(QUESTION)
    types = [e.type for e in answer.events]
    assert types.index("evidence_plan") < types.index("model_call")
    plan = next(e.plan for e in answer.events if isinstance(e, EvidencePlanned))
    assert answer.plan == plan and plan.k == 3 and plan.floor == FLOOR
    memory = next(s for s in plan.searches if s.source == "memory")
    assert memory.query == QUESTION and memory.found == 3
    pubmed = next(s for s in plan.searches if s.source == "pubmed")
    assert not pubmed.ran and "offline" in pubmed.note
    kept = plan.kept
    assert [p.title for p in kept] == [OSIMERTINIB.title] and kept[0].ref == 1
    assert kept[0].similarity is not None and kept[0].similarity >= FLOOR and kept[0].score is not None
    left = [p for p in plan.passages if not p.kept]
    assert {p.title for p in left} == {STATINS.title, PROTACS.title}
    assert all(p.similarity is not None and p.similarity < FLOOR for p in left)
    turn = question_turn(model)
    assert '<observation tool="memory_search">\n[1] (PMID 31751012, 2019) Overall survival with osimertinib' in turn
    assert "38.6 months" in turn and "Statins" not in turn and "End every sentence" in turn
    assert answer.text == QUOTE
    assert [c.locator for c in answer.citations] == ["https://pubmed.ncbi.nlm.nih.gov/31751012/"]
    assert answer.supported is True and answer.status == "completed"
    assert validate_sequence(answer.events) == []


def test_a_grammar_model_may_end_a_sentence_only_with_a_shown_passage(store: EvidenceStore) -> None:
    model = embedded(CITED)
    answer = agent_for(model, store).run(QUESTION)
    grammar = model.kwargs_seen[0]["grammar"]
    assert admits(grammar, CITED)
    assert admits(grammar, f"{CITED} So it prolonged survival by 6.8 months (p<0.05) [1].")
    assert not admits(grammar, "Thought: No citation.\nFinal Answer: Osimertinib improved overall survival.")
    assert not admits(grammar, "Thought: No quote.\nFinal Answer: Osimertinib improved overall survival [1].")
    assert not admits(grammar, f"{CITED} It did. The hazard ratio was 0.80 [1].")
    assert not admits(grammar, CITED.replace("[1]", "[2]"))
    assert not admits(grammar, 'Thought: A tool.\nAction: lookup\nAction Input: {"term": "osimertinib"}')
    assert [c.ref for c in answer.citations] == [1]


def test_a_closed_answer_set_stays_closed_after_a_cited_justification(store: EvidenceStore) -> None:
    reply = f"Thought: The passage reports it.\nFinal Answer: Answer: yes\n{QUOTE}"
    model = embedded(reply)
    labels = Choices(answers=["yes", "no", "maybe"])
    answer = agent_for(model, store).run(QUESTION, choices=labels)
    grammar = model.kwargs_seen[0]["grammar"]
    assert admits(grammar, reply)
    assert not admits(grammar, reply.replace("Answer: yes", "Answer: probably"))
    assert not admits(grammar, "Thought: Just the label.\nFinal Answer: Answer: yes")
    assert not admits(grammar, f"{CITED}\nAnswer: yes")
    turn = question_turn(model)
    assert turn.endswith("Open your answer with the line 'Answer: <yes or no or maybe>'.")
    assert labels.pick(answer.text) == "yes" and [c.ref for c in answer.citations] == [1]


def test_a_native_grammar_model_answers_in_the_bare_cited_form(store: EvidenceStore) -> None:
    bare = QUOTE
    model = embedded(bare, native=True)
    agent = Agent(
        model=model, tools=[lookup], protocol="native", store=store, mode="react", offline=True, evidence_floor=FLOOR
    )
    answer = agent.run(QUESTION)
    grammar = model.kwargs_seen[0]["grammar"]
    assert admits(grammar, bare) and not admits(grammar, "Median overall survival was 38.6 months [1].")
    assert answer.text == bare and answer.supported


def test_no_passage_above_the_floor_says_so_then_gives_the_unsupported_answer(store: EvidenceStore) -> None:
    model = script("Thought: From memory.\nFinal Answer: Aspirin inhibits cyclooxygenase.")
    answer = agent_for(model, store).run("How does aspirin act on platelets?")
    assert answer.plan is not None and answer.plan.kept == [] and answer.plan.passages
    assert "<observation" not in question_turn(model)
    lines = answer.text.splitlines()
    assert lines[0].startswith("The sources searched do not answer this question.")
    assert "the evidence store for 'How does aspirin act on platelets?' (3 passages)" in lines[0]
    assert "PubMed" in lines[0] and "offline" in lines[0] and f"relevance floor of {FLOOR:g}" in lines[0]
    assert lines[-2] == "Unsupported (the model's own answer, not from the sources):"
    assert lines[-1] == "Aspirin inhibits cyclooxygenase."
    assert answer.supported is False and answer.citations == []


class PubMedArgs(BaseModel):
    query: str = Field(description="PubMed query")
    max_results: int = Field(default=5, description="how many")


SEARCHED: list[str] = []


@txtool("pubmed_search", PubMedArgs, "Search PubMed (a local stand-in returning one fixed article).")
def fake_pubmed(args: PubMedArgs) -> str:
    SEARCHED.append(args.query)
    article = Evidence(
        text="Amivantamab plus lazertinib prolonged progression-free survival over osimertinib in EGFR-mutated "
        "non-small-cell lung cancer.",
        source_kind="pubmed",
        title="Amivantamab plus lazertinib in EGFR-mutated NSCLC",
        pmid="38924756",
        year=2024,
    )
    return f"[{current_context().evidence(article)}] {article.title}"


def test_online_pubmed_is_searched_with_the_key_terms_and_what_it_finds_is_stored(store: EvidenceStore) -> None:
    SEARCHED.clear()
    question = "Does amivantamab with lazertinib prolong survival in EGFR-mutated lung cancer?"
    model = script("Thought: Both passages.\nFinal Answer: It prolonged progression-free survival [1].")
    agent = Agent(
        model=model,
        tools=[fake_pubmed],
        protocol="text",
        store=store,
        mode="react",
        offline=False,
        evidence_floor=FLOOR,
    )
    answer = agent.run(question)
    (query,) = SEARCHED
    terms = query.split()
    assert len(terms) <= 4 and {"amivantamab", "lazertinib"} <= set(terms) and "does" not in terms
    pubmed = next(s for s in answer.plan.searches if s.source == "pubmed")  # type: ignore[union-attr]
    assert pubmed.ran and pubmed.found == 1 and pubmed.query == query
    assert any(h.evidence.pmid == "38924756" for h in store.search("amivantamab lazertinib", k=3))
    kept = answer.plan.kept  # type: ignore[union-attr]
    assert kept[0].title == "Amivantamab plus lazertinib in EGFR-mutated NSCLC" and kept[0].ref == 1
    assert answer.citations[0].locator == "https://pubmed.ncbi.nlm.nih.gov/38924756/"


def test_the_step_limit_goes_to_the_answer_step_under_the_answer_grammar() -> None:
    final = "Thought: Enough.\nFinal Answer: x is a test entry [1]"
    model = embedded(act("x"), act("y"), final)
    answer = agent_for(model, None, max_steps=2).run("What is x?")
    last = model.prompts[-1][-1]
    assert isinstance(last, HumanMessage) and "step limit of 2 reached" in last.content
    grammar = model.kwargs_seen[-1]["grammar"]
    assert admits(grammar, final) and not admits(grammar, act("z"))
    assert answer.text == "x is a test entry [1]" and not answer.incomplete and answer.status == "completed"
    assert "step limit of 2 reached" in answer.reason


def test_an_answer_step_without_an_answer_is_incomplete_and_not_passed_off_as_one() -> None:
    answer = agent_for(script(act("x"), "I keep thinking about it.", "No more tools, I see."), None, max_steps=1).run(
        "What is x?"
    )
    assert answer.incomplete and answer.status == "incomplete" and answer.text == NO_ANSWER
    assert "step limit of 1 reached" in answer.reason


def test_a_reserve_lowers_the_limits_inside_its_block_only() -> None:
    run = Run(model=script(), tools=[], settings=load_settings(token_limit=1000), emit=lambda _e: None)
    run.input_tokens = 700
    run.check()
    with run.reserving(0.4), pytest.raises(LimitReached, match="token limit of 1000 reached"):
        run.check()
    with run.reserving(0.2):
        run.check()
        with run.reserving(0.1), pytest.raises(LimitReached, match="30% of it is kept"):
            run.check()
    run.check()


def test_full_mode_samples_an_answer_reached_at_the_step_limit() -> None:
    replies = [
        act("x"),
        "Thought: Enough.\nFinal Answer: x is a test entry [1]",
        *["x is a test entry.\nAnswer: x is a test entry"] * 3,
    ]
    agent = agent_for(script(*replies), None, mode="full", max_steps=1, samples=3, critique_rounds=0, search_rounds=0)
    answer = agent.run("What is x?")
    assert answer.status == "completed" and answer.confidence == 1.0
    assert answer.text == "x is a test entry [1]"
    assert [e.type for e in answer.events].count("uncertainty_round") == 1


def test_ask_exit_codes() -> None:
    from txscout.cli import EXIT_FAILED, EXIT_INCOMPLETE, app

    runner = CliRunner()
    incomplete = runner.invoke(
        app, ["ask", "--mode", "bare", "--json", "What is x?"], env={"TXSCOUT_TIME_LIMIT_S": "0.000001"}
    )
    assert incomplete.exit_code == EXIT_INCOMPLETE == 3, incomplete.output
    assert json.loads(incomplete.stdout)["status"] == "incomplete"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    failed = runner.invoke(
        app, ["ask", "--mode", "bare", "--model", "openai:m", "--base-url", f"http://127.0.0.1:{closed}/v1", "What?"]
    )
    assert failed.exit_code == EXIT_FAILED == 4, failed.output
    assert "cannot reach the model endpoint" in failed.stderr and "Traceback" not in failed.output


def test_the_embedded_model_answers_a_yes_no_question_citing_the_stored_abstract(
    tmp_path: Path, embedder: object
) -> None:
    abstract = Evidence(
        text="BACKGROUND: Whether statin use after diagnosis affects survival in colorectal cancer is unclear. "
        "METHODS: We followed 4,200 patients with stage I-III colorectal cancer for a median of 6 years. "
        "RESULTS: Statin use after diagnosis was associated with lower cancer-specific mortality (hazard ratio "
        "0.71, 95% CI 0.60-0.84). CONCLUSIONS: Post-diagnostic statin use is associated with longer survival "
        "in colorectal cancer.",
        source_kind="pubmed",
        pmid="29000001",
        year=2018,
    )
    store = EvidenceStore(path=tmp_path / "memory", embedder=embedder)  # the real offline MiniLM
    store.add([abstract, OSIMERTINIB, PROTACS])
    labels = Choices(answers=["yes", "no", "maybe"])
    agent = Agent(model="local:smollm2", tools=[], store=store, mode="react", offline=True)
    answer = agent.run("Is statin use after diagnosis associated with survival in colorectal cancer?", choices=labels)
    assert answer.plan is not None and [p.locator for p in answer.plan.kept][:1] == [abstract.locator]
    assert abstract.locator in [c.locator for c in answer.citations], answer.text
    assert labels.pick(answer.text) in {"yes", "no", "maybe"} and answer.status == "completed"


@txtool("pubmed_search", Lookup, "Search PubMed (a stand-in that registers one new abstract per call).")
def pubmed_stand_in(args: Lookup) -> str:
    ref = current_context().evidence(
        Evidence(text=f"A trial of {args.term} found longer survival.", source_kind="pubmed", pmid="777")
    )
    return f"[{ref}] A trial of {args.term} found longer survival."


def test_a_sample_that_outvotes_a_cited_draft_carries_its_citation(store: EvidenceStore) -> None:
    draft = f"Thought: The passage reports it.\nFinal Answer: Answer: maybe\n{QUOTE}"
    split = [f"Survival was longer.\nAnswer: {label} [1]" for label in ("yes", "no", "maybe", "yes", "no")]
    agreed = [f"Survival was longer.\nAnswer: {label} [1]" for label in ("yes", "yes", "yes", "maybe", "yes")]
    model = embedded(draft, *split, *agreed, "NONE")
    labels = Choices(answers=["yes", "no", "maybe"])
    agent = Agent(
        model=model,
        tools=[lookup, pubmed_stand_in],
        protocol="text",
        store=store,
        mode="full",
        offline=True,
        evidence_floor=FLOOR,
        samples=5,
        search_rounds=1,
    )
    answer = agent.run(QUESTION, choices=labels)

    sampled = model.kwargs_seen[1]["grammar"]
    assert admits(sampled, "Survival was longer.\nAnswer: yes [1]")
    assert not admits(sampled, "Survival was longer.\nAnswer: yes")
    assert not admits(sampled, "Survival was longer.\nAnswer: yes [2]")
    assert labels.pick(answer.text) == "yes" and answer.confidence == pytest.approx(0.8)
    assert 1 in [c.ref for c in answer.citations], "the sample's answer replaced the draft with its citation"


def test_a_revision_of_a_cited_draft_is_held_to_the_passages(store: EvidenceStore) -> None:
    draft = f"Thought: The passage reports it.\nFinal Answer: {QUOTE}"
    samples = ["Survival was longer.\nAnswer: 38.6 months [1]"] * 5
    critic = "UNANSWERED: the answer does not say whether survival improved"
    model = embedded(draft, *samples, critic, QUOTE)
    answer = agent_for(model, store, mode="full", samples=5).run(QUESTION)

    purposes = [e.purpose for e in answer.events if isinstance(e, ModelCall)]
    assert purposes[-2:] == ["critique", "revision"]
    revision = model.kwargs_seen[-1]["grammar"]
    assert admits(revision, QUOTE)
    assert not admits(revision, "Osimertinib improved overall survival.")
    assert not admits(revision, "Osimertinib improved overall survival [1].")
    assert [c.ref for c in answer.citations] == [1]
