"""Refusing a tool call that hands the question to an argument naming one thing.

Small models asked a literature question often call a chemistry tool with the whole question as the
molecule; the resolver then searches for a name that is a sentence, online if it may, and the model
reads a "not found" it cannot learn from. An argument a tool marks as an identifier
(``core.toolkit.IDENTIFIER``: a molecule, a SMARTS pattern) that is the question, or reads as a
sentence, is refused before the tool runs, with a hint the model can act on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from txscout.core.toolkit import IDENTIFIER

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

_FUNCTION_WORDS = frozenset(
    {
        *("a", "an", "the", "is", "are", "was", "were", "be", "been", "does", "do", "did", "what", "which", "who"),
        *("whom", "whose", "why", "how", "when", "where", "can", "could", "should", "would", "will", "may", "might"),
        *("in", "on", "with", "for", "to", "than", "that", "this", "these", "those", "and", "or", "not"),
    }
)
SENTENCE_WORDS = 5
"""Fewest words of an argument that reads as a sentence; names such as "ethyl ester of acetic acid" have as
many, so two function words are needed too."""


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z']+", text.casefold())


def reads_as_sentence(value: str, question: str) -> bool:
    """Whether ``value`` is the question (or most of it) or a sentence rather than a name."""
    text = " ".join(value.split()).casefold()
    asked = " ".join(question.split()).casefold()
    if text and (text == asked or (len(text) > 40 and text in asked)):
        return True
    words = _words(text)
    if text.endswith("?") and len(words) >= 3:
        return True
    return len(words) >= SENTENCE_WORDS and sum(w in _FUNCTION_WORDS for w in words) >= 2


def _identifier_fields(tool: BaseTool) -> list[str]:
    """The arguments the tool's own schema marks (``tool_call_schema`` drops schema extras)."""
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = schema.model_json_schema()
    if not isinstance(schema, dict):
        return []
    properties = schema.get("properties", {})
    return [name for name, spec in properties.items() if isinstance(spec, dict) and spec.get(IDENTIFIER)]


def misplaced_question(tool: BaseTool, args: dict[str, Any], question: str) -> str | None:
    """The refusal of a call that puts a sentence where ``tool`` takes an identifier, or None."""
    for field in _identifier_fields(tool):
        value = args.get(field)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and reads_as_sentence(item, question):
                return (
                    f"{tool.name} was not called: its argument {field!r} takes a molecule (a drug name such as "
                    "'aspirin', or a SMILES), not a sentence or the question. Name the molecule the question is "
                    "about; if it names none, this tool cannot help: search the literature or stored evidence, "
                    "or give the Final Answer."
                )
    return None
