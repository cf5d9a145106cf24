"""Case cards (pure): a ``CaseView`` → Telegram HTML.

Every untrusted string (names, titles, outlets, URLs) goes through ``html.escape``;
the card stays under Telegram's 4,096-character limit by trimming the source list
with "+N more", never by cutting inside a tag.

Must not send anything or read the clock (``now`` is a parameter).
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape, unescape

from feeds.models import CaseView, Stage

MAX_CARD = 4096
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>')
_TAG = re.compile(r"<[^>]+>")
_STAGE_LABEL = {
    Stage.DETAINED: "detained", Stage.ASYLUM_REFUSED: "asylum refused",
    Stage.COURT_ORDER: "removal ordered by a court", Stage.APPEAL_REJECTED: "appeal rejected",
    Stage.IMMINENT: "removal imminent", Stage.REMOVED: "removed / handed over",
    Stage.RELEASED: "released", Stage.REFUSED: "removal refused or quashed",
    Stage.INTERIM_MEASURES: "interim measures requested",
}


def _when(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def stage_label(stage: Stage | None) -> str:
    return _STAGE_LABEL.get(stage, "stage unknown") if stage else "stage unknown"


def link(url: str, text: str) -> str:
    """An escaped link; a URL that is not http(s) (``javascript:``…) is shown as text."""
    if url.lower().startswith(("http://", "https://")):
        return f'<a href="{escape(url, quote=True)}">{escape(text)}</a>'
    return escape(text)


def headline(case: CaseView) -> str:
    """The first line: urgency, kind, countries (from → to)."""
    flag = "🔴 URGENT" if case.urgent else "🟡 watch"
    kind = (case.kind.value if case.kind else "removal").upper()
    route = " → ".join(case.countries) if case.countries else "countries unknown"
    return f"{flag} · {escape(kind)} · {escape(route)}"


def render_card(case: CaseView, *, tracks: tuple[str, ...] = ()) -> str:
    """The full card for a case, in Telegram HTML, at most 4,096 characters."""
    langs = sorted({i.lang for i in case.items if i.lang and i.lang != "und"})
    outlets = {i.source for i in case.items}
    head = [
        f"<b>{headline(case)}</b>",
        f"<b>{escape(' / '.join(case.persons) or 'name unknown')}</b>",
        f"Stage: {escape(stage_label(case.stage))} (updated {_when(case.updated)})",
        *([f"Court: {escape(case.court)}"] if case.court else []),
        f"Sources: {len(outlets)} outlet(s), {len(case.items)} report(s)"
        + (f" in {escape(', '.join(langs))}" if langs else ""),
        f"First seen: {_when(case.first_seen)}",
    ]
    tail = [f"Case #{case.id} · claimed by {escape(case.claimed_by)}" if case.claimed_by
            else f"Case #{case.id} · not claimed yet"]
    if tracks:
        tail.insert(0, "Tracks: " + escape(", ".join(tracks)))
    lines = [f"• {link(i.url, i.title or i.url)} — {escape(i.source)}" for i in case.items]
    budget = MAX_CARD - len("\n".join(head + tail)) - 40
    shown: list[str] = []
    for line in lines:
        if len(line) + 1 > budget:
            break
        shown.append(line)
        budget -= len(line) + 1
    if len(shown) < len(lines):
        shown.append(f"+{len(lines) - len(shown)} more")
    card = "\n".join([*head, "", *shown, "", *tail])
    assert len(card) <= MAX_CARD
    return card


def render_escalation(case: CaseView) -> str:
    """A short reply to the card when the stage moves further toward removal."""
    who = escape(case.persons[0]) if case.persons else f"case #{case.id}"
    return f"⬆️ <b>{who}</b>: now <b>{escape(stage_label(case.stage))}</b>"


def render_plain(case: CaseView, *, tracks: tuple[str, ...] = ()) -> str:
    """The card as console text (for ``scan``, ``demo`` and token-less ``run``): tags
    removed, each link written as ``text (URL)``."""
    html = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", render_card(case, tracks=tracks))
    return strip_tags(html)


def strip_tags(html: str) -> str:
    """Telegram HTML → plain text (tags dropped, entities decoded)."""
    return unescape(_TAG.sub("", html))
