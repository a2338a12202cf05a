"""Turning what a user or model typed into an RDKit molecule, with a clear reason when that fails.

Every chemistry tool parses through this module (via ``resolve.Resolver``), so salts, mixtures, radicals,
charges and oversized input are handled the same way everywhere: a ``ToolError`` that says what is wrong, or a
molecule plus notes the model can pass on ("kept the largest fragment", "radical").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdkit import Chem
from rdkit.Chem import Descriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

from txscout.core.toolkit import ToolError

MAX_INPUT_CHARS = 4000
MAX_HEAVY_ATOMS = 1000

INCHIKEY_RE = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
_SMILES_CHARS = re.compile(r"^[A-Za-z0-9@+\-\[\]\(\)=#$/\\%.:*~]+$")
_ORGANIC_ATOMS = re.compile(r"^(?:Cl|Br|[BCNOPSFIbcnops])*$")
_SMILES_SYNTAX = re.compile(r"[\[\]()=#@+/\\%]")


@dataclass
class Parsed:
    """A parsed structure: ``mol`` is the parent used for calculations, ``notes`` explain any changes."""

    mol: Chem.Mol
    smiles: str
    input: str
    notes: list[str] = field(default_factory=list)
    full_smiles: str = ""


class TooLarge(ToolError):
    """The structure is over a stated size limit: a definite answer, never a reason to try it as a name."""


def looks_like_smiles(text: str) -> bool:
    """Whether ``text`` is meant as SMILES: SMILES characters only, and either SMILES syntax (brackets,
    branches, bonds) or only atoms of the organic subset. A compound code
    ("AZD9291") or a made-up word ("notamolecule123xyz") is neither, so it is reported as an unknown
    name, not as broken SMILES."""
    if not _SMILES_CHARS.match(text) or " " in text:
        return False
    if _SMILES_SYNTAX.search(text):
        return True
    return bool(_ORGANIC_ATOMS.match("".join(re.findall(r"[A-Za-z]", text))))


def check_input(text: str) -> str:
    text = text.strip()
    if not text:
        raise ToolError("empty molecule: give a SMILES string, InChI, InChIKey or drug name")
    if len(text) > MAX_INPUT_CHARS:
        raise TooLarge(
            f"input is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}. "
            "Give one molecule as SMILES, InChI, InChIKey or a name."
        )
    return text


def _syntax_reason(smiles: str) -> str:
    """Why RDKit rejected a SMILES string, in words a model can act on (RDKit only logs the reason)."""
    raw = Chem.MolFromSmiles(smiles, sanitize=False)
    if raw is not None:
        problems = Chem.DetectChemistryProblems(raw)
        return "; ".join(p.Message() for p in problems[:3]) or "RDKit could not interpret the structure"
    if smiles.count("(") != smiles.count(")"):
        return "unbalanced parentheses"
    if smiles.count("[") != smiles.count("]"):
        return "unbalanced square brackets"
    outside_brackets = re.sub(r"\[[^\]]*\]", "", smiles)
    labels = re.findall(r"%\d\d|\d", outside_brackets)
    unclosed = sorted({x for x in labels if labels.count(x) % 2})
    if unclosed:
        return f"unclosed ring bond {', '.join(unclosed)}"
    return "syntax error (unknown element symbol or misplaced character)"


def _sane(mol: Chem.Mol) -> bool:
    try:
        Chem.SanitizeMol(Chem.Mol(mol))
    except (ValueError, RuntimeError):
        return False
    return True


def fragments(mol: Chem.Mol) -> tuple[Chem.Mol, ...]:
    """The disconnected pieces of ``mol``; the whole molecule when a piece cannot be sanitised alone."""
    try:
        return tuple(Chem.GetMolFrags(mol, asMols=True)) or (mol,)
    except (ValueError, RuntimeError):  # e.g. an exotic hydride that is only valid inside the complex
        return (mol,)


def _check_size(mol: Chem.Mol) -> None:
    if mol.GetNumHeavyAtoms() > MAX_HEAVY_ATOMS:
        raise TooLarge(
            f"molecule has {mol.GetNumHeavyAtoms():,} heavy atoms; the limit is {MAX_HEAVY_ATOMS:,} heavy atoms "
            "per molecule"
        )


def _finish(mol: Chem.Mol, text: str) -> Parsed:
    if mol.GetNumHeavyAtoms() == 0:
        raise ToolError(f"'{text[:80]}' contains no heavy atoms")
    _check_size(mol)
    full = Chem.MolToSmiles(mol)
    notes: list[str] = []
    removed: list[str] = []
    parent = mol
    pieces = fragments(mol)
    if len(pieces) > 1:
        parent = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
        kept = Chem.MolToSmiles(parent)
        removed = [s for s in (Chem.MolToSmiles(f) for f in pieces) if s != kept]
        uncharged = rdMolStandardize.Uncharger().uncharge(parent)
        if Chem.MolToSmiles(uncharged) != kept and _sane(uncharged):
            notes.append("neutralised the parent after removing counter-ions")
            parent = uncharged
        notes.append(f"salt or mixture: results are for the largest organic fragment; removed {', '.join(removed)}")
    radicals = Descriptors.NumRadicalElectrons(parent)
    if radicals:
        notes.append(f"radical: {radicals} unpaired electron(s); descriptors and models assume closed shells")
    charge = Chem.GetFormalCharge(parent)
    if charge:
        notes.append(f"charged species (net charge {charge:+d})")
    return Parsed(
        mol=parent,
        smiles=Chem.MolToSmiles(parent),
        input=text,
        notes=notes,
        full_smiles=full,
    )


def parse_smiles(text: str) -> Parsed:
    """Parse a SMILES string. The size is checked on the raw parse first, so an oversized structure is
    reported as oversized even when it would also fail sanitising (aromaticity, valence)."""
    text = check_input(text)
    raw = Chem.MolFromSmiles(text, sanitize=False)
    if raw is not None:
        _check_size(raw)
    mol = Chem.MolFromSmiles(text)
    if mol is None:
        raise ToolError(f"invalid SMILES '{text[:80]}': {_syntax_reason(text)}")
    return _finish(mol, text)


def parse_inchi(text: str) -> Parsed:
    text = check_input(text)
    mol = Chem.MolFromInchi(text, sanitize=True, treatWarningAsError=False, logLevel=None)
    if mol is None:
        raise ToolError(f"invalid InChI '{text[:80]}'")
    return _finish(mol, text)
