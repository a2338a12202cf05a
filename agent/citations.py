"""The run's evidence ledger: numbers evidence as it arrives and maps [n] in answers to real sources.

A citation that points to nothing cannot survive: ``resolve`` drops unknown numbers from the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel

from txscout.core.evidence import Evidence

CITATION = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")
"""A citation as answers write it: ``[1]``, ``[1, 2]``, ``[1–3]``; group 1 holds the numbers (:func:`cited_numbers`)."""


def cited_numbers(group: str) -> list[int]:
    """The numbers of one citation's group, in the order written."""
    return [int(n) for n in re.findall(r"\d+", group)]


class Citation(BaseModel):
    ref: int
    title: str
    locator: str
    source_kind: str
    evidence_id: str
    page: int | None = None


class EvidenceLedger:
    def __init__(self) -> None:
        self.items: list[Evidence] = []
        self._by_hash: dict[str, int] = {}

    def add(self, item: Evidence) -> tuple[int, bool]:
        """Citation number for ``item`` and whether it is new; the same content keeps its number."""
        known = self._by_hash.get(item.content_hash)
        if known is not None:
            return known, False
        self.items.append(item)
        ref = len(self.items)
        self._by_hash[item.content_hash] = ref
        return ref, True

    def get(self, ref: int) -> Evidence | None:
        return self.items[ref - 1] if 1 <= ref <= len(self.items) else None

    def shown(self, refs: Sequence[int]) -> list[tuple[int, str]]:
        """(number, text) of the passages numbered ``refs``: what the cited grammars hold an answer to."""
        return [(ref, item.text) for ref in refs if (item := self.get(ref)) is not None]

    def citation(self, ref: int) -> Citation:
        item = self.items[ref - 1]
        return Citation(
            ref=ref,
            title=(item.label if item.page else item.title) or item.text[:80],
            locator=item.locator,
            source_kind=item.source_kind,
            evidence_id=item.content_hash,
            page=item.page,
        )

    def digest(self, max_chars: int = 6000, start: int = 0) -> str:
        """Numbered evidence text for prompts that must argue from what was found (sampling, critique);
        from the ``start``-th item on, for the evidence added since a prompt that showed the rest."""
        parts: list[str] = []
        used = 0
        for ref, item in enumerate(self.items[start:], start=start + 1):
            entry = f"[{ref}] {item.title + ': ' if item.title else ''}{item.text}".strip()
            entry = entry[:1200]
            if used + len(entry) > max_chars:
                break
            parts.append(entry)
            used += len(entry)
        return "\n".join(parts)

    def resolve(self, text: str) -> tuple[str, list[Citation]]:
        """Keep only citations that point to ledger entries, in order of first use."""
        cited: list[int] = []

        def keep(match: re.Match[str]) -> str:
            refs = cited_numbers(match.group(1))
            valid = [r for r in refs if self.get(r) is not None]
            for r in valid:
                if r not in cited:
                    cited.append(r)
            return "[" + ", ".join(str(r) for r in valid) + "]" if valid else ""

        cleaned = CITATION.sub(keep, text)
        cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned).strip()
        return cleaned, [self.citation(r) for r in cited]
