"""Table-driven unit tests for the pure front-end modules: routing, claims, cards, i18n,
``/subscribe`` filters and the role-lookup cache.

Nothing here touches the network, the database or Telegram; ``Access`` is driven with
fake async lookups and an injected clock.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.cards import (
    ACTIONS,
    MAX_CALLBACK,
    MAX_CARD,
    Button,
    buttons,
    callback_data,
    parse_callback,
    render_card,
    render_digest,
    render_full,
    split_messages,
)
from bot.claims import Refusal, Work, decide_work
from bot.handlers.volunteers import describe_filters, parse_filters
from bot.i18n import EVENTS, KINDS, STAGES, TEXT, lang_of, t
from bot.roles import Access, Role
from feeds.cases import Change
from feeds.models import (
    CaseEvent,
    CaseKind,
    CaseStatus,
    CaseView,
    ItemView,
    OutboxKind,
    Stage,
    Subscription,
    Track,
)
from feeds.routing import CaseFacts, Planned, Routed, route, track_hits, wants

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GROUP = -100
GROUP2 = -200
CASE_ID = 7
EVENT_ID = 55

NEW, UPD, ESC, HIT = (OutboxKind.NEW_CARD, OutboxKind.UPDATE_CARD, OutboxKind.ESCALATION,
                      OutboxKind.TRACK_HIT)


# --- helpers -------------------------------------------------------------------------------


def facts(**kw: Any) -> CaseFacts:
    base: dict[str, Any] = {
        "id": CASE_ID, "urgent": True, "kind": CaseKind.EXTRADITION,
        "countries": ("RU", "KZ"), "persons": ("Михаил Жилин",),
        "status": CaseStatus.OPEN, "stage": Stage.IMMINENT, "digest_pending": False,
    }
    base.update(kw)
    return CaseFacts(**base)


def do_route(change: Change, case: CaseFacts | None = None, *,
             groups: Sequence[int] = (GROUP,), subscriptions: Sequence[Subscription] = (),
             tracks: Sequence[Track] = (), digest: bool = False) -> Routed:
    return route(change, case or facts(), event_id=EVENT_ID, groups=groups,
                 subscriptions=subscriptions, tracks=tracks, now=NOW, digest=digest)


def kinds_chats(routed: Routed) -> list[tuple[OutboxKind, int]]:
    return [(p.kind, p.chat_id) for p in routed.messages]


def item(n: int, **kw: Any) -> ItemView:
    base: dict[str, Any] = {
        "id": n, "url": f"https://news.example/{n}", "title": f"Report number {n}",
        "source": f"Outlet {n}", "lang": "ru", "published": NOW, "first_seen": NOW,
    }
    base.update(kw)
    return ItemView(**base)


def view(**kw: Any) -> CaseView:
    base: dict[str, Any] = {
        "id": CASE_ID, "kind": CaseKind.EXTRADITION, "stage": Stage.DETAINED, "urgent": True,
        "person_key": "jilin", "persons": ("Михаил Жилин",), "countries": ("RU", "KZ"),
        "first_seen": NOW, "updated": NOW,
    }
    base.update(kw)
    return CaseView(**base)


# === feeds/routing.py =========================================================================


@pytest.mark.parametrize(
    ("change", "urgent", "digest", "expected"),
    [
        (Change.NEW, True, False, [(NEW, GROUP)]),
        (Change.NEW, False, False, [(NEW, GROUP)]),
        (Change.NEW, False, True, []),
        (Change.NEW, True, True, [(NEW, GROUP)]),
        (Change.ESCALATE, True, False, [(NEW, GROUP), (UPD, GROUP), (ESC, GROUP)]),
        (Change.ESCALATE, True, True, [(NEW, GROUP), (UPD, GROUP), (ESC, GROUP)]),
        (Change.ESCALATE, False, False, [(NEW, GROUP), (UPD, GROUP), (ESC, GROUP)]),
        (Change.ESCALATE, False, True, [(UPD, GROUP), (ESC, GROUP)]),
        (Change.UPDATE, True, False, [(UPD, GROUP)]),
        (Change.UPDATE, False, True, [(UPD, GROUP)]),
        (Change.QUIET, True, False, []),
        (Change.QUIET, False, True, []),
    ],
    ids=["new-urgent", "new-plain", "new-held-for-digest", "new-urgent-with-digest",
         "escalate-urgent", "escalate-urgent-with-digest", "escalate-plain",
         "escalate-held", "update", "update-with-digest", "quiet", "quiet-with-digest"],
)
def test_route_messages_per_change(change: Change, urgent: bool, digest: bool,
                                   expected: list[tuple[OutboxKind, int]]) -> None:
    """Each change queues exactly the card messages its rule implies for the group."""
    assert kinds_chats(do_route(change, facts(urgent=urgent), digest=digest)) == expected


@pytest.mark.parametrize(
    ("change", "urgent", "digest", "was_pending", "pending"),
    [
        (Change.NEW, False, True, False, True),
        (Change.NEW, True, True, False, False),
        (Change.NEW, False, False, False, False),
        (Change.UPDATE, False, True, True, True),
        (Change.UPDATE, False, True, False, False),
        (Change.ESCALATE, False, True, True, True),
        (Change.ESCALATE, True, True, True, False),
        (Change.QUIET, False, True, True, True),
    ],
    ids=["new-held", "new-urgent-not-held", "no-digest", "update-keeps-pending",
         "update-not-pending", "escalate-still-held", "escalate-to-urgent-posts-now",
         "quiet-keeps-flag"],
)
def test_route_digest_pending(change: Change, urgent: bool, digest: bool, was_pending: bool,
                              pending: bool) -> None:
    """A non-urgent case waits for the digest; becoming urgent takes it out of the digest."""
    routed = do_route(change, facts(urgent=urgent, digest_pending=was_pending), digest=digest)
    assert routed.digest_pending is pending


def test_escalate_dedup_keys() -> None:
    """ESCALATE queues NEW_CARD + UPDATE_CARD + ESCALATION per chat with distinct keys."""
    routed = do_route(Change.ESCALATE, groups=(GROUP, GROUP2))
    assert routed.messages == (
        Planned(NEW, GROUP, f"new:{CASE_ID}:{GROUP}"),
        Planned(UPD, GROUP, f"upd:{CASE_ID}:{EVENT_ID}:{GROUP}"),
        Planned(ESC, GROUP, f"esc:{CASE_ID}:imminent:{GROUP}"),
        Planned(NEW, GROUP2, f"new:{CASE_ID}:{GROUP2}"),
        Planned(UPD, GROUP2, f"upd:{CASE_ID}:{EVENT_ID}:{GROUP2}"),
        Planned(ESC, GROUP2, f"esc:{CASE_ID}:imminent:{GROUP2}"),
    )


def test_escalate_new_card_key_matches_new() -> None:
    """ESCALATE's NEW_CARD has the same key as NEW's, so the outbox ignores it if queued."""
    new_keys = {p.dedup_key for p in do_route(Change.NEW).messages}
    esc_new = {p.dedup_key for p in do_route(Change.ESCALATE).messages if p.kind is NEW}
    assert esc_new == new_keys


@pytest.mark.parametrize(
    ("status", "change", "status_out", "has_messages"),
    [
        (CaseStatus.IRRELEVANT, Change.NEW, CaseStatus.IRRELEVANT, False),
        (CaseStatus.IRRELEVANT, Change.ESCALATE, CaseStatus.IRRELEVANT, False),
        (CaseStatus.IRRELEVANT, Change.UPDATE, CaseStatus.IRRELEVANT, False),
        (CaseStatus.RESOLVED, Change.ESCALATE, CaseStatus.OPEN, True),
        (CaseStatus.RESOLVED, Change.UPDATE, CaseStatus.RESOLVED, True),
        (CaseStatus.RESOLVED, Change.QUIET, CaseStatus.RESOLVED, False),
        (CaseStatus.OPEN, Change.ESCALATE, CaseStatus.OPEN, True),
        (CaseStatus.OPEN, Change.QUIET, CaseStatus.OPEN, False),
    ],
    ids=["irrelevant-new", "irrelevant-escalate", "irrelevant-update", "resolved-escalate-reopens",
         "resolved-update-stays", "resolved-quiet", "open-escalate", "open-quiet"],
)
def test_route_status(status: CaseStatus, change: Change, status_out: CaseStatus,
                      has_messages: bool) -> None:
    """Not-relevant cases stay silent (even for tracks); resolved cases reopen on escalation."""
    tracks = [Track(3, "Mikhail Zhilin", 900)]
    routed = do_route(change, facts(status=status), tracks=tracks)
    assert routed.status is status_out
    assert bool(routed.messages) is has_messages


@pytest.mark.parametrize(
    ("sub", "case", "expected"),
    [
        (Subscription(1), facts(), True),
        (Subscription(1, countries=frozenset({"KZ"})), facts(), True),
        (Subscription(1, countries=frozenset({"UZ"})), facts(), False),
        (Subscription(1, countries=frozenset({"UZ", "RU"})), facts(), True),
        (Subscription(1, countries=frozenset({"KZ"})), facts(countries=()), False),
        (Subscription(1, kinds=frozenset({CaseKind.EXTRADITION})), facts(), True),
        (Subscription(1, kinds=frozenset({CaseKind.ASYLUM})), facts(), False),
        (Subscription(1, kinds=frozenset({CaseKind.ASYLUM})), facts(kind=None), False),
        (Subscription(1, urgent_only=True), facts(urgent=True), True),
        (Subscription(1, urgent_only=True), facts(urgent=False), False),
        (Subscription(1, muted_until=NOW + timedelta(hours=1)), facts(), False),
        (Subscription(1, muted_until=NOW - timedelta(hours=1)), facts(), True),
        (Subscription(1, muted_until=NOW), facts(), True),
        (Subscription(1, countries=frozenset({"KZ"}), kinds=frozenset({CaseKind.EXTRADITION}),
                      urgent_only=True), facts(), True),
        (Subscription(1, countries=frozenset({"KZ"}), kinds=frozenset({CaseKind.DEPORTATION}),
                      urgent_only=True), facts(), False),
    ],
    ids=["no-filters", "country-match", "country-miss", "one-of-countries",
         "country-filter-unknown-countries", "kind-match", "kind-miss", "kind-filter-unknown-kind",
         "urgent-only-urgent", "urgent-only-plain", "muted-future", "muted-past",
         "muted-until-now", "all-filters-match", "one-filter-misses"],
)
def test_wants(sub: Subscription, case: CaseFacts, expected: bool) -> None:
    """A subscription gets a card only when unmuted and every set filter lets it through."""
    assert wants(sub, case, NOW) is expected


def test_route_subscriptions_filtered_and_not_duplicated() -> None:
    """Groups first, then wanting subscribers; a subscriber that is a group is sent once."""
    subs = [
        Subscription(GROUP),                                             # also a group
        Subscription(11, countries=frozenset({"KZ"})),                   # wants
        Subscription(12, countries=frozenset({"UZ"})),                   # filtered out
        Subscription(13, muted_until=NOW + timedelta(days=1)),           # muted
        Subscription(14, muted_until=NOW - timedelta(days=1)),           # mute expired
        Subscription(15, kinds=frozenset({CaseKind.DEPORTATION})),       # filtered out
        Subscription(16, urgent_only=True),                              # urgent case: wants
    ]
    routed = do_route(Change.NEW, subscriptions=subs)
    assert kinds_chats(routed) == [(NEW, GROUP), (NEW, 11), (NEW, 14), (NEW, 16)]


@pytest.mark.parametrize(
    ("query", "persons", "hit"),
    [
        ("Mikhail Zhilin", ("Михаил Жилин",), True),
        ("Mikhail Zhilin", ("Михаил Петров",), False),
        ("Mikhail Zhilin", ("Anna Ivanova", "Михаил Жилин"), True),
        ("Mikhail Zhilin", ("Жилинский Михаил",), False),
        ("Pavel Zhilin", ("Михаил Жилин",), False),
        ("Жилин М.А.", ("Mikhail Zhilin",), True),
        ("Zhilin", ("Михаил Жилин",), True),
        ("Mikhail Zhilin", (), False),
        ("", ("Михаил Жилин",), False),
        ("a", ("Михаил Жилин",), False),
    ],
    ids=["latin-query-cyrillic-person", "other-surname", "among-several", "longer-surname",
         "other-given-name", "cyrillic-query-latin-person", "surname-only", "no-persons",
         "empty-query", "unparseable-query"],
)
def test_track_hits(query: str, persons: tuple[str, ...], hit: bool) -> None:
    """A track hits across scripts; other surnames, namesakes and bad queries do not."""
    track = Track(3, query, 900)
    assert track_hits([track], persons) == ([track] if hit else [])


def test_route_track_hit_goes_to_owner_once() -> None:
    """Matching tracks queue one TRACK_HIT per owner (key track:{case}:{owner}), however
    many of the owner's tracks match."""
    tracks = [Track(3, "Mikhail Zhilin", 900), Track(4, "Ivan Petrov", 901),
              Track(5, "Жилин", 900)]
    routed = do_route(Change.NEW, tracks=tracks)
    assert [p for p in routed.messages if p.kind is HIT] == [
        Planned(HIT, 900, f"track:{CASE_ID}:900")]


@pytest.mark.parametrize("digest", [False, True], ids=["no-digest", "digest"])
@pytest.mark.parametrize("urgent", [False, True], ids=["plain", "urgent"])
@pytest.mark.parametrize("change", list(Change), ids=[c.value for c in Change])
def test_route_dedup_keys_unique(change: Change, urgent: bool, digest: bool) -> None:
    """Within one Routed every dedup key is unique (groups, subscribers and tracks together)."""
    subs = [Subscription(GROUP2), Subscription(11), Subscription(12, urgent_only=True)]
    tracks = [Track(3, "Mikhail Zhilin", 900), Track(4, "Zhilin", 900),
              Track(5, "Жилин М.", 901)]
    routed = do_route(change, facts(urgent=urgent), groups=(GROUP, GROUP2), subscriptions=subs,
                      tracks=tracks, digest=digest)
    keys = [p.dedup_key for p in routed.messages]
    assert len(keys) == len(set(keys))


# === bot/claims.py ============================================================================

ME, OTHER, ASSIGNEE = 1, 2, 4
VOL, COORD, ADMIN = Role.VOLUNTEER, Role.COORDINATOR, Role.ADMIN
UNCLAIMED: tuple[int | None, str | None] = (None, None)
MINE: tuple[int | None, str | None] = (ME, "Me")
THEIRS: tuple[int | None, str | None] = (OTHER, "Other")
OPEN, RESOLVED, IRRELEVANT = CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.IRRELEVANT


@pytest.mark.parametrize(
    ("action", "claim", "status", "role", "expected"),
    [
        # take
        ("take", UNCLAIMED, OPEN, VOL, Work(MINE, OPEN, "claim", "took")),
        ("take", MINE, OPEN, VOL, Refusal("already_taken")),
        ("take", THEIRS, OPEN, VOL, Refusal("already_taken")),
        ("take", THEIRS, OPEN, COORD, Refusal("already_taken")),
        ("take", UNCLAIMED, RESOLVED, VOL, Refusal("not_open")),
        # release
        ("release", UNCLAIMED, OPEN, VOL, Refusal("not_claimed_yet")),
        ("release", MINE, OPEN, VOL, Work(UNCLAIMED, OPEN, "release", "released")),
        ("release", THEIRS, OPEN, VOL, Refusal("not_yours")),
        ("release", THEIRS, OPEN, COORD, Work(UNCLAIMED, OPEN, "release", "released")),
        ("release", THEIRS, OPEN, ADMIN, Work(UNCLAIMED, OPEN, "release", "released")),
        ("release", MINE, IRRELEVANT, VOL, Refusal("not_open")),
        # resolve
        ("resolve", UNCLAIMED, OPEN, VOL, Work(UNCLAIMED, RESOLVED, "resolve", "resolved")),
        ("resolve", MINE, OPEN, VOL, Work(MINE, RESOLVED, "resolve", "resolved")),
        ("resolve", THEIRS, OPEN, VOL, Refusal("not_yours")),
        ("resolve", THEIRS, OPEN, COORD, Work(THEIRS, RESOLVED, "resolve", "resolved")),
        ("resolve", MINE, RESOLVED, VOL, Refusal("not_open")),
        ("resolve", UNCLAIMED, IRRELEVANT, COORD, Refusal("not_open")),
        # irrelevant
        ("irrelevant", UNCLAIMED, OPEN, VOL,
         Work(UNCLAIMED, IRRELEVANT, "irrelevant", "irrelevant")),
        ("irrelevant", MINE, OPEN, VOL, Work(MINE, IRRELEVANT, "irrelevant", "irrelevant")),
        ("irrelevant", THEIRS, OPEN, VOL, Refusal("not_yours")),
        ("irrelevant", THEIRS, OPEN, COORD,
         Work(THEIRS, IRRELEVANT, "irrelevant", "irrelevant")),
        ("irrelevant", UNCLAIMED, RESOLVED, VOL, Refusal("not_open")),
        # reopen
        ("reopen", THEIRS, RESOLVED, COORD, Work(THEIRS, OPEN, "reopen", "reopened")),
        ("reopen", UNCLAIMED, IRRELEVANT, ADMIN, Work(UNCLAIMED, OPEN, "reopen", "reopened")),
        ("reopen", MINE, RESOLVED, VOL, Refusal("not_open")),
        ("reopen", UNCLAIMED, OPEN, COORD, Refusal("race")),
        ("reopen", UNCLAIMED, OPEN, VOL, Refusal("not_open")),
        # unknown actions
        ("sources", UNCLAIMED, OPEN, VOL, Refusal("bad_button")),
        ("bogus", MINE, OPEN, COORD, Refusal("bad_button")),
    ],
    ids=["take-unclaimed", "take-mine", "take-theirs", "take-theirs-coordinator",
         "take-closed", "release-unclaimed", "release-mine", "release-theirs",
         "release-theirs-coordinator", "release-theirs-admin", "release-closed",
         "resolve-unclaimed", "resolve-mine", "resolve-theirs", "resolve-theirs-coordinator",
         "resolve-closed", "resolve-closed-coordinator", "irrelevant-unclaimed",
         "irrelevant-mine", "irrelevant-theirs", "irrelevant-theirs-coordinator",
         "irrelevant-closed", "reopen-coordinator", "reopen-admin", "reopen-volunteer",
         "reopen-open-race", "reopen-open-volunteer", "sources-not-work", "unknown-action"],
)
def test_decide_work(action: str, claim: tuple[int | None, str | None], status: CaseStatus,
                     role: Role, expected: Work | Refusal) -> None:
    """Who may take/release/resolve/mark irrelevant/reopen, by claim, status and role."""
    case = view(claimed_by_id=claim[0], claimed_by=claim[1], status=status)
    assert decide_work(action, case, actor_id=ME, actor_name="Me", role=role) == expected


@pytest.mark.parametrize(
    ("claim", "status", "role", "assignee", "expected"),
    [
        (UNCLAIMED, OPEN, COORD, (ASSIGNEE, "Vera"),
         Work((ASSIGNEE, "Vera"), OPEN, "assign", "assigned_ok")),
        (THEIRS, OPEN, COORD, (ASSIGNEE, "Vera"),
         Work((ASSIGNEE, "Vera"), OPEN, "assign", "assigned_ok")),
        (UNCLAIMED, OPEN, ADMIN, (ASSIGNEE, "Vera"),
         Work((ASSIGNEE, "Vera"), OPEN, "assign", "assigned_ok")),
        (UNCLAIMED, OPEN, VOL, (ASSIGNEE, "Vera"), Refusal("not_yours")),
        (UNCLAIMED, OPEN, COORD, None, Refusal("not_yours")),
        (UNCLAIMED, RESOLVED, COORD, (ASSIGNEE, "Vera"), Refusal("not_open")),
    ],
    ids=["coordinator-unclaimed", "coordinator-replaces-claim", "admin", "volunteer-refused",
         "no-assignee", "closed"],
)
def test_decide_assign(claim: tuple[int | None, str | None], status: CaseStatus, role: Role,
                       assignee: tuple[int, str] | None, expected: Work | Refusal) -> None:
    """/assign: a coordinator on an open case, replacing any claim; otherwise refused."""
    case = view(claimed_by_id=claim[0], claimed_by=claim[1], status=status)
    got = decide_work("assign", case, actor_id=ME, actor_name="Me", role=role,
                      assignee=assignee)
    assert got == expected


# === bot/cards.py =============================================================================


@pytest.mark.parametrize("case_id", [0, 1, 7, 10**17, 10**18 - 1], ids=str)
@pytest.mark.parametrize("action", ACTIONS)
def test_callback_round_trip(action: str, case_id: int) -> None:
    """callback_data → parse_callback round-trips every action, within 64 bytes."""
    data = callback_data(action, case_id)
    assert len(data.encode("utf-8")) <= MAX_CALLBACK
    assert parse_callback(data) == (action, case_id)


@pytest.mark.parametrize(
    "data",
    [
        None, "", "garbage", "c", "c:take", "c:take:", "c:take:1:2", "x:take:1", "C:take:1",
        "cb:take:1", "c:TAKE:1", "c:bogus:1", "c::1", "c:take:abc", "c:take:-1", "c:take:+1",
        "c:take: 1", "c:take:1 ", "c:take:1.0", "c:take:0x1", "c:take:" + "9" * 19,
        "c:take:" + "1" * 64, ":take:1",
    ],
    ids=["none", "empty", "garbage", "prefix-only", "no-id", "empty-id", "extra-part",
         "wrong-prefix", "upper-prefix", "long-prefix", "upper-action", "unknown-action",
         "empty-action", "non-digit-id", "negative-id", "plus-id", "space-before-id",
         "space-after-id", "float-id", "hex-id", "huge-id", "very-huge-id", "no-prefix"],
)
def test_parse_callback_rejects(data: str | None) -> None:
    """Anything but c:ACTION:DIGITS with a known action and a sane id parses to None."""
    assert parse_callback(data) is None


@pytest.mark.parametrize("data", ["c:take:²", "c:release:1²"], ids=["superscript", "mixed"])
def test_parse_callback_rejects_unicode_digits(data: str) -> None:
    """Non-ASCII 'digits' that int() cannot read give None, not an exception."""
    assert parse_callback(data) is None


def _texts(kb: Sequence[Sequence[Button]]) -> list[list[str]]:
    return [[b.text for b in row] for row in kb]


@pytest.mark.parametrize(
    ("claim", "status", "expected"),
    [
        (UNCLAIMED, OPEN, [["take"], ["resolve", "irrelevant", "sources"]]),
        (MINE, OPEN, [["release"], ["resolve", "irrelevant", "sources"]]),
        (THEIRS, OPEN, [["release"], ["resolve", "irrelevant", "sources"]]),
        (UNCLAIMED, RESOLVED, [["reopen", "sources"]]),
        (THEIRS, IRRELEVANT, [["reopen", "sources"]]),
    ],
    ids=["unclaimed-open", "claimed-mine", "claimed-theirs", "resolved", "irrelevant"],
)
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_buttons(claim: tuple[int | None, str | None], status: CaseStatus,
                 expected: list[list[str]], lang: str) -> None:
    """Open: Take/Release, then Resolved/Not relevant/Sources; closed: Reopen + Sources."""
    kb = buttons(view(claimed_by_id=claim[0], claimed_by=claim[1], status=status), lang)
    actions = [[parse_callback(b.data) for b in row] for row in kb]
    assert actions == [[(a, CASE_ID) for a in row] for row in expected]
    key = {"take": "btn_take", "release": "btn_release", "resolve": "btn_resolved",
           "irrelevant": "btn_irrelevant", "sources": "btn_sources", "reopen": "btn_reopen"}
    assert _texts(kb) == [[t(lang, key[a]) for a in row] for row in expected]
    assert all(len(b.data.encode()) <= MAX_CALLBACK for row in kb for b in row)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (view(items=(item(1),)), ["СРОЧНО", "ЭКСТРАДИЦИЯ", "Стадия:", "задержан(а)",
                                  "Источники:", "Впервые замечено:", "Дело #7",
                                  "пока никто не взял", "Казахстан", "Россия"]),
        (view(urgent=False, claimed_by="Анна", claimed_by_id=OTHER, court="Мосгорсуд"),
         ["наблюдение", "Суд: Мосгорсуд", "взял(а) Анна"]),
        (view(status=RESOLVED), ["Решено"]),
        (view(status=IRRELEVANT, persons=(), countries=(), kind=None, stage=None),
         ["Отмечено как нерелевантное", "имя неизвестно", "страны неизвестны",
          "стадия неизвестна", "ВЫДВОРЕНИЕ"]),
    ],
    ids=["urgent-open", "claimed-with-court", "resolved", "unknowns"],
)
def test_render_card_russian(case: CaseView, expected: list[str]) -> None:
    """A card in lang "ru" uses the Russian labels, stage, kind and country names."""
    card = render_card(case, lang="ru")
    for part in expected:
        assert part in card.html
    for english in ("Stage:", "First seen:", "Sources:", "Case #"):
        assert english not in card.html
    assert len(card.html) <= MAX_CARD
    assert card.buttons == buttons(case, "ru")


@pytest.mark.parametrize(
    ("lines", "limit"),
    [
        ([], MAX_CARD),
        (["one line"], MAX_CARD),
        (["a" * 100] * 100, MAX_CARD),
        (["x" * 4086], MAX_CARD),
        (["x" * 4086, "y"], MAX_CARD),
        ([f"line {i}" for i in range(500)], 200),
        (["b" * 90] * 25, 100),
        (["c" * 15, "d" * 5, "e" * 10] * 30, 30),
        (["short", "z" * 10_000, "tail"], MAX_CARD),
        (["<b>" + "q" * 5000 + "</b>"], MAX_CARD),
        (["w" * 999] * 7, 1000),
    ],
    ids=["empty", "one", "many-100", "exactly-max-line", "max-line-then-more", "many-small",
         "near-limit-lines", "mixed-small-limit", "one-huge-line", "huge-tagged-line",
         "lines-over-limit"],
)
def test_split_messages_respects_limit(lines: list[str], limit: int) -> None:
    """No part is longer than the limit; when every line fits, all lines are kept in order."""
    parts = split_messages(lines, limit)
    assert all(0 < len(p) <= limit for p in parts)
    if all(len(line) <= limit - 10 for line in lines):
        assert ("\n".join(parts).split("\n") if parts else []) == lines
        assert all(p.count("<") == p.count(">") for p in parts)


@pytest.mark.parametrize("entity", ["&amp;", "&lt;", "&#x27;", "&quot;"],
                         ids=["amp", "lt", "apos", "quot"])
def test_split_messages_long_escaped_line(entity: str) -> None:
    """A clipped over-long line full of HTML entities still fits under the limit."""
    parts = split_messages([entity * 3000, "tail"])
    assert all(len(p) <= MAX_CARD for p in parts)


def test_render_full_long_title_of_ampersands() -> None:
    """/case with a source title of 5,000 '&' still yields parts of at most 4,096 chars."""
    parts = render_full(view(items=(item(1, title="&" * 5000),)))
    assert all(len(p) <= MAX_CARD for p in parts)


def test_split_messages_clips_without_cutting_tags() -> None:
    """An over-long tagged line is shortened as text: no tag fragment survives."""
    parts = split_messages(['<a href="https://x.example">' + "t" * 5000 + "</a>"], 1000)
    assert len(parts) == 1
    assert "<" not in parts[0] and ">" not in parts[0]
    assert parts[0].endswith("…")


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("n_items", [1, 3, 200], ids=["one-source", "three", "two-hundred"])
def test_render_full_has_timeline_and_every_source(lang: str, n_items: int) -> None:
    """/case ID shows every timeline event and every source, in parts of at most 4,096."""
    events = (
        CaseEvent(NOW, "new", Stage.DETAINED),
        CaseEvent(NOW + timedelta(hours=1), "claim", user="Анна"),
        CaseEvent(NOW + timedelta(hours=2), "escalate", Stage.IMMINENT),
        CaseEvent(NOW + timedelta(hours=3), "resolve", user="Анна"),
        CaseEvent(NOW + timedelta(hours=4), "custom_change"),
    )
    items = tuple(item(i) for i in range(1, n_items + 1))
    parts = render_full(view(items=items, events=events), lang=lang)
    assert all(len(p) <= MAX_CARD for p in parts)
    text = "\n".join(parts)
    assert t(lang, "timeline") in text and t(lang, "all_sources") in text
    want = {
        "en": ["first report (detained)", "taken by Анна", "report: stage went up "
               "(removal imminent)", "marked resolved", "custom_change"],
        "ru": ["первое сообщение (задержан(а))", "взял(а) Анна", "сообщение: стадия "
               "повысилась (выдворение неминуемо)", "отмечено как решённое", "custom_change"],
    }[lang]
    for event_text in want:
        assert event_text in text
    for it in items:
        assert f'<a href="{it.url}">{it.title}</a> — {it.source}' in text
    assert "more" not in text and "ещё" not in text


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("n_cases", [0, 1, 5, 300], ids=["none", "one", "five", "many"])
def test_render_digest(lang: str, n_cases: int) -> None:
    """The digest has a head with the count, one line per case, and the /case hint."""
    cases = [view(id=i, urgent=False, persons=(f"Person {i}",), claimed_by="Vera" if i % 2
                  else None) for i in range(1, n_cases + 1)]
    parts = render_digest(cases, lang)
    assert all(len(p) <= MAX_CARD for p in parts)
    lines = "\n".join(parts).split("\n")
    assert lines[0] == f"<b>{t(lang, 'digest_head', n=n_cases)}</b>"
    assert lines[-1] == t(lang, "digest_more")
    body = lines[1:-1]
    assert len(body) == n_cases
    for c, line in zip(cases, body, strict=True):
        assert line.startswith(f"🟡 #{c.id} <b>Person {c.id}</b>")
        assert ("🙋 Vera" in line) is bool(c.claimed_by)


# === bot/i18n.py ==============================================================================


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(TEXT), ids=sorted(TEXT))
def test_text_both_languages_same_placeholders(key: str) -> None:
    """Every TEXT key has non-empty English and Russian with the same placeholders."""
    en, ru = TEXT[key]
    assert en.strip() and ru.strip()
    assert _fields(en) == _fields(ru)


@pytest.mark.parametrize("key", sorted(EVENTS), ids=sorted(EVENTS))
def test_events_both_languages_same_placeholders(key: str) -> None:
    """Every timeline event has non-empty English and Russian with the same placeholders."""
    en, ru = EVENTS[key]
    assert en.strip() and ru.strip()
    assert _fields(en) == _fields(ru) <= {"user"}


@pytest.mark.parametrize(
    ("table", "enum_type"), [(STAGES, Stage), (KINDS, CaseKind)], ids=["stages", "kinds"])
def test_stage_and_kind_names_cover_enums(table: dict[Any, tuple[str, str]],
                                          enum_type: type[enum.Enum]) -> None:
    """STAGES and KINDS name every Stage and CaseKind in both languages."""
    assert set(table) == set(enum_type)
    assert all(en.strip() and ru.strip() for en, ru in table.values())


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("ru-RU", "en", "ru"), ("ru", "en", "ru"), ("RU", "en", "ru"), ("en-GB", "ru", "en"),
        ("de", "en", "en"), ("de", "ru", "ru"), (None, "en", "en"), (None, "ru", "ru"),
        ("", "en", "en"), ("r", "en", "en"), ("uk", "en", "en"),
    ],
    ids=["ru-RU", "ru", "upper-RU", "en-GB", "de", "de-default-ru", "none", "none-default-ru",
         "empty", "one-letter", "ukrainian"],
)
def test_lang_of(value: str | None, default: str, expected: str) -> None:
    """A language_code maps to a supported language, or to the default."""
    assert lang_of(value, default) == expected


def test_lang_of_default_is_english() -> None:
    """Without an explicit default an unsupported language gives English."""
    assert lang_of("de") == "en" and lang_of(None) == "en"


# === bot/handlers/volunteers.py ===============================================================


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["Kazakhstan", "extradition", "urgent"],
         {"countries": ["KZ"], "kinds": ["extradition"], "urgent": True}),
        (["Россия"], {"countries": ["RU"], "kinds": [], "urgent": False}),
        (["kz"], {"countries": ["KZ"], "kinds": [], "urgent": False}),
        (["выдача"], {"countries": [], "kinds": ["extradition"], "urgent": False}),
        (["срочно"], {"countries": [], "kinds": [], "urgent": True}),
        ([], {"countries": [], "kinds": [], "urgent": False}),
        (["KZ,", "ru;"], {"countries": ["KZ", "RU"], "kinds": [], "urgent": False}),
        ([",", ";"], {"countries": [], "kinds": [], "urgent": False}),
        (["депортация", "Deportation", "URGENT"],
         {"countries": [], "kinds": ["deportation"], "urgent": True}),
        (["asylum", "expulsion", "выдворение", "убежище"],
         {"countries": [], "kinds": ["asylum", "expulsion"], "urgent": False}),
        (["Казахстан", "russia", "UZ"],
         {"countries": ["KZ", "RU", "UZ"], "kinds": [], "urgent": False}),
    ],
    ids=["en-country-kind-urgent", "ru-country", "lower-code", "ru-kind-vydacha", "ru-urgent",
         "no-args", "punctuation-stripped", "only-punctuation", "kind-deduplicated",
         "kinds-sorted", "countries-sorted"],
)
def test_parse_filters(args: list[str], expected: dict[str, Any]) -> None:
    """/subscribe words become sorted country codes, kind values and the urgent flag."""
    assert parse_filters(args) == expected


@pytest.mark.parametrize(
    ("args", "bad"),
    [
        (["Atlantis"], "Atlantis"),
        (["Kazakhstan", "Narnia", "urgent"], "Narnia"),
        (["extradition", "soon"], "soon"),
        (["ZZ"], "ZZ"),
    ],
    ids=["unknown-only", "unknown-in-middle", "unknown-after-kind", "unknown-code"],
)
def test_parse_filters_rejects_unknown_word(args: list[str], bad: str) -> None:
    """An unknown word raises ValueError naming that word as the user typed it."""
    with pytest.raises(ValueError, match=bad) as exc:
        parse_filters(args)
    assert str(exc.value) == bad


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"countries": ["KZ", "RU"], "kinds": ["extradition"], "urgent": True},
         "KZ, RU, extradition, urgent"),
        ({"countries": [], "kinds": [], "urgent": False}, ""),
        ({}, ""),
        ({"urgent": True}, "urgent"),
        ({"kinds": ["asylum", "deportation"]}, "asylum, deportation"),
    ],
    ids=["everything", "nothing", "empty-dict", "urgent-only", "kinds-only"],
)
def test_describe_filters(filters: dict[str, Any], expected: str) -> None:
    """Stored filters read back as countries, kinds, then 'urgent', comma-separated."""
    assert describe_filters(filters) == expected


def test_describe_parsed_filters() -> None:
    """describe_filters(parse_filters(...)) lists what was understood."""
    parsed = parse_filters(["urgent", "Россия", "выдача", "kz"])
    assert describe_filters(parsed) == "KZ, RU, extradition, urgent"


# === bot/roles.py =============================================================================


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLookups:
    """Async admin/member lookups that count calls and can be made to fail."""

    def __init__(self, admins: frozenset[int] = frozenset(), members: frozenset[int] =
                 frozenset(), fail: bool = False) -> None:
        self.admins, self.members, self.fail = admins, members, fail
        self.admin_calls: list[int] = []
        self.member_calls: list[tuple[int, int]] = []

    async def admins_of(self, chat: int) -> frozenset[int]:
        self.admin_calls.append(chat)
        if self.fail:
            raise RuntimeError("telegram unreachable")
        return self.admins

    async def is_member(self, chat: int, user: int) -> bool:
        self.member_calls.append((chat, user))
        if self.fail:
            raise RuntimeError("telegram unreachable")
        return user in self.members


def make_access(lookups: FakeLookups, clock: FakeClock, ttl: float = 300.0) -> Access:
    return Access(lookups.admins_of, lookups.is_member, ttl=ttl, clock=clock)


@pytest.mark.parametrize(
    ("advance", "calls"),
    [(0.0, 1), (299.0, 1), (300.0, 1), (300.5, 2), (10_000.0, 2)],
    ids=["same-moment", "within-ttl", "at-ttl", "after-ttl", "long-after"],
)
async def test_access_group_admin_cache(advance: float, calls: int) -> None:
    """A second admin lookup within the ttl is served from cache; after it, asked again."""
    lookups, clock = FakeLookups(admins=frozenset({42})), FakeClock()
    access = make_access(lookups, clock)
    assert await access.group_admin(42, [GROUP]) is True
    clock.now += advance
    assert await access.group_admin(42, [GROUP]) is True
    assert await access.group_admin(43, [GROUP]) is False     # same chat: same cache entry
    assert lookups.admin_calls == [GROUP] * calls


@pytest.mark.parametrize(
    ("advance", "calls"),
    [(0.0, 1), (299.0, 1), (300.5, 2)],
    ids=["same-moment", "within-ttl", "after-ttl"],
)
async def test_access_member_cache(advance: float, calls: int) -> None:
    """A second membership lookup within the ttl is served from cache; after it, asked again."""
    lookups, clock = FakeLookups(members=frozenset({42})), FakeClock()
    access = make_access(lookups, clock)
    assert await access.member(42, [GROUP]) is True
    clock.now += advance
    assert await access.member(42, [GROUP]) is True
    assert lookups.member_calls == [(GROUP, 42)] * calls


async def test_access_member_cache_is_per_user() -> None:
    """Membership is cached per (chat, user): another user is looked up separately."""
    lookups, clock = FakeLookups(members=frozenset({42})), FakeClock()
    access = make_access(lookups, clock)
    assert await access.member(42, [GROUP]) is True
    assert await access.member(43, [GROUP]) is False
    assert await access.member(43, [GROUP]) is False
    assert lookups.member_calls == [(GROUP, 42), (GROUP, 43)]


async def test_access_checks_every_group_until_found() -> None:
    """Several alert groups are asked in order; a hit in any of them counts."""
    lookups, clock = FakeLookups(admins=frozenset({42}), members=frozenset({42})), FakeClock()
    access = make_access(lookups, clock)
    assert await access.group_admin(42, [GROUP, GROUP2]) is True
    assert lookups.admin_calls == [GROUP]
    assert await access.group_admin(7, [GROUP, GROUP2]) is False
    assert lookups.admin_calls == [GROUP, GROUP2]


@pytest.mark.parametrize("method", ["group_admin", "member"])
async def test_access_failed_lookup_is_not_a_role(method: str) -> None:
    """A raising lookup means no role (no exception) and is retried after a 30 s back-off."""
    lookups, clock = FakeLookups(admins=frozenset({42}), members=frozenset({42}), fail=True), \
        FakeClock()
    access = make_access(lookups, clock)
    check = getattr(access, method)
    assert await check(42, [GROUP]) is False

    def calls() -> int:
        return len(lookups.admin_calls) + len(lookups.member_calls)

    assert calls() == 1
    clock.now += 10
    assert await check(42, [GROUP]) is False          # failure cached briefly
    assert calls() == 1
    lookups.fail = False
    clock.now += 25                                   # past the 30 s failure back-off
    assert await check(42, [GROUP]) is True
    assert calls() == 2


async def test_access_forget_clears_cache() -> None:
    """forget() drops cached answers so the next check asks Telegram again."""
    lookups, clock = FakeLookups(admins=frozenset({42}), members=frozenset({42})), FakeClock()
    access = make_access(lookups, clock)
    await access.group_admin(42, [GROUP])
    await access.member(42, [GROUP])
    access.forget()
    await access.group_admin(42, [GROUP])
    await access.member(42, [GROUP])
    assert len(lookups.admin_calls) == 2 and len(lookups.member_calls) == 2

