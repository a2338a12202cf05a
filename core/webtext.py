"""The main text of a web page or HTML file, with its title, year and DOI (trafilatura).

Shared by ``read_url`` and ``memory add`` of saved HTML files; trafilatura loads on first use.
"""

from __future__ import annotations

import re
from typing import Any

TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
_YEAR = re.compile(r"\b(19|20)\d\d\b")


def _doi(metadata: Any) -> str | None:
    for candidate in (getattr(metadata, "url", None), getattr(metadata, "id", None)):
        if candidate and "doi.org/" in str(candidate):
            return str(candidate).split("doi.org/", 1)[1]
    return None


def extract(body: bytes, media_type: str, url: str) -> tuple[str, str, int | None, str | None]:
    """(title, main text, year, doi) of a page; plain text is taken as it is."""
    if media_type in TEXT_TYPES:
        text = body.decode("utf-8", "replace")
        first_line = text.strip().splitlines()[0] if text.strip() else ""
        return first_line[:200].lstrip("# "), text, None, None
    import trafilatura

    document = trafilatura.bare_extraction(
        body, url=url, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
    )
    if document is None or not (document.text or "").strip():
        return "", "", None, None
    year_match = _YEAR.search(str(document.date or ""))
    return (
        document.title or "",
        document.text,
        int(year_match.group(0)) if year_match else None,
        _doi(document),
    )
