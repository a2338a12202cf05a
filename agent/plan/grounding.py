"""Deterministic entity grounding before the model's first step.

Small models rarely name a molecule correctly in a tool call, but they copy values well. So the
agent links molecules in the question itself (drug-name dictionary, RDKit-parsed SMILES), runs the
chemistry tools on them, and puts the observations in the transcript as if the model had asked.
Comparisons are computed too, since small models cannot compare numbers reliably. When the question
asks one property of those molecules (``agent.plan.asked``), grounding then closes the run's answer set
to that property's values, read from the tools' structured results: the answer is the value, not
whichever fact of the observation a small model happens to copy.

Questions about structural alerts (PAINS, Brenk, NIH) or functional groups are grounded the same way:
each linked molecule also goes through the tool that states them (``agent.plan.asked.TOOL_OF``).

Grounding runs only when the question asks something the tools compute (:func:`asks_chemistry`): a
property, an alert, ADMET, a comparison, or the molecule itself ("What is imatinib?"). A drug merely
mentioned, as in a clinical vignette or "What are known resistance mechanisms to osimertinib?", is not
looked up: its formula and weight would sit in front of the model as the facts it can copy, and a small
model answers with them.

Grounding has its own budget and does not spend the model's: ``max_tool_calls`` is what the model
may ask for, and a question naming three molecules would otherwise leave it none. Grounding makes
at most ``MAX_CALLS`` calls (each of ``MAX_LINKED`` molecules looked up by both lookup tools and by
the alert and group tools when asked, one batched ADMET prediction and one comparison of up to
``MAX_COMPARED`` molecules); they count in the run's ``tool_calls`` like any other, and the time and
token limits still apply to them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from txscout.agent.answers import Choices
from txscout.agent.plan.asked import TOOL_OF, admitted, asked_properties, asked_set, compared_property, named_codes

if TYPE_CHECKING:
    from txscout.agent.react import ReactPhase
    from txscout.agent.run import Run
    from txscout.agent.tool_calls import Observation

MAX_LINKED = 3
MAX_COMPARED = 8
"""A comparison takes every molecule the question names up to this many (one call however many), so a
multiple-choice comparison with four or five options compares them all."""
LOOKUP_TOOLS = ("identify_molecule", "molecule_properties")
MAX_CALLS = MAX_LINKED * (len(LOOKUP_TOOLS) + len(TOOL_OF)) + 2
_ADMET_WORDS = re.compile(
    r"\b(admet|toxic\w*|herg|cardiotox\w*|ames|mutagen\w*|dili|hepatotox\w*|absorption|bioavailab\w*|"
    r"blood[- ]brain|bbb|clearance|half[- ]life|solubility|permeab\w*|cyp\w*)\b",
    re.IGNORECASE,
)
# Endpoints and categories of predict_admet a question names beyond the endpoints of the asked-property
# table (``agent.plan.asked.PROPERTIES``), which are read from the table itself.
_CATEGORY_WORDS = (
    (re.compile(r"half[- ]life", re.I), "Half_Life_Obach"),
    (re.compile(r"clearance", re.I), "Excretion"),
    (re.compile(r"permeab|absorption", re.I), "Absorption"),
    (re.compile(r"\bcyp", re.I), "Metabolism"),
    (re.compile(r"\btoxic", re.I), "Toxicity"),
)


def _asks_admet(question: str) -> bool:
    return bool(_ADMET_WORDS.search(question)) or any(p.source == "admet" for p in asked_properties(question))


def _asked_endpoints(question: str) -> list[str] | None:
    """The endpoints (ids or categories) to predict; None, meaning every endpoint, when the question names
    none or asks for ADMET as a whole."""
    if re.search(r"\badmet\b", question, re.I):
        return None
    named = [p.key for p in asked_properties(question) if p.source == "admet"]
    named += [endpoint for pattern, endpoint in _CATEGORY_WORDS if pattern.search(question)]
    return list(dict.fromkeys(named)) or None


_ABOUT = re.compile(
    r"^\W*(?:(?:what(?:'s|\s+is|\s+are)|tell\s+me\s+about|describe|identify|look\s+up|give\s+me|show\s+me)\W+)?"
    r"(?:(?:a|the)\s+)?(?:(?:chemical\s+)?(?:structure|profile|identity)\s+of|information\s+(?:on|about))?"
    r"\W*(?:(?:the|this)\s+)?(?:molecule|drug|compound)?\W*$",
    re.IGNORECASE,
)


_CHEMISTRY_WORDS = re.compile(
    r"\b(?:drug[- ]?like\w*|lead[- ]?like\w*|physico-?chemical|propert(?:y|ies)|descriptors?|chemical\s+structure|"
    r"structural|molecular|stereo\w*|chiral\w*|functional\s+groups?|aromatic\w*|atoms?|bonds?|rings?)\b",
    re.IGNORECASE,
)


def asks_chemistry(question: str, mentions: list[str]) -> bool:
    """Whether the question asks something the chemistry tools compute: a property or rule of the table
    (``agent.asked``), an ADMET endpoint, a comparison, its chemistry in other words ("drug-like",
    "physicochemical properties"), or the molecule itself ("What is imatinib?",
    "Describe caffeine"), read once the ``mentions`` of molecules are taken out of the question."""
    if asked_properties(question) or _asks_admet(question) or compared_property(question):
        return True
    if _CHEMISTRY_WORDS.search(question):
        return True
    rest = question
    for mention in sorted(mentions, key=len, reverse=True):
        rest = re.sub(re.escape(mention), " ", rest, flags=re.IGNORECASE)
    return bool(_ABOUT.match(rest))


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
    """The grounding calls for ``question``, in order: each linked molecule through the lookup tools
    (and the alert or group tool the question asks about), one ADMET prediction for all of them when
    the question asks about ADMET, one comparison when it compares a property of two or more. A
    property question that links no molecule looks up the compound codes it names instead
    (``named_codes``), so an unknown one is reported as unknown rather than answered."""
    wanted = [t for t in LOOKUP_TOOLS if t in run.tools]
    if not wanted:
        return []
    asked = {TOOL_OF[p.source] for p in asked_properties(question) if p.source in TOOL_OF}
    wanted += [t for t in TOOL_OF.values() if t in asked and t in run.tools]
    from txscout.tools.chemistry import find_molecules

    calls: list[tuple[str, dict[str, Any]]] = []
    named = [m for m in find_molecules(question) if m.smiles]
    if not asks_chemistry(question, [m.mention for m in named]):
        return []
    linked = named[:MAX_LINKED]
    if not named and asked_set(question) and "identify_molecule" in run.tools:
        return [("identify_molecule", {"molecule": code}) for code in named_codes(question)[:MAX_LINKED]]
    for molecule in linked:
        for tool in wanted:
            value = molecule.name if tool == "identify_molecule" and molecule.name else molecule.smiles
            args = _molecule_args(run, tool, [value])
            if args is not None:
                calls.append((tool, args))
    if linked and _asks_admet(question) and "predict_admet" in run.tools:
        args = _molecule_args(run, "predict_admet", [m.smiles for m in linked])
        if args is not None:
            endpoints = _asked_endpoints(question)
            if endpoints:
                args["endpoints"] = endpoints
            calls.append(("predict_admet", args))
    prop = compared_property(question)
    if len(named) >= 2 and prop and "compare_molecules" in run.tools:
        compared = [m.name or m.smiles for m in named[:MAX_COMPARED]]
        calls.append(("compare_molecules", {"molecules": compared, "property": prop.key}))
    return calls


def ground(run: Run, question: str, phase: ReactPhase) -> None:
    """Run the planned grounding calls, within grounding's own budget, and show them to the model; then,
    when the question asks one property the observations now state, close the run's answer set to its
    values (``agent.plan.asked``)."""
    calls = plan(run, question)[:MAX_CALLS]
    for tool, args in calls:
        outcome = run.call_tool(tool, args, step=0, automatic=True, budgeted=False)
        phase.record_automatic(tool, args, outcome)
    if not calls:
        return
    from txscout.tools.chemistry import find_molecules

    named = [m for m in find_molecules(question) if m.smiles][:MAX_COMPARED]
    grounded = [o for o in run.observations if o.automatic]
    narrowed = admitted(question, named, grounded, run.choices) if named else _unknown(grounded, run.choices)
    if narrowed is not None:
        run.choices = narrowed


def _unknown(grounded: list[Observation], choices: Choices | None) -> Choices | None:
    """For a property question whose compound codes were all looked up and none is known, the answer is
    that: the lookups' own "unknown name" lines, not a value a model would have to make up."""
    unknown = [o.outcome.text.split("\n", 1)[0] for o in grounded if o.outcome.is_error]
    if choices is not None or not unknown or len(unknown) != len(grounded):
        return None
    if not all(line.startswith("unknown name") for line in unknown):
        return None
    return Choices(answers=["; ".join(unknown)], grounded=True)
