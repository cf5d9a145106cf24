"""Delivery: the outbox → Telegram (or the console), at least once, never lost.

A delivery pass leases pending outbox rows, renders each message from the case's
*current* state (so a card posted late is already up to date), sends it through a
``Sender``, and marks it sent together with the posted message id in one
transaction. A message whose send failed goes back to pending with back-off (or
``retry_after`` when Telegram asked); one that can never succeed (bot removed from
the chat, bad request) is marked failed with its reason. A crash between Telegram's
answer and the commit makes that one message repeat once after restart; nothing is
lost because the lease runs out and the row is taken again.

Must not decide what to send: the outbox rows were written by the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Protocol

from bot.cards import render_card, render_escalation, render_plain, strip_tags
from feeds.errors import DeliveryError
from feeds.models import CaseView, OutboxKind, OutboxMessage
from feeds.names import mentions, parse_query
from storage import Store

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 20


class Sender(Protocol):
    """Where messages go. Raises ``DeliveryError`` on failure."""

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None) -> int:
        """Post a message; returns its message id."""

    async def edit(self, chat_id: int, message_id: int, html: str) -> None:
        """Replace a posted message's text ("not modified" is success)."""


@dataclass
class ConsoleSender:
    """Prints cards to standard output: ``run`` without a token, ``scan`` and ``demo``."""

    write: Callable[[str], None] = print
    _next_id: int = 1

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None) -> int:
        text = strip_tags(html)
        self.write(("↳ " if reply_to else "") + text + "\n" + "─" * 60)
        self._next_id += 1
        return self._next_id - 1

    async def edit(self, chat_id: int, message_id: int, html: str) -> None:
        await self.send(chat_id, "(updated card)\n" + html)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


async def tracks_for(store: Store, case: CaseView) -> tuple[str, ...]:
    """Queries of stored tracks that name the case's person."""
    names = " ; ".join(case.persons)
    return tuple(t.query for t in await store.list_tracks()
                 if mentions(parse_query(t.query), names))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** min(attempts, 10)))


async def deliver_pending(store: Store, sender: Sender, *, now: Callable[[], datetime],
                          limit: int = 20) -> DeliveryReport:
    """One delivery pass over the outbox."""
    sent = retried = failed = 0
    for message in await store.lease_outbox(now(), limit=limit):
        try:
            posted = await _deliver_one(store, sender, message)
        except DeliveryError as exc:
            give_up = not exc.retryable or message.attempts >= MAX_ATTEMPTS
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(
                message.attempts)
            await store.retry_outbox(message, error=str(exc), next_attempt_at=now() + wait,
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
    return DeliveryReport(sent=sent, retried=retried, failed=failed)


async def _deliver_one(store: Store, sender: Sender, message: OutboxMessage) -> int | None:
    """Send one message; returns the posted card's message id for NEW_CARD."""
    if message.kind is OutboxKind.ADMIN_NOTICE:
        await sender.send(message.chat_id, escape(message.body or ""))
        return None
    if message.case_id is None:
        raise DeliveryError(f"outbox row {message.id} has no case", retryable=False)
    case = await store.get_case(message.case_id)
    if case is None:
        raise DeliveryError(f"case {message.case_id} does not exist", retryable=False)
    tracks = await tracks_for(store, case)
    card = render_card(case, tracks=tracks)
    posted = await store.card_message(case.id, message.chat_id)
    if message.kind is OutboxKind.NEW_CARD:
        if posted is not None:
            return None   # already posted (an earlier attempt committed it)
        return await sender.send(message.chat_id, card)
    if posted is None:
        # The card itself is still pending; when it goes out it shows this change.
        return None
    if message.kind is OutboxKind.UPDATE_CARD:
        await sender.edit(message.chat_id, posted, card)
    else:
        await sender.send(message.chat_id, render_escalation(case), reply_to=posted)
    return None


__all__ = ["ConsoleSender", "DeliveryReport", "Sender", "deliver_pending", "render_plain",
           "tracks_for"]
