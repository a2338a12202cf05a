"""Sentence-boundary chunking."""

from __future__ import annotations

from txscout.core.chunking import chunk_text, split_sentences


def test_abbreviations_decimals_and_initials_do_not_end_sentences() -> None:
    text = "Smith et al. reported a HR of 0.80 (95% CI, 0.64 to 1.00) in Fig. 2. U.S. patients e.g. did well. Done!"
    assert split_sentences(text) == [
        "Smith et al. reported a HR of 0.80 (95% CI, 0.64 to 1.00) in Fig. 2.",
        "U.S. patients e.g. did well.",
        "Done!",
    ]


def test_labelled_sections_and_paragraphs_start_new_sentences() -> None:
    text = "BACKGROUND: Osimertinib is a TKI\nMETHODS: We randomised 556 patients\n\nA new paragraph"
    assert split_sentences(text) == [
        "BACKGROUND: Osimertinib is a TKI",
        "METHODS: We randomised 556 patients",
        "A new paragraph",
    ]


def test_chunks_hold_whole_sentences_within_the_limit() -> None:
    sentences = [f"Sentence number {i} says something about EGFR inhibitors and survival." for i in range(40)]
    chunks = chunk_text(" ".join(sentences), max_chars=300)
    assert len(chunks) > 5
    assert all(len(c) <= 300 for c in chunks)
    assert all(c.endswith(".") for c in chunks)
    assert " ".join(chunks) == " ".join(sentences)  # nothing lost, nothing repeated


def test_an_overlong_sentence_is_split_at_words() -> None:
    words = ["word"] * 500
    chunks = chunk_text(" ".join(words), max_chars=100)
    assert all(len(c) <= 100 for c in chunks)
    assert sum(len(c.split()) for c in chunks) == 500


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("   \n\n ") == []


def test_text_without_spaces_is_cut_at_the_chunk_size() -> None:
    blob = "ACGT" * 50_000 + " and then a sentence."
    chunks = chunk_text(blob, max_chars=900)
    assert max(len(c) for c in chunks) <= 900
    assert "".join(chunks).replace(" ", "") == blob.replace(" ", "")  # nothing lost
