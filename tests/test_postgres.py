"""PostgreSQL (issue #8): the same models and migrations as SQLite, leases that two
instances never share, and the lock that lets one instance receive Telegram updates.

Every test gets a fresh database on the server named by ``DEPORTWATCH_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``) and skips, saying why, where
none is reachable. The two-process tests are in ``tests/test_instances.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from feeds.models import FeedKind
from feeds.pipeline import ingest
from storage import Store
from storage.db import create_sync_engine

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def schema_drift(url: str) -> list[object]:
    """What Alembic's autogenerate would still change: empty when the migrations build
    exactly the tables the models describe."""
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migrations_build_the_models_on_both_databases(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite"
           else request.getfixturevalue("pg_url"))
    store = await Store.open(url)
    try:
        assert schema_drift(url) == []
        # Opening again (a restart, or a second instance) finds the schema at head.
        again = await Store.open(url)
        await again.close()
    finally:
        await store.close()


async def test_two_instances_starting_together_migrate_once(pg_url: str) -> None:
    first, second = await asyncio.gather(Store.open(pg_url), Store.open(pg_url))
    try:
        assert schema_drift(pg_url) == []
    finally:
        await first.close()
        await second.close()


async def test_pipeline_on_postgresql_queues_each_card_once(pg_url: str) -> None:
    store = await Store.open(pg_url)
    try:
        body = (FIXTURES / "zhilin-ru.xml").read_bytes()
        _, report = await ingest(store, body=body, url="http://ru.test/rss", chat_ids=[-100],
                                 now=T0)
        assert report.queued == 1
        _, again = await ingest(store, body=body, url="http://ru.test/rss", chat_ids=[-100],
                                now=T0 + timedelta(minutes=5))
        assert again.queued == 0 and again.new_items == 0
        assert await store.lease_outbox(T0, skip_chats={-100}) == []   # a group held back
        [message] = await store.lease_outbox(T0, skip_chats={-200})
        assert message.chat_id == -100 and message.attempts == 1
        assert await store.lease_outbox(T0) == []               # leased: not taken twice
        assert len(await store.lease_outbox(T0 + timedelta(minutes=3))) == 1  # lease ran out
    finally:
        await store.close()


async def test_two_instances_lease_disjoint_feeds_and_messages(pg_url: str) -> None:
    """Two stores (two instances' engines) lease at the same moment, many times over:
    each feed and each outbox row goes to exactly one (SKIP LOCKED: no waiting)."""
    a, b = await Store.open(pg_url), await Store.open(pg_url)
    try:
        for k in range(200):
            await a.add_feed(f"http://feeds.test/{k}.xml", FeedKind.RSS, 300, added_by=None,
                             now=T0)
        leased: list[list[int | None]] = [[], []]

        async def lease(i: int, store: Store) -> None:
            while batch := await store.due_feeds(T0, limit=7):
                leased[i].extend(f.id for f in batch)

        await asyncio.gather(lease(0, a), lease(1, b), lease(0, a), lease(1, b))
        assert leased[0] and leased[1]                     # both had a share
        assert sorted(leased[0] + leased[1]) == sorted({f.id for f in await a.list_feeds()})

        body = (FIXTURES / "zhilin-ru.xml").read_bytes()
        chats = list(range(1, 41))
        await ingest(a, body=body, url="http://ru.test/rss", chat_ids=chats, now=T0)
        took: list[list[int]] = [[], []]

        async def take(i: int, store: Store) -> None:
            while batch := await store.lease_outbox(T0, limit=3):
                took[i].extend(m.id for m in batch)

        await asyncio.gather(take(0, a), take(1, b), take(0, a), take(1, b))
        assert len(took[0]) + len(took[1]) == len(set(took[0]) | set(took[1])) == 40
    finally:
        await a.close()
        await b.close()


async def test_two_instances_creating_the_same_rows_at_once_both_succeed(pg_url: str) -> None:
    """Both instances start together and remember the alert group, see the same user, add
    the same feed: rows created on first sight are inserted ON CONFLICT DO NOTHING, so
    neither fails on the unique key (a CI run caught one instance dying at start-up on
    ``chat_pkey``, leaving the other to do all the work)."""
    a, b = await Store.open(pg_url), await Store.open(pg_url)
    try:
        for round_ in range(20):
            chat = -1000 - round_
            url = f"http://feeds.test/{round_}.xml"
            results = await asyncio.gather(
                a.alert_chats([chat], T0), b.alert_chats([chat], T0),
                a.ensure_chat(5000 + round_, kind="private", now=T0, seen=True),
                b.ensure_chat(5000 + round_, kind="private", now=T0, seen=True),
                a.see_user(7000 + round_, username="Vol", name="A", now=T0),
                b.see_user(7000 + round_, username="Vol", name="B", now=T0),
                a.grant(9000 + round_, "volunteer", by=1, now=T0),
                b.grant(9000 + round_, "coordinator", by=2, now=T0),
                a.add_feed(url, FeedKind.RSS, 300, added_by=None, now=T0),
                b.add_feed(url, FeedKind.RSS, 300, added_by=None, now=T0))
            assert results[0] == results[1] == (chat,)
            first, second = results[-2], results[-1]
            assert first[0].id == second[0].id and [first[1], second[1]].count(True) == 1
            assert await a.user_name(7000 + round_) in {"A", "B"}
            assert await b.member_role(9000 + round_) in {"volunteer", "coordinator"}
        assert len(await a.list_feeds()) == 20
    finally:
        await a.close()
        await b.close()


async def test_one_instance_holds_the_updates_lock_and_another_takes_over(pg_url: str) -> None:
    a, b = await Store.open(pg_url), await Store.open(pg_url)
    try:
        lock_a, lock_b = a.updates_lock("getUpdates:1"), b.updates_lock("getUpdates:1")
        assert await lock_a.hold() is True
        assert await lock_b.hold() is False
        assert await lock_a.hold() is True                  # still held: a cheap check
        other_bot = b.updates_lock("getUpdates:2")          # another token: its own lock
        assert await other_bot.hold() is True
        # The holder's connection dies (as when its process is killed): PostgreSQL frees
        # the lock, the standby's next try takes it, and the old holder notices.
        engine = create_sync_engine(pg_url)
        with engine.begin() as conn:
            killed = conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
                "AND ((classid::bigint << 32) | objid::bigint) = :k"),
                {"k": lock_a.key & 0xFFFFFFFFFFFFFFFF}).scalar()
        engine.dispose()
        assert killed == 1
        assert await lock_b.hold() is True
        assert await lock_a.hold() is False
        await lock_b.release()                              # a clean stop hands it on
        assert await lock_a.hold() is True
        await lock_a.release()
        await other_bot.release()
    finally:
        await a.close()
        await b.close()


async def test_sqlite_always_holds_the_updates_lock(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        assert not store.shared
        assert await store.updates_lock("getUpdates:1").hold() is True
    finally:
        await store.close()
