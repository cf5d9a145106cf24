"""The repository's Telegram-front queries: claims as compare-and-set, chat moves and
losses, digests, re-announcements, settings documented, and the status summary."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import Settings
from feeds.models import CaseStatus, OutboxKind
from feeds.pipeline import ingest
from storage import Store
from storage.db import MEMORY_URL
from tests.frontkit import KARIMOV_INTERIM, ZHILIN_ORDER, rss

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
GROUP = -1007
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await Store.open(MEMORY_URL)
    yield s
    await s.close()


async def _ingest(store: Store, items: list[tuple[str, str]], *, digest: bool = False) -> None:
    await ingest(store, body=rss(items), url="http://wire.test/rss", chat_ids=[GROUP], now=T0,
                 digest=digest)


async def test_two_taps_racing_one_wins(store: Store) -> None:
    """Two volunteers take the same case from the same view: the second change finds the
    case changed and does nothing (compare-and-set on claimer and status)."""
    await _ingest(store, [ZHILIN_ORDER])
    case = await store.get_case(1)
    assert case is not None
    first = await store.set_case_work(1, expect=(None, case.status), claimed_by=(7, "Vera"),
                                      status=CaseStatus.OPEN, change="claim", user_id=7, now=T0)
    second = await store.set_case_work(1, expect=(None, case.status), claimed_by=(8, "Oleg"),
                                       status=CaseStatus.OPEN, change="claim", user_id=8, now=T0)
    assert (first, second) == (True, False)
    after = await store.get_case(1)
    assert after is not None and after.claimed_by == "Vera" and after.claimed_by_id == 7
    assert [e.change for e in after.events] == ["new", "claim"]


async def test_claim_queues_an_edit_for_every_posted_card(store: Store) -> None:
    """A change to a posted card queues one edit per chat that shows it; an assignment
    also queues the private notice to the assignee."""
    await _ingest(store, [ZHILIN_ORDER])
    message = (await store.lease_outbox(T0))[0]
    await store.complete_outbox(message, now=T0, posted_message_id=41)
    assert await store.set_case_work(1, expect=(None, CaseStatus.OPEN), claimed_by=(9, "Ann"),
                                     status=CaseStatus.OPEN, change="assign", user_id=2, now=T0,
                                     note="Ann", notify=(OutboxKind.ASSIGNED, 9))
    queued = await store.lease_outbox(T0)
    assert sorted((m.kind, m.chat_id) for m in queued) == [
        (OutboxKind.ASSIGNED, 9), (OutboxKind.UPDATE_CARD, GROUP)]


async def test_migration_moves_waiting_messages_and_cards(store: Store) -> None:
    """A group that became a supergroup: pending messages, posted cards and the alert
    chat list all follow the new id."""
    assert await store.alert_chats([GROUP], T0) == (GROUP,)
    await _ingest(store, [ZHILIN_ORDER, KARIMOV_INTERIM])
    first = (await store.lease_outbox(T0, limit=1))[0]
    await store.complete_outbox(first, now=T0, posted_message_id=5)
    await store.migrate_chat(GROUP, -1009, T0)
    assert await store.alert_chats([GROUP], T0) == (-1009,)
    assert await store.card_message(first.case_id or 0, -1009) == 5
    assert {m.chat_id for m in await store.lease_outbox(T0)} == {-1009}


async def test_lost_group_fails_its_messages_and_tells_admins_once(store: Store) -> None:
    """Losing the alert group marks it inactive, fails what waited for it with the reason,
    and queues one notice per admin; the group leaves the alert chat list."""
    await store.alert_chats([GROUP], T0)
    await _ingest(store, [ZHILIN_ORDER])
    for _ in range(2):
        await store.deactivate_chat(GROUP, reason="bot was kicked", now=T0, notify=[1, 2])
    counts = await store.outbox_counts()
    assert counts == {"failed": 1, "pending": 2}
    notices = await store.lease_outbox(T0)
    assert sorted(m.chat_id for m in notices) == [1, 2]
    assert all("bot was kicked" in (m.body or "") for m in notices)
    assert await store.alert_chats([GROUP], T0) == (GROUP,)     # kept: cards wait for it
    assert await store.inactive_reason(GROUP) == "bot was kicked"
    summary = await store.status_summary(T0)
    assert summary.inactive_chats == ((GROUP, "bot was kicked"),)


async def test_digest_lists_held_cases_once(store: Store) -> None:
    """With the digest on, a non-urgent new case queues no card; the digest lists it once;
    an urgent case is carded at once and is not in the digest."""
    await _ingest(store, [ZHILIN_ORDER, KARIMOV_INTERIM], digest=True)
    assert [m.kind for m in await store.lease_outbox(T0)] == [OutboxKind.NEW_CARD]
    assert await store.queue_digest(T0, groups=[GROUP]) == 1
    assert await store.queue_digest(T0 + timedelta(days=1), groups=[GROUP]) == 0
    digest = await store.lease_outbox(T0)
    assert [(m.kind, m.body) for m in digest] == [(OutboxKind.DIGEST, "2")]


async def test_reannouncement_only_for_urgent_unclaimed_cards(store: Store) -> None:
    """Only an open, urgent, unclaimed case older than the limit is re-announced, once,
    to each chat that shows its card and to each coordinator."""
    await _ingest(store, [ZHILIN_ORDER, KARIMOV_INTERIM])
    for message in await store.lease_outbox(T0):
        await store.complete_outbox(message, now=T0, posted_message_id=message.id)
    limit = timedelta(minutes=30)
    assert await store.queue_reannouncements(T0 + timedelta(minutes=29), older_than=limit,
                                             coordinators=[5]) == 0
    assert await store.queue_reannouncements(T0 + timedelta(minutes=31), older_than=limit,
                                             coordinators=[5]) == 2
    assert await store.queue_reannouncements(T0 + timedelta(hours=5), older_than=limit,
                                             coordinators=[5]) == 0
    queued = await store.lease_outbox(T0 + timedelta(hours=5))
    assert sorted((m.kind, m.case_id, m.chat_id) for m in queued) == [
        (OutboxKind.COORDINATOR_ALERT, 1, 5), (OutboxKind.REANNOUNCE, 1, GROUP)]


def test_every_setting_is_documented() -> None:
    """Each Settings field's variable appears in .env.example and in the README table."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = (ROOT / "bot" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"((?:DEPORTWATCH|TELEGRAM)_[A-Z_]+|DATABASE_URL)"', source))
    assert len(names) >= len(Settings.__dataclass_fields__) - 1
    for name in sorted(names):
        assert f"\n{name}=" in example, f"{name} missing from .env.example"
        assert f"| `{name}` |" in readme, f"{name} missing from the README table"


async def test_sweep_ends_subscriptions_of_people_who_left(store: Store) -> None:
    """A subscriber who left the alert group (and has no role) is unsubscribed and the
    change audited; members, granted volunteers and coordinators keep theirs; when
    Telegram cannot answer, nobody is unsubscribed."""
    from bot.context import Services, sweep_subscribers
    from bot.roles import Access

    members = {11}
    failing = False

    async def admins(_chat: int) -> frozenset[int]:
        return frozenset()

    async def is_member(_chat: int, user: int) -> bool:
        if failing:
            raise OSError("Telegram unreachable")
        return user in members

    settings = Settings(alert_chat_id=GROUP, coordinator_ids=frozenset({13}))
    svc = Services(settings=settings, store=store, clock=lambda: T0,
                   access=Access(admins, is_member, ttl=0))
    for user in (11, 12, 13, 14, 15):
        await store.subscribe(user, user_id=user, filters={}, now=T0)
    await store.grant(14, "volunteer", by=1, now=T0)
    failing = True
    assert await sweep_subscribers(svc) == 0
    failing = False
    assert await sweep_subscribers(svc) == 2                  # 12 and 15 left the group
    assert sorted(chat for chat, _ in await store.subscribers()) == [11, 13, 14]
    audit = await store.audit_log()
    assert sorted(u for u, action, _ in audit if action == "auto-unsubscribe") == [12, 15]
