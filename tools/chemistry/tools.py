"""The chemistry and prediction tools the model sees, built from the modules in this package.

Every tool resolves its molecules the same way (names, SMILES, InChI, InChIKey), runs the safety gate
on each structure, and returns a pydantic result whose ``render()`` is the short text a small model
reads. Results of identification, properties and predictions are registered as evidence so the final
answer can cite them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import httpx
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field
from rdkit import Chem, DataStructs
from rdkit.Chem import Descriptors, rdMolDescriptors

from txscout.core.events import SafetyFlagged
from txscout.core.evidence import Evidence
from txscout.core.settings import Settings
from txscout.core.toolkit import ToolError, current_context, txtool
from txscout.tools.chemistry import admet as admet_model
from txscout.tools.chemistry.alerts import Alert, structural_alerts
from txscout.tools.chemistry.groups import FunctionalGroup, functional_groups
from txscout.tools.chemistry.predictor import TdcPrediction, TdcPredictor
from txscout.tools.chemistry.properties import DescriptorSet, RuleResult, descriptors, rules
from txscout.tools.chemistry.pubchem import PubChemClient
from txscout.tools.chemistry.reference import fingerprint, reference_set
from txscout.tools.chemistry.resolve import Resolved, Resolver
from txscout.tools.chemistry.safety import SafetyMatch, agents, check_mol, check_name

MOLECULE_DESC = "the molecule: a drug name (e.g. 'aspirin'), SMILES, InChI or InChIKey"
MOLECULES_DESC = "molecules, each a drug name, SMILES, InChI or InChIKey"
RENDER_LIMIT = 10  # molecules shown to the model from a batch prediction; the artifact keeps them all


def _safety_text(match: SafetyMatch | None) -> str:
    return f"\n{match.render()}" if match else ""


def _ref_text(ref: int | None) -> str:
    return f" [{ref}]" if ref is not None else ""


# ----------------------------------------------------------------------------------------------- results


class MoleculeRecord(BaseModel):
    query: str
    name: str | None = None
    smiles: str
    formula: str
    average_mass: float = Field(description="g/mol")
    exact_mass: float = Field(description="monoisotopic mass, Da")
    inchi: str
    inchikey: str
    known_names: list[str] = []
    drugbank_id: str | None = None
    atc: list[str] = []
    source: str
    notes: list[str] = []
    safety: SafetyMatch | None = None
    ref: int | None = None

    def render(self) -> str:
        label = self.name or self.query
        parts = [
            f"{label}: {self.formula}, MW {self.average_mass:.2f} g/mol, exact mass {self.exact_mass:.4f} Da",
            f"SMILES {self.smiles}",
            f"InChIKey {self.inchikey}",
        ]
        if self.drugbank_id:
            parts.append(f"approved drug {self.drugbank_id}")
        if self.known_names:
            parts.append("names: " + ", ".join(self.known_names[:6]))
        parts.append(f"source: {self.source}")
        text = "; ".join(parts) + _ref_text(self.ref)
        if self.notes:
            text += "\nNote: " + "; ".join(self.notes)
        return text + _safety_text(self.safety)


class PropertiesResult(BaseModel):
    molecule: str
    smiles: str
    descriptors: DescriptorSet
    rules: list[RuleResult]
    notes: list[str] = []
    safety: SafetyMatch | None = None
    ref: int | None = None

    def render(self) -> str:
        d = self.descriptors
        text = (
            f"{self.molecule}: MW {d.molecular_weight:.2f}, logP {d.logp:.2f}, TPSA {d.tpsa:.1f}, "
            f"HBD {d.hbd}, HBA {d.hba}, rotatable bonds {d.rotatable_bonds}, rings {d.rings} "
            f"(aromatic {d.aromatic_rings}), Fsp3 {d.fraction_sp3:.2f}, heavy atoms {d.heavy_atoms}, "
            f"charge {d.formal_charge}, stereocentres {d.stereocentres}, QED {d.qed:.2f}. "
        )
        verdicts = []
        for r in self.rules:
            verdict = "pass" if r.passed else "fail"
            detail = f" ({'; '.join(r.violations)})" if r.violations else ""
            verdicts.append(f"{r.rule}: {verdict}{detail}")
        text += "; ".join(verdicts) + _ref_text(self.ref)
        if self.notes:
            text += "\nNote: " + "; ".join(self.notes)
        return text + _safety_text(self.safety)


class AlertsResult(BaseModel):
    molecule: str
    smiles: str
    alerts: list[Alert]
    counts: dict[str, int]
    notes: list[str] = []
    safety: SafetyMatch | None = None

    def render(self) -> str:
        if not self.alerts:
            text = f"{self.molecule}: no PAINS, Brenk or NIH structural alerts"
        else:
            groups = []
            for cat in ("PAINS", "Brenk", "NIH"):
                names = [a.name for a in self.alerts if a.catalogue == cat]
                if names:
                    groups.append(f"{cat}: {', '.join(names)}")
            text = f"{self.molecule}: {len(self.alerts)} alert(s) - " + "; ".join(groups)
        return text + _safety_text(self.safety)


class PairSimilarity(BaseModel):
    a: str
    b: str
    tanimoto: float


class Neighbour(BaseModel):
    name: str
    drugbank_id: str
    smiles: str
    tanimoto: float


class NeighbourList(BaseModel):
    molecule: str
    smiles: str
    nearest_approved: list[Neighbour]


class SimilarityResult(BaseModel):
    fingerprint: str = "Morgan radius 2, 2048 bits"
    pairs: list[PairSimilarity] = []
    neighbours: list[NeighbourList] = []
    safety: list[SafetyMatch] = []

    def render(self) -> str:
        lines = [f"{p.a} vs {p.b}: Tanimoto {p.tanimoto:.2f}" for p in self.pairs]
        for n in self.neighbours:
            hits = ", ".join(f"{h.name} {h.tanimoto:.2f}" for h in n.nearest_approved)
            lines.append(f"nearest approved drugs to {n.molecule}: {hits or 'none'}")
        return "\n".join(lines) + "".join(_safety_text(s) for s in self.safety)


class SubstructureHit(BaseModel):
    molecule: str
    smiles: str
    matches: int
    drugbank_id: str | None = None


class SubstructureResult(BaseModel):
    pattern: str
    searched: str
    searched_count: int
    total_hits: int
    hits: list[SubstructureHit]
    errors: list[str] = []
    safety: list[SafetyMatch] = []

    def render(self) -> str:
        head = f"SMARTS {self.pattern} matched {self.total_hits} of {self.searched_count} {self.searched}"
        body = ", ".join(f"{h.molecule} ({h.matches}x)" for h in self.hits)
        more = f" (showing {len(self.hits)})" if self.total_hits > len(self.hits) else ""
        text = f"{head}{more}" + (f": {body}" if body else "")
        if self.errors:
            text += "\nNot searched: " + "; ".join(self.errors)
        return text + "".join(_safety_text(s) for s in self.safety)


class GroupsResult(BaseModel):
    molecule: str
    smiles: str
    groups: list[FunctionalGroup]
    safety: SafetyMatch | None = None

    def render(self) -> str:
        body = ", ".join(f"{g.name} x{g.count}" for g in self.groups) or "no catalogued functional groups"
        return f"{self.molecule}: {body}" + _safety_text(self.safety)


class MoleculePrediction(BaseModel):
    input: str
    name: str | None = None
    smiles: str | None = None
    endpoints: list[admet_model.EndpointValue] = []
    notes: list[str] = []
    error: str | None = None
    safety: SafetyMatch | None = None

    def render(self) -> str:
        label = self.name or self.input
        if self.error:
            return f"{label}: not predicted - {self.error}"
        by_cat: dict[str, list[str]] = {}
        for e in self.endpoints:
            by_cat.setdefault(e.category, []).append(e.render())
        body = "; ".join(f"{cat}: {', '.join(vals)}" for cat, vals in by_cat.items())
        text = f"{label}: {body}"
        if self.notes:
            text += "\nNote: " + "; ".join(self.notes)
        return text + _safety_text(self.safety)


class AdmetResult(BaseModel):
    model: str = admet_model.MODEL_NAME
    predictions: list[MoleculePrediction]
    legend: str = (
        "probabilities are 0-1; pNN is the percentile among approved DrugBank drugs; "
        "'unreliable' marks endpoints with negative test R² in ADMET-AI's benchmark"
    )
    ref: int | None = None

    def render(self) -> str:
        shown = self.predictions[:RENDER_LIMIT]
        body = "\n".join(p.render() for p in shown)
        if len(self.predictions) > RENDER_LIMIT:
            body += f"\n... {len(self.predictions) - RENDER_LIMIT} more molecules in the structured result"
        return f"{body}\n({self.legend}){_ref_text(self.ref)}"


class CompareValue(BaseModel):
    molecule: str
    smiles: str
    value: float


class CompareResult(BaseModel):
    property: str
    unit: str
    values: list[CompareValue]
    highest: str
    lowest: str
    difference: float = Field(description="highest minus lowest")
    safety: list[SafetyMatch] = []

    def render(self) -> str:
        ranked = sorted(self.values, key=lambda v: v.value, reverse=True)
        unit = f" {self.unit}" if self.unit else ""
        listing = " > ".join(f"{v.molecule} {v.value:.3g}" for v in ranked)
        return (
            f"{self.property}{unit}: {listing}. Highest: {self.highest}; lowest: {self.lowest}; "
            f"difference {self.difference:.3g}{unit}" + "".join(_safety_text(s) for s in self.safety)
        )


class SafetyResult(BaseModel):
    molecule: str
    smiles: str | None
    flagged: bool
    match: SafetyMatch | None = None
    checked_against: int

    def render(self) -> str:
        if self.match:
            return f"{self.molecule}: FLAGGED. {self.match.render()}"
        return (
            f"{self.molecule}: not flagged (no exact match or Tanimoto >= 0.35 analogue among "
            f"{self.checked_against} controlled chemicals, CWC schedules 1-3)"
        )


# ------------------------------------------------------------------------------------------------- args


class MoleculeArgs(BaseModel):
    molecule: str = Field(description=MOLECULE_DESC)


class SimilarityArgs(BaseModel):
    molecules: list[str] = Field(
        description=MOLECULES_DESC + "; pairwise Tanimoto between them", min_length=1, max_length=50
    )
    top_k: int = Field(default=5, ge=0, le=50, description="nearest approved drugs to list per molecule (0 = none)")


class SubstructureArgs(BaseModel):
    smarts: str = Field(description="SMARTS (or SMILES) substructure pattern, e.g. 'c1ccccc1C(=O)O'")
    molecules: list[str] | None = Field(
        default=None, description="molecules to search; omit to search all approved drugs"
    )
    max_results: int = Field(default=20, ge=1, le=200, description="how many hits to list")


class PredictArgs(BaseModel):
    molecules: list[str] = Field(description=MOLECULES_DESC + " (1 to 1000)", min_length=1, max_length=1000)
    endpoints: list[str] | None = Field(
        default=None,
        description="optional endpoint ids (e.g. hERG, AMES, DILI, BBB_Martins, Solubility_AqSolDB) or "
        "categories (Absorption, Distribution, Metabolism, Excretion, Toxicity, Physicochemical); "
        "default all",
    )


class CompareArgs(BaseModel):
    molecules: list[str] = Field(description=MOLECULES_DESC + " (2 to 20)", min_length=2, max_length=20)
    property: str = Field(
        description="property to compare: molecular_weight, exact_mass, logp, tpsa, hbd, hba, "
        "rotatable_bonds, rings, aromatic_rings, fraction_sp3, heavy_atoms, qed, "
        "or an ADMET endpoint id such as hERG or Solubility_AqSolDB"
    )


class TdcArgs(BaseModel):
    molecule: str = Field(description=MOLECULE_DESC)
    task: str = Field(description="TDC task name, e.g. 'ClinTox', 'Tox21 SR-p53', 'Skin_Reaction', 'HIV'")
    question: str | None = Field(
        default=None,
        description="optional question text for the predictor; a generic one is built from the task",
    )


_DESCRIPTOR_ALIASES = {
    "mw": "molecular_weight",
    "molecular weight": "molecular_weight",
    "weight": "molecular_weight",
    "mass": "molecular_weight",
    "monoisotopic mass": "exact_mass",
    "exact mass": "exact_mass",
    "clogp": "logp",
    "psa": "tpsa",
    "polar surface area": "tpsa",
    "donors": "hbd",
    "h-bond donors": "hbd",
    "acceptors": "hba",
    "h-bond acceptors": "hba",
    "rotatable bonds": "rotatable_bonds",
    "fsp3": "fraction_sp3",
    "heavy atoms": "heavy_atoms",
    "charge": "formal_charge",
    "aromatic rings": "aromatic_rings",
}
_DESCRIPTOR_UNITS = {"molecular_weight": "g/mol", "exact_mass": "Da", "tpsa": "Å²"}


# ------------------------------------------------------------------------------------------------ service


class ChemistryService:
    """Shared state for the tools: settings, the resolver, the PubChem client and the TDC predictor."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        pubchem = PubChemClient(
            settings.pubchem_base_url,
            settings.cache_dir,
            cache=settings.http_cache,
            transport=transport,
            timeout_s=settings.tool_timeout_s,
        )
        self.resolver = Resolver(pubchem, offline=settings.offline)
        self.predictor = TdcPredictor(settings, transport=transport)

    @property
    def offline(self) -> bool:
        return self.settings.offline or current_context().offline

    def resolve(self, tool: str, query: str) -> Resolved:
        try:
            return self.resolver.resolve(query, offline=self.offline)
        except ToolError as exc:
            named = check_name(query)
            if named is not None:
                self.flag(tool, query, named)
                raise ToolError(f"{exc}\n{named.render()}") from exc
            raise

    def flag(self, tool: str, molecule: str, match: SafetyMatch) -> None:
        current_context().event(
            SafetyFlagged(
                tool=tool,
                molecule=molecule,
                matched=match.matched,
                similarity=match.similarity,
                category=match.category,
            )
        )

    def safety(self, tool: str, resolved: Resolved) -> SafetyMatch | None:
        full = Chem.MolFromSmiles(resolved.parsed.full_smiles) if resolved.parsed.full_smiles else None
        match = check_mol(full if full is not None else resolved.parsed.mol) or check_name(resolved.parsed.input)
        if match is not None:
            self.flag(tool, resolved.smiles, match)
        return match

    def cite(self, tool: str, text: str, title: str) -> int | None:
        return current_context().evidence(Evidence(text=text, source_kind="tool", tool=tool, title=title))

    def resolve_many(
        self, tool: str, queries: list[str]
    ) -> tuple[list[tuple[str, Resolved]], list[str], list[SafetyMatch]]:
        """Resolve a batch; bad entries become error strings instead of failing the whole call."""
        ok: list[tuple[str, Resolved]] = []
        errors: list[str] = []
        flags: list[SafetyMatch] = []
        for q in queries:
            try:
                r = self.resolve(tool, q)
            except ToolError as exc:
                errors.append(f"{q[:60]}: {exc}")
                continue
            match = self.safety(tool, r)
            if match is not None and match not in flags:
                flags.append(match)
            ok.append((q, r))
        return ok, errors, flags

    # --------------------------------------------------------------------------------------- operations

    def identify(self, query: str) -> MoleculeRecord:
        r = self.resolve("identify_molecule", query)
        mol = r.parsed.mol
        first = r.drugbank[0] if r.drugbank else None
        record = MoleculeRecord(
            query=query,
            name=r.name,
            smiles=r.smiles,
            formula=rdMolDescriptors.CalcMolFormula(mol),
            average_mass=round(Descriptors.MolWt(mol), 3),
            exact_mass=round(Descriptors.ExactMolWt(mol), 4),
            inchi=Chem.MolToInchi(mol) or "",
            inchikey=Chem.MolToInchiKey(mol) or "",
            known_names=r.known_names,
            drugbank_id=first.drugbank_id if first else None,
            atc=first.atc if first else [],
            source=r.source,
            notes=r.parsed.notes,
            safety=self.safety("identify_molecule", r),
        )
        record.ref = self.cite("identify_molecule", record.render(), f"Identity of {r.label}")
        return record

    def properties(self, query: str) -> PropertiesResult:
        r = self.resolve("molecule_properties", query)
        d = descriptors(r.parsed.mol)
        result = PropertiesResult(
            molecule=r.label,
            smiles=r.smiles,
            descriptors=d,
            rules=rules(r.parsed.mol, d),
            notes=r.parsed.notes,
            safety=self.safety("molecule_properties", r),
        )
        result.ref = self.cite("molecule_properties", result.render(), f"RDKit properties of {r.label}")
        return result

    def alerts(self, query: str) -> AlertsResult:
        r = self.resolve("structural_alerts", query)
        found = structural_alerts(r.parsed.mol)
        counts = {cat: sum(a.catalogue == cat for a in found) for cat in ("PAINS", "Brenk", "NIH")}
        return AlertsResult(
            molecule=r.label,
            smiles=r.smiles,
            alerts=found,
            counts=counts,
            notes=r.parsed.notes,
            safety=self.safety("structural_alerts", r),
        )

    def groups(self, query: str) -> GroupsResult:
        r = self.resolve("functional_groups", query)
        return GroupsResult(
            molecule=r.label,
            smiles=r.smiles,
            groups=functional_groups(r.parsed.mol),
            safety=self.safety("functional_groups", r),
        )

    def similarity(self, args: SimilarityArgs) -> SimilarityResult:
        ok, errors, flags = self.resolve_many("similarity_search", args.molecules)
        if errors:
            raise ToolError("; ".join(errors))
        fps = [fingerprint(r.parsed.mol) for _, r in ok]
        pairs = [
            PairSimilarity(
                a=ok[i][1].label,
                b=ok[j][1].label,
                tanimoto=round(DataStructs.TanimotoSimilarity(fps[i], fps[j]), 3),
            )
            for i in range(len(ok))
            for j in range(i + 1, len(ok))
        ]
        neighbours = []
        if args.top_k:
            ref = reference_set()
            for (_, r), fp in zip(ok, fps, strict=True):
                sims = DataStructs.BulkTanimotoSimilarity(fp, ref.fingerprints)
                order = sorted(range(len(sims)), key=lambda k: sims[k], reverse=True)[: args.top_k]
                hits = [
                    Neighbour(
                        name=ref.entries[ref.indices[k]].name,
                        drugbank_id=ref.entries[ref.indices[k]].drugbank_id,
                        smiles=ref.entries[ref.indices[k]].smiles,
                        tanimoto=round(sims[k], 3),
                    )
                    for k in order
                ]
                neighbours.append(NeighbourList(molecule=r.label, smiles=r.smiles, nearest_approved=hits))
        return SimilarityResult(pairs=pairs, neighbours=neighbours, safety=flags)

    def substructure(self, args: SubstructureArgs) -> SubstructureResult:
        pattern_text = args.smarts.strip()
        if not pattern_text:
            raise ToolError("empty SMARTS pattern")
        if len(pattern_text) > 1000:
            raise ToolError(f"SMARTS is {len(pattern_text):,} characters; the limit is 1,000")
        pattern = Chem.MolFromSmarts(pattern_text)
        if pattern is None:
            raise ToolError(f"invalid SMARTS '{pattern_text[:80]}'")
        hits: list[SubstructureHit] = []
        if args.molecules:
            ok, errors, flags = self.resolve_many("substructure_search", args.molecules)
            for _, r in ok:
                n = len(r.parsed.mol.GetSubstructMatches(pattern))
                if n:
                    hits.append(SubstructureHit(molecule=r.label, smiles=r.smiles, matches=n))
            searched, count = "given molecules", len(args.molecules)
        else:
            ref = reference_set()
            errors, flags = [], []
            for mol, idx in zip(ref.mols, ref.indices, strict=True):
                n = len(mol.GetSubstructMatches(pattern))
                if n:
                    entry = ref.entries[idx]
                    hits.append(
                        SubstructureHit(
                            molecule=entry.name, smiles=entry.smiles, matches=n, drugbank_id=entry.drugbank_id
                        )
                    )
            searched, count = "approved drugs", len(ref.mols)
        return SubstructureResult(
            pattern=pattern_text,
            searched=searched,
            searched_count=count,
            total_hits=len(hits),
            hits=hits[: args.max_results],
            errors=errors,
            safety=flags,
        )

    def predict(self, args: PredictArgs) -> AdmetResult:
        try:
            endpoints = admet_model.select_endpoints(args.endpoints)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        predictions: list[MoleculePrediction] = []
        wanted: list[str] = []
        for q in args.molecules:
            try:
                r = self.resolve("predict_admet", q)
            except ToolError as exc:
                predictions.append(MoleculePrediction(input=q[:200], error=str(exc)))
                continue
            predictions.append(
                MoleculePrediction(
                    input=q[:200],
                    name=r.name,
                    smiles=r.smiles,
                    notes=r.parsed.notes,
                    safety=self.safety("predict_admet", r),
                )
            )
            wanted.append(r.smiles)
        if not wanted:
            raise ToolError("no valid molecules to predict: " + "; ".join(p.error or "" for p in predictions))
        try:
            raw = admet_model.predict(wanted)
        except Exception as exc:  # a broken model install must not crash the agent
            raise ToolError(f"ADMET-AI failed: {exc.__class__.__name__}: {exc}") from exc
        for p in predictions:
            if p.smiles is None:
                continue
            if p.smiles not in raw:
                p.error = "ADMET-AI could not featurise this structure"
                continue
            p.endpoints = admet_model.endpoint_values(raw[p.smiles], endpoints)
        result = AdmetResult(predictions=predictions)
        labels = ", ".join((p.name or p.input)[:40] for p in predictions[:5])
        result.ref = self.cite("predict_admet", result.render(), f"ADMET-AI predictions for {labels}")
        return result

    def compare(self, args: CompareArgs) -> CompareResult:
        key = args.property.strip().lower().replace("-", " ") if args.property else ""
        key = _DESCRIPTOR_ALIASES.get(key, key.replace(" ", "_"))
        ok, errors, flags = self.resolve_many("compare_molecules", args.molecules)
        if errors:
            raise ToolError("; ".join(errors))
        values: list[CompareValue]
        if key in DescriptorSet.model_fields:
            values = [
                CompareValue(molecule=r.label, smiles=r.smiles, value=float(getattr(descriptors(r.parsed.mol), key)))
                for _, r in ok
            ]
            label, unit = key, _DESCRIPTOR_UNITS.get(key, "")
        else:
            try:
                (endpoint,) = admet_model.select_endpoints([args.property])
            except ValueError as exc:
                raise ToolError(
                    f"unknown property '{args.property}'. "
                    f"Descriptors: {', '.join(DescriptorSet.model_fields)}; "
                    "or an ADMET endpoint id such as hERG, AMES, BBB_Martins, Solubility_AqSolDB"
                ) from exc
            raw = admet_model.predict([r.smiles for _, r in ok])
            values = [
                CompareValue(molecule=r.label, smiles=r.smiles, value=round(float(raw[r.smiles][endpoint.id]), 4))
                for _, r in ok
                if r.smiles in raw
            ]
            label, unit = (
                f"{endpoint.id} (ADMET-AI prediction)",
                "" if endpoint.unit in ("-", "#") else endpoint.unit,
            )
        if len(values) < 2:
            raise ToolError("fewer than two molecules could be evaluated")
        high = max(values, key=lambda v: v.value)
        low = min(values, key=lambda v: v.value)
        return CompareResult(
            property=label,
            unit=unit,
            values=values,
            highest=high.molecule,
            lowest=low.molecule,
            difference=round(high.value - low.value, 4),
            safety=flags,
        )

    def safety_check(self, query: str) -> SafetyResult:
        try:
            r = self.resolve("safety_check", query)
        except ToolError:
            named = check_name(query)
            if named is None:
                raise
            return SafetyResult(molecule=query, smiles=None, flagged=True, match=named, checked_against=len(agents()))
        match = self.safety("safety_check", r)
        return SafetyResult(
            molecule=r.label,
            smiles=r.smiles,
            flagged=match is not None,
            match=match,
            checked_against=len(agents()),
        )

    def predict_tdc(self, args: TdcArgs) -> TdcPrediction:
        r = self.resolve("predict_tdc", args.molecule)
        match = self.safety("predict_tdc", r)
        result = self.predictor.predict(r.smiles, args.task, args.question, offline=self.offline)
        result.molecule = r.label
        result.safety = match
        return result


# --------------------------------------------------------------------------------------------- the tools

T = TypeVar("T")
R = TypeVar("R")


def _guarded(name: str, fn: Callable[[T], R]) -> Callable[[T], R]:
    """Turn an unexpected failure (an RDKit edge case, a broken install) into a ToolError.

    The txtool wrapper only handles ToolError, and an exception escaping a tool would end the run.
    """

    @functools.wraps(fn)
    def run(args: T) -> R:
        try:
            return fn(args)
        except ToolError:
            raise
        except Exception as exc:
            raise ToolError(f"{name} failed on this input ({exc.__class__.__name__}: {str(exc)[:200]})") from exc

    return run


def build_tools(settings: Settings, transport: httpx.BaseTransport | None = None) -> list[BaseTool]:
    svc = ChemistryService(settings, transport=transport)
    identify = _guarded("identify_molecule", svc.identify)
    properties = _guarded("molecule_properties", svc.properties)
    alerts = _guarded("structural_alerts", svc.alerts)
    groups = _guarded("functional_groups", svc.groups)
    similarity = _guarded("similarity_search", svc.similarity)
    substructure = _guarded("substructure_search", svc.substructure)
    predict = _guarded("predict_admet", svc.predict)
    compare = _guarded("compare_molecules", svc.compare)
    safety = _guarded("safety_check", svc.safety_check)
    tdc = _guarded("predict_tdc", svc.predict_tdc)

    @txtool(
        "identify_molecule",
        MoleculeArgs,
        "Identify a molecule from a drug name, SMILES, InChI or InChIKey: canonical SMILES, formula, "
        "average and exact mass, InChI/InChIKey and known names. Works offline for approved drugs.",
    )
    def identify_molecule(args: MoleculeArgs) -> MoleculeRecord:
        return identify(args.molecule)

    @txtool(
        "molecule_properties",
        MoleculeArgs,
        "RDKit descriptors (MW, logP, TPSA, H-bond donors/acceptors, rotatable bonds, rings, Fsp3, charge, "
        "stereocentres, QED) and drug-likeness rules (Lipinski with violations named, Veber, Ghose).",
    )
    def molecule_properties(args: MoleculeArgs) -> PropertiesResult:
        return properties(args.molecule)

    @txtool(
        "structural_alerts",
        MoleculeArgs,
        "PAINS (assay interference), Brenk and NIH (reactive or toxic) substructure alerts, each named.",
    )
    def structural_alerts_tool(args: MoleculeArgs) -> AlertsResult:
        return alerts(args.molecule)

    @txtool(
        "similarity_search",
        SimilarityArgs,
        "Tanimoto similarity (Morgan fingerprints) between the given molecules, and the nearest approved "
        "drugs to each.",
    )
    def similarity_search(args: SimilarityArgs) -> SimilarityResult:
        return similarity(args)

    @txtool(
        "substructure_search",
        SubstructureArgs,
        "Find which molecules contain a SMARTS substructure: the given molecules, or all approved drugs.",
    )
    def substructure_search(args: SubstructureArgs) -> SubstructureResult:
        return substructure(args)

    @txtool("functional_groups", MoleculeArgs, "Named functional groups present in a molecule, with counts.")
    def functional_groups_tool(args: MoleculeArgs) -> GroupsResult:
        return groups(args.molecule)

    @txtool(
        "predict_admet",
        PredictArgs,
        "ADMET-AI predictions for one or more molecules: absorption, distribution, metabolism (CYP), "
        "excretion and toxicity (hERG, AMES, DILI, LD50, Tox21) plus physicochemical properties, each with "
        "its percentile among approved drugs. Restrict with endpoints=[...] to keep the output short.",
    )
    def predict_admet(args: PredictArgs) -> AdmetResult:
        return predict(args)

    @txtool(
        "compare_molecules",
        CompareArgs,
        "Compare one property across 2-20 molecules and say which is highest and lowest; use it instead "
        "of comparing numbers yourself.",
    )
    def compare_molecules(args: CompareArgs) -> CompareResult:
        return compare(args)

    @txtool(
        "safety_check",
        MoleculeArgs,
        "Check whether a molecule is, or closely resembles, a chemical-weapons agent or controlled precursor "
        "(CWC schedules); returns hazard and exposure-response information when it is.",
    )
    def safety_check(args: MoleculeArgs) -> SafetyResult:
        return safety(args.molecule)

    @txtool(
        "predict_tdc",
        TdcArgs,
        "Ask a TxGemma-style therapeutic model (OpenAI-compatible endpoint) about a TDC task beyond ADMET, "
        "e.g. ClinTox or HIV activity. Only works when a predictor endpoint is configured.",
    )
    def predict_tdc(args: TdcArgs) -> TdcPrediction:
        return tdc(args)

    return [
        identify_molecule,
        molecule_properties,
        structural_alerts_tool,
        similarity_search,
        substructure_search,
        functional_groups_tool,
        predict_admet,
        compare_molecules,
        safety_check,
        predict_tdc,
    ]
