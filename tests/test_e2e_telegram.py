"""End to end through the real application: fixture feed on loopback → card in the group.

The service runs exactly as ``deportwatch run`` does (python-telegram-bot, the
APScheduler poller, delivery, SQLite file with migrations), talking to the in-repo
fake Bot API server over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from bot.service import run_service
from bot.settings import Settings
from storage import Store
from tests.fakes.http_server import FixtureServer
from tests.fakes.telegram_api import FakeTelegramAPI

GROUP = -1001234
ADMIN, COORDINATOR, STRANGER = 111, 222, 333


def _settings(fake: FakeTelegramAPI, tmp_path: Path) -> Settings:
    return Settings(telegram_token="123456:TESTTOKEN", api_base_url=fake.base_url,
                    alert_chat_id=GROUP, admin_ids=frozenset({ADMIN}),
                    coordinator_ids=frozenset({COORDINATOR}),
                    database_url=f"sqlite:///{tmp_path / 'data' / 'dw.db'}",
                    allow_private_urls=True, tick_seconds=0.2, poll_seconds=300)


async def _reply(fake: FakeTelegramAPI, user: int, after: int) -> str:
    assert await fake.await_for(lambda: len(fake.messages(chat_id=user)) > after, timeout=15)
    return str(fake.messages(chat_id=user)[-1]["text"])


async def _start(settings: Settings, fake: FakeTelegramAPI) -> tuple[asyncio.Task[None],
                                                                      asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_service(settings, stop))
    polls = len(fake.calls_to("getUpdates"))
    assert await fake.await_for(lambda: len(fake.calls_to("getUpdates")) > polls, timeout=15)
    return task, stop


async def _stop(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    stop.set()
    await asyncio.wait_for(task, timeout=30)


async def test_addfeed_delivers_one_card_and_refuses_non_admins(
        fake_telegram: FakeTelegramAPI, fixture_server: FixtureServer, tmp_path: Path) -> None:
    """An admin's /addfeed leads to exactly one escaped HTML card in the group; a
    stranger's /addfeed is refused and adds nothing; a restart sends nothing again."""
    fake = fake_telegram
    settings = _settings(fake, tmp_path)
    feed_url = f"{fixture_server.base_url}/zhilin-en.xml"
    task, stop = await _start(settings, fake)
    try:
        commands = fake.calls_to("setMyCommands")
        assert commands and "addfeed" in str(commands[0]["commands"])
        fake.push_message(f"/addfeed {feed_url}", user_id=STRANGER)
        refusal = await _reply(fake, STRANGER, 0)
        assert refusal.startswith("Refused")
        assert "admin" in refusal

        fake.push_message(f"/addfeed {feed_url} rss 600", user_id=ADMIN)
        added = await _reply(fake, ADMIN, 0)
        assert "Added feed #1" in added

        cards = await fake.await_messages(GROUP, 1, timeout=20)
        card = cards[0]
        assert "Zhilin" in card["text"]
        assert "URGENT" in card["text"]
        assert "Test Wire &amp; Co" in card["text"]    # untrusted outlet name escaped
        sends = [c for c in fake.calls_to("sendMessage") if c.get("chat_id") == GROUP]
        assert [c.get("parse_mode") for c in sends] == ["HTML"]
        assert "/news/zhilin?id=7" in card["text"]      # tracking parameter removed
        await asyncio.sleep(1.0)                          # several more ticks
        assert len(fake.messages(GROUP)) == 1
    finally:
        await _stop(task, stop)

    store = await Store.open(settings.database_url)
    try:
        feeds = await store.list_feeds()
        assert [f.url for f in feeds] == [feed_url]       # the stranger added nothing
        assert feeds[0].last_success_at is not None
        audit = await store.audit_log()
        assert (STRANGER, "/addfeed", False) in audit and (ADMIN, "/addfeed", True) in audit
        await store.schedule_now(feeds[0].id, feeds[0].last_success_at)
    finally:
        await store.close()

    # Restart on the same database: the feed is polled again, nothing is re-sent.
    task, stop = await _start(settings, fake)
    try:
        assert await fake.await_for(
            lambda: fixture_server.requests.count("/zhilin-en.xml") >= 2, timeout=15)
        await asyncio.sleep(1.0)
    finally:
        await _stop(task, stop)
    assert len(fake.messages(GROUP)) == 1


async def test_track_lists_variants_and_stored_matches(
        fake_telegram: FakeTelegramAPI, fixture_server: FixtureServer, tmp_path: Path) -> None:
    """/track from a coordinator answers with spellings and the stored items that match
    across scripts; a volunteer's /track is refused; the card shows the track."""
    fake = fake_telegram
    settings = _settings(fake, tmp_path)
    task, stop = await _start(settings, fake)
    try:
        fake.push_message(f"/addfeed {fixture_server.base_url}/zhilin-ru.xml", user_id=ADMIN)
        await _reply(fake, ADMIN, 0)
        await fake.await_messages(GROUP, 1, timeout=20)

        fake.push_message("/track Mikhail Zhilin", user_id=STRANGER)
        assert (await _reply(fake, STRANGER, 0)).startswith("Refused")

        fake.push_message("/track Mikhail Zhilin", user_id=COORDINATOR)
        answer = await _reply(fake, COORDINATOR, 0)
        assert "Zhilin" in answer and "Jilin" in answer
        assert "match: 1" in answer     # the reprint is a duplicate, not a second match

        fake.push_message("/feeds", user_id=COORDINATOR)
        listing = await _reply(fake, COORDINATOR, 1)
        assert "zhilin-ru.xml" in listing and "ok, last success" in listing
    finally:
        await _stop(task, stop)
    assert len(fake.messages(GROUP)) == 1


async def test_run_without_token_prints_cards(
        fixture_server: FixtureServer, tmp_path: Path, capsys: object) -> None:
    """Without TELEGRAM_BOT_TOKEN the service says so and prints each card."""
    import pytest

    assert isinstance(capsys, pytest.CaptureFixture)
    db = f"sqlite:///{tmp_path / 'dw.db'}"
    store = await Store.open(db)
    from bot.context import utc_now
    from feeds.models import FeedKind

    await store.add_feed(f"{fixture_server.base_url}/zhilin-en.xml", FeedKind.RSS, 300,
                         added_by=None, now=utc_now())
    await store.close()
    settings = replace(Settings(), database_url=db, allow_private_urls=True, tick_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(run_service(settings, stop))
    for _ in range(100):
        await asyncio.sleep(0.1)
        if "Zhilin" in capsys.readouterr().out:
            break
    else:
        raise AssertionError("no card printed")
    await _stop(task, stop)


async def test_addfeed_page_with_css_selector(
        fake_telegram: FakeTelegramAPI, fixture_server: FixtureServer, tmp_path: Path) -> None:
    """/addfeed URL page 900 css:SELECTOR reads a table-less registry; a bad selector is
    refused in one line."""
    fake = fake_telegram
    fixture_server.routes["/registry"] = (200, {"Content-Type": "text/html; charset=utf-8"}, (
        "<html><head><title>Районный суд</title></head><body>"
        "<div class='case'>5-11/2024 Рахимов Ф.Т., гражданин Таджикистана — ст. 18.8 КоАП РФ,"
        " штраф с административным выдворением</div>"
        "<div class='case'>2-12/2024 о взыскании долга</div></body></html>").encode())
    task, stop = await _start(_settings(fake, tmp_path), fake)
    try:
        url = f"{fixture_server.base_url}/registry"
        fake.push_message(f"/addfeed {url} page 900 css:div.case >", user_id=ADMIN)
        assert (await _reply(fake, ADMIN, 0)).startswith("Not added: not a CSS selector")
        fake.push_message(f"/addfeed {url} page 900 css:div.case", user_id=ADMIN)
        assert "Added feed #1 (page, every 900 s)" in await _reply(fake, ADMIN, 1)
        card = (await fake.await_messages(GROUP, 1, timeout=20))[0]["text"]
        assert "Рахимов" in card and "EXPULSION" in card
        fake.push_message("/feeds", user_id=ADMIN)
        assert "2 items seen" in await _reply(fake, ADMIN, 2)
    finally:
        await _stop(task, stop)
