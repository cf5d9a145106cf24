"""Volunteers' commands: ``/subscribe [filters]``, ``/unsubscribe``, ``/mute HOURS``,
``/cases`` and ``/case ID``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.cards import case_line, render_full, when
from bot.context import authorize
from bot.delivery import tracks_for
from bot.i18n import t
from bot.roles import Role
from feeds.match import country_code
from feeds.models import CaseKind

_KIND_WORDS = {
    "deportation": CaseKind.DEPORTATION, "депортация": CaseKind.DEPORTATION,
    "extradition": CaseKind.EXTRADITION, "экстрадиция": CaseKind.EXTRADITION,
    "выдача": CaseKind.EXTRADITION, "expulsion": CaseKind.EXPULSION,
    "выдворение": CaseKind.EXPULSION, "asylum": CaseKind.ASYLUM, "убежище": CaseKind.ASYLUM,
}
_URGENT_WORDS = frozenset({"urgent", "срочно", "срочные"})
MAX_MUTE_HOURS = 720


def parse_filters(args: list[str]) -> dict[str, Any]:
    """``/subscribe`` words → stored filters; raises ValueError naming a word it does not
    know. Countries are ISO codes or names in English or Russian."""
    countries: set[str] = set()
    kinds: set[str] = set()
    urgent = False
    for word in args:
        low = word.lower().strip(",;")
        if not low:
            continue
        if low in _URGENT_WORDS:
            urgent = True
        elif low in _KIND_WORDS:
            kinds.add(_KIND_WORDS[low].value)
        elif (code := country_code(low)) is not None:
            countries.add(code)
        else:
            raise ValueError(word)
    return {"countries": sorted(countries), "kinds": sorted(kinds), "urgent": urgent}


def describe_filters(filters: dict[str, Any]) -> str:
    parts = [*filters.get("countries", []), *filters.get("kinds", [])]
    if filters.get("urgent"):
        parts.append("urgent")
    return ", ".join(parts)


async def cmd_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.VOLUNTEER, "/subscribe")
    if caller is None:
        return
    if not caller.private:
        await caller.say("subscribe_private")
        return
    try:
        filters = parse_filters(list(context.args or []))
    except ValueError as exc:
        await caller.say("subscribe_usage", word=str(exc))
        return
    await caller.svc.store.subscribe(caller.chat_id, user_id=caller.user.id, filters=filters,
                                     now=caller.svc.clock())
    described = describe_filters(filters)
    await caller.say("subscribed",
                     filters=t(caller.lang, "filters", filters=described) if described else "")


async def cmd_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.VOLUNTEER, "/unsubscribe")
    if caller is None:
        return
    done = await caller.svc.store.unsubscribe(caller.chat_id, caller.svc.clock())
    await caller.say("unsubscribed" if done else "not_subscribed")


async def cmd_mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.VOLUNTEER, "/mute")
    if caller is None:
        return
    args = list(context.args or [])
    if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_MUTE_HOURS:
        await caller.say("mute_usage")
        return
    now = caller.svc.clock()
    until = now + timedelta(hours=int(args[0]))
    done = await caller.svc.store.mute(caller.chat_id, until, now)
    await caller.say("muted" if done else "not_subscribed", until=when(until))


async def cmd_cases(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.VOLUNTEER, "/cases", audit=False)
    if caller is None:
        return
    cases = await caller.svc.store.list_cases(limit=30)
    if not cases:
        await caller.say("no_cases")
        return
    lines = [f"<b>{t(caller.lang, 'cases_head')}</b>", *(case_line(c, caller.lang)
                                                         for c in cases)]
    await caller.reply_lines(lines)


async def cmd_case(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.VOLUNTEER, "/case", audit=False)
    if caller is None:
        return
    args = list(context.args or [])
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        await caller.say("case_usage")
        return
    case_id = int(args[0].lstrip("#"))
    case = await caller.svc.store.get_case(case_id) if case_id < 2**62 else None
    if case is None:
        await caller.say("no_case", id=case_id)
        return
    for part in render_full(case, tracks=await tracks_for(caller.svc.store, case),
                            lang=caller.lang):
        await caller.reply(part, html=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    for name, handler in (("subscribe", cmd_subscribe), ("unsubscribe", cmd_unsubscribe),
                          ("mute", cmd_mute), ("cases", cmd_cases), ("case", cmd_case)):
        app.add_handler(CommandHandler(name, handler))
