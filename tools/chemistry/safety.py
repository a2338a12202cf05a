"""The safety gate: does a structure match a chemical-weapons agent or key precursor?

The gate compares structures, not words, so rephrasing a question cannot get around it: the same
molecule written as a name, a different SMILES, an InChI, a salt or inside a mixture is flagged alike.
Exact matches compare each fragment's connectivity (non-stereo canonical SMILES), so stereoisomers count
as the same agent; analogues, including protonated forms, are caught by Morgan-fingerprint Tanimoto
similarity >= 0.35 for the entries where analogues are themselves dangerous (nerve agents, mustards,
lewisites, saxitoxin). Charges are kept: neutralising would turn the cyanide ligand of vitamin B12 into
hydrogen cyanide.

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
from txscout.tools.chemistry.molecules import fragments

SIMILARITY_THRESHOLD = 0.35
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
    aliases: tuple[str, ...]
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
                aliases=tuple(rec.get("aliases", [])),
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


def check_name(name: str) -> SafetyMatch | None:
    """A controlled agent named in text, including ones without a small-molecule structure (ricin)."""
    key = " ".join(name.lower().split())
    for agent in agents():
        if key in (n.lower() for n in (agent.name, *agent.aliases)):
            return _match(agent, 1.0, "name")
    return None


def agent_smiles(name: str) -> str | None:
    """The stored SMILES for a controlled agent's name or alias, so names resolve offline."""
    key = " ".join(name.lower().split())
    for rec in _data()["agents"]:
        if key in (n.lower() for n in (rec["name"], *rec.get("aliases", []))):
            if not rec.get("smiles"):
                raise ToolError(
                    f"{rec['name']} is a {rec['category']} without a small-molecule structure (a protein toxin)"
                )
            return str(rec["smiles"])
    return None


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
