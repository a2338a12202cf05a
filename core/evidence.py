"""The evidence record: what a tool retrieved, with enough provenance for a reader to check it."""

from __future__ import annotations

import hashlib
import time
from typing import Literal

from pydantic import BaseModel, Field, computed_field

SourceKind = Literal["pubmed", "web", "file", "tool", "memory"]


class Evidence(BaseModel):
    text: str
    source_kind: SourceKind
    title: str = ""
    authors: str | None = None
    journal: str | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    year: int | None = None
    page: int | None = None
    """1-based page of a PDF the text was read from."""
    section: str | None = None
    """The section heading the text stands under, where the document's layout gives one."""
    tool: str | None = None
    query: str | None = None
    run_id: str | None = None
    retrieved_at: float = Field(default_factory=time.time)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_hash(self) -> str:
        """Identity by content, so the same abstract found twice is stored and cited once."""
        return hashlib.sha256(" ".join(self.text.split()).lower().encode()).hexdigest()[:16]

    @property
    def locator(self) -> str:
        """Where a reader can check this evidence: a PubMed link, DOI, URL or the tool that computed it."""
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.url and (self.source_kind == "file" or self.page or not self.doi):
            # The copy (and page) that was read before its DOI: the reader checks the very text used.
            if self.page and "#" not in self.url:
                return f"{self.url}#page={self.page}"
            return self.url
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.tool:
            return f"computed by {self.tool}"
        return self.source_kind

    def short_authors(self) -> str | None:
        """ "Lee et al." from "Jane Lee; Omar Diaz" (or "Lee, Jane; Diaz, Omar"); one author as written."""
        if not self.authors:
            return None
        if "et al" in self.authors:
            return self.authors
        names = [n.strip() for n in self.authors.split(";") if n.strip()]
        if not names:
            return None
        first = names[0]
        surname = first.split(",")[0].strip() if "," in first else first.split()[-1]
        return f"{surname} et al." if len(names) > 1 else surname

    @property
    def label(self) -> str:
        """How a reader names this source: "Lee et al. 2021. Title of the paper. p. 7" for a page of
        a paper, the title alone for a source that has no authors, year or page."""
        who = " ".join(p for p in (self.short_authors(), str(self.year) if self.year else None) if p)
        parts = [p for p in (who, self.title.rstrip(".") if self.title else None) if p]
        if self.page:
            parts.append(f"p. {self.page}")
        return ". ".join(parts)

    def citation(self) -> str:
        """One line for the source list under an answer: who, what, where, when, and the link."""
        if self.page:
            return f"{self.label}. {self.locator}"
        parts = [p for p in (self.authors, self.title.rstrip(".") if self.title else None, self.journal) if p]
        if self.year:
            parts.append(str(self.year))
        return ". ".join([*parts, self.locator])


class PlannedPassage(BaseModel):
    """One passage the evidence-first search found: where it came from, how it scored, whether it was shown.

    ``similarity`` is the cosine similarity of passage and question, the absolute measure the relevance
    floor applies to; ``score`` is the hybrid fusion that ranks the candidates (relative to the others,
    so no floor can be set on it). ``ref`` is its citation number when it was kept.
    """

    evidence_id: str
    title: str = ""
    locator: str = ""
    source_kind: str = ""
    score: float | None = None
    similarity: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    kept: bool = False
    ref: int | None = None


class PlannedSearch(BaseModel):
    """One search the plan ran (or could not run): where, with what query, and what came back."""

    source: Literal["memory", "pubmed"]
    query: str
    found: int = 0
    ran: bool = True
    note: str = ""
    """Why the search found nothing or did not run ("offline", "no evidence store", an error)."""


class EvidencePlan(BaseModel):
    """What the agent read before the model's first step: the molecules grounding linked, the searches
    run, every candidate passage with its scores, and the relevance floor and depth that decided which
    were kept and shown to the model as numbered observations."""

    question: str
    linked: list[str] = Field(default_factory=list)
    searches: list[PlannedSearch] = Field(default_factory=list)
    passages: list[PlannedPassage] = Field(default_factory=list)
    k: int = 0
    floor: float = 0.0

    @property
    def kept(self) -> list[PlannedPassage]:
        return [p for p in self.passages if p.kept]

    @property
    def ran(self) -> bool:
        """Whether any search ran: only then can the plan say that the sources do not answer."""
        return any(s.ran for s in self.searches)

    def searched(self) -> str:
        """What was searched, in words, for an answer that must say the sources do not answer it."""
        parts = []
        for search in self.searches:
            where = "the evidence store" if search.source == "memory" else "PubMed"
            state = search.note or f"{search.found} passage{'s' if search.found != 1 else ''}"
            parts.append(f"{where} for {search.query!r} ({state})")
        return "; ".join(parts) or "nothing (no evidence store and no PubMed)"
