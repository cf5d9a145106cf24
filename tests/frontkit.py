"""What the end-to-end tests of the Telegram front share: ``Front`` (the real service
against the fake Bot API and loopback feeds, with helpers to talk, press buttons and
find cards), fixture items, users and settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path
from typing import Any

from bot.context import utc_now
from bot.service import run_service
from bot.settings import Settings
from storage import Store
from tests.fakes.http_server import FixtureServer
from tests.fakes.telegram_api import FakeTelegramAPI, JSONDict

GROUP = -1001234
ADMIN, COORD, VERA, OLEG, STRANGER, GADMIN = 111, 222, 333, 444, 555, 666
NAMES = {ADMIN: "Ada", COORD: "Cora", VERA: "Vera", OLEG: "Oleg", STRANGER: "Stan",
         GADMIN: "Gina"}

ZHILIN_ORDER = ("Court orders deportation of Mikhail Zhilin",
                "A regional court in Kostanay ordered the deportation of Mikhail Zhilin, a "
                "Russian officer who fled mobilization, to Russia.")
ZHILIN_REMOVED = ("Mikhail Zhilin handed over to Russia",
                  "Kazakhstan handed over Mikhail Zhilin to Russian border guards on Friday.")
KARIMOV_INTERIM = ("Lawyers ask UN to halt extradition of Aziz Karimov",
                   "Lawyers asked the UN Human Rights Committee for interim measures to halt "
                   "the extradition of Aziz Karimov to Uzbekistan.")
# The feed's title holds "<script>" as text (escaped twice in the XML), "&" and 5,000
# characters; its description holds markup the parser must drop.
HOSTILE = ("&lt;script&gt;alert(1)&lt;/script&gt; & Court orders deportation of Ivan Petrov "
           + "z" * 5000,
           "A court ordered the deportation of Ivan Petrov to Tajikistan. <b>bold</b> & "
           "<a href='javascript:alert(1)'>x</a>")


def rss(items: list[tuple[str, str]], base: str = "http://wire.test") -> bytes:
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{base}/n/{i}</link><guid>g{i}-{len(title)}"
        f"</guid><description>{escape(text)}</description></item>"
        for i, (title, text) in enumerate(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Wire &amp; Co</title><link>{base}/</link>{body}</channel></rss>").encode()


@dataclass
class Front:
    fake: FakeTelegramAPI
    server: FixtureServer
    settings: Settings
    task: asyncio.Task[None] | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self.stop_event = asyncio.Event()
        polls = len(self.fake.calls_to("getUpdates"))
        self.task = asyncio.create_task(run_service(self.settings, self.stop_event))
        assert await self.fake.await_for(
            lambda: len(self.fake.calls_to("getUpdates")) > polls, timeout=15)

    async def stop(self) -> None:
        if self.task is not None:
            self.stop_event.set()
            await asyncio.wait_for(self.task, timeout=30)
            self.task = None

    async def store(self) -> Store:
        return await Store.open(self.settings.database_url)

    # -- feeds -------------------------------------------------------------------------
    def feed(self, path: str, items: list[tuple[str, str]]) -> str:
        self.server.routes[path] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
        return f"{self.server.base_url}{path}"

    async def poll_now(self) -> None:
        store = await self.store()
        try:
            for feed in await store.list_feeds():
                await store.schedule_now(feed.id, utc_now())
        finally:
            await store.close()

    # -- talking -----------------------------------------------------------------------
    def _answers(self, user: int, chat: int) -> list[JSONDict]:
        return [m for m in self.fake.messages(chat) if chat == user
                or m.get("reply_to_message", {}).get("from", {}).get("id") == user]

    async def say(self, user: int, text: str, *, chat: int | None = None,
                  username: str | None = None) -> str:
        """Send a message as ``user``; return the bot's answer(s) to it."""
        chat = user if chat is None else chat
        before = len(self._answers(user, chat))
        self.fake.push_message(text, user_id=user, chat_id=chat,
                               first_name=NAMES.get(user, "User"), username=username)
        assert await self.fake.await_for(lambda: len(self._answers(user, chat)) > before,
                                         timeout=15), f"no answer to {text!r}"
        await asyncio.sleep(0.2)      # long answers come in several messages
        return "\n".join(str(m["text"]) for m in self._answers(user, chat)[before:])

    async def press(self, user: int, action: str, case_id: int, message: JSONDict
                    ) -> JSONDict:
        """Press a card's button as ``user``; return the answerCallbackQuery call."""
        query_id = self.fake.push_callback(f"c:{action}:{case_id}", user_id=user,
                                           chat_id=message["chat"]["id"],
                                           message_id=message["message_id"],
                                           first_name=NAMES.get(user, "User"))

        def answered() -> list[JSONDict]:
            return [c for c in self.fake.calls_to("answerCallbackQuery")
                    if c.get("callback_query_id") == query_id]
        assert await self.fake.await_for(lambda: bool(answered()), timeout=15)
        return answered()[0]

    def cards(self, chat: int = GROUP) -> list[JSONDict]:
        return [m for m in self.fake.messages(chat) if m.get("reply_markup")
                and "reply_to_message" not in m
                and ("Case #" in str(m["text"]) or "Дело #" in str(m["text"]))]

    def card(self, case_id: int, chat: int = GROUP) -> JSONDict:
        found = [m for m in self.cards(chat) if f"Case #{case_id} ·" in str(m["text"])
                 or f"Дело #{case_id} ·" in str(m["text"])]
        assert len(found) == 1, f"{len(found)} cards for case {case_id} in {chat}"
        return found[0]

    async def wait(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        assert await self.fake.await_for(predicate, timeout=timeout)


def button_data(message: JSONDict) -> list[str]:
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
            for b in row]


def settings_for(fake: FakeTelegramAPI, tmp_path: Path, **changes: Any) -> Settings:
    base = Settings(telegram_token="123456:TESTTOKEN", api_base_url=fake.base_url,
                    alert_chat_id=GROUP, admin_ids=frozenset({ADMIN}),
                    coordinator_ids=frozenset({COORD}),
                    database_url=f"sqlite:///{tmp_path / 'data' / 'dw.db'}",
                    allow_private_urls=True, tick_seconds=0.2, poll_seconds=300)
    return replace(base, **changes)


async def add_feed(front: Front, path: str, items: list[tuple[str, str]], cards: int) -> None:
    url = front.feed(path, items)
    assert "Added feed" in await front.say(ADMIN, f"/addfeed {url}")
    await front.wait(lambda: len(front.cards()) >= cards)
