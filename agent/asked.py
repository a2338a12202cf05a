"""The asked property: which computed properties a question asks of its molecules, and their values.

Shown every fact of a grounded observation, the 135M embedded model picks the wrong one more often
than not (the formula or "HBD 1" when asked the weight). When a question asks for properties the
chemistry tools compute (usually one; "formula and molecular weight" is two), of the molecules it
names, or which of them has the highest or lowest value of one, those values are the answer:
:func:`admitted` reads them from the tools' structured results (the artifacts validated back into the
tools' result models, never the rendered text) and grounding closes the run's answer set to them
(``Choices(grounded=True)``), so the final answer, the uncertainty samples and a critique revision can
only state them.

:data:`PROPERTIES` is the one table from question wording to property keys. Grounding reads it too:
what ``compare_molecules`` compares and which ADMET endpoints ``predict_admet`` predicts. The first
matching row of each key counts; the table is ordered so that more specific wording comes first
(violations of the rule of five before the rule itself, exact mass before mass).

Linking is conservative, because a wrong constraint forces a wrong answer:

* every property asked must be in the table, with no other property word left over
  (:data:`_OTHER_ASKS`): "formula and weight" also asks the bare "weight", so the answer is left free;
* every molecule the question names must have every value in a successful grounding observation;
* a comparison needs the direction (higher/lower ...) to admit one winner; without one the ranking is
  the answer;
* a multiple-choice question is narrowed only to the options that state the value or name the winner,
  and left as it is when none does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from txscout.agent.answers import Choices, normalise, same_answer
from txscout.tools.chemistry.properties import RuleResult
from txscout.tools.chemistry.results import AdmetResult, CompareResult, MoleculeRecord, PropertiesResult

if TYPE_CHECKING:
    from collections.abc import Sequence

    from txscout.agent.loop import Observation
    from txscout.tools.chemistry.linking import LinkedMolecule

Source = Literal["identity", "descriptor", "rule", "admet"]
Direction = Literal["highest", "lowest"]

LIPINSKI = "Lipinski rule of five"


@dataclass(frozen=True)
class Property:
    """One row of the table: the wording that asks for a property and how its value is read and said.

    ``key`` is a field of the tool's result (``formula``; a ``DescriptorSet`` field; an ADMET endpoint
    id) or, for the rule of five, ``lipinski`` (pass or fail) and ``lipinski_violations`` (how many).
    ``comparable`` when ``compare_molecules`` takes the key. ``noun`` names a count ("2 rotatable
    bonds"); ``unit`` follows a measured value; ``label`` names the property in a comparison.
    """

    key: str
    source: Source
    pattern: re.Pattern[str]
    label: str
    noun: str = ""
    unit: str = ""
    digits: int = 2

    @property
    def comparable(self) -> bool:
        return self.source in ("descriptor", "admet")

    def number(self, value: float) -> str:
        """The value with its unit: a count as a whole number, a prediction to three significant digits."""
        if self.noun:
            return str(int(value))
        number = f"{value:.3g}" if self.source == "admet" else f"{value:.{self.digits}f}"
        return f"{number} {self.unit}" if self.unit else number

    def say(self, value: float) -> str:
        """The value as an answer states it: the number first, so graders and readers find it."""
        if self.noun:
            return f"{int(value)} {self.noun}{'' if int(value) == 1 else 's'}"
        if self.source == "admet":
            return f"{self.number(value)} ({self.label}, ADMET-AI prediction)"
        return self.number(value) if self.unit else f"{self.number(value)} ({self.label})"


def _row(key: str, source: Source, pattern: str, label: str, **kw: Any) -> Property:
    return Property(key, source, re.compile(pattern, re.IGNORECASE), label, **kw)


_CYP = ("1A2", "2C19", "2C9", "2D6", "3A4")
_RO5 = r"(?:\blipinski(?:'s)?(?: rule(?: of (?:five|5))?)?|\brule of (?:five|5)\b|\bro5\b)"

PROPERTIES: tuple[Property, ...] = (
    _row("formula", "identity", r"\b(?:molecular|chemical|empirical)\s+formula\b|\bformula of\b", "formula"),
    _row("exact_mass", "descriptor", r"\bexact mass\b|\bmonoisotopic\b", "exact mass", unit="Da", digits=4),
    _row(
        "molecular_weight",
        "descriptor",
        r"molecular weight|(?:molecular|molar|average) mass|formula weight|\bmw\b|\bwhat(?:'s| is) the mass of\b|"
        r"\bheav(?:ier|iest)\b|\blight(?:er|est)\b",
        "molecular weight",
        unit="g/mol",
    ),
    _row("logp", "descriptor", r"\bc?log\s?p\b|lipophil|partition coefficient", "logP"),
    _row("tpsa", "descriptor", r"\btpsa\b|polar surface", "TPSA", unit="Å²", digits=1),
    _row(
        "hbd",
        "descriptor",
        r"\bh(?:ydrogen)?[- ]?bond donors?\b|\bhbds?\b",
        "H-bond donors",
        noun="hydrogen bond donor",
    ),
    _row(
        "hba",
        "descriptor",
        r"\bh(?:ydrogen)?[- ]?bond acceptors?\b|\bhbas?\b",
        "H-bond acceptors",
        noun="hydrogen bond acceptor",
    ),
    _row("rotatable_bonds", "descriptor", r"\brotatable\b", "rotatable bonds", noun="rotatable bond"),
    _row(
        "stereocentres",
        "descriptor",
        r"\bstereo[- ]?cent(?:re|er)s?\b|\bchiral (?:cent(?:re|er)|carbon)s?\b|\bstereogenic\b",
        "stereocentres",
        noun="stereocentre",
    ),
    _row("qed", "descriptor", r"\bqed\b|drug[- ]?likeness", "QED"),
    _row(
        "lipinski_violations",
        "rule",
        rf"(?:how many|number of)[^?]{{0,40}}?\bviolations?\b(?:\s+of\s+[^?]{{0,20}}?{_RO5})?|"
        rf"\bviolations?\s+of\s+[^?]{{0,20}}?{_RO5}",
        "Lipinski violations",
    ),
    _row("lipinski", "rule", _RO5, "Lipinski's rule of five"),
    _row("hERG", "admet", r"\bherg\b|cardiotox", "hERG blocking"),
    _row("AMES", "admet", r"\bames\b|mutagen", "Ames mutagenicity"),
    _row("DILI", "admet", r"\bdili\b|liver injury|hepatotox", "drug-induced liver injury"),
    _row("ClinTox", "admet", r"\bclintox\b|clinical toxicity", "clinical toxicity"),
    _row("Carcinogens_Lagunin", "admet", r"carcinogen", "carcinogenicity"),
    _row("LD50_Zhu", "admet", r"\bld50\b|lethal dose", "acute toxicity LD50"),
    _row("Skin_Reaction", "admet", r"skin reaction|skin sensiti", "skin reaction"),
    _row("BBB_Martins", "admet", r"blood[- ]brain|\bbbb\b", "blood-brain barrier penetration"),
    _row("Solubility_AqSolDB", "admet", r"solubility|\bsoluble\b|\blog\s?s\b", "aqueous solubility"),
    _row("Bioavailability_Ma", "admet", r"bioavailab", "oral bioavailability"),
    _row("HIA_Hou", "admet", r"intestinal absorption|\bhia\b", "human intestinal absorption"),
    _row("Caco2_Wang", "admet", r"\bcaco-?2\b", "Caco-2 permeability"),
    _row("Pgp_Broccatelli", "admet", r"\bp-?gp\b|p-glycoprotein", "P-glycoprotein inhibition"),
    _row("PPBR_AZ", "admet", r"plasma protein binding", "plasma protein binding"),
    *(_row(f"CYP{c}_Veith", "admet", rf"\bcyp\s?{c}\b(?![- ]?substrate)", f"CYP{c} inhibition") for c in _CYP),
)
"""Question wording -> property. Bare "donor", "weight", "mass" or "formula" are left out on purpose:
"organ donors", "body weight", "a mass of the thyroid" and "infant formula" are not molecular properties.
ADMET-AI endpoints its own benchmark marks unreliable (half-life, volume of distribution) are left out
too: a question about a drug's half-life wants the clinical figure, not a predictor's guess."""

_OTHER_ASKS = re.compile(
    r"\b(?:weight|mass|charge|pka|melting|boiling|dose|dosage|formula|donors?|acceptors?|mechanism|indication|"
    r"side effects?|interactions?|targets?)\b",
    re.IGNORECASE,
)
"""Words that ask for something else once the asked property's own wording is removed: a question
asking two things is not constrained to one of them."""

_HIGHEST = re.compile(
    r"\b(?:high|higher|highest|more|most|greater|greatest|larger|largest|bigger|biggest|heavier|heaviest|"
    r"max(?:imum)?)\b",
    re.IGNORECASE,
)
_LOWEST = re.compile(
    r"\b(?:low|lower|lowest|less|least|fewer|fewest|smaller|smallest|lighter|lightest|min(?:imum)?)\b",
    re.IGNORECASE,
)
_COMPARISON = re.compile(r"\b(?:which|compare|rank)\b", re.IGNORECASE)


def _matches(question: str) -> tuple[list[Property], str]:
    """The properties the question's wording asks for, one per key in table order, and the question with
    their wording removed. Each row reads what the rows above it left, so "violations of Lipinski's rule"
    is one ask, not a rule-of-five ask besides."""
    found: dict[str, Property] = {}
    rest = question
    for prop in PROPERTIES:
        if prop.pattern.search(rest):
            found.setdefault(prop.key, prop)
            rest = prop.pattern.sub(" ", rest)
    return list(found.values()), rest


def asked_properties(question: str) -> list[Property]:
    """Every property the question's wording asks for, one per key, in table order."""
    return _matches(question)[0]


def asked_set(question: str) -> list[Property]:
    """The properties the question asks for, when the table covers everything it asks; else empty
    (it asks none, or also something the table does not cover: :data:`_OTHER_ASKS`)."""
    props, rest = _matches(question)
    return [] if _OTHER_ASKS.search(rest) else props


def asked_property(question: str) -> Property | None:
    """The one property the question asks for, or None when it asks none, several, or also something
    the table does not cover."""
    props = asked_set(question)
    return props[0] if len(props) == 1 else None


def compared_property(question: str) -> Property | None:
    """The property a comparison question ranks its molecules by: the first comparable one it asks for,
    when it compares (which, compare, rank, or a direction such as higher or lower)."""
    if not (_COMPARISON.search(question) or _direction(question)):
        return None
    return next((p for p in asked_properties(question) if p.comparable), None)


def _direction(question: str) -> Direction | None:
    high, low = bool(_HIGHEST.search(question)), bool(_LOWEST.search(question))
    return "highest" if high and not low else "lowest" if low and not high else None


_RESULTS: dict[str, type[BaseModel]] = {
    "identify_molecule": MoleculeRecord,
    "molecule_properties": PropertiesResult,
    "predict_admet": AdmetResult,
    "compare_molecules": CompareResult,
}
"""The structured result (artifact) of each grounding tool, validated back into its result model."""


@dataclass(frozen=True)
class Value:
    """One molecule's value of the asked property, as the answer states it, with its citation."""

    text: str
    number: float | None
    ref: int | None

    def cited(self) -> str:
        return f"{self.text} [{self.ref}]" if self.ref is not None else self.text


def _results(observations: Sequence[Observation]) -> list[BaseModel]:
    out: list[BaseModel] = []
    for observation in observations:
        model = _RESULTS.get(observation.tool)
        if model is None or observation.outcome.is_error or not isinstance(observation.outcome.artifact, dict):
            continue
        try:
            out.append(model.model_validate(observation.outcome.artifact))
        except ValidationError:
            continue
    return out


def _value(prop: Property, smiles: str, results: Sequence[BaseModel]) -> Value | None:
    """``prop`` of the molecule ``smiles`` from the first result that states it."""
    for result in results:
        if isinstance(result, MoleculeRecord) and prop.source == "identity" and result.smiles == smiles:
            return Value(result.formula, None, result.ref)
        if isinstance(result, PropertiesResult) and result.smiles == smiles:
            number = getattr(result.descriptors, prop.key, None)
            if prop.source == "descriptor" and isinstance(number, int | float):
                return Value(prop.say(number), number, result.ref)
            rule = next((r for r in result.rules if r.rule == LIPINSKI), None)
            if prop.source == "rule" and rule is not None:
                return Value(_lipinski(prop, rule), len(rule.violations), result.ref)
        if isinstance(result, AdmetResult) and prop.source == "admet":
            for prediction in result.predictions:
                endpoint = next((e for e in prediction.endpoints if e.id == prop.key), None)
                if prediction.smiles == smiles and endpoint is not None:
                    return Value(prop.say(endpoint.value), endpoint.value, result.ref)
    return None


def _lipinski(prop: Property, rule: RuleResult) -> str:
    count = len(rule.violations)
    named = f": {'; '.join(rule.violations)}" if rule.violations else ""
    violations = f"{count} violation{'' if count == 1 else 's'}"
    if prop.key == "lipinski_violations":
        return f"{violations} of Lipinski's rule of five{f' ({named[2:]})' if named else ''}"
    return f"{'passes' if rule.passed else 'fails'} Lipinski's rule of five ({violations}{named})"


def admitted(
    question: str,
    linked: Sequence[LinkedMolecule],
    observations: Sequence[Observation],
    choices: Choices | None = None,
) -> Choices | None:
    """The answers the tools admit for the properties ``question`` asks of the ``linked`` molecules, as
    a grounded answer set; None when the question asks something the table does not cover, compares
    by more than one property, or a value is missing.

    Each molecule's values are stated in the order the table lists the properties, each with its
    citation ("C13H18O2 [1]; 206.28 g/mol [2]"); with several molecules each is named as the question
    names it. With ``choices`` (a multiple-choice question) the result is those options narrowed to the
    ones stating the one value or naming the winner, or None when no option does."""
    props = asked_set(question)
    molecules = [m for m in linked if m.smiles]
    if not props or not molecules or len(molecules) != len(linked):
        return None
    results = _results(observations)
    direction = _direction(question)
    if len(molecules) >= 2 and (_COMPARISON.search(question) or direction):
        if len(props) != 1 or not props[0].comparable:
            return None
        return _comparison(props[0], direction, molecules, results, choices)
    values = [[_value(p, m.smiles, results) for p in props] for m in molecules]
    found = [[v for v in row if v is not None] for row in values]
    if any(len(row) != len(props) for row in found):
        return None
    if choices is not None:
        single = found[0][0] if len(found) == 1 and len(props) == 1 else None
        return _narrowed(choices, lambda text: single is not None and _states(text, single))
    stated = ["; ".join(v.cited() for v in row) for row in found]
    if len(stated) == 1:
        return Choices(answers=stated, grounded=True)
    separator = "; " if len(props) == 1 else " | "
    text = separator.join(f"{m.mention}: {s}" for m, s in zip(molecules, stated, strict=True))
    return Choices(answers=[text], grounded=True)


def _comparison(
    prop: Property,
    direction: Direction | None,
    molecules: Sequence[LinkedMolecule],
    results: Sequence[BaseModel],
    choices: Choices | None,
) -> Choices | None:
    """The winner of a comparison (or, without a direction, the ranking) from the comparison's result."""
    compared = next((r for r in results if isinstance(r, CompareResult) and _compares(r, prop)), None)
    if compared is None:
        return None
    by_smiles = {v.smiles: v for v in compared.values}
    if any(m.smiles not in by_smiles for m in molecules):
        return None
    ranked = sorted(molecules, key=lambda m: by_smiles[m.smiles].value, reverse=True)
    values = [by_smiles[m.smiles].value for m in ranked]
    if direction is None or len(set(values)) < len(values):
        if choices is not None:
            return None
        ranking = " > ".join(f"{m.mention} {prop.number(v)}" for m, v in zip(ranked, values, strict=True))
        ranking = f"{prop.label}: {ranking}"
        return Choices(answers=[ranking], grounded=True)
    winner = ranked[0] if direction == "highest" else ranked[-1]
    if choices is not None:
        return _narrowed(choices, lambda text: _names(text, winner))
    others = [m for m in ranked if m is not winner]
    versus = ", ".join(f"{m.mention} {prop.number(by_smiles[m.smiles].value)}" for m in others)
    refs = [v.ref for m in (winner, *others) if (v := _value(prop, m.smiles, results)) and v.ref is not None]
    cite = f" [{', '.join(str(r) for r in dict.fromkeys(refs))}]" if refs else ""
    return Choices(
        answers=[f"{winner.mention} ({prop.label} {prop.number(by_smiles[winner.smiles].value)} vs {versus}){cite}"],
        grounded=True,
    )


def _compares(result: CompareResult, prop: Property) -> bool:
    """Whether a comparison's result is of ``prop`` (its label starts with the key it was asked for)."""
    return result.property.split(" ", 1)[0].lower() == prop.key.lower()


def _narrowed(choices: Choices, keep: Any) -> Choices | None:
    """``choices`` narrowed to the options whose text ``keep`` accepts; None when none does."""
    options = choices.options
    kept = [letter for letter, text in options.items() if text and keep(text)]
    if not kept:
        return None
    return choices.model_copy(update={"answers": kept, "grounded": True})


def _states(text: str, value: Value) -> bool:
    """Whether an option's text states the value: the same number (within the answers' tolerance) or,
    for a formula, the same formula."""
    if value.number is None:
        return text.replace(" ", "").casefold() == value.text.casefold()
    option = normalise(text)
    return (
        option.kind == "number"
        and option.value is not None
        and math.isfinite(option.value)
        and (same_answer(option, normalise(str(value.number))) or same_answer(option, normalise(value.text)))
    )


def _names(text: str, molecule: LinkedMolecule) -> bool:
    """Whether an option's text names ``molecule`` (links to the same structure)."""
    from txscout.tools.chemistry import find_molecules

    return any(m.smiles == molecule.smiles for m in find_molecules(text))
