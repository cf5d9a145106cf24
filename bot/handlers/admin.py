"""Admins' commands about people and the service: ``/grant``, ``/revoke``, ``/status``."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.cards import when
from bot.context import authorize
from bot.i18n import t
from bot.roles import GRANTABLE


def _user_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < len(text) <= 15 else None


async def cmd_grant(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, GRANTABLE["admin"], "/grant")
    if caller is None:
        return
    args = list(context.args or [])
    user = _user_id(args[0]) if args else None
    if len(args) != 2 or user is None or args[1].lower() not in GRANTABLE:
        await caller.say("grant_usage")
        return
    role = args[1].lower()
    await caller.svc.store.grant(user, role, by=caller.user.id, now=caller.svc.clock())
    await caller.say("granted", user=user, role=t(caller.lang, f"role_{role}"))


async def cmd_revoke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, GRANTABLE["admin"], "/revoke")
    if caller is None:
        return
    args = list(context.args or [])
    user = _user_id(args[0]) if len(args) == 1 else None
    if user is None:
        await caller.say("revoke_usage")
        return
    role = await caller.svc.store.revoke(user)
    if role is None:
        await caller.say("nothing_to_revoke", user=user)
    else:
        await caller.say("revoked", user=user, role=t(caller.lang, f"role_{role}"))


async def cmd_status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, GRANTABLE["admin"], "/status", audit=False)
    if caller is None:
        return
    lang = caller.lang
    s = await caller.svc.store.status_summary(caller.svc.clock())
    lines = [t(lang, "status", pending=s.outbox.get("pending", 0),
               sending=s.outbox.get("sending", 0), sent=s.outbox.get("sent", 0),
               failed=s.outbox.get("failed", 0), failed_day=s.failed_last_day,
               last_poll=when(s.last_poll_at) if s.last_poll_at else t(lang, "never"),
               feeds=s.feeds, paused=s.feeds_paused, failing=s.feeds_failing,
               open=s.open_cases, urgent=s.urgent_unclaimed)]
    if s.last_failure:
        lines.append(t(lang, "last_failure", error=escape(s.last_failure[:300])))
    lines += [t(lang, "inactive_chat", chat=chat, reason=escape(reason[:200]))
              for chat, reason in s.inactive_chats]
    await caller.reply_lines(lines)


def register(app: Application) -> None:  # type: ignore[type-arg]
    for name, handler in (("grant", cmd_grant), ("revoke", cmd_revoke), ("status", cmd_status)):
        app.add_handler(CommandHandler(name, handler))
