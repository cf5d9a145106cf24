"""Benchmark: parse + match throughput and end-to-end ingest on real news feeds.

Prints figures measured in one run (no assertions). Reads ../shared/corpora/news-feeds
when present, else the bundled samples. Usage: .venv/bin/python bench/pipeline.py
"""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.match import analyze, build_matcher
from feeds.parse import parse
from feeds.pipeline import ingest
from storage import Store
from storage.db import MEMORY_URL

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "news-feeds"


def feeds() -> list[Path]:
    found = sorted(CORPUS.glob("*.xml")) + sorted(CORPUS.glob("*.rss"))
    return found or sorted((ROOT / "feeds" / "samples").glob("*.xml"))


def main() -> None:
    files = feeds()
    bodies = [(p, p.read_bytes()) for p in files]
    total_bytes = sum(len(b) for _, b in bodies)
    matcher = build_matcher()

    t0 = time.perf_counter()
    parsed = [parse(body, f"https://bench.invalid/{p.name}") for p, body in bodies]
    t_parse = time.perf_counter() - t0
    entries = [e for result in parsed for e in result.entries]
    chars = sum(len(e.title) + len(e.text) for e in entries)

    t0 = time.perf_counter()
    analyses = [analyze(e.title, e.text, matcher) for e in entries]
    t_match = time.perf_counter() - t0

    async def repoll() -> float:
        """The steady state: the same feeds again, every entry already known."""
        store = await Store.open(MEMORY_URL)
        try:
            for p, body in bodies:
                await ingest(store, body=body, url=f"https://bench.invalid/{p.name}",
                             now=datetime.now(UTC))
            start = time.perf_counter()
            for p, body in bodies:
                await ingest(store, body=body, url=f"https://bench.invalid/{p.name}",
                             now=datetime.now(UTC))
            return time.perf_counter() - start
        finally:
            await store.close()

    async def end_to_end() -> tuple[float, int]:
        store = await Store.open(MEMORY_URL)
        try:
            start = time.perf_counter()
            queued = 0
            for p, body in bodies:
                _, report = await ingest(store, body=body, url=f"https://bench.invalid/{p.name}",
                                         chat_ids=[-1], now=datetime.now(UTC))
                queued += report.queued
            return time.perf_counter() - start, queued
        finally:
            await store.close()

    t_e2e, queued = asyncio.run(end_to_end())
    tracemalloc.start()          # a second run, traced: tracing slows Python several times
    asyncio.run(end_to_end())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    relevant = sum(a.relevant for a in analyses)
    print(f"corpus: {len(files)} feeds, {total_bytes / 1e6:.2f} MB, {len(entries)} entries, "
          f"{chars / 1e6:.2f} M chars")
    print(f"parse:  {t_parse * 1000:8.1f} ms  ({len(entries) / t_parse:8.0f} entries/s)")
    print(f"match:  {t_match * 1000:8.1f} ms  ({len(entries) / t_match:8.0f} entries/s, "
          f"{chars / t_match / 1e6:.2f} M chars/s)")
    print(f"ingest: {t_e2e * 1000:8.1f} ms  end to end into in-memory SQLite "
          f"({len(entries) / t_e2e:6.0f} entries/s), peak traced memory "
          f"{peak / 1e6:.1f} MB")
    t_repoll = asyncio.run(repoll())
    print(f"repoll: {t_repoll * 1000:8.1f} ms  the same feeds again, all entries known "
          f"({len(entries) / t_repoll:6.0f} entries/s; {t_e2e / t_repoll:.1f}x faster "
          "than the first poll)")
    print(f"result: {relevant} relevant entries, {queued} cards queued")


if __name__ == "__main__":
    main()
