"""Property-based tests (hypothesis): untrusted text always renders to messages Telegram
accepts, callback data always round-trips, and name handling never raises.

"Accepted" means the in-repo fake Telegram API accepts the message (``_check_text`` of
tests/fakes/telegram_api.py: only Telegram's tags, balanced, non-empty, visible text at
most 4,096 UTF-16 units, callback data 1..64 bytes), plus our own check that the raw
HTML has no stray ``<``, ``>`` or ``&``, that every ``<a>`` carries an http(s) ``href``
and that no other attribute appears.

Two bugs these properties found are fixed and pinned by the regression tests at the
end of this file: card lines capped before escaping (one character escapes to six)
or not at all, and lengths counted in characters where Telegram counts UTF-16 units.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards import (
    ACTIONS,
    MAX_CALLBACK,
    MAX_CARD,
    Card,
    callback_data,
    case_line,
    link,
    parse_callback,
    render_card,
    render_digest,
    render_escalation,
    render_full,
    render_notice,
    split_messages,
    units,
)
from bot.i18n import EVENTS
from feeds.match import analyze, country_names
from feeds.models import CaseEvent, CaseKind, CaseStatus, CaseView, ItemView, Stage
from feeds.names import mentions, parse_query, skeleton, split_name, surname_key, variants
from feeds.text import fold, fold_words, html_to_text
from tests.fakes.telegram_api import _ApiError, _check_text

T = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


def examples(n: int) -> settings:
    """``n`` examples, no deadline: big cases take a while to build and to render."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ── strategies ─────────────────────────────────────────────────────────────────────

#: Pieces that break naive HTML or length arithmetic: markup, quotes and entities (four to
#: six characters once escaped), newlines, NUL, bidi controls, combining and NFKC-expanding
#: letters, names in both scripts, emoji inside and outside the BMP.
NASTY = (
    "<", ">", "&", '"', "'", "<script>", "</script>", "<b>", "</b>", "</a>",
    "<a href='javascript:x'>", '" onclick="x', "&amp;", "&#x27;", "&lt;", "&#0;",
    "\n", "\r\n", "\t", " ", "\x00", "\u200f", "\u200e", "\u202e", "\u2066", "\ufeff",
    "\u00a0", "a\u0301", "ﬁ", "İ", "ß", "ё", "…", "·", "—", ":", "c:take:1",
    "Жилин", "Zhilin", "М.А.", "O'ktamov", "Xəlilov", "☀", "✅", "⚠️", "❤️",
    "😀", "👨‍👩‍👧", "🇷🇺", "𝐁𝐨𝐥𝐝",
)
BMP_NASTY = tuple(p for p in NASTY if all(ord(c) <= 0xFFFF for c in p))
LONG = 6000


def texts(max_size: int = 300, *, astral: bool = True) -> st.SearchStrategy[str]:
    """Arbitrary text (no surrogates), hostile pieces, and long repetitions of either.

    ``astral=False`` keeps to the Basic Multilingual Plane, where one character is one
    UTF-16 unit (see ``test_bug_astral_characters_overflow_the_card``)."""
    alphabet = st.characters(codec="utf-8",            # every character but surrogates
                             max_codepoint=None if astral else 0xFFFF)
    pieces = st.sampled_from(NASTY if astral else BMP_NASTY)
    plain = st.text(alphabet, max_size=min(max_size, 60))
    mixed = st.lists(st.one_of(pieces, st.text(alphabet, max_size=6)), max_size=30
                     ).map("".join)
    repeated = st.builds(lambda piece, n: piece * n,
                         st.one_of(pieces, st.text(alphabet, min_size=1, max_size=8)),
                         st.integers(1, max_size))
    return st.one_of(plain, mixed, repeated, st.builds(str.__add__, mixed, repeated)
                     ).map(lambda s: s[:max_size])


URL_PREFIXES = ("http://", "https://", "HTTPS://", "hTTp://", "javascript:", "JavaScript:",
                "data:", "data:text/html,", " https://", "ftp://", "")


def urls(*, astral: bool = True) -> st.SearchStrategy[str]:
    """Arbitrary strings, and arbitrary text behind web, script and data prefixes (some
    longer than the 2,000 characters a link may have)."""
    return st.one_of(texts(300, astral=astral),
                     st.builds(str.__add__, st.sampled_from(URL_PREFIXES),
                               texts(2100, astral=astral)))


ISO = sorted(country_names())
LANG_CODES = ("en", "ru", "kk", "ky", "uz", "tg", "und", "")
DATES = st.datetimes(timezones=st.just(UTC))
CASE_IDS = st.integers(0, 10**15)


def items(*, astral: bool = True) -> st.SearchStrategy[ItemView]:
    """A source of a case: hostile title, URL, outlet and language."""
    return st.builds(ItemView, id=CASE_IDS, url=urls(astral=astral),
                     title=texts(LONG, astral=astral), source=texts(LONG, astral=astral),
                     lang=st.one_of(st.sampled_from(LANG_CODES), texts(12, astral=astral)),
                     published=st.none() | DATES, first_seen=DATES)


def events(*, astral: bool = True) -> st.SearchStrategy[CaseEvent]:
    """A timeline line: known or arbitrary change, any stage, hostile user name."""
    return st.builds(CaseEvent, at=DATES,
                     change=st.one_of(st.sampled_from(sorted(EVENTS)), texts(300, astral=astral)),
                     stage=st.none() | st.sampled_from(Stage),
                     user=st.none() | texts(300, astral=astral))


def case_views(*, astral: bool = True, max_items: int = 60) -> st.SearchStrategy[CaseView]:
    """A case with hostile persons, countries, court, taker, sources and timeline."""
    some = texts(300, astral=astral)
    return st.builds(
        CaseView,
        id=CASE_IDS,
        kind=st.none() | st.sampled_from(CaseKind),
        stage=st.none() | st.sampled_from(Stage),
        urgent=st.booleans(),
        person_key=some,
        persons=st.lists(texts(LONG, astral=astral), max_size=5).map(tuple),
        countries=st.lists(st.one_of(st.sampled_from(ISO), texts(40, astral=astral)),
                           max_size=5).map(tuple),
        first_seen=DATES,
        updated=DATES,
        items=st.lists(items(astral=astral), max_size=max_items).map(tuple),
        claimed_by=st.none() | texts(LONG, astral=astral),
        court=st.none() | texts(LONG, astral=astral),
        status=st.sampled_from(CaseStatus),
        stage_at=st.none() | DATES,
        claimed_by_id=st.none() | st.integers(0, 10**12),
        events=st.lists(events(astral=astral), max_size=8).map(tuple),
    )


TRACKS = st.lists(texts(LONG), max_size=5).map(tuple)
BMP_TRACKS = st.lists(texts(LONG, astral=False), max_size=5).map(tuple)
LANGS = st.sampled_from(("en", "ru"))

#: What the untrusted lines at the top and bottom of a card may take, escaped, for the
#: source list to absorb the rest of the limit (labels and dates take about 260 more).
# ── what Telegram accepts ──────────────────────────────────────────────────────────

_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_RAW_TAG = re.compile(r'<a href="[^"<>]*">|</?[a-z][a-z-]*>')


class _Attributes(HTMLParser):
    """Collects what is wrong with the attributes of Telegram HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if tag != "a":
            if names:
                self.problems.append(f"<{tag}> has attributes {names}")
            return
        if names != ["href"]:
            self.problems.append(f"<a> has attributes {names}, not just href")
        elif not (attrs[0][1] or "").lower().startswith(("http://", "https://")):
            self.problems.append(f"<a> links to {attrs[0][1]!r}")


def telegram_refusal(html: str, markup: dict[str, Any] | None = None) -> str | None:
    """Why the fake Telegram API refuses ``html`` (or our own stricter check), or None."""
    params: dict[str, Any] = {"text": html, "parse_mode": "HTML"}
    if markup is not None:
        params["reply_markup"] = markup
    try:
        _check_text(params)
    except _ApiError as error:
        return error.description
    text = _RAW_TAG.sub("", html)
    if "<" in text or ">" in text or "&" in _ENTITY.sub("", text):
        return "stray <, > or & outside tags and entities"
    check = _Attributes()
    check.feed(html)
    check.close()
    return "; ".join(check.problems) or None


def assert_accepted(html: str, markup: dict[str, Any] | None = None) -> None:
    """The message is accepted and at most 4,096 characters long."""
    assert telegram_refusal(html, markup) is None, html
    assert len(html) <= MAX_CARD


def utf16(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def assert_accepted_but_utf16(html: str) -> None:
    """Accepted — except "too long" when astral characters (two UTF-16 units each) push
    a message of at most 4,096 characters over Telegram's 4,096 units (a pinned bug)."""
    assert len(html) <= MAX_CARD
    refusal = telegram_refusal(html)
    if refusal == "Bad Request: message is too long":
        assert utf16(html) > len(html), "too long without astral characters"
    else:
        assert refusal is None, html


def markup_of(card: Card) -> dict[str, Any]:
    """The card's buttons as the reply_markup of a sendMessage call."""
    return {"inline_keyboard": [[{"text": b.text, "callback_data": b.data} for b in row]
                                for row in card.buttons]}


def assert_buttons_round_trip(card: Card, case: CaseView) -> None:
    """Every button carries at most 64 bytes that parse back to an action on this case."""
    datas = [b.data for row in card.buttons for b in row]
    assert datas
    for data in datas:
        assert 1 <= len(data.encode()) <= MAX_CALLBACK
        parsed = parse_callback(data)
        assert parsed is not None and parsed[0] in ACTIONS and parsed[1] == case.id


# ── 1. the card ────────────────────────────────────────────────────────────────────


@examples(200)
@given(case=case_views(astral=False), tracks=BMP_TRACKS, lang=LANGS)
def test_card_is_accepted(case: CaseView, tracks: tuple[str, ...], lang: str) -> None:
    """Any case (BMP text) renders to a card ≤ 4,096 chars that Telegram accepts, buttons too."""
    card = render_card(case, tracks=tracks, lang=lang)
    assert_accepted(card.html, markup_of(card))
    assert_buttons_round_trip(card, case)


@examples(150)
@given(case=case_views(), tracks=TRACKS, lang=LANGS)
def test_card_is_accepted_any_unicode(case: CaseView, tracks: tuple[str, ...],
                                      lang: str) -> None:
    """Any case (any text) renders to valid Telegram HTML ≤ 4,096 chars with valid buttons."""
    card = render_card(case, tracks=tracks, lang=lang)
    assert_accepted_but_utf16(card.html)
    assert telegram_refusal("x", markup_of(card)) is None
    assert_buttons_round_trip(card, case)


# ── 2. the other case messages ─────────────────────────────────────────────────────


@examples(150)
@given(case=case_views(astral=False), tracks=BMP_TRACKS, lang=LANGS)
def test_full_case_messages_are_accepted(case: CaseView, tracks: tuple[str, ...],
                                         lang: str) -> None:
    """/case ID: every message of the full card (BMP text) is accepted and ≤ 4,096 chars."""
    messages = render_full(case, tracks=tracks, lang=lang)
    assert messages
    for html in messages:
        assert_accepted(html)


@examples(100)
@given(cases=st.lists(case_views(astral=False, max_items=0), max_size=25), lang=LANGS)
def test_digest_messages_are_accepted(cases: list[CaseView], lang: str) -> None:
    """Every message of the daily digest (BMP text) is accepted and ≤ 4,096 chars."""
    messages = render_digest(cases, lang)
    assert messages
    for html in messages:
        assert_accepted(html)


@examples(100)
@given(case=case_views(max_items=3), tracks=TRACKS, lang=LANGS)
def test_full_case_messages_any_unicode(case: CaseView, tracks: tuple[str, ...],
                                        lang: str) -> None:
    """/case ID with any text: valid Telegram HTML, every message ≤ 4,096 chars."""
    for html in render_full(case, tracks=tracks, lang=lang):
        assert_accepted_but_utf16(html)


@examples(150)
@given(case=case_views(max_items=0), lang=LANGS,
       kind=st.sampled_from(("reannounce", "coordinator_alert", "track_hit", "assigned")),
       query=texts(LONG), minutes=st.floats())
def test_short_messages_are_accepted(case: CaseView, lang: str, kind: str, query: str,
                                     minutes: float) -> None:
    """Escalation, notices and the /cases line (any text) are accepted and ≤ 4,096 chars."""
    assert_accepted(render_escalation(case, lang))
    assert_accepted(render_notice(kind, case, lang=lang, minutes=minutes, query=query))
    assert_accepted(case_line(case, lang))


# ── 3. splitting into messages ─────────────────────────────────────────────────────


def html_lines(*, astral: bool) -> st.SearchStrategy[str]:
    """A non-blank line of valid Telegram HTML, as the renderers build them."""
    text = texts(LONG, astral=astral).filter(str.strip)
    return st.one_of(
        text.map(escape),
        text.map(lambda s: f"<b>{escape(s)}</b>"),
        st.builds(lambda u, s: f"• {link(u, s)} — {escape(s)}",
                  urls(astral=astral), text),
    )


def check_split(lines: list[str], limit: int, *, strict: bool) -> None:
    """Every part fits ``limit`` and is accepted; without long lines, nothing is lost."""
    parts = split_messages(lines, limit)
    assert bool(parts) == bool(lines)
    for part in parts:
        assert units(part) <= limit
        if strict:
            assert_accepted(part)
        else:
            assert_accepted_but_utf16(part)
    if all(units(line) <= limit - 10 for line in lines):    # nothing shortened or lost
        assert "\n".join(parts) == "\n".join(lines)


@examples(150)
@given(lines=st.lists(html_lines(astral=False), max_size=40), limit=st.integers(100, 4096))
def test_split_messages_bmp(lines: list[str], limit: int) -> None:
    """Valid BMP lines split into accepted parts of at most ``limit`` chars, losing nothing."""
    check_split(lines, limit, strict=True)


@examples(150)
@given(lines=st.lists(html_lines(astral=True), max_size=40), limit=st.integers(100, 2048))
def test_split_messages_any_unicode(lines: list[str], limit: int) -> None:
    """Valid lines of any text split into accepted parts of at most ``limit`` ≤ 2,048 chars."""
    check_split(lines, limit, strict=True)


@examples(100)
@given(lines=st.lists(html_lines(astral=True), max_size=40), limit=st.integers(2049, 4096))
def test_split_messages_any_unicode_long_limit(lines: list[str], limit: int) -> None:
    """Valid lines of any text split into valid parts of at most ``limit`` chars."""
    check_split(lines, limit, strict=False)


# ── 4. name handling and analysis never raise ──────────────────────────────────────

#: Words that send ``analyze`` and ``mentions`` down their deeper paths: names in both
#: scripts and several inflections, initials, removal terms, stages, courts, countries,
#: ages and dates.
NEWS = (
    "Mikhail", "Zhilin", "Михаил", "Жилин", "Жилина", "Жилиным", "Жилинский", "М.А.",
    "Zhilin,", "M.", "Александрович", "Ekaterina", "Екатерины", "Жилиной", "Karimov",
    "O'ktamov", "Xəlilov", "Әбдірахманова", "Yo'ldoshev", "Ерболат", "was", "detained",
    "arrested", "in", "Almaty", "faces", "extradition", "to", "Russia", "deported",
    "deportation", "asylum", "refused", "court", "ordered", "his", "appeal", "rejected",
    "the", "lawyer", "said", "according", "Moscow", "Kazakhstan", "задержан", "задержана",
    "экстрадиция", "выдворение", "депортировать", "суд", "постановил", "выдать", "России",
    "в", "Казахстан", "Россию", "убежище", "отказали", "адвокат", "35", "летний",
    "year-old", "12", "December", "2022", "28.12.2022", "декабря", "citizen", "of",
    "Interpol", "red", "notice", "Mr", "Дело", ".", ",", ":", "«", "»", "—", "\n", "\n\n",
)
NEWS_TEXT = st.lists(st.one_of(st.sampled_from(NEWS), texts(20)), max_size=40).map(" ".join)
NAME_TEXT = st.one_of(texts(300), NEWS_TEXT)
WORDS = st.lists(st.one_of(st.sampled_from(NEWS), texts(40)), max_size=6)


@examples(300)
@given(word=NAME_TEXT)
def test_name_keys_never_raise(word: str) -> None:
    """surname_key, skeleton, fold, fold_words and html_to_text return strings for any text."""
    for result in (surname_key(word), skeleton(word), fold(word), fold_words(word),
                   html_to_text(word)):
        assert isinstance(result, str)


@examples(200)
@given(words=WORDS)
def test_split_name_never_raises(words: list[str]) -> None:
    """split_name picks a (surname, given) pair out of any word list, None only when empty."""
    picked = split_name(words)
    assert (picked is None) == (not words)
    if picked is not None:
        assert picked[0] in words and (picked[1] == "" or picked[1] in words)


@examples(200)
@given(query=st.one_of(NAME_TEXT, WORDS.map(" ".join)), text=NAME_TEXT)
def test_track_queries_never_raise(query: str, text: str) -> None:
    """parse_query raises only ValueError; variants and mentions never raise on any text."""
    try:
        parsed = parse_query(query)
    except ValueError:
        return
    assert isinstance(mentions(parsed, text), bool)
    assert isinstance(mentions(parsed, query), bool)
    found = variants(query)
    assert found and all(isinstance(v, str) for v in found)


@examples(150)
@given(title=NAME_TEXT, text=NAME_TEXT)
def test_analyze_never_raises(title: str, text: str) -> None:
    """analyze understands (or rejects) any title and text without raising."""
    result = analyze(title, text)
    assert isinstance(result.relevant, bool)
    assert not result.relevant or result.persons


# ── 5. callback data ───────────────────────────────────────────────────────────────


NUMBERISH = st.one_of(st.integers().map(str), st.text("0123456789٣²+- _x", max_size=25))


@examples(500)
@given(data=st.one_of(
    st.none(), st.text(),
    st.builds(lambda a, n: f"c:{a}:{n}", st.sampled_from((*ACTIONS, "TAKE", "x", "")),
              st.one_of(NUMBERISH, st.text(max_size=25))),
    st.builds(lambda a, n, tail: f"c:{a}:{n}:{tail}", st.sampled_from(ACTIONS), NUMBERISH,
              st.text(max_size=5)),
))
def test_parse_callback_is_total(data: str | None) -> None:
    """parse_callback never raises: None, or an action of ACTIONS and an id ≥ 0."""
    parsed = parse_callback(data)
    if parsed is not None:
        action, case_id = parsed
        assert action in ACTIONS and isinstance(case_id, int) and case_id >= 0
        assert parse_callback(callback_data(action, case_id)) == parsed


@given(action=st.sampled_from(ACTIONS), case_id=st.integers(0, 10**18 - 1))
def test_callback_data_round_trips(action: str, case_id: int) -> None:
    """callback_data fits 64 bytes and parses back to the same action and case id."""
    data = callback_data(action, case_id)
    assert len(data.encode()) <= MAX_CALLBACK
    assert parse_callback(data) == (action, case_id)


# ── pinned bugs (strict xfail: they fail today; fixing the bug turns them into passes) ─


def _case(**changes: Any) -> CaseView:
    """A bare case with ``changes`` applied."""
    base: dict[str, Any] = dict(id=1, kind=None, stage=None, urgent=False, person_key="",
                                persons=(), countries=(), first_seen=T, updated=T)
    return CaseView(**(base | changes))


def _item(i: int, title: str) -> ItemView:
    """A web source titled ``title``."""
    return ItemView(id=i, url=f"https://e.example/{i}", title=title, source="s", lang="en",
                    published=None, first_seen=T)


@pytest.mark.parametrize("case, tracks", [
    (_case(persons=('"' * 220,), court='"' * 220), ('"' * 220,)),
    (_case(countries=("X" * 4000,)), ()),
    (_case(items=(ItemView(id=1, url="", title="t", source="s", lang="x" * 4000,
                           published=None, first_seen=T),)), ()),
], ids=["quotes-in-name-court-track", "unknown-country-code", "item-language"])
def test_bug_fixed_lines_are_not_budgeted(case: CaseView, tracks: tuple[str, ...]) -> None:
    """Regression: a card whose untrusted fixed lines are long once escaped still renders."""
    card = render_card(case, tracks=tracks)
    assert_accepted(card.html, markup_of(card))


def test_bug_astral_characters_overflow_the_card() -> None:
    """Regression: seven sources titled with 300 emoji each still make an accepted card."""
    case = _case(items=tuple(_item(i, "😀" * 300) for i in range(7)))
    assert_accepted(render_card(case).html)


def test_bug_astral_characters_overflow_split_messages() -> None:
    """Regression: a line of 2,049 emoji is split or shortened into accepted messages."""
    for part in split_messages(["😀" * 2049]):
        assert_accepted(part)
