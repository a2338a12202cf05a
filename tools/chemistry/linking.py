"""Deterministic entity linking: which drugs and SMILES does a question mention?

The agent runs this on every question before the model sees it, so it must be cheap (a dictionary
lookup per word n-gram, no regex alternation over thousands of names) and conservative (short or
everyday names like "iron" or "water", and English words that happen to parse as SMILES, are ignored).
"""

from __future__ import annotations

import re
import threading
from functools import cache

from pydantic import BaseModel
from rdkit import Chem

from txscout.tools.chemistry.names import name_index, normalise

_TOKEN = re.compile(r"\S+")
_STRIP = "\"'`“”‘’.,;:!?"
_SMILES_TOKEN = re.compile(r"^[A-Za-z0-9@+\-\[\]\(\)=#$/\\%.*]+$")
_SMILES_SPECIAL = re.compile(r"[\[\]\(\)=#@/\\]|[a-zA-Z]\d")
_PLAIN_ATOMS = re.compile(r"^(?:Cl|Br|[CNOSPFIcnos])+$")


class LinkedMolecule(BaseModel):
    mention: str
    smiles: str
    name: str | None = None


_LOCK = threading.Lock()


@cache
def _linkable() -> tuple[dict[str, int], int]:
    names = name_index().linkable_names()
    longest = max(len(k.split()) for k in names)
    return names, longest


def _clean(token: str) -> str:
    token = token.strip(_STRIP)
    if token.startswith("(") and token.count("(") > token.count(")"):
        token = token[1:]
    if token.endswith(")") and token.count(")") > token.count("("):
        token = token[:-1]
    return token


def _smiles_candidate(token: str) -> str | None:
    """Canonical SMILES if ``token`` looks deliberately written as SMILES and parses."""
    if len(token) < 2 or not _SMILES_TOKEN.match(token) or not any(c in token for c in "Cc"):
        return None
    special = bool(_SMILES_SPECIAL.search(token))
    plain = len(token) >= 4 and bool(_PLAIN_ATOMS.match(token)) and len(set(token.upper()) - {"L", "R"}) >= 2
    if not (special or plain):
        return None
    if token.isalpha() and token[0].isupper() and token[1:].islower():  # a capitalised word, e.g. "Cocos"
        return None
    mol = Chem.MolFromSmiles(token)
    if mol is None or mol.GetNumHeavyAtoms() < 2:
        return None
    return Chem.MolToSmiles(mol)


def find_molecules(text: str) -> list[LinkedMolecule]:
    """Drug names (longest match first, whole words, case-insensitive) and SMILES mentioned in ``text``."""
    with _LOCK:
        names, longest = _linkable()
    index = name_index()
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    found: list[LinkedMolecule] = []
    seen: set[str] = set()
    i = 0
    while i < len(tokens):
        matched = 0
        for n in range(min(longest, len(tokens) - i), 0, -1):
            span = text[tokens[i][0] : tokens[i + n - 1][1]]
            key = normalise(_clean(span))
            if key in names:
                entry = index.entries[names[key]]
                mol = Chem.MolFromSmiles(entry.smiles)
                if mol is not None and entry.name not in seen:
                    seen.add(entry.name)
                    found.append(LinkedMolecule(mention=_clean(span), smiles=Chem.MolToSmiles(mol), name=entry.name))
                matched = n
                break
        if matched:
            i += matched
            continue
        token = _clean(text[tokens[i][0] : tokens[i][1]])
        smiles = _smiles_candidate(token)
        if smiles is not None and smiles not in seen:
            seen.add(smiles)
            found.append(LinkedMolecule(mention=token, smiles=smiles))
        i += 1
    return found
