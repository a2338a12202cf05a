"""Deterministic entity linking: which drugs, SMILES and InChIs does a question mention?

The agent runs this on every question before the model sees it, so it must be cheap (a dictionary
lookup per word n-gram, no regex alternation over thousands of names) and conservative (short or
everyday names like "iron" or "water", and English words that happen to parse as SMILES, are ignored).
Structures are read wherever they stand: quoted, in brackets or parentheses, or followed by punctuation.

For the safety screen, ``controlled=True`` also links every name of the listed controlled agents (common
names, IUPAC names, codes, InChIKeys, CAS numbers, and the lexicon's names in other languages and scripts)
and generic terms such as "nerve agent". Those names make one regex alternation, which tolerates the
spelling freedom of systematic names (spaces or hyphens between name parts, any bracket style). Short
codes ("GB", "HD", "VR") have everyday meanings, so they count only case-sensitively and next to a
chemistry word or another controlled name; so do names that are everyday words in their language and
descriptions of an agent by the attack it was used in, next to a weapon or chemistry word.
"""

from __future__ import annotations

import re
import threading
from functools import cache, lru_cache

from pydantic import BaseModel
from rdkit import Chem

from txscout.tools.chemistry.names import name_index, normalise
from txscout.tools.chemistry.safety import Term, agent_by_cas, agent_by_inchikey, controlled_terms

_TOKEN = re.compile(r"\S+")
_STRIP = "\"'`“”‘’.,;:!?"
_SMILES_TOKEN = re.compile(r"^[A-Za-z0-9@+\-\[\]\(\)=#$/\\%.*]+$")
_SMILES_SPECIAL = re.compile(r"[\[\]\(\)=#@/\\]|[a-zA-Z]\d")
_PLAIN_ATOMS = re.compile(r"^(?:Cl|Br|[CNOSPFIcnos])+$")
_LABEL = re.compile(r"^(?:smiles|structure)[:=]", re.IGNORECASE)
_INCHIKEY = re.compile(r"(?<![A-Z0-9])[A-Z]{14}-[A-Z]{10}-[A-Z](?![A-Z0-9])")
_CAS = re.compile(r"(?<![\d\-])\d{2,7}-\d{2}-\d(?![\d\-])")
_SEPARATOR = r"[\s\-\u2010-\u2015_]*"
_ANTI = r"(?<!anti-)(?<!anti )(?<!anti- )"  # "British anti-Lewisite" is the antidote
_EDGE_BEFORE = r"(?<![A-Za-z0-9])" + _ANTI
_EDGE_AFTER = r"(?![A-Za-z0-9])"
_CONTEXT = 80
_COMPOUND_HEADS = (
    r"(?:vergiftung|angriff|anschlag|herstellung|synthese|produktion|exposition|nachweis|einsatz|opfer|"
    r"behandlung|gegenmittel|antidot|gas|dampf|menge|dosis|vorrat|bestand|munition|waffe)\w*"
)
"""German writes "Sarinvergiftung" as one word: a name may head such a compound."""
_CHEMISTRY_CONTEXT = re.compile(
    r"\b(?:nerve|agents?|chemicals?|chemistry|weapon\w*|gas|gases|toxic\w*|toxins?|poison\w*|lethal|deadly|"
    r"cwc|opcw|organophosph\w*|phosphon\w*|mustards?|vesicants?|blister\w*|military|warfare|munitions?|"
    r"synthes\w*|precursors?|reagents?|molecules?|compounds?|substances?|react\w*|analog\w*|homolog\w*|alcohols?|"
    # the same in the screen's other languages (accents already dropped by fold)
    r"neurotox\w*|nerv\w*|kampfstoff\w*|giftgas\w*|chimique\w*|quimic\w*|chimic\w*|agente\w*|armes?|"
    r"armas?|waffe\w*|toxique\w*|toxico\w*|tossic\w*|giftig\w*|gaz|gas|отравля\w*|нервно\w*|боев\w*|"
    r"химическ\w*|химик\w*|вещество\w*|газ\w*|токсин\w*|синтез\w*|прекурсор\w*|ОВ)\b|"
    r"神经毒剂|毒剂|毒气|化学武器|神経剤|化学兵器|毒ガス|신경작용제|화학무기|غاز|كيميائي|كيماوي|سلاح",
    re.IGNORECASE,
)
_WEAPON_CONTEXT = re.compile(
    _CHEMISTRY_CONTEXT.pattern + r"|\b(?:attack\w*|incident|assassinat\w*|murder\w*|kill\w*|victims?|"
    r"attentat\w*|attaque\w*|empoisonn\w*|anschlag\w*|vergift\w*|attentado\w*|ataque\w*|envenen\w*|"
    r"attacco|avvelen\w*|atentado|атак\w*|теракт\w*|отрав\w*|убийств\w*|яд\w*)\b|"
    r"袭击|事件|毒|攻撃|暗殺|هجوم|تسميم|اغتيال",
    re.IGNORECASE,
)


class LinkedMolecule(BaseModel):
    mention: str
    smiles: str
    """Canonical SMILES; empty for a controlled agent without a small-molecule structure or a generic class term."""
    name: str | None = None


_LOCK = threading.Lock()


@cache
def _linkable() -> tuple[dict[str, int], int]:
    names = name_index().linkable_names()
    longest = max(len(k.split()) for k in names)
    return names, longest


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _clean(token: str) -> str:
    token = _LABEL.sub("", token.strip(_STRIP)).strip(_STRIP)
    while len(token) > 2 and token[0] + token[-1] in ("()", "{}") and _balanced(token[1:-1]):
        token = token[1:-1].strip(_STRIP)  # "(CC(C)OP(C)(=O)F)": no SMILES starts with a parenthesis
    if token.startswith("(") and token.count("(") > token.count(")"):
        token = token[1:]
    if token.endswith(")") and token.count(")") > token.count("("):
        token = token[:-1]
    return token


@lru_cache(maxsize=4096)
def _structure(token: str) -> str | None:
    """Canonical SMILES of a token written as an InChI or as SMILES (bare or inside square brackets)."""
    if token.startswith("InChI="):
        mol = Chem.MolFromInchi(token, logLevel=None)
        return Chem.MolToSmiles(mol) if mol is not None and mol.GetNumHeavyAtoms() > 0 else None
    smiles = _smiles_candidate(token)
    if smiles is None and len(token) > 2 and token[0] + token[-1] == "[]":
        smiles = _smiles_candidate(token[1:-1])
    return smiles


def _smiles_candidate(token: str) -> str | None:
    """Canonical SMILES if ``token`` looks deliberately written as SMILES and parses."""
    if len(token) < 2 or not _SMILES_TOKEN.match(token) or not any(c in token for c in "Cc"):
        return None
    special = bool(_SMILES_SPECIAL.search(token))
    plain = len(token) >= 4 and bool(_PLAIN_ATOMS.match(token)) and len(set(token.upper()) - {"L", "R"}) >= 2
    if not (special or plain):
        return None
    if token.isalpha() and token[0].isupper() and token[1:].islower():  # a capitalised word, e.g. "Cocos"
        return None
    mol = Chem.MolFromSmiles(token)
    if mol is None or mol.GetNumHeavyAtoms() < 2:
        return None
    return Chem.MolToSmiles(mol)


_BRACKET_CLASSES = {"(": r"[(\[{]", "[": r"[(\[{]", "{": r"[(\[{]", ")": r"[)\]}]", "]": r"[)\]}]", "}": r"[)\]}]"}
_QUOTES = "'\u2019\u2032"


def _parts(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9\-\u2010-\u2015]", text)


def _part_pattern(part: str) -> str:
    return _BRACKET_CLASSES.get(part, r"['\u2019\u2032]" if part in _QUOTES else re.escape(part))


def _tail(text: str) -> str:
    """What may follow a name inside its word, and its right edge.

    A Latin-script name is a whole word, allowing an English plural or the head of a German compound
    ("Sarinvergiftung"). Other alphabets inflect and take attached particles (Russian "зарином", Arabic
    "بالسارين"), and Chinese and Japanese have no spaces, so those names are found inside words; they
    are long enough not to occur inside others by chance.
    """
    return f"(?:e?s|{_COMPOUND_HEADS})?" + _EDGE_AFTER if text[-1].isascii() else ""


def _atoms(text: str) -> list[str]:
    """A name as a sequence of single-character patterns, so that many names share one prefix tree."""
    atoms: list[str] = []
    for i, part in enumerate(_parts(text)):
        if i:
            atoms.append(_SEPARATOR)
        if part.isascii() and part.isalnum():
            atoms.extend(re.escape(c) for c in part.lower())
        else:
            atoms.append(_part_pattern(part.lower()))
    return [*atoms, _tail(text)]


def _trie_pattern(texts: list[str]) -> str:
    """One pattern for many names, factored by common prefix (a plain alternation of hundreds of names
    tries each at every position; the tree tries a handful). Longer names come before their prefixes."""
    root: dict = {}
    for text in sorted(texts, key=len, reverse=True):
        node = root
        for atom in _atoms(text):
            node = node.setdefault(atom, {})
        node[None] = {}

    def emit(node: dict) -> str:
        branches = [atom + emit(child) for atom, child in node.items() if atom is not None]
        if None in node:
            branches.append("")
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(root) if root else "(?!)"


def _names_pattern(texts: list[str]) -> re.Pattern[str]:
    """Names that start in ASCII need a word edge before them; names in other scripts may be attached."""
    latin = [t for t in texts if t[0].isascii()]
    other = [t for t in texts if not t[0].isascii()]
    return re.compile(f"{_EDGE_BEFORE}{_trie_pattern(latin)}|{_ANTI}{_trie_pattern(other)}", re.IGNORECASE)


_KEY_DROP = re.compile(r"[\s\-\u2010-\u2015_]")
_KEY_BRACKETS = str.maketrans("[{]}\u2019\u2032", "(())''")
_KEY_TAIL = re.compile(f"(?:e?s|{_COMPOUND_HEADS})?", re.IGNORECASE)


def _name_key(text: str) -> str:
    """A name as the patterns read it: no case, spaces or hyphens, one bracket and one quote style."""
    return _KEY_DROP.sub("", text.lower()).translate(_KEY_BRACKETS)


@cache
def _controlled() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], dict[str, Term]]:
    """(names, contextual names, codes, the term each found text denotes): the trees find, the keys identify."""
    terms = sorted(controlled_terms(), key=lambda t: len(t.text), reverse=True)  # longest alternative first
    names = [t for t in terms if not t.code and not t.contextual]
    contextual = [t for t in terms if t.contextual]
    codes = [t for t in terms if t.code]
    name_re = _names_pattern([t.text for t in names])
    contextual_re = _names_pattern([t.text for t in contextual])
    code_re = re.compile(_EDGE_BEFORE + "(?:" + "|".join(re.escape(t.text) for t in codes) + ")" + _EDGE_AFTER)
    keys: dict[str, Term] = {}
    for term in names + contextual:
        keys.setdefault(_name_key(term.text), term)
    for term in codes:
        keys.setdefault(term.text, term)  # codes are case-sensitive, so their key is themselves
    return name_re, contextual_re, code_re, keys


def _term_of(found: str, keys: dict[str, Term]) -> Term:
    """The term a matched text denotes: a code as written, a name by its key, less a plural or compound head."""
    if found in keys:
        return keys[found]
    key = _name_key(found)
    return next(keys[key[:i]] for i in range(len(key), 0, -1) if key[:i] in keys and _KEY_TAIL.fullmatch(key[i:]))


@cache
def _canonical(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else ""


def _covered(text: str, spans: list[tuple[int, int]]) -> bytearray:
    mask = bytearray(len(text))
    for start, end in spans:
        mask[start:end] = b"\x01" * (end - start)
    return mask


def _near(text: str, match: re.Match[str], context: re.Pattern[str], named: bytearray) -> bool:
    near = slice(max(0, match.start() - _CONTEXT), match.end() + _CONTEXT)
    return not named[match.start()] and (any(named[near]) or bool(context.search(text[near])))


def _controlled_mentions(text: str, *, codes: bool = True) -> list[tuple[int, int, LinkedMolecule]]:
    """Names anywhere; an everyday word or attack description with a weapon or chemistry word within
    ``_CONTEXT`` characters; a code with a chemistry word or a controlled name that near; CAS numbers and
    InChIKeys of listed agents. ``codes=False`` looks for names only (the view of the text that reads
    digits as letters has no codes, numbers or keys left in it)."""
    with _LOCK:
        name_re, contextual_re, code_re, keys = _controlled()
    hits = list(name_re.finditer(text))
    named = _covered(text, [m.span() for m in hits])
    hits += [m for m in contextual_re.finditer(text) if _near(text, m, _WEAPON_CONTEXT, named)]
    named = _covered(text, [m.span() for m in hits])
    if codes:
        hits += [m for m in code_re.finditer(text) if _near(text, m, _CHEMISTRY_CONTEXT, named)]
    found = []
    for m in hits:
        term = _term_of(m.group(), keys)
        smiles = _canonical(term.smiles) if term.smiles else ""
        found.append((m.start(), m.end(), LinkedMolecule(mention=m.group(), smiles=smiles, name=term.label)))
    if not codes:
        return found
    for m in _INCHIKEY.finditer(text):
        agent = agent_by_inchikey(m.group())
        if agent is not None:
            linked = LinkedMolecule(mention=m.group(), smiles=_canonical(agent[1]), name=agent[0])
            found.append((m.start(), m.end(), linked))
    for m in _CAS.finditer(text):
        agent = agent_by_cas(m.group())
        if agent is not None:
            linked = LinkedMolecule(mention=m.group(), smiles=_canonical(agent[1]) if agent[1] else "", name=agent[0])
            found.append((m.start(), m.end(), linked))
    return found


def controlled_names(text: str) -> list[LinkedMolecule]:
    """Every mention of a listed agent's name (no codes, structures or numbers) in ``text``."""
    return [linked for _, _, linked in sorted(_controlled_mentions(text, codes=False), key=lambda h: h[0])]


def find_molecules(text: str, *, controlled: bool = False, every_mention: bool = False) -> list[LinkedMolecule]:
    """Drug names (longest match first, whole words, case-insensitive), SMILES and InChIs mentioned in ``text``.

    ``controlled`` also links the listed controlled agents and chemical-weapon class terms by name.
    ``every_mention`` keeps each distinct mention, not only the first of each molecule (the safety screen
    needs to see every place a molecule is named).
    """
    with _LOCK:
        names, longest = _linkable()
    index = name_index()
    hits = _controlled_mentions(text) if controlled else []
    taken = _covered(text, [(start, end) for start, end, _ in hits])
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text) if not any(taken[m.start() : m.end()])]
    # next_gap[i]: the first j > i with a linked controlled name between tokens j-1 and j (an n-gram never spans one)
    next_gap = [len(tokens) + 1] * (len(tokens) + 1)
    for j in range(len(tokens) - 1, 0, -1):
        next_gap[j - 1] = j if text[tokens[j - 1][1] : tokens[j][0]].strip() else next_gap[j]
    i = 0
    while i < len(tokens):
        matched = 0
        for n in range(min(longest, len(tokens) - i), 0, -1):
            if next_gap[i] < i + n:
                continue
            span = text[tokens[i][0] : tokens[i + n - 1][1]]
            key = normalise(_clean(span))
            if key in names:
                entry = index.entries[names[key]]
                mol = Chem.MolFromSmiles(entry.smiles)
                if mol is not None:
                    linked = LinkedMolecule(mention=_clean(span), smiles=Chem.MolToSmiles(mol), name=entry.name)
                    hits.append((tokens[i][0], tokens[i + n - 1][1], linked))
                matched = n
                break
        if matched:
            i += matched
            continue
        token = _clean(text[tokens[i][0] : tokens[i][1]])
        smiles = _structure(token)
        if smiles is not None:
            hits.append((tokens[i][0], tokens[i][1], LinkedMolecule(mention=token, smiles=smiles)))
        i += 1
    found: list[LinkedMolecule] = []
    seen: set[str] = set()
    for _, _, linked in sorted(hits, key=lambda h: h[0]):
        key = linked.mention.lower() if every_mention else (linked.name or linked.smiles)
        if key not in seen:
            seen.add(key)
            found.append(linked)
    return found
