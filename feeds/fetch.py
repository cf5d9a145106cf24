"""Fetching sources over HTTP: the only module that imports httpx.

Owns one shared ``httpx.AsyncClient`` (``Fetcher``) and the single place where HTTP
responses are interpreted (``_interpret``): status → outcome or ``FetchError``,
conditional GET (ETag / Last-Modified, 304), ``Retry-After`` on 429/503, and bounded
bodies.

Safety for admin-supplied URLs:

- only ``http`` and ``https``; every hop of a redirect chain is checked by a request
  hook before it is sent;
- every address a host resolves to must be globally routable (no loopback, private,
  link-local/cloud metadata, unique-local, IPv4-mapped or NAT64-embedded private
  addresses) unless private URLs are allowed by settings;
- the wire body is read raw and decompressed here with a bounded decompressor, so a
  gzip bomb stops at the cap instead of expanding in memory; only gzip and deflate
  are accepted.

The address check happens twice: a request hook refuses an unsafe URL before each
hop is sent (clear errors, no DNS for IP literals), and the connection itself is
made by ``_GuardedBackend``, which resolves the name, checks every address and
connects to a checked IP — so a name that answers a public address to the check and
a private one to the connection (DNS rebinding) still cannot reach a private host.
TLS still verifies the certificate against the host name.

Politeness: at most ``per_host`` fetches at once to one host (default 2) and
``total`` overall (default 32); a User-Agent naming the project and a contact URL.

Must not parse bodies or touch storage.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import re
import socket
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from feeds.errors import FetchError, UnsafeURLError
from feeds.models import FeedSpec

DEFAULT_CONTACT = "https://github.com/deportwatch/deportwatch"
USER_AGENT = f"deportwatch/0.1 (+{DEFAULT_CONTACT})"
MAX_REDIRECTS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]


def user_agent(contact: str = DEFAULT_CONTACT) -> str:
    return f"deportwatch/0.1 (+{contact})"


class FetchOutcome(enum.StrEnum):
    """What a fetch produced."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch: the body (empty when not modified) and cache validators."""

    outcome: FetchOutcome
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Caps, timeouts and concurrency for fetching."""

    max_wire_bytes: int = 10 * 1024 * 1024
    max_body_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 5.0
    deadline: float = 30.0
    per_host: int = 2
    total: int = 32


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")      # deprecated ::a.b.c.d form


def _address_is_safe(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _address_is_safe(ip.ipv4_mapped)
        if ip in _NAT64_LOCAL:                            # local-use NAT64 (RFC 8215)
            return False
        if ip in _NAT64 or ip in _V4_COMPATIBLE:         # embed an IPv4 address
            return _address_is_safe(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and not _address_is_safe(ip.sixtofour):
            return False
    return ip.is_global and not ip.is_multicast


_IPV4_SPELLING = re.compile(r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$", re.I)


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names without DNS: IPv6/IPv4 literals, and the decimal, octal
    and hex IPv4 spellings that C resolvers accept (``2130706433``, ``0x7f.1``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _IPV4_SPELLING.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def public_only(address: IPAddress) -> bool:
    """The default address policy: globally routable addresses only."""
    return _address_is_safe(address)


def any_address(address: IPAddress) -> bool:
    """The policy when private URLs are allowed (tests, intranets)."""
    return True


async def resolve_checked(host: str, port: int, allowed: AddressPolicy) -> list[str]:
    """Every address ``host`` resolves to, refusing the lot if any is not allowed."""
    literal = _ip_literal(host)
    if literal is not None:
        if not allowed(literal):
            raise UnsafeURLError(f"{host} is {literal}, which is not a public address")
        return [str(literal)]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not allowed(address):
            raise UnsafeURLError(f"{host} resolves to {address}, which is not a public address")
        if str(address) not in addresses:
            addresses.append(str(address))
    return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, resolving the name itself."""

    def __init__(self, allowed: AddressPolicy) -> None:
        self._allowed = allowed
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await resolve_checked(host, port, self._allowed):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address,
                                                     socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(allowed: AddressPolicy, limits: FetchLimits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections go through ``_GuardedBackend``."""
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(
        max_connections=limits.total, max_keepalive_connections=limits.total // 2))
    # httpx does not take a network backend; swap in a pool that uses ours, keeping the
    # TLS context httpx built (certificate verification on).
    pool = transport._pool
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=pool._ssl_context, max_connections=limits.total,
        max_keepalive_connections=limits.total // 2, keepalive_expiry=5.0,
        network_backend=_GuardedBackend(allowed))
    return transport


async def check_url(url: str, *, allowed: AddressPolicy | None) -> None:
    """Refuse a URL that must not be fetched; raises ``UnsafeURLError`` with the reason.

    ``allowed`` is the address policy (``public_only`` in production); None means any
    address (private URLs allowed), so the host need not be resolved here."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"only http and https URLs can be fetched, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("the URL has no host")
    if allowed is not None:
        await resolve_checked(host, parts.port or (443 if parts.scheme == "https" else 80),
                              allowed)


async def precheck_url(url: str, *, allow_private: bool) -> str | None:
    """The add-time check of a new source: refuses unsafe URLs (``UnsafeURLError``);
    returns a warning instead of failing when the host cannot be resolved right now
    (the same check runs again before every fetch)."""
    try:
        await check_url(url, allowed=None if allow_private else public_only)
    except FetchError as exc:
        return f"{exc}; the address will be checked again before each poll"
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime  # local: only this rare path needs the clock

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Fetcher:
    """One shared HTTP client for every source; use as an async context manager."""

    def __init__(self, *, allow_private: bool = False, limits: FetchLimits | None = None,
                 user_agent: str = USER_AGENT,
                 transport: httpx.AsyncBaseTransport | None = None,
                 allowed: AddressPolicy | None = None) -> None:
        """``allowed`` overrides the address policy (tests use it to stand a loopback
        address in for a public one); by default only public addresses, or any when
        ``allow_private``."""
        self.limits = limits or FetchLimits()
        policy = allowed or (None if allow_private else public_only)
        self._total = asyncio.Semaphore(self.limits.total)
        self._hosts: dict[str, asyncio.Semaphore] = {}

        async def guard(request: httpx.Request) -> None:
            await check_url(str(request.url), allowed=policy)

        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(20.0, connect=self.limits.connect_timeout),
            follow_redirects=True, max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            event_hooks={"request": [guard]},
            transport=transport or guarded_transport(policy or any_address, self.limits))

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, feed: FeedSpec) -> FetchResult:
        """Fetch one source; raises ``FetchError`` or ``UnsafeURLError``."""
        headers = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        host = (urlsplit(feed.url).hostname or "").lower()
        gate = self._hosts.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        try:
            async with self._total, gate:        # waiting for a turn is not fetch time
                return await self._fetch_now(feed.url, headers)
        except TimeoutError as exc:
            raise FetchError(f"no complete answer within {self.limits.deadline:.0f} s") from exc
        except httpx.InvalidURL as exc:
            raise UnsafeURLError(f"invalid URL: {exc}") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    async def _fetch_now(self, url: str, headers: dict[str, str]) -> FetchResult:
        async with asyncio.timeout(self.limits.deadline), self._client.stream(
                "GET", url, headers=headers) as response:
            return await self._interpret(response)

    async def _interpret(self, response: httpx.Response) -> FetchResult:
        """The one place that turns an HTTP response into a result or an error."""
        url = str(response.url)
        status = response.status_code
        if status == 304:
            return FetchResult(FetchOutcome.NOT_MODIFIED, url=url,
                               etag=response.headers.get("etag"),
                               last_modified=response.headers.get("last-modified"))
        if status in (429, 503):
            raise FetchError(f"HTTP {status}: the server asks to slow down", status=status,
                             retry_after=_retry_after(response.headers.get("retry-after")))
        if status >= 400:
            raise FetchError(f"HTTP {status}", status=status)
        if status != 200:
            raise FetchError(f"unexpected HTTP {status}", status=status)
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.limits.max_wire_bytes:
            raise FetchError(f"body of {int(length)} bytes is over the "
                             f"{self.limits.max_wire_bytes}-byte cap")
        body = await self._read_bounded(response)
        return FetchResult(FetchOutcome.OK, url=url, body=body,
                           headers={k.lower(): v for k, v in response.headers.items()},
                           etag=response.headers.get("etag"),
                           last_modified=response.headers.get("last-modified"))

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        encoding = response.headers.get("content-encoding", "identity").lower().strip()
        if encoding not in ("identity", "gzip", "deflate", "x-gzip", ""):
            raise FetchError(f"unsupported content encoding {encoding!r}")
        # wbits 47 = auto-detect gzip or zlib header; raw deflate is retried below.
        decoder = zlib.decompressobj(47) if encoding != "identity" and encoding else None
        cap = self.limits.max_body_bytes
        wire = 0
        out = bytearray()
        async for chunk in response.aiter_raw():
            wire += len(chunk)
            if wire > self.limits.max_wire_bytes:
                raise FetchError(f"more than {self.limits.max_wire_bytes} bytes on the wire")
            if decoder is None:
                out += chunk
            else:
                try:
                    out += decoder.decompress(chunk, cap + 1 - len(out))
                except zlib.error as exc:
                    raise FetchError(f"broken {encoding} body: {exc}") from exc
                if decoder.unconsumed_tail and len(out) > cap:
                    raise FetchError(f"body expands past the {cap}-byte cap")
            if len(out) > cap:
                raise FetchError(f"body is over the {cap}-byte cap")
        if decoder is not None:
            if not decoder.eof:
                raise FetchError(f"truncated {encoding} body")
            out += decoder.flush()
        return bytes(out)


def read_local(path: Path, limits: FetchLimits | None = None) -> bytes:
    """Read a local file given to ``scan``, with the same size cap as a fetch."""
    cap = (limits or FetchLimits()).max_body_bytes
    with path.open("rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise FetchError(f"{path} is larger than the {cap}-byte cap")
    return data
