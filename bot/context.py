"""What handlers and jobs share: the ``Services`` bundle in ``bot_data``, and
``authorize`` — the one place that decides whether a command or button may run.

Every state-changing command and every button press is audited, allowed or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telegram import Message, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.ext import ContextTypes

from bot.cards import split_messages
from bot.i18n import lang_of, t
from bot.roles import Access, Role, decide_role
from bot.settings import Settings
from storage import Store

log = logging.getLogger(__name__)
GROUP_ANONYMOUS_BOT = 1087968824   # "Group" — the sender of anonymous admins' messages


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _no_admins(_chat: int) -> frozenset[int]:
    return frozenset()


async def _not_member(_chat: int, _user: int) -> bool:
    return False


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    nudge_poll: Callable[[], None] = lambda: None
    nudge_delivery: Callable[[], None] = lambda: None
    access: Access = field(default_factory=lambda: Access(_no_admins, _not_member))
    groups: tuple[int, ...] = ()        # active alert chats (after any supergroup move)

    @property
    def alert_groups(self) -> tuple[int, ...]:
        configured = (self.settings.alert_chat_id,) if self.settings.alert_chat_id else ()
        return self.groups or configured


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data["services"]
    assert isinstance(found, Services)
    return found


@dataclass(frozen=True)
class Caller:
    """An authorised command or button press: who, where, in which language."""

    svc: Services
    message: Message | None
    user: User
    role: Role
    chat_id: int
    private: bool
    lang: str

    async def say(self, key: str, *, html: bool = False, **values: object) -> None:
        """Reply in the caller's chat with text ``key``."""
        await self.reply(t(self.lang, key, **values), html=html)

    async def reply_lines(self, lines: Sequence[str]) -> None:
        """Reply with HTML lines, in as many messages as Telegram's limit needs."""
        for part in split_messages(lines):
            await self.reply(part, html=True)

    async def reply(self, text: str, *, html: bool = False) -> None:
        if self.message is not None:
            await self.message.reply_text(text, parse_mode=ParseMode.HTML if html else None,
                                          disable_web_page_preview=True)


async def chat_lang(svc: Services, chat_id: int, user: User | None) -> str:
    stored = await svc.store.chat_lang(chat_id)
    if stored:
        return stored
    if user is not None and chat_id == user.id:
        return lang_of(user.language_code, svc.settings.lang)
    return svc.settings.lang


async def role_of(svc: Services, user_id: int, *, chat_id: int | None = None,
                  sender_chat_id: int | None = None) -> Role:
    """The user's role; asks Telegram (cached) only when settings and grants say less.

    ``chat_id`` is where the user *wrote* a message: writing in the alert group proves
    membership. A button press proves nothing (a public group's buttons can be pressed
    by anyone who views it), so for those Telegram is asked."""
    groups = svc.alert_groups
    if user_id == GROUP_ANONYMOUS_BOT:
        # Only administrators can post as the group itself.
        return Role.ADMIN if sender_chat_id is not None and sender_chat_id in groups \
            else Role.NONE
    granted = await svc.store.member_role(user_id)
    role = decide_role(user_id, svc.settings, granted)
    if role is Role.ADMIN or await svc.access.group_admin(user_id, groups):
        return Role.ADMIN
    if role is not Role.NONE:
        return role
    subscribed = await svc.store.subscription(user_id) is not None
    member = chat_id in groups or (not subscribed and await svc.access.member(user_id, groups))
    return decide_role(user_id, svc.settings, granted, member=member, subscribed=subscribed)


async def sweep_subscribers(svc: Services) -> int:
    """End the private subscriptions of people who are no longer volunteers: not in the
    alert group, and no role from settings or grants (a volunteer removed from the
    group stops getting cards within one sweep). Returns how many ended; a user
    Telegram cannot answer about keeps the subscription until the next sweep."""
    ended = 0
    for chat_id, user_id in await svc.store.subscribers():
        uid = user_id if user_id is not None else chat_id
        if decide_role(uid, svc.settings, await svc.store.member_role(uid)) is not Role.NONE:
            continue
        try:
            if await svc.access.member(uid, svc.alert_groups, strict=True):
                continue
        except Exception as exc:   # Telegram unreachable: decide next time
            log.warning("cannot check a subscriber's membership user_id=%s error=%s", uid, exc)
            continue
        if await svc.store.unsubscribe(chat_id, svc.clock()):
            await svc.store.audit(user_id=uid, action="auto-unsubscribe",
                                  detail="no longer in the alert group", allowed=True,
                                  now=svc.clock())
            ended += 1
    return ended


async def authorize(update: Update, context: ContextTypes.DEFAULT_TYPE, needed: Role,
                    action: str, *, audit: bool = True) -> Caller | None:
    """Check the sender's role by user id; refuse in one line; audit either way.

    Returns the caller when allowed, None when refused (the refusal is already sent,
    as a message for commands and as a pop-up for buttons).
    """
    svc = services(context)
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is None or chat is None:
        return None
    query = update.callback_query
    sender_chat = message.sender_chat.id if message is not None and message.sender_chat \
        and query is None else None
    role = await role_of(svc, user.id, chat_id=chat.id if query is None else None,
                         sender_chat_id=sender_chat)
    allowed = role >= needed
    lang = await chat_lang(svc, chat.id, user)
    if audit or not allowed:
        detail = (query.data if query else message.text if message else "") or ""
        await svc.store.audit(user_id=user.id, action=action, detail=detail[:500],
                              allowed=allowed, now=svc.clock())
    if not allowed:
        text = t(lang, "refused", action=action, needed=t(lang, f"role_{needed.name.lower()}"),
                 role=t(lang, f"role_{role.name.lower()}"))
        if query is not None:
            await query.answer(text[:200], show_alert=True)
        elif message is not None:
            await message.reply_text(text)
        return None
    return Caller(svc=svc, message=message if query is None else None, user=user, role=role,
                  chat_id=chat.id, private=chat.type == ChatType.PRIVATE, lang=lang)
