"""Search queries from text: the most specific words of a question or claim, and the argument of a
search tool that carries the query.

Evidence first (``agent.plan.evidence_first``) builds its PubMed query this way before the model's first
step; uncertainty and critique (``agent.research``) build theirs from a disputed point or an unsupported
claim. Both lanes read it here, so neither imports the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from txscout.agent.answers import tokens

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

_QUERY_FIELDS = ("query", "q", "term", "text", "question")

KEYWORDS_PER_QUERY = 5


def query_field(tool: BaseTool) -> str | None:
    """The argument that carries the search text: a conventional name, else the first string field."""
    schema = tool.args_schema
    if schema is None:
        return None
    if isinstance(schema, dict):
        props: dict[str, Any] = schema.get("properties", {})
        names = list(props)
        strings = [n for n in names if props[n].get("type") == "string"]
    else:
        fields = schema.model_fields
        names = list(fields)
        strings = [n for n, f in fields.items() if f.annotation is str]
    for name in _QUERY_FIELDS:
        if name in names:
            return name
    return strings[0] if strings else None


def ranked_keywords(text: str) -> list[str]:
    """Distinct content words of ``text``, most specific first.

    Specific means long, or carrying digits, capitals or hyphens (drug names, genes, mutations,
    doses), which is what a literature query needs; a clinical vignette's filler words rank low.
    Ties keep the original order.
    """
    originals = {w.lower(): w for w in text.replace("/", " ").split()}
    first: dict[str, int] = {}
    for position, word in enumerate(tokens(text)):
        first.setdefault(word, position)

    def score(word: str) -> tuple[int, int]:
        raw = originals.get(word, word)
        marked = any(c.isdigit() for c in word) or "-" in word or any(c.isupper() for c in raw[1:])
        return len(word) + (3 if marked else 0), -first[word]

    return sorted(first, key=score, reverse=True)


def keywords(text: str, limit: int = KEYWORDS_PER_QUERY, skip: int = 0) -> list[str]:
    """The ``limit`` most specific content words after the first ``skip``, in their original order."""
    ranked = ranked_keywords(text)
    chosen = ranked[skip : skip + limit] or ranked[:limit]
    order = {w: i for i, w in enumerate(tokens(text)[::-1])}
    return sorted(chosen, key=lambda w: -order[w])
