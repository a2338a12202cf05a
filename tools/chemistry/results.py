"""What the chemistry tools return: pydantic results whose ``render()`` is the short text a small model reads.

The full result is the tool's artifact (``txscout tools call --json``, critique, grounding), so fields
stay structured here and only ``render()`` decides what the model sees.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from txscout.tools.chemistry import admet as admet_model
from txscout.tools.chemistry.alerts import Alert
from txscout.tools.chemistry.groups import FunctionalGroup
from txscout.tools.chemistry.properties import DescriptorSet, RuleResult
from txscout.tools.chemistry.safety import SafetyMatch

RENDER_LIMIT = 10  # molecules shown to the model from a batch prediction; the artifact keeps them all


def _safety_text(match: SafetyMatch | None) -> str:
    return f"\n{match.render()}" if match else ""


def _ref_text(ref: int | None) -> str:
    return f" [{ref}]" if ref is not None else ""


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
    ref: int | None = None

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
        return text + _ref_text(self.ref) + _safety_text(self.safety)


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
    ref: int | None = None

    def render(self) -> str:
        body = ", ".join(f"{g.name} x{g.count}" for g in self.groups) or "no catalogued functional groups"
        return f"{self.molecule}: {body}" + _ref_text(self.ref) + _safety_text(self.safety)


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
        "probabilities are 0-1; pct NN is the percentile among approved DrugBank drugs; "
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
