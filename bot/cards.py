"""Case cards and the other case messages (pure): ``CaseView`` → Telegram HTML + buttons.

Every untrusted string (names, titles, outlets, URLs, courts, user names) goes
through ``html.escape``; only http(s) links become ``<a href>``. A card stays under
Telegram's 4,096-character limit by trimming the source list with "+N more", never
by cutting inside a tag. Buttons carry ``c:ACTION:CASE_ID`` callback data (at most 64
bytes by construction).

Must not send anything, read the clock or import telegram (buttons are plain data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape, unescape

from bot.i18n import event_name, kind_name, stage_name, t
from feeds.match import country_names
from feeds.models import CaseStatus, CaseView

MAX_CARD = 4096
MAX_CALLBACK = 64
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]+>")
ACTIONS = ("take", "release", "resolve", "irrelevant", "sources", "reopen")


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str   # callback data, at most 64 bytes


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class Card:
    html: str
    buttons: Keyboard = ()


def callback_data(action: str, case_id: int) -> str:
    data = f"c:{action}:{case_id}"
    assert action in ACTIONS and len(data.encode()) <= MAX_CALLBACK
    return data


def parse_callback(data: str | None) -> tuple[str, int] | None:
    """``c:take:12`` → ("take", 12); None for anything else."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "c" or parts[1] not in ACTIONS or \
            not (parts[2].isascii() and parts[2].isdigit()) or len(parts[2]) > 18:
        return None
    return parts[1], int(parts[2])


def when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "?"


def link(url: str, text: str, limit: int = 300) -> str:
    """An escaped link with its text shortened to ``limit`` characters; a URL that is not
    http(s) (``javascript:``…) or absurdly long is shown as text only."""
    if url.lower().startswith(("http://", "https://")) and len(url) <= 2000:
        return f'<a href="{escape(url, quote=True)}">{short(text, limit)}</a>'
    return short(text, limit)


def country(lang: str, code: str) -> str:
    names = country_names().get(code)
    if names is None:
        return code
    return names[1] if lang == "ru" else names[0]


def headline(case: CaseView, lang: str = "en") -> str:
    """The first line: urgency, kind, countries (from → to); already escaped."""
    flag = t(lang, "urgent") if case.urgent else t(lang, "watch")
    route = " → ".join(country(lang, c) for c in case.countries) if case.countries \
        else t(lang, "countries_unknown")
    return f"{flag} · {escape(kind_name(lang, case.kind))} · {short(route, 200)}"


_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (most emoji count two)."""
    return len(text.encode("utf-16-le")) // 2


def short(text: str, limit: int = 300) -> str:
    """Untrusted text without direction overrides (which can make a card read
    backwards), escaped, and at most ``limit`` UTF-16 units long once escaped (cut
    between characters, never inside an entity)."""
    text = text.translate(_BIDI)
    escaped = escape(text)
    if units(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 1                                    # the closing "…"
    for char in text:
        piece = escape(char)
        size = units(piece)
        if used + size > limit:
            break
        out.append(piece)
        used += size
    return "".join(out) + "…"


def who(case: CaseView, lang: str = "en") -> str:
    """The person's name(s), shortened and escaped."""
    return short(" / ".join(case.persons) or t(lang, "name_unknown"))


def buttons(case: CaseView, lang: str = "en") -> Keyboard:
    """Take or Release, Resolved, Not relevant, Sources — or Reopen on a closed case."""
    def b(key: str, action: str) -> Button:
        return Button(t(lang, key), callback_data(action, case.id))

    if case.status is not CaseStatus.OPEN:
        return ((b("btn_reopen", "reopen"), b("btn_sources", "sources")),)
    first = b("btn_release", "release") if case.claimed_by_id is not None else \
        b("btn_take", "take")
    return ((first,), (b("btn_resolved", "resolve"), b("btn_irrelevant", "irrelevant"),
                       b("btn_sources", "sources")))


def _head(case: CaseView, lang: str) -> list[str]:
    langs = sorted({i.lang for i in case.items if i.lang and i.lang != "und"})
    outlets = {i.source for i in case.items}
    return [
        f"<b>{headline(case, lang)}</b>",
        f"<b>{who(case, lang)}</b>",
        t(lang, "stage_line", stage=escape(stage_name(lang, case.stage)),
          when=when(case.stage_at or case.updated)),
        *([t(lang, "court_line", court=short(case.court))] if case.court else []),
        t(lang, "sources_line", outlets=len(outlets), reports=len(case.items))
        + (t(lang, "in_langs", langs=short(", ".join(langs), 100)) if langs else ""),
        t(lang, "first_seen", when=when(case.first_seen)),
    ]


def _tail(case: CaseView, tracks: Sequence[str], lang: str) -> list[str]:
    out = [t(lang, "tracks_line", tracks=short(", ".join(tracks)))] if tracks else []
    out.append(t(lang, "claimed_by", id=case.id, name=short(case.claimed_by, 100))
               if case.claimed_by else t(lang, "not_claimed", id=case.id))
    if case.status is CaseStatus.RESOLVED:
        out.append(t(lang, "status_resolved"))
    elif case.status is CaseStatus.IRRELEVANT:
        out.append(t(lang, "status_irrelevant"))
    return out


def _source_lines(case: CaseView) -> list[str]:
    return [f"• {link(i.url, i.title or i.url)} — {short(i.source, 100)}" for i in case.items]


def _fit(lines: list[str], budget: int, lang: str) -> list[str]:
    """As many whole lines as fit in ``budget`` characters, then "+N more"."""
    shown: list[str] = []
    for line in lines:
        if units(line) + 1 > budget:
            break
        shown.append(line)
        budget -= units(line) + 1
    if len(shown) < len(lines):
        shown.append(t(lang, "more", n=len(lines) - len(shown)))
    return shown


def render_card(case: CaseView, *, tracks: Sequence[str] = (), lang: str = "en") -> Card:
    """The card for a case, in Telegram HTML, at most 4,096 characters, with buttons."""
    head, tail = _head(case, lang), _tail(case, tracks, lang)
    budget = MAX_CARD - units("\n".join(head + tail)) - 40
    html = "\n".join([*head, "", *_fit(_source_lines(case), budget, lang), "", *tail])
    assert units(html) <= MAX_CARD
    return Card(html, buttons(case, lang))


def _clip(line: str, limit: int) -> str:
    """Shorten a line of HTML to at most ``limit`` characters: its tags are dropped and
    its text shortened so that, escaped again, it still fits (never a cut entity)."""
    return short(unescape(_TAG.sub("", line)), limit) or "…"


def render_full(case: CaseView, *, tracks: Sequence[str] = (), lang: str = "en"
                ) -> list[str]:
    """``/case ID``: the card, the timeline and every source, split into messages of at
    most 4,096 characters at line boundaries."""
    lines = [*_head(case, lang), *_tail(case, tracks, lang), "", f"<b>{t(lang, 'timeline')}</b>"]
    lines += [f"{when(e.at)} — {short(event_name(lang, e.change, e.user), 300)}"
              + (f" ({escape(stage_name(lang, e.stage))})" if e.stage else "")
              for e in case.events]
    lines += ["", f"<b>{t(lang, 'all_sources')}</b>", *_source_lines(case)]
    return split_messages(lines)


def split_messages(lines: Sequence[str], limit: int = MAX_CARD) -> list[str]:
    """Join lines into messages of at most ``limit`` UTF-16 units (a longer line is
    shortened as text, never cut inside a tag); blank messages are dropped."""
    out: list[str] = []
    current = ""
    for line in lines:
        if units(line) > limit - 10:
            line = _clip(line, limit - 10)
        if current and units(current) + 1 + units(line) > limit:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return [part for part in out if part.strip()]


def render_escalation(case: CaseView, lang: str = "en") -> str:
    """A short reply to the card when the stage moves further toward removal."""
    name = f"<b>{short(case.persons[0])}</b>" if case.persons else f"#{case.id}"
    return t(lang, "escalation", who=name, stage=f"<b>{escape(stage_name(lang, case.stage))}</b>")


def render_notice(kind: str, case: CaseView, *, lang: str = "en", minutes: float = 0,
                  query: str = "") -> str:
    """The short case messages: reannounce, coordinator_alert, track_hit, assigned."""
    return t(lang, kind, id=case.id, who=f"<b>{who(case, lang)}</b>",
             stage=escape(stage_name(lang, case.stage)), minutes=f"{minutes:g}",
             query=f"<b>{short(query)}</b>")


def render_digest(cases: Sequence[CaseView], lang: str = "en") -> list[str]:
    """The daily digest of non-urgent cases: one line each."""
    lines = [f"<b>{t(lang, 'digest_head', n=len(cases))}</b>"]
    lines += [case_line(c, lang) for c in cases]
    lines.append(t(lang, "digest_more"))
    return split_messages(lines)


def case_line(case: CaseView, lang: str = "en") -> str:
    """One line of /cases and of the digest."""
    flag = "🔴" if case.urgent else "🟡"
    taken = f" · 🙋 {short(case.claimed_by, 100)}" if case.claimed_by else ""
    return (f"{flag} #{case.id} <b>{who(case, lang)}</b> — "
            f"{escape(stage_name(lang, case.stage))}{taken}")


def render_plain(case: CaseView, *, tracks: Sequence[str] = ()) -> str:
    """The card as console text (for ``scan``, ``demo`` and token-less ``run``): tags
    removed, each link written as ``text (URL)``."""
    html = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})",
                     render_card(case, tracks=tracks).html)
    return strip_tags(html)


def strip_tags(html: str) -> str:
    """Telegram HTML → plain text (tags dropped, entities decoded)."""
    return unescape(_TAG.sub("", html))
