"""The ``deportwatch`` command line. ``main()`` only parses and wires.

Commands: ``run`` (the service), ``scan`` (pipeline once over sources),
``feeds add|list|remove`` (the same feed table ``/addfeed`` uses), ``demo`` (bundled
samples served on loopback). A ``DeportwatchError`` (bad setting, unsafe URL, database
refusal) ends the program with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import http.server
import json
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from bot.context import utc_now
from bot.memory import limit_arenas
from bot.scan import scan
from bot.settings import Settings, load_settings
from feeds.errors import DeportwatchError
from feeds.fetch import precheck_url
from feeds.models import FeedKind
from feeds.parse import check_selector
from feeds.sources import normalize_source, starter_sources
from storage import Store

DEMO_FILES = ("world-news.xml", "ru-news.xml", "ru-news-copy.xml", "court-schedule.html")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deportwatch", description=(
        "Finds people at risk of deportation or extradition in news feeds, Telegram "
        "channels and court registries, and sends case cards to a Telegram group."))
    p.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the service: Telegram bot, poller and delivery")
    s = sub.add_parser("scan", help="run the pipeline once over URLs or files and print cards")
    s.add_argument("sources", nargs="+", metavar="SOURCE", help="feed or page URL, or a file")
    s.add_argument("--json", action="store_true", help="print one JSON object instead")
    s.add_argument("--track", action="append", default=[], metavar="QUERY",
                   help="a person to follow (repeatable), e.g. 'Жилин М.А.'")
    s.add_argument("--db", help="database URL to keep the results (default: in memory)")
    f = sub.add_parser("feeds", help="manage sources").add_subparsers(dest="action",
                                                                       required=True)
    a = f.add_parser("add", help="add a source, or --starter for the bundled list")
    a.add_argument("url", nargs="?",
                   help="feed/page URL, or t.me/NAME / @NAME for a Telegram channel")
    a.add_argument("--starter", action="store_true",
                   help="add every source of the bundled starter list (feeds/starter_sources.toml)")
    a.add_argument("--kind", choices=[k.value for k in FeedKind], help="default: by URL")
    a.add_argument("--interval", type=int, help="poll interval in seconds (>= 60)")
    a.add_argument("--selector", help="pages: CSS selector of one record (default: table rows)")
    f.add_parser("list", help="list sources and their health")
    r = f.add_parser("remove", help="remove a source")
    r.add_argument("id", type=int)
    d = sub.add_parser("demo", help="serve bundled samples on loopback and scan them")
    d.add_argument("--json", action="store_true", help="print the scan JSON instead of cards")
    return p


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet = ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "aiosqlite", "alembic",
             "pymorphy3")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        limit_arenas()          # before any thread starts (see bot.memory)
    try:
        settings = load_settings(env_file=Path(args.env_file))
        _configure_logging(settings)
        return asyncio.run(_dispatch(args, settings))
    except DeportwatchError as exc:
        print(f"deportwatch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        from bot.service import run_service

        await run_service(settings)
        return 0
    if args.command == "scan":
        return await _scan(args.sources, args.json, args.track, args.db,
                           settings.allow_private_urls)
    if args.command == "demo":
        with _serve_samples() as base:
            return await _scan([f"{base}/{name}" for name in DEMO_FILES], args.json,
                               ["Жилин М.А."], None, True, demo=True)
    return await _feeds(args, settings)


async def _scan(sources: list[str], as_json: bool, tracks: list[str], db: str | None,
                allow_private: bool, *, demo: bool = False) -> int:
    try:
        result = await scan(sources, tracks=tracks, db=db, allow_private=allow_private)
    except ValueError as exc:
        print(f"deportwatch: error: --track: {exc}", file=sys.stderr)
        return 2
    for error in result.errors:
        print(f"deportwatch: source failed: {error}", file=sys.stderr)
    if as_json:
        print(json.dumps({"items": result.items, "cases": result.cases}, ensure_ascii=False,
                         indent=2))
    else:
        relevant = sum(1 for i in result.items if i["relevant"])
        dupes = sum(1 for i in result.items if i["duplicate_of"])
        print(f"{len(result.items)} items read, {relevant} about a person at risk, "
              f"{dupes} duplicates, {len(result.cases)} case(s).\n")
        for card in result.cards:
            print(card)
            print("─" * 60)
        if demo:
            print("This was the demo: bundled sample feeds served on 127.0.0.1. Next: "
                  "`deportwatch scan --json FILE_OR_URL`, or set TELEGRAM_BOT_TOKEN and "
                  "`deportwatch run`.")
    return 1 if result.errors and not result.items else 0


async def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    store = await Store.open(settings.database_url)
    try:
        if args.action == "add" and args.starter:
            added = 0
            for source in starter_sources():
                _, new = await store.add_feed(source.url, source.kind, source.interval,
                                              added_by=None, now=utc_now())
                added += new
                print(f"{'added' if new else 'present'}\t{source.kind.value}\t{source.url}"
                      f"\t{source.title}")
            print(f"{added} starter source(s) added")
        elif args.action == "add":
            if not args.url:
                raise DeportwatchError("feeds add needs a URL, or --starter")
            interval = args.interval or settings.poll_seconds
            if interval < 60:
                raise DeportwatchError("--interval must be at least 60 seconds")
            url, kind = normalize_source(args.url, FeedKind(args.kind) if args.kind else None)
            selector = check_selector(args.selector) if args.selector else None
            if selector and kind is not FeedKind.PAGE:
                raise DeportwatchError("--selector is for --kind page")
            warning = await precheck_url(url, allow_private=settings.allow_private_urls)
            if warning:
                print(f"deportwatch: warning: {warning}", file=sys.stderr)
            feed, new = await store.add_feed(url, kind, interval, added_by=None, now=utc_now(),
                                             selector=selector)
            print(f"{'added' if new else 'already present'}: #{feed.id} {feed.kind.value} "
                  f"every {feed.interval_seconds} s {feed.url}")
        elif args.action == "list":
            feeds = await store.list_feeds()
            if not feeds:
                print("no sources; add one with: deportwatch feeds add URL")
            for feed in feeds:
                state = ("paused" if feed.paused else
                         f"failing x{feed.consecutive_failures}: {feed.last_error}"
                         if feed.last_error else
                         f"ok {feed.last_success_at:%Y-%m-%d %H:%M}Z" if feed.last_success_at
                         else "not polled yet")
                print(f"#{feed.id}\t{feed.kind.value}\t{feed.interval_seconds}s\t{feed.url}"
                      f"\t{state}")
        elif args.action == "remove":
            if not await store.remove_feed(args.id):
                print(f"no source #{args.id}", file=sys.stderr)
                return 1
            print(f"removed #{args.id}")
    finally:
        await store.close()
    return 0


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve_samples() -> Iterator[str]:
    """Serve the bundled sample files on 127.0.0.1 for the length of the block."""
    with resources.as_file(resources.files("feeds").joinpath("samples")) as folder:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    raise SystemExit(main())
