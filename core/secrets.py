"""Secrets kept out of what txscout shows or writes: config output, traces, bench manifests, error messages.

A secret is a value of a key-like setting (API keys, tokens, passwords; ``SecretStr`` fields), the
credentials in a URL (``http://user:pass@host``, ``?api_key=...``), or a ``Bearer`` token. Masking
keeps the shape, so a reader can still see *that* something is set and where:
``http://user:********@host/v1``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "********"

_SECRET_WORDS = r"(?:api|access|private|secret)[_-]?key|token|secret|password|passwd|pwd|credentials?|auth"
# A name is key-like when it ends in one of the words (``ncbi_api_key``, ``auth_token``), not when it
# merely contains one (``token_limit``, ``max_tokens``).
_SECRET_NAME = re.compile(rf"(?:^|[_.\-])(?:{_SECRET_WORDS})$", re.IGNORECASE)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>`]+")
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/\-]+=*", re.IGNORECASE)
_ASSIGNMENT = re.compile(
    rf"""(?P<name>\b(?:[\w.\-]*[_.\-])?(?:{_SECRET_WORDS}))(?P<sep>["']?\s*[=:]\s*["']?)(?P<value>[^\s"'&,;]+)""",
    re.IGNORECASE,
)
# Keys in the shapes providers issue them (OpenAI and Anthropic ``sk-...``, Hugging Face ``hf_...``, Groq
# ``gsk_...``, Google ``AIza...``): masked wherever they appear, since an endpoint may echo back a key
# that is not one txscout was configured with (a stale OPENAI_API_KEY, a key typed into a URL).
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|AIza[A-Za-z0-9_\-]{30,})"
)
_SHORTEST_SECRET = 4  # shorter values would mask ordinary words wherever they appear


def is_secret_name(name: str) -> bool:
    """Whether a setting, parameter or header name says its value is a secret (``ncbi_api_key``, ``token``)."""
    return bool(_SECRET_NAME.search(name))


def mask_url(url: str) -> str:
    """``url`` with its user-info password (or a bare user-info token) and key-like query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a URL we can take apart, mask by pattern
        return _ASSIGNMENT.sub(_mask_assignment, re.sub(r"//[^/@\s]*@", f"//{MASK}@", url))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode([(k, MASK if is_secret_name(k) and v else v) for k, v in pairs], safe="*")
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _mask_assignment(match: re.Match[str]) -> str:
    return f"{match['name']}{match['sep']}{MASK}"


def secret_values(settings: BaseModel | None) -> list[str]:
    """The secret strings held by a settings object (``SecretStr`` fields and key-like fields)."""
    if settings is None:
        return []
    found = []
    for name, value in settings:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif not is_secret_name(name):
            continue
        if isinstance(value, str) and len(value) >= _SHORTEST_SECRET:
            found.append(value)
    return sorted(found, key=len, reverse=True)  # longest first, so a secret containing another is masked whole


def mask_text(text: str, settings: BaseModel | None = None) -> str:
    """Free text (an error message, a trace line) with every secret masked: the secret values of
    ``settings`` wherever they appear, URL credentials, ``Bearer`` tokens, ``api_key=...``-style pairs
    and keys in a provider's shape."""
    for value in secret_values(settings):
        text = text.replace(value, MASK)
    text = _KEY_SHAPES.sub(MASK, text)
    text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _ASSIGNMENT.sub(_mask_assignment, text)


def mask_value(name: str, value: Any) -> Any:
    """One setting for display, as a JSON value: a secret shows only that it is set, a URL or other text
    keeps its shape with credentials masked, a path becomes its string."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else None
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return MASK if value and is_secret_name(name) else mask_text(value)
    return value
