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
