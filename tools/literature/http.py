"""The one way txscout's literature tools talk to the network.

Every request goes through :class:`CachingTransport`, which records responses on disk and can replay
them, so a benchmark rerun sees exactly the bytes the first run saw and ``--offline`` can still answer
what was asked before. Retries, the SSRF guard and the user agent live here too, so no tool can forget
them.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from txscout.core.files import atomic_write_text
from txscout.core.tls import tls_context
from txscout.tools.literature.ratelimit import RateLimiter

CacheMode = Literal["off", "read-write", "replay-only"]

USER_AGENT = "txscout/0.1 (+https://github.com/txscout/txscout; research assistant)"

# Parameters that identify the caller rather than the question: kept out of cache keys so that a
# recording replays for anyone, and out of recorded files so that no API key is ever written to disk.
_CALLER_PARAMS = frozenset({"api_key", "email", "tool"})
_SECRET_PARAMS = frozenset({"api_key"})

CACHE_EXTENSION = "txscout_cache"
# Request extension naming the address a request must connect to (see :class:`PinnedTransport`).
CONNECT_TO = "txscout_connect_to"


class OfflineMiss(Exception):
    """The network may not be used and the cache holds no answer for this request."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason}; no recorded response for {url}")
        self.url = url
        self.reason = reason


class BlockedURL(ValueError):
    """A URL the SSRF guard refuses: not http(s), or pointing at a private, loopback or link-local host."""


class Unreachable(Exception):
    """The service could not be reached after retries (network down, DNS failure, timeouts)."""


class ServiceError(Exception):
    """The service kept answering with an error status after retries."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


def _redact(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _SECRET_PARAMS]
    return parts._replace(query=urlencode(query)).geturl()


def _canonical_form(body: bytes) -> str:
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return urlencode(sorted((k, v) for k, v in pairs if k not in _CALLER_PARAMS))


def cache_key(method: str, url: str, body: bytes = b"", content_type: str = "") -> str:
    """A request's identity for the cache: method, URL and body, without who is asking."""
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _CALLER_PARAMS)
    canonical_url = parts._replace(query=urlencode(query), fragment="").geturl()
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        canonical_body = _canonical_form(body)
    else:
        canonical_body = hashlib.sha256(body).hexdigest() if body else ""
    raw = f"{method.upper()} {canonical_url}\n{canonical_body}"
    return hashlib.sha256(raw.encode()).hexdigest()


class HttpCache:
    """Responses on disk, one JSON file per request, written atomically so concurrent runs can share it."""

    def __init__(self, root: Path, mode: CacheMode = "read-write") -> None:
        self.root = Path(root)
        self.mode = mode

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.mode == "off":
            return None
        path = self._path(key)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # A torn or foreign file is a miss, never a crash: the next successful fetch rewrites it.
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        if self.mode != "read-write":
            return
        path = self._path(key)
        atomic_write_text(path, json.dumps(entry), private=True)  # folders too: the URLs say what was searched

    def get_json(self, key: str) -> Any | None:
        """A recorded value for calls that do not go through httpx (the ddgs search library)."""
        entry = self.get(key)
        return None if entry is None else entry.get("value")

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, {"value": value, "recorded_at": time.time()})


def _cacheable(status: int) -> bool:
    # Redirects are recorded so a replay can follow the same hops; 404/410 are answers, not failures.
    return status < 400 or status in (404, 410)


class _RecordingStream(httpx.SyncByteStream):
    """Passes the body through and records it only if the reader consumed all of it.

    A reader that stops early (the page was over the size cap) leaves nothing in the cache, so a
    truncated body can never be replayed as if it were whole.
    """

    def __init__(self, inner: httpx.SyncByteStream, on_complete: Callable[[bytes], None]) -> None:
        self._inner = inner
        self._on_complete = on_complete

    def __iter__(self) -> Iterator[bytes]:
        chunks: list[bytes] = []
        for chunk in self._inner:
            chunks.append(chunk)
            yield chunk
        self._on_complete(b"".join(chunks))

    def close(self) -> None:
        self._inner.close()


class CachingTransport(httpx.BaseTransport):
    """Record and replay around a real transport.

    ``read-write`` answers from the recording when there is one and records what it fetches;
    ``replay-only`` never touches the network; ``off`` neither reads nor writes. ``offline`` is asked
    per request because ``--offline`` can come from the settings or from the run context.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        cache: HttpCache,
        offline: Callable[[], bool] = lambda: False,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.offline = offline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        key = cache_key(request.method, str(request.url), body, request.headers.get("content-type", ""))
        entry = self.cache.get(key)
        if entry is not None:
            return httpx.Response(
                status_code=entry["status"],
                headers=entry["headers"],
                content=base64.b64decode(entry["body"]),
                extensions={CACHE_EXTENSION: {"recorded_at": entry["recorded_at"]}},
            )
        if self.offline():
            raise OfflineMiss(_redact(str(request.url)), "the network is off (--offline)")
        if self.cache.mode == "replay-only":
            raise OfflineMiss(_redact(str(request.url)), "the HTTP cache is in replay-only mode")
        response = self.inner.handle_request(request)
        if self.cache.mode == "read-write" and _cacheable(response.status_code):
            meta = {
                "method": request.method,
                "url": _redact(str(request.url)),
                "status": response.status_code,
                "headers": {
                    k: v
                    for k, v in response.headers.items()
                    if k.lower() in ("content-type", "location", "content-encoding")
                },
            }

            def record(content: bytes) -> None:
                self.cache.put(
                    key,
                    {**meta, "recorded_at": time.time(), "body": base64.b64encode(content).decode()},
                )

            try:
                record(response.content)  # already in memory (in-process transports)
            except httpx.ResponseNotRead:
                if response.status_code >= 300:
                    # Redirects and not-found answers are small and often closed unread; record now.
                    record(response.read())
                else:
                    assert isinstance(response.stream, httpx.SyncByteStream)
                    response.stream = _RecordingStream(response.stream, record)
        return response

    def close(self) -> None:
        self.inner.close()


class PinnedTransport(httpx.BaseTransport):
    """Connects a request to the address the SSRF guard checked, not to whatever DNS answers next.

    A request carrying the :data:`CONNECT_TO` extension goes to that IP; the URL's name stays in the Host
    header and in TLS (SNI and certificate check, through httpcore's ``sni_hostname``), so the server sees
    an ordinary request. Without the pin, a resolver could answer a public address to the check and
    loopback to the connection (DNS rebinding). ``None`` means the name did not resolve when checked:
    nothing is connected (a recording may still answer, above this transport). Pinned requests ask for
    ``Connection: close`` so a TLS connection verified for one name is never pooled for another name
    on the same address. Requests without the extension pass through untouched.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if CONNECT_TO not in request.extensions:
            return self.inner.handle_request(request)
        address = request.extensions[CONNECT_TO]
        if address is None:
            raise httpx.ConnectError(f"{request.url.host} did not resolve when it was checked", request=request)
        headers = request.headers.copy()
        headers["Connection"] = "close"
        extensions = dict(request.extensions)
        if request.url.host != address:
            extensions["sni_hostname"] = request.url.host
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=headers,  # keeps the Host header built from the name
            stream=request.stream,
            extensions=extensions,
        )
        return self.inner.handle_request(pinned)

    def close(self) -> None:
        self.inner.close()


def from_cache(response: httpx.Response) -> float | None:
    """When the response was recorded (epoch seconds), or None if it came from the network."""
    info = response.extensions.get(CACHE_EXTENSION)
    return float(info["recorded_at"]) if info else None


def make_client(
    cache_dir: Path,
    cache_mode: CacheMode,
    offline: Callable[[], bool],
    *,
    timeout: float = 20.0,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An httpx client with the recording cache and address pinning; ``transport`` replaces the network
    in tests."""
    inner = PinnedTransport(transport or httpx.HTTPTransport(retries=0, verify=tls_context()))
    return httpx.Client(
        transport=CachingTransport(inner, HttpCache(cache_dir, cache_mode), offline),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, _RetryableStatus | httpx.TimeoutException | httpx.TransportError)


def send_with_retry(
    client: httpx.Client,
    build: Callable[[], httpx.Request],
    *,
    limiter: RateLimiter | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
    max_backoff: float = 8.0,
    stream: bool = False,
) -> httpx.Response:
    """Send a request, retrying 429, 5xx, timeouts and connection errors with backoff.

    Each attempt waits for the rate limiter, because a retry is a request like any other as far as
    the server's limit is concerned. A ``Retry-After`` header wins over the computed backoff. With
    ``stream`` the body is left unread for the caller, who must close the response.
    """
    exponential = wait_exponential_jitter(multiplier=backoff, max=max_backoff, jitter=backoff / 2)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus):
            hinted = _retry_after(exc.response)
            if hinted is not None:
                return min(hinted, max_backoff)
        return exponential(state)

    def attempt() -> httpx.Response:
        if limiter is not None:
            limiter.acquire()
        response = client.send(build(), stream=stream)
        if response.status_code == 429 or response.status_code >= 500:
            response.close()
            raise _RetryableStatus(response)
        return response

    retrying = Retrying(
        retry=retry_if_exception(_is_retryable),
        stop=stop_after_attempt(attempts),
        wait=wait,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except _RetryableStatus as exc:
        raise ServiceError(exc.response.status_code, _redact(str(exc.response.request.url))) from exc
    except httpx.TimeoutException as exc:
        raise Unreachable(f"timed out after {attempts} attempts ({_redact(str(exc.request.url))})") from exc
    except httpx.TransportError as exc:
        raise Unreachable(f"cannot connect ({exc.__class__.__name__}: {exc})") from exc


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 host reached
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: a site's own translators
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d, still routed to a.b.c.d by some stacks


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 host an IPv6 address leads to: mapped (``::ffff:a.b.c.d``), IPv4-compatible
    (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``), 6to4 (``2002:AABB:CCDD::``) or a Teredo client."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and not (ip.is_loopback or ip.is_unspecified)):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_reach(ip: IPAddress) -> Literal["public", "loopback", "internal"]:
    """Where an address leads: this machine (loopback), a private, link-local, reserved or multicast
    network (internal), or the public internet. An IPv6 address that embeds an IPv4 one is judged by
    the IPv4 host it reaches; only the mapped form of 127.0.0.1 reaches this machine's loopback, the
    translated forms (NAT64, 6to4) reach a gateway's, which is internal."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return "internal"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reach = address_reach(embedded)
            return "internal" if reach == "loopback" and ip.ipv4_mapped is None else reach
    if ip.is_loopback:
        return "loopback"
    return "internal" if not ip.is_global or ip.is_multicast else "public"


def _blocked_address(ip: IPAddress, allow_loopback: bool) -> bool:
    reach = address_reach(ip)
    return reach == "internal" or (reach == "loopback" and not allow_loopback)


def check_url(url: str, *, allow_loopback: bool = False) -> str:
    """Refuse URLs a fetcher must not follow; returns the normalised URL (see :func:`vet_url`)."""
    return vet_url(url, allow_loopback=allow_loopback)[0]


def vet_url(url: str, *, allow_loopback: bool = False) -> tuple[str, str | None]:
    """Refuse URLs a fetcher must not follow; returns the normalised URL and the address to connect to.

    Hostnames are resolved and every address checked, so ``localhost`` or a DNS name pointing at
    169.254.169.254 is refused like the literal address. The request is then pinned to the first checked
    address (:class:`PinnedTransport`), so a second DNS answer cannot send it elsewhere. A name that does
    not resolve is let through with no address: only a recording made when it did resolve can answer.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise BlockedURL(f"not a valid URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https"):
        raise BlockedURL(f"only http and https URLs can be read, not {parsed.scheme or 'a bare path'!r}")
    host = parsed.host
    if not host:
        raise BlockedURL(f"URL has no host: {url!r}")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, parsed.port or 443, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            infos = []
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        if _blocked_address(ip, allow_loopback):
            raise BlockedURL(f"refusing to fetch {url}: {host} resolves to {ip}, {_refusal(ip)}")
    return str(parsed), (str(addresses[0]) if addresses else None)


def _refusal(ip: IPAddress) -> str:
    if address_reach(ip) == "loopback":
        return "a non-public loopback address (set allow_loopback to read a local mirror)"
    return "a non-public address (private, link-local, reserved, or a translation of one); no setting opens it"


def check_peer(response: httpx.Response, *, allow_loopback: bool = False) -> None:
    """Check the address actually connected to: a second guard behind address pinning, for requests
    sent without a pin."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return
    try:
        peer = stream.get_extra_info("server_addr")
    except OSError:
        return  # the connection is already closed; check_url has vetted the address
    if not peer:
        return
    ip = ipaddress.ip_address(str(peer[0]).split("%")[0])
    if _blocked_address(ip, allow_loopback):
        response.close()
        raise BlockedURL(f"refusing {response.request.url}: connected to {ip}, {_refusal(ip)}")
