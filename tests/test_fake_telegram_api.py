"""Proves tests/fakes/telegram_api.py speaks the wire format of the real python-telegram-bot.

Owns: end-to-end checks of FakeTelegramAPI against PTB 22.8's ``Application``/``Bot`` stack
(polling, replies, callbacks, error mapping, transport faults, chat/command queries).
Must not: import production modules (bot/, feeds/, storage/) or reach the real Telegram API.
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import (
    Bot,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.fakes.telegram_api import NOT_MODIFIED, FakeTelegramAPI

TOKEN = "123:ABC"
AnyApp = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
def fake() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as api:
        yield api


@asynccontextmanager
async def polling_app(
    fake: FakeTelegramAPI, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[AnyApp]:
    app: AnyApp = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
    for handler in handlers:
        app.add_handler(handler)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def reply_pong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong")


async def acknowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("noted")
    await query.edit_message_text(f"Acked: {query.data}")


@pytest.mark.asyncio
async def test_ping_round_trip_through_real_polling(fake: FakeTelegramAPI) -> None:
    """A pushed /ping reaches a real PTB CommandHandler via long polling and the reply is stored."""
    async with polling_app(fake, CommandHandler("ping", reply_pong)):
        update_id = fake.push_message("/ping", user_id=42, first_name="Ana")
        replies = await fake.await_messages(42, 1, timeout=10)

    assert [m["text"] for m in replies] == ["pong"]
    assert replies[0]["message_id"] == 1
    assert replies[0]["chat"] == {"id": 42, "type": "private", "first_name": "Ana"}
    assert fake.token_seen == TOKEN
    methods = [name for name, _ in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    polls = [(c.get("offset"), c["timeout"]) for c in fake.calls_to("getUpdates")]
    assert (update_id + 1, 0) in polls  # PTB's shutdown call confirming the consumed offset
    assert fake.pending_updates == []
    assert fake.server_errors == []


@pytest.mark.asyncio
async def test_group_command_with_bot_suffix_is_quoted_reply(fake: FakeTelegramAPI) -> None:
    """/ping@botname in a supergroup matches CommandHandler and the reply quotes the sender."""
    async with polling_app(fake, CommandHandler("ping", reply_pong)):
        fake.push_message("/ping@deportwatch_bot now", user_id=7, chat_id=-100123)
        assert await fake.await_for(lambda: bool(fake.replies_to(7)))

    reply = fake.replies_to(7)[0]
    assert reply["chat"]["id"] == -100123
    assert reply["chat"]["type"] == "supergroup"
    assert reply["reply_to_message"]["from"]["id"] == 7
    assert fake.calls_to("sendMessage")[0]["reply_parameters"]["message_id"] >= 100_000


@pytest.mark.asyncio
async def test_callback_query_is_answered_and_edits_message(fake: FakeTelegramAPI) -> None:
    """push_callback drives a CallbackQueryHandler; answer and edit land in the fake's records."""
    async with polling_app(fake, CallbackQueryHandler(acknowledge)) as app:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ack", callback_data="ack")]])
        sent = await app.bot.send_message(42, "Alert 1", reply_markup=keyboard)
        query_id = fake.push_callback("ack", user_id=42, chat_id=42, message_id=sent.message_id)
        assert await fake.await_for(lambda: fake.messages(42)[0]["text"] == "Acked: ack")

    assert fake.calls_to("answerCallbackQuery") == [
        {"callback_query_id": query_id, "text": "noted"}
    ]
    message = fake.last_message(42)
    assert message is not None
    assert "reply_markup" not in message  # editMessageText without markup drops the keyboard
    [before] = fake.edit_history(42, sent.message_id)
    assert before["text"] == "Alert 1"
    assert before["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ack"


@pytest.mark.asyncio
async def test_scripted_errors_surface_as_ptb_exceptions(
    fake: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """429/403/migrate scripts and a real 'not modified' edit raise PTB's matching exceptions."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as timedelta, no deprecation
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        fake.fail_next(
            "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
        )
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(5, "x")
        assert flood.value.retry_after == dtm.timedelta(seconds=3)

        fake.fail_next(
            "sendMessage",
            status=403,
            description="Forbidden: bot was blocked by the user",
            chat_id=6,
        )
        sent = await bot.send_message(5, "hello")  # other chat: script not consumed
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(6, "x")

        fake.fail_next(
            "sendMessage",
            status=400,
            migrate_to_chat_id=-1001234,
            description="Bad Request: group chat was upgraded to a supergroup chat",
        )
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(-55, "x")
        assert migrated.value.new_chat_id == -1001234

        with pytest.raises(BadRequest) as not_modified:  # PTB strips "Bad Request: "
            await bot.edit_message_text("hello", chat_id=5, message_id=sent.message_id)
        assert NOT_MODIFIED.lower().endswith(not_modified.value.message.lower())
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("new", chat_id=5, message_id=99)

    assert [m["text"] for m in fake.messages()] == ["hello"]  # failed attempts are not stored
    assert sent.message_id == 1


@pytest.mark.asyncio
async def test_transport_faults_and_unknown_methods(fake: FakeTelegramAPI) -> None:
    """Dropped sockets give NetworkError, delays give TimedOut, unknown methods give BadRequest."""
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        fake.drop_connection_next("sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(5, "lost")
        fake.set_delay("getChat", 2.0)
        with pytest.raises(TimedOut):
            await bot.get_chat(5, read_timeout=0.2)
        fake.set_delay("getChat", 0)
        with pytest.raises(BadRequest, match=r"(?i)method not found"):
            await bot.do_api_request("fooBar", api_kwargs={"x": 1})
        assert (await bot.send_message(5, "kept")).message_id == 1

    assert fake.unknown_methods == ["fooBar"]
    assert [m["text"] for m in fake.messages(5)] == ["kept"]


@pytest.mark.asyncio
async def test_chat_and_command_queries_parse_as_ptb_objects(fake: FakeTelegramAPI) -> None:
    """getChat/getChatMember/getChatAdministrators/*MyCommands answers deserialize in PTB."""
    fake.chat_admins[-100500] = [1, 2]
    fake.chat_members[-100500] = {3}
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        owner, admin = await bot.get_chat_administrators(-100500)
        assert isinstance(owner, ChatMemberOwner)
        assert isinstance(admin, ChatMemberAdministrator)
        assert admin.can_delete_messages
        assert isinstance(await bot.get_chat_member(-100500, 2), ChatMemberAdministrator)
        assert isinstance(await bot.get_chat_member(-100500, 3), ChatMemberMember)
        assert isinstance(await bot.get_chat_member(-100500, 4), ChatMemberLeft)
        chat = await bot.get_chat(-100500)
        assert isinstance(chat, ChatFullInfo)
        assert chat.type == "supergroup"

        assert await bot.set_my_commands([("ping", "Check the bot is alive")])
        assert [(c.command, c.description) for c in await bot.get_my_commands()] == [
            ("ping", "Check the bot is alive")
        ]
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
