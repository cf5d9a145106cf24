"""Delivery: the outbox → Telegram (or the console), at least once, never lost.

A delivery pass leases pending outbox rows, renders each message from the case's
*current* state and in the chat's language (so a card posted late is already up to
date), sends it through a ``Sender``, and marks it sent together with the posted
message id in one transaction. The coordinators' tracks shown on the cards are read
once per pass, when it takes its first message (a ``/track`` added meanwhile shows
from the next pass on).

What a failed send does (``DeliveryError`` from the sender):

- flood control (429) → back to pending after Telegram's ``retry_after``; the pass stops;
- timeouts, connection errors, 5xx → back to pending with exponential back-off;
- the bot was removed or blocked (403) → the chat is marked inactive, everything
  waiting for it is marked failed with the reason, and admins are told (alert groups);
- the group became a supergroup → its chat id is updated everywhere and the row is
  retried at once;
- the card to edit was deleted → the card is posted anew;
- any other refusal (400) → marked failed with Telegram's reason.

Telegram takes 20 messages a minute per group. A pass sends one message at a time, so
a card waiting in the rate limiter for a full group would hold everything behind it;
``GroupPacer`` keeps the same leaky bucket per group, the pass leaves a full group's
messages for later (they keep their order) and takes the next, and its report says when
the group has room again.

A crash between Telegram's answer and the commit makes that one message repeat
once after restart (the lease runs out and the row is taken again); nothing is lost.

Must not decide what to send: the outbox rows were written with the change that
caused them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Protocol

from bot.cards import (
    Keyboard,
    render_card,
    render_digest,
    render_escalation,
    render_notice,
    render_plain,
    strip_tags,
)
from feeds.errors import DeliveryError
from feeds.models import CaseView, OutboxKind, OutboxMessage, Track
from feeds.routing import track_hits
from storage import Store
from storage.repo import INACTIVE

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 20
#: How long a message being sent is reserved; longer than the rate limiter's longest wait
#: for a group (20 messages a minute), so a slow send is never taken twice.
LEASE_SECONDS = 90.0


class Sender(Protocol):
    """Where messages go. Raises ``DeliveryError`` on failure."""

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None,
                   buttons: Keyboard = ()) -> int:
        """Post a message; returns its message id."""

    async def edit(self, chat_id: int, message_id: int, html: str,
                   buttons: Keyboard = ()) -> None:
        """Replace a posted message's text and buttons ("not modified" is success)."""


@dataclass
class ConsoleSender:
    """Prints cards to standard output: ``run`` without a token, ``scan`` and ``demo``."""

    write: Callable[[str], None] = print
    _next_id: int = 1

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None,
                   buttons: Keyboard = ()) -> int:
        text = strip_tags(html)
        self.write(("↳ " if reply_to else "") + text + "\n" + "─" * 60)
        self._next_id += 1
        return self._next_id - 1

    async def edit(self, chat_id: int, message_id: int, html: str,
                   buttons: Keyboard = ()) -> None:
        await self.send(chat_id, "(updated card)\n" + html)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    migrated: int = 0
    #: Seconds until a group held at its rate limit can take a message again (None:
    #: none was held); the caller runs another pass then.
    held_for: float | None = None


#: Telegram's limit for a group, as python-telegram-bot's ``AIORateLimiter`` applies it
#: (a leaky bucket: 20 messages, draining 20 a minute).
GROUP_BURST = 20
GROUP_PER_SECOND = 20 / 60


@dataclass
class GroupPacer:
    """Which groups are at Telegram's rate limit now: the same leaky bucket as the
    rate limiter's, per group, fed by this instance's sends. A delivery pass sends one
    message at a time, so a card for a full group would hold every message behind it
    (a volunteer's private cards, another group's) for up to a minute in the limiter;
    instead the pass leaves a full group's messages for later and takes the next.
    Private chats are never held (the limiter's overall 30/s is not per chat). Pure:
    ``now`` is an argument."""

    burst: float = GROUP_BURST
    per_second: float = GROUP_PER_SECOND
    _levels: dict[int, tuple[float, datetime]] = field(default_factory=dict)

    def _level(self, chat_id: int, now: datetime) -> float:
        level, at = self._levels.get(chat_id, (0.0, now))
        return max(0.0, level - max(0.0, (now - at).total_seconds()) * self.per_second)

    def sent(self, chat_id: int, now: datetime) -> None:
        if chat_id < 0:
            self._levels[chat_id] = (self._level(chat_id, now) + 1, now)

    def full(self, now: datetime) -> set[int]:
        """Groups that cannot take one more message now."""
        return {chat for chat in self._levels if self._level(chat, now) + 1 > self.burst}

    def wait(self, now: datetime) -> float | None:
        """Seconds until the first full group can take a message (None: none is full)."""
        waits = [(self._level(chat, now) + 1 - self.burst) / self.per_second
                 for chat in self.full(now)]
        return min(waits) if waits else None


@dataclass
class _Paced:
    """A sender that tells the pacer of every request to a chat, as the rate limiter
    counts it (when it is made, whatever Telegram answers)."""

    sender: Sender
    pacer: GroupPacer
    now: Callable[[], datetime]

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None,
                   buttons: Keyboard = ()) -> int:
        self.pacer.sent(chat_id, self.now())
        return await self.sender.send(chat_id, html, reply_to=reply_to, buttons=buttons)

    async def edit(self, chat_id: int, message_id: int, html: str,
                   buttons: Keyboard = ()) -> None:
        self.pacer.sent(chat_id, self.now())
        await self.sender.edit(chat_id, message_id, html, buttons)


@dataclass
class Delivery:
    """What a pass needs besides the store and the sender."""

    admins: Sequence[int] = ()       # told when an alert group is lost
    default_lang: str = "en"
    escalate_minutes: float = 30.0
    langs: dict[int, str] = field(default_factory=dict)
    pacer: GroupPacer = field(default_factory=GroupPacer)


async def tracks_for(store: Store, case: CaseView) -> tuple[str, ...]:
    """Queries of stored tracks that name the case's person."""
    return tuple(t.query for t in track_hits(await store.list_tracks(), case.persons))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


async def deliver_pending(store: Store, sender: Sender, *, now: Callable[[], datetime],
                          limit: int = 20, options: Delivery | None = None) -> DeliveryReport:
    """One delivery pass over the outbox: up to ``limit`` messages, each leased just
    before it is sent (a crash leaves at most one message leased, retried when its
    lease of ``LEASE_SECONDS`` runs out)."""
    opts = options or Delivery()
    sender = _Paced(sender, opts.pacer, now)
    sent = retried = failed = migrated = 0
    tracks: Sequence[Track] | None = None
    for _ in range(limit):
        leased = await store.lease_outbox(now(), limit=1, lease_seconds=LEASE_SECONDS,
                                          skip_chats=opts.pacer.full(now()))
        if not leased:
            break
        message = leased[0]
        if tracks is None:
            # Once per pass, not per message: one read of 1,000 tracks took 23.5 ms
            # on in-memory SQLite. An idle pass reads nothing.
            tracks = await store.list_tracks()
        gone = await store.inactive_reason(message.chat_id)
        if gone is not None:
            # Kept, not sent: re-queued when the chat speaks to the bot again.
            await store.retry_outbox(message, error=f"{INACTIVE}{gone}", next_attempt_at=now(),
                                     give_up=True)
            failed += 1
            continue
        try:
            posted = await _deliver_one(store, sender, message, opts, tracks)
        except DeliveryError as exc:
            if exc.migrate_to is not None:
                await store.migrate_chat(message.chat_id, exc.migrate_to, now())
                await store.retry_outbox(message, error=str(exc), next_attempt_at=now())
                log.warning("chat migrated old=%s new=%s", message.chat_id, exc.migrate_to)
                migrated += 1
                continue
            if exc.chat_gone:
                await store.deactivate_chat(message.chat_id, reason=str(exc), now=now(),
                                            notify=opts.admins)
            give_up = not exc.retryable or message.attempts >= MAX_ATTEMPTS
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(
                message.attempts)
            # A message lost with its chat is queued again if the chat comes back.
            error = f"{INACTIVE}{exc}" if exc.chat_gone else str(exc)
            await store.retry_outbox(message, error=error, next_attempt_at=now() + wait,
                                     give_up=give_up)
            log.warning("delivery failed outbox_id=%s chat_id=%s give_up=%s error=%s",
                        message.id, message.chat_id, give_up, exc)
            if give_up:
                failed += 1
            else:
                retried += 1
            if exc.retry_after:
                break   # Telegram asked us to wait: stop this pass
            continue
        await store.complete_outbox(message, now=now(), posted_message_id=posted)
        sent += 1
    return DeliveryReport(sent=sent, retried=retried, failed=failed, migrated=migrated,
                          held_for=opts.pacer.wait(now()))


async def _lang(store: Store, chat_id: int, opts: Delivery) -> str:
    if chat_id not in opts.langs:
        opts.langs[chat_id] = await store.chat_lang(chat_id) or opts.default_lang
    return opts.langs[chat_id]


async def _deliver_one(store: Store, sender: Sender, message: OutboxMessage,
                       opts: Delivery, tracks: Sequence[Track]) -> int | None:
    """Send one message, showing the ``tracks`` that hit its case; returns the posted
    card's message id when a card was posted."""
    chat = message.chat_id
    if message.kind is OutboxKind.ADMIN_NOTICE:
        await sender.send(chat, escape(message.body or ""))
        return None
    lang = await _lang(store, chat, opts)
    if message.kind is OutboxKind.DIGEST:
        cases = [c for i in (message.body or "").split(",") if i.isdigit()
                 if (c := await store.get_case(int(i))) is not None]
        for part in render_digest(cases, lang):
            await sender.send(chat, part)
        return None
    if message.case_id is None:
        raise DeliveryError(f"outbox row {message.id} has no case", retryable=False)
    case = await store.get_case(message.case_id)
    if case is None:
        raise DeliveryError(f"case {message.case_id} does not exist", retryable=False)
    hits = track_hits(tracks, case.persons)
    card = render_card(case, tracks=tuple(t.query for t in hits), lang=lang)
    if message.kind in _PRIVATE_NOTICES:
        query = ""
        if message.kind is OutboxKind.TRACK_HIT:
            query = ", ".join(t.query for t in hits if t.owner_id == chat) or "?"
        text = render_notice(message.kind.value, case, lang=lang, query=query,
                             minutes=opts.escalate_minutes)
        await sender.send(chat, text, buttons=card.buttons)
        return None
    posted = await store.card_message(case.id, chat)
    if message.kind is OutboxKind.NEW_CARD:
        if posted is not None:
            return None   # already posted (an earlier attempt committed it)
        return await sender.send(chat, card.html, buttons=card.buttons)
    if posted is None:
        # The card itself is still pending; when it goes out it shows this change.
        return None
    if message.kind is OutboxKind.UPDATE_CARD:
        try:
            await sender.edit(chat, posted, card.html, card.buttons)
        except DeliveryError as exc:
            if not exc.message_gone:
                raise
            await store.forget_card(case.id, chat)
            return await sender.send(chat, card.html, buttons=card.buttons)
    elif message.kind is OutboxKind.REANNOUNCE:
        await sender.send(chat, render_notice("reannounce", case, lang=lang,
                                              minutes=opts.escalate_minutes),
                          reply_to=posted, buttons=card.buttons)
    else:
        await sender.send(chat, render_escalation(case, lang), reply_to=posted)
    return None


_PRIVATE_NOTICES = frozenset({OutboxKind.TRACK_HIT, OutboxKind.COORDINATOR_ALERT,
                              OutboxKind.ASSIGNED})

__all__ = ["ConsoleSender", "Delivery", "DeliveryReport", "Sender", "deliver_pending",
           "render_plain", "tracks_for"]
