"""The TLS trust every HTTP client of the process shares.

httpx builds a fresh SSL context for each client, and loading the CA bundle into it takes about 30 ms:
four clients per tool set made every ``Agent`` and every CLI command pay over 0.1 s before doing
anything. The context is built once, by httpx itself, so it trusts what an httpx client would
(``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, else certifi's bundle).
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's verifying SSL context, read once."""
    return httpx.create_ssl_context()
