"""Answer extraction and metrics: the pieces every suite's score depends on."""

from __future__ import annotations

import math

import pytest

from txscout.benchmarks.grading import (
    auroc,
    binned_calibration_error,
    calibration_curve,
    expected_calibration_error,
    extract_confidence,
    extract_label,
    extract_letters,
    macro_f1,
    normalize_answer,
    numeric_match,
    parse_number,
    precision_coverage,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("Answer: B", ["B"]),
        ("**Answer:** (b)", ["B"]),
        ("ANSWER: c", ["C"]),
        ("The answer is C.", ["C"]),
        ("The correct answer is option D.", ["D"]),
        ("Final Answer: [B]", ["B"]),
        ("I think (C) is right", ["C"]),
        ("B", ["B"]),
        ("(d)", ["D"]),
        ("B) Newton, because F = ma", ["B"]),
        ("\\boxed{A, C}", ["A", "C"]),
        ("Answer: A and C", ["A", "C"]),
        ("Answer: C, A, C", ["A", "C"]),
        ("Reasoning first.\nAnswer: A\nConfidence: 80%", ["A"]),
        ("Answer: `B`", ["B"]),
    ],
)
def test_letters_in_common_formats(text: str, letters: list[str]) -> None:
    assert extract_letters(text, 4) == letters


@pytest.mark.parametrize(
    "text",
    [
        "Answer: E",  # out of range for four options
        "answer is a protein kinase",  # lowercase article, not a letter
        "I am not sure.",
        "Answer: <letter of the correct option>",  # the instruction copied back
        "Either (A) or (B)",  # two parenthesised letters without a marker: ambiguous
        "",
    ],
)
def test_ambiguous_or_missing_letters_extract_nothing(text: str) -> None:
    assert extract_letters(text, 4) == []


def test_last_answer_marker_wins() -> None:
    assert extract_letters("Answer: A seemed right at first.\nAfter checking, Answer: D", 4) == ["D"]


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("A is incorrect because it lowers the dose. C is also wrong. The best option is B.", ["B"]),
        ("Option A is wrong; option C is correct.", ["C"]),
        ("I would choose B over C.", ["B"]),
        ("Thinking it through.\nD is correct.", ["D"]),
        ("(A) fits the history, but (C) is the best fit.", ["C"]),
    ],
)
def test_without_a_marker_the_last_stated_choice_counts(text: str, letters: list[str]) -> None:
    assert extract_letters(text, 4) == letters


@pytest.mark.parametrize(
    "text",
    [
        "Vitamin D is the best treatment here",  # a letter inside a name is not a choice
        "Of these, A and B are both plausible",
        "The best option is E",  # the last stated choice is out of range: nothing, not an earlier one
    ],
)
def test_statements_that_choose_no_option_extract_nothing(text: str) -> None:
    assert extract_letters(text, 4) == []


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Answer: Maybe", "maybe"),
        ("Reasoning mentions no effect.\nAnswer: yes, clearly", "yes"),
        ("Yes, at first sight.\nBut the trial was small.\nSo: maybe.", "maybe"),
        ("The study found no difference.", "no"),
        ("Yes or no is hard to say.", None),
        ("I cannot tell.", None),
        ("Answer: unclear", None),
    ],
)
def test_labels_read_from_the_last_marker_or_the_last_line_stating_one(text: str, label: str | None) -> None:
    assert extract_label(text, ("yes", "no", "maybe")) == label


OPTIONS = ["Crystallization", "Fractional distillation", "Filtration", "Sublimation"]


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("Fractional Distillation", ["B"]),
        ("Answer: fractional distillation.", ["B"]),
        ("\\boxed{Sublimation}", ["D"]),
        ("Filtration\nbecause the solid is insoluble", ["C"]),
        ("Answer: C", ["C"]),  # a letter still wins over text
    ],
)
def test_option_named_in_full_counts_as_its_letter(text: str, letters: list[str]) -> None:
    assert extract_letters(text, 4, OPTIONS) == letters


@pytest.mark.parametrize(
    "text",
    [
        "Distillation",  # part of an option is not the option
        "Crystallization or filtration",
        "Answer: Evaporation",
    ],
)
def test_text_that_is_not_exactly_one_option_extracts_nothing(text: str) -> None:
    assert extract_letters(text, 4, OPTIONS) == []


def test_duplicate_option_texts_are_ambiguous() -> None:
    assert extract_letters("Yes", 3, ["Yes", "No", "yes"]) == []


def test_letters_beyond_d_for_larger_option_sets() -> None:
    assert extract_letters("Answer: G", 9) == ["G"]
    assert extract_letters("Answer: G", 4) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Answer: 3.74E-23", 3.74e-23),
        ("Answer: -5,144 kJ/mol", -5144.0),
        ("Answer: 1.2 × 10^-3", 0.0012),
        ("Answer: 1.2 \\times 10^{-3}", 0.0012),
        ("Answer: −4", -4.0),  # unicode minus
        ("Answer: 159,000", 159000.0),
        ("Answer: 0", 0.0),
        ("first 12 then 14", 14.0),  # no marker: the last number
        ("Answer: 7 (not 8)", 7.0),  # marker: the first number after it
        ("206.28 g/mol [2]", 206.28),  # a citation is not the answer's number
        ("Answer: [1] 0 violations [2, 3]", 0.0),
        ("no number here", None),
    ],
)
def test_parse_number(text: str, value: float | None) -> None:
    parsed = parse_number(text)
    if value is None:
        assert parsed is None
    else:
        assert parsed is not None and math.isclose(parsed, value, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("prediction", "target", "ok"),
    [
        (100.9, 100.0, True),
        (101.1, 100.0, False),
        (-285.0, -285.8, True),  # negative target: tolerance uses |target|
        (-290.0, -285.8, False),
        (285.8, -285.8, False),  # right magnitude, wrong sign
        (0.0, 0.0, True),  # zero target: only an exact answer is within 1% of 0
        (1e-9, 0.0, False),
        (None, 5.0, False),
        (3.74e-23, 3.75e-23, True),
    ],
)
def test_numeric_tolerance(prediction: float | None, target: float, ok: bool) -> None:
    assert numeric_match(prediction, target) is ok


def test_normalised_exact_match_is_strict() -> None:
    assert normalize_answer("  **NaCl.** ") == normalize_answer("nacl")
    assert normalize_answer("$x^2$") == "x^2"
    assert normalize_answer("sodium chloride") != normalize_answer("NaCl")


def test_confidence_extraction() -> None:
    assert extract_confidence("Answer: B\nConfidence: 85%") == pytest.approx(0.85)
    assert extract_confidence("Confidence: 0.4") == pytest.approx(0.4)
    assert extract_confidence("confidence score: 100%") == pytest.approx(1.0)
    assert extract_confidence("Answer: B") is None


def test_wilson_interval() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] > 0.2
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_macro_f1_counts_unparseable_as_miss() -> None:
    gold = ["yes", "no", "maybe", "yes"]
    assert macro_f1(gold, gold, ("yes", "no", "maybe")) == 1.0
    predicted = ["yes", "no", None, "no"]
    # yes: tp1 fn1 -> 2/3; no: tp1 fp1 -> 2/3; maybe: 0
    assert macro_f1(gold, predicted, ("yes", "no", "maybe")) == pytest.approx((2 / 3 + 2 / 3) / 3)


def test_precision_and_coverage() -> None:
    correct = [True, False, False, True]
    refused = [False, True, False, False]
    precision, coverage = precision_coverage(correct, refused)
    assert precision == pytest.approx(2 / 3)
    assert coverage == pytest.approx(3 / 4)
    assert precision_coverage([False], [True]) == (0.0, 0.0)


def test_binned_calibration_error() -> None:
    # Perfect calibration: 0.5 confidence with half correct.
    assert binned_calibration_error([0.5] * 100, [True] * 50 + [False] * 50) == pytest.approx(0.0)
    # Overconfident: always 100% sure, half right.
    assert binned_calibration_error([1.0] * 200, [True, False] * 100) == pytest.approx(0.5)
    # Two bins of 100, one perfectly calibrated and one off by 0.8: sqrt(0.5 * 0.64).
    conf = [0.1] * 100 + [0.9] * 100
    ok = [True] * 10 + [False] * 90 + [False] * 90 + [True] * 10
    assert binned_calibration_error(conf, ok) == pytest.approx(math.sqrt(0.5 * 0.8**2))
    # Fewer than beta items form one bin; the last bin absorbs the remainder.
    assert binned_calibration_error([0.9] * 10, [True] * 5 + [False] * 5) == pytest.approx(0.4)
    assert binned_calibration_error([], []) == 0.0


def test_ece_auroc_and_curve() -> None:
    conf = [0.9, 0.8, 0.3, 0.2]
    ok = [True, True, False, False]
    assert auroc(conf, ok) == 1.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    assert auroc([0.9, 0.8], [True, True]) is None
    assert expected_calibration_error([1.0, 1.0], [True, False]) == pytest.approx(0.5)
    curve = calibration_curve(conf, ok, n_bins=2)
    assert [(round(c, 2), a, n) for c, a, n in curve] == [(0.25, 0.0, 2), (0.85, 1.0, 2)]
