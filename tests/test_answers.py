"""Answer normalisation, clustering and entropy: the arithmetic under uncertainty-guided search."""

from __future__ import annotations

import math

import pytest

from txscout.agent.answers import (
    NO_ANSWER,
    Choices,
    entropy_bits,
    extract_answer,
    measure,
    mentions,
    normalise,
    parse_options,
    question_stem,
    same_answer,
)

MCQ = """A 60-year-old man has hypertension and asthma. Which drug should be avoided?
A. Lisinopril
B. Propranolol
C. Amlodipine
D. Hydrochlorothiazide"""


def test_parse_options_line_and_inline_forms() -> None:
    assert parse_options(MCQ) == {
        "A": "Lisinopril",
        "B": "Propranolol",
        "C": "Amlodipine",
        "D": "Hydrochlorothiazide",
    }
    assert parse_options("Pick one: (A) aspirin (B) ibuprofen (C) naproxen") == {
        "A": "aspirin",
        "B": "ibuprofen",
        "C": "naproxen",
    }


def test_parse_options_rejects_gaps_and_prose() -> None:
    assert parse_options("Question?\nA. one\nC. three") == {}
    assert parse_options("What is the half-life of osimertinib?") == {}


def test_question_stem_drops_options() -> None:
    stem = question_stem(MCQ)
    assert "asthma" in stem
    assert "Lisinopril" not in stem


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"),
        ("b", "B"),
        ("(B) Propranolol", "B"),
        ("B. Propranolol [2]", "B"),
        ("The answer is B.", "B"),
        ("option b", "B"),
        ("**B**", "B"),
        ("Propranolol, a non-selective beta blocker", "B"),
        ("Thinking about it [1].\nAnswer: D", "D"),
    ],
)
def test_multiple_choice_answers_normalise_to_letters(reply: str, letter: str) -> None:
    assert normalise(extract_answer(reply), parse_options(MCQ)).key == letter


def test_letter_with_another_options_text_names_no_option() -> None:
    options = parse_options(MCQ)
    assert normalise("A. Amlodipine", options).key == NO_ANSWER
    assert normalise("C. Amlodipine", options).key == "C"
    assert normalise("B. Propranolol, unlike amlodipine (C)", options).key == "B"


def test_article_a_is_not_option_a() -> None:
    answer = normalise("A beta blocker", parse_options(MCQ))
    assert answer.key == NO_ANSWER


def test_numbers_within_tolerance_and_across_units_are_one_answer() -> None:
    hours = [normalise(x) for x in ("12 h", "12.1 hours", "720 min", "12 hr [3]")]
    assert all(same_answer(hours[0], other) for other in hours[1:])
    assert not same_answer(normalise("12 h"), normalise("15 h"))
    assert not same_answer(normalise("12 h"), normalise("12 mg")), "different dimensions never agree"
    assert same_answer(normalise("194.19 g/mol"), normalise("194.2 g/mol"))
    assert same_answer(normalise("12 nM"), normalise("0.012 µM"))


def test_tolerance_is_a_parameter() -> None:
    a, b = normalise("100 mg"), normalise("104 mg")
    assert not same_answer(a, b)
    assert same_answer(a, b, rel_tol=0.05)


def test_identifiers_with_digits_are_not_numbers() -> None:
    assert normalise("C8H10N4O2").kind == "text"
    assert normalise("EGFR T790M").kind == "text"
    assert normalise("3.07 vs 1.35").kind == "text", "two numbers are a comparison, not one value"


def test_free_text_clusters_by_content_words() -> None:
    assert same_answer(normalise("Osimertinib"), normalise("osimertinib (Tagrisso) [1]."))
    assert not same_answer(normalise("osimertinib"), normalise("erlotinib"))
    assert not same_answer(normalise("osimertinib"), normalise("not osimertinib"))


def test_entropy_in_bits() -> None:
    assert entropy_bits([5]) == 0.0
    assert entropy_bits([1, 1]) == pytest.approx(1.0)
    assert entropy_bits([3, 2]) == pytest.approx(-(0.6 * math.log2(0.6) + 0.4 * math.log2(0.4)))
    assert entropy_bits([4, 1]) < 0.9 < entropy_bits([3, 2]), "the default threshold separates 4-1 from 3-2"


def test_measure_counts_clusters_and_majority() -> None:
    answers = [normalise(x) for x in ("12 h", "720 min", "15 h", "12.1 h", "")]
    dist = measure(answers)
    assert dist.total == 5
    assert dist.shares == {"12 h": 0.6, "15 h": 0.2, NO_ANSWER: 0.2}
    assert dist.majority_share == pytest.approx(0.6)
    assert dist.entropy == pytest.approx(entropy_bits([3, 1, 1]))
    assert [c.members for c in dist.clusters] == [[0, 1, 3], [2], [4]]


def test_non_answers_never_win() -> None:
    dist = measure([normalise(x) for x in ("", "", "", "aspirin", "")])
    assert dist.shares == {NO_ANSWER: 0.8, "aspirin": 0.2}
    assert dist.majority_share == pytest.approx(0.2), "four failed samples are not a majority for anything"
    assert measure([normalise("")]).majority_share == 0.0


def test_draft_mentions_answer() -> None:
    options = parse_options(MCQ)
    assert mentions("Propranolol worsens bronchospasm [1].\nAnswer: B", normalise("B", options), options)
    assert not mentions("Amlodipine is safe.\nAnswer: C", normalise("B", options), options)
    assert mentions("The half-life is about 48 hours [2].", normalise("2 days"))
    assert not mentions("The half-life is about 36 hours [2].", normalise("2 days"))
    assert mentions("Osimertinib is preferred for T790M [1].", normalise("osimertinib"))


def test_choices_for_a_question_come_from_the_caller_or_the_listed_options() -> None:
    from txscout.agent.answers import Choices

    listed = Choices.for_question(MCQ)
    assert listed is not None and listed.options == parse_options(MCQ)
    given = Choices.for_question(MCQ, Choices(answers=list("ABCD"), several=True))
    assert given is not None and given.several and given.options == parse_options(MCQ)
    labels = Choices.for_question("Is aspirin an NSAID?", Choices(answers=["yes", "no", "maybe"]))
    assert labels is not None and labels.answers == ["yes", "no", "maybe"] and labels.options == {}
    assert Choices.for_question("What is the half-life of osimertinib?") is None
    unlisted = Choices(answers=list("ABC"))
    assert Choices.for_question("Pick the right one.", unlisted) == unlisted
    assert unlisted.options == {"A": "", "B": "", "C": ""}


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("B", "B"),
        ("A looked right, but the history points elsewhere.\nAnswer: C", "C"),
        ("Propranolol blocks beta-2 receptors.", "B"),
        ("Nothing here names an option.", None),
    ],
)
def test_pick_reads_the_option_a_reply_settles_on(reply: str, picked: str | None) -> None:
    assert Choices.for_question(MCQ).pick(reply) == picked  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ("yes", "yes"),
        ("Yes at first sight.\nThe trial was small, so maybe.", "maybe"),
        ("Reasoning that mentions no one label.\nAnswer: No", "no"),
        ("Answer: yes or no", None),
        ("The study is unclear.", None),
    ],
)
def test_pick_reads_the_last_stated_label(reply: str, picked: str | None) -> None:
    assert Choices(answers=["yes", "no", "maybe"]).pick(reply) == picked


def test_pick_finds_a_tool_value_with_or_without_its_citation() -> None:
    grounded = Choices(answers=["206.28 g/mol [2]"], grounded=True)
    assert grounded.pick("The molecular weight is 206.28 g/mol.") == "206.28 g/mol [2]"
    assert grounded.pick("Answer: 206.28 g/mol [2]") == "206.28 g/mol [2]"
    assert grounded.pick("It weighs 1206.28 g/mol.") is None
    assert grounded.pick("Ibuprofen weighs 206.3 g/mol.") == "206.28 g/mol [2]", "a restated value within tolerance"
    assert grounded.pick("Ibuprofen weighs 250 g/mol.") is None
