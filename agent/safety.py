"""The chemical safety gate: the question screen before any model call, and the refusal that replaces a draft.

Two lines of defence, both deterministic:

1. ``screen_question`` runs at the start of every run, in every mode, before the model is called. It links
   the agents the question mentions in any language or disguise, puts each through the structure gate,
   and decides on the agent, not the English wording:

   - A question that links a CWC schedule 1 agent, a schedule 1 precursor or a listed toxin (ricin,
     saxitoxin, abrin, botulinum toxin, tetrodotoxin) is refused unless it is clearly protective:
     treatment, antidotes, detection, decontamination, verification, history, policy, symptoms,
     preparedness or training. Protective wins only when nothing in the question asks to make, get,
     weaponise or spread the agent, names a lethal dose, evades detection or wraps the request in fiction
     or role play (``screen_words.HARM``, and the English intent patterns below for making and getting).
   - A question that links any other listed chemical (schedule 2 and 3: phosgene, thiodiglycol), a drug
     that merely resembles an agent (echothiophate), or only a class term ("nerve agent") is refused when
     it asks for harm, as before.

2. Tools still check every structure they see; once any tool flags one, the model's draft is replaced by
   the refusal. That catches what the question never names (a structure the model looks up itself).

The refusal keeps the public safety information (hazard, first aid and antidotes) of each flagged agent,
so a neutral question ("tell me about sarin") still gets the facts that matter for safety.

Linking covers names in English and the lexicon's languages and scripts (Latin, Cyrillic, CJK, Arabic),
CAS numbers, military codes (next to a chemistry word only: "GB" is also gigabytes), the attack an agent
was used in ("the agent used on Skripal"), SMILES, InChI and InChIKeys. Before linking the question is
folded: NFKC, no invisible characters, no accents, look-alike letters of other scripts read as Latin in
mixed words, letters spelled out one by one joined; a second view reads digits as letters ("s4r1n").

The trade-off: linking is language-blind, the protective allow-list is not (``screen_words.PROTECTIVE``
covers English, French, German, Spanish, Italian, Portuguese, Russian, Chinese, Japanese, Korean and
Arabic). A protective question in another language, a neutral question ("what is VX?") or a protective
one in fiction is refused, with the safety facts; we accept those refusals so that no rewording of a
request gets past. A question that does not link the agent at all (an unlisted analogue described only
in words) still reaches the model, and the tools' structure checks stand behind it.

How English intent is read (``intent_patterns``): every flagged mention in the lower-cased question
becomes the token ``AGENT``; a request is a pattern over that text. Verb patterns need the agent (or a
pronoun standing for it) as the object, with only determiners and quantity words between ("make 5 g of
pure AGENT"), or as the subject of a passive ("how is AGENT made"). Noun patterns need it as their
complement ("synthesis of AGENT"). An agent followed by a protective noun ("AGENT antidote") is not an
object, so "how do I prepare a sarin antidote kit" is answered. Making and getting (synthesis,
acquisition) win over protective words; a weaponising or spreading word found by these patterns may be a
noun in a protective question ("symptoms after release of sarin", "destruction of VX stockpiles"), so it
refuses only a question that is not protective. A CWC precursor that the question would react, mix or
combine is a synthesis request too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from txscout.core.events import SafetyFlagged

if TYPE_CHECKING:
    from txscout.tools.chemistry.linking import LinkedMolecule

SCREEN_TOOL = "question_screen"
"""The ``tool`` named by a flag the question screen raises (tools name themselves)."""

_AGENT = "AGENT"

# Words that may stand between a verb and its object without changing what is asked for.
_FILLER = (
    r"(?:a|an|the|some|any|more|enough|much|pure|purer|crude|home-?made|small|large|big|bulk|amounts?|"
    r"quantit(?:y|ies)|batch(?:es)?|samples?|of|\d+(?:[.,]\d+)?|mg|g|kg|grams?|kilo(?:gram)?s?|lbs?|pounds?|"
    r"tons?|tonnes?|ounces?|oz|ml|l|lit(?:er|re)s?|gallons?|drums?|barrels?|my|own|our|your|their|his|her|"
    r"me|us|myself|ourselves|yourself|stable|stabili[sz]ed|usable|working|functional|real|actual|genuine|"
    r"lethal|deadly|toxic|potent|effective|military-grade|weapons?-grade|weaponi[sz]ed|nerve|agents?|gas|"
    r"gases|toxins?|chemicals?|compounds?|substances?|liquids?|vapou?r|forms?|versions?|analog(?:ue)?s?|"
    r"derivatives?|homologues?|binary|such|as|like|this|that|these|those|new|novel|cheap|little|bit|lots?|"
    r"few|doses?|kind|type|sort|highly|very|concentrated|high-purity)"
)
# Nouns that make a mention of the agent protective rather than the thing asked for.
_PROTECTIVE = (
    r"(?:antidotes?|treatments?|therap\w*|chemotherapy|infusions?|ointment|gel|regimen|drugs?|medications?|"
    r"poisoning|exposures?|intoxication|toxicity|casualt\w*|victims?|patients?|survivors?|symptoms?|signs?|"
    r"detection|detectors?|sensors?|tests?|testing|assays?|kits?|monitor\w*|alarms?|decontamina\w*|"
    r"protection|protective|defen[cs]es?|countermeasures?|vaccines?|scavengers?|pretreatment|prophylaxis|"
    r"antagonists?|research|hydrolysis|degradation|destruction|disposal|neutrali[sz]ation|simulants?|"
    r"surrogates?|resistan\w*|proof|attacks?|incidents?|emergenc\w*|events?|preparedness|readiness|response)"
)
_OBJ_AGENT = (
    rf"{_AGENT}(?!(?:\s*-?\s*(?:gas|gases|nerve|agents?|vapou?r|liquid|chemical|weapons?))*\s*-?\s*{_PROTECTIVE}\b)"
)
_ADVERB = (
    r"(?:still|actually|really|typically|usually|first|originally|easily|best|ever|industrially|commercially|"
    r"legally|illegally|safely|stably|effectively|readily|normally|generally|currently|secretly|historically|"
    r"then|now|also|even|most|more|not|never|be|been|being)"
)
_GAP = rf"(?:(?:{_FILLER}|{_ADVERB}|can|could|would|should|might|may|must|will)\s+){{0,3}}"
_PRONOUN = (
    r"(?:it|them|this|these|those|some|one)"
    r"(?=\s*(?:[?.!,;:]|$)|\s+(?:at|from|using|with|in|out|myself|yourself|ourselves|step|quickly|cheaply|"
    r"safely|without|for\s+(?:me|us|an?\s+attack)))"
)
_OBJECT = rf"(?:{_FILLER}\s+){{0,5}}(?:{_OBJ_AGENT}|{_PRONOUN})"

_VERBS = {
    "synthesis": (
        r"make|making|synthesi[sz]e|synthesi[sz]ing|synthesi[sz]ed|prepare|preparing|produce|"
        r"producing|manufactur(?:e|es|ed|ing)|brew(?:ing)?|cook(?:ing)?|create|creating|"
        r"generate|generating|concoct(?:ing)?|distil(?:l|ling|ing)?|purify(?:ing)?|isolate|isolating|"
        r"extract(?:ing)?|mass-produce|scale\s+up|whip\s+up|cook\s+up|put\s+together"
    ),
    "acquisition": (
        r"buy(?:ing)?|purchas(?:e|ing)|acquir(?:e|ing)|obtain(?:ing)?|procur(?:e|ing)|order(?:ing)?|sourcing|"
        r"smuggl(?:e|ing)|steal(?:ing)?|import(?:ing)?|sell(?:s|ing)?|get\s+hold\s+of|"
        r"get\s+(?:my|our|their)\s+hands\s+on"
    ),
    "enhancement": (
        r"weaponi[sz](?:e|ing)|stabili[sz](?:e|ing)|enhanc(?:e|ing)|boost(?:ing)?|strengthen(?:ing)?|"
        r"optimi[sz](?:e|ing)|thicken(?:ing)?|encapsulat(?:e|ing)|concentrat(?:e|ing)|stockpil(?:e|ing)|"
        r"formulat(?:e|ing)"
    ),
    "dissemination": (
        r"dispers(?:e|ing)|disseminat(?:e|ing)|aerosoli[sz](?:e|ing)|spray(?:ing)?|releas(?:e|ing)|"
        r"deploy(?:ing)?|deliver(?:ing)?|spread(?:ing)?|vapori[sz](?:e|ing)|atomi[sz](?:e|ing)|"
        r"pour(?:ing)?|dump(?:ing)?|inject(?:ing)?|plant(?:ing)?|conceal(?:ing)?|hid(?:e|ing)|transport(?:ing)?"
    ),
}
_PARTICIPLES = {
    "synthesis": (
        r"made|synthesi[sz]ed|prepared|produced|manufactured|brewed|cooked|generated|created|extracted|"
        r"purified|isolated|distill?ed|mass-produced|scaled\s+up"
    ),
    "acquisition": r"obtained|bought|purchased|acquired|procured|ordered|smuggled|stolen|sourced|sold",
    "enhancement": r"weaponi[sz]ed|stabili[sz]ed|enhanced|concentrated|stockpiled|formulated",
    "dissemination": r"aerosoli[sz]ed|disseminated|dispersed|deployed|delivered|sprayed|vapori[sz]ed",
}
_NOUNS = {
    "synthesis": (
        r"synthes[ie]s|production|manufactur(?:e|ing)|preparation|recipes?|route|procedure|protocol|"
        r"instructions|directions|method|steps|precursors?|reagents?|ingredients|starting\s+materials?|"
        r"purification|extraction|components|chemicals\s+(?:needed|required)"
    ),
    "acquisition": r"purchase|acquisition|suppliers?|vendors?|sellers?",
    "enhancement": r"weaponi[sz]ation|formulation|stabili[sz]ation|stabili[sz]ers?|additives?|stockpiles?",
    "dissemination": r"dissemination|dispersal|delivery|deployment",
}
_COMPOUND_NOUN = r"process|route|steps|method|procedure|plant|facility|line|instructions|conditions"
_AUX = r"(?:be|is|are|was|were|been|being|get|gets|got|gotten)"
_MODAL = r"(?:is|are|was|were|can|could|would|should|might|may|must|will|do|does|did)"
_FRONTED = r"(?:is|are|was|were|can|could|would|should|might|may|must|will)"
_WHO = r"(?:i|we|you|one|someone|somebody|people|they|he|she|a\s+person|terrorists?|a\s+chemist|a\s+character)"
_ANYWHERE = {
    "synthesis": (
        r"\b(?:synthetic|synthesis)\s+(?:route|pathway|method|procedure|scheme|steps?|protocol|recipe|conditions)|"
        r"\broute\s+of\s+synthesis\b|\bstep[- ]by[- ]step\s+(?:synthesis|recipe|production|instructions)\b|"
        r"\brecipes?\b|\bprecursors?\b|\bstarting\s+materials?\b|"
        r"\breagents?\s+(?:\w+\s+){0,2}(?:convert|give|yield|form|make|produce|needed|required|to\s+make|"
        r"to\s+prepare|to\s+synthesi[sz]e)"
    ),
    "acquisition": r"\bdark\s?(?:web|net)\b|\bblack\s+market\b",
    "enhancement": (
        r"\bweaponi[sz]\w*|\bweapons?[- ]grade\b|\bmilitary[- ]grade\b|\bmunitions?\b|\bwarheads?\b|"
        r"\bbinary\s+(?:weapon|munition|agent|system|precursor)s?\b|"
        r"\b(?:potency|toxicity|lethality|persistence|volatility|shelf[- ]life|purity)\s+(?:\w+\s+){0,2}"
        r"(?:be\s+)?(?:increased|improved|enhanced|boosted|maximi[sz]ed|raised|extended|prolonged)\b|"
        rf"\bhow\s+(?:{_MODAL}\s+)?(?:{_WHO}\s+)?(?:to\s+)?(?:increase|improve|enhance|boost|maximi[sz]e|raise|"
        r"extend|prolong)\s+(?:\w+\s+){0,2}(?:potency|toxicity|lethality|yield|stability|persistence|"
        r"volatility|shelf[- ]life|purity|effectiveness|range)\b"
    ),
    "dissemination": (
        r"\baerosoli[sz]\w*|\bdisseminat\w*|\bdispersal\b|"
        r"\bdelivery\s+(?:system|device|mechanism|vehicle|method)s?\b|"
        r"\b(?:mass|maximum|max)\s+casualt\w*|"
        r"\bmaximi[sz]e\s+(?:the\s+)?(?:casualties|deaths|damage|harm|exposure|effect|lethality)\b|"
        r"\b(?:without|avoid|avoiding|evade|evading)\s+(?:getting\s+|being\s+)?(?:caught|detect\w*|notic\w*|"
        r"suspicion|customs|police|authorities|border)|"
        r"\b(?:releas|put|pour|spray|pump|introduc|inject|dump|vent|blow|get|deliver|dispers|add|slip)\w*\s+"
        r"(?:\w+\s+){0,4}into\s+(?:a|an|the)\s+(?:\w+\s+)?(?:ventilation|hvac|air[- ]conditioning|water\s+supply|"
        r"water\s+system|subway|crowd|building|room|stadium)\b"
    ),
}


@cache
def intent_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """(intent, pattern) pairs over the lower-cased question with each flagged mention replaced by ``AGENT``.

    Compiled on first use, not on import: compiling them is slow enough to notice in the CLI's start-up.
    """
    patterns: list[tuple[str, str]] = []
    for intent, verbs in _VERBS.items():
        patterns.append((intent, rf"\b(?:{verbs})\s+{_OBJECT}"))
        patterns.append((intent, rf"\bhow\s+(?:{_MODAL}\s+)?(?:{_WHO}\s+)?(?:to\s+)?(?:{verbs})\s*(?:[?.!]|$)"))
    # "he makes sarin at home", but not the causative "what makes sarin toxic"
    patterns.append(("synthesis", rf"\bmakes\s+{_OBJECT}(?=\s*(?:[?.!,;:]|$)|\s+(?:at|in|from|with|using|for|by)\b)"))
    for intent, participles in _PARTICIPLES.items():
        # AGENT as the subject of a passive: "AGENT is made", "can AGENT be made", "how is AGENT weaponised"
        patterns.append((intent, rf"{_OBJ_AGENT}\s+{_GAP}{_AUX}\s+{_GAP}(?:{participles})\b"))
        patterns.append((intent, rf"\b{_FRONTED}\s+(?:{_FILLER}\s+){{0,5}}{_OBJ_AGENT}\s+{_GAP}(?:{participles})\b"))
    for intent, nouns in _NOUNS.items():
        patterns.append((intent, rf"\b(?:{nouns})(?:\s+(?:{_COMPOUND_NOUN}))?\s+(?:of|for|to|towards)\s+{_OBJECT}"))
        patterns.append((intent, rf"{_OBJ_AGENT}\s+(?:{_FILLER}\s+)?(?:{nouns})\b"))
    for intent, anywhere in _ANYWHERE.items():
        patterns.append((intent, anywhere))
    # acquisition and harmful use, phrased around the agent rather than with a single verb
    patterns += [
        (
            "acquisition",
            rf"\bwhere\s+(?:{_MODAL}|to)\s+(?:{_WHO}\s+)?(?:get|find|buy|obtain|order)\b"
            r"(?!\s+(?:trained|training|treated|treatment|tested|help|advice|information|certified|vaccinated)\b)",
        ),
        ("enhancement", rf"\badded\s+to\s+{_OBJECT}"),
        ("synthesis", rf"\b(?:convert|turn|transform)\w*\s+(?:\w+\s+){{0,4}}(?:into|to)\s+{_OBJECT}"),
        ("synthesis", rf"\bto\s+(?:get|give|form|yield|obtain|make|produce)\s+{_OBJECT}"),
        (
            "dissemination",
            rf"\b(?:use|using|employ|employing)\s+(?:{_FILLER}\s+){{0,5}}{_OBJ_AGENT}\s+"
            r"(?:to|against|on|as\s+a\s+weapon|in\s+an?\s+attack)\b",
        ),
        (
            "dissemination",
            r"\b(?:kill|murder|assassinat|poison|harm|hurt|incapacitat|attack|target)\w*\s+"
            r"(?:(?!that\b|which\b|who\b|was\b|were\b|is\b|are\b|been\b)\w+\s+){1,4}"
            rf"(?:with|using)\s+{_OBJECT}",
        ),
        (
            "dissemination",
            r"\b(?:lace|spike|contaminat|taint|poison)\w*\s+(?:\w+\s+){0,4}with\s+" + _OBJECT,
        ),
        ("dissemination", rf"\b(?:put|add|slip|mix)\w*\s+{_OBJECT}\s+(?:in|into|to)\b"),
        (
            "dissemination",
            rf"(?<!avoid )(?<!prevent )(?<!not )\bexpos(?:e|ing)\s+(?:\w+\s+){{0,3}}to\s+{_OBJECT}",
        ),
        (
            "dissemination",
            rf"\b(?:ways?|methods?|means)\s+(?:to|of)\s+(?:use|using|deploy\w*|employ\w*)\s+{_OBJECT}",
        ),
        (
            "dissemination",
            r"\b(?:plan|prepar|carry\s+out|carrying\s+out|execut|launch|stag|conduct|commit)\w*\s+"
            rf"(?:{_FILLER}\s+){{0,5}}{_AGENT}\s+attacks?\b",
        ),
    ]
    return [(intent, re.compile(p)) for intent, p in patterns]


_SPELLED_OUT = re.compile(r"(?<![A-Za-z])(?:[A-Za-z][ .\-]){3,}[A-Za-z](?![A-Za-z])")
_PRECURSOR_USE = re.compile(
    r"\b(?:react\w*|combin\w*|mix\w*|heat\w*|convert\w*|yield\w*|fluorinat\w*)\b|"
    r"反应|混合|реакц\w*|смеш\w*|reagi\w*|mezcl\w*|misch\w*|melang\w*",
    re.IGNORECASE,
)
"""A precursor put to use is a synthesis request: "what does methylphosphonyl difluoride react with"."""
_WRAPPERS = re.compile(r"[()\[\]{}\"`*_]|(?<!\w)'|'(?!\w)")
_OBJECT_AWARE = ("synthesis", "acquisition")
"""The English intents that win over protective words. A weaponising or spreading verb found by the
patterns may be a noun in a protective question ("symptoms after release of sarin", "destruction of VX
stockpiles"); ``screen_words.HARM`` has the forms of those that always win ("how do I release ...")."""

DECISIVE_CATEGORIES = frozenset({"CWC schedule 1 agent", "CWC schedule 1 precursor", "Australia Group listed toxin"})
"""Agents whose mere linking refuses a question unless it is clearly protective."""


def normalise_question(question: str) -> str:
    """Read text as it looks: NFKC (full-width letters), no invisible format characters (a zero-width space
    inside a name), no accents, look-alike letters of other scripts read as Latin in mixed words, and no
    letters spelled out one by one ("s a r i n")."""
    from txscout.tools.chemistry.lexicon import fold

    return _SPELLED_OUT.sub(lambda m: re.sub(r"[ .\-]", "", m.group()), fold(question))


@dataclass(frozen=True)
class Screening:
    """What the screen found: the flagged mentions, the request it read, and whether the question is protective."""

    flags: list[SafetyFlagged]
    intent: str | None
    """The harmful request read: "synthesis", "acquisition", "enhancement", "dissemination", "lethal dose",
    "evasion" or "fiction"."""
    harm: bool = False
    """The request wins over protective words (making or getting the agent, or a cue from ``HARM``)."""
    protective: bool = False
    """The question reads as treatment, antidotes, detection, decontamination, verification, history,
    policy, symptoms, preparedness or training."""
    decisive: bool = False
    """A flag names a scheduled agent, a schedule 1 precursor or a listed toxin (not a drug that merely
    resembles one): then the agent decides, not the wording."""

    @property
    def requested(self) -> bool:
        """The question asks for harm with a flagged agent (the test for a direct tool call's arguments)."""
        return bool(self.flags) and self.intent is not None and (self.harm or not self.protective)

    @property
    def refused(self) -> bool:
        return self.requested or (bool(self.flags) and self.decisive and not self.protective)

    @property
    def reason(self) -> str | None:
        if not self.refused:
            return None
        return self.intent if self.requested else "not protective"


def _agent_text(question: str, mentions: list[str]) -> str:
    """The lower-cased question with each mention of a flagged agent replaced by ``AGENT``."""
    spans = sorted(
        {
            (m.start(), m.end())
            for mention in mentions
            for m in re.finditer(
                r"(?<![A-Za-z0-9])" + re.escape(mention) + r"(?![A-Za-z0-9])", question, flags=re.IGNORECASE
            )
        }
    )
    parts, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        parts += [question[last:start].casefold(), f" {_AGENT} "]
        last = end
    parts.append(question[last:].casefold())
    text = re.sub(rf"{_AGENT}\s*['\u2019]s\b", _AGENT, "".join(parts))  # "AGENT's toxicity"
    return " ".join(_WRAPPERS.sub(" ", text).split())


def requested_intent(question: str, mentions: list[str]) -> str | None:
    """The first harmful request ("synthesis", "acquisition", "enhancement", "dissemination") about the
    mentions that the English patterns read."""
    if not mentions:
        return None
    text = _agent_text(question, mentions)
    return next((intent for intent, pattern in intent_patterns() if pattern.search(text)), None)


def _flag(linked: LinkedMolecule) -> tuple[SafetyFlagged, bool] | None:
    """The flag for one linked mention, and whether it is decisive, or None if it names nothing listed."""
    from txscout.tools.chemistry.safety import check_class, check_name, check_structure

    match = (
        (check_structure(linked.smiles) if linked.smiles else None)
        or check_name(linked.name or linked.mention)
        or check_class(linked.name or "")
    )
    if match is None:
        return None
    flag = SafetyFlagged(
        tool=SCREEN_TOOL,
        molecule=linked.smiles or linked.mention,
        matched=match.matched,
        similarity=match.similarity,
        category=match.category,
    )
    # A drug named by its own name that merely resembles an agent (echothiophate) is not the agent;
    # a structure written out as an analogue is asked about as one.
    is_agent = match.similarity == 1.0 or linked.name is None or linked.name == match.matched
    return flag, match.category in DECISIVE_CATEGORIES and is_agent


def screen(question: str) -> Screening:
    """Link the question's agents in any language or disguise, gate their structures, and decide.

    A question that links a scheduled agent, a schedule 1 precursor or a listed toxin is refused unless it
    is clearly protective and asks for no harm; one that links any other listed chemical or class term is
    refused when it asks for harm.
    """
    from txscout.agent.screen_words import harm_patterns, protective_pattern
    from txscout.tools.chemistry.lexicon import unleet
    from txscout.tools.chemistry.linking import controlled_names, find_molecules
    from txscout.tools.chemistry.safety import CLASS_CATEGORY

    text = normalise_question(question)
    leet = unleet(text)
    views = [(text, find_molecules(text, controlled=True, every_mention=True))]
    if leet != text.lower():
        views.append((leet, controlled_names(leet)))
    flags: list[SafetyFlagged] = []
    decisive = False
    intents: list[str] = []
    read_as: list[list[str]] = []
    for view, linked_mentions in views:
        mentions: list[str] = []
        read_as.append(mentions)
        for linked in linked_mentions:
            found = _flag(linked)
            if found is None:
                continue
            flag, agent = found
            mentions.append(linked.mention)
            decisive = decisive or agent
            if all(f.matched != flag.matched for f in flags):
                flags.append(flag)
        intent = requested_intent(view, mentions)
        if intent is not None:
            intents.append(intent)
    flags.sort(key=lambda f: f.category == CLASS_CATEGORY)  # the named agents first, generic classes after
    if not flags:
        return Screening(flags=[], intent=None)
    words = _agent_text(text, read_as[0])
    cue = next((kind for kind, pattern in harm_patterns() if pattern.search(words)), None)
    if any("precursor" in f.category for f in flags) and _PRECURSOR_USE.search(text):
        intents.append("synthesis")
    strong = [i for i in intents if i in _OBJECT_AWARE]
    intent = next(iter([*strong, *([cue] if cue else []), *intents]), None)
    return Screening(
        flags=flags,
        intent=intent,
        harm=bool(strong) or cue is not None,
        protective=bool(protective_pattern().search(words)),
        decisive=decisive,
    )


def screen_question(question: str, emit: Callable[[SafetyFlagged], None]) -> bool:
    """True when the question must be refused without calling the model; its flags are emitted first.

    A question that is not refused emits nothing, even when it links an agent (a protective question about
    sarin is answered), and the tools' own structure checks still apply to whatever the model looks up.
    """
    result = screen(question)
    if not result.refused:
        return False
    for flag in result.flags:
        emit(flag)
    return True


def guarded_answer(flags: list[SafetyFlagged]) -> str:
    from txscout.tools.chemistry.safety import check_class, check_name, check_structure

    seen: set[str] = set()
    sections = [
        "This question involves a chemical on the controlled or high-risk list. I can't provide guidance on "
        "its synthesis, acquisition, production or use as a weapon. Safety information follows."
    ]
    for flag in flags:
        if flag.matched in seen:
            continue
        seen.add(flag.matched)
        match = check_structure(flag.molecule) or check_name(flag.matched) or check_class(flag.matched)
        similar = f"; structural similarity {flag.similarity:.2f}" if flag.similarity < 1 else ""
        heading = f"**{flag.matched}** ({flag.category}{similar})"
        if match is None:
            sections.append(heading)
            continue
        sections.append(f"{heading}\n\n- Hazard: {match.hazard}\n- Exposure response: {match.exposure_response}")
    sections.append("In an exposure emergency, contact emergency services and a poison control centre.")
    return "\n\n".join(sections)
