"""Deterministic entity grounding before the model's first step.

Small models rarely name a molecule correctly in a tool call, but they copy values well. So the
agent links molecules in the question itself (drug-name dictionary, RDKit-parsed SMILES), runs the
chemistry tools on them, and puts the observations in the transcript as if the model had asked.
Comparisons are computed too, since small models cannot compare numbers reliably.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from txscout.agent.loop import ReactPhase, Run

MAX_LINKED = 3
_ADMET_WORDS = re.compile(
    r"\b(admet|toxic\w*|herg|cardiotox\w*|ames|mutagen\w*|dili|hepatotox\w*|absorption|bioavailab\w*|"
    r"blood[- ]brain|bbb|clearance|half[- ]life|solubility|permeab\w*|cyp\w*)\b",
    re.IGNORECASE,
)


_COMPARABLE = (
    (re.compile(r"\blog\s?p\b|lipophil", re.I), "logp"),
    (re.compile(r"molecular weight|molecular mass|\bheavier\b|\blighter\b|\bmass\b", re.I), "molecular_weight"),
    (re.compile(r"\btpsa\b|polar surface", re.I), "tpsa"),
    (re.compile(r"donor", re.I), "hbd"),
    (re.compile(r"acceptor", re.I), "hba"),
    (re.compile(r"rotatable", re.I), "rotatable_bonds"),
    (re.compile(r"\bqed\b|drug-?likeness", re.I), "qed"),
    (re.compile(r"solubl|solubility", re.I), "Solubility_AqSolDB"),
    (re.compile(r"\bherg\b", re.I), "hERG"),
)
_COMPARISON = re.compile(r"\b(which|compare|higher|lower|more|less|greater|larger|smaller|rank)\b", re.I)


def _compared_property(question: str) -> str | None:
    if not _COMPARISON.search(question):
        return None
    return next((prop for pattern, prop in _COMPARABLE if pattern.search(question)), None)


def _first_field(run: Run, tool: str) -> str | None:
    schema = run.tools[tool].tool_call_schema.model_json_schema()
    required = schema.get("required") or list(schema.get("properties", {}))
    return required[0] if required else None


def ground(run: Run, question: str, phase: ReactPhase) -> None:
    wanted = [t for t in ("identify_molecule", "molecule_properties") if t in run.tools]
    if not wanted:
        return
    if _ADMET_WORDS.search(question) and "predict_admet" in run.tools:
        wanted.append("predict_admet")
    from txscout.tools.chemistry import find_molecules

    linked = find_molecules(question)[:MAX_LINKED]
    for molecule in linked:
        for tool in wanted:
            field = _first_field(run, tool)
            if field is None:
                continue
            value = molecule.name if tool == "identify_molecule" and molecule.name else molecule.smiles
            args = {field: value}
            phase.record_automatic(tool, args, run.call_tool(tool, args, step=0, automatic=True))
    prop = _compared_property(question)
    if len(linked) >= 2 and prop and "compare_molecules" in run.tools:
        args = {"molecules": [m.name or m.smiles for m in linked], "property": prop}
        phase.record_automatic(
            "compare_molecules", args, run.call_tool("compare_molecules", args, step=0, automatic=True)
        )
