"""Named functional groups, from the SMARTS RDKit ships for its ``fr_*`` fragment descriptors.

A handful of RDKit's fragment counts are metabolism heuristics or overlap badly (its "tertiary amine"
pattern matches any nitrogen without hydrogens, nitriles included), so those are left out and a few
misspelt names are corrected.
"""

from __future__ import annotations

import csv
import os
import threading
from functools import cache

from pydantic import BaseModel
from rdkit import Chem, RDConfig

_SKIP = frozenset(
    [
        "fr_NH0",
        "fr_NH1",
        "fr_NH2",
        "fr_C=O_noCOO",
        "fr_COO2",
        "fr_Al_COO",
        "fr_Ar_COO",
        "fr_Al_OH_noTert",
        "fr_phenol_noOrthoHbond",
        "fr_nitro_arom_nonortho",
        "fr_para_hydroxylation",
        "fr_allylic_oxid",
        "fr_aryl_methyl",
        "fr_Ndealkylation1",
        "fr_Ndealkylation2",
        "fr_ketone_Topliss",
        "fr_ArN",
        "fr_HOCCN",
        "fr_unbrch_alkane",
        "fr_bicyclic",
        "fr_Nhpyrrole",
        "fr_halogen",
        "fr_nitro_arom",
        "fr_Ar_OH",
        "fr_ether",
    ]
)
_RENAME = {
    "fr_C=O": "carbonyl (C=O)",
    "fr_piperdine": "piperidine rings",
    "fr_piperzine": "piperazine rings",
    "fr_Ar_NH": "aromatic NH (e.g. pyrrole, indole)",
    "fr_quatN": "quaternary nitrogens",
    "fr_sulfide": "thioethers",
    "fr_C=S": "thiocarbonyls",
    "fr_lactam": "beta-lactams",
    "fr_hdrzine": "hydrazines",
    "fr_hdrzone": "hydrazones",
    "fr_N-O": "hydroxylamines",
    "fr_prisulfonamd": "primary sulfonamides",
    "fr_sulfonamd": "sulfonamides",
    "fr_Imine": "imines",
    "fr_amidine": "amidines",
    "fr_guanido": "guanidines",
    "fr_isocyan": "isocyanates",
    "fr_isothiocyan": "isothiocyanates",
    "fr_thiocyan": "thiocyanates",
    "fr_barbitur": "barbiturates",
}


# RDKit's amine and ether counts do not separate amines from amides or ethers from esters; these do.
_EXTRA = {
    "primary aliphatic amines": "[NX3;H2;!$(N[C,S,P]=[O,S,N]);!$(N-a)][CX4]",
    "secondary aliphatic amines": "[NX3;H1;!$(N[C,S,P]=[O,S,N]);!$(N-a)]([CX4])[CX4]",
    "tertiary aliphatic amines": "[NX3;H0;!$(N[C,S,P]=[O,S,N]);!$(N-a)]([CX4])([CX4])[CX4]",
    "aryl halides": "c[F,Cl,Br,I]",
    "ethers": "[OD2;!$(O[#6]=[O,S,N]);!$(O[P,S])]([#6])[#6]",
}


class FunctionalGroup(BaseModel):
    name: str
    count: int
    atoms: list[int]


_LOCK = threading.Lock()


@cache
def _patterns() -> tuple[tuple[str, Chem.Mol], ...]:
    path = os.path.join(RDConfig.RDDataDir, "FragmentDescriptors.csv")
    out = []
    with open(path, encoding="utf-8") as fh:
        for row in csv.reader((line for line in fh if line.startswith("fr_")), delimiter="\t"):
            code, description, smarts = row[0], row[1].strip('"'), row[2].strip()
            if code in _SKIP:
                continue
            pattern = Chem.MolFromSmarts(smarts)
            if pattern is None:
                continue
            name = _RENAME.get(code) or description.removeprefix("Number of ").strip()
            out.append((name, pattern))
    out.extend((name, Chem.MolFromSmarts(smarts)) for name, smarts in _EXTRA.items())
    return tuple(out)


def functional_groups(mol: Chem.Mol) -> list[FunctionalGroup]:
    with _LOCK:
        patterns = _patterns()
    groups = []
    for name, pattern in patterns:
        matches = mol.GetSubstructMatches(pattern)
        if matches:
            atoms = sorted({a for m in matches for a in m})
            groups.append(FunctionalGroup(name=name, count=len(matches), atoms=atoms))
    return groups
