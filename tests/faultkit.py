"""Fault-injection scenarios shared by ``tests/test_faults.py`` (small, asserted) and
``bench/faults.py`` (large, printed as tables).

Each scenario runs the real service — in-process, or as ``deportwatch run``
subprocesses that get SIGKILLed — against the in-repo fake Bot API server and
loopback sources, and returns plain figures:

- ``telegram_faults``: 429 bursts, 500s, timeouts, connection resets and a chat that
  answers 403, over a stream of cases → cards expected, delivered, duplicated, lost;
- ``crash_loop``: SIGKILL while polling, while sending, between Telegram's answer and
  the commit, and at random, restarting each time → lost and duplicated cards, and
  which duplicates the kills between answer and commit explain; SQLite integrity
  after every kill;
- ``source_faults``: hostile sources next to healthy ones → how late the healthy
  feeds were polled, what the bad ones recorded, peak memory;
- ``ssrf_table``: unsafe URLs and tricks → tried vs fetched.

Must not touch the network beyond loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bot.service import run_service
from bot.settings import Settings
from feeds.errors import FetchError, UnsafeURLError
from feeds.fetch import Fetcher
from feeds.models import FeedKind, FeedSpec
from storage import Store
from tests.fakes.fault_server import FAULTS, FaultServer, QuietServer
from tests.fakes.http_server import reply
from tests.fakes.telegram_api import FakeTelegramAPI, JSONDict

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:FAULTTOKEN"
ALERT = 7001           # the alert chat (a private chat id: no 20/minute group limit)
READER, BLOCKED = 7002, 7003     # two subscribers; the second has blocked the bot

_FIRST = ["Ba", "Ki", "Mu", "Ro", "Te", "Zo", "Fa", "Gu", "Li", "Ne", "Po", "Sy", "Da", "Hu",
          "Je", "Wi", "Ox", "Ur"]
_SECOND = ["rim", "lash", "dov", "mek", "sun", "tog", "zab", "kul", "nib", "pij", "fer", "wox",
           "hut", "yal"]
_GIVEN = ["Aziz", "Rustam", "Ivan", "Oleg", "Timur", "Farid", "Bakhtiyor", "Sergei", "Anvar",
          "Dmitry"]


def people(n: int) -> list[str]:
    """``n`` (≤ 200) people whose names give ``n`` distinct cases (no two surname keys
    close enough for ``feeds.names.keys_match``)."""
    from feeds.names import keys_match, surname_key

    out: list[str] = []
    keys: list[str] = []
    for i, (a, b) in enumerate(itertools.product(_FIRST, _SECOND)):
        surname = f"{a}{b}ov"
        key = surname_key(surname)
        if any(k == key or keys_match(k, key) for k in keys):
            continue
        keys.append(key)
        out.append(f"{_GIVEN[i % len(_GIVEN)]} {surname}")
        if len(out) == n:
            return out
    raise ValueError(f"only {len(out)} distinct people available")


def case_items(n: int) -> list[tuple[str, str]]:
    return [(f"Court orders deportation of {p}",
             f"A district court in Moscow ordered the deportation of {p}, a citizen of "
             f"Tajikistan, on Monday.") for p in people(n)]


def rss(items: list[tuple[str, str]], site: str = "wire.test") -> bytes:
    """An RSS 2.0 feed of (title, description) items linked to http://SITE/n/INDEX."""
    body = "".join(f"<item><title>{escape(t)}</title><link>http://{site}/n/{i}</link>"
                   f"<description>{escape(d)}</description></item>"
                   for i, (t, d) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Wire</title>{body}</channel></rss>").encode()


class GrowingFeed:
    """A loopback RSS feed that grows while a scenario runs, with an optional delay on
    its answers (to SIGKILL a poller in the middle of a fetch)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        self.shown = 0
        self.delay = 0.0
        self.requested = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requested.set()
                if outer.delay:
                    time.sleep(outer.delay)
                reply(self, 200, {"Content-Type": "application/rss+xml"},
                      rss(outer.items[: outer.shown]))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/feed.xml"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ── counting cards ───────────────────────────────────────────────────────────────────
_CASE = re.compile(r"Case #(\d+) ·")


def card_counts(fake: FakeTelegramAPI, chat: int) -> Counter[int]:
    """Posted cards per case id in a chat (replies and notices are not cards)."""
    out: Counter[int] = Counter()
    for message in fake.messages(chat):
        match = _CASE.search(str(message.get("text", "")))
        if match and "reply_to_message" not in message and message.get("reply_markup"):
            out[int(match.group(1))] += 1
    return out


@dataclass
class Tally:
    expected: int
    delivered: int
    duplicated: int
    lost: int
    seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)


def tally(fake: FakeTelegramAPI, chats: list[int], cases: int, seconds: float = 0.0) -> Tally:
    delivered = duplicated = lost = 0
    for chat in chats:
        counts = card_counts(fake, chat)
        for case_id in range(1, cases + 1):
            n = counts.get(case_id, 0)
            delivered += min(n, 1)
            duplicated += max(n - 1, 0)
            lost += n == 0
    return Tally(cases * len(chats), delivered, duplicated, lost, seconds)


def base_settings(fake: FakeTelegramAPI, database: Path, **changes: Any) -> Settings:
    return replace(Settings(telegram_token=TOKEN, api_base_url=fake.base_url, alert_chat_id=ALERT,
                            admin_ids=frozenset({ALERT}), database_url=f"sqlite:///{database}",
                            allow_private_urls=True, tick_seconds=0.2), **changes)


async def _prepare(settings: Settings, feed_url: str, interval: int) -> None:
    store = await Store.open(settings.database_url)
    try:
        now = datetime.now(UTC)
        await store.add_feed(feed_url, FeedKind.RSS, interval, added_by=None, now=now)
        for chat in (READER, BLOCKED):
            await store.subscribe(chat, user_id=chat, filters={}, now=now)
            await store.grant(chat, "volunteer", by=ALERT, now=now)
    finally:
        await store.close()


# ── Telegram-side faults ─────────────────────────────────────────────────────────────

async def telegram_faults(tmp: Path, cases: int, *, timeouts: int = 2,
                          timeout_seconds: float = 6.0) -> Tally:
    """The service delivers ``cases`` cards to the alert chat and one subscriber while the
    fake Bot API answers 429 bursts, 500s, resets and timeouts; a second subscriber has
    blocked the bot (403). Lost and duplicated must be 0; the blocked chat's cards are
    failed with the reason, not lost silently (counted in ``notes``)."""
    feed = GrowingFeed(case_items(cases))
    feed.shown = cases
    with FakeTelegramAPI() as fake:
        settings = base_settings(fake, tmp / "tg.db")
        await _prepare(settings, feed.url, 300)
        fake.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by "
                       "the user", chat_id=BLOCKED, times=10**6)
        script: list[Callable[[], None]] = [
            lambda: fake.fail_next("sendMessage", status=429, description="Too Many Requests",
                                   retry_after=1, times=4),
            lambda: fake.fail_next("sendMessage", status=500, description="Internal Server "
                                   "Error", times=3),
            lambda: fake.drop_connection_next("sendMessage", times=3),
            lambda: fake.fail_next("sendMessage", status=502, description="Bad Gateway",
                                   times=2),
            lambda: fake.hang_next("sendMessage", timeout_seconds, times=timeouts),
            lambda: fake.fail_next("sendMessage", status=429, description="Too Many Requests",
                                   retry_after=2, times=6),
        ]
        stop = asyncio.Event()
        started = time.monotonic()
        service = asyncio.create_task(run_service(settings, stop))
        try:
            steps = iter(script)
            target = 2 * cases
            deadline = started + 60 + cases
            next_at = 1
            while time.monotonic() < deadline:
                done = sum(card_counts(fake, c).total() for c in (ALERT, READER))
                if done >= target:
                    break
                if done >= next_at:       # spread the faults over the stream
                    step = next(steps, None)
                    if step is not None:
                        step()
                    next_at = done + max(1, target // (len(script) + 1))
                # Counting copies every message held by the fake (under its lock): not
                # too often, or the harness itself slows the fake down.
                await asyncio.sleep(0.05 if done < 100 else 0.5)
            await asyncio.sleep(1.0)      # would anything arrive twice?
        finally:
            stop.set()
            await asyncio.wait_for(service, 60)
            feed.close()
        result = tally(fake, [ALERT, READER], cases, time.monotonic() - started)
        store = await Store.open(settings.database_url)
        try:
            counts = await store.outbox_counts()
            summary = await store.status_summary(datetime.now(UTC))
        finally:
            await store.close()
        result.notes = {"outbox": counts, "blocked_chat_inactive":
                        any(c == BLOCKED for c, _ in summary.inactive_chats),
                        "send_calls": len(fake.calls_to("sendMessage"))}
        return result


# ── crashes ──────────────────────────────────────────────────────────────────────────

@dataclass
class CrashReport:
    tally: Tally
    kills: Counter[str]
    explained: int            # extra copies of messages that were the last sent before a kill
    unexplained: int          # extra copies of any other message (must be 0)
    integrity: Counter[str]   # PRAGMA integrity_check after each kill
    restarts: int
    repeated_after: Counter[str]   # kills (by kind) after which their last message repeated
    trapped_repeats: int      # answer-before-commit kills whose message repeated …
    trapped: int              # … out of this many that caught a message in flight


def spawn_run(log: Path, *, api_base_url: str, database_url: str,
              **settings: str) -> subprocess.Popen[bytes]:
    """``deportwatch run`` in its own process, output appended to ``log``: token
    ``TOKEN``, alert chat ``ALERT``, loopback feeds allowed, a fast tick, no article
    fetches; ``settings`` (``DEPORTWATCH_…=value``) add to or override these. Settings of
    the calling environment are not inherited."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DEPORTWATCH_", "TELEGRAM_")) and k != "DATABASE_URL"}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api_base_url,
               DEPORTWATCH_ALERT_CHAT_ID=str(ALERT), DATABASE_URL=database_url,
               DEPORTWATCH_ALLOW_PRIVATE_URLS="true", DEPORTWATCH_TICK_SECONDS="0.2",
               DEPORTWATCH_FETCH_ARTICLES="false", PYTHONPATH=str(ROOT))
    env.update(settings)
    with log.open("ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=ROOT,
                                stdout=sink, stderr=sink)


def _spawn(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return spawn_run(log, api_base_url=settings.api_base_url,
                     database_url=settings.database_url, DEPORTWATCH_ADMIN_IDS=str(ALERT),
                     DEPORTWATCH_LOG_LEVEL="WARNING")


def _integrity(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def until(predicate: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(every)
    return predicate()


async def crash_loop(tmp: Path, cases: int, kills: int, *, seed: int = 7) -> CrashReport:
    """A stream of ``cases`` cases appears on a feed (10 more per second) while
    ``deportwatch run`` is SIGKILLed ``kills`` times — while polling (a fetch in flight),
    while sending (a request Telegram never did), between Telegram's answer and the
    commit, and at random moments — and restarted at once. Then the last run drains
    the outbox. Every case must arrive; only the third kind may repeat a message."""
    rng = random.Random(seed)  # noqa: S311  (timing choices, not secrets)
    feed = GrowingFeed(case_items(cases))
    database = tmp / "crash.db"
    log = tmp / "crash.log"
    kinds = ["polling", "sending", "answer-before-commit", "random"]
    plan = [kinds[i % len(kinds)] for i in range(kills)]
    rng.shuffle(plan)
    counter: Counter[str] = Counter()
    integrity: Counter[str] = Counter()
    in_flight: list[tuple[int, int]] = []   # (chat, case) killed between answer and commit
    last_sent: list[tuple[str, tuple[int, int]]] = []   # per kill: the last card sent
    chats = [ALERT, READER, BLOCKED]
    started = time.monotonic()
    with FakeTelegramAPI() as fake:
        settings = base_settings(fake, database, poll_seconds=60)
        await _prepare(settings, feed.url, 1)
        store = await Store.open(settings.database_url)
        await store.close()
        try:
            for kind in plan:
                feed.shown = min(cases, feed.shown + rng.randint(5, 15))
                polls = len(fake.calls_to("getUpdates"))
                process = _spawn(settings, log)
                try:
                    started_polling = _more_calls(fake, "getUpdates", polls)
                    if not await until(started_polling, 30):
                        raise RuntimeError(f"the service did not start; see {log}")
                    await _arrange_and_wait(kind, fake, feed, rng, in_flight)
                finally:
                    process.send_signal(signal.SIGKILL)
                    process.wait(30)
                    last = _last_card_call(fake)
                    if last is not None:
                        last_sent.append((kind, last))
                fake.set_delay("sendMessage", 0)
                fake.set_delay("sendMessage", 0, after=True)
                feed.delay = 0.0
                counter[kind] += 1
                integrity[_integrity(database)] += 1
            feed.shown = cases
            process = _spawn(settings, log)
            try:
                await until(lambda: all(len(card_counts(fake, c)) >= cases for c in chats),
                            60 + cases / 2, every=0.5)
                await asyncio.sleep(2.0)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        finally:
            feed.close()
        result = tally(fake, chats, cases, time.monotonic() - started)
        extra = {(chat, case): n - 1 for chat in chats
                 for case, n in card_counts(fake, chat).items() if n > 1}
        duplicated = set(extra)
        # Delivery sends one message at a time, so the only message a kill can catch
        # between Telegram's answer and the commit is the last one sent before it.
        suspects = {message for _kind, message in last_sent}
        return CrashReport(result, counter, sum(extra[m] for m in duplicated & suspects),
                           sum(extra[m] for m in duplicated - suspects), integrity,
                           len(plan) + 1,
                           Counter(kind for kind, message in last_sent
                                   if message in duplicated),
                           len(set(in_flight) & duplicated), len(in_flight))


def _more_calls(fake: FakeTelegramAPI, method: str, before: int) -> Callable[[], bool]:
    return lambda: len(fake.calls_to(method)) > before


def _last_card_call(fake: FakeTelegramAPI) -> tuple[int, int] | None:
    for call in reversed(fake.calls_to("sendMessage")):
        match = _CASE.search(str(call.get("text", "")))
        if match:
            return int(call["chat_id"]), int(match.group(1))
    return None


async def _arrange_and_wait(kind: str, fake: FakeTelegramAPI, feed: GrowingFeed,
                            rng: random.Random, in_flight: list[tuple[int, int]]) -> None:
    """Set the trap for one kind of kill and return when the process is inside it."""
    if kind == "random":
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        return
    if kind == "polling":
        feed.delay = 3.0
        feed.requested.clear()
        await until(feed.requested.is_set, 10)
        await asyncio.sleep(0.2)
        return
    calls = len(fake.calls_to("sendMessage"))
    if kind == "sending":
        fake.hang_next("sendMessage", 5.0)
    else:
        fake.set_delay("sendMessage", 3.0, after=True)
    if await until(lambda: len(fake.calls_to("sendMessage")) > calls, 10):
        await asyncio.sleep(0.3)
        if kind == "answer-before-commit":
            call = fake.calls_to("sendMessage")[calls]
            match = _CASE.search(str(call.get("text", "")))
            if match:
                in_flight.append((int(call["chat_id"]), int(match.group(1))))


# ── source-side faults ───────────────────────────────────────────────────────────────

@dataclass
class SourceReport:
    healthy_polls: dict[str, int]
    healthy_max_gap: float        # the longest time between two polls of a healthy feed
    interval: float
    bad: dict[str, tuple[int, int, str]]   # path → (requests, failures, last error)
    peak_rss_mb: float
    baseline_rss_mb: float
    seconds: float


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def source_faults(tmp: Path, seconds: float, *, interval: int = 2,
                        healthy: int = 5) -> SourceReport:
    """Healthy feeds (on 127.0.0.2) and every hostile source (each on its own loopback
    address, as separate hosts would be) polled by the service every ``interval``
    seconds for ``seconds``."""
    database = tmp / "sources.db"
    with contextlib.ExitStack() as stack:
        good = stack.enter_context(FaultServer(host="127.0.0.2"))
        bad = {path: stack.enter_context(FaultServer(host=f"127.0.0.{10 + i}"))
               for i, path in enumerate(FAULTS)}
        settings = replace(Settings(database_url=f"sqlite:///{database}",
                                    allow_private_urls=True, tick_seconds=0.2),
                           fetch_articles=False)
        store = await Store.open(settings.database_url)
        now = datetime.now(UTC)
        names = [f"/ok/h{i}.xml" for i in range(healthy)]
        for path in names:
            await store.add_feed(good.url(path), FeedKind.RSS, interval, added_by=None, now=now)
        for path, server in bad.items():
            await store.add_feed(server.url(path), FeedKind.RSS, interval, added_by=None,
                                 now=now)
        await store.close()
        stop = asyncio.Event()
        baseline = peak = _rss_mb()
        started = time.monotonic()
        service = asyncio.create_task(run_service(settings, stop))
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.1)
            peak = max(peak, _rss_mb())
        stop.set()
        await asyncio.wait_for(service, 60)
        elapsed = time.monotonic() - started
        store = await Store.open(settings.database_url)
        try:
            feeds = {f.url: f for f in await store.list_feeds()}
        finally:
            await store.close()
        gaps = []
        for path in names:
            times = [started] + [t for t in good.times(path) if t < started + seconds]
            gaps += [b - a for a, b in itertools.pairwise(times)]
        return SourceReport(
            healthy_polls={p: good.count(p) for p in names}, healthy_max_gap=max(gaps),
            interval=interval,
            bad={p: (server.count(p), feeds[server.url(p)].consecutive_failures,
                     (feeds[server.url(p)].last_error or "ok")[:70])
                 for p, server in bad.items()},
            peak_rss_mb=peak, baseline_rss_mb=baseline, seconds=elapsed)


# ── SSRF ─────────────────────────────────────────────────────────────────────────────

@contextlib.contextmanager
def _recorder(host: str = "127.0.0.1") -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path.startswith("/hop"):
                self.send_response(302)
                self.send_header("Location", self.path.split("?to=", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = rss(case_items(1))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = QuietServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield int(server.server_address[1]), hits
    finally:
        server.shutdown()
        server.server_close()


def ssrf_urls(port: int) -> list[tuple[str, str]]:
    """(what, URL) pairs that must never be fetched when private URLs are not allowed;
    the loopback ones point at a live recorder on ``port``."""
    return [
        ("loopback", f"http://127.0.0.1:{port}/"),
        ("localhost", f"http://localhost:{port}/"),
        ("0.0.0.0", f"http://0.0.0.0:{port}/"),
        ("private 10/8", "http://10.0.0.1/"),
        ("private 172.16/12", "http://172.16.0.1/"),
        ("private 192.168/16", "http://192.168.1.1/"),
        ("link-local / cloud metadata", "http://169.254.169.254/latest/meta-data/"),
        ("IPv6 loopback", f"http://[::1]:{port}/"),
        ("IPv6 unique-local", "http://[fd00::1]/"),
        ("IPv4-mapped IPv6", f"http://[::ffff:127.0.0.1]:{port}/"),
        ("decimal IPv4", f"http://2130706433:{port}/"),
        ("octal IPv4", f"http://0177.0.0.1:{port}/"),
        ("hex IPv4", f"http://0x7f000001:{port}/"),
        ("hex dotted IPv4", f"http://0x7f.0.0.1:{port}/"),
        ("short IPv4", f"http://127.1:{port}/"),
        ("file scheme", "file:///etc/passwd"),
    ]


@dataclass
class SsrfRow:
    what: str
    url: str
    fetched: int
    error: str


async def ssrf_table() -> list[SsrfRow]:
    """Every unsafe URL tried with the production fetcher (no private URLs allowed),
    plus a public-looking URL that redirects to a private one and a name that resolves
    to a private address; ``fetched`` counts requests that reached a server."""
    rows: list[SsrfRow] = []
    with _recorder() as (port, hits):
        async with Fetcher() as fetcher:
            for what, url in ssrf_urls(port):
                before = len(hits)
                error = "fetched"
                try:
                    await fetcher.fetch(FeedSpec(id=None, url=url))
                except (UnsafeURLError, FetchError) as exc:
                    error = type(exc).__name__
                rows.append(SsrfRow(what, url, len(hits) - before, error))
        # Control: the same recorder *is* reached when private URLs are allowed.
        async with Fetcher(allow_private=True) as fetcher:
            before = len(hits)
            await fetcher.fetch(FeedSpec(id=None, url=f"http://127.0.0.1:{port}/control"))
            rows.append(SsrfRow("control: loopback, private URLs allowed",
                                f"http://127.0.0.1:{port}/control", len(hits) - before, "ok"))
        # 127.0.0.2 plays a public server that redirects to the private 127.0.0.1.
        with _recorder("127.0.0.2") as (public_port, public_hits):
            target = f"http://127.0.0.1:{port}/secret"
            async with Fetcher(allowed=lambda a: str(a) == "127.0.0.2") as fetcher:
                before = len(hits)
                error = "fetched"
                try:
                    await fetcher.fetch(FeedSpec(
                        id=None, url=f"http://127.0.0.2:{public_port}/hop?to={target}"))
                except (UnsafeURLError, FetchError) as exc:
                    error = type(exc).__name__
                rows.append(SsrfRow("redirect public → private", "127.0.0.2 → 127.0.0.1",
                                    len(hits) - before, error))
                assert public_hits, "the public stand-in was not asked"
        loop = asyncio.get_running_loop()
        original = loop.getaddrinfo

        async def resolve(host: Any, p: Any, *args: Any, **kwargs: Any) -> Any:
            if host == "intranet.example":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]
            return await original(host, p, *args, **kwargs)

        loop.getaddrinfo = resolve  # type: ignore[method-assign]
        try:
            async with Fetcher() as fetcher:
                before = len(hits)
                error = "fetched"
                try:
                    await fetcher.fetch(FeedSpec(id=None,
                                                 url=f"http://intranet.example:{port}/"))
                except (UnsafeURLError, FetchError) as exc:
                    error = type(exc).__name__
                rows.append(SsrfRow("DNS name → private address", "intranet.example",
                                    len(hits) - before, error))
        finally:
            loop.getaddrinfo = original  # type: ignore[method-assign]
    return rows


def card_text(message: JSONDict) -> str:
    return str(message.get("text", ""))
