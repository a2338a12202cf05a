"""Answer extraction and the metrics the official graders report.

Extraction is deliberately tolerant of how models actually write answers ("**Answer:** (b)",
"The answer is C.", "\\boxed{A, C}") but never guesses: anything ambiguous or out of range extracts
to nothing and is graded wrong, as the official graders do with unparseable replies.

A reply that reasons through the options settles on one at the end, so where a reply states several
choices the LAST stated one counts: the last answer marker, else the last explicit statement of a
choice ("option B", "choose C", "D is correct"), else, for labels, the last line that states exactly
one label. Citation markers such as "[2]" are not numbers of the answer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_ANSWER_MARKER = re.compile(
    r"(?:final\s+answer|correct\s+answer|answer|correct\s+options?|correct\s+choices?)\s*"
    r"(?:is|are|would\s+be|should\s+be|:|=|-)+\s*(?:options?|choices?|letters?)?\s*:?\s*(?P<rest>[^\n]*)",
    re.IGNORECASE,
)
_BOXED = re.compile(r"\\boxed\{(?:\\text\{)?([^{}]*)\}?\}")
_SPLIT = re.compile(r"(?:\s*(?:,|;|/|&|\+|\band\b|\s)\s*)+", re.IGNORECASE)
_LETTER_TOKEN = re.compile(r"^[(\[]?(?P<l>[A-Za-z])(?:[)\].:]|\)\.)?$")
_PAREN_LETTER = re.compile(r"[(\[](?P<l>[A-Z])[)\]]")
_STATED_LETTER = re.compile(
    r"(?:\b(?i:option|choice|choose|select|pick|go\s+with)\s*(?:(?i:option|choice)\s*)?(?:(?i:is)\s*)?[:=]?\s*"
    r"[(\[]?(?P<a>[A-Z])\b[)\]]?(?![-'])"
    r"|(?:[(\[](?P<b>[A-Z])[)\]]|(?:^|(?<=[.;:!?]\s))(?P<c>[A-Z]))"
    r"\s+(?i:is|would\s+be)\s+(?i:the\s+)?(?i:correct|right|best)\b)",
    re.MULTILINE,
)
_CITATION = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_CONFIDENCE = re.compile(r"confidence\s*(?:score)?\s*[:=]?\s*(?P<v>\d{1,3}(?:\.\d+)?)\s*(?P<pct>%?)", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?P<m>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"(?:\s*(?:x|\*|×|\\times|\\cdot|·)\s*10\s*(?:\^|\*\*)\s*\{?\s*\(?(?P<e>[-+]?\d+)\)?\s*\}?)?"
)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return text.replace("−", "-").replace("**", "").replace("__", "").replace("`", "")


def _letters_in(segment: str, valid: str, *, whole: bool) -> list[str]:
    """Letters at the start of ``segment``; lowercase only when unambiguous (parenthesised or alone)."""
    segment = segment.strip().strip("'\"*")
    tokens = [t for t in _SPLIT.split(segment) if t]
    found: list[str] = []
    for token in tokens:
        match = _LETTER_TOKEN.match(token)
        if not match:
            break
        letter = match.group("l")
        if letter.islower() and not (token.startswith(("(", "[")) or len(tokens) == 1):
            break
        found.append(letter.upper())
    if whole and len(found) != len(tokens):
        return []
    if any(letter not in valid for letter in found):
        return []
    return sorted(set(found))


def extract_letters(text: str, n_choices: int, options: Sequence[str] = ()) -> list[str]:
    """The option letters a response commits to, sorted and de-duplicated; [] if none or ambiguous.

    Single-answer questions use the same extraction: two letters simply fail the exact-set grade.
    Given the ``options``' texts, a response that names exactly one of them in full instead of its
    letter ("Answer: Fractional distillation") counts as that letter: small models often answer so,
    and ChemBench's own grader maps such replies to the option with a model; an exact match after
    normalisation does the same without guessing.
    """
    valid = LETTERS[:n_choices]
    text = _clean(text)
    boxed = _BOXED.findall(text)
    if boxed:
        return _letters_in(boxed[-1], valid, whole=False) or _option_named(boxed[-1], options)
    markers = list(_ANSWER_MARKER.finditer(text))
    for marker in reversed(markers):
        found = _letters_in(marker.group("rest"), valid, whole=False)
        if found:
            return found
    if markers:
        return _option_named(markers[-1].group("rest"), options)
    stripped = text.strip()
    found = _letters_in(stripped, valid, whole=True)
    if found:
        return found
    first_line = stripped.splitlines()[0] if stripped else ""
    stated = [m.group("a") or m.group("b") or m.group("c") for m in _STATED_LETTER.finditer(text)]
    if stated:
        return [stated[-1]] if stated[-1] in valid else []
    head = _letters_in(first_line.split(" ", 1)[0], valid, whole=True) if first_line else []
    if head and re.match(r"^[(\[]?[A-Z][)\].:]", first_line):
        return head
    parens = {m.group("l") for m in _PAREN_LETTER.finditer(text) if m.group("l") in valid}
    if parens:
        return sorted(parens) if len(parens) == 1 else []
    return _option_named(stripped, options) or _option_named(first_line, options)


def _option_named(segment: str, options: Sequence[str]) -> list[str]:
    """The letter of the one option whose whole text ``segment`` is, after exact-match normalisation."""
    wanted = normalize_answer(segment)
    if not wanted:
        return []
    named = [LETTERS[i] for i, option in enumerate(options) if normalize_answer(option) == wanted]
    return named if len(named) == 1 else []


def answer_segment(text: str) -> str | None:
    """The text after the last ``Answer:``-style marker, or ``None`` if the response has none."""
    text = _clean(text)
    boxed = _BOXED.findall(text)
    if boxed:
        return boxed[-1].strip()
    markers = list(_ANSWER_MARKER.finditer(text))
    return markers[-1].group("rest").strip() if markers else None


def extract_label(text: str, labels: Sequence[str]) -> str | None:
    """The label (yes/no/maybe, ...) a response commits to, as spelled in ``labels``; None if none.

    After the last answer marker, the first label there; without a marker, the last line that states
    exactly one of the labels (a line naming two is no commitment)."""
    words = {label.casefold(): label for label in labels}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    segment = answer_segment(text)
    if segment is not None:
        found = pattern.search(segment)
        return words[found.group(1).casefold()] if found else None
    for line in reversed(_clean(text).splitlines()):
        named = {m.group(1).casefold() for m in pattern.finditer(line)}
        if len(named) == 1:
            return words[named.pop()]
        if named:
            return None
    return None


def parse_number(text: str) -> float | None:
    """The number a response gives: the first number after the answer marker, else the last number.

    Understands thousands separators, unicode minus, ``1.2e-3`` and ``1.2 × 10^-3``; citation markers
    ("206.28 g/mol [2]") are skipped, so the cited evidence's number is never read as the answer.
    """
    segment = answer_segment(text)
    source = _CITATION.sub(" ", _clean(segment if segment is not None else text))
    source = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", source)
    matches = list(_NUMBER.finditer(source))
    if not matches:
        return None
    match = matches[0] if segment is not None else matches[-1]
    try:
        value = float(match.group("m"))
        if match.group("e") is not None:
            value *= 10.0 ** int(match.group("e"))
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def numeric_match(prediction: float | None, target: float, rel_tol: float = 0.01) -> bool:
    """ChemBench's rule ``|pred - target| <= rel_tol * |target|``.

    ``<=`` rather than ``<`` differs only exactly on the boundary, and keeps a zero target gradable:
    with ``<`` an exactly right answer to a question whose target is 0 could never score.
    """
    if prediction is None:
        return False
    return abs(prediction - target) <= rel_tol * abs(target)


def normalize_answer(text: str) -> str:
    """Strict normalisation for exact match: case, width, whitespace, wrapping quotes and final period."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("−", "-")
    text = text.strip().strip("*`'\"").strip()
    text = re.sub(r"^\$+|\$+$", "", text).strip()
    text = re.sub(r"\s+", " ", text)
    return text.rstrip(".").strip()


def extract_confidence(text: str) -> float | None:
    """A self-reported ``Confidence: 80%`` as a probability in [0, 1]; ``None`` if absent."""
    matches = list(_CONFIDENCE.finditer(_clean(text)))
    if not matches:
        return None
    value = float(matches[-1].group("v"))
    if not matches[-1].group("pct") and value <= 1.0:
        return value
    return min(value, 100.0) / 100.0


def wilson_interval(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95% interval: well behaved at 0%, 100% and small n, unlike the normal approximation."""
    if n == 0:
        return (0.0, 0.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == n else min(1.0, centre + half)
    return (low, high)


def macro_f1(gold: Sequence[str], predicted: Sequence[str | None], labels: Sequence[str]) -> float:
    """Unweighted mean of per-label F1; an unparseable prediction counts as a miss for its gold label."""
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def precision_coverage(correct: Sequence[bool], refused: Sequence[bool]) -> tuple[float, float]:
    """LAB-Bench: precision over answered (non-refused) items, coverage = share answered."""
    n = len(correct)
    answered = [c for c, r in zip(correct, refused, strict=True) if not r]
    precision = sum(answered) / len(answered) if answered else 0.0
    coverage = len(answered) / n if n else 0.0
    return precision, coverage


def binned_calibration_error(confidence: Sequence[float], correct: Sequence[bool], beta: int = 100) -> float:
    """HLE's RMS calibration error: sort by confidence, cut into bins of ``beta`` items (the last bin
    takes the remainder; fewer than ``beta`` items make one bin), and take the size-weighted root mean
    square of |mean confidence - accuracy| over bins."""
    n = len(confidence)
    if n == 0:
        return 0.0
    pairs = sorted(zip(confidence, correct, strict=True), key=lambda p: p[0])
    n_bins = max(1, n // beta)
    total = 0.0
    for b in range(n_bins):
        start = b * beta
        end = n if b == n_bins - 1 else (b + 1) * beta
        chunk = pairs[start:end]
        gap = sum(c for c, _ in chunk) / len(chunk) - sum(ok for _, ok in chunk) / len(chunk)
        total += len(chunk) / n * gap * gap
    return math.sqrt(total)


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> float:
    """ECE over equal-width confidence bins (a confidence of 1.0 falls in the top bin)."""
    n = len(confidence)
    if n == 0:
        return 0.0
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for c, ok in zip(confidence, correct, strict=True):
        bins[min(int(c * n_bins), n_bins - 1)].append((c, ok))
    return sum(len(b) / n * abs(sum(c for c, _ in b) / len(b) - sum(ok for _, ok in b) / len(b)) for b in bins if b)


def auroc(confidence: Sequence[float], correct: Sequence[bool]) -> float | None:
    """Probability a correct answer has higher confidence than a wrong one (ties count half).

    ``None`` when only one class is present, since the figure is then undefined.
    """
    pos = [c for c, ok in zip(confidence, correct, strict=True) if ok]
    neg = [c for c, ok in zip(confidence, correct, strict=True) if not ok]
    if not pos or not neg:
        return None
    ranked = sorted((c, i) for i, c in enumerate(confidence))
    ranks = [0.0] * len(confidence)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    pos_rank_sum = sum(r for r, ok in zip(ranks, correct, strict=True) if ok)
    return (pos_rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def calibration_curve(
    confidence: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) per non-empty equal-width bin, for reliability plots."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(n_bins)]
    for c, ok in zip(confidence, correct, strict=True):
        bins[min(int(c * n_bins), n_bins - 1)].append((c, ok))
    return [(sum(c for c, _ in b) / len(b), sum(ok for _, ok in b) / len(b), len(b)) for b in bins if b]
