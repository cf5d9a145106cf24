"""The fetcher against loopback servers and in-process transports: caps, bombs, 304, 429,
and SSRF refusals on every redirect hop."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from typing import Any

import httpx
import pytest

from feeds.errors import FetchError, UnsafeURLError
from feeds.fetch import Fetcher, FetchLimits, FetchOutcome
from feeds.models import FeedSpec
from tests.fakes.http_server import FixtureServer

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def _spec(url: str, **kw: Any) -> FeedSpec:
    return FeedSpec(id=1, url=url, **kw)


async def test_plain_and_gzip_bodies(fixture_server: FixtureServer) -> None:
    """Identity and gzip bodies arrive whole, with validators captured."""
    fixture_server.routes["/plain"] = (200, {"ETag": '"v1"'}, RSS)
    fixture_server.routes["/gz"] = (200, {"Content-Encoding": "gzip"}, gzip.compress(RSS))
    async with Fetcher(allow_private=True) as fetcher:
        plain = await fetcher.fetch(_spec(f"{fixture_server.base_url}/plain"))
        packed = await fetcher.fetch(_spec(f"{fixture_server.base_url}/gz"))
    assert plain.body == RSS and plain.etag == '"v1"'
    assert packed.body == RSS and packed.outcome is FetchOutcome.OK


async def test_not_modified_is_an_outcome(fixture_server: FixtureServer) -> None:
    """A 304 is a NOT_MODIFIED outcome with no body, and validators are sent."""
    fixture_server.routes["/feed"] = (304, {"ETag": '"v1"'}, b"")
    async with Fetcher(allow_private=True) as fetcher:
        result = await fetcher.fetch(_spec(f"{fixture_server.base_url}/feed", etag='"v1"'))
    assert result.outcome is FetchOutcome.NOT_MODIFIED and result.body == b""


@pytest.mark.parametrize(("status", "headers", "retry_after"), [
    (429, {"Retry-After": "120"}, 120.0),
    (503, {"Retry-After": "7"}, 7.0),
    (429, {}, None),
    (500, {}, None),
    (404, {}, None),
], ids=["429-seconds", "503-seconds", "429-bare", "500", "404"])
async def test_error_statuses(fixture_server: FixtureServer, status: int,
                              headers: dict[str, str], retry_after: float | None) -> None:
    """Error statuses become FetchError with the status and the server's Retry-After."""
    fixture_server.routes["/x"] = (status, headers, b"no")
    async with Fetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(_spec(f"{fixture_server.base_url}/x"))
    assert info.value.status == status
    assert info.value.retry_after == retry_after


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compression_bomb_stops_at_the_cap(fixture_server: FixtureServer,
                                                 encoding: str) -> None:
    """A body that inflates 1000× stops at the decompressed cap, not in memory."""
    bomb = b"\0" * (64 * 1024 * 1024)
    packed = gzip.compress(bomb, 9) if encoding == "gzip" else zlib.compress(bomb, 9)
    assert len(packed) < 200_000
    fixture_server.routes["/bomb"] = (200, {"Content-Encoding": encoding}, packed)
    limits = FetchLimits(max_body_bytes=1_000_000)
    async with Fetcher(allow_private=True, limits=limits) as fetcher:
        with pytest.raises(FetchError, match="cap"):
            await fetcher.fetch(_spec(f"{fixture_server.base_url}/bomb"))


async def test_wire_cap_and_truncated_gzip(fixture_server: FixtureServer) -> None:
    """A body over the wire cap and a truncated gzip stream are clear errors."""
    fixture_server.routes["/big"] = (200, {}, b"x" * 300_000)
    fixture_server.routes["/cut"] = (200, {"Content-Encoding": "gzip"},
                                     gzip.compress(RSS * 50)[:60])
    limits = FetchLimits(max_wire_bytes=100_000, max_body_bytes=100_000)
    async with Fetcher(allow_private=True, limits=limits) as fetcher:
        with pytest.raises(FetchError, match=r"cap|bytes"):
            await fetcher.fetch(_spec(f"{fixture_server.base_url}/big"))
        with pytest.raises(FetchError, match=r"truncated|broken"):
            await fetcher.fetch(_spec(f"{fixture_server.base_url}/cut"))


async def test_redirect_loop_is_bounded(fixture_server: FixtureServer) -> None:
    """A redirect loop ends after five hops with a FetchError."""
    fixture_server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    async with Fetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError, match="redirects"):
            await fetcher.fetch(_spec(f"{fixture_server.base_url}/loop"))


async def test_deadline_stops_a_slow_server(fixture_server: FixtureServer) -> None:
    """The overall deadline ends a fetch that never completes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        async with Fetcher(allow_private=True, limits=FetchLimits(deadline=0.5)) as fetcher:
            with pytest.raises(FetchError, match="within"):
                await fetcher.fetch(_spec(f"http://127.0.0.1:{port}/silent"))
    finally:
        listener.close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve test names without DNS: public.test is public, evil.test is loopback."""
    table = {"public.test": "93.184.215.14", "evil.test": "127.0.0.1",
             "meta.test": "169.254.169.254", "v6.test": "fd00::5"}

    async def resolve(self: object, host: str, port: object, *args: object,
                      **kwargs: object) -> list[tuple[Any, ...]]:
        if host not in table:
            raise OSError(f"unknown test host {host}")
        family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (table[host], port))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", resolve)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost./", "http://0.0.0.0/", "http://10.1.2.3/",
    "http://192.168.0.1/", "http://172.16.5.5/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/", "http://[fd00::1]/", "http://[::ffff:10.0.0.1]/", "http://2130706433/",
    "http://0x7f000001/", "http://0177.0.0.1/", "http://evil.test/", "http://meta.test/",
    "http://v6.test/", "file:///etc/passwd", "gopher://public.test/",
], ids=lambda u: u.split("//")[-1][:24])
async def test_unsafe_urls_are_never_fetched(url: str, fake_dns: None) -> None:
    """Private, loopback, link-local, mapped and odd spellings are refused before sending."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, content=RSS)

    async with Fetcher(transport=httpx.MockTransport(handler)) as fetcher:
        with pytest.raises((UnsafeURLError, FetchError)):
            await fetcher.fetch(_spec(url))
    assert sent == []


async def test_redirect_to_private_is_refused(fake_dns: None) -> None:
    """A public URL that redirects to cloud metadata is stopped at the second hop."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})

    async with Fetcher(transport=httpx.MockTransport(handler)) as fetcher:
        with pytest.raises(UnsafeURLError, match=r"169\.254\.169\.254"):
            await fetcher.fetch(_spec("http://public.test/feed"))
    assert sent == ["http://public.test/feed"]


# ── connection-level pinning, on real loopback servers ────────────────────────────
# 127.0.0.2 stands in for "a public address": the fetcher is given a policy that
# allows only it, so 127.0.0.1 plays the private network.

def _stand_in_public(address: object) -> bool:
    return str(address) == "127.0.0.2"


async def test_redirect_from_public_to_private_is_refused(fixture_server: FixtureServer) -> None:
    """A public server redirecting to a private one: the private one gets no request."""
    with FixtureServer(fixture_server.folder, host="127.0.0.2") as public:
        public.routes["/feed"] = (302, {"Location": f"{fixture_server.base_url}/zhilin-en.xml"},
                                  b"")
        async with Fetcher(allowed=_stand_in_public) as fetcher:
            with pytest.raises(UnsafeURLError, match="not a public address"):
                await fetcher.fetch(_spec(f"{public.base_url}/feed"))
            fixture_server.routes["/ok"] = (200, {}, RSS)
            public.routes["/ok"] = (200, {}, RSS)
            assert (await fetcher.fetch(_spec(f"{public.base_url}/ok"))).body == RSS
    assert public.requests == ["/feed", "/ok"]
    assert fixture_server.requests == []


async def test_name_resolving_to_private_and_dns_rebinding_are_refused(
        fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that resolves to a private address is refused; so is one that answers a
    public address to the check and a private one to the connection (rebinding)."""
    port = int(fixture_server.base_url.rsplit(":", 1)[1])
    answers = {"private.test": ["127.0.0.1"], "rebind.test": ["127.0.0.2", "127.0.0.1"]}
    asked: dict[str, int] = {}

    async def resolve(self: object, host: str, p: object, *args: object,
                      **kwargs: object) -> list[tuple[Any, ...]]:
        n = asked[host] = asked.get(host, 0) + 1
        ip = answers[host][min(n, len(answers[host])) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, p))]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", resolve)
    async with Fetcher(allowed=_stand_in_public) as fetcher:
        for host in ("private.test", "rebind.test"):
            with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.1"):
                await fetcher.fetch(_spec(f"http://{host}:{port}/zhilin-en.xml"))
    assert asked["rebind.test"] == 2        # checked by the hook, then again at connect
    assert fixture_server.requests == []


async def test_per_host_concurrency_is_limited(fixture_server: FixtureServer) -> None:
    """No more than the per-host limit of fetches reach one host at once."""
    import threading
    import time

    active = peak = 0
    lock = threading.Lock()
    original = fixture_server.routes

    class Slow(dict[str, tuple[int, dict[str, str], bytes]]):
        def get(self, key: str, default: Any = None) -> Any:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.2)
            with lock:
                active -= 1
            return (200, {}, RSS)

    fixture_server.routes = Slow()
    try:
        async with Fetcher(allow_private=True, limits=FetchLimits(per_host=2)) as fetcher:
            await asyncio.gather(*(fetcher.fetch(_spec(f"{fixture_server.base_url}/f{i}"))
                                   for i in range(6)))
    finally:
        fixture_server.routes = original
    assert peak == 2
