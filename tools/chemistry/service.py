"""The chemistry service: one resolver, PubChem client and TDC predictor shared by every chemistry tool.

Every operation resolves its molecules the same way (names, SMILES, InChI, InChIKey), runs the safety
gate on each structure, and registers identification, properties and predictions as evidence so the
final answer can cite them. Whether the network may be used is asked of the tool context on every call.
"""

from __future__ import annotations

import httpx
from rdkit import Chem, DataStructs
from rdkit.Chem import Descriptors, rdMolDescriptors

from txscout.core.events import SafetyFlagged
from txscout.core.evidence import Evidence
from txscout.core.settings import Settings
from txscout.core.toolkit import ToolError, current_context
from txscout.tools.chemistry import admet as admet_model
from txscout.tools.chemistry.alerts import structural_alerts
from txscout.tools.chemistry.groups import functional_groups
from txscout.tools.chemistry.predictor import TdcPrediction, TdcPredictor
from txscout.tools.chemistry.properties import DescriptorSet, descriptors, rules
from txscout.tools.chemistry.pubchem import PubChemClient
from txscout.tools.chemistry.reference import fingerprint, reference_set
from txscout.tools.chemistry.resolve import Resolved, Resolver
from txscout.tools.chemistry.results import (
    AdmetResult,
    AlertsResult,
    CompareResult,
    CompareValue,
    GroupsResult,
    MoleculePrediction,
    MoleculeRecord,
    Neighbour,
    NeighbourList,
    PairSimilarity,
    PropertiesResult,
    SafetyResult,
    SimilarityResult,
    SubstructureHit,
    SubstructureResult,
)
from txscout.tools.chemistry.safety import SafetyMatch, agents, check_mol, check_name

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
        """Asked of the tool context, the one owner of the network switch (see ``core.toolkit``)."""
        return current_context().offline

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
        result = AlertsResult(
            molecule=r.label,
            smiles=r.smiles,
            alerts=found,
            counts=counts,
            notes=r.parsed.notes,
            safety=self.safety("structural_alerts", r),
        )
        result.ref = self.cite("structural_alerts", result.render(), f"Structural alerts (RDKit) of {r.label}")
        return result

    def groups(self, query: str) -> GroupsResult:
        r = self.resolve("functional_groups", query)
        result = GroupsResult(
            molecule=r.label,
            smiles=r.smiles,
            groups=functional_groups(r.parsed.mol),
            safety=self.safety("functional_groups", r),
        )
        result.ref = self.cite("functional_groups", result.render(), f"Functional groups (RDKit) of {r.label}")
        return result

    def similarity(self, molecules: list[str], top_k: int) -> SimilarityResult:
        ok, errors, flags = self.resolve_many("similarity_search", molecules)
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
        if top_k:
            ref = reference_set()
            for (_, r), fp in zip(ok, fps, strict=True):
                sims = DataStructs.BulkTanimotoSimilarity(fp, ref.fingerprints)
                order = sorted(range(len(sims)), key=lambda k: sims[k], reverse=True)[:top_k]
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

    def substructure(self, smarts: str, molecules: list[str] | None, max_results: int) -> SubstructureResult:
        pattern_text = smarts.strip()
        if not pattern_text:
            raise ToolError("empty SMARTS pattern")
        if len(pattern_text) > 1000:
            raise ToolError(f"SMARTS is {len(pattern_text):,} characters; the limit is 1,000")
        pattern = Chem.MolFromSmarts(pattern_text)
        if pattern is None:
            raise ToolError(f"invalid SMARTS '{pattern_text[:80]}'")
        hits: list[SubstructureHit] = []
        if molecules:
            ok, errors, flags = self.resolve_many("substructure_search", molecules)
            for _, r in ok:
                n = len(r.parsed.mol.GetSubstructMatches(pattern))
                if n:
                    hits.append(SubstructureHit(molecule=r.label, smiles=r.smiles, matches=n))
            searched, count = "given molecules", len(molecules)
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
            hits=hits[:max_results],
            errors=errors,
            safety=flags,
        )

    def predict(self, molecules: list[str], endpoints: list[str] | None) -> AdmetResult:
        try:
            selected = admet_model.select_endpoints(endpoints)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        predictions: list[MoleculePrediction] = []
        wanted: list[str] = []
        for q in molecules:
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
            p.endpoints = admet_model.endpoint_values(raw[p.smiles], selected)
        result = AdmetResult(predictions=predictions)
        labels = ", ".join((p.name or p.input)[:40] for p in predictions[:5])
        result.ref = self.cite("predict_admet", result.render(), f"ADMET-AI predictions for {labels}")
        return result

    def compare(self, molecules: list[str], prop: str) -> CompareResult:
        key = prop.strip().lower().replace("-", " ") if prop else ""
        key = _DESCRIPTOR_ALIASES.get(key, key.replace(" ", "_"))
        ok, errors, flags = self.resolve_many("compare_molecules", molecules)
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
                (endpoint,) = admet_model.select_endpoints([prop])
            except ValueError as exc:
                raise ToolError(
                    f"unknown property '{prop}'. "
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

    def predict_tdc(self, molecule: str, task: str, question: str | None) -> TdcPrediction:
        r = self.resolve("predict_tdc", molecule)
        match = self.safety("predict_tdc", r)
        result = self.predictor.predict(r.smiles, task, question, offline=self.offline)
        result.molecule = r.label
        result.safety = match
        return result
