"""The pipeline: one orchestrator that takes a source from bytes on the wire to queued cards.

::

    fetch ──► parse ──► dedup ──► [article] ──► match ──► case ──► outbox ··► deliver
    (fetch)   (parse)   (dedup)   (article)     (match)   (cases)  (storage)  (bot.delivery)

- ``refresh_feed`` is the one function that refreshes a stored feed end to end: it
  fetches (conditional GET), hands the body to ``ingest``, and records success
  (next poll = interval + a stable per-feed jitter) or failure (exponential
  back-off, Retry-After, pause after 20 in a row with one notice to admins) — a
  failing source is recorded, never raised.
- ``ingest`` parses (in a worker thread: feedparser is CPU-bound), drops entries
  whose canonical URL is stored already (a re-poll matches nothing again), matches
  the new ones (worker thread), and hands them to ``Store.record_items``, which
  stores them, applies the pure case decision (``feeds.cases.decide``) and queues
  outbox messages — one transaction per source.
- ``Poller`` (the service) starts a task per due feed on each tick, so one slow
  source never delays the others; ``run_cycle`` (the CLI) refreshes every due feed
  with bounded concurrency and waits for all.

Delivery is not here: the outbox is the hand-over point to ``bot.delivery``.
Must not import telegram; storage is reached only through ``storage.Store``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from feeds.article import extract_main_text
from feeds.cases import decide
from feeds.dedup import canonical_url, content_hash, url_hash
from feeds.errors import FetchError, ParseError, StorageUnavailable, UnsafeURLError
from feeds.fetch import Fetcher, FetchOutcome
from feeds.match import analyze, build_matcher, has_removal_term
from feeds.models import Analysis, Entry, FeedInfo, FeedKind, FeedSpec, ItemOutcome
from feeds.neardup import signature
from feeds.parse import Parsed, decode_html, parse
from storage import NewItem, Store

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
STORAGE_RETRY = timedelta(seconds=30)   # a source not stored because the database was not there
PAUSE_AFTER = 20            # consecutive failures before a feed is paused
MAX_RETRY_AFTER = timedelta(days=7)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one refresh of one source did."""

    url: str
    feed_id: int | None = None
    ok: bool = True
    error: str | None = None
    not_modified: bool = False
    entries: int = 0
    new_items: int = 0
    relevant: int = 0
    queued: int = 0
    outcomes: tuple[ItemOutcome, ...] = field(default=())


def next_poll_after_failure(now: datetime, interval: int, failures: int,
                            retry_after: float | None) -> datetime:
    """Exponential back-off (interval × 2^(failures-1), at most 6 h), never earlier than
    the server's ``Retry-After`` (itself capped at 7 days, so a hostile value cannot
    overflow the date or silence a source for ever)."""
    seconds = min(float(interval) * 2.0 ** min(max(0, failures - 1), 30),
                  MAX_BACKOFF.total_seconds())
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, MAX_RETRY_AFTER.total_seconds()))
    backoff = timedelta(seconds=seconds)
    return now + backoff


def _understand_all(entries: Sequence[Entry]) -> list[tuple[Analysis, tuple[int, ...]]]:
    """Match each entry and, for one that names a removal, compute its MinHash signature
    (CPU-bound: worker thread). Only such items are compared for near copies: a copy
    joins its original's case, and the rest of the news (most items) is about nothing
    a case could hold; an exact copy of any item is still caught by its content hash."""
    matcher = build_matcher()
    understood = []
    for e in entries:
        analysis = analyze(e.title, e.text, matcher)
        understood.append((analysis, signature(f"{e.title}\n{e.text}")
                           if analysis.relevant or analysis.triggers else ()))
    return understood


async def ingest(store: Store, *, body: bytes, url: str, headers: dict[str, str] | None = None,
                 kind: FeedKind | None = None, feed_id: int | None = None,
                 chat_ids: Sequence[int] = (), now: datetime,
                 selector: str | None = None, enrich: Enrich | None = None,
                 digest: bool = False) -> tuple[Parsed, SourceReport]:
    """parse → dedup (known URLs skipped) → match → case → outbox for one source's bytes.

    Entries whose canonical URL is stored already are not matched again; the new
    ones are stored, decided and queued in one transaction.
    """
    parsed = await asyncio.to_thread(parse, body, url, headers or {}, kind, selector)
    report = await ingest_entries(store, parsed.entries, url=url, feed_id=feed_id,
                                  chat_ids=chat_ids, now=now, enrich=enrich, digest=digest)
    return parsed, report


Enrich = Callable[[list[Entry]], Awaitable[list[Entry]]]
ARTICLE_SHORT = 300         # an entry with less text than this may get its article
ARTICLES_PER_POLL = 5


async def fetch_articles(fetcher: Fetcher, entries: list[Entry]) -> list[Entry]:
    """For short entries that name a removal, fetch the linked article and use its main
    text (at most ARTICLES_PER_POLL per poll; a failed fetch keeps the entry as it is)."""
    matcher = build_matcher()
    chosen = [i for i, e in enumerate(entries)
              if len(e.text) < ARTICLE_SHORT and e.url.startswith(("http://", "https://"))
              and has_removal_term(f"{e.title}. {e.text}", matcher)][:ARTICLES_PER_POLL]
    out = list(entries)
    for i in chosen:
        try:
            page = await fetcher.fetch(FeedSpec(id=None, url=entries[i].url))
        except (FetchError, UnsafeURLError) as exc:
            log.info("article not fetched url=%s error=%s", entries[i].url, exc)
            continue
        text = await asyncio.to_thread(extract_main_text, decode_html(
            page.body, page.headers.get("content-type", "")))
        if len(text) > len(entries[i].text):
            out[i] = replace(entries[i], text=text)
    return out


async def ingest_entries(store: Store, entries: Sequence[Entry], *, url: str,
                         feed_id: int | None = None, chat_ids: Sequence[int] = (),
                         now: datetime, enrich: Enrich | None = None,
                         digest: bool = False) -> SourceReport:
    """dedup (known URLs skipped) → [article fetch] → match → case → outbox."""
    stamped = [_stamped(e, now) for e in entries]
    if feed_id is not None:
        # Identity: guid within a feed, canonical URL, then content (in record_items).
        seen_guids = await store.known_guids(feed_id, [e.guid for e in stamped if e.guid])
        stamped = [e for e in stamped if not e.guid or e.guid not in seen_guids]
    shared = Counter(e.url for e in stamped)
    hashes = [identity(e, shared[e.url] > 1) for e in stamped]
    known = await store.known_urls(hashes)
    fresh: dict[str, Entry] = {}
    for entry, h in zip(stamped, hashes, strict=True):
        if h not in known:
            fresh.setdefault(h, entry)      # the same URL twice in one feed counts once
    if enrich is not None and fresh:
        fresh = dict(zip(fresh, await enrich(list(fresh.values())), strict=True))
    understood = await asyncio.to_thread(_understand_all, list(fresh.values()))
    batch = [NewItem(entry=e, analysis=a, url_hash=h,
                     content_hash=content_hash(e.title, e.text), signature=sig)
             for (h, e), (a, sig) in zip(fresh.items(), understood, strict=True)]
    outcomes = await store.record_items(batch, feed_id=feed_id, now=now, chat_ids=chat_ids,
                                        decide=decide, digest=digest) if batch else []
    new = [(o, n) for o, n in zip(outcomes, batch, strict=True) if o.new]
    return SourceReport(
        url=url, feed_id=feed_id, entries=len(entries), new_items=len(new),
        relevant=sum(1 for _, n in new if n.analysis.relevant),
        queued=sum(o.queued for o in outcomes), outcomes=tuple(outcomes))


EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)


def _stamped(entry: Entry, now: datetime) -> Entry:
    """Canonical URL; a missing or impossible date (1970, the future) becomes the time
    the item was first seen."""
    published = entry.published
    if published is None or not EARLIEST <= published <= now + timedelta(days=1):
        published = now
    return replace(entry, url=canonical_url(entry.url), published=published)


def identity(entry: Entry, url_shared: bool) -> str:
    """The key an item is known by: its canonical URL, unless the URL cannot tell items
    apart — a court row (its content is its identity, so a changed row is new), a link
    shared by several entries of one feed, or a site's front page — then URL + content."""
    is_row = bool(entry.guid and entry.guid.startswith("row:"))
    if is_row or url_shared or urlsplit(entry.url).path in ("", "/"):
        return url_hash(f"{entry.url}|{content_hash(entry.title, entry.text)}")
    return url_hash(entry.url)


def next_poll_after_success(now: datetime, feed_id: int, interval: int) -> datetime:
    """The interval plus a stable per-feed jitter of up to 10 %, so feeds added together
    spread out instead of hitting their hosts in step (no randomness: testable)."""
    spread = (feed_id * 2654435761 % 1000) / 1000        # Knuth's multiplicative hash
    return now + timedelta(seconds=interval * (1 + 0.1 * spread))


async def refresh_feed(store: Store, fetcher: Fetcher, feed: FeedInfo, *, clock: Clock,
                       chat_ids: Sequence[int] = (), admin_chat_ids: Sequence[int] = (),
                       pause_after: int = PAUSE_AFTER, articles: bool = True,
                       digest: bool = False) -> SourceReport:
    """Fetch, ingest and record the health of one stored feed. Never raises for the
    source's own faults (network, HTTP status, unsafe URL, unparsable body); after
    ``pause_after`` failures in a row the feed is paused and admins are told once. When
    the database is what failed (``StorageUnavailable``: locked, unreachable) the feed
    is tried again in ``STORAGE_RETRY`` and the failure is not counted against it."""
    assert feed.id is not None
    try:
        result = await fetcher.fetch(feed.spec())
        if result.outcome is FetchOutcome.NOT_MODIFIED:
            now = clock()
            await store.record_fetch_success(
                feed.id, now=now, title=None, etag=result.etag or feed.etag,
                last_modified=result.last_modified or feed.last_modified,
                next_poll_at=next_poll_after_success(now, feed.id, feed.interval_seconds))
            return SourceReport(url=feed.url, feed_id=feed.id, not_modified=True)
        parsed, report = await ingest(store, body=result.body, url=result.url,
                                      headers=result.headers, kind=feed.kind, feed_id=feed.id,
                                      chat_ids=chat_ids, now=clock(), selector=feed.selector,
                                      digest=digest,
                                      enrich=(lambda entries: fetch_articles(fetcher, entries))
                                      if articles and feed.kind is FeedKind.RSS else None)
        now = clock()
        await store.record_fetch_success(
            feed.id, now=now, title=parsed.title, etag=result.etag,
            last_modified=result.last_modified, new_items=report.new_items,
            next_poll_at=next_poll_after_success(now, feed.id, feed.interval_seconds))
        log.info("feed refreshed feed_id=%s entries=%s new=%s relevant=%s queued=%s",
                 feed.id, report.entries, report.new_items, report.relevant, report.queued)
        return report
    except (FetchError, ParseError, UnsafeURLError, StorageUnavailable) as exc:
        now = clock()
        ours = isinstance(exc, StorageUnavailable)     # our database, not the source
        if ours:
            next_poll_at = now + min(STORAGE_RETRY, timedelta(seconds=feed.interval_seconds))
            log.warning("feed not stored, database unavailable; retried at %s feed_id=%s "
                        "error=%s", next_poll_at, feed.id, exc)
        else:
            next_poll_at = next_poll_after_failure(
                now, feed.interval_seconds, feed.consecutive_failures + 1,
                exc.retry_after if isinstance(exc, FetchError) else None)
            log.warning("feed failed feed_id=%s url=%s error=%s", feed.id, feed.url, exc)
        await store.record_fetch_failure(
            feed.id, now=now, error=f"{type(exc).__name__}: {exc}", next_poll_at=next_poll_at,
            counted=not ours, pause_after=None if ours else pause_after,
            notify=admin_chat_ids)
        return SourceReport(url=feed.url, feed_id=feed.id, ok=False, error=str(exc))


async def refresh_guarded(store: Store, fetcher: Fetcher, feed: FeedInfo, *, clock: Clock,
                          chat_ids: Sequence[int] = (), admin_chat_ids: Sequence[int] = (),
                          articles: bool = True, digest: bool = False) -> SourceReport:
    """``refresh_feed``, and a bug met by one source is recorded on that feed (with
    back-off) instead of stopping the others."""
    try:
        return await refresh_feed(store, fetcher, feed, clock=clock, chat_ids=chat_ids,
                                  admin_chat_ids=admin_chat_ids, articles=articles,
                                  digest=digest)
    except Exception as exc:
        log.exception("feed crashed the pipeline feed_id=%s url=%s", feed.id, feed.url)
        assert feed.id is not None
        now = clock()
        await store.record_fetch_failure(
            feed.id, now=now, error=f"internal error: {type(exc).__name__}: {exc}",
            next_poll_at=next_poll_after_failure(
                now, feed.interval_seconds, feed.consecutive_failures + 1, None))
        return SourceReport(url=feed.url, feed_id=feed.id, ok=False,
                            error=f"internal error: {exc}")


async def run_cycle(store: Store, fetcher: Fetcher, *, clock: Clock,
                    chat_ids: Sequence[int] = (), admin_chat_ids: Sequence[int] = (),
                    concurrency: int = 8, limit: int = 100,
                    articles: bool = True, digest: bool = False) -> list[SourceReport]:
    """Refresh every feed that is due now and wait for all (the CLI's one-shot cycle);
    one failing source never stops the others."""
    feeds = await store.due_feeds(clock(), limit=limit)
    gate = asyncio.Semaphore(concurrency)

    async def one(feed: FeedInfo) -> SourceReport:
        async with gate:
            return await refresh_guarded(store, fetcher, feed, clock=clock, chat_ids=chat_ids,
                                         admin_chat_ids=admin_chat_ids, articles=articles,
                                         digest=digest)

    return list(await asyncio.gather(*(one(f) for f in feeds)))


class Poller:
    """The service's poller: each ``tick`` leases the feeds due now and refreshes each in
    its own task, so a slow or hanging source delays only itself — the next tick polls
    the healthy feeds on time. A tick keeps leasing as refreshes finish until nothing
    more is due (thousands of feeds due at once are worked through at the fetch
    concurrency, not a batch per tick). A leased feed is not due again until its
    refresh ends (the lease pushes its next poll ahead), so no feed is fetched twice at
    once."""

    LEASE_BATCH = 500

    def __init__(self, store: Store, fetcher: Fetcher, *, clock: Clock,
                 concurrency: int = 64, on_report: Callable[[SourceReport], None] = print
                 ) -> None:
        self.store, self.fetcher, self.clock = store, fetcher, clock
        self._gate = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._feeds: set[int | None] = set()
        self._on_report = on_report
        self._stopping = False

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def stop(self) -> None:
        """Lease nothing more (a running ``tick`` returns as soon as it can)."""
        self._stopping = True

    async def tick(self, *, chat_ids: Sequence[int] = (), admin_chat_ids: Sequence[int] = (),
                   articles: bool = True, digest: bool = False) -> int:
        """Start refreshing the feeds due now — and, as refreshes finish, those still
        due — until none is left; returns how many were started. At most twice the
        concurrency are started and not finished at any time (leases start ticking
        when a feed is leased)."""
        started = 0
        while not self._stopping:
            room = self._concurrency * 2 - len(self._tasks)
            if room <= 0:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                continue
            want = min(room, self.LEASE_BATCH)
            leased = await self.store.due_feeds(self.clock(), limit=want)
            for feed in leased:
                if feed.id in self._feeds:      # still refreshing after its lease ran out
                    continue
                self._feeds.add(feed.id)
                task = asyncio.create_task(self._one(feed, tuple(chat_ids),
                                                     tuple(admin_chat_ids), articles, digest))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started += 1
            if len(leased) < want:
                break                           # nothing more is due now
        return started

    async def _one(self, feed: FeedInfo, chat_ids: tuple[int, ...],
                   admin_chat_ids: tuple[int, ...], articles: bool, digest: bool) -> None:
        try:
            async with self._gate:
                report = await refresh_guarded(self.store, self.fetcher, feed,
                                               clock=self.clock, chat_ids=chat_ids,
                                               admin_chat_ids=admin_chat_ids,
                                               articles=articles, digest=digest)
        finally:
            self._feeds.discard(feed.id)
        self._on_report(report)

    async def close(self, grace: float) -> None:
        """Let running refreshes finish for ``grace`` seconds, then cancel the rest (each
        step is transactional: a cancelled refresh loses nothing; its feed is polled
        again when its lease runs out)."""
        self.stop()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
