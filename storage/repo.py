"""The repository: every query deportwatch runs, one method each, returning domain types.

Transactions: each public method is one transaction. ``record_item`` is the heart:
in one transaction it stores an item, asks the *caller's* pure ``decide`` function
which case the item belongs to, applies that decision (case row, stage history) and
queues the outbox messages it implies. A crash before commit leaves nothing; after
commit the messages are durable and the delivery loop will send them.

Must not decide anything itself (see ``storage`` package docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import col, select

from feeds.errors import StorageError, StorageUnavailable
from feeds.models import (
    CaseEvent,
    CaseKind,
    CaseStatus,
    CaseView,
    FeedInfo,
    FeedKind,
    ItemOutcome,
    ItemView,
    OutboxKind,
    OutboxMessage,
    Stage,
    StatusSummary,
    StoredItem,
    Subscription,
    Track,
)
from feeds.routing import wants
from storage import ingest
from storage.db import READ_ONLY, create_engine, create_sync_engine, is_memory, migrate
from storage.ingest import Decide, NewItem, utc
from storage.leader import UpdatesLock
from storage.tables import (
    AuditRow,
    CardMessageRow,
    CaseEventRow,
    CaseRow,
    ChatRow,
    FeedRow,
    ItemRow,
    MemberRow,
    OutboxRow,
    TrackRow,
    UserRow,
)

INACTIVE = "chat inactive: "     # the error of messages failed because their chat was lost
T = TypeVar("T")
RowT = TypeVar("RowT", FeedRow, OutboxRow)     # tables whose rows are leased
KeyedT = TypeVar("KeyedT", ChatRow, UserRow, MemberRow)     # rows created on first sight


async def _get_or_add(session: AsyncSession, new: KeyedT) -> KeyedT:
    """The stored row with ``new``'s primary key; ``new`` is inserted first when there is
    none, by INSERT … ON CONFLICT DO NOTHING — so two instances creating the same row at
    the same moment (both starting up and remembering the alert group, say) both go on
    with the one row instead of one failing on the unique key."""
    model = type(new)
    mapper = sa_inspect(model)
    keys = [column.key for column in mapper.primary_key]
    identity = tuple(getattr(new, key) for key in keys)
    row = await session.get(model, identity)
    if row is None:
        await session.run_sync(ingest.insert_ignore, model, {
            column.key: getattr(new, column.key) for column in mapper.columns}, keys)
        row = await session.get(model, identity)
    if row is None:
        raise StorageError(f"a {mapper.local_table} row vanished as it was created")
    return row


def _utc_now_required(value: datetime | None) -> datetime:
    out = utc(value)
    assert out is not None, "a NOT NULL timestamp came back NULL"
    return out


def _feed_info(row: FeedRow) -> FeedInfo:
    assert row.id is not None
    return FeedInfo(
        id=row.id, url=row.url, kind=FeedKind(row.kind), title=row.title,
        interval_seconds=row.interval_seconds, paused=row.paused,
        next_poll_at=utc(row.next_poll_at), last_success_at=utc(row.last_success_at),
        last_error=row.last_error, consecutive_failures=row.consecutive_failures,
        etag=row.etag, last_modified=row.last_modified, items_seen=row.items_seen,
        paused_reason=row.paused_reason, selector=row.selector)


class Store:
    """Async access to the database; create with ``await Store.open(url)``.

    Two engines on one database: the async engine serves the many small queries of
    the bot; the ingest transaction (``storage.ingest``) runs in a worker thread on a
    synchronous engine, one thread hop per transaction instead of several per
    statement. An in-memory database has only the async engine's one connection, so
    there the same ingest code runs through ``AsyncSession.run_sync``."""

    def __init__(self, engine: AsyncEngine, *, serialise: bool = False,
                 sync_engine: Engine | None = None) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._sync = sync_engine
        # An in-memory database is one shared connection: concurrent transactions on
        # it would interleave (one's rollback undoing the other's writes), so they
        # take turns. File and server databases have a connection per session.
        self._turn = asyncio.Lock() if serialise else None
        # SQLite has one writer at a time. Its busy handler is no queue: a waiting
        # writer sleeps and retries, and with several waiting one can lose for longer
        # than the busy timeout ('database is locked'). So this process's ingest
        # writers queue here, in order, and meet SQLite's lock one at a time.
        sqlite = sync_engine is not None and sync_engine.dialect.name == "sqlite"
        self._write_turn = asyncio.Lock() if sqlite else None
        self._sync_reads = (sync_engine.execution_options(**{READ_ONLY: True})
                            if sync_engine is not None else None)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect, create the SQLite folder if needed, and migrate to the newest schema."""
        engine = create_engine(url)
        await migrate(engine)
        memory = is_memory(url)
        return cls(engine, serialise=memory,
                   sync_engine=None if memory else create_sync_engine(url))

    @property
    def shared(self) -> bool:
        """Whether other instances may share this database (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    def updates_lock(self, name: str) -> UpdatesLock:
        """The lock that decides which instance receives Telegram updates for the bot
        ``name`` (see ``storage.leader``)."""
        return UpdatesLock(self.engine, name)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync is not None:
            self._sync.dispose()

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        if self._turn is None:
            async with self._sessions() as session:
                yield session
            return
        async with self._turn, self._sessions() as session:
            yield session

    async def _transaction(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``work(session, *args, **kwargs)`` — synchronous code from
        ``storage.ingest`` — in one transaction: in a worker thread on the synchronous
        engine (on SQLite after the writers before it), or on the async engine's
        connection where there is no other."""
        return await self._run(work, args, kwargs, reads_only=False)

    async def _read(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``_transaction`` for work that only reads: it neither queues behind the
        writers nor takes SQLite's write lock."""
        return await self._run(work, args, kwargs, reads_only=True)

    async def _run(self, work: Callable[..., T], args: tuple[Any, ...],
                   kwargs: dict[str, Any], *, reads_only: bool) -> T:
        sync_engine = self._sync_reads if reads_only else self._sync

        def in_thread() -> T:
            assert sync_engine is not None
            with Session(sync_engine, expire_on_commit=False) as session, session.begin():
                return work(session, *args, **kwargs)
        try:
            if sync_engine is None:
                async with self._session() as session, session.begin():
                    return await session.run_sync(work, *args, **kwargs)
            if reads_only or self._write_turn is None:
                return await asyncio.to_thread(in_thread)
            async with self._write_turn:
                return await asyncio.to_thread(in_thread)
        except OperationalError as exc:     # locked past the busy timeout, or unreachable
            raise StorageUnavailable(f"database unavailable: {exc.orig or exc}") from exc

    # ── feeds ────────────────────────────────────────────────────────────────
    async def add_feed(self, url: str, kind: FeedKind, interval: int, *,
                       added_by: int | None, now: datetime,
                       selector: str | None = None) -> tuple[FeedInfo, bool]:
        """Add a source (due at once); returns it and whether it was new."""
        async with self._session() as session, session.begin():
            by_url = select(FeedRow).where(col(FeedRow.url) == url)
            existing = (await session.execute(by_url)).scalar_one_or_none()
            if existing is not None:
                return _feed_info(existing), False
            # ON CONFLICT: another instance (or import) adding the URL at the same moment.
            added = await session.run_sync(ingest.insert_ignore, FeedRow, {
                "url": url, "kind": kind.value, "interval_seconds": interval,
                "next_poll_at": now, "added_by": added_by, "created_at": now,
                "selector": selector}, ["url"])
            return _feed_info((await session.execute(by_url)).scalar_one()), bool(added)

    async def list_feeds(self) -> list[FeedInfo]:
        async with self._session() as session:
            rows = (await session.execute(select(FeedRow).order_by(col(FeedRow.id)))).scalars()
            return [_feed_info(r) for r in rows]

    async def get_feed(self, feed_id: int) -> FeedInfo | None:
        async with self._session() as session:
            row = await session.get(FeedRow, feed_id)
            return _feed_info(row) if row else None

    async def remove_feed(self, feed_id: int) -> bool:
        """Remove a source; its items stay (cases keep their sources)."""
        async with self._session() as session, session.begin():
            await session.execute(
                update(ItemRow).where(col(ItemRow.feed_id) == feed_id).values(feed_id=None))
            result = await session.execute(delete(FeedRow).where(col(FeedRow.id) == feed_id))
            return bool(getattr(result, "rowcount", 0))

    async def due_feeds(self, now: datetime, limit: int = 50,
                        lease: timedelta = timedelta(minutes=2)) -> list[FeedInfo]:
        """Lease the feeds due now with one atomic UPDATE … RETURNING: each is marked
        ``leased_until`` now + ``lease``, so no other tick or instance takes it meanwhile
        (on PostgreSQL the candidates are locked with SKIP LOCKED); success or failure
        then clears the lease and sets the next poll. A poller that dies mid-poll delays
        a feed by at most ``lease`` (and not at all after ``recover_leases``)."""
        due = (select(FeedRow.id).where(
            col(FeedRow.paused).is_(False),
            or_(col(FeedRow.next_poll_at).is_(None), col(FeedRow.next_poll_at) <= now),
            or_(col(FeedRow.leased_until).is_(None), col(FeedRow.leased_until) < now))
            .order_by(col(FeedRow.next_poll_at)).limit(limit))
        rows = await self._lease(FeedRow, due, leased_until=now + lease)
        return [_feed_info(r) for r in rows]

    async def _lease(self, table: type[RowT], due: Any, **values: Any) -> list[RowT]:
        """Set ``values`` on the rows ``due`` (a SELECT of ids) selects and return them by
        id, in one atomic ``UPDATE … WHERE id IN (…) RETURNING``; on PostgreSQL the
        candidates are locked with SKIP LOCKED, so instances leasing at once get
        different rows instead of waiting for each other."""
        if self.shared:
            due = due.with_for_update(skip_locked=True)
        stmt = update(table).where(col(table.id).in_(due.scalar_subquery())).values(
            **values).returning(table)
        async with self._session() as session, session.begin():
            return sorted((await session.execute(stmt)).scalars(), key=lambda r: r.id or 0)

    async def recover_leases(self) -> tuple[int, int]:
        """After a crash of the only instance (the embedded SQLite set-up): free the feeds
        and outbox messages it had leased, so they are taken again at once instead of
        when their leases run out. Returns (feeds, messages) freed. Never call this
        while another instance shares the database."""
        async with self._session() as session, session.begin():
            feeds = await session.execute(update(FeedRow).where(
                col(FeedRow.leased_until).is_not(None)).values(leased_until=None))
            messages = await session.execute(update(OutboxRow).where(
                col(OutboxRow.status) == "sending").values(status="pending",
                                                           leased_until=None))
            return (int(getattr(feeds, "rowcount", 0) or 0),
                    int(getattr(messages, "rowcount", 0) or 0))

    async def schedule_now(self, feed_id: int, now: datetime) -> bool:
        """Make a feed due at once (after /addfeed, or an admin's "poll now")."""
        async with self._session() as session, session.begin():
            result = await session.execute(update(FeedRow).where(
                col(FeedRow.id) == feed_id).values(next_poll_at=now))
            return bool(getattr(result, "rowcount", 0))

    async def record_fetch_success(self, feed_id: int, *, now: datetime, title: str | None,
                                   etag: str | None, last_modified: str | None,
                                   next_poll_at: datetime, new_items: int = 0) -> None:
        async with self._session() as session, session.begin():
            row = await session.get(FeedRow, feed_id)
            if row is None:
                return
            row.last_success_at = now
            row.leased_until = None
            row.consecutive_failures = 0
            row.last_error = None
            row.etag, row.last_modified = etag, last_modified
            row.items_seen += new_items
            if title:
                row.title = title
            row.next_poll_at = next_poll_at

    async def record_fetch_failure(self, feed_id: int, *, now: datetime, error: str,
                                   next_poll_at: datetime, pause_after: int | None = None,
                                   notify: Iterable[int] = (), counted: bool = True) -> int:
        """Record a failed poll; returns the count of consecutive failures. When the count
        reaches ``pause_after`` the feed is paused and each chat in ``notify`` gets one
        notice, queued in the same transaction (the dedup key makes it once per pause).
        ``counted=False``: the failure was ours (the database), not the source's — the
        error is shown and the poll rescheduled, the count stays."""
        async with self._session() as session, session.begin():
            row = await session.get(FeedRow, feed_id)
            if row is None:
                return 0
            if counted:
                row.consecutive_failures += 1
            row.leased_until = None
            row.last_error = error[:500]
            row.last_error_at = now
            row.next_poll_at = next_poll_at
            if pause_after is not None and row.consecutive_failures >= pause_after \
                    and not row.paused:
                row.paused = True
                row.paused_reason = f"{row.consecutive_failures} failures in a row"
                body = (f"Feed #{feed_id} paused after {row.consecutive_failures} failures "
                        f"in a row: {row.url}\nLast error: {row.last_error}\n"
                        f"Resume it once the source works again.")
                for chat_id in notify:
                    await session.run_sync(ingest.queue, OutboxKind.ADMIN_NOTICE,
                                      f"pause:{feed_id}:{now.isoformat()}:{chat_id}",
                                      chat_id=chat_id, now=now, body=body)
            return row.consecutive_failures

    async def set_paused(self, feed_id: int, paused: bool) -> bool:
        async with self._session() as session, session.begin():
            row = await session.get(FeedRow, feed_id)
            if row is None:
                return False
            row.paused = paused
            if not paused:
                row.consecutive_failures, row.paused_reason = 0, None
            return True

    # ── items and cases ──────────────────────────────────────────────────────
    # ── items and cases (the ingest transaction: storage.ingest) ─────────────
    async def known_guids(self, feed_id: int, guids: Sequence[str]) -> set[str]:
        """Which of these guids this feed has delivered before (a re-published link with
        the same guid is the same item)."""
        return await self._read(ingest.known_guids, feed_id, list(guids))

    async def known_urls(self, url_hashes: Sequence[str]) -> set[str]:
        """Which of these URL hashes are stored already (a re-poll skips them early)."""
        return await self._read(ingest.known_urls, list(url_hashes))

    async def record_items(self, batch: Sequence[NewItem], *, feed_id: int | None,
                           now: datetime, chat_ids: Iterable[int],
                           decide: Decide, digest: bool = False) -> list[ItemOutcome]:
        """Store a source's new entries and apply their case decisions in one transaction
        (all or nothing); if another poller raced us, fall back to one at a time.
        ``chat_ids`` are the alert groups; subscriptions and tracks are read here."""
        groups = tuple(chat_ids)
        try:
            return await self._transaction(ingest.record_items, list(batch), feed_id=feed_id,
                                           now=now, groups=groups, decide=decide,
                                           digest=digest)
        except IntegrityError:
            return [await self.record_item(n, feed_id=feed_id, now=now, chat_ids=groups,
                                           decide=decide, digest=digest) for n in batch]
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store {len(batch)} items: {exc}") from exc

    async def record_item(self, new: NewItem, *, feed_id: int | None, now: datetime,
                          chat_ids: Iterable[int], decide: Decide,
                          digest: bool = False) -> ItemOutcome:
        """Store one entry and apply its case decision, in one transaction."""
        try:
            try:
                return await self._transaction(ingest.record_item, new, feed_id=feed_id,
                                               now=now, groups=tuple(chat_ids),
                                               decide=decide, digest=digest)
            except IntegrityError:
                # Another poller stored the same URL between our check and our insert.
                found = (await self._read(ingest.stored, [new.url_hash]))[new.url_hash]
                return ItemOutcome(item_id=found[0], new=False, duplicate_of=None,
                                   case_id=found[1], change=None)
        except (SQLAlchemyError, KeyError) as exc:
            raise StorageError(f"cannot store item {new.entry.url}: {exc}") from exc

    async def get_case(self, case_id: int) -> CaseView | None:
        """A case with its sources (kept items, oldest first) and its timeline."""
        async with self._session() as session:
            case = await session.get(CaseRow, case_id)
            if case is None:
                return None
            items = (await session.execute(
                select(ItemRow).where(col(ItemRow.case_id) == case_id,
                                      col(ItemRow.duplicate_of_id).is_(None))
                .order_by(col(ItemRow.first_seen), col(ItemRow.id)))).scalars()
            events = (await session.execute(select(CaseEventRow).where(
                col(CaseEventRow.case_id) == case_id).order_by(col(CaseEventRow.id)))).scalars()
            return _case_view(case, items, events)

    async def items(self, since: datetime | None = None) -> list[StoredItem]:
        """Stored items, oldest first (``since`` filters by first seen)."""
        async with self._session() as session:
            stmt = select(ItemRow).order_by(col(ItemRow.id))
            if since is not None:
                stmt = stmt.where(col(ItemRow.first_seen) >= since)
            rows = list((await session.execute(stmt)).scalars())
            urls = {r.id: r.url for r in rows}
            missing = {r.duplicate_of_id for r in rows if r.duplicate_of_id} - set(urls)
            if missing:
                for r in (await session.execute(
                        select(ItemRow).where(col(ItemRow.id).in_(missing)))).scalars():
                    urls[r.id] = r.url
            return [StoredItem(
                id=r.id or 0, url=r.url, source=r.source, title=r.title, text=r.text,
                lang=r.lang, published=utc(r.published),
                first_seen=_utc_now_required(r.first_seen), relevant=r.relevant,
                kind=CaseKind(r.kind) if r.kind else None,
                stage=Stage(r.stage) if r.stage else None, urgent=r.urgent,
                persons=tuple(r.persons), case_id=r.case_id,
                duplicate_of=urls.get(r.duplicate_of_id) if r.duplicate_of_id else None)
                for r in rows]

    async def case_ids(self) -> list[int]:
        async with self._session() as session:
            return [i for i in (await session.execute(
                select(col(CaseRow.id)).order_by(col(CaseRow.id)))).scalars() if i is not None]

    # ── outbox ───────────────────────────────────────────────────────────────
    async def lease_outbox(self, now: datetime, *, limit: int = 20,
                           lease_seconds: float = 120.0,
                           skip_chats: Collection[int] = ()) -> list[OutboxMessage]:
        """Take up to ``limit`` messages, oldest first, with one atomic ``UPDATE …
        RETURNING``: each is marked ``sending`` until now + ``lease_seconds``, so no other
        pass or instance takes it meanwhile (on PostgreSQL the candidates are locked with
        SKIP LOCKED, so two instances leasing at once get different rows instead of
        waiting for each other). Messages to ``skip_chats`` (chats that must wait, such as
        a group at Telegram's rate limit) are left for later."""
        # Pending and due, or leased by a pass that died (its lease ran out).
        due = select(OutboxRow.id).where(or_(
            (col(OutboxRow.status) == "pending") & (col(OutboxRow.next_attempt_at) <= now),
            (col(OutboxRow.status) == "sending") & (col(OutboxRow.leased_until) < now)))
        if skip_chats:
            due = due.where(col(OutboxRow.chat_id).not_in(sorted(skip_chats)))
        rows = await self._lease(
            OutboxRow, due.order_by(col(OutboxRow.id)).limit(limit), status="sending",
            attempts=col(OutboxRow.attempts) + 1,
            leased_until=now + timedelta(seconds=lease_seconds))
        return [OutboxMessage(id=r.id or 0, kind=OutboxKind(r.kind), case_id=r.case_id,
                              chat_id=r.chat_id, attempts=r.attempts, body=r.body)
                for r in rows]

    async def complete_outbox(self, message: OutboxMessage, *, now: datetime,
                              posted_message_id: int | None = None) -> None:
        """Mark a message sent and, for a posted card, remember its Telegram message."""
        async with self._session() as session, session.begin():
            await session.execute(update(OutboxRow).where(col(OutboxRow.id) == message.id).values(
                status="sent", sent_at=now, leased_until=None, last_error=None))
            if posted_message_id is not None:
                await session.run_sync(ingest.insert_ignore, CardMessageRow, {
                    "case_id": message.case_id, "chat_id": message.chat_id,
                    "message_id": posted_message_id, "sent_at": now}, ["case_id", "chat_id"])

    async def retry_outbox(self, message: OutboxMessage, *, error: str,
                           next_attempt_at: datetime, give_up: bool = False) -> None:
        async with self._session() as session, session.begin():
            await session.execute(update(OutboxRow).where(col(OutboxRow.id) == message.id).values(
                status="failed" if give_up else "pending", next_attempt_at=next_attempt_at,
                leased_until=None, last_error=error[:500]))

    async def outbox_counts(self) -> dict[str, int]:
        async with self._session() as session:
            rows = await session.execute(
                select(col(OutboxRow.status), func.count()).group_by(col(OutboxRow.status)))
            return {status: int(n) for status, n in rows.all()}

    async def card_message(self, case_id: int, chat_id: int) -> int | None:
        async with self._session() as session:
            return (await session.execute(select(col(CardMessageRow.message_id)).where(
                col(CardMessageRow.case_id) == case_id, col(CardMessageRow.chat_id) == chat_id))
            ).scalar_one_or_none()

    # ── tracks, roles, audit ─────────────────────────────────────────────────
    async def add_track(self, query: str, key: str, initial: str, *, owner_id: int,
                        now: datetime) -> Track:
        async with self._session() as session, session.begin():
            await session.run_sync(ingest.insert_ignore, TrackRow, {
                "query": query, "name_key": key, "initial": initial, "owner_id": owner_id,
                "created_at": now}, ["owner_id", "query"])
            row = (await session.execute(select(TrackRow).where(
                col(TrackRow.owner_id) == owner_id, col(TrackRow.query) == query))).scalar_one()
            return Track(id=row.id or 0, query=row.query, owner_id=row.owner_id)

    async def list_tracks(self) -> list[Track]:
        async with self._session() as session:
            return [Track(id=r.id or 0, query=r.query, owner_id=r.owner_id) for r in
                    (await session.execute(select(TrackRow).order_by(col(TrackRow.id)))).scalars()]

    async def member_role(self, user_id: int) -> str | None:
        async with self._session() as session:
            row = await session.get(MemberRow, user_id)
            return row.role if row else None

    async def audit(self, *, user_id: int | None, action: str, detail: str, allowed: bool,
                    now: datetime) -> None:
        async with self._session() as session, session.begin():
            session.add(AuditRow(at=now, user_id=user_id, action=action, detail=detail[:1000],
                                 allowed=allowed))

    async def audit_log(self, limit: int = 100) -> list[tuple[int | None, str, bool]]:
        async with self._session() as session:
            rows = (await session.execute(
                select(AuditRow).order_by(col(AuditRow.id).desc()).limit(limit))).scalars()
            return [(r.user_id, r.action, r.allowed) for r in rows]



    # ── chats, subscriptions and users (the Telegram front) ──────────────────
    async def ensure_chat(self, chat_id: int, *, kind: str, now: datetime,
                          user_id: int | None = None, seen: bool = False) -> None:
        """Remember a chat. ``seen``: an update just came from it, so the bot can write
        there again — an inactive chat (bot blocked or removed) becomes active and the
        messages that failed because of that are queued again: nothing is lost."""
        async with self._session() as session, session.begin():
            row = await _get_or_add(session, ChatRow(chat_id=chat_id, kind=kind,
                                                     user_id=user_id, updated_at=now,
                                                     filters={}))
            if not row.active and seen:
                row.active, row.inactive_reason, row.updated_at = True, None, now
                await session.execute(update(OutboxRow).where(
                    col(OutboxRow.chat_id) == chat_id, col(OutboxRow.status) == "failed",
                    col(OutboxRow.last_error).startswith(INACTIVE)).values(
                    status="pending", attempts=0, next_attempt_at=now))

    async def alert_chats(self, configured: Iterable[int], now: datetime) -> tuple[int, ...]:
        """The alert groups: configured ids, following group → supergroup moves. A group
        the bot lost stays in the list: its cards are queued and failed at once as
        "chat inactive", and sent when the group is back (``ensure_chat(seen=True)``)."""
        out: list[int] = []
        for chat_id in configured:
            await self.ensure_chat(chat_id, kind="alert", now=now)
            async with self._session() as session:
                row = await session.get(ChatRow, chat_id)
                for _ in range(5):
                    if row is None or row.migrated_to is None:
                        break
                    row = await session.get(ChatRow, row.migrated_to)
                if row is not None and row.chat_id not in out:
                    out.append(row.chat_id)
        return tuple(out)

    async def inactive_reason(self, chat_id: int) -> str | None:
        """Why the bot cannot write to a chat now; None when it can (or is unknown)."""
        async with self._session() as session:
            row = await session.get(ChatRow, chat_id)
            return (row.inactive_reason or "inactive") if row and not row.active else None

    async def subscribers(self) -> list[tuple[int, int | None]]:
        """(chat id, user id) of every active private subscription."""
        async with self._session() as session:
            rows = (await session.execute(select(ChatRow).where(
                col(ChatRow.subscribed).is_(True), col(ChatRow.active).is_(True)))).scalars()
            return [(r.chat_id, r.user_id) for r in rows]

    async def chat_lang(self, chat_id: int) -> str | None:
        async with self._session() as session:
            row = await session.get(ChatRow, chat_id)
            return row.lang if row else None

    async def set_chat_lang(self, chat_id: int, lang: str, *, kind: str,
                            now: datetime) -> None:
        await self.ensure_chat(chat_id, kind=kind, now=now)
        async with self._session() as session, session.begin():
            await session.execute(update(ChatRow).where(col(ChatRow.chat_id) == chat_id)
                                  .values(lang=lang, updated_at=now))

    async def subscribe(self, chat_id: int, *, user_id: int, filters: dict[str, Any],
                        now: datetime) -> None:
        """Send cards to this private chat from now on, with these filters."""
        await self.ensure_chat(chat_id, kind="private", now=now, user_id=user_id)
        async with self._session() as session, session.begin():
            await session.execute(update(ChatRow).where(col(ChatRow.chat_id) == chat_id).values(
                subscribed=True, filters=filters, muted_until=None, active=True,
                inactive_reason=None, updated_at=now))

    async def unsubscribe(self, chat_id: int, now: datetime) -> bool:
        async with self._session() as session, session.begin():
            result = await session.execute(update(ChatRow).where(
                col(ChatRow.chat_id) == chat_id, col(ChatRow.subscribed).is_(True))
                .values(subscribed=False, updated_at=now))
            return bool(getattr(result, "rowcount", 0))

    async def mute(self, chat_id: int, until: datetime, now: datetime) -> bool:
        async with self._session() as session, session.begin():
            result = await session.execute(update(ChatRow).where(
                col(ChatRow.chat_id) == chat_id, col(ChatRow.subscribed).is_(True))
                .values(muted_until=until, updated_at=now))
            return bool(getattr(result, "rowcount", 0))

    async def subscription(self, chat_id: int) -> Subscription | None:
        async with self._session() as session:
            row = await session.get(ChatRow, chat_id)
            return ingest.subscription(row) if row and row.subscribed and row.active else None

    async def deactivate_chat(self, chat_id: int, *, reason: str, now: datetime,
                              notify: Iterable[int] = ()) -> None:
        """The bot cannot write to a chat any more: mark it inactive, fail what waits for
        it, and tell admins once when it was an alert group."""
        async with self._session() as session, session.begin():
            row = await _get_or_add(session, ChatRow(chat_id=chat_id, kind="private",
                                                     filters={}))
            was_active = row.active
            row.active, row.inactive_reason, row.updated_at = False, reason[:500], now
            await session.execute(update(OutboxRow).where(
                col(OutboxRow.chat_id) == chat_id,
                col(OutboxRow.status).in_(("pending", "sending"))).values(
                status="failed", leased_until=None, last_error=f"{INACTIVE}{reason}"[:500]))
            if was_active and row.kind == "alert":
                body = (f"The bot can no longer write to the alert group {chat_id}: {reason}. "
                        f"Cases and cards are kept: add the bot back to the group and write "
                        f"any message there; the waiting cards are then sent.")
                for admin in notify:
                    if admin != chat_id:
                        await session.run_sync(ingest.queue, OutboxKind.ADMIN_NOTICE,
                                          f"gone:{chat_id}:{now.isoformat()}:{admin}",
                                          chat_id=admin, now=now, body=body)

    async def migrate_chat(self, old: int, new: int, now: datetime) -> None:
        """A group became a supergroup: move its settings, waiting messages and cards."""
        async with self._session() as session, session.begin():
            row = await _get_or_add(session, ChatRow(chat_id=old, kind="alert", filters={}))
            row.migrated_to, row.updated_at = new, now
            await _get_or_add(session, ChatRow(
                chat_id=new, kind=row.kind, lang=row.lang, subscribed=row.subscribed,
                filters=dict(row.filters or {}), user_id=row.user_id, updated_at=now))
            await session.execute(update(OutboxRow).where(
                col(OutboxRow.chat_id) == old,
                col(OutboxRow.status).in_(("pending", "sending"))).values(chat_id=new))
            await session.execute(update(CardMessageRow).where(
                col(CardMessageRow.chat_id) == old).values(chat_id=new))

    async def forget_card(self, case_id: int, chat_id: int) -> None:
        """The posted card was deleted in Telegram: the next message posts it anew."""
        async with self._session() as session, session.begin():
            await session.execute(delete(CardMessageRow).where(
                col(CardMessageRow.case_id) == case_id, col(CardMessageRow.chat_id) == chat_id))

    async def see_user(self, user_id: int, *, username: str | None, name: str,
                       now: datetime) -> None:
        """Remember a user's current name and @username (for cards and /assign @user)."""
        async with self._session() as session, session.begin():
            row = await _get_or_add(session, UserRow(user_id=user_id))
            row.username = username.lower() if username else None
            row.name, row.last_seen = name[:128], now

    async def find_user(self, username: str) -> tuple[int, str] | None:
        async with self._session() as session:
            row = (await session.execute(select(UserRow).where(
                col(UserRow.username) == username.lstrip("@").lower()))).scalars().first()
            return (row.user_id, row.name) if row else None

    async def user_name(self, user_id: int) -> str | None:
        async with self._session() as session:
            row = await session.get(UserRow, user_id)
            return row.name if row else None

    # ── roles ────────────────────────────────────────────────────────────────
    async def grant(self, user_id: int, role: str, *, by: int, now: datetime) -> None:
        async with self._session() as session, session.begin():
            row = await _get_or_add(session, MemberRow(user_id=user_id, role=role))
            row.role, row.granted_by, row.granted_at = role, by, now

    async def revoke(self, user_id: int) -> str | None:
        """Remove a granted role; returns it (None when there was none)."""
        async with self._session() as session, session.begin():
            row = await session.get(MemberRow, user_id)
            if row is None:
                return None
            await session.delete(row)
            return row.role

    async def members(self) -> list[tuple[int, str]]:
        async with self._session() as session:
            rows = (await session.execute(select(MemberRow).order_by(
                col(MemberRow.user_id)))).scalars()
            return [(r.user_id, r.role) for r in rows]

    # ── the volunteers' work on cases ────────────────────────────────────────
    async def list_cases(self, *, statuses: Sequence[CaseStatus] = (CaseStatus.OPEN,),
                         limit: int = 20) -> list[CaseView]:
        """Cases newest first (without their items)."""
        async with self._session() as session:
            rows = (await session.execute(select(CaseRow).where(
                col(CaseRow.status).in_([s.value for s in statuses]))
                .order_by(col(CaseRow.id).desc()).limit(limit))).scalars()
            return [_case_view(r) for r in rows]

    async def set_case_work(self, case_id: int, *, expect: tuple[int | None, CaseStatus],
                            claimed_by: tuple[int | None, str | None], status: CaseStatus,
                            change: str, user_id: int, now: datetime, note: str | None = None,
                            notify: tuple[OutboxKind, int] | None = None) -> bool:
        """Claim, release, assign, resolve or reopen a case — only if it is still as the
        caller saw it (``expect``: claimer and status; two taps racing: one wins). In the
        same transaction: a timeline event, an edit of every posted card, and ``notify``
        (for an assignment, a private message to the assignee). False when it changed."""
        claimer, name = claimed_by
        closed = status is not CaseStatus.OPEN
        async with self._session() as session, session.begin():
            cond = col(CaseRow.claimed_by_id).is_(None) if expect[0] is None else \
                col(CaseRow.claimed_by_id) == expect[0]
            result = await session.execute(update(CaseRow).where(
                col(CaseRow.id) == case_id, cond, col(CaseRow.status) == expect[1].value)
                .values(claimed_by_id=claimer, claimed_by_name=name,
                        claimed_at=now if claimer is not None else None, status=status.value,
                        closed_by_id=user_id if closed else None,
                        closed_at=now if closed else None))
            if not getattr(result, "rowcount", 0):
                return False
            event = CaseEventRow(case_id=case_id, change=change, at=now, user_id=user_id,
                                 note=(note or "")[:200] or None)
            session.add(event)
            await session.flush()
            chats = (await session.execute(select(col(CardMessageRow.chat_id)).where(
                col(CardMessageRow.case_id) == case_id))).scalars()
            for chat in chats:
                await session.run_sync(ingest.queue, OutboxKind.UPDATE_CARD,
                                  f"upd:{case_id}:{event.id}:{chat}", chat_id=chat,
                                  case_id=case_id, now=now)
            if notify is not None:
                await session.run_sync(ingest.queue, notify[0], f"{notify[0].value}:{event.id}",
                                  chat_id=notify[1], case_id=case_id, now=now)
            return True

    async def queue_reannouncements(self, now: datetime, *, older_than: timedelta,
                                    coordinators: Sequence[int]) -> int:
        """Urgent open cases nobody took for ``older_than``: once per case, a reply to each
        posted card and a private alert to each coordinator, in one transaction."""
        queued = 0
        async with self._session() as session, session.begin():
            rows = list((await session.execute(select(CaseRow).where(
                col(CaseRow.status) == CaseStatus.OPEN.value, col(CaseRow.urgent).is_(True),
                col(CaseRow.claimed_by_id).is_(None), col(CaseRow.reannounced_at).is_(None),
                col(CaseRow.urgent_since) <= now - older_than))).scalars())
            for case in rows:
                assert case.id is not None
                case.reannounced_at = now
                chats = list((await session.execute(select(col(CardMessageRow.chat_id)).where(
                    col(CardMessageRow.case_id) == case.id))).scalars())
                for chat in chats:
                    queued += await session.run_sync(ingest.queue, OutboxKind.REANNOUNCE,
                                                f"re:{case.id}:{chat}", chat_id=chat,
                                                case_id=case.id, now=now)
                for chat in coordinators:
                    queued += await session.run_sync(ingest.queue, OutboxKind.COORDINATOR_ALERT,
                                                f"coord:{case.id}:{chat}", chat_id=chat,
                                                case_id=case.id, now=now)
        return queued

    async def queue_digest(self, now: datetime, *, groups: Sequence[int]) -> int:
        """The daily digest: the non-urgent cases held since the last one, as one message
        per chat (groups, and subscriptions whose filters let a case through)."""
        async with self._session() as session, session.begin():
            rows = list((await session.execute(select(CaseRow).where(
                col(CaseRow.digest_pending).is_(True)).order_by(col(CaseRow.id)))).scalars())
            if not rows:
                return 0
            audience = await session.run_sync(ingest.audience, groups, True)
            per_chat: dict[int, list[int]] = {g: [] for g in audience.groups}
            for case in rows:
                assert case.id is not None
                case.digest_pending = False
                if case.status != CaseStatus.OPEN.value:
                    continue
                for g in audience.groups:
                    per_chat[g].append(case.id)
                for sub in audience.subscriptions:
                    if sub.chat_id not in per_chat or sub.chat_id in audience.groups:
                        per_chat.setdefault(sub.chat_id, [])
                    if sub.chat_id not in audience.groups and wants(
                            sub, ingest.case_facts(case), now):
                        per_chat[sub.chat_id].append(case.id)
            queued = 0
            for chat, ids in per_chat.items():
                if ids:
                    queued += await session.run_sync(
                        ingest.queue, OutboxKind.DIGEST, f"digest:{now:%Y-%m-%dT%H}:{chat}",
                        chat_id=chat, now=now, body=",".join(map(str, ids)))
            return queued

    async def status_summary(self, now: datetime) -> StatusSummary:
        async with self._session() as session:
            outbox = {status: int(n) for status, n in (await session.execute(
                select(col(OutboxRow.status), func.count()).group_by(col(OutboxRow.status))
            )).all()}
            failed_day = int((await session.execute(select(func.count()).where(
                col(OutboxRow.status) == "failed",
                col(OutboxRow.created_at) >= now - timedelta(days=1)))).scalar_one())
            last_failure = (await session.execute(select(col(OutboxRow.last_error)).where(
                col(OutboxRow.status) == "failed").order_by(col(OutboxRow.id).desc())
                .limit(1))).scalar_one_or_none()
            feeds = list((await session.execute(select(FeedRow))).scalars())
            polls = [t for f in feeds for t in (utc(f.last_success_at), utc(f.last_error_at))
                     if t is not None]
            open_cases = int((await session.execute(select(func.count()).where(
                col(CaseRow.status) == "open"))).scalar_one())
            urgent = int((await session.execute(select(func.count()).where(
                col(CaseRow.status) == "open", col(CaseRow.urgent).is_(True),
                col(CaseRow.claimed_by_id).is_(None)))).scalar_one())
            inactive = tuple((r.chat_id, r.inactive_reason or "") for r in (
                await session.execute(select(ChatRow).where(
                    col(ChatRow.active).is_(False)))).scalars())
            return StatusSummary(
                outbox=outbox, failed_last_day=failed_day, feeds=len(feeds),
                feeds_paused=sum(f.paused for f in feeds),
                feeds_failing=sum(1 for f in feeds if f.consecutive_failures and not f.paused),
                last_poll_at=max(polls) if polls else None, open_cases=open_cases,
                urgent_unclaimed=urgent, inactive_chats=inactive, last_failure=last_failure)

    async def remove_tracks(self, *, track_id: int | None = None,
                            query: str | None = None) -> list[Track]:
        """Remove a track by id, or every track with this query text (any owner)."""
        async with self._session() as session, session.begin():
            stmt = select(TrackRow)
            if track_id is not None:
                stmt = stmt.where(col(TrackRow.id) == track_id)
            else:
                stmt = stmt.where(func.lower(col(TrackRow.query)) == (query or "").lower())
            rows = list((await session.execute(stmt)).scalars())
            for row in rows:
                await session.delete(row)
            return [Track(id=r.id or 0, query=r.query, owner_id=r.owner_id) for r in rows]

def _case_view(case: CaseRow, items: Iterable[ItemRow] = (),
               events: Iterable[CaseEventRow] = ()) -> CaseView:
    assert case.id is not None
    return CaseView(
        id=case.id, kind=CaseKind(case.kind) if case.kind else None,
        stage=Stage(case.stage) if case.stage else None, urgent=case.urgent,
        person_key=case.person_key, persons=tuple(case.persons),
        countries=tuple(case.countries), first_seen=_utc_now_required(case.first_seen),
        updated=_utc_now_required(case.updated),
        items=tuple(ItemView(id=i.id or 0, url=i.url, title=i.title, source=i.source,
                             lang=i.lang, published=utc(i.published),
                             first_seen=_utc_now_required(i.first_seen)) for i in items),
        claimed_by=case.claimed_by_name, court=case.court, status=CaseStatus(case.status),
        stage_at=utc(case.stage_at), claimed_by_id=case.claimed_by_id,
        events=tuple(CaseEvent(at=_utc_now_required(e.at), change=e.change,
                               stage=Stage(e.stage) if e.stage else None, user=e.note)
                     for e in events))
