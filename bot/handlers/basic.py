"""``/start``, ``/help``, ``/lang``, and remembering who talks to the bot.

``COMMANDS`` is the one list of commands: ``/help`` shows those of the caller's
role, and ``register_commands`` publishes it with setMyCommands in both languages.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler, ContextTypes, TypeHandler

from bot.context import authorize, chat_lang, role_of, services
from bot.i18n import LANGS, t
from bot.roles import Role

# name, who may run it, (English, Russian) description
COMMANDS: list[tuple[str, Role, tuple[str, str]]] = [
    ("start", Role.NONE, ("what this bot does", "что делает этот бот")),
    ("help", Role.NONE, ("the commands you may use", "доступные вам команды")),
    ("lang", Role.NONE, ("interface language: /lang en|ru", "язык интерфейса: /lang en|ru")),
    ("subscribe", Role.VOLUNTEER, ("cards in this private chat: /subscribe [country|kind|urgent]",
                                   "карточки в личный чат: /subscribe [страна|вид|urgent]")),
    ("unsubscribe", Role.VOLUNTEER, ("stop cards in this chat", "не присылать карточки сюда")),
    ("mute", Role.VOLUNTEER, ("pause cards: /mute HOURS", "пауза: /mute ЧАСЫ")),
    ("cases", Role.VOLUNTEER, ("open cases, newest first", "открытые дела, сначала новые")),
    ("case", Role.VOLUNTEER, ("a case with timeline and sources: /case ID",
                              "дело с хронологией и источниками: /case ID")),
    ("track", Role.COORDINATOR, ("follow a person: /track NAME",
                                 "следить за человеком: /track ИМЯ")),
    ("untrack", Role.COORDINATOR, ("stop following: /untrack NAME|ID",
                                   "перестать следить: /untrack ИМЯ|ID")),
    ("tracks", Role.COORDINATOR, ("the names followed", "за кем следим")),
    ("assign", Role.COORDINATOR, ("give a case to a volunteer: /assign ID @user",
                                  "поручить дело: /assign ID @user")),
    ("feeds", Role.COORDINATOR, ("sources and their health", "источники и их состояние")),
    ("addfeed", Role.ADMIN, ("add a source: /addfeed URL [rss|page|telegram] [seconds]",
                             "добавить источник: /addfeed URL [rss|page|telegram] [секунды]")),
    ("removefeed", Role.ADMIN, ("remove a source: /removefeed ID",
                                "удалить источник: /removefeed ID")),
    ("pausefeed", Role.ADMIN, ("pause a source: /pausefeed ID", "приостановить: /pausefeed ID")),
    ("resumefeed", Role.ADMIN, ("resume a source: /resumefeed ID", "возобновить: /resumefeed ID")),
    ("grant", Role.ADMIN, ("give a role: /grant USER_ID coordinator|admin|volunteer",
                           "выдать роль: /grant USER_ID coordinator|admin|volunteer")),
    ("revoke", Role.ADMIN, ("take a granted role back: /revoke USER_ID",
                            "снять выданную роль: /revoke USER_ID")),
    ("status", Role.ADMIN, ("queue, last poll, errors", "очередь, последний опрос, ошибки")),
]


def help_text(role: Role, lang: str) -> str:
    index = 1 if lang == "ru" else 0
    lines = [t(lang, "intro"), "", t(lang, "commands")]
    lines += [f"/{name} — {texts[index]}" for name, needed, texts in COMMANDS if role >= needed]
    lines += ["", t(lang, "your_role", role=t(lang, f"role_{role.name.lower()}"))]
    return "\n".join(lines)


async def remember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every update: remember the sender's name and @username (for cards and /assign),
    and that the chat it came from is reachable again."""
    svc, user, chat = services(context), update.effective_user, update.effective_chat
    if user is None or user.is_bot:
        return
    await svc.store.see_user(user.id, username=user.username, name=user.full_name,
                             now=svc.clock())
    if chat is not None:
        private = chat.type == ChatType.PRIVATE
        await svc.store.ensure_chat(chat.id, kind="private" if private else "group",
                                    now=svc.clock(), user_id=user.id if private else None,
                                    seen=True)


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Introduce the bot and list the commands the user may run (/start and /help)."""
    svc, user, chat = services(context), update.effective_user, update.effective_chat
    if user is None or chat is None or update.effective_message is None:
        return
    role = await role_of(svc, user.id, chat_id=chat.id)
    lang = await chat_lang(svc, chat.id, user)
    await update.effective_message.reply_text(help_text(role, lang))


async def cmd_lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Choose the chat's interface language (in a group: admins only)."""
    chat = update.effective_chat
    needed = Role.NONE if chat is not None and chat.type == ChatType.PRIVATE else Role.ADMIN
    caller = await authorize(update, context, needed, "/lang")
    if caller is None:
        return
    args = [a.lower() for a in context.args or []]
    if len(args) != 1 or args[0] not in LANGS:
        await caller.say("lang_usage")
        return
    await caller.svc.store.set_chat_lang(caller.chat_id, args[0],
                                         kind="private" if caller.private else "group",
                                         now=caller.svc.clock())
    await caller.reply(t(args[0], "lang_set"))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(TypeHandler(Update, remember), group=-1)
    app.add_handler(CommandHandler("start", cmd_help))
    app.add_handler(CommandHandler("help", cmd_help))
    app.add_handler(CommandHandler("lang", cmd_lang))
