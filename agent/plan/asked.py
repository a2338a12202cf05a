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
* every part of a several-part question must ask a property of the table ("the SMILES of erlotinib
  and how many donors" is answered in both parts; "the weight of aspirin and which enzyme it
  inhibits" is left free, since a closed set would drop the enzyme);
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

from txscout.agent.answers import Choices, normalise, question_stem, same_answer
from txscout.tools.chemistry.properties import RuleResult
from txscout.tools.chemistry.results import (
    AdmetResult,
    AlertsResult,
    CompareResult,
    GroupsResult,
    MoleculeRecord,
    PropertiesResult,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from txscout.agent.tool_calls import Observation
    from txscout.tools.chemistry.admet import EndpointValue
    from txscout.tools.chemistry.linking import LinkedMolecule

Source = Literal["identity", "descriptor", "rule", "admet", "alerts", "groups"]
Direction = Literal["highest", "lowest"]

LIPINSKI = "Lipinski rule of five"


@dataclass(frozen=True)
class Property:
    """One row of the table: the wording that asks for a property and how its value is read and said.

    ``key`` is a field of the tool's result (``formula``; a ``DescriptorSet`` field; an ADMET endpoint
    id; a catalogue of structural alerts), the name of a drug-likeness rule, or, for the rule of five,
    ``lipinski`` (pass or fail) and ``lipinski_violations`` (how many). ``comparable`` when
    ``compare_molecules`` takes the key. ``noun`` names a count ("2 rotatable bonds"); ``unit`` follows a
    measured value; ``label`` names the property in a comparison; ``level`` names what an ADMET
    endpoint's rank among approved drugs measures ("risk": a high value is a high risk).
    """

    key: str
    source: Source
    pattern: re.Pattern[str]
    label: str
    noun: str = ""
    unit: str = ""
    digits: int = 2
    level: str = ""

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
        """A computed value as an answer states it: the number first, so graders and readers find it."""
        if self.noun:
            return f"{int(value)} {self.noun}{'' if int(value) == 1 else 's'}"
        return self.number(value) if self.unit else f"{self.number(value)} ({self.label})"

    def predicted(self, endpoint: EndpointValue) -> str:
        """An ADMET-AI prediction as a chemist reads it, every part from the prediction itself: the value
        and what it is a probability or a measure of, its percentile among DrugBank's approved drugs, and
        that rank in plain words ("0.985 probability of blocking the hERG potassium channel (...); 98th
        percentile of approved drugs (DrugBank); high risk")."""
        number = self.number(endpoint.value)
        meaning = endpoint.meaning or self.label
        parts = [f"{number} {meaning}" if meaning.startswith("probability") else f"{number} ({meaning})"]
        if endpoint.percentile is not None:
            parts.append(f"{ordinal(endpoint.percentile)} percentile of approved drugs (DrugBank)")
            parts.append(f"{rank_word(endpoint.percentile)} {self.level or self.label}")
        if endpoint.unreliable:
            parts.append("unreliable in ADMET-AI's own benchmark")
        return "; ".join(parts)


def ordinal(percentile: float) -> str:
    """A percentile as an ordinal: 93.4 -> "93rd", 11 -> "11th"."""
    n = round(percentile)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_word(percentile: float) -> str:
    """A rank among approved drugs in plain words: the top quarter is high, the bottom quarter low."""
    return "high" if percentile >= 75 else "low" if percentile < 25 else "moderate"


def _row(key: str, source: Source, pattern: str, label: str, **kw: Any) -> Property:
    return Property(key, source, re.compile(pattern, re.IGNORECASE), label, **kw)


_CYP = ("1A2", "2C19", "2C9", "2D6", "3A4")
_RO5 = r"(?:\blipinski(?:'s)?(?:[- ]rules?(?:[- ]of[- ](?:five|5))?)?|\brule[- ]of[- ](?:five|5)\b|\bro5\b)"
_BROKEN = r"\b(?:violat\w*|break\w*|broken|breach\w*|fail\w*|out of range|exceed\w*)"
_HOW_MANY = r"(?:how many|number of|count of|count the)"

PROPERTIES: tuple[Property, ...] = (
    _row("formula", "identity", r"\b(?:molecular|chemical|empirical)\s+formula\b|\bformula of\b", "formula"),
    _row(
        "smiles",
        "identity",
        r"\b(?:canonical\s+|isomeric\s+)?smiles\b(?=\s*(?:string|notation|code)?\s*(?:of|for|\?|$))|"
        r"\bits\s+(?:canonical\s+)?smiles\b|\b(?:give|write|draw|provide)\s+(?:me\s+)?(?:the\s+)?(?:canonical\s+)?smiles\b",
        "SMILES",
    ),
    _row("inchikey", "identity", r"\binchi\s?key\b", "InChIKey"),
    _row("inchi", "identity", r"\binchi\b(?!\s?key|=)", "InChI"),
    _row("exact_mass", "descriptor", r"\bexact mass\b|\bmonoisotopic\b", "exact mass", unit="Da", digits=4),
    _row(
        "molecular_weight",
        "descriptor",
        r"molecular weight|molecular wt\b|mol\.? ?wt\b|(?:molecular|molar|average) mass|formula weight|\bmw\b|"
        r"\bwhat(?:'s| is) the mass of\b|\bhow heavy\b|\bweigh(?:s)?\b(?= in daltons| in g/mol|\?)|"
        r"\bheav(?:ier|iest)\b|\blight(?:er|est)\b",
        "molecular weight",
        unit="g/mol",
    ),
    _row(
        "logp",
        "descriptor",
        r"\bc?log\s?p\b|lipophil|partition coefficient|octanol[- /]water|\bgreas(?:y|ier|iest)\b",
        "logP",
    ),
    _row("tpsa", "descriptor", r"\btpsa\b|\bpsa\b|polar surface", "TPSA", unit="Å²", digits=1),
    _row(
        "hbd",
        "descriptor",
        r"\bh(?:ydrogen)?[- ]?bond(?:ing)? donors?\b|\bhbds?\b|\bh[- ]donors?\b|"
        r"\b(?:nh|oh)(?:/| and | or )(?:nh|oh) donors?\b|"
        r"\bdonat\w* hydrogen bonds?\b|\bhydrogen[- ]bond[- ]donating\b",
        "H-bond donors",
        noun="hydrogen bond donor",
    ),
    _row(
        "hba",
        "descriptor",
        r"\bh(?:ydrogen)?[- ]?bond(?:ing)? acceptors?\b|\bhbas?\b|\bh[- ]acceptors?\b|\baccept\w* hydrogen bonds?\b|"
        r"\bhydrogen[- ]bond[- ]accepting\b",
        "H-bond acceptors",
        noun="hydrogen bond acceptor",
    ),
    _row(
        "rotatable_bonds",
        "descriptor",
        r"\brotatable\b|\brotors?\b|\bfreely rotating\b|\bbonds? (?:that |which )?(?:can )?(?:freely )?rotate\b",
        "rotatable bonds",
        noun="rotatable bond",
    ),
    _row(
        "stereocentres",
        "descriptor",
        r"\bstereo[- ]?cent(?:re|er)s?\b|\bchiral (?:cent(?:re|er)|carbon|atom)s?\b|\bstereogenic\b|"
        r"\basymmetric (?:cent(?:re|er)|carbon)s?\b",
        "stereocentres",
        noun="stereocentre",
    ),
    _row("qed", "descriptor", r"\bqed\b|drug[- ]?likeness|quantitative estimate of drug", "QED"),
    _row(
        "lipinski_violations",
        "rule",
        rf"{_HOW_MANY}[^?]{{0,60}}?\bviolations?\b(?:\s+of\s+[^?]{{0,20}}?{_RO5})?|"
        rf"{_HOW_MANY}[^?]{{0,40}}?(?:{_RO5}|\b(?:criteria|rules|conditions|limits)\b)[^?]{{0,40}}?{_BROKEN}|"
        rf"\bviolations?\s+of\s+[^?]{{0,20}}?{_RO5}|{_RO5}\s+violations?\b",
        "Lipinski violations",
    ),
    _row("lipinski", "rule", _RO5, "Lipinski's rule of five"),
    _row("Veber", "rule", r"\bveber(?:'s)?(?:[- ]rules?| criteria)?\b", "Veber's rules"),
    _row("Ghose", "rule", r"\bghose(?:'s)?(?:[- ]filter|[- ]rules?| criteria)?\b", "Ghose's filter"),
    _row("PAINS", "alerts", r"\bpains\b|pan[- ]assay interference", "PAINS"),
    _row("Brenk", "alerts", r"\bbrenk\b", "Brenk"),
    _row("NIH", "alerts", r"\bnih (?:alerts?|filters?|substructures?)\b", "NIH"),
    _row(
        "alerts",
        "alerts",
        r"\bstructural alerts?\b|\bsubstructure alerts?\b|\btoxicophores?\b|\bstructural (?:red )?flags?\b|"
        r"\breactive (?:groups|substructures)\b",
        "structural alerts",
    ),
    _row("functional_groups", "groups", r"\bfunctional groups?\b|\bchemical groups?\b", "functional groups"),
    _row("hERG", "admet", r"\bherg\b|cardiotox|cardiac tox|qt[- ]prolong", "hERG blocking", level="risk"),
    _row("AMES", "admet", r"\bames\b|mutagen|genotox", "Ames mutagenicity", level="risk"),
    _row(
        "DILI",
        "admet",
        r"\bdili\b|liver (?:injury|damage|toxicity)|hepatotox",
        "drug-induced liver injury",
        level="risk",
    ),
    _row("ClinTox", "admet", r"\bclintox\b|clinical toxicity", "clinical toxicity", level="risk"),
    _row("Carcinogens_Lagunin", "admet", r"carcinogen", "carcinogenicity", level="risk"),
    _row("LD50_Zhu", "admet", r"\bld50\b|lethal dose|acute (?:oral )?toxicity", "acute toxicity LD50", level="risk"),
    _row("Skin_Reaction", "admet", r"skin reaction|skin sensiti", "skin reaction", level="risk"),
    _row(
        "BBB_Martins",
        "admet",
        r"blood[- ]brain|\bbbb\b|\bbrain[- ]penetra\w*|\bcns[- ]penetra\w*|"
        r"\b(?:enter|reach|cross)(?:es)? (?:into )?the (?:brain|cns)\b",
        "blood-brain barrier penetration",
        level="brain penetration",
    ),
    _row(
        "Solubility_AqSolDB",
        "admet",
        r"solubility|\bsoluble\b|\blog\s?s\b|\bdissolves?\b",
        "aqueous solubility",
        level="solubility",
    ),
    _row("Bioavailability_Ma", "admet", r"bioavailab", "oral bioavailability", level="bioavailability"),
    _row(
        "HIA_Hou",
        "admet",
        r"intestinal absorption|\bhia\b|\b(?:gut|oral) absorption\b|absorbed from the gut",
        "human intestinal absorption",
        level="absorption",
    ),
    _row("Caco2_Wang", "admet", r"\bcaco-?2\b", "Caco-2 permeability", level="permeability"),
    _row(
        "Pgp_Broccatelli",
        "admet",
        r"\bp-?gp\b|p-glycoprotein",
        "P-glycoprotein inhibition",
        level="drug-interaction risk",
    ),
    _row("PPBR_AZ", "admet", r"plasma protein binding|protein[- ]bound", "plasma protein binding", level="binding"),
    *(
        _row(
            f"CYP{c}_Veith",
            "admet",
            rf"\bcyp\s?{c}\b(?![- ]?substrate)",
            f"CYP{c} inhibition",
            level="drug-interaction risk",
        )
        for c in _CYP
    ),
)
"""Question wording -> property. Bare "donor", "weight", "mass" or "formula" are left out on purpose:
"organ donors", "body weight", "a mass of the thyroid" and "infant formula" are not molecular properties.
ADMET-AI endpoints its own benchmark marks unreliable (half-life, volume of distribution) are left out
too: a question about a drug's half-life wants the clinical figure, not a predictor's guess.
The wording goes beyond the names of the properties (word stems such as "violat-", synonyms such as
"brain penetration" or "rotors"); ``benchmarks/perf/asked_wording.py`` measures it on phrasings written
apart from this table."""

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


_CLAUSE = re.compile(
    r"[?;]|\b(?:and|also|plus)\b(?=\s+(?:what|what's|how|which|is|are|does|do|can|could|will|would|should|"
    r"has|have|its|it's|give|list|name|tell|show)\b)",
    re.IGNORECASE,
)
"""Where a question turns to another ask: a question mark or semicolon, or "and" opening a new question
("... of erlotinib and how many H-bond donors does it have?")."""


_ASKING = re.compile(
    r"^\W*(?:what|what's|how|which|who|is|are|does|do|can|could|will|would|should|has|have|give|list|name|tell|"
    r"show|calculate|compute|predict|find|its|it's)\b",
    re.IGNORECASE,
)


def _asks(question: str) -> list[str]:
    """The parts of a question that ask something (a multiple-choice question's options left out)."""
    return [c for c in _CLAUSE.split(question_stem(question)) if _ASKING.match(c)]


def asked_properties(question: str) -> list[Property]:
    """Every property the question's wording asks for, one per key, in table order."""
    return _matches(question)[0]


def asked_set(question: str) -> list[Property]:
    """The properties the question asks for, when the table covers everything it asks; else empty
    (it asks none, or also something the table does not cover: :data:`_OTHER_ASKS`, or a part of a
    several-part question that asks no property of the table, whose answer the set would leave out)."""
    props, rest = _matches(question)
    if not props or _OTHER_ASKS.search(rest):
        return []
    parts = _asks(question)
    if len(parts) > 1 and not all(_matches(part)[0] for part in parts):
        return []
    return props


_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z][\w-]*[A-Za-z0-9](?![\w-])")


def named_codes(question: str) -> list[str]:
    """Words of a question that name a compound by a code (letters and digits: "AZD9291",
    "notamolecule123xyz"), once the wording of the properties it asks is removed ("CYP3A4" asks a
    property), for grounding to look up when no molecule in the question is linked."""
    rest = _matches(question)[1]
    return list(dict.fromkeys(m.group() for m in _CODE.finditer(rest) if len(m.group()) >= 4))


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
    "structural_alerts": AlertsResult,
    "functional_groups": GroupsResult,
}
"""The structured result (artifact) of each grounding tool, validated back into its result model."""

TOOL_OF: dict[Source, str] = {"alerts": "structural_alerts", "groups": "functional_groups"}
"""The grounding tool that states a property of these sources, beyond the lookups every molecule gets."""


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
            return Value(str(getattr(result, prop.key)), None, result.ref)
        if isinstance(result, PropertiesResult) and result.smiles == smiles:
            number = getattr(result.descriptors, prop.key, None)
            if prop.source == "descriptor" and isinstance(number, int | float):
                return Value(prop.say(number), number, result.ref)
            wanted = LIPINSKI if prop.key.startswith("lipinski") else prop.key
            rule = next((r for r in result.rules if r.rule == wanted), None)
            if prop.source == "rule" and rule is not None:
                return Value(_rule(prop, rule), len(rule.violations), result.ref)
        if isinstance(result, AdmetResult) and prop.source == "admet":
            for prediction in result.predictions:
                endpoint = next((e for e in prediction.endpoints if e.id == prop.key), None)
                if prediction.smiles == smiles and endpoint is not None:
                    return Value(prop.predicted(endpoint), endpoint.value, result.ref)
        if isinstance(result, AlertsResult) and prop.source == "alerts" and result.smiles == smiles:
            return _alerts(prop, result)
        if isinstance(result, GroupsResult) and prop.source == "groups" and result.smiles == smiles:
            listed = ", ".join(f"{g.name} x{g.count}" for g in result.groups)
            return Value(listed or "no catalogued functional groups", len(result.groups), result.ref)
    return None


def _rule(prop: Property, rule: RuleResult) -> str:
    count = len(rule.violations)
    named = f": {'; '.join(rule.violations)}" if rule.violations else ""
    violations = f"{count} violation{'' if count == 1 else 's'}"
    if prop.key == "lipinski_violations":
        return f"{violations} of Lipinski's rule of five{f' ({named[2:]})' if named else ''}"
    return f"{'passes' if rule.passed else 'fails'} {prop.label} ({violations}{named})"


def _alerts(prop: Property, result: AlertsResult) -> Value:
    """Which alerts of the asked catalogue (or of all three) the molecule raises, each named."""
    if prop.key == "alerts":
        raised = {c: [a.name for a in result.alerts if a.catalogue == c] for c in ("PAINS", "Brenk", "NIH")}
        count = sum(len(names) for names in raised.values())
        if not count:
            return Value("no structural alerts (PAINS, Brenk, NIH)", 0, result.ref)
        listed = "; ".join(f"{c}: {', '.join(names)}" for c, names in raised.items() if names)
        return Value(f"{count} structural alert{'' if count == 1 else 's'} ({listed})", count, result.ref)
    names = [a.name for a in result.alerts if a.catalogue == prop.key]
    if not names:
        return Value(f"not a {prop.key} hit: no {prop.key} alerts", 0, result.ref)
    plural = "" if len(names) == 1 else "s"
    return Value(
        f"a {prop.key} hit: {len(names)} {prop.key} alert{plural} ({', '.join(names)})", len(names), result.ref
    )


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
