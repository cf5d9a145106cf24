"""The service (``deportwatch run``): bot, poller and delivery in one asyncio process.

::

    APScheduler (AsyncIOScheduler, in-memory jobs; the schedule itself is data: feed.next_poll_at)
      ├── poll      every DEPORTWATCH_TICK_SECONDS: Poller.tick — a task per due feed
      │             (fetch → parse → match → case → outbox); a slow source delays only itself
      ├── deliver   every 2 s, and at once when a poll or a button queued messages
      │             (poll and deliver never overlap themselves: a trigger while one
      │             runs makes it run once more — see Rerun)
      ├── escalate  every 30 s: urgent cases nobody took in DEPORTWATCH_ESCALATE_MINUTES
      │             → one re-announcement + private alerts to coordinators (outbox)
      ├── sweep     every 10 min: end subscriptions of people no longer in the alert group
      ├── digest    daily at DEPORTWATCH_DIGEST_AT (when set): held non-urgent cases → outbox
      ├── trim      every 60 s: freed heap back to the OS (bot.memory)
      └── lead      every 5 s on PostgreSQL: hold the updates lock (storage.leader) —
                    only its holder long-polls getUpdates; a standby takes over when
                    the holder dies
    python-telegram-bot Application (long polling) for commands and buttons, when a
    token is set; on PostgreSQL several instances share the work: feeds and outbox
    rows are leased (SKIP LOCKED), so each feed is polled and each card sent by one
    instance at a time

Stops cleanly on SIGINT/SIGTERM: the scheduler is paused, running jobs finish (or
are cancelled after a grace period — every step is transactional, so a cancelled
job loses nothing), then the bot and the database are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING

from bot.context import Services, sweep_subscribers, utc_now
from bot.delivery import ConsoleSender, Delivery, Sender, deliver_pending
from bot.memory import trim
from bot.settings import Settings
from feeds.pipeline import Poller, SourceReport
from storage import Store, UpdatesLock

log = logging.getLogger(__name__)
DELIVERY_SECONDS = 2.0
DELIVERY_BATCH = 20
ESCALATE_CHECK_SECONDS = 30.0
SWEEP_SECONDS = 600.0
SHUTDOWN_GRACE = 20.0
TRIM_SECONDS = 60.0
LEAD_SECONDS = 5.0      # how often a standby instance tries for the updates lock


def bot_id(token: str) -> str:
    """The bot's numeric id, the part of its token before the colon (not a secret)."""
    return token.split(":", 1)[0]


class Rerun:
    """An async job that a trigger while it runs does not skip: the running pass runs
    once more when it ends. (APScheduler's ``max_instances=1`` would drop the trigger
    and log a warning — every tick, while a poll of thousands of feeds or a backlog of
    cards takes longer than the interval; a nudge from a new card would be lost.) The
    job is scheduled as ``Rerun(job).run`` (a coroutine function, which APScheduler's
    asyncio executor awaits — a callable object it would hand to a thread) with
    ``max_instances=2``: a second instance only sets the flag."""

    def __init__(self, job: Callable[[], Awaitable[None]]) -> None:
        self._job = job
        self._running = False
        self._again = False

    async def run(self) -> None:
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            self._again = True
            while self._again:
                self._again = False
                await self._job()
        finally:
            self._running = False


class Service:
    """Owns the long-lived parts; ``await Service(settings).run(stop)``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._poll_lock = asyncio.Lock()
        self._deliver_lock = asyncio.Lock()
        self.scheduler = AsyncIOScheduler(timezone=UTC)

    async def _lead(self, app: Any, updates: UpdatesLock) -> None:
        """Receive Telegram updates while this instance holds the updates lock (always,
        on SQLite); stop when it is lost, so two instances never poll at once."""
        assert app.updater is not None
        held = await updates.hold()
        if held and not app.updater.running:
            log.info("this instance now receives Telegram updates")
            await app.updater.start_polling(poll_interval=0.0, timeout=10,
                                            drop_pending_updates=False)
        elif not held and app.updater.running:
            log.warning("the updates lock was lost: another instance receives updates")
            await app.updater.stop()

    def _nudge(self, job_id: str) -> None:
        job = self.scheduler.get_job(job_id)
        if job is not None:
            job.modify(next_run_time=datetime.now(UTC))

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.settings
        store = await Store.open(settings.database_url)
        if store.engine.dialect.name == "sqlite":
            # The embedded set-up has one instance: what an earlier run had leased when it
            # stopped (or crashed) is free again now, not when the leases run out.
            feeds, messages = await store.recover_leases()
            if feeds or messages:
                log.warning("recovered leases of an earlier run feeds=%s messages=%s",
                            feeds, messages)
        services = Services(settings=settings, store=store, clock=utc_now,
                            nudge_poll=lambda: self._nudge("poll"),
                            nudge_delivery=lambda: self._nudge("deliver"))
        app = None
        updates: UpdatesLock | None = None
        sender: Sender
        try:
            async with settings.fetcher() as fetcher:
                if settings.telegram_token:
                    from bot.app import build_application, register_commands
                    from bot.telegram_sender import TelegramSender

                    app = build_application(services)
                    await app.initialize()
                    await register_commands(app)
                    await app.start()
                    updates = store.updates_lock(f"getUpdates:{bot_id(settings.telegram_token)}")
                    await self._lead(app, updates)
                    sender = TelegramSender(app.bot)
                    if settings.alert_chat_id is None:
                        log.warning("DEPORTWATCH_ALERT_CHAT_ID is not set: cards are printed "
                                    "to the console")
                        sender = ConsoleSender()
                else:
                    print("TELEGRAM_BOT_TOKEN is not set: running without Telegram; "
                          "cards are printed here.", flush=True)
                    sender = ConsoleSender()

                # The alert chats change only when a group moves (see deliver below).
                services.groups = await store.alert_chats(settings.chat_ids, utc_now())
                options = Delivery(admins=settings.admin_chats, default_lang=settings.lang,
                                   escalate_minutes=settings.escalate_minutes)

                def reported(report: SourceReport) -> None:
                    if report.queued:
                        services.nudge_delivery()

                poller = Poller(store, fetcher, clock=utc_now, on_report=reported,
                                concurrency=settings.fetch_concurrency * 2)

                async def poll() -> None:
                    async with self._poll_lock:
                        await poller.tick(chat_ids=services.groups,
                                          admin_chat_ids=settings.admin_chats,
                                          articles=settings.fetch_articles,
                                          digest=settings.digest_at is not None)

                held: list[asyncio.TimerHandle] = []   # next pass when a group has room

                async def deliver() -> None:
                    async with self._deliver_lock:
                        options.langs.clear()      # /lang may have changed a chat
                        migrated = 0
                        while True:     # pass after pass while the outbox has a backlog
                            report = await deliver_pending(store, sender, now=utc_now,
                                                           options=options,
                                                           limit=DELIVERY_BATCH)
                            migrated += report.migrated
                            handled = (report.sent + report.retried + report.failed
                                       + report.migrated)
                            if handled < DELIVERY_BATCH or self.scheduler.state != STATE_RUNNING:
                                break
                        if report.held_for is not None:     # a group at its rate limit
                            for timer in held:
                                timer.cancel()
                            held[:] = [asyncio.get_running_loop().call_later(
                                report.held_for + 0.05, services.nudge_delivery)]
                    if migrated:
                        services.groups = await store.alert_chats(settings.chat_ids,
                                                                  utc_now())

                async def escalate() -> None:
                    coordinators = sorted(settings.coordinator_ids | {
                        uid for uid, role in await store.members() if role == "coordinator"})
                    queued = await store.queue_reannouncements(
                        utc_now(), older_than=timedelta(minutes=settings.escalate_minutes),
                        coordinators=coordinators or list(settings.admin_chats))
                    if queued:
                        services.nudge_delivery()

                async def sweep() -> None:
                    if await sweep_subscribers(services):
                        log.info("ended subscriptions of people who left the alert group")

                async def digest() -> None:
                    if await store.queue_digest(utc_now(), groups=services.groups):
                        services.nudge_delivery()

                async def release_memory() -> None:
                    trim()      # what a burst of fetches or cards freed goes back to the OS

                common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None,
                          "next_run_time": datetime.now(UTC)}
                rerun = {**common, "max_instances": 2}
                self.scheduler.add_job(Rerun(poll).run, "interval", seconds=settings.tick_seconds,
                                       id="poll", **rerun)
                self.scheduler.add_job(Rerun(deliver).run, "interval", seconds=DELIVERY_SECONDS,
                                       id="deliver", **rerun)
                self.scheduler.add_job(release_memory, "interval", seconds=TRIM_SECONDS,
                                       id="trim", **common)
                self.scheduler.add_job(escalate, "interval", id="escalate", seconds=min(
                    ESCALATE_CHECK_SECONDS, settings.escalate_minutes * 60 / 4), **common)
                if app is not None and settings.alert_chat_id is not None \
                        and settings.alert_chat_id < 0:     # a group: membership means something
                    self.scheduler.add_job(sweep, "interval", seconds=SWEEP_SECONDS, id="sweep",
                                           **common)
                if settings.digest_at is not None:
                    self.scheduler.add_job(digest, "cron", hour=settings.digest_at.hour,
                                           minute=settings.digest_at.minute, id="digest",
                                           max_instances=1, coalesce=True,
                                           misfire_grace_time=3600)
                if app is not None and updates is not None and store.shared:
                    self.scheduler.add_job(self._lead, "interval", args=(app, updates),
                                           seconds=LEAD_SECONDS, id="lead", **common)
                self.scheduler.start()
                log.info("deportwatch running database=%s telegram=%s",
                         settings.database_url.split("@")[-1], bool(settings.telegram_token))
                await stop.wait()
                log.info("stopping")
                self.scheduler.pause()
                poller.stop()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SHUTDOWN_GRACE):
                        async with self._poll_lock, self._deliver_lock:
                            pass
                await poller.close(grace=SHUTDOWN_GRACE / 4)
                for timer in held:
                    timer.cancel()
                self.scheduler.shutdown(wait=False)
        finally:
            if app is not None:
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if updates is not None:     # another instance takes the updates at once
                    await updates.release()
                if app.running:
                    await app.stop()
                await app.shutdown()
            await store.close()


async def run_service(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set, or until SIGINT/SIGTERM when no event is given."""
    own_signals = stop is None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        await Service(settings).run(stop)
    finally:
        if own_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
