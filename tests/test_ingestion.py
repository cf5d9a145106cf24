"""Ingestion against loopback servers: each kind of source, hostile servers, and the
limits that keep memory and time bounded."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from feeds.errors import FetchError
from feeds.fetch import Fetcher, FetchLimits
from feeds.models import FeedKind, FeedSpec
from feeds.pipeline import refresh_feed
from storage import Store
from storage.db import MEMORY_URL
from tests.fakes.http_server import FixtureServer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await Store.open(MEMORY_URL)
    yield s
    await s.close()


async def _poll(store: Store, url: str, kind: FeedKind, selector: str | None = None
                ) -> list[str]:
    feed, _ = await store.add_feed(url, kind, 300, added_by=None, now=T0, selector=selector)
    async with Fetcher(allow_private=True) as fetcher:
        report = await refresh_feed(store, fetcher, feed, clock=lambda: T0, chat_ids=[-1])
    assert report.ok, report.error
    return [f"{i.url} {i.title}" for i in await store.items()]


async def test_telegram_channel_preview(store: Store, fixture_server: FixtureServer) -> None:
    """A t.me/s preview gives one item per post with its permanent link; the post about
    a detained blogger queues a card, the weather post does not."""
    items = await _poll(store, f"{fixture_server.base_url}/telegram-preview.html",
                        FeedKind.TELEGRAM)
    assert [i.split(" ")[0] for i in items] == ["https://t.me/testchan/101",
                                                "https://t.me/testchan/102"]
    stored = await store.items()
    assert stored[0].relevant and not stored[1].relevant
    assert stored[0].published == datetime(2024, 3, 1, 9, 15, tzinfo=UTC)
    assert await store.outbox_counts() == {"pending": 1}


async def test_page_with_css_selector(store: Store, fixture_server: FixtureServer) -> None:
    """A registry laid out without tables is read with the feed's CSS selector."""
    fixture_server.routes["/schedule"] = (200, {"Content-Type": "text/html; charset=utf-8"}, """
<html><head><title>Суд: расписание</title></head><body>
<div class="case"><span>5-11/2024</span> <span>Рахимов Ф.Т., ст. 18.8 КоАП РФ — административное
 выдворение</span></div>
<div class="case"><span>2-12/2024</span> <span>о взыскании долга</span></div>
<div class="footer">Контакты</div></body></html>""".encode())
    items = await _poll(store, f"{fixture_server.base_url}/schedule", FeedKind.PAGE,
                        selector="div.case")
    assert len(items) == 2
    assert items[0].startswith(f"{fixture_server.base_url}/schedule#row-1 5-11/2024")
    assert (await store.items())[0].relevant


async def test_undeclared_windows_1251_with_header_charset(
        store: Store, fixture_server: FixtureServer) -> None:
    """A feed whose bytes are windows-1251, declared only in the HTTP header, reads as
    proper Cyrillic; so does one that declares nothing at all."""
    body = ("<rss version='2.0'><channel><title>Новости Оренбурга</title><item><title>"
            "Суд выдворил гражданина Узбекистана Хасанова</title><link>/n/1</link></item>"
            "</channel></rss>").encode("windows-1251")
    fixture_server.routes["/header.xml"] = (
        200, {"Content-Type": "application/rss+xml; charset=windows-1251"}, body)
    fixture_server.routes["/bare.xml"] = (200, {"Content-Type": "text/xml"},
                                          body.replace(b"/n/1", b"/n/2"))
    await _poll(store, f"{fixture_server.base_url}/header.xml", FeedKind.RSS)
    titles = await _poll(store, f"{fixture_server.base_url}/bare.xml", FeedKind.RSS)
    assert [t.split(" ", 1)[1] for t in titles] == [
        "Суд выдворил гражданина Узбекистана Хасанова"] * 2
    assert titles[0].startswith(f"{fixture_server.base_url}/n/1")   # relative link resolved


@pytest.fixture
def slow_drip() -> Iterator[str]:
    """A server that sends headers, then one byte every 0.2 s, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                             b"Content-Length: 100000\r\n\r\n")
                while not stop.is_set():
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    stop.set()
    thread.join(timeout=2)
    listener.close()


async def test_slow_drip_is_stopped_at_the_deadline(slow_drip: str) -> None:
    """A server that never stops dripping cannot hold a fetch past its deadline, although
    no single read ever times out."""
    started = time.monotonic()
    async with Fetcher(allow_private=True, limits=FetchLimits(deadline=1.0)) as fetcher:
        with pytest.raises(FetchError, match="within"):
            await fetcher.fetch(FeedSpec(id=1, url=slow_drip))
    assert time.monotonic() - started < 3


async def test_gzip_bomb_stays_within_bounded_memory(fixture_server: FixtureServer) -> None:
    """A 200 MB gzip bomb stops at a 1 MB cap; Python's peak allocation stays small."""
    fixture_server.routes["/bomb"] = (200, {"Content-Encoding": "gzip"},
                                      gzip.compress(b"\0" * (200 * 1024 * 1024), 9))
    async with Fetcher(allow_private=True,
                       limits=FetchLimits(max_body_bytes=1_000_000)) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="cap"):
                await fetcher.fetch(FeedSpec(id=1, url=f"{fixture_server.base_url}/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


async def test_one_slow_source_does_not_delay_the_others(
        store: Store, fixture_server: FixtureServer, slow_drip: str) -> None:
    """In one cycle a slow-drip source ends at its deadline while good feeds complete."""
    from feeds.pipeline import run_cycle

    for url in (slow_drip, f"{fixture_server.base_url}/zhilin-en.xml",
                f"{fixture_server.base_url}/zhilin-ru.xml"):
        await store.add_feed(url, FeedKind.RSS, 300, added_by=None, now=T0)
    async with Fetcher(allow_private=True, limits=FetchLimits(deadline=1.0)) as fetcher:
        reports = await asyncio.wait_for(run_cycle(store, fetcher, clock=lambda: T0), 10)
    assert sorted(r.ok for r in reports) == [False, True, True]


ARTICLE = """<html><head><title>Story</title><script>var x = 1;</script></head><body>
<nav><p>Home | News | About us and other menu items of the site</p></nav>
<article><h1>Court rules on extradition</h1>
<p>A court in Almaty on Tuesday approved the extradition of Jasur Uktamov, a 38-year-old
Uzbek activist, to Uzbekistan, where his lawyers say he faces torture.</p>
<p>Uktamov was detained in May at the request of Tashkent. His lawyers will appeal and
have asked the UN Committee against Torture for interim measures.</p></article>
<footer><p>© 2024 The Outlet. All rights reserved. Subscribe to our newsletter.</p></footer>
</body></html>"""


async def test_short_entry_gets_its_article(store: Store, fixture_server: FixtureServer) -> None:
    """A new entry with only a headline that names a removal is matched on its article's
    main text, so the person at risk is found; other short entries are not fetched."""
    fixture_server.routes["/a/1"] = (200, {"Content-Type": "text/html"}, ARTICLE.encode())
    fixture_server.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, (
        b"<rss version='2.0'><channel><title>Outlet</title>"
        b"<item><title>Court rules on extradition case</title><link>/a/1</link></item>"
        b"<item><title>Snow expected in Almaty</title><link>/a/2</link></item>"
        b"</channel></rss>"))
    await _poll(store, f"{fixture_server.base_url}/feed.xml", FeedKind.RSS)
    first, second = await store.items()
    assert first.relevant and first.persons == ("Jasur Uktamov",)
    assert "Home | News" not in first.text and "All rights reserved" not in first.text
    assert first.text.count("\n\n") == 1                  # two paragraphs kept
    assert not second.relevant
    assert "/a/2" not in fixture_server.requests


@pytest.mark.parametrize(("html", "expected"), [
    (ARTICLE, "approved the extradition of Jasur Uktamov"),
    ("<html><body><div><p>" + "Short. " * 3 + "</p></div></body></html>", ""),
    ("<html><body><div class=c><p>" + "Долгий текст о задержании активиста. " * 8 +
     "</p><p>" + "Второй абзац текста статьи. " * 5 + "</p></div><aside><p>" +
     "Реклама и другие материалы раздела. " * 3 + "</p></aside></body></html>",
     "Второй абзац"),
], ids=["article-element", "nothing-worth-using", "densest-block-without-article"])
def test_extract_main_text(html: str, expected: str) -> None:
    """The main text is the article's prose without navigation, footers or asides."""
    from feeds.article import extract_main_text

    text = extract_main_text(html)
    assert (expected in text) if expected else text == ""
    assert "Реклама" not in text


async def test_court_page_row_change_over_two_polls(
        store: Store, fixture_server: FixtureServer) -> None:
    """A registry page served twice with one changed row yields exactly one new item."""
    from datetime import timedelta

    page = ("<html><head><title>Суд</title></head><body><table>"
            "<tr><th>Дело</th><th>Время</th><th>Стороны</th></tr>"
            "<tr><td>5-1/2024</td><td>10:00</td><td>Каримов Р.С. — {result}</td></tr>"
            "<tr><td>2-2/2024</td><td>11:00</td><td>о взыскании долга</td></tr></table>"
            "</body></html>")
    url = f"{fixture_server.base_url}/court"
    fixture_server.routes["/court"] = (200, {"Content-Type": "text/html; charset=utf-8"},
                                       page.format(result="отложено").encode())
    feed, _ = await store.add_feed(url, FeedKind.PAGE, 900, added_by=None, now=T0)
    async with Fetcher(allow_private=True) as fetcher:
        first = await refresh_feed(store, fetcher, feed, clock=lambda: T0, chat_ids=[-1])
        fixture_server.routes["/court"] = (
            200, {"Content-Type": "text/html; charset=utf-8"},
            page.format(result="выдворение за пределы РФ").encode())
        later = T0 + timedelta(minutes=20)
        current = await store.get_feed(feed.id)
        assert current is not None
        second = await refresh_feed(store, fetcher, current, clock=lambda: later,
                                    chat_ids=[-1])
    assert (first.new_items, second.new_items) == (2, 1)
    assert second.relevant == 1
    refreshed = await store.get_feed(feed.id)
    assert refreshed is not None and refreshed.items_seen == 3
