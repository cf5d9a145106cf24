"""What handlers and jobs share: the ``Services`` bundle stored in ``bot_data``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import Message, Update, User
from telegram.ext import ContextTypes

from bot.roles import Role, decide_role
from bot.settings import Settings
from storage import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    nudge_poll: Callable[[], None] = lambda: None
    nudge_delivery: Callable[[], None] = lambda: None


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data["services"]
    assert isinstance(found, Services)
    return found


@dataclass(frozen=True)
class Caller:
    """An authorised command: who sent it, where to answer, and the services."""

    svc: Services
    message: Message
    user: User
    role: Role


async def authorize(update: Update, context: ContextTypes.DEFAULT_TYPE, needed: Role,
                    action: str) -> Caller | None:
    """Check the sender's role by user id; refuse in one line and audit either way.

    Returns the caller when allowed, None when refused (the refusal is already sent).
    """
    svc = services(context)
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return None
    role = decide_role(user.id, svc.settings, await svc.store.member_role(user.id))
    allowed = role >= needed
    await svc.store.audit(user_id=user.id, action=action, detail=(message.text or "")[:500],
                          allowed=allowed, now=svc.clock())
    if not allowed:
        await message.reply_text(
            f"Refused: {action} needs the {needed.name.lower()} role "
            f"(you are a {role.name.lower()}). Nothing was changed.")
        return None
    return Caller(svc=svc, message=message, user=user, role=role)
