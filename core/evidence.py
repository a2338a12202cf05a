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
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.url:
            return self.url
        if self.tool:
            return f"computed by {self.tool}"
        return self.source_kind

    def citation(self) -> str:
        """One line for the source list under an answer: who, what, where, when, and the link."""
        parts = [p for p in (self.authors, self.title.rstrip(".") if self.title else None, self.journal) if p]
        if self.year:
            parts.append(str(self.year))
        return ". ".join([*parts, self.locator])
