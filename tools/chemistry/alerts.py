"""Structural alerts from RDKit's FilterCatalog: PAINS (assay interference), Brenk and NIH (reactive)."""

from __future__ import annotations

import threading
from functools import cache

from pydantic import BaseModel
from rdkit import Chem
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

_CATALOGUES = {
    "PAINS": FilterCatalogParams.FilterCatalogs.PAINS,
    "Brenk": FilterCatalogParams.FilterCatalogs.BRENK,
    "NIH": FilterCatalogParams.FilterCatalogs.NIH,
}


class Alert(BaseModel):
    catalogue: str
    name: str
    atoms: list[int]


_LOCK = threading.Lock()


@cache
def _catalogue() -> FilterCatalog:
    params = FilterCatalogParams()
    for cat in _CATALOGUES.values():
        params.AddCatalog(cat)
    return FilterCatalog(params)


def structural_alerts(mol: Chem.Mol) -> list[Alert]:
    with _LOCK:
        catalogue = _catalogue()
    alerts: list[Alert] = []
    for entry in catalogue.GetMatches(mol):
        filter_set = entry.GetProp("FilterSet")
        source = "PAINS" if filter_set.startswith("PAINS") else filter_set
        atoms = sorted({pair[1] for match in entry.GetFilterMatches(mol) for pair in match.atomPairs})
        alerts.append(Alert(catalogue=source, name=entry.GetDescription(), atoms=atoms))
    return alerts
