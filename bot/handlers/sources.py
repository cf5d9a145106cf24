"""Sources: ``/addfeed``, ``/removefeed``, ``/pausefeed``, ``/resumefeed`` (admins) and
``/feeds`` with health (coordinators, admins)."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.cards import short, when
from bot.context import Caller, authorize
from bot.i18n import t
from bot.roles import Role
from feeds.errors import ParseError, UnsafeURLError
from feeds.fetch import precheck_url
from feeds.models import FeedInfo, FeedKind
from feeds.parse import check_selector
from feeds.sources import normalize_source

USAGE = ("Usage: /addfeed URL [rss|page|telegram] [interval seconds, at least 60] "
         "[css:SELECTOR for pages]")


def parse_addfeed(args: list[str], default_interval: int) -> tuple[str, FeedKind | None, int]:
    """Parse ``/addfeed`` arguments (without a ``css:`` selector); raises ValueError
    with a one-line reason."""
    if not args or len(args) > 3:
        raise ValueError(USAGE)
    kind: FeedKind | None = None
    interval = default_interval
    for arg in args[1:]:
        if arg.lower() in {k.value for k in FeedKind}:
            kind = FeedKind(arg.lower())
        elif arg.isdigit() and 60 <= int(arg) <= 7 * 86400:
            interval = int(arg)
        else:
            raise ValueError(f"{arg!r} is neither a kind nor an interval. {USAGE}")
    return args[0], kind, interval


def feed_line(feed: FeedInfo, lang: str = "en") -> str:
    """A feed and its health (last success, last error, failures, why paused)."""
    if feed.paused:
        health = t(lang, "health_paused", reason=feed.paused_reason or t(lang, "by_admin"))
    elif feed.last_error:
        health = t(lang, "health_failing", n=feed.consecutive_failures, error=feed.last_error)
    elif feed.last_success_at:
        health = t(lang, "health_ok", when=when(feed.last_success_at))
    else:
        health = t(lang, "health_new")
    if feed.last_error and feed.last_success_at and not feed.paused:
        health += " · " + t(lang, "health_ok", when=when(feed.last_success_at))
    head = t(lang, "feed_head", id=feed.id, title=short(feed.title or feed.url, 200),
             kind=feed.kind.value, interval=feed.interval_seconds, items=feed.items_seen)
    return f"{head}\n{escape(feed.url)}\n{escape(health)}"


async def cmd_addfeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add a source; admins only. The first poll is started at once."""
    caller = await authorize(update, context, Role.ADMIN, "/addfeed")
    if caller is None:
        return
    svc = caller.svc
    args = list(context.args or [])
    css = next((i for i, a in enumerate(args) if a.startswith("css:")), None)
    selector_text = " ".join(args[css:])[4:] if css is not None else None
    try:
        raw, kind, interval = parse_addfeed(args[:css], svc.settings.poll_seconds)
        url, kind = normalize_source(raw, kind)
        selector = check_selector(selector_text) if selector_text is not None else None
        if selector and kind is not FeedKind.PAGE:
            raise ValueError("css: selectors are for page sources")
        warning = await precheck_url(url, allow_private=svc.settings.allow_private_urls)
    except (ValueError, UnsafeURLError, ParseError) as exc:
        await caller.say("not_added", reason=str(exc))
        return
    feed, new = await svc.store.add_feed(url, kind, interval, added_by=caller.user.id,
                                         now=svc.clock(), selector=selector)
    if not new:
        await caller.say("already_watching", id=feed.id)
        return
    svc.nudge_poll()
    await caller.reply(t(caller.lang, "added", id=feed.id, kind=kind.value, interval=interval,
                         url=url) + (t(caller.lang, "added_warning", warning=warning)
                                     if warning else ""))


async def _feed_id(caller: Caller, args: list[str], usage: str) -> FeedInfo | None:
    if len(args) != 1 or not args[0].lstrip("#").isdigit() or len(args[0]) > 18:
        await caller.say(usage)
        return None
    feed = await caller.svc.store.get_feed(int(args[0].lstrip("#")))
    if feed is None:
        await caller.say("no_feed", id=args[0].lstrip("#"))
    return feed


async def cmd_removefeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.ADMIN, "/removefeed")
    if caller is None:
        return
    feed = await _feed_id(caller, list(context.args or []), "removefeed_usage")
    if feed is not None and await caller.svc.store.remove_feed(feed.id):
        await caller.say("feed_removed", id=feed.id, url=feed.url)


async def cmd_pausefeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.ADMIN, "/pausefeed")
    if caller is None:
        return
    feed = await _feed_id(caller, list(context.args or []), "pause_usage")
    if feed is not None:
        await caller.svc.store.set_paused(feed.id, True)
        await caller.say("feed_paused", id=feed.id)


async def cmd_resumefeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.ADMIN, "/resumefeed")
    if caller is None:
        return
    feed = await _feed_id(caller, list(context.args or []), "pause_usage")
    if feed is not None:
        store, now = caller.svc.store, caller.svc.clock()
        await store.set_paused(feed.id, False)
        await store.schedule_now(feed.id, now)
        caller.svc.nudge_poll()
        await caller.say("feed_resumed", id=feed.id)


async def cmd_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List sources with their health."""
    caller = await authorize(update, context, Role.COORDINATOR, "/feeds", audit=False)
    if caller is None:
        return
    feeds = await caller.svc.store.list_feeds()
    if not feeds:
        await caller.say("no_feeds")
        return
    await caller.reply_lines([feed_line(f, caller.lang) + "\n" for f in feeds])


def register(app: Application) -> None:  # type: ignore[type-arg]
    for name, handler in (("addfeed", cmd_addfeed), ("removefeed", cmd_removefeed),
                          ("pausefeed", cmd_pausefeed), ("resumefeed", cmd_resumefeed),
                          ("feeds", cmd_feeds)):
        app.add_handler(CommandHandler(name, handler))
