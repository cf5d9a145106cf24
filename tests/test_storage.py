"""Storage set-up: migrations match the models, SQLite runs in WAL mode, URLs map to drivers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from feeds.errors import StorageError
from storage import Store
from storage.db import async_url


async def test_migrations_create_exactly_the_models(tmp_path: Path) -> None:
    """After migrating a new database, autogenerate finds no difference to the models."""
    store = await Store.open(f"sqlite:///{tmp_path / 'sub' / 'dw.db'}")
    try:
        def diff(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))

        async with store.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await store.close()


async def test_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    """The SQLite file and its folder are created on first open, in WAL mode."""
    path = tmp_path / "data" / "dw.db"
    store = await Store.open(f"sqlite:///{path}")
    await store.close()
    assert path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feed", "item", "case_file", "track", "member", "outbox", "card_message",
            "audit", "alembic_version"} <= tables


async def test_reopening_is_idempotent(tmp_path: Path) -> None:
    """Opening an already migrated database again changes nothing and keeps the data."""
    from datetime import UTC, datetime

    from feeds.models import FeedKind

    url = f"sqlite:///{tmp_path / 'dw.db'}"
    store = await Store.open(url)
    await store.add_feed("https://example.org/rss", FeedKind.RSS, 300, added_by=1,
                         now=datetime(2026, 1, 1, tzinfo=UTC))
    await store.close()
    store = await Store.open(url)
    try:
        assert [f.url for f in await store.list_feeds()] == ["https://example.org/rss"]
    finally:
        await store.close()


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
    ("sqlite://", "sqlite+aiosqlite://"),
    ("postgresql://u@127.0.0.1/test", "postgresql+psycopg://u@127.0.0.1/test"),
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
], ids=["sqlite-file", "sqlite-memory", "postgresql", "postgres-alias"])
def test_async_driver_mapping(url: str, expected: str) -> None:
    """Plain database URLs are mapped to their async drivers."""
    assert async_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"], ids=["mysql", "garbage"])
def test_unsupported_database_url(url: str) -> None:
    """Unsupported or malformed URLs are a StorageError naming DATABASE_URL."""
    with pytest.raises(StorageError, match="DATABASE_URL"):
        async_url(url)
