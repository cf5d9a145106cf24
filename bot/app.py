"""The Telegram application factory: ``build_application`` wires handlers, roles and the
rate limiter; ``register_commands`` publishes the command list in both languages."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.context import Services, services
from bot.handlers import register_all
from bot.handlers.basic import COMMANDS
from bot.i18n import t
from bot.roles import Access

log = logging.getLogger(__name__)
_MEMBER = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log the bug with the update, tell the user briefly."""
    # The update itself may name people at risk: log its id, not its content.
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("handler failed update_id=%s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None \
            and update.callback_query is None:
        await update.effective_message.reply_text(
            t(services(context).settings.lang, "error"))


async def register_commands(app: Application) -> None:  # type: ignore[type-arg]
    """Publish the command list (setMyCommands), English by default and Russian for
    Russian-language users. Called by the service after ``initialize()``."""
    for index, language in ((0, None), (1, "ru")):
        try:
            await app.bot.set_my_commands(
                [BotCommand(name, texts[index][:256]) for name, _role, texts in COMMANDS],
                language_code=language)
        except TelegramError as exc:
            log.warning("setMyCommands failed language=%s error=%s", language, exc)


def telegram_access(bot: Bot) -> Access:
    """Role lookups that ask Telegram about the alert group (cached in ``Access``)."""
    async def admins_of(chat_id: int) -> frozenset[int]:
        return frozenset(m.user.id for m in await bot.get_chat_administrators(chat_id))

    async def is_member(chat_id: int, user_id: int) -> bool:
        member = await bot.get_chat_member(chat_id, user_id)
        return member.status in _MEMBER or bool(getattr(member, "is_member", False))

    return Access(admins_of, is_member)


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
    services.access = telegram_access(app.bot)
    app.bot_data["services"] = services
    register_all(app)
    app.add_error_handler(on_error)
    return app
