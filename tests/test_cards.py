"""Unit tests for bot.cards: escaping, the 4,096-character limit, headline and plain text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.cards import MAX_CARD, headline, render_card, render_escalation, render_plain
from feeds.models import CaseKind, CaseView, ItemView, Stage

T = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


class _Tags(HTMLParser):
    """Collects start/end tag names and <a href> values of Telegram HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[str] = []
        self.ends: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)


def tags(html: str) -> _Tags:
    """Parse a card and return what tags it holds."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def view(*, items: tuple[ItemView, ...] = (), persons: tuple[str, ...] = ("Mikhail Zhilin",),
         countries: tuple[str, ...] = ("KZ", "RU"), urgent: bool = True,
         kind: CaseKind | None = CaseKind.EXTRADITION, stage: Stage | None = Stage.REMOVED,
         claimed_by: str | None = None) -> CaseView:
    """A case view with sensible defaults."""
    return CaseView(id=5, kind=kind, stage=stage, urgent=urgent, person_key="jilin",
                    persons=persons, countries=countries, first_seen=T, updated=T, items=items,
                    claimed_by=claimed_by)


def news(i: int, *, url: str = "", title: str = "", source: str = "Outlet",
         lang: str = "en") -> ItemView:
    """One item of a case."""
    return ItemView(id=i, url=url or f"https://news.example/{i}", title=title or f"Story {i}",
                    source=source, lang=lang, published=T, first_seen=T)


HOSTILE_URL = 'https://e.example/a?x=1&y="2"><script>alert(1)</script>'
HOSTILE = view(
    persons=("<script>alert('p')</script> & \"M\"",),
    items=(news(1, url=HOSTILE_URL, title="<script>alert(1)</script> & \"co\"",
                source="Out<let> & Co <b>"),
           news(2, url="javascript:alert(1)\" onclick=\"x", title="<a href='x'>t</a>")),
    claimed_by="<i>coord</i>",
)


@pytest.mark.parametrize(
    ("case", "tracks"),
    [(HOSTILE, ()), (HOSTILE, ("Жилин <M>", "</b><script>")), (view(), ())],
    ids=["hostile", "hostile-with-tracks", "plain"],
)
def test_card_escapes_everything_untrusted(case: CaseView, tracks: tuple[str, ...]) -> None:
    """Hostile names, titles, outlets and URLs leave no raw <script>; only <b> and <a> exist."""
    card = render_card(case, tracks=tracks).html
    assert "<script" not in card.lower()
    found = tags(card)
    assert set(found.starts) <= {"b", "a"}
    web_links = [i for i in case.items if i.url.startswith(("http://", "https://"))]
    assert found.starts.count("a") == found.ends.count("a") == len(web_links)
    assert found.starts.count("b") == found.ends.count("b")


def test_href_round_trips_quotes_and_ampersands() -> None:
    """A URL with quotes and & is escaped in href and reads back unchanged."""
    card = render_card(HOSTILE).html
    # Only http(s) URLs become links; the javascript: one is shown as escaped text.
    assert tags(card).hrefs == [HOSTILE_URL]
    assert "&amp;y=&quot;2&quot;" in card


def test_escalation_escapes_the_name() -> None:
    """The escalation reply escapes the person's name too."""
    text = render_escalation(HOSTILE)
    assert "<script" not in text and set(tags(text).starts) == {"b"}


def test_many_long_items_stay_under_the_limit() -> None:
    """300 long items are trimmed to fit 4,096 characters, ending with '+N more', tags closed."""
    items = tuple(news(i, url=f"https://example.org/news/{i}/" + "x" * 150,
                       title="Title & " + "y" * 150 + f" {i}") for i in range(300))
    card = render_card(view(items=items), tracks=("Zhilin",)).html
    assert len(card) <= MAX_CARD
    lines = card.split("\n")
    shown = [line for line in lines if line.startswith("• ")]
    more = [line for line in lines if re.fullmatch(r"\+\d+ more", line)]
    assert 0 < len(shown) < 300
    assert more == [f"+{300 - len(shown)} more"]
    assert lines.index(more[0]) == lines.index(shown[-1]) + 1
    found = tags(card)
    assert found.starts.count("a") == found.ends.count("a") == len(shown)


def test_one_huge_title_is_shortened_as_text() -> None:
    """A 5,000-character title is shortened inside its link (never cut inside a tag)."""
    card = render_card(view(items=(news(1, title="&" * 5000),))).html
    assert len(card) <= MAX_CARD
    assert card.count("<a ") == card.count("</a>") == 1
    assert "&amp;…</a>" in card and card.count("&amp;") < 400


@pytest.mark.parametrize(
    ("case", "parts", "absent"),
    [
        (view(), ["URGENT", "EXTRADITION", "Kazakhstan → Russia"], ["watch"]),
        (view(urgent=False, kind=None, countries=()), ["watch", "REMOVAL", "countries unknown"],
         ["URGENT"]),
        (view(countries=("RU",), kind=CaseKind.DEPORTATION), ["URGENT", "DEPORTATION", "Russia"],
         ["→"]),
    ],
    ids=["urgent-route", "watch-unknowns", "one-country"],
)
def test_headline(case: CaseView, parts: list[str], absent: list[str]) -> None:
    """The headline shows urgency, kind and the from → to route, and opens the card in bold."""
    line = headline(case)
    assert all(p in line for p in parts)
    assert not any(a in line for a in absent)
    assert render_card(case).html.startswith(f"<b>{line}</b>\n")


def test_render_plain_has_no_tags() -> None:
    """The console card has no markup and shows names, titles and outlets unescaped."""
    case = view(persons=("Zhilin & Co",), items=(news(1, title="A & B", source="Outlet"),))
    plain = render_plain(case, tracks=("Zhilin",))
    assert not re.search(r"</?[a-z][^>]*>", plain)
    assert "&amp;" not in plain
    assert "Zhilin & Co" in plain and "A & B (https://news.example/1) — Outlet" in plain


def test_render_plain_includes_urls() -> None:
    """The console card still shows each source's URL."""
    items = (news(1, url="https://news.example/1"), news(2, url="https://news.example/2?a=1&b=2"))
    plain = render_plain(view(items=items))
    assert "https://news.example/1" in plain
    assert "https://news.example/2?a=1&b=2" in plain


def test_direction_overrides_are_removed() -> None:
    """Right-to-left override characters in a name or title cannot reorder the card."""
    case = view(persons=("Ivan \u202ePetrov",), items=(news(1, title="a\u2066b\u202ec"),))
    card = render_card(case).html
    assert not any(ch in card for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "Ivan Petrov" in card and "abc" in card
