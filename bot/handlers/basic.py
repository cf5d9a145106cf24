"""``/start`` and ``/help``: what the bot is and which commands the user may run."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.context import services
from bot.roles import Role, decide_role

COMMANDS = [
    ("start", "what this bot does"),
    ("help", "the commands you may use"),
    ("feeds", "sources and their health (coordinators, admins)"),
    ("track", "follow a person by name (coordinators, admins)"),
    ("addfeed", "add a source: /addfeed URL [rss|page|telegram] [seconds] (admins)"),
]

_INTRO = ("deportwatch watches news, Telegram channels and court registries for people "
          "at risk of deportation or extradition, and posts a case card here so that a "
          "lawyer can act before the handover.")


def help_text(role: Role) -> str:
    lines = [_INTRO, "", "Commands:", "/help — this list"]
    if role >= Role.COORDINATOR:
        lines += ["/track NAME — follow a person (any script or case form)",
                  "/feeds — sources and their health"]
    if role >= Role.ADMIN:
        lines += ["/addfeed URL [rss|page|telegram] [seconds] — add a source"]
    lines += ["", f"Your role: {role.name.lower()}."]
    return "\n".join(lines)


async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Introduce the bot and list the commands for the user's role."""
    await cmd_help(update, context)


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands the user may run."""
    svc = services(context)
    if update.effective_user is None or update.effective_message is None:
        return
    uid = update.effective_user.id
    role = decide_role(uid, svc.settings, await svc.store.member_role(uid))
    await update.effective_message.reply_text(help_text(role))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("start", cmd_start))
    app.add_handler(CommandHandler("help", cmd_help))
