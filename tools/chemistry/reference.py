"""The approved-drug reference set as structures: parsed once, fingerprinted once, shared by all tools.

Structure lookups ("is this SMILES a known drug?") use a connectivity key, the non-stereo canonical
SMILES of the largest fragment, so a SMILES typed without stereocentres or as a salt still finds its
drug. Building the set takes about a second, so it happens on first use, under a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cache

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from txscout.tools.chemistry.molecules import fragments
from txscout.tools.chemistry.names import DrugEntry, name_index

_FP = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def fingerprint(mol: Chem.Mol) -> DataStructs.ExplicitBitVect:
    """Morgan radius-2 (ECFP4-like) 2048-bit fingerprint, the usual choice for Tanimoto similarity."""
    return _FP.GetFingerprint(mol)


def _largest(mol: Chem.Mol) -> Chem.Mol:
    return max(fragments(mol), key=lambda m: m.GetNumHeavyAtoms())


def _defined_stereo(mol: Chem.Mol) -> int:
    return sum(1 for _, label in Chem.FindMolChiralCenters(mol, useLegacyImplementation=False) if label != "?")


def connectivity_key(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(_largest(mol), isomericSmiles=False)


@dataclass
class ReferenceSet:
    entries: list[DrugEntry]
    indices: list[int] = field(default_factory=list)
    mols: list[Chem.Mol] = field(default_factory=list)
    fingerprints: list[DataStructs.ExplicitBitVect] = field(default_factory=list)
    by_key: dict[str, list[int]] = field(default_factory=dict)
    mol_of: dict[int, Chem.Mol] = field(default_factory=dict)

    inchikeys: dict[str, int] = field(default_factory=dict)

    def same_structure(self, mol: Chem.Mol) -> list[DrugEntry]:
        """Approved drugs with ``mol``'s connectivity, the one with its exact stereochemistry first.

        The connectivity key joins a racemate to its enantiomers (ibuprofen and dexibuprofen), so the
        order decides the name a structure is given: the drug drawn as ``mol`` is drawn, else the drug
        with the fewest defined stereocentres (the racemate before a single enantiomer)."""
        found = self.by_key.get(connectivity_key(mol), [])
        if len(found) < 2:
            return [self.entries[i] for i in found]
        drawn = Chem.MolToSmiles(_largest(mol))

        def rank(i: int) -> tuple[bool, int]:
            entry = self.mol_of[i]
            return Chem.MolToSmiles(_largest(entry)) != drawn, _defined_stereo(entry)

        return [self.entries[i] for i in sorted(found, key=rank)]

    def by_inchikey(self, key: str) -> tuple[DrugEntry | None, DrugEntry | None]:
        """(exact match, connectivity-only match) for an InChIKey; the key index is built on first use."""
        with _LOCK:
            if not self.inchikeys:
                for i, mol in zip(self.indices, self.mols, strict=True):
                    self.inchikeys[Chem.MolToInchiKey(_largest(mol))] = i
        if key in self.inchikeys:
            return self.entries[self.inchikeys[key]], None
        skeleton = key.split("-")[0]
        for full, i in self.inchikeys.items():
            if full.startswith(skeleton + "-"):
                return None, self.entries[i]
        return None, None


_LOCK = threading.Lock()


@cache
def _build() -> ReferenceSet:
    entries = name_index().entries
    ref = ReferenceSet(entries=entries)
    for i, entry in enumerate(entries):
        mol = Chem.MolFromSmiles(entry.smiles)
        if mol is None:
            continue
        ref.indices.append(i)
        ref.mols.append(mol)
        ref.mol_of[i] = mol
        ref.fingerprints.append(fingerprint(_largest(mol)))
        ref.by_key.setdefault(connectivity_key(mol), []).append(i)
    return ref


def reference_set() -> ReferenceSet:
    with _LOCK:
        return _build()
