"""``/addfeed`` (admins) and ``/feeds`` (coordinators, admins): the feed table."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.context import authorize
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
        elif arg.isdigit() and int(arg) >= 60:
            interval = int(arg)
        else:
            raise ValueError(f"{arg!r} is neither a kind nor an interval. {USAGE}")
    return args[0], kind, interval


def feed_line(feed: FeedInfo) -> str:
    health = (f"paused ({feed.paused_reason or 'by an admin'})" if feed.paused else
              f"failing ×{feed.consecutive_failures}: {feed.last_error}" if feed.last_error else
              f"ok, last success {feed.last_success_at:%Y-%m-%d %H:%M} UTC"
              if feed.last_success_at else "not polled yet")
    return (f"#{feed.id} <b>{escape(feed.title or feed.url)}</b> ({feed.kind.value}, "
            f"every {feed.interval_seconds} s, {feed.items_seen} items seen)\n"
            f"{escape(feed.url)}\n{escape(health)}")


async def cmd_addfeed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add a source; admins only. The first poll is started at once."""
    caller = await authorize(update, context, Role.ADMIN, "/addfeed")
    if caller is None:
        return
    svc, message = caller.svc, caller.message
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
        await message.reply_text(f"Not added: {exc}")
        return
    feed, new = await svc.store.add_feed(url, kind, interval, added_by=caller.user.id,
                                         now=svc.clock(), selector=selector)
    if new:
        svc.nudge_poll()
        await message.reply_text(f"Added feed #{feed.id} ({kind.value}, every {interval} s): "
                                 f"{url}\nFirst poll now."
                                 + (f"\nWarning: {warning}" if warning else ""))
    else:
        await message.reply_text(f"Already watching this source as feed #{feed.id}.")


async def cmd_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List sources with their health."""
    caller = await authorize(update, context, Role.COORDINATOR, "/feeds")
    if caller is None:
        return
    feeds = await caller.svc.store.list_feeds()
    message = caller.message
    if not feeds:
        await message.reply_text("No sources yet. Admins add them with /addfeed URL.")
        return
    text = ""
    for feed in feeds:
        line = feed_line(feed) + "\n\n"
        if len(text) + len(line) > 3900:
            await message.reply_text(text, parse_mode=ParseMode.HTML)
            text = ""
        text += line
    await message.reply_text(text, parse_mode=ParseMode.HTML)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("addfeed", cmd_addfeed))
    app.add_handler(CommandHandler("feeds", cmd_feeds))
