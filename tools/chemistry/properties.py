"""Descriptors and drug-likeness rules, with every rule violation named so a model can quote it."""

from __future__ import annotations

from pydantic import BaseModel, Field
from rdkit import Chem
from rdkit.Chem import QED, Descriptors, rdMolDescriptors


class DescriptorSet(BaseModel):
    molecular_weight: float = Field(description="average molecular weight, g/mol")
    exact_mass: float = Field(description="monoisotopic mass, Da")
    logp: float = Field(description="Crippen logP (octanol/water)")
    tpsa: float = Field(description="topological polar surface area, Å²")
    hbd: int = Field(description="H-bond donors (Lipinski: NH + OH)")
    hba: int = Field(description="H-bond acceptors (Lipinski: N + O)")
    rotatable_bonds: int
    rings: int
    aromatic_rings: int
    fraction_sp3: float
    heavy_atoms: int
    formal_charge: int
    stereocentres: int
    unassigned_stereocentres: int
    molar_refractivity: float
    qed: float = Field(description="quantitative estimate of drug-likeness, 0 (unlike drugs) to 1")


class RuleResult(BaseModel):
    rule: str
    passed: bool
    violations: list[str] = []


def descriptors(mol: Chem.Mol) -> DescriptorSet:
    logp, mr = rdMolDescriptors.CalcCrippenDescriptors(mol)
    stereo = Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False)
    return DescriptorSet(
        molecular_weight=round(Descriptors.MolWt(mol), 3),
        exact_mass=round(Descriptors.ExactMolWt(mol), 4),
        logp=round(logp, 3),
        tpsa=round(rdMolDescriptors.CalcTPSA(mol), 2),
        hbd=rdMolDescriptors.CalcNumLipinskiHBD(mol),
        hba=rdMolDescriptors.CalcNumLipinskiHBA(mol),
        rotatable_bonds=rdMolDescriptors.CalcNumRotatableBonds(mol),
        rings=rdMolDescriptors.CalcNumRings(mol),
        aromatic_rings=rdMolDescriptors.CalcNumAromaticRings(mol),
        fraction_sp3=round(rdMolDescriptors.CalcFractionCSP3(mol), 3),
        heavy_atoms=mol.GetNumHeavyAtoms(),
        formal_charge=Chem.GetFormalCharge(mol),
        stereocentres=len(stereo),
        unassigned_stereocentres=sum(1 for _, label in stereo if label == "?"),
        molar_refractivity=round(mr, 2),
        qed=round(QED.qed(mol), 3),
    )


def _rule(name: str, checks: list[tuple[bool, str]]) -> RuleResult:
    violations = [msg for ok, msg in checks if not ok]
    return RuleResult(rule=name, passed=not violations, violations=violations)


def rules(mol: Chem.Mol, d: DescriptorSet) -> list[RuleResult]:
    """Lipinski (at most one violation is the usual pass mark), Veber and Ghose."""
    lipinski = _rule(
        "Lipinski rule of five",
        [
            (d.molecular_weight <= 500, f"MW {d.molecular_weight:.1f} > 500"),
            (d.logp <= 5, f"logP {d.logp:.2f} > 5"),
            (d.hbd <= 5, f"H-bond donors {d.hbd} > 5"),
            (d.hba <= 10, f"H-bond acceptors {d.hba} > 10"),
        ],
    )
    lipinski.passed = len(lipinski.violations) <= 1
    atoms = Chem.AddHs(mol).GetNumAtoms()
    return [
        lipinski,
        _rule(
            "Veber",
            [
                (d.rotatable_bonds <= 10, f"rotatable bonds {d.rotatable_bonds} > 10"),
                (d.tpsa <= 140, f"TPSA {d.tpsa:.1f} > 140"),
            ],
        ),
        _rule(
            "Ghose",
            [
                (160 <= d.molecular_weight <= 480, f"MW {d.molecular_weight:.1f} outside 160-480"),
                (-0.4 <= d.logp <= 5.6, f"logP {d.logp:.2f} outside -0.4 to 5.6"),
                (
                    40 <= d.molar_refractivity <= 130,
                    f"molar refractivity {d.molar_refractivity:.1f} outside 40-130",
                ),
                (20 <= atoms <= 70, f"atom count {atoms} outside 20-70"),
            ],
        ),
    ]
