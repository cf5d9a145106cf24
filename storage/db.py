"""Engine set-up and migrations.

Owns turning ``DATABASE_URL`` into an async engine (``sqlite:///`` →
``sqlite+aiosqlite:///``, ``postgresql://`` → ``postgresql+psycopg://``), SQLite
pragmas (WAL, busy timeout, foreign keys), creating the SQLite file's folder, and
applying Alembic migrations at start-up (``migrate``), which also works for the
throw-away in-memory database of ``scan`` because the migration runs on the very
connection the engine shares.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from feeds.errors import StorageError

MEMORY_URL = "sqlite://"
# SQLite has one writer at a time, so a few connections serve as well as SQLAlchemy's
# default 5 + 10 — and each aiosqlite connection is a thread with its own page cache.
SQLITE_POOL = {"pool_size": 3, "max_overflow": 3}
# PostgreSQL: a server that vanishes without closing the socket is noticed in about
# 10 + 3 × 5 s (the updates lock of a dead instance is then free, see storage.leader).
PG_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                "keepalives_count": 3}
PG_ENGINE = {"connect_args": PG_KEEPALIVE, "pool_pre_ping": True}
MIGRATE_LOCK = 0x6465706f7274   # advisory lock: instances starting together migrate in turn
SQLITE_BUSY_MS = 10_000    # how long a connection waits for another's write lock
# The execution option that marks a synchronous-engine transaction as reads only: on
# SQLite it begins deferred (a WAL reader takes no lock and waits for no writer).
READ_ONLY = "deportwatch_read_only"
SQLITE_CACHE_KIB = 512      # page cache per connection (SQLite's default: 2,000 KiB); the
                            # OS page cache holds the file anyway, this is per connection


def async_url(url: str) -> str:
    """Map a plain database URL to its async driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"DATABASE_URL is not a database URL: {url!r}") from exc
    driver = parsed.drivername
    if driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif driver not in ("sqlite+aiosqlite", "postgresql+psycopg", "postgresql+asyncpg"):
        raise StorageError(f"DATABASE_URL uses an unsupported driver {driver!r} "
                           "(use sqlite:/// or postgresql://)")
    return parsed.render_as_string(hide_password=False)


def is_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def create_engine(url: str) -> AsyncEngine:
    """An async engine with SQLite pragmas applied on every new connection."""
    aurl = async_url(url)
    kwargs: dict[str, Any] = {}
    if is_memory(url):
        # One shared connection, or every session would see its own empty database.
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif make_url(aurl).get_backend_name() == "sqlite":
        database = make_url(aurl).database
        if database:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(SQLITE_POOL)
    else:
        kwargs.update(PG_ENGINE)
    engine = create_async_engine(aurl, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(wal=not is_memory(url)))
    return engine


def create_sync_engine(url: str) -> Engine:
    """A synchronous engine on the same file or server database, for the ingest
    transaction run in worker threads (``storage.ingest``). Not for in-memory SQLite,
    whose one connection belongs to the async engine.

    On SQLite its transactions start with ``BEGIN IMMEDIATE``: they always write, and
    a deferred transaction that read first cannot take the write lock once another
    connection has committed (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not
    wait out); taking the lock up front makes concurrent writers queue instead. A
    connection with the ``READ_ONLY`` execution option (``engine.execution_options``)
    begins deferred instead: it only reads, so it need not wait for a writer."""
    if is_memory(url):
        raise StorageError("an in-memory database has no second connection")
    surl = make_url(async_url(url))
    driver = {"sqlite+aiosqlite": "sqlite+pysqlite"}.get(surl.drivername, surl.drivername)
    sqlite_db = surl.get_backend_name() == "sqlite"
    engine = sa_create_engine(surl.set(drivername=driver), **(
        SQLITE_POOL if sqlite_db else PG_ENGINE))
    if sqlite_db:
        event.listen(engine, "connect", _sqlite_pragmas(wal=True, manual_begin=True))

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            reads_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")
    return engine


def _sqlite_pragmas(*, wal: bool, manual_begin: bool = False) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if manual_begin:        # the driver must not open transactions itself
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
    return on_connect


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` on this engine's database, as one
    transaction. On SQLite two things make that so: the driver, which opens no
    transaction for DDL by itself, is switched to explicit transactions for the
    migration (so a failure leaves no half-made tables), and foreign-key checks are
    off while tables are rebuilt (batch mode copies a table, drops the original and
    renames the copy, which rows of other tables point at); the whole database is
    checked with ``PRAGMA foreign_key_check`` before the migration commits."""
    sqlite_db = engine.dialect.name == "sqlite"

    def upgrade(connection: Connection) -> None:
        if sqlite_db:
            connection.exec_driver_sql("BEGIN")
        elif connection.dialect.name == "postgresql":
            # Two instances started at once: the second waits here, then finds the
            # schema at head and does nothing. Released at commit.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK})")
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise StorageError(f"the migration broke {len(broken)} foreign keys, "
                                   f"e.g. {tuple(broken[0])}; nothing was changed")

    try:
        async with engine.connect() as conn:
            if sqlite_db:   # outside any transaction
                driver = await _driver(conn)
                driver.isolation_level = None
                await driver.execute("PRAGMA foreign_keys=OFF")
            try:
                async with conn.begin():
                    await conn.run_sync(upgrade)
            finally:
                if sqlite_db:
                    await driver.execute("PRAGMA foreign_keys=ON")
                    driver.isolation_level = ""    # the driver's default again
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot migrate the database: {exc}") from exc


async def _driver(conn: AsyncConnection) -> Any:
    """The driver's own connection (aiosqlite) under a SQLAlchemy connection."""
    raw = await conn.get_raw_connection()
    assert raw.driver_connection is not None
    return raw.driver_connection
