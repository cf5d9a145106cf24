"""Benchmark: the whole ingest pipeline against feedparser's parse alone, on the same bytes.

N generated feeds (``bench/feedgen.py``: English and Russian, 50 items each, realistic
lengths, about 5 % about a person facing removal) go through the real pipeline
(``feeds.pipeline.ingest``: parse → dedup → match → case → outbox) into a SQLite file
database, as the service does on a feed's first poll (every item new). In the same
run and on the same bytes, ``feedparser.parse`` alone (its defaults) is timed; the
issue's target is pipeline ≤ 1.5 × feedparser. Each measurement is repeated and the
median is printed. Then the steady state: a re-poll where each feed has 2 new items,
and one where nothing is new. Last, the real news feeds of ../shared/corpora when
present.

Prints figures; no assertions. Usage::

    .venv/bin/python bench/pipeline.py [--feeds 100] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser

from bench.feedgen import make_feed
from feeds.feedxml import read_simple_feed
from feeds.match import analyze, build_matcher
from feeds.models import FeedKind
from feeds.neardup import signature
from feeds.parse import parse, parse_with_feedparser
from feeds.pipeline import ingest
from storage import Store

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "news-feeds"
GROUP = -100123
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
Body = tuple[str, bytes]


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` calls."""
    def once() -> tuple[float, float]:
        w, c = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - w, time.process_time() - c
    return median_of(once, repeat)


def feedparser_alone(bodies: Sequence[Body]) -> None:
    for _, body in bodies:
        feedparser.parse(io.BytesIO(body))


async def _poll(store: Store, ids: dict[str, int], bodies: Sequence[Body]) -> tuple[int, int]:
    new = queued = 0
    for url, body in bodies:
        _, report = await ingest(store, body=body, url=url, feed_id=ids[url],
                                 kind=FeedKind.RSS, chat_ids=[GROUP], now=NOW)
        new += report.new_items
        queued += report.queued
    return new, queued


class Pipeline:
    """A fresh SQLite file database per run with the feeds added (untimed), then the
    timed polls."""

    def __init__(self, bodies: Sequence[Body]) -> None:
        self.bodies = bodies
        self.counts: tuple[int, int] = (0, 0)

    def first_poll(self) -> tuple[float, float]:
        """Wall and CPU seconds of the first poll of every feed (all items new)."""
        return asyncio.run(self._run(self.bodies, None))

    def second_poll(self, later: Sequence[Body] | None) -> tuple[float, float]:
        """Wall and CPU seconds of a second poll (``later``: the feeds' next bodies;
        None: the same bytes again), after an untimed first poll."""
        return asyncio.run(self._run(self.bodies, later or self.bodies))

    async def _run(self, first: Sequence[Body], second: Sequence[Body] | None
                   ) -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as tmp:
            store = await Store.open(f"sqlite:///{tmp}/bench.db")
            try:
                ids = {}
                for url, _ in first:
                    feed, _new = await store.add_feed(url, FeedKind.RSS, 300, added_by=None,
                                                      now=NOW)
                    assert feed.id is not None
                    ids[url] = feed.id
                if second is not None:
                    await _poll(store, ids, first)
                w, c = time.perf_counter(), time.process_time()
                self.counts = await _poll(store, ids, second or first)
                return time.perf_counter() - w, time.process_time() - c
            finally:
                await store.close()


def median_of(fn: Callable[[], tuple[float, float]], repeat: int) -> tuple[float, float]:
    runs = [fn() for _ in range(repeat)]
    return (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))


def stages(bodies: Sequence[Body]) -> tuple[float, float]:
    """Our parse, and matching plus near-duplicate signatures, timed apart (seconds)."""
    start = time.perf_counter()
    parsed = [parse(body, url) for url, body in bodies]
    t_parse = time.perf_counter() - start
    matcher = build_matcher()
    entries = [e for p in parsed for e in p.entries]
    start = time.perf_counter()
    for e in entries:
        if analyze(e.title, e.text, matcher).relevant:
            signature(f"{e.title}\n{e.text}")
    return t_parse, time.perf_counter() - start


def generated(n: int, revision: int = 0) -> list[Body]:
    return [(f"https://news{i}.example/feed.xml", make_feed(i, revision=revision).body)
            for i in range(n)]


def report_set(title: str, bodies: Sequence[Body], items: int, repeat: int) -> None:
    size = sum(len(b) for _, b in bodies)
    print(f"\n{title}: {len(bodies)} feeds, {items} items, {size / 1e6:.1f} MB")
    run = Pipeline(bodies)
    build_matcher()
    run.first_poll()                                    # warm caches (lemmas, matcher)
    fp_wall, fp_cpu = timed(lambda: feedparser_alone(bodies), repeat)
    pipe_wall, pipe_cpu = median_of(run.first_poll, repeat)
    new, queued = run.counts
    t_parse, t_match = stages(bodies)
    fast = sum(read_simple_feed(body, "application/xml") is not None for _, body in bodies)
    start = time.perf_counter()
    for url, body in bodies:
        parse_with_feedparser(body, url, "application/xml")
    t_long = time.perf_counter() - start
    print(f"{'measure':44} {'seconds':>8} {'items/s':>9} {'× feedparser':>13}")
    rows = [("feedparser.parse alone (defaults)", fp_wall),
            ("whole pipeline, first poll (all new)", pipe_wall),
            ("  of which our parse", t_parse),
            ("  (our parse, all through feedparser)", t_long),
            ("  of which matching + signatures", t_match),
            ("  of which dedup, cases, outbox, SQLite", max(0.0, pipe_wall - t_parse - t_match))]
    for label, seconds in rows:
        print(f"{label:44} {seconds:8.2f} {items / seconds:9.0f} {seconds / fp_wall:13.2f}")
    print(f"CPU seconds: feedparser {fp_cpu:.2f}, pipeline {pipe_cpu:.2f} "
          f"(ratio {pipe_cpu / fp_cpu:.2f}); stored {new} new items, queued {queued} cards; "
          f"{fast} of {len(bodies)} feeds read by the fast reader (feeds.feedxml)")


def steady_state(n: int, repeat: int) -> None:
    bodies, later = generated(n), generated(n, revision=2)
    run = Pipeline(bodies)
    changed, _ = median_of(lambda: run.second_poll(later), repeat)
    new, queued = run.counts
    same, _ = median_of(lambda: run.second_poll(None), repeat)
    fp_wall, _ = timed(lambda: feedparser_alone(later), repeat)
    print(f"\nsteady state ({n} feeds polled again):")
    print(f"  2 new items per feed: {changed:.2f} s ({changed / n * 1000:.1f} ms per feed, "
          f"{new} new items, {queued} cards; {changed / fp_wall:.2f} × feedparser's "
          f"{fp_wall:.2f} s on those bytes)")
    print(f"  nothing new (server ignored the conditional GET): {same:.2f} s "
          f"({same / n * 1000:.1f} ms per feed); the usual case, 304 Not Modified, "
          f"parses nothing")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true",
                    help="profile one first poll with pyinstrument instead")
    args = ap.parse_args()
    bodies = generated(args.feeds)
    items = sum(len(parse(b, u).entries) for u, b in bodies)
    if args.profile:
        from pyinstrument import Profiler  # a developer tool, not a dependency

        async def inline(fn: Callable[..., object], /, *args: object) -> object:
            return fn(*args)            # worker-thread steps on the profiled thread

        asyncio.to_thread = inline      # type: ignore[assignment]
        run = Pipeline(bodies)
        run.first_poll()
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        run.first_poll()
        profiler.stop()
        print(profiler.output_text(color=False, show_all=False))
        return
    print("deportwatch bench/pipeline.py — median of", args.repeat, "runs each")
    report_set("generated feeds (en + ru)", bodies, items, args.repeat)
    steady_state(args.feeds, args.repeat)
    real = sorted(CORPUS.glob("*.xml")) + sorted(CORPUS.glob("*.rss"))
    if real:
        real_bodies = [(f"https://real.example/{p.name}", p.read_bytes()) for p in real]
        real_items = sum(len(parse(b, u).entries) for u, b in real_bodies)
        report_set("real news feeds (../shared/corpora/news-feeds)", real_bodies,
                   real_items, args.repeat)


if __name__ == "__main__":
    main()
