"""One entry point from whatever the user typed (name, SMILES, InChI, InChIKey) to a structure.

Order matters: an exact drug name wins over SMILES (a few names such as "BBB" happen to parse), then
structures, then salt names, then PubChem when the network is allowed. Unknown names fail with close
spellings from the offline table, so a typo costs one step rather than a dead end. A structure over
the size limit is an answer in itself: it is never retried as a name, so it never reaches PubChem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from txscout.core.toolkit import ToolError
from txscout.tools.chemistry import molecules
from txscout.tools.chemistry.molecules import INCHIKEY_RE, Parsed, TooLarge
from txscout.tools.chemistry.names import DrugEntry, name_index
from txscout.tools.chemistry.pubchem import PubChemClient
from txscout.tools.chemistry.reference import reference_set
from txscout.tools.chemistry.safety import agent_by_inchikey, agent_name, agent_smiles


@dataclass
class Resolved:
    parsed: Parsed
    name: str | None = None
    drugbank: list[DrugEntry] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    source: str = "input structure"

    @property
    def smiles(self) -> str:
        return self.parsed.smiles

    @property
    def label(self) -> str:
        return self.name or self.parsed.smiles

    @property
    def known_names(self) -> list[str]:
        names: list[str] = []
        index = name_index()
        for entry in self.drugbank:
            names.extend(index.names_for(entry))
        names.extend(self.synonyms)
        out: list[str] = []
        for n in names:
            if n and n.lower() not in (o.lower() for o in out):
                out.append(n)
        return out[:12]


class Resolver:
    def __init__(self, pubchem: PubChemClient | None, offline: bool) -> None:
        self.pubchem = pubchem
        self.offline = offline

    def resolve(self, query: str, *, offline: bool | None = None) -> Resolved:
        text = molecules.check_input(query)
        offline = self.offline if offline is None else offline
        if text.startswith("InChI="):
            return self._with_names(molecules.parse_inchi(text), source="input InChI")
        if INCHIKEY_RE.match(text):
            return self._by_inchikey(text, offline)
        entry = name_index().lookup(text)
        if entry is not None:
            return self._from_entry(entry, text, "DrugBank approved drugs (offline)")
        controlled = agent_smiles(text)
        if controlled is not None:
            resolved = self._with_names(molecules.parse_smiles(controlled), source="controlled-chemicals list")
            resolved.name = text
            return resolved
        not_smiles = ""
        if molecules.looks_like_smiles(text):
            try:
                return self._with_names(molecules.parse_smiles(text), source="input structure")
            except TooLarge:
                raise
            except ToolError as exc:
                if any(ch in text for ch in "=#()[]@/\\0123456789"):  # clearly meant as SMILES
                    raise
                not_smiles = f" Read as SMILES it is invalid: {str(exc).split(': ', 1)[-1]}."
        salt = name_index().lookup_salt(text)
        if salt is not None:
            parent, dropped = salt
            resolved = self._from_entry(parent, text, "DrugBank approved drugs (offline)")
            resolved.parsed.notes.append(
                f"'{text}' is a salt or hydrate form ({', '.join(dropped)}); results are for the parent {parent.name}"
            )
            return resolved
        return self._online(text, offline, by="name", hint=not_smiles)

    def _from_entry(self, entry: DrugEntry, query: str, source: str) -> Resolved:
        parsed = molecules.parse_smiles(entry.smiles)
        parsed.input = query
        resolved = self._with_names(parsed, source=source)
        resolved.name = entry.name if entry.name.lower() == query.lower() else f"{query} ({entry.name})"
        if entry not in resolved.drugbank:
            resolved.drugbank.insert(0, entry)
        return resolved

    def _with_names(self, parsed: Parsed, source: str) -> Resolved:
        matches = reference_set().same_structure(parsed.mol)
        name = matches[0].name if matches else agent_name(parsed.mol)
        return Resolved(parsed=parsed, name=name, drugbank=matches, source=source)

    def _by_inchikey(self, key: str, offline: bool) -> Resolved:
        controlled = agent_by_inchikey(key)
        if controlled is not None:
            resolved = self._with_names(molecules.parse_smiles(controlled[1]), source="controlled-chemicals list")
            resolved.name = controlled[0]
            return resolved
        ref = reference_set()
        exact, skeleton = ref.by_inchikey(key)
        if exact is not None:
            return self._from_entry(exact, exact.name, "DrugBank approved drugs (offline)")
        if not offline and self.pubchem is not None:
            return self._online(key, offline, by="inchikey")
        if skeleton is not None:
            resolved = self._from_entry(skeleton, skeleton.name, "DrugBank approved drugs (offline)")
            resolved.parsed.notes.append(
                f"InChIKey {key} matches {skeleton.name} in connectivity only (stereo or charge layer differs)"
            )
            return resolved
        return self._online(key, offline, by="inchikey")

    def _online(self, query: str, offline: bool, by: str, hint: str = "") -> Resolved:
        suggestions = name_index().suggest(query) if by == "name" else []
        hint += f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        what = "name" if by == "name" else "InChIKey"
        if offline or self.pubchem is None:
            raise ToolError(
                f"unknown {what} '{query[:80]}': not in the offline approved-drug table "
                "and the network is off."
                f"{hint} A SMILES string always works offline."
            )
        hit = self.pubchem.by_name(query) if by == "name" else self.pubchem.by_inchikey(query)
        if hit is None:
            raise ToolError(f"unknown {what} '{query[:80]}': not in the approved-drug table nor PubChem.{hint}")
        parsed = molecules.parse_smiles(hit.smiles)
        parsed.input = query
        resolved = self._with_names(parsed, source=f"PubChem CID {hit.cid}")
        resolved.name = resolved.name or hit.title or query
        resolved.synonyms = hit.synonyms
        return resolved
