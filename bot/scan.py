"""``scan`` and ``demo``: the whole pipeline once over given sources, reported as cards or JSON.

Sources are URLs (fetched with the same safe fetcher as the service) or local files;
a feed is told from an HTML page by content. The database is a throw-away in-memory
SQLite unless ``--db`` names one. Output contract of ``--json``: one object
``{"items": [...], "cases": [...]}`` (see README, "scan --json").
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cards import render_plain
from bot.context import utc_now
from bot.delivery import tracks_for
from feeds.errors import DeportwatchError
from feeds.fetch import Fetcher, read_local
from feeds.models import FeedSpec, StoredItem
from feeds.names import NameQuery, mentions, names_person, parse_query
from feeds.pipeline import ingest
from storage import Store
from storage.db import MEMORY_URL


@dataclass
class ScanResult:
    items: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def item_json(item: StoredItem, queries: Sequence[tuple[str, NameQuery]]) -> dict[str, Any]:
    """One item of the ``--json`` contract; ``queries`` are the parsed ``--track`` ones."""
    return {
        "url": item.url, "source": item.source, "title": item.title, "text": item.text,
        "lang": item.lang, "published": _iso(item.published), "relevant": item.relevant,
        "kind": item.kind.value if item.kind else None, "urgent": item.urgent,
        "persons": list(item.persons),
        "case_id": str(item.case_id) if item.case_id is not None else None,
        "duplicate_of": item.duplicate_of,
        "tracks": [q for q, parsed in queries if mentions(parsed, f"{item.title}\n{item.text}")],
    }


async def scan(sources: Sequence[str], *, tracks: Sequence[str] = (), db: str | None = None,
               allow_private: bool = False) -> ScanResult:
    """Run fetch → parse → match → dedup → case once over ``sources``."""
    queries = [(q, parse_query(q)) for q in tracks]   # a bad query fails before any work
    result = ScanResult()
    store = await Store.open(db or MEMORY_URL)
    try:
        async with Fetcher(allow_private=allow_private) as fetcher:
            for source in sources:
                try:
                    path = Path(source)
                    if "://" not in source and await asyncio.to_thread(path.exists):
                        body, url, headers = read_local(path), source, {}
                    else:
                        fetched = await fetcher.fetch(FeedSpec(id=None, url=source))
                        body, url, headers = fetched.body, fetched.url, fetched.headers
                    await ingest(store, body=body, url=url, headers=headers, now=utc_now())
                except (DeportwatchError, OSError) as exc:
                    result.errors.append(f"{source}: {exc}")
        items = await store.items()
        result.items = [item_json(i, queries) for i in items]
        for case_id in await store.case_ids():
            case = await store.get_case(case_id)
            assert case is not None
            urls = [i.url for i in items if i.case_id == case_id and i.duplicate_of is None]
            result.cases.append({
                "case_id": str(case.id), "kind": case.kind.value if case.kind else None,
                "stage": case.stage.value if case.stage else None, "urgent": case.urgent,
                "persons": list(case.persons), "countries": list(case.countries),
                "items": urls})
            matched = tuple(q for q, parsed in queries if names_person(parsed, case.persons)) + \
                await tracks_for(store, case)
            result.cards.append(render_plain(case, tracks=matched))
    finally:
        await store.close()
    return result
