"""The Telegram ``Sender``: the one place that interprets Bot API errors for delivery.

RetryAfter → retry after Telegram's wait; timeouts and network errors → retry with
back-off; ChatMigrated → the new chat id; Forbidden (bot removed or blocked) and
"chat not found" → the chat is gone; "message to edit not found" → the card is
gone; other bad requests → give up with the reason; "message is not modified" →
success (the card already shows this).
"""

from __future__ import annotations

from datetime import timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.cards import Keyboard
from feeds.errors import DeliveryError


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data)
                                  for b in row] for row in buttons])


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None,
                   buttons: Keyboard = ()) -> int:
        try:
            message = await self.bot.send_message(
                chat_id=chat_id, text=html, parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup(buttons),
                reply_parameters=ReplyParameters(message_id=reply_to,
                                                 allow_sending_without_reply=True)
                if reply_to else None)
        except TelegramError as exc:
            raise _wrap(exc) from exc
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, html: str,
                   buttons: Keyboard = ()) -> None:
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id, message_id=message_id, text=html, parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup(buttons))
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
            raise _wrap(exc) from exc
        except TelegramError as exc:
            raise _wrap(exc) from exc


def _wrap(exc: TelegramError) -> DeliveryError:
    if isinstance(exc, RetryAfter):
        return DeliveryError(f"Telegram flood control: {exc.message}",
                             retry_after=_seconds(exc.retry_after))
    if isinstance(exc, ChatMigrated):
        return DeliveryError(f"chat migrated to {exc.new_chat_id}", retryable=False,
                             migrate_to=exc.new_chat_id)
    if isinstance(exc, Forbidden):
        return DeliveryError(f"bot cannot write to the chat: {exc.message}", retryable=False,
                             chat_gone=True)
    if isinstance(exc, BadRequest):
        text = exc.message.lower()
        return DeliveryError(f"Telegram refused the message: {exc.message}", retryable=False,
                             chat_gone="chat not found" in text,
                             message_gone="message to edit not found" in text)
    if isinstance(exc, NetworkError):   # includes TimedOut
        return DeliveryError(f"network: {exc.message}")
    return DeliveryError(f"Telegram error: {exc.message}")
