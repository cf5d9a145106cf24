"""Migrations keep data: from every earlier schema version to head, every row survives.

For each earlier revision an empty SQLite file is migrated to exactly that revision,
filled with realistic rows in every table it has (values generated from the reflected
column types, parents before children as the reflected foreign keys require), then
migrated to head by the project's own ``storage.db.migrate``. Afterwards every row must
still be there with the same values, new columns must hold their defaults or the
migration's backfill, ``Store`` must read the old data, and the file must be a sound
WAL-mode database. ``REVISIONS`` lists the history; a test fails when Alembic knows a
revision that is missing here, so a new migration cannot go untested.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import sqlite3
import zlib
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from feeds import names, neardup
from feeds.errors import StorageError
from feeds.models import CaseKind, FeedInfo, FeedKind, ItemView, OutboxKind, Stage
from storage import Store
from storage.db import alembic_config, create_engine, migrate

REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")   # the history, oldest first
HEAD = REVISIONS[-1]
EARLIER = REVISIONS[:-1]
ROWS = 3                                               # rows inserted into every table
BASE = datetime(2026, 3, 2, 8, 15, 30, 250_000, tzinfo=UTC)
NOW = BASE + timedelta(days=1)

Rows = list[dict[str, Any]]
Snapshot = dict[str, Rows]                # table -> its rows in primary-key order
Nullable = dict[str, dict[str, bool]]     # table -> column -> nullable

# Known defects, by the revision whose upgrade goes wrong. Tests crossing one are
# strict xfails: fixing the migration turns them into failures that ask to drop this.
BROKEN: dict[str, str] = {}     # none known (0005 was, until migrations ran with foreign
#                                  keys off and in one transaction: storage/db.migrate)

def _crossing(start: str, target: str = HEAD) -> Any:
    """Marks for a test migrating from ``start`` to ``target``: xfail if it crosses a defect."""
    crossed = REVISIONS[REVISIONS.index(start) + 1:REVISIONS.index(target) + 1]
    reasons = [BROKEN[r] for r in crossed if r in BROKEN]
    if not reasons:
        return ()
    return pytest.mark.xfail(strict=True, raises=StorageError, reason="; ".join(reasons))


# ── realistic values ─────────────────────────────────────────────────────────
PEOPLE = ("Рахимов Алишер", "Юсупова Дилноза", "Каримов Фарход")
COUNTRIES = (["UZ"], ["TJ", "RU"], ["KG"])
ITEM_TEXTS = tuple(
    f"{person} задержан в Москве и помещён в центр временного содержания иностранных "
    f"граждан; суд назначил административное выдворение, защита готовит жалобу в "
    f"Мосгорсуд и просит ЕСПЧ о применении обеспечительных мер (заметка {n})."
    for n, person in enumerate(PEOPLE))
SIGNATURES = tuple(neardup.signature(text) for text in ITEM_TEXTS)


def _cycle(values: Iterable[Any]) -> Callable[[int], Any]:
    options = list(values)
    return lambda i: options[i % len(options)]


def _at(hours: float) -> Callable[[int], datetime]:
    return lambda i: BASE + timedelta(hours=hours + i)


def _person(i: int) -> str:
    return PEOPLE[i % len(PEOPLE)]


def _item_url(i: int) -> str:
    return f"https://news{i}.example.org/2026/03/0{i + 1}/vydvorenie"


# Values by "table.column" or by column name; every other column gets one by its type.
REALISTIC: dict[str, Callable[[int], Any]] = {
    "feed.url": lambda i: f"https://news{i}.example.org/rss.xml",
    "feed.kind": _cycle(FeedKind),
    "feed.title": lambda i: f"Новости региона №{i}",
    "feed.interval_seconds": lambda i: 300 * (i + 1),
    "feed.paused": lambda i: i == 2,
    "feed.etag": lambda i: f'W/"5f3a{i:04x}"',
    "feed.last_modified": lambda i: f"Mon, 0{i + 1} Mar 2026 08:00:00 GMT",
    "feed.last_error": lambda i: "HTTP 503 Service Unavailable",
    "feed.consecutive_failures": lambda i: i,
    "feed.items_seen": lambda i: 40 + i,
    "feed.paused_reason": lambda i: "5 failures in a row",
    "feed.selector": lambda i: "table.registry tr",
    "case_file.person_key": lambda i: names.surname_key(_person(i).split()[0]),
    "case_file.person_given": lambda i: names.given_initial(_person(i).split()[1]),
    "case_file.kind": _cycle(CaseKind),
    "case_file.stage": _cycle([Stage.DETAINED, Stage.COURT_ORDER, Stage.IMMINENT]),
    "case_file.urgent": lambda i: i != 1,
    "case_file.status": _cycle(["open", "open", "resolved"]),
    "case_file.persons": lambda i: [_person(i)],
    "case_file.countries": lambda i: COUNTRIES[i % len(COUNTRIES)],
    "case_file.first_seen": _at(0),
    "case_file.updated": _at(5.5),
    "court": lambda i: "Басманный районный суд г. Москвы",
    "item.url": _item_url,
    "item.url_hash": lambda i: f"{zlib.crc32(_item_url(i).encode()):08x}" * 8,
    "item.guid": lambda i: f"tag:news{i}.example.org,2026:{1000 + i}",
    "item.content_hash": lambda i: f"{zlib.crc32(ITEM_TEXTS[i].encode()):08x}" * 8,
    "item.title": lambda i: f"{_person(i)}: суд назначил выдворение",
    "item.text": lambda i: ITEM_TEXTS[i],
    "item.source": lambda i: f"news{i}.example.org",
    "item.lang": lambda i: "ru",
    "item.relevant": lambda i: True,
    "item.kind": _cycle(CaseKind),
    "item.stage": _cycle([Stage.DETAINED, Stage.COURT_ORDER, Stage.IMMINENT]),
    "item.persons": lambda i: [_person(i)],
    "item.person_keys": lambda i: [names.surname_key(_person(i).split()[0])],
    "item.countries": lambda i: COUNTRIES[i % len(COUNTRIES)],
    "item.dates": lambda i: [f"2026-03-1{i}"],
    "item.signature": lambda i: neardup.pack(SIGNATURES[i]),
    "item.published": _at(-1),
    "item.first_seen": _at(0.25),
    "item_band.band": lambda i: neardup.band_keys(SIGNATURES[i])[i],
    "case_event.change": _cycle(["new", "escalate", "claim"]),
    "case_event.stage": _cycle([Stage.DETAINED, Stage.COURT_ORDER, None]),
    "case_event.note": lambda i: "Анна (волонтёр)",
    "track.query": _person,
    "track.name_key": lambda i: names.surname_key(_person(i).split()[0]),
    "track.initial": lambda i: names.given_initial(_person(i).split()[1]),
    "member.role": _cycle(["admin", "coordinator", "volunteer"]),
    "outbox.dedup_key": lambda i: f"new:{i}:-100177{i:07d}",
    "outbox.kind": _cycle([OutboxKind.NEW_CARD, OutboxKind.ESCALATION,
                           OutboxKind.ADMIN_NOTICE]),
    "outbox.status": _cycle(["pending", "sent", "failed"]),
    "outbox.attempts": lambda i: i,
    "outbox.last_error": lambda i: "Forbidden: bot was kicked from the supergroup chat",
    "outbox.body": lambda i: "Лента news1.example.org приостановлена",
    "outbox.created_at": _at(1),
    "card_message.message_id": lambda i: 4_200 + i,
    "audit.action": _cycle(["feed.add", "case.claim", "member.grant"]),
    "audit.allowed": lambda i: i != 2,
    "chat.kind": _cycle(["alert", "private", "private"]),
    "chat.lang": _cycle(["ru", "en"]),
    "chat.active": lambda i: i != 2,
    "chat.inactive_reason": lambda i: "bot was blocked by the user",
    "chat.subscribed": lambda i: i > 0,
    "chat.filters": lambda i: {"countries": COUNTRIES[i % len(COUNTRIES)], "urgent": i == 2},
    "tg_user.username": lambda i: f"volunteer_{i}",
    "tg_user.name": lambda i: ("Анна", "Борис", "Вера")[i % 3],
    "chat_id": lambda i: -1_001_770_000_000 - i,
    "migrated_to": lambda i: -1_001_880_000_000 - i,
    "user_id": lambda i: 5_100_000_000 + i,
    "name": lambda i: ("Анна Смирнова", "Борис Ким", "Вера Ли")[i % 3],
}

# Columns added after a revision that old rows get a value for (everything else: NULL).
BACKFILL: dict[str, Callable[[dict[str, Any]], Any]] = {
    "feed.items_seen": lambda row: 0,                      # 0003: server default '0'
    "case_file.digest_pending": lambda row: False,         # 0005: server default false
    "case_file.stage_at": lambda row: row["updated"],      # 0005: data migration
    "case_file.urgent_since": lambda row: row["updated"] if row["urgent"] else None,
}


def _by_type(table: str, name: str, kind: sa.types.TypeEngine[Any], i: int) -> Any:
    salt = zlib.crc32(f"{table}.{name}".encode())
    if isinstance(kind, sa.Boolean):
        return i % 2 == 1
    if isinstance(kind, sa.DateTime):
        return BASE + timedelta(hours=i, minutes=salt % 60, microseconds=1_001 * i)
    if isinstance(kind, sa.JSON):
        return [f"{name}-{i}"]
    if isinstance(kind, sa.LargeBinary):
        return bytes([i, 0, 255]) + salt.to_bytes(4, "little")
    if isinstance(kind, sa.BigInteger):
        return 6_000_000_000 + 1_000 * i + salt % 1_000     # Telegram ids exceed 2**31
    if isinstance(kind, sa.Integer):
        return 10 * i + salt % 10
    if isinstance(kind, sa.String):                         # Text is a String too
        if kind.length is None:
            return f"{table}.{name} №{i}"
        return name[:kind.length - len(str(i))] + str(i)
    raise TypeError(f"no value generator for {table}.{name} of type {kind!r}: extend _by_type")


def _value(table: str, column: Any, i: int) -> Any:
    name, kind = column["name"], column["type"]
    make = REALISTIC.get(f"{table}.{name}") or REALISTIC.get(name)
    value = make(i) if make else _by_type(table, name, kind, i)
    if isinstance(value, str):
        value = str(value)   # enum members become plain strings
        length = getattr(kind, "length", None)
        assert length is None or len(value) <= length, f"{table}.{name}: {value!r} too long"
    return value


# ── databases ────────────────────────────────────────────────────────────────
def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sync_engine(path: Path) -> sa.Engine:
    """A plain synchronous engine, enforcing foreign keys so the test data is consistent."""
    engine = sa.create_engine(_url(path))

    @sa.event.listens_for(engine, "connect")
    def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return engine


def _upgrade(connection: sa.Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _version(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _migrate(path: Path) -> None:
    """The start-up migration exactly as the bot runs it."""
    engine = create_engine(_url(path))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _insert_order(inspector: sa.Inspector, tables: Collection[str]) -> list[str]:
    """Parents before children, from the reflected foreign keys (self references aside)."""
    graph = {t: sorted({fk["referred_table"] for fk in inspector.get_foreign_keys(t)} - {t})
             for t in sorted(tables)}
    return list(TopologicalSorter(graph).static_order())


def _fill(connection: sa.Connection, only: Callable[[str], bool] = lambda t: True) -> Snapshot:
    """Insert ``ROWS`` rows into every table (``only`` selects); return what was inserted.

    Row 0 leaves every nullable column NULL, the others fill every column. Integer
    primary keys are distinct per table; foreign keys point at the parent row of the same
    index (a self reference: the last row at the first).
    """
    inspector = sa.inspect(connection)
    tables = [t for t in inspector.get_table_names() if t != "alembic_version" and only(t)]
    metadata = sa.MetaData()
    metadata.reflect(connection, only=tables)
    inserted: Snapshot = {}
    keys: dict[str, list[str]] = {}
    for position, table in enumerate(_insert_order(inspector, tables), start=1):
        primary = inspector.get_pk_constraint(table)["constrained_columns"]
        foreign = {}
        for fk in inspector.get_foreign_keys(table):
            assert len(fk["constrained_columns"]) == 1, f"{table}: composite foreign key {fk}"
            foreign[fk["constrained_columns"][0]] = fk
        rows: Rows = []
        for i in range(ROWS):
            row: dict[str, Any] = {}
            for column in inspector.get_columns(table):
                name = column["name"]
                if name in foreign:
                    parent = foreign[name]["referred_table"]
                    target = foreign[name]["referred_columns"][0]
                    if parent == table:
                        assert column["nullable"], f"{table}.{name}: NOT NULL self reference"
                        row[name] = rows[0][target] if i == ROWS - 1 else None
                    elif column["nullable"] and i == 0:
                        row[name] = None
                    else:
                        row[name] = inserted[parent][i][target]
                elif column["nullable"] and i == 0:
                    row[name] = None
                elif (primary == [name] and isinstance(column["type"], sa.Integer)
                      and f"{table}.{name}" not in REALISTIC and name not in REALISTIC):
                    row[name] = 100 * position + i + 1
                else:
                    row[name] = _value(table, column, i)
            rows.append(row)
        connection.execute(metadata.tables[table].insert(), rows)
        inserted[table] = rows
        keys[table] = primary
    return {t: sorted(({k: _utc(v) for k, v in row.items()} for row in rows),
                      key=lambda row, t=t: tuple(row[k] for k in keys[t]))   # as read back
            for t, rows in inserted.items()}


def _snapshot(connection: sa.Connection) -> tuple[Snapshot, Nullable]:
    """Every row of every table in primary-key order (datetimes in UTC), and the columns."""
    inspector = sa.inspect(connection)
    metadata = sa.MetaData()
    metadata.reflect(connection)
    rows: Snapshot = {}
    nullable: Nullable = {}
    for name, table in sorted(metadata.tables.items()):
        if name == "alembic_version":
            continue
        result = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        rows[name] = [{k: _utc(v) for k, v in r.items()} for r in result.mappings()]
        nullable[name] = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
    return rows, nullable


def _read(path: Path) -> tuple[Snapshot, Nullable, str | None]:
    engine = sa.create_engine(_url(path))
    try:
        with engine.connect() as connection:
            return (*_snapshot(connection), _version(connection))
    finally:
        engine.dispose()


def _prepare(path: Path, revision: str) -> Snapshot:
    """An SQLite file at exactly ``revision`` with rows in every table; returns its rows."""
    engine = _sync_engine(path)
    try:
        with engine.begin() as connection:
            _upgrade(connection, revision)
        with engine.begin() as connection:
            inserted = _fill(connection)
        with engine.connect() as connection:
            before, _ = _snapshot(connection)
            assert _version(connection) == revision
    finally:
        engine.dispose()
    assert before == inserted, "the rows read back differ from the rows inserted"
    assert all(len(rows) == ROWS for rows in before.values())
    return before


def _differences(before: Snapshot, after: Snapshot, nullable: Nullable) -> list[str]:
    """What a migration lost or changed: rows, values, new columns' defaults, new tables."""
    problems: list[str] = []
    for table, old_rows in before.items():
        new_rows = after.get(table)
        if new_rows is None:
            problems.append(f"table {table} is gone")
            continue
        if len(new_rows) != len(old_rows):
            problems.append(f"{table}: {len(old_rows)} rows became {len(new_rows)}")
            continue
        for old, new in zip(old_rows, new_rows, strict=True):
            where = f"{table} row {next(iter(old.values()))!r}"
            for column, value in old.items():
                if column not in new:
                    problems.append(f"{where}: column {column} is gone")
                elif new[column] != value:
                    problems.append(f"{where}: {column} {value!r} became {new[column]!r}")
            for column in sorted(new.keys() - old.keys()):
                fill = BACKFILL.get(f"{table}.{column}")
                if fill is None and not nullable[table][column]:
                    problems.append(f"new NOT NULL column {table}.{column}: add what old rows "
                                    "get to BACKFILL")
                    continue
                expected = fill(new) if fill else None
                if new[column] != expected:
                    problems.append(f"{where}: new column {column} is {new[column]!r}, "
                                    f"expected {expected!r}")
    for table in sorted(after.keys() - before.keys()):
        if after[table]:
            problems.append(f"new table {table} is not empty: {after[table]!r}")
    return problems


def _assert_same(before: Snapshot, after: Snapshot, nullable: Nullable) -> None:
    problems = _differences(before, after, nullable)
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:30])


async def _check_store(path: Path, db: Snapshot) -> None:
    """The repository opens the migrated file and reads back exactly the stored rows."""
    store = await Store.open(_url(path))
    try:
        feed_fields = [f.name for f in dataclasses.fields(FeedInfo)]
        assert [dataclasses.asdict(f) for f in await store.list_feeds()] == [
            {k: row[k] for k in feed_fields} for row in db["feed"]]

        for case in db["case_file"]:
            view = await store.get_case(case["id"])
            assert view is not None, f"case {case['id']} not found"
            same = ("id", "kind", "stage", "urgent", "person_key", "first_seen", "updated",
                    "court", "status", "stage_at", "claimed_by_id")
            assert {k: getattr(view, k) for k in same} == {k: case[k] for k in same}
            assert (view.persons, view.countries, view.claimed_by) == (
                tuple(case["persons"]), tuple(case["countries"]), case["claimed_by_name"])
            sources = sorted((i for i in db["item"] if i["case_id"] == case["id"]
                              and i["duplicate_of_id"] is None),
                             key=lambda i: (i["first_seen"], i["id"]))
            item_fields = [f.name for f in dataclasses.fields(ItemView)]
            assert [dataclasses.asdict(i) for i in view.items] == [
                {k: i[k] for k in item_fields} for i in sources]
            assert [(e.at, e.change, e.stage, e.user) for e in view.events] == [
                (e["at"], e["change"], e["stage"], e["note"])
                for e in db["case_event"] if e["case_id"] == case["id"]]

        assert [i.id for i in await store.items()] == [i["id"] for i in db["item"]]
        assert [(t.id, t.query, t.owner_id) for t in await store.list_tracks()] == [
            (t["id"], t["query"], t["owner_id"]) for t in db["track"]]
        assert await store.members() == sorted((m["user_id"], m["role"]) for m in db["member"])
        assert await store.audit_log() == [
            (a["user_id"], a["action"], a["allowed"]) for a in reversed(db["audit"])]

        summary = await store.status_summary(NOW)
        outbox, feeds, cases = db["outbox"], db["feed"], db["case_file"]
        statuses = [m["status"] for m in outbox]
        polls = [t for f in feeds for t in (f["last_success_at"], f["last_error_at"]) if t]
        assert summary.outbox == {s: statuses.count(s) for s in set(statuses)}
        assert summary.failed_last_day == sum(
            m["status"] == "failed" and m["created_at"] >= NOW - timedelta(days=1)
            for m in outbox)
        assert summary.feeds == len(feeds)
        assert summary.feeds_paused == sum(f["paused"] for f in feeds)
        assert summary.feeds_failing == sum(
            bool(f["consecutive_failures"]) and not f["paused"] for f in feeds)
        assert summary.last_poll_at == max(polls, default=None)
        assert summary.open_cases == sum(c["status"] == "open" for c in cases)
        assert summary.urgent_unclaimed == sum(
            c["status"] == "open" and c["urgent"] and c["claimed_by_id"] is None for c in cases)
        assert summary.inactive_chats == tuple(
            (c["chat_id"], c["inactive_reason"] or "") for c in db.get("chat", [])
            if not c["active"])
    finally:
        await store.close()


def _check_file(path: Path, db: Snapshot) -> None:
    """The file itself: WAL mode, intact, foreign keys consistent, every row on disk."""
    assert path.exists()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not {t for t in tables if t.startswith("_alembic_tmp")}, "leftover batch table"
        for table, rows in db.items():
            count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            assert count == len(rows), f"{table}: {count} rows on disk, {len(rows)} read"


# ── tests ────────────────────────────────────────────────────────────────────
def test_history_is_linear_and_every_revision_is_covered() -> None:
    """Alembic's history is one line 0001 → head and REVISIONS here lists all of it."""
    script = ScriptDirectory.from_config(alembic_config())
    known = {r.revision for r in script.walk_revisions()}
    assert known == set(REVISIONS), (
        f"revisions without migration tests: {sorted(known - set(REVISIONS))}; gone: "
        f"{sorted(set(REVISIONS) - known)} — update REVISIONS (and BACKFILL, REALISTIC) in "
        "tests/test_migrations.py")
    assert script.get_heads() == [HEAD], f"branched history, heads {script.get_heads()}"
    assert script.get_bases() == [REVISIONS[0]], f"several bases {script.get_bases()}"
    for previous, revision in zip((None, *REVISIONS[:-1]), REVISIONS, strict=True):
        down = script.get_revision(revision).down_revision
        assert down == previous, f"{revision} revises {down!r}, expected {previous!r}"


@pytest.mark.parametrize("revision", [pytest.param(r, id=f"from-{r}", marks=_crossing(r))
                                      for r in EARLIER])
async def test_upgrade_to_head_keeps_every_row(tmp_path: Path, revision: str) -> None:
    """Rows of every table at an earlier revision survive `migrate` to head unchanged."""
    path = tmp_path / "dw.db"
    before = _prepare(path, revision)

    await _migrate(path)

    after, nullable, version = _read(path)
    assert version == HEAD
    _assert_same(before, after, nullable)
    await _check_store(path, after)
    _check_file(path, after)


@pytest.mark.parametrize(("start", "target"), [
    pytest.param(a, b, id=f"{a}-to-{b}", marks=_crossing(a, b))
    for a, b in itertools.pairwise(REVISIONS)])
async def test_each_step_keeps_every_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        start: str, target: str) -> None:
    """One step through the project's `migrate` (stopped at its target) keeps every row."""
    path = tmp_path / "dw.db"
    before = _prepare(path, start)

    upgrade = command.upgrade
    monkeypatch.setattr(command, "upgrade",
                        lambda cfg, _head, **kw: upgrade(cfg, target, **kw))
    await _migrate(path)

    after, nullable, version = _read(path)
    assert version == target
    _assert_same(before, after, nullable)


@pytest.mark.parametrize("revision", [
    pytest.param("0004", id=f"{HEAD}-to-0004-and-back", marks=_crossing("0004"))])
async def test_downgrade_and_back_keeps_rows(tmp_path: Path, revision: str) -> None:
    """Head → 0004 (the alembic CLI path) → head keeps the rows of tables both versions have."""
    path = tmp_path / "dw.db"
    await _migrate(path)
    engine = _sync_engine(path)
    try:
        with engine.begin() as connection:
            _fill(connection)
        with engine.connect() as connection:
            at_head, _ = _snapshot(connection)
    finally:
        engine.dispose()

    cfg = alembic_config()
    cfg.set_main_option("sqlalchemy.url", _url(path))   # as `alembic downgrade 0004` runs
    command.downgrade(cfg, revision)

    at_0004, nullable_0004, version = _read(path)
    assert version == revision
    kept = {table: [{k: v for k, v in row.items() if k in nullable_0004[table]} for row in rows]
            for table, rows in at_head.items() if table in at_0004}
    _assert_same(kept, at_0004, nullable_0004)

    await _migrate(path)

    after, nullable, version = _read(path)
    assert version == HEAD
    _assert_same(at_0004, after, nullable)
    await _check_store(path, after)
    _check_file(path, after)


async def test_failed_upgrade_leaves_database_as_it_was(tmp_path: Path) -> None:
    """An upgrade failing half-way (disk error) leaves schema, version and rows; a retry works."""
    path = tmp_path / "dw.db"
    engine = _sync_engine(path)
    try:
        with engine.begin() as connection:
            _upgrade(connection, "0004")
        with engine.begin() as connection:   # no row references a case: the FK defect
            # of 0005 stays out of the way, the failure below is the only one
            _fill(connection, only=lambda t: not sa.inspect(connection).get_foreign_keys(t))
        with engine.connect() as connection:
            before, _ = _snapshot(connection)
    finally:
        engine.dispose()

    failing = create_engine(_url(path))

    @sa.event.listens_for(failing.sync_engine, "before_cursor_execute")
    def _disk_error(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("UPDATE case_file SET stage_at"):   # 0005's last step
            raise sqlite3.OperationalError("disk I/O error (injected by the test)")

    try:
        with pytest.raises(StorageError, match="injected"):
            await migrate(failing)
    finally:
        await failing.dispose()

    after, _, version = _read(path)
    assert version == "0004"
    assert set(after) == set(before), (
        f"a failed upgrade left tables behind: {sorted(set(after) - set(before))}")
    assert after == before

    await _migrate(path)   # the next start-up
    after, nullable, version = _read(path)
    assert version == HEAD
    _assert_same(before, after, nullable)
