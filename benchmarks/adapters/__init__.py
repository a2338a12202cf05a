"""The suite registry: names and module paths only, so listing suites imports nothing heavy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from txscout.core.errors import UserError

if TYPE_CHECKING:
    from txscout.benchmarks.adapters.base import Adapter

SUITES: dict[str, tuple[str, str]] = {
    "gpqa": ("txscout.benchmarks.adapters.gpqa", "GPQA (CSV): graduate-level science multiple choice"),
    "hle": ("txscout.benchmarks.adapters.hle", "Humanity's Last Exam (JSONL/parquet), text-only, judge-graded"),
    "chembench": ("txscout.benchmarks.adapters.chembench", "ChemBench question folder: multiple choice and numeric"),
    "oncology": (
        "txscout.benchmarks.adapters.oncology",
        "Breast-oncology case vignettes graded per rubric axis by a judge",
    ),
    "oncology-mc": ("txscout.benchmarks.adapters.oncology", "Oncology multiple-choice subset of MedQA and MMLU"),
    "pubmedqa": ("txscout.benchmarks.adapters.pubmedqa", "PubMedQA reasoning-required, official 500-item test split"),
    "medqa": ("txscout.benchmarks.adapters.medqa", "MedQA (USMLE) 4- or 5-option multiple choice"),
    "mmlu": ("txscout.benchmarks.adapters.mmlu", "MMLU medical and chemistry subjects, 5-shot from dev"),
    "labbench": ("txscout.benchmarks.adapters.labbench", "LAB-Bench text tasks with the refusal option"),
}


def suite_names() -> list[str]:
    return list(SUITES)


def get_adapter(name: str, setting: str | None = None) -> Adapter:
    """The adapter for a suite name, asking its questions the ``setting`` way (None: its default); an
    unknown name lists the valid ones."""
    key = name.strip().lower()
    if key not in SUITES:
        raise UserError(f"unknown suite {name!r}; valid suites: {', '.join(SUITES)}")
    module = importlib.import_module(SUITES[key][0])
    adapter: Adapter = module.adapter(key)
    adapter.use_setting(setting)
    return adapter
