"""Uncertainty-guided re-search: sample several answers, and where they disagree, search and sample again.

After the ReAct phase drafts an answer, the model answers the question ``settings.samples`` more
times at ``settings.sample_temperature``, conditioned on the question and the numbered evidence
gathered so far. The answers are normalised and clustered (``agent.answers``), and the Shannon
entropy of the cluster distribution decides what happens next:

* entropy at or below ``settings.entropy_threshold``: the samples agree; stop.
* above it: build search queries from the question's key terms and each competing answer, run them
  through the retrieval tools the run has (PubMed, web, memory), and sample again on the enlarged
  evidence, at most ``settings.search_rounds`` times.

Entropy is in bits. The default threshold, 0.9 bits, sits between the two splits that matter with
the default five samples: 4-1 (0.72 bits, one dissenter: a confident majority, not worth a search)
and 3-2 (0.97 bits, a near coin flip: worth one). Any three-way split (>= 1.37 bits) searches too.
With ten samples the same threshold searches from 6-4 (0.97) but not at 7-3 (0.88).

When no retrieval tool is available, or the search added no new evidence, sampling stops early:
resampling on identical evidence measures the same distribution again and only spends tokens.

The samples decide whether to search; evidence decides the answer. The draft stands unless a round's
samples were drawn on evidence the draft did not have (a search added some) and their majority, the
draft voting with the samples that give its answer, is another answer: then the first sample of that
majority is carried forward. Samples drawn on the draft's own evidence only measure how sure the model
is: at the sampling temperature a small model drifts (on MedQA, majorities of such samples replaced 32
of 100 drafts, right ones more often than wrong ones). A draft that states no answer is replaced by the
majority. The confidence is the share of the last round's samples that give the answer carried
forward; every round's entropy is reported.

Samples are drawn under the same constraint as the draft, so that their disagreement measures the
choice the draft made and not the freedom it did not have (:func:`sample_constraint`):

* a closed answer set (``run.choices``: option letters, labels, or the asked property's values that
  grounding read from the tools) constrains every sample to it, and samples are compared by the choice
  they state (``Choices.pick``);
* a draft that cites the passages evidence-first showed (``run.passages``) is sampled under the rule that
  each sample's answer line ends with one of their numbers, so a sample that outvotes the draft carries
  its citation into the answer instead of replacing a cited draft with an uncited one;
* a draft written under the copying grammar (it opens with a value copied from a grounding
  observation) is sampled under the same copying rule, so the samples choose among the same facts;
* anything else is sampled free.

A deterministic tool fact is its own evidence: when grounding closed the set to a single value (the
asked property of the molecules the question names, ``agent.plan.asked``) and the draft states it, every
sample under that constraint would state it too, so the phase records confidence 1.0 and spends no
samples ("settled by the tools"). An unconstrained sample would only measure how often a small model
fails to copy a number, which says nothing about whether the number is right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from txscout.agent import protocol
from txscout.agent.answers import (
    NO_ANSWER,
    Choices,
    Cluster,
    Distribution,
    Normalised,
    extract_answer,
    measure,
    mentions,
    normalise,
    question_stem,
    reasoning,
    strip_citations,
)
from txscout.agent.backends.capabilities import Grammar
from txscout.agent.citations import CITATION, cited_numbers
from txscout.agent.queries import keywords
from txscout.agent.research.searcher import Searcher, SearchReport, phase_prompt
from txscout.core.events import UncertaintyRound

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from txscout.agent.run import Run

SAMPLE_MAX_TOKENS = 96
QUERY_KEYWORDS = 4
COMPETING_ANSWERS_SEARCHED = 2
EVENT_SAMPLE_CAP = 200


class UncertaintyOutcome(BaseModel):
    """The answer after uncertainty resolution, with what was measured on the way.

    ``confidence`` is the majority share of the final round; ``entropies`` holds one value (bits) per
    sampling round; ``rounds`` counts sampling rounds (0 if a budget ran out before the first).
    """

    answer: str
    confidence: float
    entropies: list[float] = Field(default_factory=list)
    rounds: int = 0
    distribution: dict[str, float] = Field(default_factory=dict)
    searched: list[str] = Field(default_factory=list)


SETTLED = "settled by the tools"


class SampleConstraint(BaseModel):
    """What constrains the samples: the run's answer set, or the facts the draft copied from (GBNF
    expression and rules, ``protocol.fact_rule``), or nothing."""

    choices: Choices | None = None
    facts: tuple[str, str] | None = None
    cited: tuple[int, ...] = ()
    """Numbers of the passages shown, when the draft cites them: each sample's answer cites one too."""


def sample_constraint(run: Run, question: str, draft: str) -> SampleConstraint:
    """The constraint the draft was written under, for the samples to be drawn under it too."""
    shown = tuple(run.passages)
    cites = {n for group in CITATION.findall(draft) for n in cited_numbers(group)}
    cited = shown if cites & set(shown) else ()
    if run.choices is not None:
        return SampleConstraint(choices=run.choices, cited=cited)
    grounded = [o.outcome.text for o in run.observations if o.automatic and not o.outcome.is_error]
    copied = protocol.facts(grounded, question)
    stated = strip_citations(extract_answer(draft))
    if grounded and any(stated.startswith(fact) for fact in copied):
        return SampleConstraint(facts=protocol.fact_rule(grounded, question))
    return SampleConstraint(cited=cited)


def sample_grammar(constraint: SampleConstraint | None = None) -> str:
    """GBNF for one short sample from the embedded model: one short line of reasoning (80 characters: a
    small model's reasoning beyond one sentence seldom changes its answer and was most of a sample's
    time), then the answer line
    under the draft's constraint: an option letter, a label or a tool value, so every sample states exactly
    one answer of the set."""
    constraint = constraint or SampleConstraint()
    choices = constraint.choices
    if choices is not None and choices.options:
        # the letter alone: the option's text is known (``_present`` adds it), so writing it is wasted tokens
        answer, rules = "( " + " | ".join(f'"{k}"' for k in choices.options) + " )", ""
    elif choices is not None:
        answer, rules = protocol.choice_rule(choices)
    elif constraint.facts is not None:
        answer, rules = constraint.facts
    else:
        answer, rules = "[^\\n]{1,80}", ""
    if constraint.cited:
        refs = " | ".join(f'"{n}"' for n in constraint.cited)
        answer = f'( {answer} ) " [" ( {refs} ) "]"'
    return f'root ::= reason "\\nAnswer: " answer\nreason ::= [^\\n]{{1,80}}\nanswer ::= {answer}\n{rules}'


def _form(choices: Choices | None) -> str:
    if choices is not None and choices.options:
        return "The answer is the letter of exactly one option."
    if choices is not None and choices.grounded:
        return "The answer is the value the evidence states."
    if choices is not None:
        return f"The answer is exactly one of: {', '.join(choices.answers)}."
    return "The answer is as short as possible: a name, a number with its unit, or a short phrase."


def sampling_prompt(run: Run, question: str, choices: Choices | None = None) -> list[BaseMessage]:
    """The prompt each sample answers. It omits the draft on purpose: showing it would pull the
    samples towards it and make the measured agreement meaningless."""
    instruction = (
        "Answer the question, using the evidence when it is relevant and citing it like [1]. Write one short "
        f"sentence of reasoning, then a final line exactly of the form 'Answer: <answer>'. "
        f"{_form(choices)}"
    )
    return phase_prompt(run, question, [], instruction)


def compared(short: str, choices: Choices | None) -> Normalised:
    """One sample's answer in comparable form: the choice it states when the set is closed (option
    letters by letter, labels and tool values by the answer they state), else normalised free text."""
    if choices is None:
        return normalise(short)
    if choices.options:
        return normalise(short, choices.options)
    picked = choices.pick(short)
    return Normalised(kind="choice", key=picked) if picked else Normalised(kind="none", key=NO_ANSWER)


def disagreement_queries(
    question: str, options: dict[str, str], distribution: Distribution, answers: list[str], round_no: int = 1
) -> list[str]:
    """One query per competing answer (the largest clusters first): the answer in words plus the
    question's most specific terms, so the search targets exactly what the samples disagree on.
    Later rounds pair the answers with the next most specific terms, since repeating a query that
    left the disagreement standing would only return the same evidence."""
    skip = (round_no - 1) * QUERY_KEYWORDS
    terms = " ".join(keywords(question_stem(question), QUERY_KEYWORDS, skip=skip))
    competing = sorted(
        (c for c in distribution.clusters if c.key != NO_ANSWER), key=lambda c: len(c.members), reverse=True
    )[:COMPETING_ANSWERS_SEARCHED]
    queries = []
    for group in competing:
        phrase = options.get(group.key, "") if options else strip_citations(answers[group.members[0]])
        queries.append(f"{phrase} {terms}".strip())
    return queries or [terms]


def _gives(draft: str, answer: Normalised, choices: Choices | None) -> bool:
    """Whether the draft gives ``answer``: for labels and tool values, the choice it states is it."""
    if choices is not None and not choices.options:
        return answer.kind == "choice" and choices.pick(draft) == answer.key
    return mentions(draft, answer, choices.options if choices else {})


def _majority(
    distribution: Distribution, answers: list[Normalised], draft: str, choices: Choices | None
) -> Cluster | None:
    """The cluster with the most votes, the draft voting with the samples that give its answer; on a tie,
    the draft's. The draft is the model's answer at temperature 0, the mode of what the samples draw
    from: a plurality of two samples against it is noise more often than news (small models at the
    sampling temperature drift towards the first option).

    None when no two votes agree: a lone sample is no better evidence than the draft, which at least
    came from the tool-using phase.
    """
    answered = [c for c in distribution.clusters if c.key != NO_ANSWER]
    if not answered:
        return None

    def votes(group: Cluster) -> int:
        return len(group.members) + _gives(draft, answers[group.members[0]], choices)

    top = max(votes(c) for c in answered)
    if top < 2 <= distribution.total:
        return None
    tied = [c for c in answered if votes(c) == top]
    for group in tied:
        if _gives(draft, answers[group.members[0]], choices):
            return group
    return tied[0]


def _answers(draft: str, choices: Choices | None) -> bool:
    """Whether the draft states an answer (of the set, when it is closed) that samples could outvote."""
    if not draft.strip() or NO_ANSWER in draft:
        return False
    return choices is None or compared(extract_answer(draft), choices).kind != "none"


def _share(distribution: Distribution, answers: list[Normalised], answer: str, choices: Choices | None) -> float:
    """The share of the samples that give ``answer``: how sure the model is of what is carried forward."""
    for group in distribution.clusters:
        if group.key != NO_ANSWER and _gives(answer, answers[group.members[0]], choices):
            return len(group.members) / distribution.total if distribution.total else 0.0
    return 0.0


def _present(text: str, key: str, choices: Choices | None) -> str:
    """A sample as a final answer: its reasoning, then the answer line (an option with its text, or the
    label or tool value the sample chose, exactly as the set spells it). A citation on the sample's answer
    line moves to its reasoning, the sentence the passage supports."""
    options = choices.options if choices else {}
    stated = extract_answer(text)
    if options.get(key):
        answer = f"{key}. {options[key]}"
    elif choices is not None:
        answer = key
    else:
        answer = strip_citations(stated)
    cites = " ".join(f"[{group}]" for group in CITATION.findall(stated))
    why = reasoning(text)
    if cites and why:  # the reasoning is the claim the passage supports; the answer line stays a bare choice
        return f"{why.rstrip('.')} {cites}.\n\nAnswer: {answer}"
    return f"{why}\n\nAnswer: {answer} {cites}".strip()


def _settled(run: Run, draft: str) -> UncertaintyOutcome | None:
    """The outcome when the tools settled the answer: grounding closed the set to one value and the
    draft states it. Samples constrained to a set of one cannot disagree, so none are drawn."""
    choices = run.choices
    if choices is None or not choices.settled:
        return None
    answer = choices.answers[0]
    if choices.pick(draft) != answer:
        return None
    shares = {answer: 1.0}
    run.emit(
        UncertaintyRound(round=1, samples=[], distribution=shares, entropy=0.0, majority_share=1.0, decision=SETTLED)
    )
    return UncertaintyOutcome(answer=draft, confidence=1.0, entropies=[0.0], distribution=shares)


def resolve_uncertainty(run: Run, question: str, draft: str) -> UncertaintyOutcome:
    """Measure agreement among sampled answers, search where they disagree, and return the answer (the
    draft's, unless samples drawn on new evidence outvote it) with its confidence. A budget running out
    ends the phase with the best answer so far.

    Samples are drawn under the draft's constraint (:func:`sample_constraint`) and compared by the
    choice they state when the answer set is closed; an answer the tools settled is not sampled."""
    settled = _settled(run, draft)
    if settled is not None:
        return settled
    settings = run.settings
    constraint = sample_constraint(run, question, draft)
    choices = constraint.choices
    options = choices.options if choices else {}
    grammar = Grammar(sample_grammar(constraint), max_tokens=SAMPLE_MAX_TOKENS)
    searcher = Searcher(run)
    drafted_on = len(run.ledger.items)
    outcome = UncertaintyOutcome(answer=draft, confidence=0.0)
    searched: list[str] = []
    with run.limited("uncertainty phase stopped"):
        for round_no in range(1, settings.search_rounds + 2):
            prompt = sampling_prompt(run, question, choices)
            replies = run.sample(
                prompt,
                n=settings.samples,
                purpose="uncertainty",
                grammar=grammar,
                temperature=settings.sample_temperature,
            )
            texts = [r.text for r in replies]
            short = [extract_answer(t) for t in texts]
            answers = [compared(s, choices) for s in short]
            distribution = measure(answers)
            chosen = _majority(distribution, answers, draft, choices)
            informed = len(run.ledger.items) > drafted_on or not _answers(draft, choices)
            if chosen is None or not informed or _gives(draft, answers[chosen.members[0]], choices):
                answer = draft
            else:
                answer = _present(texts[chosen.members[0]], chosen.key, choices)
            report, decision = _next_step(run, searcher, question, options, distribution, short, round_no)
            searched.extend(report.searched)
            outcome = UncertaintyOutcome(
                answer=answer,
                confidence=_share(distribution, answers, answer, choices),
                entropies=[*outcome.entropies, distribution.entropy],
                rounds=round_no,
                distribution=distribution.shares,
                searched=list(searched),
            )
            run.emit(
                UncertaintyRound(
                    round=round_no,
                    samples=[s[:EVENT_SAMPLE_CAP] for s in short],
                    distribution=distribution.shares,
                    entropy=distribution.entropy,
                    majority_share=distribution.majority_share,
                    searched=report.searched,
                    decision=decision,
                )
            )
            if decision != "searched":
                break
    return outcome


def _next_step(
    run: Run,
    searcher: Searcher,
    question: str,
    options: dict[str, str],
    distribution: Distribution,
    short: list[str],
    round_no: int,
) -> tuple[SearchReport, str]:
    """Whether to search after a round, and the search itself: ``searched`` means sample again."""
    if distribution.entropy <= run.settings.entropy_threshold:
        return SearchReport(), "agreed"
    if round_no > run.settings.search_rounds:
        return SearchReport(), "round cap reached"
    if not searcher.tools():
        return SearchReport(), "no retrieval tool available"
    report = SearchReport()
    with run.limited() as budget:
        report = searcher.search(disagreement_queries(question, options, distribution, short, round_no))
    if budget.limit:
        return report, f"budget exhausted: {budget.reason}"
    if report.new_evidence:
        return report, "searched"
    return report, "no new evidence"
