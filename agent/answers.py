"""Answer normalisation, clustering and entropy: the pure arithmetic under uncertainty-guided search.

Sampled answers say the same thing in different words ("B", "(B) Lisinopril", "Answer: b"; "12 h",
"720 min"; "Osimertinib" and "osimertinib (Tagrisso)"). Entropy over raw strings would call that
disagreement and trigger useless searches, so every answer is first reduced to a comparable form:
an option letter, a number in a base unit, or normalised text. Nothing here calls a model, so each
rule is tested on its own.

Free text is compared by content words (equal, or one answer's words contained in the other's)
rather than by sentence embeddings: sampled answers are a few words long, where containment already
merges paraphrases ("osimertinib" / "osimertinib (Tagrisso)"), and loading an encoder for every run
would cost more than the sampling it judges.

Entropy is measured in **bits** (log base 2), so that its scale reads directly against the number of
distinct answers: one answer is 0 bits, an even split between two is 1 bit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from txscout.agent.citations import CITATION

NUMBER_REL_TOL = 0.02
"""Numbers within 2 % of each other are one answer: sampled replies round differently (194.19 vs
194.2 g/mol, 12 vs 12.1 h), while values that differ by more are a real disagreement."""

NO_ANSWER = "(no answer)"

_CITATION = re.compile(r"\s*" + CITATION.pattern)
_ANSWER_LINE = re.compile(r"^\s*(?:\*\*)?(?:final\s+)?answer(?:\*\*)?\s*[:：]\s*(?:\*\*)?(.*?)(?:\*\*)?\s*$", re.I)
_OPTION_LINE = re.compile(r"^\s*\(?([A-J])[).:]\s+(\S.*)$")
_OPTION_INLINE = re.compile(r"\(([A-J])\)\s*(.+?)(?=\s*\([A-J]\)|$)")
_NUMBER = re.compile(
    r"(?<![\w.])([-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+)"
    r"(?:\s*(?:×|x)\s*10\^?([-+−]?\d+))?"
    r"\s*(%|[A-Za-zµμ/]+(?:/[A-Za-z]+)?)?"
)
_WORD = re.compile(r"[a-z0-9µμ]+(?:[-'.][a-z0-9]+)*")
_NEGATIONS = frozenset({"not", "no", "never", "none", "neither", "nor", "without", "cannot", "isn't", "doesn't"})
STOPWORDS = frozenset(
    """a an the and or of in on at to for from by with as is are was were be been being it its this that
    these those which who whom whose what when where why how than then there their they them he she his
    her him we our you your i me my do does did done has have had having can could should would may
    might must will shall if but so such into onto over under about after before between most more less
    least very also only other any all each some following likely best next answer option options
    patient year old man woman presents presented shows showed because due""".split()  # noqa: SIM905 - reads better as text than as 120 lines
)

# Unit -> (dimension, factor to that dimension's base unit). Only units where a conversion is safe.
_UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1e3),
    "g": ("mass", 1.0),
    "mg": ("mass", 1e-3),
    "µg": ("mass", 1e-6),
    "ug": ("mass", 1e-6),
    "mcg": ("mass", 1e-6),
    "ng": ("mass", 1e-9),
    "l": ("volume", 1.0),
    "dl": ("volume", 0.1),
    "ml": ("volume", 1e-3),
    "µl": ("volume", 1e-6),
    "ul": ("volume", 1e-6),
    "m": ("molar", 1.0),
    "mm": ("molar", 1e-3),
    "µm": ("molar", 1e-6),
    "um": ("molar", 1e-6),
    "nm": ("molar", 1e-9),
    "pm": ("molar", 1e-12),
    "mol/l": ("molar", 1.0),
    "mmol/l": ("molar", 1e-3),
    "µmol/l": ("molar", 1e-6),
    "g/mol": ("molar_mass", 1.0),
    "da": ("molar_mass", 1.0),
    "kda": ("molar_mass", 1e3),
    "s": ("time", 1.0),
    "sec": ("time", 1.0),
    "seconds": ("time", 1.0),
    "min": ("time", 60.0),
    "mins": ("time", 60.0),
    "minutes": ("time", 60.0),
    "h": ("time", 3600.0),
    "hr": ("time", 3600.0),
    "hrs": ("time", 3600.0),
    "hour": ("time", 3600.0),
    "hours": ("time", 3600.0),
    "d": ("time", 86400.0),
    "day": ("time", 86400.0),
    "days": ("time", 86400.0),
    "week": ("time", 604800.0),
    "weeks": ("time", 604800.0),
    "%": ("percent", 1.0),
    "percent": ("percent", 1.0),
    "mg/kg": ("dose", 1.0),
    "mg/ml": ("concentration", 1.0),
    "g/l": ("concentration", 1.0),
    "mg/dl": ("concentration", 10.0),
    "mg/l": ("concentration", 1e-3),
}


class Normalised(BaseModel):
    """One answer in comparable form. ``key`` is what the distribution reports."""

    kind: Literal["choice", "number", "text", "none"]
    key: str
    value: float | None = None
    dimension: str | None = None
    tokens: list[str] = Field(default_factory=list)


class Cluster(BaseModel):
    key: str
    members: list[int]


class Distribution(BaseModel):
    """The measured spread of a set of sampled answers."""

    clusters: list[Cluster]
    total: int
    entropy: float
    majority_share: float

    @property
    def shares(self) -> dict[str, float]:
        return {c.key: len(c.members) / self.total for c in self.clusters} if self.total else {}


class Choices(BaseModel):
    """A closed answer set: the option letters of a multiple-choice question, labels such as
    yes/no/maybe, or the values the tools returned for the property a question asks (``grounded``);
    ``several`` when the question allows more than one of them. ``texts`` holds what each option says
    ("B" -> "Propranolol") when the question lists it.

    The agent settles the set once per question (:meth:`for_question`), grounding may narrow it to what
    the tools established (``agent.plan.asked``), and every phase reads it from the run: bare and ReAct
    answers, uncertainty samples and critique revisions are constrained to it and compared by the
    choice they state (:meth:`pick`), so no phase parses options out of the question again.
    """

    model_config = ConfigDict(frozen=True)

    answers: list[str] = Field(min_length=1)
    several: bool = False
    texts: dict[str, str] = Field(default_factory=dict)
    grounded: bool = False
    """Every answer is a value deterministic tools returned for the asked property (``agent.plan.asked``): the
    answer needs no further tool call, and a set of one is settled by the tools, not by sampling."""

    @property
    def settled(self) -> bool:
        """The tools decided the answer: grounding closed the set to a single value."""
        return self.grounded and len(set(self.answers)) == 1

    @property
    def options(self) -> dict[str, str]:
        """Letter -> option text for a multiple-choice set; empty for labels, which are compared as text."""
        if not all(len(a) == 1 and "A" <= a <= "Z" for a in self.answers):
            return {}
        return {a: self.texts.get(a, "") for a in self.answers}

    def pick(self, reply: str) -> str | None:
        """The answer of the set a reply states last, or None when it states none (or, for one line,
        several at once).

        The last 'Answer:' line decides when the reply has one; otherwise the last line that states a
        choice, since a reply that reasons through the options ("A is wrong because ...") ends with the
        one it settles on. Letters are read by :func:`choice_letter` (an explicit letter, or the one
        option whose text is named); labels and tool values by the whole word or value, case-insensitive.
        """
        marked = answer_line(reply)
        lines = [marked] if marked is not None else [line for line in reply.splitlines() if line.strip()]
        for line in reversed(lines):
            found = self._stated(line)
            if found is not None:
                return found
        return None

    def _stated(self, line: str) -> str | None:
        options = self.options
        if options:
            return choice_letter(line, options)
        text = f" {strip_citations(line).casefold()} "
        hits: dict[str, int] = {}
        for answer in self.answers:
            wanted = strip_citations(answer).casefold()
            found = [m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(wanted)}(?![\w])", text)]
            if found:
                hits[answer] = found[-1]
        if not hits and self.grounded:
            # a tool value restated rather than copied ("206.3 g/mol" for "206.28 g/mol [2]")
            hits = {a: 0 for a in self.answers if mentions(line, normalise(strip_citations(a)))}
        distinct = {strip_citations(a).casefold() for a in hits}
        if len(distinct) == 1:
            return max(hits, key=hits.__getitem__)
        return None

    @classmethod
    def for_question(cls, question: str, given: Choices | None = None) -> Choices | None:
        """``given`` with its option texts filled in from the question, or the options the question
        lists (:func:`parse_options`), or None for an open question."""
        listed = parse_options(question)
        if given is None:
            return cls(answers=list(listed), texts=listed) if listed else None
        if given.texts or not set(given.answers) <= set(listed):
            return given
        return given.model_copy(update={"texts": {a: listed[a] for a in given.answers}})


def strip_citations(text: str) -> str:
    return _CITATION.sub("", text).strip()


def answer_line(reply: str) -> str | None:
    """The text of a reply's last 'Answer:' (or 'Final Answer:') line, if it has one."""
    for line in reversed(reply.strip().splitlines()):
        match = _ANSWER_LINE.match(line)
        if match and match.group(1).strip():
            return match.group(1).strip()
    return None


def extract_answer(reply: str) -> str:
    """The short answer in a reply: its last 'Answer:' line, else its last non-empty line."""
    found = answer_line(reply)
    if found is not None:
        return found
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def reasoning(reply: str) -> str:
    """A reply without its 'Answer:' lines: the reasoning that led to the answer."""
    kept = [line for line in reply.strip().splitlines() if not _ANSWER_LINE.match(line)]
    return "\n".join(kept).strip()


def parse_options(question: str) -> dict[str, str]:
    """Options A, B, C... of a multiple-choice question, one per line ("A. text", "(B) text", "C) text")
    or inline ("(A) x (B) y"). Letters must run from A without gaps, or it is not an option list."""
    found: dict[str, str] = {}
    for line in question.splitlines():
        match = _OPTION_LINE.match(line)
        if match:
            found.setdefault(match.group(1), match.group(2).strip())
    if len(found) < 2:
        found = {m.group(1): m.group(2).strip() for m in _OPTION_INLINE.finditer(question)}
    letters = sorted(found)
    expected = [chr(ord("A") + i) for i in range(len(letters))]
    return {k: found[k] for k in letters} if len(letters) >= 2 and letters == expected else {}


def question_stem(question: str) -> str:
    """A multiple-choice question without its options: what is actually being asked."""
    if not parse_options(question):
        return question
    kept = [line for line in question.splitlines() if not _OPTION_LINE.match(line)]
    return _OPTION_INLINE.sub("", "\n".join(kept)).strip()


def tokens(text: str) -> list[str]:
    """Content words, lower-cased, stop words and citations removed, plural 's' folded."""
    words = _WORD.findall(strip_citations(text).lower())
    out = []
    for word in words:
        if word in STOPWORDS or (len(word) < 3 and not word.isdigit()):
            continue
        out.append(word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word)
    return out


def choice_letter(answer: str, options: dict[str, str]) -> str | None:
    """The option an answer names: an explicit letter first ("B", "(B) ...", "B. ...", "option B"),
    else the one option whose text it contains (the most specific one when option texts nest).

    A letter followed by the text of a *different* option ("A. <text of option C>") names no option:
    small models do write that, and counting it for either letter would invent agreement."""
    text = strip_citations(answer).strip().strip("*")
    letters = "".join(options)
    lower = letters.lower()
    for pattern in (
        rf"^\(?([{letters}{lower}])\)?\.?$",
        rf"^\(?([{letters}])(?:[).:]|\s+[-–—])",
        rf"\b(?i:option|choice)\s*\(?([{letters}{lower}])\b",
        rf"\b(?i:answer)\s*(?:(?i:is)\s*)?[:(]?\s*\(?([{letters}])\b(?![-'])",
    ):
        match = re.search(pattern, text)
        if match:
            letter = match.group(1).upper()
            named = _options_in(text[match.end() :], options)
            return letter if not named or letter in named else None
    named = _options_in(text, options)
    return named[0] if len(named) == 1 else None


def _options_in(text: str, options: dict[str, str]) -> list[str]:
    """Options whose full text appears in ``text``; when option texts nest, only the most specific."""
    said = f" {' '.join(tokens(text))} "
    texts = {k: " ".join(tokens(v)) for k, v in options.items()}
    hits = [k for k, v in texts.items() if v and f" {v} " in said]
    return [k for k in hits if not any(o != k and f" {texts[k]} " in f" {texts[o]} " for o in hits)]


def parse_number(text: str) -> tuple[float, str | None] | None:
    """The single number in a short answer, with its unit lower-cased; None for zero or several numbers."""
    cleaned = strip_citations(text)
    matches = list(_NUMBER.finditer(cleaned))
    if len(matches) != 1:
        return None
    unit = (matches[0].group(3) or "").lower().replace("μ", "µ") or None
    return _value(matches[0]), unit


def _value(match: re.Match[str]) -> float:
    value = float(match.group(1).replace(",", "").replace("−", "-"))
    if match.group(2):
        value *= 10 ** int(match.group(2).replace("−", "-"))
    return value


def numbers(text: str) -> list[float]:
    """Every number in a text (citations excluded), as plain values without unit conversion."""
    return [_value(match) for match in _NUMBER.finditer(strip_citations(text))]


def normalise(answer: str, options: dict[str, str] | None = None) -> Normalised:
    """Reduce one short answer to a comparable form."""
    text = strip_citations(answer).strip().strip(".").strip()
    if not text:
        return Normalised(kind="none", key=NO_ANSWER)
    if options:
        letter = choice_letter(text, options)
        return Normalised(kind="choice", key=letter) if letter else Normalised(kind="none", key=NO_ANSWER)
    words = tokens(text)
    number = parse_number(text)
    if number is not None and len(words) <= 6:
        value, unit = number
        known = _UNITS.get(unit or "")
        if known:
            dimension, factor = known
            return Normalised(kind="number", key=_format_number(value, unit), value=value * factor, dimension=dimension)
        label = unit.removesuffix("s") if unit else ""
        return Normalised(kind="number", key=_format_number(value, label), value=value, dimension=label)
    key = " ".join(words) or text.lower()
    return Normalised(kind="text", key=key, tokens=words)


def _format_number(value: float, unit: str | None) -> str:
    return f"{value:g} {unit}" if unit else f"{value:g}"


def same_answer(a: Normalised, b: Normalised, rel_tol: float = NUMBER_REL_TOL) -> bool:
    """Whether two normalised answers agree: same letter; numbers of one dimension within ``rel_tol``;
    texts equal, or one's content words containing the other's with neither negated alone."""
    if a.kind != b.kind or a.kind == "none":
        return a.kind == b.kind == "none"
    if a.kind == "choice":
        return a.key == b.key
    if a.kind == "number":
        if a.dimension != b.dimension or a.value is None or b.value is None:
            return False
        return math.isclose(a.value, b.value, rel_tol=rel_tol, abs_tol=1e-12)
    if a.key == b.key:
        return True
    sa, sb = set(a.tokens), set(b.tokens)
    if not sa or not sb:
        return False
    if bool(sa & _NEGATIONS) != bool(sb & _NEGATIONS):
        return False
    return sa <= sb or sb <= sa


def mentions(text: str, answer: Normalised, options: dict[str, str] | None = None) -> bool:
    """Whether a longer text (a draft) gives ``answer``: names its option, contains a number equal to it
    within tolerance, or contains its content words. A draft's wording is free, so exact comparison
    would miss agreement."""
    if answer.kind == "none":
        return False
    if answer.kind == "choice":
        return bool(options) and choice_letter(answer_line(text) or text, options or {}) == answer.key
    if answer.kind == "number":
        for match in _NUMBER.finditer(strip_citations(text)):
            candidate = normalise(match.group(0))
            if candidate.kind == "number" and same_answer(candidate, answer):
                return True
        return False
    return bool(answer.tokens) and set(answer.tokens) <= set(tokens(text))


def cluster(answers: Sequence[Normalised], rel_tol: float = NUMBER_REL_TOL) -> list[Cluster]:
    """Group answers that agree, in order of first appearance; each cluster is keyed by its first member."""
    clusters: list[Cluster] = []
    heads: list[Normalised] = []
    for index, answer in enumerate(answers):
        for head, group in zip(heads, clusters, strict=True):
            if same_answer(head, answer, rel_tol):
                group.members.append(index)
                break
        else:
            heads.append(answer)
            clusters.append(Cluster(key=answer.key, members=[index]))
    return clusters


def entropy_bits(counts: Sequence[int]) -> float:
    """Shannon entropy of a count vector, in bits."""
    total = sum(counts)
    if total == 0:
        return 0.0
    value = -sum((c / total) * math.log2(c / total) for c in counts if c)
    return max(0.0, value)


def measure(answers: Sequence[Normalised], rel_tol: float = NUMBER_REL_TOL) -> Distribution:
    """Entropy and majority share of a set of answers. Non-answers count as one outcome of their own:
    a sample that fails to answer is not support for anything, so it lowers confidence."""
    groups = cluster(answers, rel_tol)
    total = len(answers)
    counts = [len(g.members) for g in groups]
    answered = [len(g.members) for g in groups if g.key != NO_ANSWER]
    share = max(answered) / total if answered and total else 0.0
    return Distribution(clusters=groups, total=total, entropy=entropy_bits(counts), majority_share=share)
