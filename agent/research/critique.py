"""Self-critique: find what is wrong with the answer, search for what is missing, revise.

A critic pass lists problems of five kinds: claims without support, citations that do not support
their sentence, missing safety-relevant facts, contradictions, and parts of the question left
unanswered. Two sources feed it:

* deterministic checks that need no model and cannot be talked out of a finding: uncited claims
  when evidence exists, citations whose evidence shares no key term (or no number) with their
  sentence, safety-gate flags and predictor toxicity flags the answer does not mention,
  contraindications in cited evidence left out, an answer to a closed set (options, labels, the
  values the tools returned for the asked property) that states none of it, sub-questions the answer
  never touches;
* the model as critic, for what text matching cannot see (contradictions, subtle misreadings).
  Its reply is parsed leniently and anything unparseable is ignored, since small models produce
  garbage at times and a garbage finding would trigger a needless rewrite.

When problems are found, a targeted search looks for what is missing and a revision call gets the
draft, the problems and the (enlarged) evidence. At most ``settings.critique_rounds`` rounds; a clean
critique ends early and returns the draft unchanged. Two guards need no model: a citation the ledger
shows to be misplaced is moved before the critic reads the draft, and a revision that fails more of
the model-free checks than its draft is refused. With a closed answer set the revision of a model that
takes a grammar must end with one of its answers, and a revision that states none where the draft
stated one fails more checks: critique never turns a gradable answer into ungradable text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from txscout.agent import protocol
from txscout.agent.answers import (
    extract_answer,
    normalise,
    numbers,
    question_stem,
    strip_citations,
    tokens,
)
from txscout.agent.citations import CITATION, cited_numbers
from txscout.agent.queries import keywords
from txscout.agent.research.searcher import Searcher, phase_prompt
from txscout.core.events import CritiqueFinding, ErrorRaised, Revision

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from txscout.agent.answers import Choices
    from txscout.agent.citations import EvidenceLedger
    from txscout.agent.run import Run
    from txscout.core.evidence import Evidence

Kind = Literal["unsupported", "miscited", "safety", "contradiction", "unanswered"]
KINDS: tuple[Kind, ...] = ("unsupported", "miscited", "safety", "contradiction", "unanswered")

MAX_PER_KIND = 4
"""Findings of one kind beyond this add prompt length without telling the reviser anything new."""
QUERIES_PER_ROUND = 2
CLAIM_MIN_WORDS = 4
FINDING_MIN_WORDS = 2
"""A critic finding with fewer words ("CONTRADICTION: [0] 3.") names nothing a revision could
fix; small models emit such lines, and acting on them rewrites a sound answer for no reason."""
TOXICITY_THRESHOLD = 0.5
"""Predictor outputs for these endpoints are probabilities; 0.5 is where the classifier calls it."""
POSITIVE_WORDS = frozenset({"high", "positive", "toxic"})
"""A predictor that states a verdict in words instead of a probability: these count as 1.0."""

CRITIC_INSTRUCTION = (
    "Review the answer above against the evidence. List each problem on its own line as 'KIND: detail', "
    "where KIND is UNSUPPORTED (a claim no evidence supports), MISCITED (a citation [n] whose evidence "
    "does not support its sentence), SAFETY (a missing contraindication, toxicity or safety fact), "
    "CONTRADICTION (the answer contradicts itself or the evidence) or UNANSWERED (a part of the question "
    "left unanswered). If there is no problem, reply exactly NONE."
)
ECHO_SHARE = 0.6
"""A finding whose words come mostly from the critic's own instructions ("the answer is UNSUPPORTED (a
claim no evidence supports)") is the model parroting its prompt, not a finding about this answer."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'\[])|\n+")
_LEADING_REFS = re.compile(r"^((?:\[\d[\d,\s–-]*\][\s.;,]*)+)(.*)$", re.DOTALL)
_NOT_A_CLAIM = re.compile(
    r"^(answer\s*:|final answer\s*:)|\b(no evidence|could not find|not find|not found|unknown|"
    r"consult|i am not sure|insufficient)\b",
    re.IGNORECASE,
)
_TOXICITY_WORDS: dict[str, tuple[str, ...]] = {
    "herg": ("herg", "qt", "cardiotox", "cardiac", "arrhythm"),
    "ames": ("ames", "mutagen", "genotox"),
    "dili": ("dili", "liver", "hepatotox", "hepatic"),
    "clintox": ("clintox", "clinical tox", "toxicity", "toxic"),
}
_TOXICITY_NAMES = {"herg": "hERG", "ames": "AMES", "dili": "DILI", "clintox": "ClinTox"}
_CONTRAINDICATION = re.compile(r"contraindicat\w*|boxed warning|black[- ]box", re.IGNORECASE)
_CRITIC_LINE = re.compile(
    r"^\s*(?:[-*•]|\d+[.)])?\s*\**\s*(unsupported|miscited|safety|contradiction|unanswered)\**\s*[:\-–]\s*(.+)$",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[A-Za-z]{2,}")
_REVISION_PREFIX = re.compile(r"^\s*(?:\**)?(?:revised answer|final answer|revision)(?:\**)?\s*:\s*", re.I)


class Problem(BaseModel):
    """One critique finding. ``query`` is what to search for to fix it; empty when a search cannot
    help (a miscitation is fixed by rewording, not by more evidence)."""

    kind: Kind
    detail: str
    query: str = ""

    def render(self) -> str:
        return f"{self.kind}: {self.detail}"


def sentences(text: str) -> list[str]:
    """Sentences of an answer; a citation-only fragment ("[2]") stays with the sentence before it."""
    parts: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        leading = _LEADING_REFS.match(piece.strip())
        refs, rest = (leading.group(1).strip(), leading.group(2).strip()) if leading else ("", piece.strip())
        if refs and parts:
            parts[-1] = f"{parts[-1]} {refs}"
        elif refs:
            rest = f"{refs} {rest}".strip()
        if rest:
            parts.append(rest)
    return parts


def cited_refs(sentence: str) -> list[int]:
    refs: list[int] = []
    for group in CITATION.findall(sentence):
        for ref in cited_numbers(group):
            if ref not in refs:
                refs.append(ref)
    return refs


def is_claim(sentence: str) -> bool:
    """A sentence that asserts something checkable: enough content words, not a hedge or answer line."""
    if _NOT_A_CLAIM.search(sentence) or sentence.rstrip().endswith("?"):
        return False
    return len(tokens(sentence)) >= CLAIM_MIN_WORDS


def check_support(text: str, ledger: EvidenceLedger) -> list[Problem]:
    """Uncited claims (only when there is evidence to cite) and citations that cannot support their
    sentence: a number that points to nothing, evidence sharing no key term with the sentence, or a
    number in the sentence that the cited evidence never states (small integers are skipped: "type 2",
    "stage 3" are rarely written the same way in the source)."""
    problems: list[Problem] = []
    if not ledger.items:
        return problems
    for sentence in sentences(text):
        refs = cited_refs(sentence)
        claim = strip_citations(sentence)
        if not refs:
            if is_claim(sentence):
                problems.append(
                    Problem(
                        kind="unsupported",
                        detail=f"no citation for: {claim[:160]}",
                        query=" ".join(keywords(claim)),
                    )
                )
            continue
        for ref in refs:
            fault = _citation_fault(claim, ledger.get(ref), alone=len(refs) == 1)
            if fault:
                problems.append(Problem(kind="miscited", detail=f"[{ref}] {fault}: {claim[:120]}"))
    return problems


def _citation_fault(claim: str, item: Evidence | None, *, alone: bool = True) -> str | None:
    """Why ``item`` cannot support ``claim``, or None if it can. A number is required of a citation
    only when it is the sentence's sole citation, since several may share the values between them."""
    if item is None:
        return "points to no evidence in"
    source = f"{item.title} {item.text}"
    words = set(tokens(claim))
    if words and not words & set(tokens(source)):
        return "shares no key term with"
    stated = numbers(source)
    values = [v for v in numbers(claim) if abs(v) >= 10 or not v.is_integer()]
    missing = [v for v in values if not any(abs(v - s) <= 0.01 * max(abs(v), 1e-9) for s in stated)]
    if missing and alone:
        return f"does not state {missing[0]:g} in"
    return None


def repoint_citations(text: str, ledger: EvidenceLedger) -> str:
    """Move a citation that cannot support its sentence to the one ledger entry that best does.

    Small models copy the right value and then cite the wrong observation ("C9H8O4 [2]" where [2] is
    the weight table); a rewrite by the same model rarely fixes that, but the ledger says which entry
    states the value. The entry sharing the most key terms with the sentence wins; a tie, or no entry
    that supports the sentence, leaves the citation alone for the critic to report.
    """
    for sentence in sentences(text):
        refs = cited_refs(sentence)
        claim = strip_citations(sentence)
        faulty = [r for r in refs if _citation_fault(claim, ledger.get(r), alone=len(refs) == 1) is not None]
        if not faulty or sentence not in text:
            continue
        words = set(tokens(claim))
        overlap = {
            n: len(words & set(tokens(f"{item.title} {item.text}")))
            for n, item in enumerate(ledger.items, start=1)
            if _citation_fault(claim, item) is None
        }
        best = max(overlap.values(), default=0)
        winners = [n for n, shared in overlap.items() if shared == best]
        if len(winners) == 1:
            text = text.replace(sentence, _renumber(sentence, dict.fromkeys(faulty, winners[0])), 1)
    return text


def _renumber(sentence: str, moves: dict[int, int]) -> str:
    def move(match: re.Match[str]) -> str:
        found = cited_numbers(match.group(1))
        return "[" + ", ".join(str(n) for n in dict.fromkeys(moves.get(r, r) for r in found)) + "]"

    return CITATION.sub(move, sentence)


def endpoint_values(artifact: Any) -> Iterator[tuple[str, Any]]:
    """``(endpoint, value)`` pairs anywhere in a tool's structured result: ADMET predictions
    (``{"id": "hERG", "value": 0.83}``), task predictions (``{"task": "ClinTox", "answer": ...}``) and
    plain mappings (``{"hERG": 0.83}``)."""
    if isinstance(artifact, dict):
        if "id" in artifact and "value" in artifact:
            yield str(artifact["id"]), artifact["value"]
        if "task" in artifact and "answer" in artifact:
            yield str(artifact["task"]), artifact["answer"]
        for key, value in artifact.items():
            if isinstance(value, dict | list):
                yield from endpoint_values(value)
            else:
                yield str(key), value
    elif isinstance(artifact, list):
        for item in artifact:
            yield from endpoint_values(item)


def _probability(value: Any) -> float | None:
    """A reported value as a probability: numbers as they are (percentages scaled), verdict words as 1.0."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value / 100 if value > 1 else float(value)
    if isinstance(value, str) and value.strip().lower() in POSITIVE_WORDS:
        return 1.0
    return None


def toxicity_flags(run: Run) -> dict[str, float]:
    """Predictor endpoints (hERG, AMES, DILI, ClinTox) that some tool's structured result reports as
    likely positive, with the reported probability (1.0 for a verbal 'high'/'positive'). Read from the
    artifacts, so a prediction the rendered text left out (a batch beyond its display limit) counts."""
    flags: dict[str, float] = {}
    for observation in run.observations:
        if observation.outcome.is_error:
            continue
        for endpoint, raw in endpoint_values(observation.outcome.artifact):
            name = endpoint.lower()
            value = _probability(raw) if name in _TOXICITY_WORDS else None
            if value is not None and value >= TOXICITY_THRESHOLD:
                flags[name] = max(value, flags.get(name, 0.0))
    return flags


def safety_notes(run: Run) -> list[str]:
    """Safety facts the tools established, in words a prompt can carry. A structure the safety gate
    flagged is not among them: such a run ends in the refusal and is never critiqued."""
    return [f"the predictor flagged {_TOXICITY_NAMES[k]} toxicity (p={v:.2f})" for k, v in toxicity_flags(run).items()]


def check_safety(text: str, run: Run) -> list[Problem]:
    """Safety facts a tool established or cited evidence states that the answer leaves out (a flagged
    structure needs no check here: that run ends in the refusal, uncritiqued)."""
    lowered = text.lower()
    problems: list[Problem] = []
    for name, value in toxicity_flags(run).items():
        if not any(w in lowered for w in _TOXICITY_WORDS[name]):
            problems.append(
                Problem(
                    kind="safety",
                    detail=f"the predictor flagged {_TOXICITY_NAMES[name]} (p={value:.2f}); not mentioned",
                )
            )
    if not _CONTRAINDICATION.search(text):
        for ref in cited_refs(text):
            item = run.ledger.get(ref)
            if item is not None and _CONTRAINDICATION.search(item.text):
                problems.append(
                    Problem(
                        kind="safety",
                        detail=f"cited evidence [{ref}] states a contraindication or warning; not mentioned",
                    )
                )
    return problems


def check_coverage(question: str, text: str, choices: Choices | None) -> list[Problem]:
    """An answer to a closed set (options, labels, the tools' values) that states none of ``choices``;
    else sub-questions whose key terms never appear. A revision that drops the draft's choice fails
    this check, so it is refused: critique never turns a gradable answer into text that is not."""
    if choices is not None:
        if choices.pick(text) is None:
            return [Problem(kind="unanswered", detail=f"the answer does not choose one of: {_listed(choices)}")]
        return []
    parts = [p.strip() + "?" for p in question_stem(question).split("?") if len(tokens(p)) >= 2]
    if len(parts) < 2:
        return []
    said = set(tokens(text))
    return [
        Problem(kind="unanswered", detail=f"not addressed: {part[:160]}", query=" ".join(keywords(part)))
        for part in parts
        if not set(keywords(part, 3)) & said
    ]


def parse_critic(reply: str) -> list[Problem]:
    """Problems from the critic's reply: 'KIND: detail' lines or a JSON list; anything else is ignored,
    and so are findings too short to name a problem or made of the instruction's own words."""
    instruction = set(tokens(CRITIC_INSTRUCTION))
    kept = []
    for problem in _critic_findings(reply):
        words = tokens(problem.detail)
        echoed = sum(w in instruction for w in words) >= ECHO_SHARE * len(words) if words else False
        if len(_WORDS.findall(problem.detail)) >= FINDING_MIN_WORDS and not echoed:
            kept.append(problem)
    return kept


def _critic_findings(reply: str) -> list[Problem]:
    text = reply.strip()
    found: list[Problem] = []
    if text[:1] in "[{":
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError:
            data = None
        entries = data if isinstance(data, list) else [data]
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            kind = str(entry.get("kind") or entry.get("type") or "").lower()
            detail = str(entry.get("detail") or entry.get("problem") or entry.get("description") or "").strip()
            if kind in KINDS and detail:
                found.append(Problem(kind=kind, detail=detail[:200]))
        if found:
            return found
    for line in text.splitlines():
        match = _CRITIC_LINE.match(line)
        if match and match.group(2).strip():
            try:
                found.append(Problem(kind=match.group(1).lower(), detail=match.group(2).strip()[:200]))
            except ValidationError:
                continue
    return found


def critic_grammar() -> str:
    """GBNF for the embedded model's critique: NONE, or up to three 'KIND: detail' lines."""
    kinds = " | ".join(f'"{k.upper()}"' for k in KINDS)
    return (
        f'root ::= "NONE" | problem ( "\\n" problem ){{0,2}}\nproblem ::= kind ": " [^\\n]{{1,150}}\nkind ::= {kinds}\n'
    )


def _listed(choices: Choices) -> str:
    return ", ".join(choices.answers[:8]) + (", ..." if len(choices.answers) > 8 else "")


def revision_grammar(choices: Choices | None = None, passages: Sequence[tuple[int, str]] = ()) -> str:
    """GBNF for the embedded model's revision: a few lines of answer; for a closed set, one line and then
    the answer line with one choice of the set (an option letter may be followed by its text). When
    evidence-first showed ``passages`` (number, text), the revision is held to them as the draft was:
    cited sentence by sentence (``protocol.cited_answer_grammar``), a closed set's answer line first."""
    if passages and not (choices is not None and choices.grounded):
        return protocol.cited_answer_grammar(passages, choices)
    if choices is not None and choices.options:
        letters = " | ".join(f'"{k}"' for k in choices.options)
        return f'root ::= [^\\n]{{1,300}} "\\nAnswer: " ( {letters} ) ( ". " [^\\n]{{0,80}} )?\n'
    if choices is not None:
        expression, rules = protocol.choice_rule(choices)
        return f'root ::= [^\\n]{{1,300}} "\\nAnswer: " {expression}\n{rules}'
    return 'root ::= [^\\n]{1,300} ( "\\n" [^\\n]{1,300} ){0,2}\n'


def _answer_form(choices: Choices | None) -> str:
    """What the revision must end with, in words."""
    if choices is None:
        return ""
    if choices.options:
        return " End with a line 'Answer: <option letter>'."
    if choices.grounded:
        return f" End with a line 'Answer: {choices.answers[0]}'." if len(choices.answers) == 1 else ""
    return f" End with a line 'Answer: <one of {_listed(choices)}>'."


def _safety_section(run: Run) -> list[str]:
    notes = safety_notes(run)
    return ["Safety facts from tools:\n" + "\n".join(f"- {n}" for n in notes)] if notes else []


def critic_prompt(run: Run, question: str, draft: str) -> list[BaseMessage]:
    sections = [*_safety_section(run), f"Answer to review:\n{draft}"]
    return phase_prompt(run, question, sections, CRITIC_INSTRUCTION)


def revision_prompt(run: Run, question: str, draft: str, problems: list[Problem]) -> list[BaseMessage]:
    tail = _answer_form(run.choices)
    instruction = (
        "Revise the draft so that every listed problem is fixed: support each claim with a citation [n] to "
        "evidence that states it, or remove the claim; correct citations that do not support their sentence; "
        "state the safety facts; answer every part of the question. Cite only evidence numbers shown. Reply "
        f"with the revised answer only.{tail}"
    )
    listed = "\n".join(f"{i}. {p.render()}" for i, p in enumerate(problems, start=1))
    sections = [*_safety_section(run), f"Draft answer:\n{draft}", f"Problems:\n{listed}"]
    return phase_prompt(run, question, sections, instruction)


def find_problems(run: Run, question: str, draft: str, round_no: int = 1) -> list[Problem]:
    """Deterministic findings plus the model critic's, deduplicated and capped per kind.

    An answer the tools settled (``Choices.settled``: the asked property's one value) is not put to
    the model critic: no revision may change the value, so its findings could only add a small
    model's prose around it. The model-free checks still run."""
    problems = [
        *check_support(draft, run.ledger),
        *check_safety(draft, run),
        *check_coverage(question, draft, run.choices),
    ]
    if run.choices is None or not run.choices.settled:
        prompt = critic_prompt(run, question, draft)
        reply = run.call_model(prompt, purpose="critique", step=round_no, grammar=critic_grammar())
        for problem in parse_critic(reply.text):
            if problem.kind in ("unsupported", "unanswered", "safety"):
                problem.query = " ".join(keywords(problem.detail))
            problems.append(problem)
    unique: dict[tuple[str, str], Problem] = {}
    per_kind: dict[str, int] = {}
    for problem in problems:
        key = (problem.kind, problem.detail.lower())
        if key in unique or per_kind.get(problem.kind, 0) >= MAX_PER_KIND:
            continue
        unique[key] = problem
        per_kind[problem.kind] = per_kind.get(problem.kind, 0) + 1
    return list(unique.values())


def _checks_failed(run: Run, question: str, text: str) -> int:
    """How many model-free checks ``text`` fails. A revision may not fail more than its draft: the
    model critic of a small model invents problems, and its rewrite can drop every cited value."""
    checks = (check_support(text, run.ledger), check_safety(text, run), check_coverage(question, text, run.choices))
    return sum(len(found) for found in checks)


def _changes_choice_uncited(choices: Choices | None, text: str, revised: str) -> bool:
    """Whether a revision picks another answer of a closed set without citing anything for it. Critique
    fixes how an answer is supported; a small model's rewrite otherwise turns into a fresh guess (on
    MedQA, 7 of 100 revisions changed the option with no evidence at all)."""
    if choices is None or CITATION.search(revised):
        return False

    def picked(answer: str) -> str | None:
        short = extract_answer(answer)
        return normalise(short, choices.options).key if choices.options else choices.pick(short)

    return picked(revised) != picked(text)


def _clean_revision(text: str) -> str:
    return _REVISION_PREFIX.sub("", text.strip(), count=1).strip()


def critique_and_revise(run: Run, question: str, draft: str) -> str:
    """Critique and revise at most ``settings.critique_rounds`` times; the draft comes back unchanged
    when the critic finds nothing. A budget running out returns the latest text."""
    searcher = Searcher(run)
    text = draft
    with run.limited("critique stopped"):
        for round_no in range(1, run.settings.critique_rounds + 1):
            repointed = repoint_citations(text, run.ledger)
            if repointed != text:
                run.emit(Revision(round=round_no, text=repointed))
                text = repointed
            problems = find_problems(run, question, text, round_no)
            run.emit(CritiqueFinding(round=round_no, problems=[p.render() for p in problems]))
            if not problems:
                break
            queries = list(dict.fromkeys(p.query for p in problems if p.query))[:QUERIES_PER_ROUND]
            if queries and searcher.tools():
                with run.limited("critique search stopped"):
                    searcher.search(queries)
            prompt = revision_prompt(run, question, text, problems)
            grammar = revision_grammar(run.choices, run.ledger.shown(run.passages))
            revised = _clean_revision(run.call_model(prompt, purpose="revision", step=round_no, grammar=grammar).text)
            if not re.search(r"[A-Za-z]{2,}|[A-Z][a-z]?\d", strip_citations(revised)):
                run.emit(ErrorRaised(kind="format", message="the revision was empty; kept the previous answer"))
                break
            if _changes_choice_uncited(run.choices, text, revised):
                run.emit(
                    ErrorRaised(
                        kind="format",
                        message="the revision changed the answer without citing evidence; kept the previous answer",
                    )
                )
                break
            worse = _checks_failed(run, question, revised) - _checks_failed(run, question, text)
            if worse > 0:
                run.emit(
                    ErrorRaised(
                        kind="format",
                        message=f"the revision fails {worse} more check(s) than the draft; kept the previous answer",
                    )
                )
                break
            run.emit(Revision(round=round_no, text=revised))
            text = revised
    return text
