"""``/track NAME`` (coordinators, admins): follow a person across scripts and inflections."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.context import authorize
from bot.roles import Role
from feeds.names import mentions, parse_query, variants

LOOKBACK = timedelta(days=90)


async def cmd_track(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store a track, show the spellings it covers and the stored items it already matches."""
    caller = await authorize(update, context, Role.COORDINATOR, "/track")
    if caller is None:
        return
    svc, message = caller.svc, caller.message
    query_text = " ".join(context.args or []).strip()
    if not query_text or len(query_text) > 200:
        await message.reply_text("Usage: /track NAME — for example /track Жилин М.А. "
                                 "or /track Mikhail Zhilin")
        return
    try:
        query = parse_query(query_text)
    except ValueError as exc:
        await message.reply_text(f"Not tracked: {exc}")
        return
    track = await svc.store.add_track(query_text, query.key, query.initial,
                                      owner_id=caller.user.id, now=svc.clock())
    hits = [i for i in await svc.store.items(since=svc.clock() - LOOKBACK)
            if i.duplicate_of is None and mentions(query, f"{i.title}\n{i.text}")]
    lines = [f"Tracking #{track.id}: <b>{escape(query_text)}</b>",
             "Matches spellings such as: " + escape(", ".join(variants(query_text))),
             f"Stored items from the last 90 days that match: {len(hits)}"]
    for item in hits[-10:]:
        lines.append(f'• <a href="{escape(item.url, quote=True)}">'
                     f"{escape(item.title or item.url)}</a> — {escape(item.source)}")
    await message.reply_text("\n".join(lines), parse_mode=ParseMode.HTML,
                             disable_web_page_preview=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("track", cmd_track))
