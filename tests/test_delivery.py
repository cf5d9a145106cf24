"""Delivery from the outbox: at least once, never lost, retries and give-ups by error kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.cards import Keyboard
from bot.delivery import GROUP_BURST, Delivery, GroupPacer, deliver_pending
from bot.telegram_sender import TelegramSender
from feeds.errors import DeliveryError
from feeds.models import Track
from feeds.pipeline import ingest
from storage import Store
from storage.db import MEMORY_URL
from tests.fakes.telegram_api import FakeTelegramAPI

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CHAT = -1005


@dataclass
class ScriptedSender:
    """A Sender that fails with the scripted errors first, then succeeds."""

    errors: list[DeliveryError] = field(default_factory=list)
    sent: list[tuple[int, str, int | None]] = field(default_factory=list)
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None,
                   buttons: Keyboard = ()) -> int:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((chat_id, html, reply_to))
        return len(self.sent)

    async def edit(self, chat_id: int, message_id: int, html: str,
                   buttons: Keyboard = ()) -> None:
        self.edits.append((chat_id, message_id, html))


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await Store.open(MEMORY_URL)
    body = (FIXTURES / "zhilin-ru.xml").read_bytes()
    await ingest(s, body=body, url="http://ru.test/rss", chat_ids=[CHAT], now=T0)
    yield s
    await s.close()


async def test_retry_after_then_delivered_once(store: Store) -> None:
    """A flood-control answer delays the card by Telegram's wait; then it goes out once."""
    sender = ScriptedSender(errors=[DeliveryError("flood", retry_after=30)])
    report = await deliver_pending(store, sender, now=lambda: T0)
    assert (report.sent, report.retried) == (0, 1)
    assert (await deliver_pending(store, sender, now=lambda: T0 + timedelta(seconds=10))).sent == 0
    report = await deliver_pending(store, sender, now=lambda: T0 + timedelta(seconds=31))
    assert report.sent == 1 and len(sender.sent) == 1
    assert await deliver_pending(store, sender, now=lambda: T0 + timedelta(hours=1)) \
        == type(report)()
    assert await store.outbox_counts() == {"sent": 1}


async def test_permanent_error_is_kept_with_reason(store: Store) -> None:
    """A permanent refusal (bot removed) marks the message failed, with the reason kept."""
    sender = ScriptedSender(errors=[DeliveryError("bot was kicked", retryable=False)])
    report = await deliver_pending(store, sender, now=lambda: T0)
    assert report.failed == 1 and sender.sent == []
    assert await store.outbox_counts() == {"failed": 1}


async def test_crash_after_lease_is_recovered(store: Store) -> None:
    """A message leased by a process that died is taken again when its lease runs out."""
    leased = await store.lease_outbox(T0)          # the "crashed" delivery pass
    assert len(leased) == 1
    sender = ScriptedSender()
    assert (await deliver_pending(store, sender, now=lambda: T0 + timedelta(seconds=5))).sent == 0
    later = T0 + timedelta(minutes=3)
    assert (await deliver_pending(store, sender, now=lambda: later)).sent == 1
    assert len(sender.sent) == 1


async def test_telegram_errors_are_classified(fake_telegram: FakeTelegramAPI) -> None:
    """TelegramSender turns 429 into a wait, 403 into a give-up, "not modified" into success."""
    bot = Bot("123:ABC", base_url=fake_telegram.base_url)
    async with bot:
        sender = TelegramSender(bot)
        fake_telegram.fail_next("sendMessage", status=429, description="Too Many Requests: "
                                "retry after 3", retry_after=3)
        with pytest.raises(DeliveryError) as info:
            await sender.send(CHAT, "<b>x</b>")
        assert info.value.retry_after == 3 and info.value.retryable
        fake_telegram.fail_next("sendMessage", status=403,
                                description="Forbidden: bot was kicked from the group chat")
        with pytest.raises(DeliveryError) as info:
            await sender.send(CHAT, "<b>x</b>")
        assert not info.value.retryable
        message_id = await sender.send(CHAT, "<b>card</b>")
        await sender.edit(CHAT, message_id, "<b>card</b>")     # not modified: no error
        fake_telegram.drop_connection_next("sendMessage")
        with pytest.raises(DeliveryError) as info:
            await sender.send(CHAT, "<b>x</b>")
        assert info.value.retryable


async def test_admin_notice_is_delivered_escaped() -> None:
    """An admin notice (a paused feed) goes to the admin's chat as escaped text, once."""
    from feeds.models import FeedKind

    s = await Store.open(MEMORY_URL)
    try:
        feed, _ = await s.add_feed("https://bad.example/<rss>", FeedKind.RSS, 300,
                                   added_by=None, now=T0)
        await s.record_fetch_failure(feed.id, now=T0, error="HTTP 500 <b>", next_poll_at=T0,
                                     pause_after=1, notify=[42])
        sender = ScriptedSender()
        assert (await deliver_pending(s, sender, now=lambda: T0)).sent == 1
        assert (await deliver_pending(s, sender, now=lambda: T0)).sent == 0
        (chat, html, _), = sender.sent
        assert chat == 42 and "&lt;rss&gt;" in html and "<b>" not in html
    finally:
        await s.close()


async def test_a_pass_reads_the_tracks_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A delivery pass reads the stored tracks once however many case messages it sends;
    a track added between passes shows on the cards of the next pass."""
    s = await Store.open(MEMORY_URL)
    try:
        body = (FIXTURES / "zhilin-ru.xml").read_bytes()
        chats = [CHAT, CHAT - 1, CHAT - 2, CHAT - 3]
        await ingest(s, body=body, url="http://ru.test/rss", chat_ids=chats, now=T0)
        list_tracks, reads = s.list_tracks, []

        async def counted() -> list[Track]:
            reads.append(1)
            return await list_tracks()

        monkeypatch.setattr(s, "list_tracks", counted)
        sender = ScriptedSender()
        assert (await deliver_pending(s, sender, now=lambda: T0, limit=1)).sent == 1
        assert len(reads) == 1
        await s.add_track("Zhilin", "jilin", "", owner_id=77, now=T0)
        assert (await deliver_pending(s, sender, now=lambda: T0)).sent == 3
        assert len(reads) == 2
        assert (await deliver_pending(s, sender, now=lambda: T0)).sent == 0
        assert len(reads) == 2                # an idle pass reads nothing
        assert [chat for chat, _, _ in sender.sent] == chats
        assert ["Tracks: Zhilin" in html for _, html, _ in sender.sent] == [
            False, True, True, True]
    finally:
        await s.close()


@pytest.mark.parametrize(("sends", "after", "full", "wait"), [
    (0, 0.0, False, None),          # nothing sent: room
    (19, 0.0, False, None),         # the 20th message still fits the burst
    (20, 0.0, True, 3.0),           # a full bucket drains one message per 3 s
    (20, 2.9, True, 0.1),
    (20, 3.0, False, None),
    (40, 0.0, True, 63.0),          # sent past the limit (the limiter queued them)
    (20, 600.0, False, None),       # long drained
])
def test_group_pacer_mirrors_the_rate_limiter(sends: int, after: float, full: bool,
                                              wait: float | None) -> None:
    pacer = GroupPacer()
    for _ in range(sends):
        pacer.sent(CHAT, T0)
        pacer.sent(7001, T0)            # private chats are never held
    at = T0 + timedelta(seconds=after)
    assert pacer.full(at) == ({CHAT} if full else set())
    got = pacer.wait(at)
    assert (got is None) if wait is None else (got == pytest.approx(wait))


async def test_a_group_at_its_limit_does_not_hold_other_chats() -> None:
    """A pass sends one message at a time; a card for a group at Telegram's 20-a-minute
    limit would hold every message behind it in the rate limiter. The pass leaves it for
    later, sends the private card queued after it, reports when the group has room,
    and sends the group's card then — once."""
    s = await Store.open(MEMORY_URL)
    try:
        body = (FIXTURES / "zhilin-ru.xml").read_bytes()
        await ingest(s, body=body, url="http://ru.test/rss", chat_ids=[CHAT, 7001], now=T0)
        options = Delivery()
        for _ in range(GROUP_BURST):            # 20 messages to the group just now
            options.pacer.sent(CHAT, T0)
        sender = ScriptedSender()
        report = await deliver_pending(s, sender, now=lambda: T0, options=options)
        assert (report.sent, [chat for chat, _, _ in sender.sent]) == (1, [7001])
        assert report.held_for == pytest.approx(3.0)
        later = T0 + timedelta(seconds=1)
        assert (await deliver_pending(s, sender, now=lambda: later, options=options)).sent == 0
        later = T0 + timedelta(seconds=3)
        report = await deliver_pending(s, sender, now=lambda: later, options=options)
        assert report.sent == 1 and [chat for chat, _, _ in sender.sent] == [7001, CHAT]
        assert report.held_for == pytest.approx(3.0)    # full again after this card
        assert await s.outbox_counts() == {"sent": 2}
    finally:
        await s.close()
