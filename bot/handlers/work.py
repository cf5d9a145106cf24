"""The work on cases: the card's buttons (Take, Release, Resolved, Not relevant,
Sources, Reopen) and ``/assign CASE_ID @user|USER_ID``.

Each change goes through ``bot.claims.decide_work`` (who may) and
``Store.set_case_work`` (compare-and-set, timeline event and card edits in one
transaction); the edited card then reaches every chat through the outbox.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.cards import parse_callback, render_full
from bot.claims import Refusal, Work, decide_work
from bot.context import Caller, authorize, role_of
from bot.delivery import tracks_for
from bot.i18n import t
from bot.roles import Role
from feeds.models import CaseView, OutboxKind

log = logging.getLogger(__name__)


async def apply_work(caller: Caller, case: CaseView, work: Work | Refusal, *,
                     notify: tuple[OutboxKind, int] | None = None) -> str:
    """Store a permitted change (or explain the refusal); returns the answer text."""
    if isinstance(work, Refusal):
        return t(caller.lang, work.key, id=case.id, name=case.claimed_by or "?")
    svc = caller.svc
    done = await svc.store.set_case_work(
        case.id, expect=(case.claimed_by_id, case.status), claimed_by=work.claimed_by,
        status=work.status, change=work.change, user_id=caller.user.id, now=svc.clock(),
        note=work.claimed_by[1] if work.change in ("claim", "assign") else caller.user.full_name,
        notify=notify)
    if not done:
        return t(caller.lang, "race", id=case.id)
    svc.nudge_delivery()
    return t(caller.lang, work.answer, id=case.id, name=work.claimed_by[1] or "?")


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    parsed = parse_callback(query.data)
    needed = Role.VOLUNTEER
    caller = await authorize(update, context, needed,
                             f"button:{parsed[0] if parsed else 'unknown'}")
    if caller is None:
        return
    if parsed is None:
        await query.answer(t(caller.lang, "bad_button"), show_alert=True)
        return
    action, case_id = parsed
    case = await caller.svc.store.get_case(case_id)
    if case is None:
        await query.answer(t(caller.lang, "no_case", id=case_id), show_alert=True)
        return
    if action == "sources":
        await query.answer(await _send_sources(caller, case, context))
        return
    work = decide_work(action, case, actor_id=caller.user.id,
                       actor_name=caller.user.full_name, role=caller.role)
    answer = await apply_work(caller, case, work)
    await query.answer(answer[:200], show_alert=isinstance(work, Refusal))


async def _send_sources(caller: Caller, case: CaseView,
                        context: ContextTypes.DEFAULT_TYPE) -> str:
    """The full card with every source, in the presser's private chat."""
    parts = render_full(case, tracks=await tracks_for(caller.svc.store, case), lang=caller.lang)
    try:
        for part in parts:
            await context.bot.send_message(caller.user.id, part, parse_mode="HTML",
                                           disable_web_page_preview=True)
    except TelegramError as exc:
        log.info("sources not sent user_id=%s error=%s", caller.user.id, exc)
        return t(caller.lang, "sources_blocked")
    return t(caller.lang, "sources_sent")


async def cmd_assign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    caller = await authorize(update, context, Role.COORDINATOR, "/assign")
    if caller is None:
        return
    args = list(context.args or [])
    if len(args) != 2 or not args[0].lstrip("#").isdigit() or len(args[0]) > 18:
        await caller.say("assign_usage")
        return
    store = caller.svc.store
    case = await store.get_case(int(args[0].lstrip("#")))
    if case is None:
        await caller.say("no_case", id=args[0])
        return
    target = args[1]
    if target.isdigit() and len(target) <= 15:
        assignee: tuple[int, str] | None = (
            int(target), await store.user_name(int(target)) or f"user {target}")
    elif target.startswith("@"):
        assignee = await store.find_user(target)
    else:
        assignee = None
    if assignee is None:
        await caller.say("unknown_user", user=target)
        return
    if await role_of(caller.svc, assignee[0]) < Role.VOLUNTEER:
        await caller.say("not_volunteer", user=target)
        return
    work = decide_work("assign", case, actor_id=caller.user.id,
                       actor_name=caller.user.full_name, role=caller.role, assignee=assignee)
    await caller.reply(await apply_work(caller, case, work,
                                        notify=(OutboxKind.ASSIGNED, assignee[0])))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(CommandHandler("assign", cmd_assign))
