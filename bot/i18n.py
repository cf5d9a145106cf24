"""Interface text in English and Russian (pure): ``t(lang, key, **values)``.

Owns every sentence the bot says to people, per chat language (``/lang en|ru``).
Values are formatted in as given: callers escape untrusted values before they reach
HTML messages. A key missing in one language falls back to English; a test checks
that both languages have every key with the same placeholders.

Must not import telegram or storage.
"""

from __future__ import annotations

from feeds.models import CaseKind, Stage

LANGS = ("en", "ru")

# key: (English, Russian)
TEXT: dict[str, tuple[str, str]] = {
    # ── cards ──
    "urgent": ("🔴 URGENT", "🔴 СРОЧНО"),
    "watch": ("🟡 watch", "🟡 наблюдение"),
    "countries_unknown": ("countries unknown", "страны неизвестны"),
    "name_unknown": ("name unknown", "имя неизвестно"),
    "stage_line": ("Stage: {stage} (since {when})", "Стадия: {stage} (с {when})"),
    "court_line": ("Court: {court}", "Суд: {court}"),
    "sources_line": ("Sources: {outlets} independent, {reports} report(s)",
                     "Источники: {outlets} независимых, сообщений: {reports}"),
    "in_langs": (" in {langs}", " на языках: {langs}"),
    "first_seen": ("First seen: {when}", "Впервые замечено: {when}"),
    "more": ("+{n} more", "и ещё {n}"),
    "claimed_by": ("Case #{id} · taken by {name}", "Дело #{id} · взял(а) {name}"),
    "not_claimed": ("Case #{id} · nobody has taken it yet", "Дело #{id} · пока никто не взял"),
    "status_resolved": ("✅ Resolved", "✅ Решено"),
    "status_irrelevant": ("⚪ Marked not relevant", "⚪ Отмечено как нерелевантное"),
    "tracks_line": ("Tracks: {tracks}", "Отслеживания: {tracks}"),
    "timeline": ("Timeline:", "Хронология:"),
    "all_sources": ("Sources:", "Источники:"),
    "escalation": ("⬆️ {who}: now {stage}", "⬆️ {who}: теперь {stage}"),
    "reannounce": ("⏰ Urgent and nobody has taken it for {minutes} min: {who} — "
                   "can you take it?",
                   "⏰ Срочно, и никто не взял уже {minutes} мин: {who} — возьмёте?"),
    "coordinator_alert": ("⏰ Nobody has taken urgent case #{id} ({who}, {stage}) for "
                          "{minutes} min. Assign it: /assign {id} @user",
                          "⏰ Срочное дело #{id} ({who}, {stage}) никто не взял за {minutes} "
                          "мин. Назначьте: /assign {id} @user"),
    "track_hit": ("🔎 Your track {query} matches case #{id}: {who} — {stage}.",
                  "🔎 Ваше отслеживание {query} совпало с делом #{id}: {who} — {stage}."),
    "assigned": ("📌 A coordinator assigned case #{id} to you: {who} — {stage}.",
                 "📌 Координатор назначил вам дело #{id}: {who} — {stage}."),
    "digest_head": ("🗞 Daily digest: {n} new case(s) that are not urgent",
                    "🗞 Сводка за день: новых несрочных дел — {n}"),
    "digest_more": ("Full card: /case ID", "Полная карточка: /case ID"),
    # ── buttons ──
    "btn_take": ("🙋 Take case", "🙋 Беру"),
    "btn_release": ("↩️ Release", "↩️ Отказаться"),
    "btn_resolved": ("✅ Resolved", "✅ Решено"),
    "btn_irrelevant": ("⚪ Not relevant", "⚪ Не по теме"),
    "btn_sources": ("🔗 Sources", "🔗 Источники"),
    "btn_reopen": ("🔄 Reopen", "🔄 Вернуть в работу"),
    # ── button answers ──
    "took": ("You took case #{id}. Thank you!", "Вы взяли дело #{id}. Спасибо!"),
    "released": ("You released case #{id}.", "Вы отказались от дела #{id}."),
    "resolved": ("Case #{id} marked resolved.", "Дело #{id} отмечено как решённое."),
    "irrelevant": ("Case #{id} marked not relevant.", "Дело #{id} отмечено как нерелевантное."),
    "reopened": ("Case #{id} reopened.", "Дело #{id} снова в работе."),
    "already_taken": ("{name} has already taken case #{id}.", "Дело #{id} уже взял(а) {name}."),
    "not_yours": ("Only {name} (who took it) or a coordinator can do that.",
                  "Это может сделать только {name} (кто взял дело) или координатор."),
    "not_open": ("Case #{id} is closed; a coordinator can reopen it.",
                 "Дело #{id} закрыто; координатор может вернуть его в работу."),
    "not_claimed_yet": ("Nobody has taken case #{id}.", "Дело #{id} никто не брал."),
    "race": ("Case #{id} changed meanwhile; look at the card and try again.",
             "Дело #{id} тем временем изменилось; посмотрите карточку и попробуйте снова."),
    "sources_sent": ("The sources are in our private chat.", "Источники — в личном чате."),
    "sources_blocked": ("Open a private chat with me and press Start; then try again.",
                        "Откройте личный чат со мной и нажмите Start; затем попробуйте снова."),
    "no_case": ("There is no case #{id}.", "Дела #{id} нет."),
    "bad_button": ("This button is out of date.", "Эта кнопка устарела."),
    # ── roles ──
    "refused": ("Refused: {action} needs the {needed} role (you are {role}). Nothing was "
                "changed.",
                "Отказано: для {action} нужна роль «{needed}» (ваша роль: {role}). "
                "Ничего не изменено."),
    "role_none": ("not a member", "посторонний"),
    "role_volunteer": ("volunteer", "волонтёр"),
    "role_coordinator": ("coordinator", "координатор"),
    "role_admin": ("admin", "администратор"),
    "error": ("Something went wrong on our side; nothing was changed. It has been logged.",
              "Что-то пошло не так у нас; ничего не изменено. Ошибка записана в журнал."),
    # ── /start, /help, /lang ──
    "intro": ("deportwatch watches news, Telegram channels and court registries for people "
              "at risk of deportation or extradition, and posts a case card so that a lawyer "
              "can act before the handover.",
              "deportwatch следит за новостями, Telegram-каналами и судебными реестрами в "
              "поисках людей, которым грозит депортация или экстрадиция, и публикует карточку "
              "дела, чтобы юрист успел вмешаться до передачи."),
    "commands": ("Commands:", "Команды:"),
    "your_role": ("Your role: {role}.", "Ваша роль: {role}."),
    "lang_set": ("Language: English.", "Язык: русский."),
    "lang_usage": ("Usage: /lang en|ru", "Использование: /lang en|ru"),
    # ── volunteers ──
    "subscribed": ("Subscribed: case cards will come to this chat{filters}. /unsubscribe to "
                   "stop, /mute HOURS to pause.",
                   "Подписка оформлена: карточки будут приходить сюда{filters}. /unsubscribe — "
                   "отписаться, /mute ЧАСЫ — пауза."),
    "filters": (" (only: {filters})", " (только: {filters})"),
    "subscribe_private": ("Subscribe in a private chat with me: cards come to the chat "
                          "where you subscribe.",
                          "Подпишитесь в личном чате со мной: карточки приходят туда, где вы "
                          "подписались."),
    "subscribe_usage": ("Not subscribed: {word!r} is not a country, a kind (deportation, "
                        "extradition, expulsion, asylum) or 'urgent'.",
                        "Подписка не оформлена: {word!r} — не страна, не вид (deportation, "
                        "extradition, expulsion, asylum) и не 'urgent'."),
    "unsubscribed": ("Unsubscribed. /subscribe to start again.",
                     "Подписка отменена. /subscribe — подписаться снова."),
    "not_subscribed": ("This chat is not subscribed. /subscribe first.",
                       "Этот чат не подписан. Сначала /subscribe."),
    "muted": ("Muted until {until}. /subscribe to unmute.",
              "Без уведомлений до {until}. /subscribe — включить снова."),
    "mute_usage": ("Usage: /mute HOURS (1 to 720)", "Использование: /mute ЧАСЫ (от 1 до 720)"),
    "no_cases": ("No open cases.", "Открытых дел нет."),
    "cases_head": ("Open cases, newest first:", "Открытые дела, сначала новые:"),
    "case_usage": ("Usage: /case ID", "Использование: /case ID"),
    # ── coordinators ──
    "track_usage": ("Usage: /track NAME — for example /track Жилин М.А. or /track Mikhail "
                    "Zhilin",
                    "Использование: /track ИМЯ — например /track Жилин М.А. или /track "
                    "Mikhail Zhilin"),
    "not_tracked": ("Not tracked: {reason}", "Не отслеживается: {reason}"),
    "tracking": ("Tracking #{id}: {query}", "Отслеживание #{id}: {query}"),
    "variants": ("Matches spellings such as: {variants}", "Совпадёт с написаниями: {variants}"),
    "stored_hits": ("Stored items from the last 90 days that match: {n}",
                    "Совпадений среди сохранённого за 90 дней: {n}"),
    "untrack_usage": ("Usage: /untrack NAME or /untrack ID", "Использование: /untrack ИМЯ или ID"),
    "untracked": ("No longer tracking: {tracks}", "Больше не отслеживается: {tracks}"),
    "no_such_track": ("No such track. /tracks lists them.",
                      "Такого отслеживания нет. Список: /tracks"),
    "no_tracks": ("No tracks. /track NAME adds one.", "Отслеживаний нет. Добавить: /track ИМЯ"),
    "tracks_head": ("Tracks:", "Отслеживания:"),
    "assign_usage": ("Usage: /assign CASE_ID @username|USER_ID",
                     "Использование: /assign ID_ДЕЛА @username|ID_ПОЛЬЗОВАТЕЛЯ"),
    "unknown_user": ("I do not know {user} yet: ask them to send me /start, or use their "
                     "numeric id.",
                     "Я пока не знаю {user}: попросите написать мне /start или укажите "
                     "числовой id."),
    "not_volunteer": ("{user} is not a volunteer (not in the alert group, not subscribed, no "
                      "role): add them to the group first.",
                      "{user} — не волонтёр (не в группе оповещений, не подписан(а), без роли): "
                      "сначала добавьте в группу."),
    "assigned_ok": ("Case #{id} assigned to {name}; they are told in private.",
                    "Дело #{id} назначено: {name}; ему(ей) сообщено в личку."),
    # ── admins ──
    "added": ("Added feed #{id} ({kind}, every {interval} s): {url}\nFirst poll now.",
              "Источник #{id} добавлен ({kind}, каждые {interval} с): {url}\nПервый опрос — "
              "сейчас."),
    "added_warning": ("\nWarning: {warning}", "\nВнимание: {warning}"),
    "already_watching": ("Already watching this source as feed #{id}.",
                         "Этот источник уже отслеживается: #{id}."),
    "not_added": ("Not added: {reason}", "Не добавлено: {reason}"),
    "health_paused": ("paused ({reason})", "приостановлен ({reason})"),
    "by_admin": ("by an admin", "администратором"),
    "health_failing": ("failing ×{n}: {error}", "ошибки ×{n}: {error}"),
    "health_ok": ("ok, last success {when}", "работает, последний успех {when}"),
    "health_new": ("not polled yet", "ещё не опрашивался"),
    "feed_head": ("#{id} <b>{title}</b> ({kind}, every {interval} s, {items} items seen)",
                  "#{id} <b>{title}</b> ({kind}, каждые {interval} с, материалов: {items})"),
    "removefeed_usage": ("Usage: /removefeed ID", "Использование: /removefeed ID"),
    "feed_removed": ("Removed feed #{id}: {url}. Its items and cases stay.",
                     "Источник #{id} удалён: {url}. Его материалы и дела сохранены."),
    "no_feed": ("There is no feed #{id}. /feeds lists them.",
                "Источника #{id} нет. Список: /feeds"),
    "pause_usage": ("Usage: /pausefeed ID or /resumefeed ID",
                    "Использование: /pausefeed ID или /resumefeed ID"),
    "feed_paused": ("Feed #{id} paused.", "Источник #{id} приостановлен."),
    "feed_resumed": ("Feed #{id} resumed; polling now.",
                     "Источник #{id} возобновлён; опрашиваю сейчас."),
    "grant_usage": ("Usage: /grant USER_ID coordinator|admin|volunteer",
                    "Использование: /grant ID_ПОЛЬЗОВАТЕЛЯ coordinator|admin|volunteer"),
    "granted": ("User {user} is now {role}.", "Пользователь {user} теперь: {role}."),
    "revoke_usage": ("Usage: /revoke USER_ID", "Использование: /revoke ID_ПОЛЬЗОВАТЕЛЯ"),
    "revoked": ("Revoked {role} from user {user}.", "У пользователя {user} снята роль: {role}."),
    "nothing_to_revoke": ("User {user} has no granted role (roles from settings or group "
                          "admin rights are changed there).",
                          "У пользователя {user} нет выданной роли (роли из настроек или прав "
                          "администратора группы меняются там)."),
    "no_feeds": ("No sources yet. Admins add them with /addfeed URL.",
                 "Источников пока нет. Администраторы добавляют их командой /addfeed URL."),
    "status": ("Status\n"
               "Outbox: {pending} waiting, {sending} sending, {sent} sent, {failed} failed "
               "({failed_day} in the last 24 h)\n"
               "Last poll: {last_poll}\n"
               "Feeds: {feeds} ({paused} paused, {failing} failing)\n"
               "Open cases: {open} ({urgent} urgent and not taken)",
               "Состояние\n"
               "Очередь: ждут {pending}, отправляются {sending}, отправлено {sent}, "
               "ошибок {failed} (за 24 ч: {failed_day})\n"
               "Последний опрос: {last_poll}\n"
               "Источники: {feeds} (приостановлено {paused}, с ошибками {failing})\n"
               "Открытых дел: {open} (срочных и не взятых: {urgent})"),
    "never": ("never", "ещё не было"),
    "last_failure": ("Last delivery failure: {error}", "Последняя ошибка доставки: {error}"),
    "inactive_chat": ("Inactive chat {chat}: {reason}", "Неактивный чат {chat}: {reason}"),
}

STAGES: dict[Stage, tuple[str, str]] = {
    Stage.DETAINED: ("detained", "задержан(а)"),
    Stage.ASYLUM_REFUSED: ("asylum refused", "отказ в убежище"),
    Stage.COURT_ORDER: ("removal ordered by a court", "суд постановил выдворить"),
    Stage.APPEAL_REJECTED: ("appeal rejected", "жалоба отклонена"),
    Stage.IMMINENT: ("removal imminent", "выдворение неминуемо"),
    Stage.REMOVED: ("removed / handed over", "выдворен(а) / передан(а)"),
    Stage.RELEASED: ("released", "освобождён(а)"),
    Stage.REFUSED: ("removal refused or quashed", "в выдаче отказано / решение отменено"),
    Stage.INTERIM_MEASURES: ("interim measures requested", "запрошены срочные меры"),
}
KINDS: dict[CaseKind, tuple[str, str]] = {
    CaseKind.DEPORTATION: ("DEPORTATION", "ДЕПОРТАЦИЯ"),
    CaseKind.EXTRADITION: ("EXTRADITION", "ЭКСТРАДИЦИЯ"),
    CaseKind.EXPULSION: ("EXPULSION", "ВЫДВОРЕНИЕ"),
    CaseKind.ASYLUM: ("ASYLUM", "УБЕЖИЩЕ"),
}
EVENTS: dict[str, tuple[str, str]] = {
    "new": ("first report", "первое сообщение"),
    "escalate": ("report: stage went up", "сообщение: стадия повысилась"),
    "update": ("report: new details", "сообщение: новые подробности"),
    "quiet": ("report: nothing new", "сообщение: без новых сведений"),
    "claim": ("taken by {user}", "взял(а) {user}"),
    "release": ("released by {user}", "отказ(ался/лась): {user}"),
    "assign": ("assigned to {user}", "назначено: {user}"),
    "resolve": ("marked resolved", "отмечено как решённое"),
    "irrelevant": ("marked not relevant", "отмечено как нерелевантное"),
    "reopen": ("reopened", "возвращено в работу"),
}


def lang_of(value: str | None, default: str = "en") -> str:
    """A supported language for a stored or Telegram ``language_code`` value."""
    code = (value or "").lower()[:2]
    return code if code in LANGS else default


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "ru" else pair[0]


def t(lang: str, key: str, **values: object) -> str:
    """The text ``key`` in ``lang`` with ``values`` formatted in."""
    text = _pick(TEXT[key], lang)
    return text.format(**values) if values else text


def stage_name(lang: str, stage: Stage | None) -> str:
    if stage is None:
        return "stage unknown" if lang != "ru" else "стадия неизвестна"
    return _pick(STAGES[stage], lang)


def kind_name(lang: str, kind: CaseKind | None) -> str:
    if kind is None:
        return "REMOVAL" if lang != "ru" else "ВЫДВОРЕНИЕ"
    return _pick(KINDS[kind], lang)


def event_name(lang: str, change: str, user: str | None) -> str:
    pair = EVENTS.get(change)
    if pair is None:
        return change
    return _pick(pair, lang).format(user=user or "?")
