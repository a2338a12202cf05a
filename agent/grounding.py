"""Deterministic entity grounding before the model's first step.

Small models rarely name a molecule correctly in a tool call, but they copy values well. So the
agent links molecules in the question itself (drug-name dictionary, RDKit-parsed SMILES), runs the
chemistry tools on them, and puts the observations in the transcript as if the model had asked.
Comparisons are computed too, since small models cannot compare numbers reliably.

Grounding has its own budget and does not spend the model's: ``max_tool_calls`` is what the model
may ask for, and a question naming three molecules would otherwise leave it none. Grounding makes
at most ``MAX_CALLS`` calls (each of ``MAX_LINKED`` molecules looked up by both lookup tools, one
batched ADMET prediction and one comparison); they count in the run's ``tool_calls`` like any other,
and the time and token limits still apply to them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from txscout.agent.loop import ReactPhase, Run

MAX_LINKED = 3
LOOKUP_TOOLS = ("identify_molecule", "molecule_properties")
MAX_CALLS = MAX_LINKED * len(LOOKUP_TOOLS) + 2
_ADMET_WORDS = re.compile(
    r"\b(admet|toxic\w*|herg|cardiotox\w*|ames|mutagen\w*|dili|hepatotox\w*|absorption|bioavailab\w*|"
    r"blood[- ]brain|bbb|clearance|half[- ]life|solubility|permeab\w*|cyp\w*)\b",
    re.IGNORECASE,
)
# The endpoints (ids or categories of predict_admet) a question names; a question that names none, or
# asks for ADMET as a whole, gets every endpoint.
_ENDPOINT_WORDS = (
    (re.compile(r"\bherg\b|cardiotox", re.I), "hERG"),
    (re.compile(r"\bames\b|mutagen", re.I), "AMES"),
    (re.compile(r"\bdili\b|hepatotox", re.I), "DILI"),
    (re.compile(r"blood[- ]brain|\bbbb\b", re.I), "BBB_Martins"),
    (re.compile(r"solubility", re.I), "Solubility_AqSolDB"),
    (re.compile(r"bioavailab", re.I), "Bioavailability_Ma"),
    (re.compile(r"half[- ]life", re.I), "Half_Life_Obach"),
    (re.compile(r"clearance", re.I), "Excretion"),
    (re.compile(r"permeab", re.I), "Absorption"),
    (re.compile(r"absorption", re.I), "Absorption"),
    (re.compile(r"\bcyp", re.I), "Metabolism"),
    (re.compile(r"\btoxic", re.I), "Toxicity"),
)


def _asked_endpoints(question: str) -> list[str] | None:
    if re.search(r"\badmet\b", question, re.I):
        return None
    named = [endpoint for pattern, endpoint in _ENDPOINT_WORDS if pattern.search(question)]
    return list(dict.fromkeys(named)) or None


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


def _molecule_args(run: Run, tool: str, molecules: list[str]) -> dict[str, Any] | None:
    """The tool's first argument set to the molecule, or to the list of them where it takes a list."""
    schema = run.tools[tool].tool_call_schema.model_json_schema()
    required = schema.get("required") or list(schema.get("properties", {}))
    if not required:
        return None
    field = required[0]
    takes_list = schema.get("properties", {}).get(field, {}).get("type") == "array"
    return {field: molecules if takes_list else molecules[0]}


def plan(run: Run, question: str) -> list[tuple[str, dict[str, Any]]]:
    """The grounding calls for ``question``, in order: each linked molecule through the lookup tools,
    one ADMET prediction for all of them when the question asks about ADMET, one comparison when it
    compares a property of two or more."""
    wanted = [t for t in LOOKUP_TOOLS if t in run.tools]
    if not wanted:
        return []
    from txscout.tools.chemistry import find_molecules

    calls: list[tuple[str, dict[str, Any]]] = []
    linked = find_molecules(question)[:MAX_LINKED]
    for molecule in linked:
        for tool in wanted:
            value = molecule.name if tool == "identify_molecule" and molecule.name else molecule.smiles
            args = _molecule_args(run, tool, [value])
            if args is not None:
                calls.append((tool, args))
    if linked and _ADMET_WORDS.search(question) and "predict_admet" in run.tools:
        args = _molecule_args(run, "predict_admet", [m.smiles for m in linked])
        if args is not None:
            endpoints = _asked_endpoints(question)
            if endpoints:
                args["endpoints"] = endpoints
            calls.append(("predict_admet", args))
    prop = _compared_property(question)
    if len(linked) >= 2 and prop and "compare_molecules" in run.tools:
        calls.append(("compare_molecules", {"molecules": [m.name or m.smiles for m in linked], "property": prop}))
    return calls


def ground(run: Run, question: str, phase: ReactPhase) -> None:
    """Run the planned grounding calls, within grounding's own budget, and show them to the model."""
    for tool, args in plan(run, question)[:MAX_CALLS]:
        outcome = run.call_tool(tool, args, step=0, automatic=True, budgeted=False)
        phase.record_automatic(tool, args, outcome)
