"""The Telegram application factory: ``build_application`` wires handlers, nothing else."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.context import Services
from bot.handlers import register_all
from bot.handlers.basic import COMMANDS

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log the bug with the update, tell the user briefly."""
    log.error("handler failed update=%r", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        await update.effective_message.reply_text(
            "Something went wrong on our side; nothing was changed. It has been logged.")


async def register_commands(app: Application) -> None:  # type: ignore[type-arg]
    """Publish the command list (setMyCommands). Called by the service after
    ``initialize()``: with a manual lifecycle PTB never runs ``post_init``."""
    try:
        await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    except TelegramError as exc:
        log.warning("setMyCommands failed error=%s", exc)


def build_application(services: Services) -> Application:  # type: ignore[type-arg]
    """An Application for the configured token and Bot API base URL."""
    settings = services.settings
    assert settings.telegram_token is not None
    app = (ApplicationBuilder().token(settings.telegram_token)
           .base_url(settings.api_base_url)
           .base_file_url(settings.api_base_url.replace("/bot", "/file/bot"))
           # Telegram flood limits: 30 msg/s overall, 20 msg/min per group; retry on 429.
           .rate_limiter(AIORateLimiter(max_retries=2))
           .build())
    app.bot_data["services"] = services
    register_all(app)
    app.add_error_handler(on_error)
    return app
