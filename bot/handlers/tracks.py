"""Coordinators' tracks: ``/track NAME`` (any script, any inflection), ``/untrack
NAME|ID``, ``/tracks``. New matches reach the track's owner in private (routed when
a case changes, see ``feeds.routing``) and show on the card."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.cards import link
from bot.context import authorize
from bot.i18n import t
from bot.roles import Role
from feeds.names import mentions, parse_query, variants

LOOKBACK = timedelta(days=90)


async def cmd_track(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store a track, show the spellings it covers and the stored items it already matches."""
    caller = await authorize(update, context, Role.COORDINATOR, "/track")
    if caller is None:
        return
    svc = caller.svc
    query_text = " ".join(context.args or []).strip()
    if not query_text or len(query_text) > 200:
        await caller.say("track_usage")
        return
    try:
        query = parse_query(query_text)
    except ValueError as exc:
        await caller.say("not_tracked", reason=str(exc))
        return
    track = await svc.store.add_track(query_text, query.key, query.initial,
                                      owner_id=caller.user.id, now=svc.clock())
    hits = [i for i in await svc.store.items(since=svc.clock() - LOOKBACK)
            if i.duplicate_of is None and mentions(query, f"{i.title}\n{i.text}")]
    lang = caller.lang
    lines = [t(lang, "tracking", id=track.id, query=f"<b>{escape(query_text)}</b>"),
             t(lang, "variants", variants=escape(", ".join(variants(query_text)))),
             t(lang, "stored_hits", n=len(hits))]
    lines += [f"• {link(i.url, i.title or i.url)} — {escape(i.source)}"
              + (f" (#{i.case_id})" if i.case_id else "") for i in hits[-10:]]
    await caller.reply_lines(lines)


async def cmd_untrack(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.COORDINATOR, "/untrack")
    if caller is None:
        return
    text = " ".join(context.args or []).strip()
    if not text:
        await caller.say("untrack_usage")
        return
    store = caller.svc.store
    ident = text.lstrip("#")
    removed = await store.remove_tracks(track_id=int(ident)) if ident.isdigit() and \
        len(ident) < 18 else await store.remove_tracks(query=text)
    if not removed:
        await caller.say("no_such_track")
        return
    await caller.say("untracked", tracks=", ".join(f"#{r.id} {r.query}" for r in removed))


async def cmd_tracks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.COORDINATOR, "/tracks", audit=False)
    if caller is None:
        return
    tracks = await caller.svc.store.list_tracks()
    if not tracks:
        await caller.say("no_tracks")
        return
    names = {tr.owner_id: await caller.svc.store.user_name(tr.owner_id) for tr in tracks}
    lines = [f"<b>{t(caller.lang, 'tracks_head')}</b>"]
    lines += [f"#{tr.id} <b>{escape(tr.query)}</b> — "
              f"{escape(names[tr.owner_id] or str(tr.owner_id))}" for tr in tracks]
    await caller.reply_lines(lines)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("track", cmd_track))
    app.add_handler(CommandHandler("untrack", cmd_untrack))
    app.add_handler(CommandHandler("tracks", cmd_tracks))
