"""A fast loopback feed server for ``bench/poll_cycle.py``, run as its own process.

Serves ``/feed/K.xml`` (K = 0 … feeds-1, bodies from ``bench/feedgen.make_feed``) on
many loopback addresses at one port, ``per_host`` feeds per address, so the poller's
per-host limit meets realistic hosts: all of 127.0.0.0/8 is loopback on Linux, and
binding 127.1.x.y needs no root (each address gets its own listening socket; nothing
listens on 0.0.0.0). Stdlib only: asyncio, HTTP/1.1 with keep-alive.

Behaviour per feed, deterministic for a seed:

- every answer carries ``ETag`` and ``Last-Modified`` of the feed's revision; a
  matching ``If-None-Match`` (or, without one, ``If-Modified-Since``) gets 304;
- from cycle 2 on, ``change`` of the feeds (5 %) get a new revision each cycle: one new
  item on top, so the next poll is a 200 with a new body (gzip when accepted);
- ``slow`` of the feeds (1 %) answer after 5–10 s, every time;
- ``fail`` of the feeds (1 %) fail every time: HTTP 500, a connection reset, or
  bytes that are not HTTP;
- item links point back at this server (``/article/K/…``, a small HTML page), so the
  pipeline's article fetches stay on loopback.

Control (any address): ``GET /_control/cycle?n=C`` starts cycle C (applies that cycle's
changes; later requests are counted under C); ``GET /_stats`` is a JSON object of the
counts per cycle. Prints one JSON line ``{"port": P, "addresses": N}`` once it listens.

Usage: python bench/feedserver.py --feeds 2000 [--per-host 10] [--layout block|spread]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import signal
import socket
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feedgen import make_feed

BASE_MODIFIED = datetime(2026, 11, 1, tzinfo=UTC)
FAIL_MODES = ("500", "reset", "garbage")


def address(host: int) -> str:
    """The loopback address of host number ``host`` (127.1.0.1, 127.1.0.2, …)."""
    return f"127.1.{host // 250}.{host % 250 + 1}"


def host_of(feed: int, feeds: int, per_host: int, layout: str) -> int:
    """Which host serves feed ``feed``: ``block`` puts feeds 0–9 on host 0 (as feeds of
    one outlet are usually added together), ``spread`` deals them out round-robin."""
    hosts = max(1, -(-feeds // per_host))
    return feed // per_host if layout == "block" else feed % hosts


def feed_url(feed: int, feeds: int, per_host: int, layout: str, port: int) -> str:
    return f"http://{address(host_of(feed, feeds, per_host, layout))}:{port}/feed/{feed}.xml"


def fraction(*key: object) -> float:
    """A stable number in [0, 1) for a key (no process-salted hash())."""
    digest = hashlib.blake2b(":".join(map(str, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, slots=True)
class Plan:
    """Who is slow, who fails, who changes when."""

    feeds: int
    seed: int = 7
    change: float = 0.05
    slow: float = 0.01
    fail: float = 0.01

    def kind(self, feed: int) -> str:
        u = fraction("class", self.seed, feed)
        if u < self.fail:
            return FAIL_MODES[int(fraction("mode", self.seed, feed) * len(FAIL_MODES))]
        return "slow" if u < self.fail + self.slow else "normal"

    def changes(self, feed: int, cycle: int) -> bool:
        return cycle >= 2 and fraction("change", self.seed, feed, cycle) < self.change

    def slow_seconds(self, feed: int, cycle: int) -> float:
        return 5.0 + 5.0 * fraction("delay", self.seed, feed, cycle)


@dataclass
class CycleStats:
    started: float
    outcomes: Counter[str] = field(default_factory=Counter)
    per_second: Counter[int] = field(default_factory=Counter)
    connections: int = 0
    bytes_sent: int = 0
    max_in_flight: int = 0
    max_per_host: int = 0

    def as_json(self) -> dict[str, Any]:
        last = max(self.per_second, default=-1)
        return {"outcomes": dict(self.outcomes), "connections": self.connections,
                "bytes_sent": self.bytes_sent, "max_in_flight": self.max_in_flight,
                "max_per_host": self.max_per_host,
                "per_second": [self.per_second.get(s, 0) for s in range(last + 1)]}


class FeedServer:
    def __init__(self, plan: Plan, per_host: int, layout: str) -> None:
        self.plan, self.per_host, self.layout = plan, per_host, layout
        self.port = 0
        self.revision = [0] * plan.feeds
        self.kinds = [plan.kind(k) for k in range(plan.feeds)]
        self.cycle = 1
        self.stats: dict[int, CycleStats] = {1: CycleStats(time.monotonic())}
        self.in_flight = 0
        self.per_host_in_flight: Counter[str] = Counter()

    # ── control ──────────────────────────────────────────────────────────────────
    def start_cycle(self, cycle: int) -> int:
        changed = 0
        if cycle != self.cycle:
            for k in range(self.plan.feeds):
                if self.plan.changes(k, cycle):
                    self.revision[k] += 1
                    changed += 1
        self.cycle = cycle
        self.stats[cycle] = CycleStats(time.monotonic())
        return changed

    @property
    def current(self) -> CycleStats:
        return self.stats[self.cycle]

    # ── responses ────────────────────────────────────────────────────────────────
    def validators(self, feed: int) -> tuple[str, str]:
        rev = self.revision[feed]
        return (f'"dw-{feed}-{rev}"',
                format_datetime(BASE_MODIFIED + timedelta(hours=rev), usegmt=True))

    def feed_body(self, feed: int, host: str) -> bytes:
        body = make_feed(feed, revision=self.revision[feed]).body
        return body.replace(f"https://news{feed}.example/".encode(),
                            f"http://{host}:{self.port}/article/{feed}/".encode())

    @staticmethod
    def article_body(path: str) -> bytes:
        text = " ".join(f"Paragraph {i} of the article at {path}: the court heard the case "
                        f"again and the lawyer said the appeal would follow." for i in range(12))
        return (f"<html><head><title>Article</title></head><body><nav>Home | News</nav>"
                f"<article><h1>Article</h1><p>{text}</p></article></body></html>").encode()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = str(writer.get_extra_info("sockname")[0])
        self.current.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                keep = await self.respond(parts[1], headers, host, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        finally:
            if not writer.is_closing():
                writer.close()

    async def respond(self, target: str, headers: dict[str, str], host: str,
                      writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether the connection stays open."""
        path = urlsplit(target).path
        stats = self.current
        if path.startswith("/_"):
            return await self.control(target, writer)
        stats.per_second[int(time.monotonic() - stats.started)] += 1
        self.in_flight += 1
        self.per_host_in_flight[host] += 1
        stats.max_in_flight = max(stats.max_in_flight, self.in_flight)
        stats.max_per_host = max(stats.max_per_host, self.per_host_in_flight[host])
        try:
            return await self._respond(path, headers, host, writer, stats)
        finally:
            self.in_flight -= 1
            self.per_host_in_flight[host] -= 1

    async def _respond(self, path: str, headers: dict[str, str], host: str,
                       writer: asyncio.StreamWriter, stats: CycleStats) -> bool:
        if path.startswith("/article/"):
            stats.outcomes["article"] += 1
            await self.send(writer, 200, self.article_body(path), headers,
                            {"Content-Type": "text/html; charset=utf-8"}, stats)
            return True
        name = path.removeprefix("/feed/").removesuffix(".xml")
        if not path.startswith("/feed/") or not name.isdigit() or int(name) >= self.plan.feeds:
            stats.outcomes["404"] += 1
            await self.send(writer, 404, b"not found", headers, {}, stats)
            return True
        feed = int(name)
        kind = self.kinds[feed]
        if kind == "500":
            stats.outcomes["500"] += 1
            await self.send(writer, 500, b"internal error", headers, {}, stats)
            return True
        if kind == "reset":
            stats.outcomes["reset"] += 1
            sock = writer.get_extra_info("socket")
            if sock is not None:        # RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if kind == "garbage":
            stats.outcomes["garbage"] += 1
            writer.write(b"\x00\x13garbage, not HTTP \xff\xfe" * 8 + b"\r\n\r\n")
            await writer.drain()
            return False
        if kind == "slow":
            stats.outcomes["slow"] += 1
            await asyncio.sleep(self.plan.slow_seconds(feed, self.cycle))
        etag, modified = self.validators(feed)
        validators = {"ETag": etag, "Last-Modified": modified}
        match = headers.get("if-none-match")
        if match == etag or (match is None and headers.get("if-modified-since") == modified):
            stats.outcomes["304"] += 1
            await self.send(writer, 304, b"", headers, validators, stats)
        else:
            stats.outcomes["200"] += 1
            await self.send(writer, 200, self.feed_body(feed, host), headers,
                            {**validators, "Content-Type": "application/rss+xml; charset=utf-8"},
                            stats)
        return True

    async def send(self, writer: asyncio.StreamWriter, status: int, body: bytes,
                   request: dict[str, str], extra: dict[str, str], stats: CycleStats) -> None:
        out = dict(extra)
        if body and "gzip" in request.get("accept-encoding", ""):
            body = gzip.compress(body, 6)
            out["Content-Encoding"] = "gzip"
        reason = {200: "OK", 304: "Not Modified", 404: "Not Found",
                  500: "Internal Server Error"}[status]
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in out.items())
        if status != 304:
            head += f"Content-Length: {len(body)}\r\n"
        data = (head + "\r\n").encode("latin-1") + body
        stats.bytes_sent += len(data)
        writer.write(data)
        await writer.drain()

    async def control(self, target: str, writer: asyncio.StreamWriter) -> bool:
        parts = urlsplit(target)
        if parts.path == "/_control/cycle":
            cycle = int(parse_qs(parts.query)["n"][0])
            reply: dict[str, Any] = {"cycle": cycle, "changed": self.start_cycle(cycle)}
        else:
            reply = {str(c): s.as_json() for c, s in self.stats.items()}
            reply["kinds"] = dict(Counter(self.kinds))
        body = json.dumps(reply).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        return True


async def serve(args: argparse.Namespace) -> None:
    plan = Plan(args.feeds, seed=args.seed, change=args.change, slow=args.slow, fail=args.fail)
    server = FeedServer(plan, args.per_host, args.layout)
    hosts = sorted({host_of(k, args.feeds, args.per_host, args.layout)
                    for k in range(args.feeds)})
    # One port for every address: take a free one on 127.0.0.1 (the control address),
    # then bind each feed host's address to the same port.
    first = await asyncio.start_server(server.handle, "127.0.0.1", args.port, backlog=1024)
    server.port = int(first.sockets[0].getsockname()[1])
    rest = await asyncio.start_server(server.handle, [address(h) for h in hosts],
                                      server.port, backlog=256)
    print(json.dumps({"port": server.port, "addresses": len(hosts)}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with first, rest:
        await stop.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--per-host", type=int, default=10)
    ap.add_argument("--layout", choices=("block", "spread"), default="block")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--change", type=float, default=0.05)
    ap.add_argument("--slow", type=float, default=0.01)
    ap.add_argument("--fail", type=float, default=0.01)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
