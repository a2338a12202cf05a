"""ADMET-AI predictions: 41 TDC ADMET endpoints plus physicochemical properties, with DrugBank percentiles.

The model is loaded once per process on first use (several seconds), shared by every caller and kept;
``warm_up`` loads it in the background so the first question does not wait. Loading runs with output
captured and logging quietened: ADMET-AI and Lightning print progress bars, tips and warnings that
would corrupt ``--json`` output and the TUI.

Predictions do not go through ``ADMETModel.predict``: per call it builds a Lightning ``Trainer`` for
each ensemble and featurises every molecule once per model (ten times), which costs about 0.2 s for a
single molecule and most of a batch's time. ``predict`` featurises once, runs every model of both
ensembles on the same batches in plain ``torch.inference_mode`` and ranks against DrugBank with one
vectorised call per column; the values are the same as ADMET-AI's own (tests/test_admet.py).
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from txscout.core.toolkit import current_context

MODEL_NAME = "ADMET-AI 2.0 (Chemprop-RDKit ensembles trained on TDC)"
PERCENTILE_SUFFIX = "_drugbank_approved_percentile"
_NOISY_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    "lightning_fabric",
)
_MEANINGS = Path(__file__).with_name("data") / "admet_meanings.json"
# Units as the model should read them: counts and probabilities need none, "# of 4" reads as "/4".
_DISPLAY_UNITS = {
    "-": "",
    "#": "",
    "": "",
    "probability": "",
    "log-ratio": "",
    "# of 4": "/4",
    "Dalton": " Da",
    "Å^2": " Å²",
}


class EndpointInfo(BaseModel):
    id: str
    name: str
    category: str
    unit: str
    kind: str
    meaning: str
    test_metric: str = ""
    unreliable: bool = False


class EndpointValue(BaseModel):
    id: str
    name: str
    category: str
    value: float
    unit: str
    percentile: float | None = None
    meaning: str
    unreliable: bool = False

    def render(self) -> str:
        unit = _DISPLAY_UNITS.get(self.unit, f" {self.unit}")
        # "pct 98", not "p98": a number standing alone, so the critique's support check finds the
        # percentile an answer states in the evidence it cites
        pct = "" if self.percentile is None else f" pct {self.percentile:.0f}"
        flag = " unreliable" if self.unreliable else ""
        return f"{self.id} {self.value:.3g}{unit}{pct}{flag}"


def _package_dir() -> Path:
    spec = importlib.util.find_spec("admet_ai")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("admet-ai is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def endpoint_info() -> tuple[EndpointInfo, ...]:
    """Endpoint metadata from the table ADMET-AI ships, plus a one-line meaning for each."""
    meanings: dict[str, str] = json.loads(_MEANINGS.read_text(encoding="utf-8"))
    out = []
    with (_package_dir() / "resources" / "data" / "admet.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            kind = "probability" if row["task_type"] == "classification" else "value"
            r2 = float(row["R^2"]) if row.get("R^2") else None
            auroc = float(row["AUROC"]) if row.get("AUROC") else None
            metric = f"test AUROC {auroc:.2f}" if auroc is not None else f"test R² {r2:.2f}" if r2 is not None else ""
            out.append(
                EndpointInfo(
                    id=row["id"],
                    name=row["name"],
                    category=row["category"],
                    unit="probability" if kind == "probability" else row["units"],
                    kind=kind,
                    meaning=meanings.get(row["id"], row["name"]),
                    test_metric=metric,
                    # ADMET-AI's own benchmark gives these a negative R²: worse than predicting the mean
                    unreliable=r2 is not None and r2 < 0,
                )
            )
    return tuple(out)


def select_endpoints(requested: list[str] | None) -> list[EndpointInfo]:
    """Endpoints by id, display name or category (case-insensitive); all when nothing is requested."""
    info = list(endpoint_info())
    if not requested:
        return info
    chosen: list[EndpointInfo] = []
    unknown: list[str] = []
    for item in requested:
        key = item.strip().lower()
        hits = [e for e in info if key in (e.id.lower(), e.name.lower(), e.category.lower())]
        if not hits:
            unknown.append(item)
        chosen.extend(h for h in hits if h not in chosen)
    if unknown:
        categories = sorted({e.category for e in info})
        raise ValueError(
            f"unknown endpoint(s) {', '.join(unknown)}; use a category ({', '.join(categories)}) "
            f"or an id such as hERG, AMES, DILI, BBB_Martins, Solubility_AqSolDB"
        )
    return chosen


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Capture everything the library prints, and keep its loggers and warnings silent."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


_LOAD_LOCK = threading.Lock()
_PREDICT_LOCK = threading.Lock()
_MODEL: Any = None
LOAD_SECONDS: float | None = None
BATCH_SIZE = 64


def model() -> Any:
    """The process-wide ADMETModel, loaded on first call (CPU, no worker processes), its networks in eval mode."""
    global _MODEL, LOAD_SECONDS
    with _LOAD_LOCK:
        if _MODEL is None:
            current_context().notice("loading ADMET-AI models…")
            start = time.perf_counter()
            with quiet():
                from admet_ai import ADMETModel

                loaded = ADMETModel(num_workers=0)
            for network in (m for models in loaded.model_lists for m in models):
                network.eval()
            _MODEL = loaded
            LOAD_SECONDS = time.perf_counter() - start
        return _MODEL


def is_loaded() -> bool:
    return _MODEL is not None


def warm_up() -> threading.Thread:
    """Load the model and run one tiny prediction in a background thread, so a later question finds it warm.

    Not a daemon: the interpreter waits for it at exit. A daemon thread still inside torch's native code
    when the interpreter finalises ends the process with "terminate called without an active exception"
    (exit 134), which is what quitting the TUI in its first seconds did."""
    thread = threading.Thread(target=predict, args=(["CCO"],), name="txscout-admet-warm-up")
    thread.start()
    return thread


def predict(smiles: list[str]) -> dict[str, dict[str, float]]:
    """Raw predictions keyed by SMILES (duplicates predicted once); molecules the model rejects are absent.

    One prediction runs at a time: torch already uses every core for one batch, and two at once would
    only contend for them.
    """
    unique = list(dict.fromkeys(smiles))
    if not unique:
        return {}
    admet = model()
    with _PREDICT_LOCK:
        return _predict(admet, unique)


@cache
def _featurizer() -> Any:
    from chemprop.featurizers import SimpleMoleculeMolGraphFeaturizer

    return SimpleMoleculeMolGraphFeaturizer()


def _predict(admet: Any, smiles: list[str]) -> dict[str, dict[str, float]]:
    import numpy as np
    import torch
    from admet_ai.physchem import PHYSCHEM_PROPERTY_TO_FUNCTION
    from admet_ai.utils import get_drugbank_suffix
    from chemprop.data import BatchMolGraph
    from rdkit import Chem
    from scipy.stats import percentileofscore

    featurize = _featurizer()
    kept: list[str] = []
    mols: list[Any] = []
    graphs: list[Any] = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            continue
        try:
            graph = featurize(mol)
        except Exception:  # a structure chemprop cannot featurise is reported by the caller as unpredictable
            continue
        kept.append(s)
        mols.append(mol)
        graphs.append(graph)
    if not kept:
        return {}
    columns: dict[str, np.ndarray] = {}
    if admet.include_physchem:
        for name, function in PHYSCHEM_PROPERTY_TO_FUNCTION.items():
            columns[name] = np.array([function(mol) for mol in mols], dtype=float)
    batches = [BatchMolGraph(graphs[i : i + BATCH_SIZE]) for i in range(0, len(graphs), BATCH_SIZE)]
    with torch.inference_mode():
        for tasks, networks in zip(admet.task_lists, admet.model_lists, strict=True):
            preds = torch.stack([torch.cat([network(batch) for batch in batches]) for network in networks])
            averaged = preds.mean(dim=0).numpy()
            for i, task in enumerate(tasks):
                columns[task] = averaged[:, i]
    if admet.drugbank is not None:
        suffix = get_drugbank_suffix(atc_code=admet.atc_code)
        reference = admet.drugbank_atc_filtered
        for name in list(columns):
            columns[f"{name}_{suffix}"] = np.atleast_1d(percentileofscore(reference[name], columns[name]))
    return {s: {name: float(values[i]) for name, values in columns.items()} for i, s in enumerate(kept)}


def endpoint_values(raw: dict[str, float], endpoints: list[EndpointInfo]) -> list[EndpointValue]:
    values = []
    for e in endpoints:
        if e.id not in raw:
            continue
        pct = raw.get(e.id + PERCENTILE_SUFFIX)
        values.append(
            EndpointValue(
                id=e.id,
                name=e.name,
                category=e.category,
                value=round(float(raw[e.id]), 4),
                unit=e.unit,
                percentile=None if pct is None else round(float(pct), 1),
                meaning=e.meaning,
                unreliable=e.unreliable,
            )
        )
    return values
