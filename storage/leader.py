"""Which instance receives Telegram updates, when several share one database.

Telegram allows one ``getUpdates`` poller per bot token; two would answer each other
with 409 Conflict and could each see a part of the commands. ``UpdatesLock`` decides
with PostgreSQL's own mechanism: a session-level advisory lock, held on a connection
of its own for as long as the instance lives. When the instance dies, its connection
closes and PostgreSQL releases the lock at once (a host that vanishes without closing
its socket is noticed by TCP keepalives, set in ``storage.db``, in about 25 s); the
other instances try again every few seconds, so one of them takes over.

On SQLite (the embedded default, one instance) the lock is always held.

Owns the lock's connection and nothing else; the decision to start or stop polling
is the service's (``bot.service``). Must not import telegram.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(f"deportwatch:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class UpdatesLock:
    """``await lock.hold()`` — try to hold the lock (or check it is still held); returns
    whether this instance holds it now. Safe to call every few seconds."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.engine = engine
        self.key = lock_key(name)
        self._conn: AsyncConnection | None = None
        self._alone = engine.dialect.name != "postgresql"    # SQLite: the only instance
        self.held = self._alone

    async def hold(self) -> bool:
        if self._alone:
            return True
        try:
            if self._conn is not None and self.held:
                await self._conn.execute(text("SELECT 1"))      # still connected = held
                return True
            if self._conn is None:
                conn = await self.engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = (await self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                            {"k": self.key})).scalar()
            self.held = bool(got)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("lost the connection holding the updates lock: %s", exc)
            await self._drop()
        return self.held

    async def release(self) -> None:
        """Give the lock up (on a clean stop, so another instance takes over at once)."""
        if self._conn is not None and self.held:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except (SQLAlchemyError, OSError) as exc:
                log.warning("could not release the updates lock: %s", exc)
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.held = self._alone
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except (SQLAlchemyError, OSError):
                pass
