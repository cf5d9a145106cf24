"""SQLModel tables. Dialect-neutral (SQLite by default, PostgreSQL with the same models).

Uniqueness constraints carry the idempotency guarantees:

- ``item.url_hash`` unique: the same canonical URL is stored once, however often it
  is polled or by however many feeds;
- ``outbox.dedup_key`` unique: the same message for the same case change is queued
  once, so a re-run of the pipeline after a crash cannot queue it again;
- ``card_message (case_id, chat_id)`` unique: one posted card per case per chat.

``item_band`` indexes the MinHash band keys of kept items (``feeds.neardup``), so a
syndicated copy finds its original with one indexed query.

Timestamps are stored timezone-aware in UTC (SQLite returns them naive; ``repo``
re-attaches UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable,
                                                index=index))


class FeedRow(SQLModel, table=True):
    __tablename__ = "feed"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    kind: str = Field(default="rss", max_length=16)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    interval_seconds: int = Field(default=300)
    paused: bool = Field(default=False)
    next_poll_at: datetime | None = _ts(index=True)
    leased_until: datetime | None = _ts()    # a poller is refreshing it (see Store.due_feeds)
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, sa_column=Column(Text))
    last_success_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_at: datetime | None = _ts()
    consecutive_failures: int = Field(default=0)
    items_seen: int = Field(default=0)
    selector: str | None = Field(default=None, sa_column=Column(Text))   # pages: CSS
    paused_reason: str | None = Field(default=None, sa_column=Column(Text))
    added_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime | None = _ts()


class CaseRow(SQLModel, table=True):
    __tablename__ = "case_file"

    id: int | None = Field(default=None, primary_key=True)
    person_key: str = Field(index=True, max_length=128)
    person_given: str = Field(default="", max_length=8)
    kind: str | None = Field(default=None, max_length=16)
    stage: str | None = Field(default=None, max_length=32)
    urgent: bool = Field(default=False)
    status: str = Field(default="open", max_length=16, index=True)
    persons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claimed_by_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    claimed_by_name: str | None = Field(default=None, sa_column=Column(Text))
    court: str | None = Field(default=None, sa_column=Column(Text))
    first_seen: datetime | None = _ts(nullable=False)
    updated: datetime | None = _ts(nullable=False)
    stage_at: datetime | None = _ts()          # when the current stage was first reported
    urgent_since: datetime | None = _ts()      # when the case first became urgent
    claimed_at: datetime | None = _ts()
    reannounced_at: datetime | None = _ts()    # the one "nobody took it" re-announcement
    digest_pending: bool = Field(default=False)  # waiting for the daily digest
    closed_by_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    closed_at: datetime | None = _ts()


class ItemRow(SQLModel, table=True):
    __tablename__ = "item"

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int | None = Field(default=None, foreign_key="feed.id", index=True,
                                ondelete="SET NULL")
    url: str = Field(sa_column=Column(Text, nullable=False))
    url_hash: str = Field(max_length=64, unique=True)
    guid: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(max_length=64, index=True)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    source: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    lang: str = Field(default="und", max_length=8)
    published: datetime | None = _ts()
    first_seen: datetime | None = _ts(nullable=False, index=True)
    relevant: bool = Field(default=False)
    kind: str | None = Field(default=None, max_length=16)
    stage: str | None = Field(default=None, max_length=32)
    urgent: bool = Field(default=False)
    persons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    person_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    duplicate_of_id: int | None = Field(default=None, foreign_key="item.id")
    court: str | None = Field(default=None, sa_column=Column(Text))
    dates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=True))
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class ItemBandRow(SQLModel, table=True):
    """MinHash LSH band keys of kept items: the near-duplicate candidate index."""

    __tablename__ = "item_band"

    id: int | None = Field(default=None, primary_key=True)
    band: str = Field(max_length=24, index=True)
    item_id: int = Field(foreign_key="item.id", index=True, ondelete="CASCADE")


class CaseEventRow(SQLModel, table=True):
    """The stage history of a case: one row per item that joined it."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id")
    change: str = Field(max_length=16)
    stage: str | None = Field(default=None, max_length=32)
    at: datetime | None = _ts(nullable=False)
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger))  # people's actions
    note: str | None = Field(default=None, sa_column=Column(Text))


class TrackRow(SQLModel, table=True):
    __tablename__ = "track"
    __table_args__ = (UniqueConstraint("owner_id", "query"),)

    id: int | None = Field(default=None, primary_key=True)
    query: str = Field(sa_column=Column(Text, nullable=False))
    name_key: str = Field(max_length=128, index=True)
    initial: str = Field(default="", max_length=8)
    owner_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime | None = _ts()


class MemberRow(SQLModel, table=True):
    """Roles granted inside the bot (settings grant the rest)."""

    __tablename__ = "member"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    role: str = Field(max_length=16)
    name: str | None = Field(default=None, sa_column=Column(Text))
    granted_by: int | None = Field(default=None, sa_column=Column(BigInteger))
    granted_at: datetime | None = _ts()


class ChatRow(SQLModel, table=True):
    """A chat the bot writes to: the alert group(s) and volunteers' private chats.

    ``kind`` is ``alert`` (from DEPORTWATCH_ALERT_CHAT_ID) or ``private``; ``migrated_to``
    follows a group that became a supergroup; an inactive chat (bot removed or
    blocked) receives nothing until it speaks to the bot again.
    """

    __tablename__ = "chat"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(default="private", max_length=16)
    lang: str | None = Field(default=None, max_length=8)
    active: bool = Field(default=True)
    inactive_reason: str | None = Field(default=None, sa_column=Column(Text))
    migrated_to: int | None = Field(default=None, sa_column=Column(BigInteger))
    subscribed: bool = Field(default=False)
    filters: dict[str, Any] = Field(default_factory=dict,
                                    sa_column=Column(JSON, nullable=False))
    muted_until: datetime | None = _ts()
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    updated_at: datetime | None = _ts()


class UserRow(SQLModel, table=True):
    """Telegram users the bot has seen: their name for cards and ``@username`` for /assign."""

    __tablename__ = "tg_user"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    username: str | None = Field(default=None, max_length=64, index=True)  # lower case
    name: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    last_seen: datetime | None = _ts()


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)
    case_id: int | None = Field(default=None, foreign_key="case_file.id", index=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    body: str | None = Field(default=None, sa_column=Column(Text))   # admin notices
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _ts()
    leased_until: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = _ts(nullable=False)
    sent_at: datetime | None = _ts()


class CardMessageRow(SQLModel, table=True):
    __tablename__ = "card_message"
    __table_args__ = (UniqueConstraint("case_id", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    sent_at: datetime | None = _ts()


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime | None = _ts(nullable=False)
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    action: str = Field(max_length=64)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    allowed: bool = Field(default=True)
