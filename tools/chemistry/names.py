"""Offline name resolution from the DrugBank approved-drug table shipped inside ``admet-ai``.

The table gives one name per drug, so a small hand-checked synonym file adds the everyday names that
differ across pharmacopoeias (aspirin, paracetamol, adrenaline, ...). Salt names such as
"metformin hydrochloride" resolve to the parent drug by dropping counter-ion words, because the table
stores parent structures and users routinely type the salt from a label.
"""

from __future__ import annotations

import csv
import difflib
import importlib.util
import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pydantic import BaseModel

_DATA = Path(__file__).with_name("data")

# Counter-ions and hydrate words that appear in salt names ("imatinib mesylate", "sodium valproate").
SALT_WORDS = frozenset(
    [
        "hydrochloride",
        "dihydrochloride",
        "trihydrochloride",
        "hydrobromide",
        "hydroiodide",
        "hcl",
        "hbr",
        "sodium",
        "disodium",
        "potassium",
        "dipotassium",
        "calcium",
        "magnesium",
        "lithium",
        "zinc",
        "aluminium",
        "aluminum",
        "ammonium",
        "meglumine",
        "tromethamine",
        "trometamol",
        "lysine",
        "arginine",
        "mesylate",
        "mesilate",
        "dimesylate",
        "besylate",
        "besilate",
        "tosylate",
        "tosilate",
        "maleate",
        "dimaleate",
        "fumarate",
        "hemifumarate",
        "succinate",
        "hemisuccinate",
        "tartrate",
        "bitartrate",
        "hemitartrate",
        "citrate",
        "dihydrogen",
        "phosphate",
        "diphosphate",
        "sulfate",
        "sulphate",
        "bisulfate",
        "hydrogen",
        "sulfate",
        "acetate",
        "nitrate",
        "lactate",
        "gluconate",
        "oxalate",
        "benzoate",
        "salicylate",
        "stearate",
        "palmitate",
        "pamoate",
        "embonate",
        "napadisilate",
        "edisylate",
        "esylate",
        "camsylate",
        "xinafoate",
        "bromide",
        "chloride",
        "iodide",
        "monohydrate",
        "dihydrate",
        "trihydrate",
        "sesquihydrate",
        "hemihydrate",
        "hydrate",
        "anhydrous",
        "salt",
        "free",
        "base",
    ]
)

# Names that are ordinary English or generic-chemistry words; linking them in a question is noise.
_COMMON_WORDS = frozenset(
    [
        "water",
        "oxygen",
        "nitrogen",
        "helium",
        "neon",
        "iron",
        "zinc",
        "copper",
        "silver",
        "gold",
        "boron",
        "calcium",
        "chlorine",
        "cobalt",
        "chromium",
        "iodine",
        "iodide",
        "nitrite",
        "silicon",
        "selenium",
        "vanadium",
        "rubidium",
        "talc",
        "kava",
        "kaolin",
        "lactose",
        "sucrose",
        "fructose",
        "glucose",
        "dextrose",
        "glycerin",
        "alcohol",
        "ethanol",
        "urea",
        "phenol",
        "sulfur",
        "carbon",
        "magnesium",
        "potassium",
        "sodium",
        "lithium",
        "fluoride",
        "chloride",
        "bromide",
        "acetate",
        "citrate",
        "nadh",
        "menthol",
        "camphor",
        "charcoal",
        "salt",
        "sugar",
    ]
)


class DrugEntry(BaseModel):
    """One approved drug from the DrugBank table."""

    name: str
    drugbank_id: str
    smiles: str
    atc: list[str] = []


@dataclass
class NameIndex:
    """Case-insensitive lookups over approved-drug names and synonyms."""

    entries: list[DrugEntry]
    by_name: dict[str, int] = field(default_factory=dict)
    synonyms: dict[str, list[str]] = field(default_factory=dict)

    def lookup(self, name: str) -> DrugEntry | None:
        """Exact (case- and space-insensitive) match on a name or synonym."""
        idx = self.by_name.get(normalise(name))
        return None if idx is None else self.entries[idx]

    def lookup_salt(self, name: str) -> tuple[DrugEntry, list[str]] | None:
        """Match a salt or hydrate name by dropping counter-ion words; returns parent and dropped words."""
        words = normalise(name).split()
        kept = [w for w in words if w not in SALT_WORDS]
        dropped = [w for w in words if w in SALT_WORDS]
        if not dropped or not kept:
            return None
        entry = self.lookup(" ".join(kept))
        if entry is None and kept[-1].endswith("ate"):  # "sodium valproate" -> "valproic acid"
            entry = self.lookup(" ".join([*kept[:-1], kept[-1][:-3] + "ic acid"]))
        return None if entry is None else (entry, dropped)

    def suggest(self, name: str, limit: int = 5) -> list[str]:
        """Close spellings, so a typo gets a useful answer instead of a bare "not found"."""
        key = normalise(name)
        hits = difflib.get_close_matches(key, self.by_name.keys(), n=limit * 2, cutoff=0.75)
        out: list[str] = []
        for hit in hits:
            label = self.entries[self.by_name[hit]].name
            if label not in out:
                out.append(label)
        return out[:limit]

    def names_for(self, entry: DrugEntry) -> list[str]:
        return [entry.name, *self.synonyms.get(entry.name, [])]

    def linkable_names(self) -> dict[str, int]:
        """Names safe to spot in free text: long enough and not common words."""
        return {k: v for k, v in self.by_name.items() if len(k) > 3 and k not in _COMMON_WORDS}


def normalise(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower())


def drugbank_path() -> Path:
    """Located without importing ``admet_ai``, whose import pulls in torch and takes seconds."""
    spec = importlib.util.find_spec("admet_ai")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("admet-ai is not installed; it ships the DrugBank approved-drug table")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "data" / "drugbank_approved.csv"


_LOCK = threading.Lock()


@cache
def _build() -> NameIndex:
    entries: list[DrugEntry] = []
    with drugbank_path().open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            atc = [c for c in (row.get("atc") or "").split(";") if c]
            entries.append(DrugEntry(name=row["name"], drugbank_id=row["id"], smiles=row["smiles"], atc=atc))
    index = NameIndex(entries=entries)
    for i, entry in enumerate(entries):
        index.by_name.setdefault(normalise(entry.name), i)
    synonyms: dict[str, list[str]] = json.loads((_DATA / "synonyms.json").read_text(encoding="utf-8"))
    for drug, aliases in synonyms.items():
        target = index.by_name.get(normalise(drug))
        if target is None:
            continue
        index.synonyms[entries[target].name] = aliases
        for alias in aliases:
            index.by_name.setdefault(normalise(alias), target)
    return index


def name_index() -> NameIndex:
    """The process-wide index, built on first use (about 30 ms)."""
    with _LOCK:
        return _build()
