"""What handlers and jobs share: the ``Services`` bundle stored in ``bot_data``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import Update
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


async def require(update: Update, context: ContextTypes.DEFAULT_TYPE, needed: Role,
                  action: str) -> bool:
    """Check the sender's role; refuse in one line and audit either way."""
    svc = services(context)
    user = update.effective_user
    if user is None or update.effective_message is None:
        return False
    role = decide_role(user.id, svc.settings, await svc.store.member_role(user.id))
    allowed = role >= needed
    await svc.store.audit(user_id=user.id, action=action,
                          detail=(update.effective_message.text or "")[:500], allowed=allowed,
                          now=svc.clock())
    if not allowed:
        await update.effective_message.reply_text(
            f"Refused: {action} needs the {needed.name.lower()} role "
            f"(you are a {role.name.lower()}). Nothing was changed.")
    return allowed
