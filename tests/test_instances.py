"""Two ``deportwatch run`` processes on one PostgreSQL database (issue #8), through the
real stack: 200 loopback feeds and the fake Bot API.

- every feed is fetched once per interval — never by both instances in one cycle —
  and both instances share the polling. SKIP LOCKED shares work when there is work to
  share (an idle instance may find nothing due, and that is fine), so the feeds are
  made slow enough that one instance alone cannot keep up: each fetches 2 at a time
  from feeds that answer in 0.1 s (20 a second), while 200 feeds every 8 s ask for
  about 24 a second — the other instance must take at least a sixth of the work;
- every card is sent once;
- exactly one instance long-polls ``getUpdates`` (the fake counts overlapping polls)
  and every command is answered once;
- SIGKILL the instance receiving updates: the other takes the updates over (≤ 30 s)
  and carries on polling, delivering and answering commands.

Skips, saying why, where no PostgreSQL server is reachable (see ``pg_url``).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from feeds.models import FeedKind
from storage import Store
from tests.fakes.http_server import reply
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.faultkit import card_counts, case_items, rss, spawn_run, until

TOKEN = "424242:INSTANCESTOKEN"
ALERT = 7001            # a private chat: no 20-a-minute group limit in the way
ADMIN = 7001
USER = 7100             # someone who talks to the bot
FEEDS = 200
INTERVAL = 8            # seconds between polls of each feed
ANSWER_SECONDS = 0.1    # each feed answers this late (see the module docstring)
FIRST_CASES = 20        # feeds 0..19 carry one relevant item each from the start
LATER_CASES = 5         # feeds 100..104 get one after the kill


class Feeds:
    """200 feeds on one loopback server; records when each was requested."""

    def __init__(self) -> None:
        people = case_items(FIRST_CASES + LATER_CASES)
        self.items: dict[int, list[tuple[str, str]]] = {
            k: [people[k]] if k < FIRST_CASES else [] for k in range(FEEDS)}
        self.later = {100 + i: people[FIRST_CASES + i] for i in range(LATER_CASES)}
        self.hits: dict[int, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(ANSWER_SECONDS)
                k = int(self.path.rsplit("/", 1)[-1].removesuffix(".xml"))
                with outer.lock:
                    outer.hits[k].append(time.monotonic())
                    filler = [(f"Weather report {k}", "Sunny and mild across the region.")]
                    body = rss(filler + outer.items[k], site=f"wire{k}.test")
                reply(self, 200, {"Content-Type": "application/rss+xml"}, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, k: int) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/f/{k}.xml"

    def publish_later(self) -> None:
        with self.lock:
            for k, item in self.later.items():
                self.items[k] = [item]

    def hits_since(self, start: float) -> dict[int, list[float]]:
        with self.lock:
            return {k: [t for t in times if t >= start] for k, times in self.hits.items()}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def spawn(pg_url: str, fake: FakeTelegramAPI, log: Path) -> subprocess.Popen[bytes]:
    return spawn_run(log, api_base_url=fake.base_url, database_url=pg_url,
                     TELEGRAM_BOT_TOKEN=TOKEN, DEPORTWATCH_ALERT_CHAT_ID=str(ALERT),
                     DEPORTWATCH_ADMIN_IDS=str(ADMIN), DEPORTWATCH_HOST_CONCURRENCY="8",
                     DEPORTWATCH_FETCH_CONCURRENCY="2",
                     DEPORTWATCH_LOG_LEVEL="INFO")


def refreshed(log: Path) -> int:
    return log.read_text(errors="replace").count("feed refreshed")


def story(log: Path) -> str:
    """The end of an instance's log without the per-feed lines (for a failing assert)."""
    lines = log.read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if "feed refreshed" not in line)[-3000:]


def leads(log: Path) -> bool:
    return "this instance now receives Telegram updates" in log.read_text(errors="replace")


def answers(fake: FakeTelegramAPI, chat: int) -> int:
    return len(fake.messages(chat))


def min_gap(times: list[float]) -> float:
    return min((b - a for a, b in itertools.pairwise(times)), default=float("inf"))


async def test_two_instances_share_the_work_and_survive_a_kill(pg_url: str,
                                                               tmp_path: Path) -> None:
    feeds = Feeds()
    store = await Store.open(pg_url)
    now = datetime.now(UTC)
    for k in range(FEEDS):
        await store.add_feed(feeds.url(k), FeedKind.RSS, INTERVAL, added_by=None, now=now)
    await store.close()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with FakeTelegramAPI() as fake:
        procs = [spawn(pg_url, fake, log) for log in logs]
        try:
            started = time.monotonic()
            # Phase 1: both running. Every first card arrives; feeds are polled 3-4 times.
            assert await until(lambda: len(card_counts(fake, ALERT)) >= FIRST_CASES, 60), \
                [log.read_text()[-2000:] for log in logs]
            assert await until(lambda: sum(leads(log) for log in logs) == 1, 30)
            fake.push_message("/start", user_id=USER)
            assert await until(lambda: answers(fake, USER) >= 1, 30)
            await asyncio.sleep(4 * INTERVAL)
            assert all(proc.poll() is None for proc in procs), [story(log) for log in logs]
            hits = feeds.hits_since(started)
            assert len(hits) == FEEDS
            # Never fetched twice in one cycle: consecutive fetches of a feed (by either
            # instance) are an interval apart (+ up to 10 % jitter), never closer.
            closest = min(min_gap(times) for times in hits.values())
            assert closest >= INTERVAL * 0.9, closest
            assert all(len(times) >= 3 for times in hits.values()), sorted(
                (len(times), round(times[0] - started, 1)) for times in hits.values())[:20]
            shares = [refreshed(log) for log in logs]
            assert min(shares) >= sum(shares) / 10, (shares, [story(log) for log in logs])
            assert fake.poll_overlaps == 0                    # one getUpdates poller
            assert set(card_counts(fake, ALERT).values()) == {1}
            assert answers(fake, USER) == 1                   # answered once, not twice

            # Phase 2: SIGKILL the instance that receives updates.
            leader = next(i for i, log in enumerate(logs) if leads(log))
            survivor = 1 - leader
            procs[leader].send_signal(signal.SIGKILL)
            procs[leader].wait(30)
            killed_at = time.monotonic()
            feeds.publish_later()
            fake.push_message("/start", user_id=USER + 1)
            assert await until(lambda: answers(fake, USER + 1) >= 1, 30 + 10), \
                logs[survivor].read_text()[-3000:]
            took_over = time.monotonic() - killed_at
            assert leads(logs[survivor])
            total = FIRST_CASES + LATER_CASES
            # A feed the killed instance had leased waits for its lease (2 min) to run out.
            assert await until(lambda: len(card_counts(fake, ALERT)) >= total, 150)
            await asyncio.sleep(2 * INTERVAL)
            counts = card_counts(fake, ALERT)
            assert len(counts) == total and set(counts.values()) == {1}, counts
            # The survivor polls on: every feed, including those the killed instance had
            # leased (they wait for the 2-minute lease), is fetched again after the kill.
            def polled_after() -> int:
                after = feeds.hits_since(killed_at + 1)
                return sum(1 for times in after.values() if times)
            assert await until(lambda: polled_after() == FEEDS, 120 + 4 * INTERVAL, every=0.5), \
                polled_after()
            assert answers(fake, USER + 1) == 1
            print(f"\ncommand answered {took_over:.1f} s after the kill; closest re-fetch "
                  f"{closest:.2f} s; refreshes per instance "
                  f"{[refreshed(log) for log in logs]}")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(40)
                except subprocess.TimeoutExpired:
                    proc.kill()
            feeds.close()
