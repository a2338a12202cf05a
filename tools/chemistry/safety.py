"""The safety gate: does a structure match a chemical-weapons agent or key precursor?

The gate compares structures, not words, so rephrasing a question cannot get around it: the same
molecule written as a name, a different SMILES, an InChI, a salt or inside a mixture is flagged alike.
Exact matches compare each fragment's connectivity (non-stereo canonical SMILES), so stereoisomers count
as the same agent; analogues, including protonated forms, are caught by Morgan-fingerprint Tanimoto
similarity >= 0.35 for the entries where analogues are themselves dangerous (nerve agents, mustards,
lewisites, saxitoxin). Charges are kept: neutralising would turn the cyanide ligand of vitamin B12 into
hydrogen cyanide.

Names count too: an agent's common names, codes and IUPAC names resolve offline to its stored structure, so a
name is checked as the structure it denotes. ``controlled_terms`` lists every name for the question linker, with
generic class terms ("nerve agent") that denote no single structure.

The data file holds only identifiers, the CWC category and public toxicology and first-aid facts.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from txscout.core.toolkit import ToolError
from txscout.tools.chemistry.lexicon import cas_numbers, lexicon_terms
from txscout.tools.chemistry.molecules import fragments

SIMILARITY_THRESHOLD = 0.35
CLASS_CATEGORY = "chemical-weapon class"
_DATA = Path(__file__).with_name("data") / "controlled_chemicals.json"
_FP = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


class SafetyMatch(BaseModel):
    """Why a molecule is controlled or high-risk, with the public safety facts the agent may still give."""

    matched: str = Field(description="name of the controlled agent or precursor")
    category: str = Field(description="e.g. 'CWC schedule 1 agent'")
    similarity: float = Field(description="1.0 for the same structure, else Morgan Tanimoto similarity")
    basis: str = Field(description="'exact structure', 'analogue', 'analogue (Br/I read as Cl)' or 'name'")
    hazard: str
    exposure_response: str

    def render(self) -> str:
        how = {"exact structure": "same structure as", "name": "named as"}.get(
            self.basis, f"{self.basis}, Tanimoto {self.similarity:.2f}, of"
        )
        return (
            f"SAFETY FLAG: {how} {self.matched} ({self.category}). No synthesis, acquisition or "
            f"weaponisation guidance. Hazard: {self.hazard} Exposure response: {self.exposure_response}"
        )


@dataclass(frozen=True)
class _Agent:
    name: str
    category: str
    hazard: str
    exposure_response: str
    key: str | None
    fingerprint: DataStructs.ExplicitBitVect | None
    analogues: bool


_LOCK = threading.Lock()


@cache
def _data() -> dict:
    return json.loads(_DATA.read_text(encoding="utf-8"))


@cache
def _agents() -> tuple[_Agent, ...]:
    data = _data()
    out = []
    for rec in data["agents"]:
        cls = data["classes"][rec["class"]]
        mol = Chem.MolFromSmiles(rec["smiles"]) if rec.get("smiles") else None
        out.append(
            _Agent(
                name=rec["name"],
                category=rec["category"],
                hazard=cls["hazard"],
                exposure_response=cls["exposure_response"],
                key=_key(mol) if mol is not None else None,
                fingerprint=_FP.GetFingerprint(mol) if mol is not None else None,
                analogues=bool(rec.get("analogues")),
            )
        )
    return tuple(out)


def agents() -> tuple[_Agent, ...]:
    with _LOCK:
        return _agents()


def _key(mol: Chem.Mol) -> str:
    """Connectivity identity, several times faster than an InChIKey."""
    return Chem.MolToSmiles(mol, isomericSmiles=False)


def _match(agent: _Agent, similarity: float, basis: str) -> SafetyMatch:
    return SafetyMatch(
        matched=agent.name,
        category=agent.category,
        similarity=round(similarity, 3),
        basis=basis,
        hazard=agent.hazard,
        exposure_response=agent.exposure_response,
    )


def _chlorinated(mol: Chem.Mol) -> Chem.Mol | None:
    """``mol`` with bromine and iodine read as chlorine, or None if it has neither.

    Bromo and iodo mustards are vesicants too, but the element change alone drops their fingerprint
    similarity to the chloro agents below the threshold.
    """
    heavy_halogens = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() in (35, 53)]
    if not heavy_halogens:
        return None
    rw = Chem.RWMol(mol)
    for idx in heavy_halogens:
        rw.GetAtomWithIdx(idx).SetAtomicNum(17)
    try:
        Chem.SanitizeMol(rw)
    except (ValueError, RuntimeError):
        return None
    return rw.GetMol()


def check_mol(mol: Chem.Mol) -> SafetyMatch | None:
    """The closest controlled agent to any fragment of ``mol``, or None if nothing is close."""
    best: SafetyMatch | None = None
    for frag in fragments(mol):
        if frag.GetNumHeavyAtoms() == 0:
            continue
        key = _key(frag)
        prints = [_FP.GetFingerprint(frag)]
        swapped = _chlorinated(frag)
        if swapped is not None:
            prints.append(_FP.GetFingerprint(swapped))
        for agent in agents():
            if agent.key and key == agent.key:
                return _match(agent, 1.0, "exact structure")
            if agent.fingerprint is None or not agent.analogues:
                continue
            sims = [DataStructs.TanimotoSimilarity(fp, agent.fingerprint) for fp in prints]
            sim = max(sims)
            if sim >= SIMILARITY_THRESHOLD and (best is None or sim > best.similarity):
                basis = "analogue" if sims[0] == sim else "analogue (Br/I read as Cl)"
                best = _match(agent, sim, basis)
    return best


def check_structure(smiles: str) -> SafetyMatch | None:
    """Check a SMILES or InChI; unparseable input is not a match (the caller reports the parse error)."""
    text = smiles.strip()
    if not text:
        return None
    mol = Chem.MolFromInchi(text, logLevel=None) if text.startswith("InChI=") else Chem.MolFromSmiles(text)
    if mol is None:
        return None
    return check_mol(mol)


_BRACKETS = str.maketrans("[]{}‐‑‒–—′’", "()()-----''")


def name_key(name: str) -> str:
    """Case, spacing, dash and bracket style do not change a name: "S-[2-(...)ethyl]" is "S-(2-(...)ethyl)"."""
    return " ".join(name.translate(_BRACKETS).lower().split())


@cache
def _by_name() -> dict[str, int]:
    table: dict[str, int] = {}
    for i, rec in enumerate(_data()["agents"]):
        for n in (rec["name"], *rec.get("aliases", []), *rec.get("iupac", []), *rec.get("codes", [])):
            table.setdefault(name_key(n), i)
    return table


def _record(name: str) -> dict | None:
    with _LOCK:
        i = _by_name().get(name_key(name))
    return None if i is None else _data()["agents"][i]


def check_name(name: str) -> SafetyMatch | None:
    """A controlled agent named in text, including ones without a small-molecule structure (ricin)."""
    rec = _record(name)
    if rec is None:
        return None
    return _match(next(a for a in agents() if a.name == rec["name"]), 1.0, "name")


def agent_smiles(name: str) -> str | None:
    """The stored SMILES for a controlled agent's name, code or IUPAC name, so names resolve offline."""
    rec = _record(name)
    if rec is None:
        return None
    if not rec.get("smiles"):
        raise ToolError(f"{rec['name']} is a {rec['category']} without a stored small-molecule structure")
    return str(rec["smiles"])


@dataclass(frozen=True)
class Term:
    """A name to look for in a question, and what it denotes."""

    text: str
    label: str
    """The listed agent it names, or the label of a generic class ("Nerve agents" for "nerve gas")."""
    code: bool
    """A short code ("GB", "VR") with everyday meanings too: matched case-sensitively, only in chemical context."""
    smiles: str | None
    contextual: bool = False
    """A name that is an everyday word too ("новичок", a beginner) or a description by attack ("Skripal"):
    matched case-insensitively, only next to a weapon or chemistry word."""


@cache
def controlled_terms() -> tuple[Term, ...]:
    """Every name of every listed agent (in English, and in other languages and scripts from the lexicon),
    and the generic class terms ("nerve agent", "chemical weapon")."""
    data = _data()
    terms: list[Term] = []
    smiles_of = {rec["name"]: rec.get("smiles") for rec in data["agents"]}
    for lexicon_term in lexicon_terms():
        terms.append(
            Term(lexicon_term.text, lexicon_term.agent, False, smiles_of[lexicon_term.agent], lexicon_term.contextual)
        )
    for rec in data["agents"]:
        codes = rec.get("codes", [])
        smiles = rec.get("smiles")
        for n in (rec["name"], *rec.get("aliases", []), *rec.get("iupac", [])):
            if n not in codes:
                terms.append(Term(n, rec["name"], code=False, smiles=smiles))
        terms.extend(Term(c, rec["name"], code=True, smiles=smiles) for c in codes)
    for cls in data["classes"].values():
        terms.extend(Term(n, cls["label"], code=False, smiles=None) for n in cls.get("names", []))
    return tuple(terms)


def check_class(label: str) -> SafetyMatch | None:
    """The safety facts of a generic class ("Nerve agents") by its label."""
    cls = next((c for c in _data()["classes"].values() if c.get("label") == label), None)
    if cls is None:
        return None
    return SafetyMatch(
        matched=label,
        category=CLASS_CATEGORY,
        similarity=1.0,
        basis="name",
        hazard=cls["hazard"],
        exposure_response=cls["exposure_response"],
    )


def agent_by_cas(number: str) -> tuple[str, str] | None:
    """(name, SMILES or "") of the listed agent with this CAS registry number."""
    name = cas_numbers().get(number)
    if name is None:
        return None
    rec = next(r for r in _data()["agents"] if r["name"] == name)
    return name, str(rec.get("smiles", ""))


def agent_by_inchikey(key: str) -> tuple[str, str] | None:
    """(name, SMILES) of the controlled agent with this InChIKey (or its skeleton), so keys resolve offline."""
    skeleton = key.split("-")[0]
    for rec in _data()["agents"]:
        if rec.get("inchikey", "").split("-")[0] == skeleton:
            return str(rec["name"]), str(rec["smiles"])
    return None


def agent_name(mol: Chem.Mol) -> str | None:
    """The controlled agent with exactly this structure, so a SMILES of VX is labelled "VX"."""
    key = _key(mol)
    return next((a.name for a in agents() if a.key == key), None)
