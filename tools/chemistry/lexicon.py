"""What a question may call a listed agent beyond its English names, and how a disguised question is read.

The names, transliterations, CAS numbers and attack descriptions live in ``data/agent_lexicon.json`` so
that they can be reviewed (and extended) without reading code. This module turns them into terms for the
linker and folds text so that a disguise does not hide a name:

- ``fold`` reads text as it looks: NFKC (full-width and mathematical letters), no invisible format
  characters, accents dropped (sarín is sarin, иприт with or without marks), and in a word that mixes
  scripts the Cyrillic and Greek look-alikes read as Latin letters ("ѕаrin" with Cyrillic ѕ and а).
  Case is kept, because SMILES, InChI and military codes are case-sensitive.
- ``unleet`` additionally reads digits and symbols standing for letters ("s4r1n", "$oman") and joins
  letters spelled out one by one ("s a r i n", "t.a.b.u.n"); only names are looked for in that view,
  never structures or codes, which are made of digits.

The look-alike map is short and hand-checked rather than Unicode's whole confusables table, which also
maps digits and punctuation to letters and would rewrite SMILES and CAS numbers.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data") / "agent_lexicon.json"

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U000e0000-\U000e007f]"
)
# Accents and other combining marks of alphabetic scripts (Latin, Greek, Cyrillic, Arabic vowel signs);
# the kana voicing marks are left alone, since dropping them changes the word.
_MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u064b-\u065f\u0670\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
_LOOKALIKES = {
    # Cyrillic
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ӏ": "l",
    "һ": "h",
    "к": "k",
    "м": "m",
    "н": "h",
    "т": "t",
    "в": "b",
    "А": "A",
    "В": "B",
    "Е": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "І": "I",
    "Ј": "J",
    "Ѕ": "S",
    # Greek
    "α": "a",
    "ο": "o",
    "ν": "v",
    "ρ": "p",
    "υ": "u",
    "ι": "i",
    "κ": "k",
    "τ": "t",
    "χ": "x",
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ο": "O",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    # Latin letters that look like plain ones
    "ı": "i",
    "ɑ": "a",
    "ɡ": "g",
    "ɩ": "i",
    "ʟ": "L",
}
_UNMIX = str.maketrans(_LOOKALIKES)
_WORD = re.compile(r"[^\W_]+")
_LATIN = re.compile(r"[A-Za-z]")
_FOREIGN_LOOKALIKE = re.compile("[" + "".join(_LOOKALIKES) + "]")
_LEET = str.maketrans(
    {
        "4": "a",
        "@": "a",
        "3": "e",
        "€": "e",
        "1": "i",
        "!": "i",
        "|": "l",
        "0": "o",
        "5": "s",
        "$": "s",
        "7": "t",
        "+": "t",
        "8": "b",
        "9": "g",
    }
)
_SPELLED_OUT = re.compile(r"(?<![^\W_])[^\W\d_]([ .\-_*·•/])(?:[^\W\d_]\1)+[^\W\d_](?![^\W_])")


def _unmix(match: re.Match[str]) -> str:
    word = match.group()
    if _LATIN.search(word) and _FOREIGN_LOOKALIKE.search(word):
        return word.translate(_UNMIX)
    return word


def join_spelled_out(text: str) -> str:
    """Letters spelled out one by one with spaces, dots or dashes between them, joined: "s a r i n" is "sarin"."""
    return _SPELLED_OUT.sub(lambda m: re.sub(r"[ .\-_*·•/]", "", m.group()), text)


def strip_marks(text: str) -> str:
    """``text`` without accents and the other combining marks of alphabetic scripts."""
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFKD", text)))


def fold(text: str) -> str:
    """Text as it reads: NFKC, no invisible characters, no accents, look-alike letters in mixed words as Latin."""
    text = strip_marks(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text)))
    return _WORD.sub(_unmix, text)


def unleet(text: str) -> str:
    """``text`` (already folded) in lower case with digits and symbols read as the letters they stand for."""
    return join_spelled_out(text.lower().translate(_LEET))


@dataclass(frozen=True)
class LexiconTerm:
    """A name in the lexicon, folded as questions are, and the listed agent it denotes."""

    text: str
    agent: str
    contextual: bool
    """An everyday word too, or a description by attack: linked only next to a weapon or chemistry word."""


@cache
def _data() -> dict:
    return json.loads(_DATA.read_text(encoding="utf-8"))


@cache
def lexicon_terms() -> tuple[LexiconTerm, ...]:
    """Every name, transliteration, ambiguous name and attack description of every agent in the lexicon."""
    terms: dict[tuple[str, str], LexiconTerm] = {}
    for agent, rec in _data()["agents"].items():
        listed = [(n, False) for names in rec.get("names", {}).values() for n in names]
        listed += [(n, True) for names in rec.get("ambiguous", {}).values() for n in names]
        listed += [(n, True) for n in rec.get("events", [])]
        for name, contextual in listed:
            text = fold(name)
            terms.setdefault((text.lower(), agent), LexiconTerm(text, agent, contextual))
    return tuple(terms.values())


def cas_valid(number: str) -> bool:
    """A CAS registry number whose check digit is right (weighted sum of the other digits, modulo 10)."""
    digits = number.replace("-", "")
    if not re.fullmatch(r"\d{2,7}-\d{2}-\d", number):
        return False
    body = digits[:-1][::-1]
    return sum((i + 1) * int(d) for i, d in enumerate(body)) % 10 == int(digits[-1])


@cache
def cas_numbers() -> dict[str, str]:
    """CAS registry number -> the listed agent it identifies."""
    return {cas: agent for agent, rec in _data()["agents"].items() for cas in rec.get("cas", [])}
