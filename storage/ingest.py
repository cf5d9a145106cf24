"""The ingest transaction: storing a source's new items, their case decisions and the
messages they imply — written once, as synchronous SQLAlchemy code on a ``Session``.

Why synchronous: this is the one hot write path (every item of every poll). Through
the async driver every statement costs several thread hops (aiosqlite: ~0.3–0.5 ms
per statement, against a few µs for SQLite itself), so ``storage.repo.Store`` runs
these functions in a worker thread on a synchronous connection — one hop for the
whole transaction. Where there is no separate connection (the in-memory database of
``scan`` and the tests) the same functions run through ``AsyncSession.run_sync``.

Also here, because both paths need them: queueing an outbox message
(``queue``: INSERT … ON CONFLICT DO NOTHING on its dedup key) and reading who may
receive a case's messages (``audience``).

Must not decide anything: which case an item joins is the caller's ``decide``;
who receives what is ``feeds.routing.route``; whether two texts are copies is
``feeds.neardup.is_copy``. Must not import asyncio or the async engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, literal, update
from sqlalchemy import case as when
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel, col, select

from feeds import neardup
from feeds.cases import CaseDecision, CaseState
from feeds.errors import StorageError
from feeds.models import (
    Analysis,
    CaseKind,
    CaseStatus,
    Entry,
    ItemOutcome,
    OutboxKind,
    Stage,
    Subscription,
    Track,
)
from feeds.names import keys_match, match_starts
from feeds.routing import CaseFacts, route
from storage.tables import CaseEventRow, CaseRow, ChatRow, ItemBandRow, ItemRow, OutboxRow, TrackRow

Decide = Callable[[Analysis, Sequence[CaseState], datetime], CaseDecision | None]
Original = tuple[int, str, int | None]      # a kept item: id, URL, case id
CHUNK = 500                                 # values per IN (…) list


def _table(model: type[SQLModel]) -> Table:
    table = getattr(model, "__table__")     # noqa: B009 (typed Any by SQLModel)
    assert isinstance(table, Table)
    return table


# The hot path's statements, built once (building a statement costs as much as
# running a small one); Core, not ORM: no identity map to keep in step.
ITEM, CASE, EVENT, BAND, OUTBOX = (_table(m) for m in (ItemRow, CaseRow, CaseEventRow,
                                                        ItemBandRow, OutboxRow))
_STORED = sa_select(ITEM.c.url_hash, ITEM.c.id, ITEM.c.case_id).where(
    ITEM.c.url_hash.in_(bindparam("hashes", expanding=True)))
_GUIDS = sa_select(ITEM.c.guid).where(ITEM.c.feed_id == bindparam("feed"),
                                      ITEM.c.guid.in_(bindparam("guids", expanding=True)))
_KEPT_PLAIN = sa_select(ITEM.c.content_hash, ITEM.c.id, ITEM.c.url, ITEM.c.case_id).where(
    ITEM.c.content_hash.in_(bindparam("hashes", expanding=True)),
    ITEM.c.duplicate_of_id.is_(None), ITEM.c.relevant.is_(False)).order_by(ITEM.c.id)
_KEPT = sa_select(ITEM.c.id, ITEM.c.url, ITEM.c.case_id).where(
    ITEM.c.content_hash == bindparam("content"), ITEM.c.duplicate_of_id.is_(None),
    ITEM.c.relevant == bindparam("relevant")).order_by(ITEM.c.id).limit(1)
_SHARED = func.count().label("shared")
_BAND_MATES = sa_select(BAND.c.item_id, _SHARED).where(
    BAND.c.band.in_(bindparam("bands", expanding=True))).group_by(BAND.c.item_id).order_by(
    _SHARED.desc()).limit(neardup.MAX_CANDIDATES)
_SIGNED = sa_select(ITEM.c.id, ITEM.c.url, ITEM.c.case_id, ITEM.c.signature,
                    ITEM.c.person_keys).where(
    ITEM.c.id.in_(bindparam("ids", expanding=True)), ITEM.c.duplicate_of_id.is_(None),
    ITEM.c.signature.is_not(None))
_CASE_KEYS = sa_select(CASE.c.id, CASE.c.person_key).where(
    func.length(CASE.c.person_key).in_(bindparam("lengths", expanding=True)),
    func.substr(CASE.c.person_key, 1, 1).in_(bindparam("starts", expanding=True)))
_CASES = sa_select(CASE.c.id, CASE.c.person_key, CASE.c.person_given, CASE.c.kind,
                   CASE.c.stage, CASE.c.urgent, CASE.c.persons, CASE.c.countries,
                   CASE.c.court, CASE.c.status).where(
    CASE.c.id.in_(bindparam("ids", expanding=True))).order_by(CASE.c.id)
_FACTS = (CASE.c.id, CASE.c.urgent, CASE.c.kind, CASE.c.countries, CASE.c.persons,
          CASE.c.status, CASE.c.stage, CASE.c.digest_pending)
_INSERT_ITEMS = insert(ITEM).returning(ITEM.c.id, sort_by_parameter_order=True)
_INSERT_BANDS = insert(BAND)
_INSERT_EVENT = insert(EVENT).returning(EVENT.c.id)
_INSERT_CASE = insert(CASE).returning(CASE.c.id)
_SET_STATUS = update(CASE).where(CASE.c.id == bindparam("case")).values(
    status=bindparam("new_status"), digest_pending=bindparam("pending"))


@cache
def _queue_statement(dialect: str) -> Insert:
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(OUTBOX)
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT it ran
    # through SQLAlchemy's insertmanyvalues path; a returned row is an inserted row.
    statement: Insert = ins.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(
        OUTBOX.c.id)
    return statement


@dataclass(frozen=True, slots=True)
class NewItem:
    """One entry to store, with what the pipeline computed about it."""

    entry: Entry
    analysis: Analysis
    url_hash: str
    content_hash: str
    signature: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may receive a case's messages, read once per batch of items."""

    groups: tuple[int, ...]
    subscriptions: tuple[Subscription, ...] = ()
    tracks: tuple[Track, ...] = ()
    digest: bool = False


# ── rows → domain types ──────────────────────────────────────────────────────────


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def case_state(row: CaseRow) -> CaseState:
    return CaseState(
        id=row_id(row.id), person_key=row.person_key, person_given=row.person_given,
        kind=CaseKind(row.kind) if row.kind else None,
        stage=Stage(row.stage) if row.stage else None, urgent=row.urgent,
        persons=tuple(row.persons), countries=tuple(row.countries), court=row.court,
        status=row.status)


def case_facts(case: CaseRow) -> CaseFacts:
    return CaseFacts(id=row_id(case.id), urgent=case.urgent,
                     kind=CaseKind(case.kind) if case.kind else None,
                     countries=tuple(case.countries), persons=tuple(case.persons),
                     status=CaseStatus(case.status), stage=case.stage,
                     digest_pending=case.digest_pending)


def subscription(row: ChatRow) -> Subscription:
    filters = row.filters or {}
    return Subscription(
        chat_id=row.chat_id, countries=frozenset(filters.get("countries", [])),
        kinds=frozenset(CaseKind(k) for k in filters.get("kinds", [])),
        urgent_only=bool(filters.get("urgent")), muted_until=utc(row.muted_until))


def row_id(value: int | None) -> int:
    """A primary key read back from the database (never None once stored)."""
    if value is None:
        raise StorageError("the database returned no id for a stored row")
    return value


# ── shared statements ────────────────────────────────────────────────────────────


def insert_ignore(session: Session, table: Any, values: dict[str, Any],
                  keys: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns the number of rows inserted."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    result = session.execute(stmt.returning(literal(1)))
    return len(result.fetchall())


def queue(session: Session, kind: OutboxKind, dedup_key: str, *, chat_id: int,
          now: datetime, case_id: int | None = None, body: str | None = None) -> int:
    """Queue one outbox message unless its dedup key was queued before (returns 0)."""
    result = session.connection().execute(
        _queue_statement(session.get_bind().dialect.name),
        {"dedup_key": dedup_key, "kind": kind.value, "case_id": case_id, "chat_id": chat_id,
         "body": body, "status": "pending", "attempts": 0, "next_attempt_at": now,
         "created_at": now})
    return len(result.fetchall())


def audience(session: Session, groups: Iterable[int], digest: bool) -> Audience:
    """The alert groups given, the active subscriptions and every track."""
    subs = session.execute(select(ChatRow).where(
        col(ChatRow.subscribed).is_(True), col(ChatRow.active).is_(True))).scalars()
    tracks = session.execute(select(TrackRow).order_by(col(TrackRow.id))).scalars()
    return Audience(groups=tuple(groups), subscriptions=tuple(subscription(r) for r in subs),
                    tracks=tuple(Track(id=t.id or 0, query=t.query, owner_id=t.owner_id)
                                 for t in tracks), digest=digest)


# ── before matching: what is known already ───────────────────────────────────────


def known_guids(session: Session, feed_id: int, guids: Sequence[str]) -> set[str]:
    """Which of these guids this feed has delivered before."""
    conn = session.connection()
    return {g for start in range(0, len(guids), CHUNK) for g in conn.execute(
        _GUIDS, {"feed": feed_id, "guids": list(guids[start:start + CHUNK])}).scalars() if g}


def known_urls(session: Session, url_hashes: Sequence[str]) -> set[str]:
    """Which of these URL hashes are stored already."""
    return set(stored(session, url_hashes))


def stored(session: Session, url_hashes: Sequence[str]) -> dict[str, tuple[int, int | None]]:
    """URL hash → (item id, case id) of the items stored already."""
    conn = session.connection()
    return {url_hash: (item_id, case_id) for start in range(0, len(url_hashes), CHUNK)
            for url_hash, item_id, case_id in conn.execute(
                _STORED, {"hashes": list(url_hashes[start:start + CHUNK])}).all()}


# ── the transaction ──────────────────────────────────────────────────────────────


def record_items(session: Session, batch: Sequence[NewItem], *, feed_id: int | None,
                 now: datetime, groups: Sequence[int], decide: Decide,
                 digest: bool) -> list[ItemOutcome]:
    """Store a source's new entries and apply their case decisions (the caller owns the
    transaction). Items that name no removal (most of a feed) are stored together in a
    few statements; the others — relevant, or compared for near copies (a signature) —
    each take the full path of ``record_item``."""
    known = stored(session, [n.url_hash for n in batch])
    outcomes: list[ItemOutcome | None] = [None] * len(batch)
    first: dict[str, int] = {}          # URL hash → its first index in the batch
    plain: list[int] = []
    read: list[Audience] = []

    def readers() -> Audience:          # read once, and only when a case changes
        if not read:
            read.append(audience(session, groups, digest))
        return read[0]

    for index, new in enumerate(batch):
        if new.url_hash in known:
            item_id, case_id = known[new.url_hash]
            outcomes[index] = ItemOutcome(item_id=item_id, new=False, duplicate_of=None,
                                          case_id=case_id, change=None)
        elif new.url_hash in first:
            continue                    # a repeat within the batch: below
        elif new.analysis.relevant or new.signature:
            first[new.url_hash] = index
            outcomes[index] = _record_new(session, feed_id, new, now, readers, decide)
        else:
            first[new.url_hash] = index
            plain.append(index)
    for index, outcome in zip(plain, _record_plain(session, feed_id, [batch[i] for i in plain],
                                                   now), strict=True):
        outcomes[index] = outcome
    done: list[ItemOutcome] = []
    for index, new in enumerate(batch):
        found = outcomes[index]
        if found is None:
            kept = outcomes[first[new.url_hash]]
            assert kept is not None
            found = ItemOutcome(item_id=kept.item_id, new=False, duplicate_of=None,
                                case_id=kept.case_id, change=None)
        done.append(found)
    return done


def record_item(session: Session, new: NewItem, *, feed_id: int | None, now: datetime,
                groups: Sequence[int], decide: Decide, digest: bool) -> ItemOutcome:
    """Store one entry and apply its case decision (the caller owns the transaction)."""
    known = stored(session, [new.url_hash]).get(new.url_hash)
    if known is not None:
        return ItemOutcome(item_id=known[0], new=False, duplicate_of=None, case_id=known[1],
                           change=None)
    return _record_new(session, feed_id, new, now, lambda: audience(session, groups, digest),
                       decide)


def _record_plain(session: Session, feed_id: int | None, batch: Sequence[NewItem],
                  now: datetime) -> list[ItemOutcome]:
    """Store items that name no removal in bulk: no case, no near-copy bands (they
    have no signature); an exact copy (same content hash, also not relevant) points at
    the kept one. The URL hashes are distinct and new."""
    if not batch:
        return []
    originals: dict[str, Original] = {}
    hashes = sorted({n.content_hash for n in batch})
    conn = session.connection()
    for start in range(0, len(hashes), CHUNK):
        for content, item_id, url, case_id in conn.execute(
                _KEPT_PLAIN, {"hashes": hashes[start:start + CHUNK]}).all():
            originals.setdefault(content, (item_id, url, case_id))
    # Kept items first: copies of them in this batch need their ids.
    first_of: dict[str, int] = {}
    kept, copies = [], []
    for index, new in enumerate(batch):
        if new.content_hash in originals or new.content_hash in first_of:
            copies.append(index)
        else:
            first_of[new.content_hash] = index
            kept.append(index)
    ids = dict(zip(kept, _insert_items(session, [item_values(feed_id, batch[i], now, None)
                                                 for i in kept]), strict=True))
    for content, index in first_of.items():
        originals.setdefault(content, (ids[index], batch[index].entry.url, None))
    ids.update(zip(copies, _insert_items(session, [
        item_values(feed_id, batch[i], now, originals[batch[i].content_hash])
        for i in copies]), strict=True))
    copied = set(copies)
    outcomes = []
    for index, new in enumerate(batch):
        original = originals[new.content_hash] if index in copied else None
        outcomes.append(ItemOutcome(
            item_id=ids[index], new=True, duplicate_of=original[1] if original else None,
            case_id=original[2] if original else None, change=None))
    return outcomes


def _insert_items(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert item rows in one statement; their ids in order."""
    if not rows:
        return []
    return [row_id(i) for i in session.connection().execute(_INSERT_ITEMS, rows).scalars()]


def _record_new(session: Session, feed_id: int | None, new: NewItem, now: datetime,
                readers: Callable[[], Audience], decide: Decide) -> ItemOutcome:
    """Store one item not stored yet: a copy joins its original's case; a relevant
    original is decided, and the messages its case change implies are queued."""
    original = _find_original(session, new)
    if original is not None:
        [item_id] = _insert_items(session, [item_values(feed_id, new, now, original)])
        return ItemOutcome(item_id=item_id, new=True, duplicate_of=original[1],
                           case_id=original[2], change=None)
    decision = (decide(new.analysis, _candidates(session, new.analysis), now)
                if new.analysis.relevant else None)
    case = _apply(session, decision, now) if decision else None
    [item_id] = _insert_items(session, [item_values(feed_id, new, now, None,
                                                    case_id=case.id if case else None)])
    conn = session.connection()
    if new.signature:
        conn.execute(_INSERT_BANDS, [{"band": band, "item_id": item_id}
                                     for band in neardup.band_keys(new.signature)])
    if decision is None or case is None:
        return ItemOutcome(item_id=item_id, new=True, duplicate_of=None, case_id=None,
                           change=None)
    event_id = conn.execute(_INSERT_EVENT, {
        "case_id": case.id, "item_id": item_id, "change": decision.change.value,
        "stage": case.stage, "at": now}).scalar_one()
    who = readers()
    routed = route(decision.change, case, event_id=event_id, groups=who.groups,
                   subscriptions=who.subscriptions, tracks=who.tracks, now=now,
                   digest=who.digest)
    if (routed.status, routed.digest_pending) != (case.status, case.digest_pending):
        conn.execute(_SET_STATUS, {"case": case.id, "new_status": routed.status.value,
                                   "pending": routed.digest_pending})
    queued = sum(queue(session, planned.kind, planned.dedup_key, chat_id=planned.chat_id,
                       case_id=case.id, now=now) for planned in routed.messages)
    return ItemOutcome(item_id=item_id, new=True, duplicate_of=None, case_id=case.id,
                       change=decision.change.value, queued=queued)


def _find_original(session: Session, new: NewItem) -> Original | None:
    """The kept item this one copies: the same content hash (and the same relevance),
    else a near duplicate among the items sharing a MinHash band (decided by
    ``feeds.neardup.is_copy``)."""
    conn = session.connection()
    exact = conn.execute(_KEPT, {"content": new.content_hash,
                                 "relevant": new.analysis.relevant}).first()
    if exact is not None or not new.signature:
        return (exact[0], exact[1], exact[2]) if exact is not None else None
    # The candidates sharing the most bands (templated feeds — thousands of
    # "CASE OF … v. RUSSIA" — share some band with everything; take the likeliest).
    ids = list(conn.execute(_BAND_MATES, {"bands": neardup.band_keys(new.signature)})
               .scalars())
    if not ids:
        return None
    persons = frozenset(p.key for p in new.analysis.persons)
    length = len(new.entry.title) + len(new.entry.text)
    best: tuple[float, Original] | None = None
    for item_id, url, case_id, sig, person_keys in conn.execute(_SIGNED, {"ids": ids}).all():
        sim = neardup.similarity(new.signature, neardup.unpack(sig or b""))
        if neardup.is_copy(sim, length, persons, frozenset(person_keys)) and (
                best is None or sim > best[0]):
            best = (sim, (item_id, url, case_id))
    return best[1] if best else None


def _candidates(session: Session, analysis: Analysis) -> list[CaseState]:
    """The cases an item about these persons may join: key one letter away at most
    (``feeds.names.keys_match`` narrows; the pure decider decides). Closed cases are
    candidates too: a case marked not relevant keeps absorbing its reports quietly.
    The database narrows by key length and first letter; whole rows are read only for
    the keys that match."""
    keys = {p.key for p in analysis.persons}
    lengths = sorted({n for k in keys for n in (len(k) - 1, len(k), len(k) + 1)})
    conn = session.connection()
    starts = sorted({c for k in keys for c in match_starts(k)})
    near = [case_id for case_id, case_key in conn.execute(
        _CASE_KEYS, {"lengths": lengths, "starts": starts})
        if any(keys_match(k, case_key) for k in keys)]
    if not near:
        return []
    return [CaseState(id=r.id, person_key=r.person_key, person_given=r.person_given,
                      kind=CaseKind(r.kind) if r.kind else None,
                      stage=Stage(r.stage) if r.stage else None, urgent=r.urgent,
                      persons=tuple(r.persons), countries=tuple(r.countries), court=r.court,
                      status=r.status)
            for r in conn.execute(_CASES, {"ids": near})]


def _apply(session: Session, d: CaseDecision, now: datetime) -> CaseFacts:
    """Write a decision to its case (a new row, or the candidate row ``_candidates``
    loaded); returns the case as routing sees it."""
    stage = d.stage.value if d.stage else None
    values: dict[str, Any] = {
        "person_key": d.person_key, "person_given": d.person_given,
        "kind": d.kind.value if d.kind else None, "urgent": d.urgent,
        "persons": list(d.persons), "countries": list(d.countries), "court": d.court,
        "updated": now}
    conn = session.connection()
    if d.case_id is None:
        case_id = row_id(conn.execute(_INSERT_CASE, {
            **values, "stage": stage, "stage_at": now, "first_seen": now,
            "urgent_since": now if d.urgent else None, "status": CaseStatus.OPEN.value,
            "digest_pending": False}).scalar_one())
        return CaseFacts(id=case_id, urgent=d.urgent, kind=d.kind,
                         countries=tuple(d.countries), persons=tuple(d.persons),
                         status=CaseStatus.OPEN, stage=stage, digest_pending=False)
    # The stage's time moves only with the stage; "urgent since" is set once.
    row = conn.execute(update(CASE).where(CASE.c.id == d.case_id).values(
        **values, stage=stage,
        stage_at=when((CASE.c.stage.is_distinct_from(stage) | CASE.c.stage_at.is_(None),
                       now), else_=CASE.c.stage_at),
        urgent_since=when((literal(d.urgent) & CASE.c.urgent_since.is_(None), now),
                          else_=CASE.c.urgent_since),
    ).returning(*_FACTS)).first()
    if row is None:
        raise StorageError(f"case {d.case_id} vanished during a decision")
    return CaseFacts(id=row.id, urgent=row.urgent, kind=CaseKind(row.kind) if row.kind else None,
                     countries=tuple(row.countries), persons=tuple(row.persons),
                     status=CaseStatus(row.status), stage=row.stage,
                     digest_pending=row.digest_pending)


def item_values(feed_id: int | None, new: NewItem, now: datetime, original: Original | None,
                *, case_id: int | None = None) -> dict[str, Any]:
    """The column values of a new item row (``original``: the kept item it copies; a
    copy belongs to its original's case)."""
    entry, analysis = new.entry, new.analysis
    return {
        "feed_id": feed_id, "url": entry.url, "url_hash": new.url_hash, "guid": entry.guid,
        "content_hash": new.content_hash, "title": entry.title, "text": entry.text,
        "source": entry.source, "court": analysis.court, "dates": list(analysis.dates),
        "signature": neardup.pack(new.signature) if new.signature else None,
        "lang": analysis.lang, "published": entry.published or now, "first_seen": now,
        "relevant": analysis.relevant,
        "kind": analysis.kind.value if analysis.kind else None,
        "stage": analysis.stage.value if analysis.stage else None, "urgent": analysis.urgent,
        "persons": [p.display for p in analysis.persons],
        "person_keys": [p.key for p in analysis.persons],
        "countries": list(analysis.countries),
        "duplicate_of_id": original[0] if original else None,
        "case_id": original[2] if original else case_id,
    }
