"""The Telegram ``Sender``: the one place that interprets Bot API errors for delivery.

RetryAfter → retry after Telegram's wait; timeouts and network errors → retry with
back-off; Forbidden (bot removed) and other bad requests → give up with the reason;
"message is not modified" → success (the card already shows this).
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from feeds.errors import DeliveryError


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, html: str, *, reply_to: int | None = None) -> int:
        try:
            message = await self.bot.send_message(
                chat_id=chat_id, text=html, parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=ReplyParameters(message_id=reply_to,
                                                 allow_sending_without_reply=True)
                if reply_to else None)
        except TelegramError as exc:
            raise _wrap(exc) from exc
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, html: str) -> None:
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id, message_id=message_id, text=html, parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True))
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
        return DeliveryError(f"chat migrated to {exc.new_chat_id}", retryable=False)
    if isinstance(exc, Forbidden):
        return DeliveryError(f"bot cannot write to the chat: {exc.message}", retryable=False)
    if isinstance(exc, BadRequest):
        return DeliveryError(f"Telegram refused the message: {exc.message}", retryable=False)
    if isinstance(exc, NetworkError):   # includes TimedOut
        return DeliveryError(f"network: {exc.message}")
    return DeliveryError(f"Telegram error: {exc.message}")
