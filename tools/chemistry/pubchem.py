"""PubChem PUG-REST lookups, the online fallback when a name is not in the offline drug table.

Answers are cached on disk keyed by URL, so a name resolved once resolves again offline and benchmark
runs are repeatable. The transport can be injected, which is how tests run without a network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from txscout.core.files import atomic_write_text
from txscout.core.tls import tls_context
from txscout.core.toolkit import ToolError

_PROPERTIES = "SMILES,InChIKey,IUPACName,Title"
_SMILES_KEYS = ("SMILES", "IsomericSMILES", "CanonicalSMILES", "ConnectivitySMILES")


class PubChemHit(BaseModel):
    cid: int
    smiles: str
    title: str = ""
    iupac_name: str = ""
    synonyms: list[str] = []


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in (429, 500, 502, 503, 504)
    return isinstance(exc, httpx.TransportError)


class PubChemClient:
    """Name and InChIKey lookups; ``cache`` is ``off``, ``read-write`` or ``replay-only``."""

    def __init__(
        self,
        base_url: str,
        cache_dir: Path | None,
        cache: str = "read-write",
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache_dir = cache_dir
        self.cache = cache if cache_dir is not None else "off"
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout_s,
            headers={"User-Agent": "txscout (chemistry tools)"},
            verify=tls_context(),
        )

    def by_name(self, name: str) -> PubChemHit | None:
        return self._lookup("name", name)

    def by_inchikey(self, key: str) -> PubChemHit | None:
        return self._lookup("inchikey", key)

    def _lookup(self, namespace: str, value: str) -> PubChemHit | None:
        url = f"{self.base_url}/compound/{namespace}/{quote(value, safe='')}/property/{_PROPERTIES}/JSON"
        data = self._get_json(url)
        props = (data or {}).get("PropertyTable", {}).get("Properties", [])
        if not props:
            return None
        first = props[0]
        smiles = next((first[k] for k in _SMILES_KEYS if first.get(k)), "")
        if not smiles:
            return None
        cid = int(first["CID"])
        syn = self._get_json(f"{self.base_url}/compound/cid/{cid}/synonyms/JSON") or {}
        info = syn.get("InformationList", {}).get("Information", [{}])
        return PubChemHit(
            cid=cid,
            smiles=smiles,
            title=first.get("Title", ""),
            iupac_name=first.get("IUPACName", ""),
            synonyms=list(info[0].get("Synonym", []))[:10] if info else [],
        )

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / "pubchem" / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"

    def _get_json(self, url: str) -> dict | None:
        """JSON for ``url``, or None when PubChem has no such record."""
        path = self._cache_path(url)
        if self.cache != "off" and path is not None and path.exists():
            return json.loads(path.read_text(encoding="utf-8"))["body"]
        if self.cache == "replay-only":
            raise ToolError("PubChem: not in the HTTP cache and the cache is replay-only")
        try:
            body = self._fetch(url)
        except httpx.HTTPError as exc:
            raise ToolError(f"PubChem is unreachable ({exc.__class__.__name__}); try again later") from exc
        if self.cache == "read-write" and path is not None:
            atomic_write_text(path, json.dumps({"url": url, "body": body}), private=True)
        return body

    @retry(
        retry=retry_if_exception(_transient),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.5, max=4),
        reraise=True,
    )
    def _fetch(self, url: str) -> dict | None:
        response = self._client.get(url)
        if response.status_code in (400, 404):  # PubChem answers 400 for names it cannot parse
            return None
        response.raise_for_status()
        return response.json()
