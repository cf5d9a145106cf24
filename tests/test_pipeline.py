"""The pipeline over a real (in-memory or file) database: cycles, health, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.fetch import Fetcher
from feeds.models import FeedKind
from feeds.pipeline import ingest, run_cycle
from storage import Store
from storage.db import MEMORY_URL
from tests.fakes.http_server import FixtureServer

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await Store.open(MEMORY_URL)
    yield s
    await s.close()


async def test_one_bad_source_does_not_stop_the_cycle(
        store: Store, fixture_server: FixtureServer) -> None:
    """A 500, a non-feed page and a good feed in one cycle: the good one is ingested,
    the bad ones are recorded with an error and backed off."""
    fixture_server.routes["/broken"] = (500, {}, b"oops")
    fixture_server.routes["/garbage.json"] = (200, {"Content-Type": "application/json"},
                                              b'{"jsonfeed": 1, "items": 5}')
    clock = Clock()
    base = fixture_server.base_url
    for path in ("/broken", "/garbage.json", "/zhilin-en.xml"):
        await store.add_feed(base + path, FeedKind.RSS, 300, added_by=None, now=clock())
    async with Fetcher(allow_private=True) as fetcher:
        reports = await run_cycle(store, fetcher, clock=clock, chat_ids=[-100])
    by_url = {r.url.removeprefix(base): r for r in reports}
    assert not by_url["/broken"].ok and "500" in (by_url["/broken"].error or "")
    assert not by_url["/garbage.json"].ok
    assert by_url["/zhilin-en.xml"].ok and by_url["/zhilin-en.xml"].queued == 1
    feeds = {f.url.removeprefix(base): f for f in await store.list_feeds()}
    assert feeds["/broken"].consecutive_failures == 1
    assert feeds["/broken"].next_poll_at == T0 + timedelta(seconds=300)
    assert feeds["/zhilin-en.xml"].last_success_at == T0
    assert feeds["/zhilin-en.xml"].title == "Test Wire & Co"

    # Nothing is due a minute later; after the interval only the good feed succeeds again.
    clock.now = T0 + timedelta(seconds=60)
    async with Fetcher(allow_private=True) as fetcher:
        assert await run_cycle(store, fetcher, clock=clock) == []
    clock.now = T0 + timedelta(seconds=301)
    async with Fetcher(allow_private=True) as fetcher:
        again = await run_cycle(store, fetcher, clock=clock, chat_ids=[-100])
    assert sum(r.queued for r in again) == 0          # known items queue nothing
    feeds = {f.url.removeprefix(base): f for f in await store.list_feeds()}
    assert feeds["/broken"].consecutive_failures == 2
    assert feeds["/broken"].next_poll_at == clock.now + timedelta(seconds=600)


async def test_ingesting_twice_queues_once(store: Store) -> None:
    """The same bytes ingested twice store each item once and queue one card."""
    body = (FIXTURES / "zhilin-ru.xml").read_bytes()
    _, first = await ingest(store, body=body, url="http://ru.test/rss", chat_ids=[-1], now=T0)
    _, second = await ingest(store, body=body, url="http://ru.test/rss", chat_ids=[-1], now=T0)
    assert (first.new_items, first.queued) == (2, 1)
    assert (second.new_items, second.queued) == (0, 0)
    assert await store.outbox_counts() == {"pending": 1}


async def test_languages_merge_and_escalation_queues_reply(store: Store) -> None:
    """A Russian report (appeal rejected) then an English one (handed over) make one case;
    the second escalates it: the card is edited and a reply is queued."""
    ru = (FIXTURES / "zhilin-ru.xml").read_bytes()
    en = (FIXTURES / "zhilin-en.xml").read_bytes()
    await ingest(store, body=ru, url="http://ru.test/rss", chat_ids=[-1], now=T0)
    _, r2 = await ingest(store, body=en, url="http://wire.test/rss", chat_ids=[-1],
                         now=T0 + timedelta(hours=1))
    case_ids = await store.case_ids()
    assert len(case_ids) == 1
    case = await store.get_case(case_ids[0])
    assert case is not None
    assert case.stage is not None and case.stage.value == "removed"
    assert {i.lang for i in case.items} == {"ru", "en"}
    assert [o.change for o in r2.outcomes if o.change] == ["escalate"]
    leased = await store.lease_outbox(T0 + timedelta(hours=2))
    assert [m.kind.value for m in leased] == ["new_card", "update_card", "escalation"]


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{u}</link><description>{d}</description>"
                   f"</item>" for u, t, d in items)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T"
            f"</title>{body}</channel></rss>").encode()


STORY = ("Костанайский областной суд отклонил жалобу Михаила Жилина на отказ в "
         "предоставлении статуса беженца. В тот же день было вынесено решение о депортации. "
         "Адвокаты опасаются, что Жилина могут передать России в ближайшие дни, и готовят "
         "обращение в Комитет ООН по правам человека.")


async def test_near_duplicate_reprint_is_one_item(store: Store) -> None:
    """A reprint with a changed headline and an added source line is a duplicate of the
    original (MinHash), not a second report; a rewrite by another outlet is not."""
    await ingest(store, body=_rss([("http://a.test/1", "Суд отклонил апелляцию Жилина", STORY)]),
                 url="http://a.test/rss", chat_ids=[-1], now=T0)
    reprint = STORY.replace("В тот же день", "В тот же самый день") + " Источник: 24.kg"
    rewrite = ("Михаил Жилин, бежавший от мобилизации офицер, проиграл апелляцию в Костанае; "
               "ему грозит депортация в Россию.")
    await ingest(store, body=_rss([("http://b.test/9", "Жилину отказали: суд", reprint),
                                   ("http://c.test/5", "Жилин проиграл апелляцию", rewrite)]),
                 url="http://b.test/rss", chat_ids=[-1], now=T0)
    by_url = {i.url: i for i in await store.items()}
    assert by_url["http://b.test/9"].duplicate_of == "http://a.test/1"
    assert by_url["http://c.test/5"].duplicate_of is None
    assert by_url["http://c.test/5"].case_id == by_url["http://a.test/1"].case_id


async def test_template_rows_for_different_people_are_not_duplicates(store: Store) -> None:
    """Two registry rows from one template, for different people, stay two items and two
    cases even though their texts are 70 % the same."""
    row = ("Дело об административном правонарушении, ст. 18.8 ч.3.1 КоАП РФ: {name}, "
           "гражданин Узбекистана — штраф с административным выдворением")
    body = _rss([("http://court.test/#row-1", "5-1201/2023", row.format(name="Турсунов А.Б.")),
                 ("http://court.test/#row-2", "5-1202/2023", row.format(name="Каримов Р.С."))])
    await ingest(store, body=body, url="http://court.test/", chat_ids=[-1], now=T0)
    items = await store.items()
    assert [i.duplicate_of for i in items] == [None, None]
    assert len({i.case_id for i in items}) == 2


async def test_guid_identifies_an_item_within_a_feed(store: Store) -> None:
    """A feed re-publishing the same guid under a new link does not make a new item."""
    from feeds.models import FeedKind

    feed, _ = await store.add_feed("http://g.test/rss", FeedKind.RSS, 300, added_by=None,
                                   now=T0)
    first = (b"<rss version='2.0'><channel><title>G</title><item><guid>g-1</guid>"
             b"<title>Ivan Petrov deported</title><link>http://g.test/a</link></item>"
             b"</channel></rss>")
    _, r1 = await ingest(store, body=first, url="http://g.test/rss", feed_id=feed.id,
                         chat_ids=[-1], now=T0)
    _, r2 = await ingest(store, body=first.replace(b"/a<", b"/a-updated<"),
                         url="http://g.test/rss", feed_id=feed.id, chat_ids=[-1], now=T0)
    assert (r1.new_items, r2.new_items) == (1, 0)
    assert len(await store.items()) == 1


PAGE = """<html><head><title>Районный суд: дела на {day}</title></head><body><table>
<tr><th>№</th><th>Время</th><th>Дело</th></tr>
<tr><td>5-101/2024</td><td>10:00</td><td>ст. 18.8 КоАП РФ, Турсунов А.Б. — {outcome}</td></tr>
<tr><td>2-202/2024</td><td>11:00</td><td>о взыскании долга по договору займа</td></tr>
<tr><td>5-303/2024</td><td>12:00</td><td>ст. 20.1 КоАП РФ, мелкое хулиганство</td></tr>
</table></body></html>"""


async def test_court_page_changed_row_is_exactly_one_new_item(store: Store) -> None:
    """Polling a registry page twice where one row changed gives exactly one new item."""
    url = "http://court.test/list"
    first = PAGE.format(day="1 марта", outcome="назначено").encode()
    second = PAGE.format(day="1 марта", outcome="штраф с административным выдворением").encode()
    _, r1 = await ingest(store, body=first, url=url, chat_ids=[-1], now=T0)
    _, r2 = await ingest(store, body=second, url=url, chat_ids=[-1], now=T0)
    _, r3 = await ingest(store, body=second, url=url, chat_ids=[-1], now=T0)
    assert (r1.new_items, r2.new_items, r3.new_items) == (3, 1, 0)
    assert r2.relevant == 1 and r2.queued == 1


async def test_degenerate_feed_with_one_shared_link(store: Store) -> None:
    """Entries sharing one front-page link and a 1970 date stay separate items, dated now."""
    items = "".join(f"<item><title>Новость {n}</title><link>https://outlet.test/</link>"
                    f"<pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate></item>"
                    for n in range(5))
    body = f"<rss version='2.0'><channel><title>O</title>{items}</channel></rss>".encode()
    _, report = await ingest(store, body=body, url="https://outlet.test/rss", now=T0)
    assert report.new_items == 5
    assert {i.published for i in await store.items()} == {T0}


async def test_lease_never_hands_a_feed_to_two_pollers(tmp_path: Path) -> None:
    """Concurrent ticks on one database (two connections) lease disjoint feeds."""
    import asyncio

    from feeds.models import FeedKind

    url = f"sqlite:///{tmp_path / 'lease.db'}"
    a, b = await Store.open(url), await Store.open(url)
    try:
        for n in range(30):
            await a.add_feed(f"https://f{n}.test/rss", FeedKind.RSS, 300, added_by=None, now=T0)
        got = await asyncio.gather(*(s.due_feeds(T0, limit=7) for s in (a, b, a, b, a)))
        ids = [f.id for batch in got for f in batch]
        assert len(ids) == len(set(ids)) == 30
        assert await a.due_feeds(T0) == []          # all leased for the next 10 minutes
        assert len(await a.due_feeds(T0 + timedelta(minutes=11))) == 30
    finally:
        await a.close()
        await b.close()


async def test_feed_paused_after_twenty_failures_and_admins_told_once(
        store: Store, fixture_server: FixtureServer) -> None:
    """Twenty failures in a row pause a feed and queue one notice per admin, once."""
    from feeds.pipeline import refresh_feed

    fixture_server.routes["/down"] = (500, {}, b"")
    feed, _ = await store.add_feed(f"{fixture_server.base_url}/down", FeedKind.RSS, 300,
                                   added_by=None, now=T0)
    clock = Clock()
    async with Fetcher(allow_private=True) as fetcher:
        for n in range(22):
            clock.now = T0 + timedelta(hours=n)
            current = await store.get_feed(feed.id)
            assert current is not None
            await refresh_feed(store, fetcher, current, clock=clock, admin_chat_ids=[11, 22])
    paused = await store.get_feed(feed.id)
    assert paused is not None and paused.paused and paused.consecutive_failures == 22
    assert paused.paused_reason == "20 failures in a row"
    notices = await store.lease_outbox(clock.now)
    assert sorted(m.chat_id for m in notices) == [11, 22]
    assert all("paused after 20 failures" in (m.body or "") for m in notices)
    assert await store.due_feeds(clock.now + timedelta(days=30)) == []


@pytest.mark.parametrize("feed_id", [1, 2, 3, 97, 1000])
def test_success_jitter_stays_within_ten_percent(feed_id: int) -> None:
    """The next poll after success is the interval plus at most 10 %, stable per feed."""
    from feeds.pipeline import next_poll_after_success

    due = next_poll_after_success(T0, feed_id, 600)
    assert T0 + timedelta(seconds=600) <= due <= T0 + timedelta(seconds=660)
    assert due == next_poll_after_success(T0, feed_id, 600)


async def test_one_tick_works_through_more_due_feeds_than_its_concurrency(
        tmp_path: Path, fixture_server: FixtureServer) -> None:
    """Thousands due at once are not a batch per tick: one tick keeps leasing as
    refreshes finish, never more than twice the concurrency unfinished, until every due
    feed was started — each exactly once."""
    from feeds.pipeline import Poller

    store = await Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        clock = Clock()
        for k in range(23):
            await store.add_feed(f"{fixture_server.base_url}/zhilin-en.xml?k={k}", FeedKind.RSS,
                                 300, added_by=None, now=clock())
        reports: list[str] = []
        most = 0
        async with Fetcher(allow_private=True) as fetcher:
            poller = Poller(store, fetcher, clock=clock, concurrency=2,
                            on_report=lambda r: reports.append(r.url))
            real_lease = store.due_feeds

            async def watched_lease(now: datetime, limit: int = 500):  # type: ignore[no-untyped-def]
                nonlocal most
                most = max(most, poller.in_flight)
                return await real_lease(now, limit=limit)

            store.due_feeds = watched_lease  # type: ignore[method-assign]
            assert await poller.tick() == 23
            await poller.close(grace=30)
        assert sorted(reports) == sorted(set(reports)) and len(reports) == 23
        assert most <= 4
        assert await poller.tick() == 0          # stopped by close: leases nothing
    finally:
        await store.close()


async def test_an_unavailable_database_retries_the_source_soon_and_never_pauses_it(
        store: Store, fixture_server: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """When storing fails because the database is locked or unreachable, the source is
    not at fault: it is tried again in 30 s, the failure is not counted (25 of them do
    not pause it), and once the database is back the item is stored and its card
    queued once."""
    from feeds.errors import StorageUnavailable
    from feeds.pipeline import STORAGE_RETRY, refresh_feed

    feed, _ = await store.add_feed(f"{fixture_server.base_url}/zhilin-en.xml", FeedKind.RSS,
                                   300, added_by=None, now=T0)
    real = store.record_items
    down = {"on": True}

    async def record_items(*args: object, **kwargs: object) -> object:
        if down["on"]:
            raise StorageUnavailable("database unavailable: database is locked")
        return await real(*args, **kwargs)          # type: ignore[arg-type]

    monkeypatch.setattr(store, "record_items", record_items)
    clock = Clock()
    async with Fetcher(allow_private=True) as fetcher:
        for n in range(25):
            clock.now = T0 + n * STORAGE_RETRY
            current = await store.get_feed(feed.id)
            assert current is not None and current.next_poll_at <= clock.now
            report = await refresh_feed(store, fetcher, current, clock=clock,
                                        chat_ids=[-100], admin_chat_ids=[11])
            assert not report.ok and "locked" in (report.error or "")
        after = await store.get_feed(feed.id)
        assert after is not None and not after.paused and after.consecutive_failures == 0
        assert after.next_poll_at == clock.now + STORAGE_RETRY
        assert "StorageUnavailable" in (after.last_error or "")
        assert await store.lease_outbox(clock.now) == []      # no pause notice, no card

        down["on"] = False
        clock.now += STORAGE_RETRY
        report = await refresh_feed(store, fetcher, after, clock=clock, chat_ids=[-100])
    assert report.ok and report.queued == 1
    cards = await store.lease_outbox(clock.now)
    assert [m.chat_id for m in cards] == [-100]
