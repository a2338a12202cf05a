"""Cut text into retrieval chunks at sentence boundaries.

A chunk must fit the embedding model's window (all-MiniLM-L6-v2 reads 256 word pieces, about 1,000
characters of English prose) or its tail is silently ignored; and a chunk cut mid-sentence is a quote
a reader cannot find. So sentences are packed whole, and only a sentence longer than a chunk is split,
at a word boundary; a run of text with no spaces at all is cut at the chunk size, so no chunk is ever
longer than ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

DEFAULT_MAX_CHARS = 900

# Abbreviations after which a full stop does not end a sentence in biomedical prose.
_ABBREVIATIONS = frozenset(
    {
        "al", "e.g", "i.e", "vs", "fig", "figs", "eq", "ref", "refs", "no", "approx", "ca", "cf",
        "dr", "mr", "mrs", "ms", "prof", "st", "inc", "ltd", "co", "corp", "jr", "sr", "vol", "pp",
        "etc", "resp", "spp", "sp", "var", "subsp", "min", "max", "mol", "wt", "conc", "dept", "univ",
    }
)  # fmt: skip

_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; newlines that separate paragraphs or labelled sections also end one."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=[A-Z][A-Z /&-]{2,}:)", text):
        block = " ".join(block.split())
        if not block:
            continue
        start = 0
        for match in _BOUNDARY.finditer(block):
            candidate = block[start : match.start()].rstrip()
            last_word = candidate.rsplit(" ", 1)[-1].rstrip(".!?").lower()
            if last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha()):
                continue
            sentences.append(block[start : match.end()].strip())
            start = match.end()
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def _pack(parts: Iterable[str], max_chars: int) -> list[str]:
    """Consecutive ``parts`` joined by spaces, greedily, into strings of at most ``max_chars``
    characters; a part longer than that stands alone."""
    packed: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + 1 + len(part) > max_chars:
            packed.append(current)
            current = part
        else:
            current = f"{current} {part}" if current else part
    if current:
        packed.append(current)
    return packed


def _words(sentence: str, max_chars: int) -> Iterator[str]:
    """The sentence's words, a word longer than a chunk (a sequence, a URL, a file with no spaces)
    cut into chunk-sized pieces so that no chunk exceeds ``max_chars``."""
    for word in sentence.split(" "):
        if len(word) <= max_chars:
            yield word
        else:
            yield from (word[i : i + max_chars] for i in range(0, len(word), max_chars))


def chunk_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Whole sentences packed greedily into chunks of at most ``max_chars`` characters; a longer
    sentence is first split between words, and a longer word between characters."""
    pieces = (
        piece
        for sentence in split_sentences(text)
        for piece in (_pack(_words(sentence, max_chars), max_chars) if len(sentence) > max_chars else [sentence])
    )
    return _pack(pieces, max_chars)
