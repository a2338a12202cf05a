"""The chemistry and prediction tools the model sees, each declared once over the chemistry service.

Arguments are the tools' input schemas (what the model fills in); results live in
:mod:`txscout.tools.chemistry.results`, the work in :mod:`txscout.tools.chemistry.service`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from txscout.core.toolkit import IDENTIFIER_FIELD, Toolbox
from txscout.tools.chemistry.predictor import TdcPrediction
from txscout.tools.chemistry.results import (
    AdmetResult,
    AlertsResult,
    CompareResult,
    GroupsResult,
    MoleculeRecord,
    PropertiesResult,
    SafetyResult,
    SimilarityResult,
    SubstructureResult,
)
from txscout.tools.chemistry.service import ChemistryService

if TYPE_CHECKING:
    import httpx
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings

MOLECULE_DESC = "the molecule: a drug name (e.g. 'aspirin'), SMILES, InChI or InChIKey"
MOLECULES_DESC = "molecules, each a drug name, SMILES, InChI or InChIKey"


class MoleculeArgs(BaseModel):
    molecule: str = Field(description=MOLECULE_DESC, json_schema_extra=IDENTIFIER_FIELD)


class SimilarityArgs(BaseModel):
    molecules: list[str] = Field(
        description=MOLECULES_DESC + "; pairwise Tanimoto between them",
        min_length=1,
        max_length=50,
        json_schema_extra=IDENTIFIER_FIELD,
    )
    top_k: int = Field(default=5, ge=0, le=50, description="nearest approved drugs to list per molecule (0 = none)")


class SubstructureArgs(BaseModel):
    smarts: str = Field(
        description="SMARTS (or SMILES) substructure pattern, e.g. 'c1ccccc1C(=O)O'", json_schema_extra=IDENTIFIER_FIELD
    )
    molecules: list[str] | None = Field(
        default=None,
        description="molecules to search; omit to search all approved drugs",
        json_schema_extra=IDENTIFIER_FIELD,
    )
    max_results: int = Field(default=20, ge=1, le=200, description="how many hits to list")


class PredictArgs(BaseModel):
    molecules: list[str] = Field(
        description=MOLECULES_DESC + " (1 to 1000)", min_length=1, max_length=1000, json_schema_extra=IDENTIFIER_FIELD
    )
    endpoints: list[str] | None = Field(
        default=None,
        description="optional endpoint ids (e.g. hERG, AMES, DILI, BBB_Martins, Solubility_AqSolDB) or "
        "categories (Absorption, Distribution, Metabolism, Excretion, Toxicity, Physicochemical); "
        "default all",
    )


class CompareArgs(BaseModel):
    molecules: list[str] = Field(
        description=MOLECULES_DESC + " (2 to 20)", min_length=2, max_length=20, json_schema_extra=IDENTIFIER_FIELD
    )
    property: str = Field(
        description="property to compare: molecular_weight, exact_mass, logp, tpsa, hbd, hba, "
        "rotatable_bonds, rings, aromatic_rings, fraction_sp3, heavy_atoms, qed, "
        "or an ADMET endpoint id such as hERG or Solubility_AqSolDB"
    )


class TdcArgs(BaseModel):
    molecule: str = Field(description=MOLECULE_DESC, json_schema_extra=IDENTIFIER_FIELD)
    task: str = Field(description="TDC task name, e.g. 'ClinTox', 'Tox21 SR-p53', 'Skin_Reaction', 'HIV'")
    question: str | None = Field(
        default=None,
        description="optional question text for the predictor; a generic one is built from the task",
    )


CHEMISTRY = Toolbox[ChemistryService]()


@CHEMISTRY.tool(
    "Identify a molecule from a drug name, SMILES, InChI or InChIKey: canonical SMILES, formula, "
    "average and exact mass, InChI/InChIKey and known names. Works offline for approved drugs."
)
def identify_molecule(svc: ChemistryService, args: MoleculeArgs) -> MoleculeRecord:
    return svc.identify(args.molecule)


@CHEMISTRY.tool(
    "RDKit descriptors (MW, logP, TPSA, H-bond donors/acceptors, rotatable bonds, rings, Fsp3, charge, "
    "stereocentres, QED) and drug-likeness rules (Lipinski with violations named, Veber, Ghose)."
)
def molecule_properties(svc: ChemistryService, args: MoleculeArgs) -> PropertiesResult:
    return svc.properties(args.molecule)


@CHEMISTRY.tool("PAINS (assay interference), Brenk and NIH (reactive or toxic) substructure alerts, each named.")
def structural_alerts(svc: ChemistryService, args: MoleculeArgs) -> AlertsResult:
    return svc.alerts(args.molecule)


@CHEMISTRY.tool(
    "Tanimoto similarity (Morgan fingerprints) between the given molecules, and the nearest approved drugs to each."
)
def similarity_search(svc: ChemistryService, args: SimilarityArgs) -> SimilarityResult:
    return svc.similarity(args.molecules, args.top_k)


@CHEMISTRY.tool("Find which molecules contain a SMARTS substructure: the given molecules, or all approved drugs.")
def substructure_search(svc: ChemistryService, args: SubstructureArgs) -> SubstructureResult:
    return svc.substructure(args.smarts, args.molecules, args.max_results)


@CHEMISTRY.tool("Named functional groups present in a molecule, with counts.")
def functional_groups(svc: ChemistryService, args: MoleculeArgs) -> GroupsResult:
    return svc.groups(args.molecule)


@CHEMISTRY.tool(
    "ADMET-AI predictions for one or more molecules: absorption, distribution, metabolism (CYP), "
    "excretion and toxicity (hERG, AMES, DILI, LD50, Tox21) plus physicochemical properties, each with "
    "its percentile among approved drugs. Restrict with endpoints=[...] to keep the output short."
)
def predict_admet(svc: ChemistryService, args: PredictArgs) -> AdmetResult:
    return svc.predict(args.molecules, args.endpoints)


@CHEMISTRY.tool(
    "Compare one property across 2-20 molecules and say which is highest and lowest; use it instead "
    "of comparing numbers yourself."
)
def compare_molecules(svc: ChemistryService, args: CompareArgs) -> CompareResult:
    return svc.compare(args.molecules, args.property)


@CHEMISTRY.tool(
    "Check whether a molecule is, or closely resembles, a chemical-weapons agent or controlled precursor "
    "(CWC schedules); returns hazard and exposure-response information when it is."
)
def safety_check(svc: ChemistryService, args: MoleculeArgs) -> SafetyResult:
    return svc.safety_check(args.molecule)


@CHEMISTRY.tool(
    "Ask a TxGemma-style therapeutic model (OpenAI-compatible endpoint) about a TDC task beyond ADMET, "
    "e.g. ClinTox or HIV activity. Only works when a predictor endpoint is configured.",
    needs_network=lambda svc: svc.predictor.remote,
    unconfigured=lambda svc: None if svc.predictor.configured else "needs predictor_url and predictor_model set",
)
def predict_tdc(svc: ChemistryService, args: TdcArgs) -> TdcPrediction:
    return svc.predict_tdc(args.molecule, args.task, args.question)


def build_tools(settings: Settings, transport: httpx.BaseTransport | None = None) -> list[BaseTool]:
    """Every chemistry tool over one service built from ``settings``; ``transport`` replaces the network."""
    return CHEMISTRY.build(ChemistryService(settings, transport=transport), offline=settings.offline)
