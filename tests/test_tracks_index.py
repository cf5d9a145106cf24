"""Table-driven tests for ``feeds.track_index`` (tracks filed by name key) and for
``feeds.routing.track_hits`` on top of it: the index finds exactly what comparing
every track with ``mentions`` finds, in the tracks' order, from the caller's tracks."""

from __future__ import annotations

import pytest

from feeds.models import Track
from feeds.names import NameQuery, keys_match, mentions, names_person, parse_query
from feeds.routing import track_hits
from feeds.track_index import TrackIndex, neighbourhood

# --- neighbourhood ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("", {""}),
        ("a", {"a", ""}),
        ("abc", {"abc", "bc", "ac", "ab"}),
        ("aab", {"aab", "ab", "aa"}),
        ("jilin", {"jilin", "ilin", "jlin", "jiin", "jiln", "jili"}),
    ],
    ids=["empty", "one-letter", "three-letters", "doubled-letter", "surname-key"],
)
def test_neighbourhood(key: str, expected: set[str]) -> None:
    """The neighbourhood is the key and each string with one of its letters deleted."""
    assert neighbourhood(key) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("jilin", "jilin"),
        ("uldashev", "uldoshev"),
        ("vasilevsk", "vasileusk"),
        ("abdrahmanov", "abdirahmanov"),
        ("karimov", "kasimov"),
        ("akubov", "ikubov"),
        ("hasanov", "kasanov"),
    ],
    ids=["equal", "vowel-changed", "letter-changed", "letter-added", "consonant-changed",
         "first-vowel-changed", "first-k-h-changed"],
)
def test_keys_that_match_share_a_lookup_string(a: str, b: str) -> None:
    """Every pair of keys keys_match accepts meets in the neighbourhoods (the index's
    guarantee), whichever of the two is filed."""
    assert keys_match(a, b)
    assert neighbourhood(a) & neighbourhood(b)


# --- TrackIndex ------------------------------------------------------------------------

QUERIES: list[NameQuery | None] = [
    parse_query("Жилин М.А."),          # 0
    parse_query("Жилина"),              # 1: an inflected bare surname
    parse_query("Pavel Zhilin"),        # 2: a namesake
    parse_query("Ильин А."),            # 3: a key one deletion from jilin, too short to match
    None,                               # 4: a query that does not parse
    parse_query("Юлдашев Т."),          # 5
    parse_query("Касымова Г."),         # 6: one letter from Karimova
    parse_query("Жилин М.А."),          # 7: the same query, another coordinator
    parse_query("Холод А."),            # 8: a surname that is a common noun
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mikhail Zhilin", [0, 1, 7]),
        ("Михаила Жилина", [0, 1, 7]),
        ("Pavel Zhilin", [1, 2]),
        ("Жилинский Михаил", []),
        ("Timur Yo'ldoshev", [5]),
        ("Gulnara Karimova", [6]),
        ("Dilnoza Karimova", []),
        ("Анна Ильина", [3]),
        ("в Москве холод", []),
        ("Анна Холод", [8]),
        ("", []),
    ],
    ids=["latin-text", "cyrillic-inflected", "namesake-hits-only-its-own", "longer-surname",
         "uzbek-spelling", "one-letter-apart-same-given", "one-letter-apart-other-given",
         "short-key", "lowercase-word", "common-noun-as-surname", "empty"],
)
def test_matches(text: str, expected: list[int]) -> None:
    """matches() gives the positions of the queries the text mentions, ascending, repeated
    queries included, unparsed ones never."""
    assert TrackIndex.build(QUERIES).matches(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Mikhail Zhilin ; Михаил Жилин", "Dmitrii Zhilin ; Дмитрий Жилин ; Dmitrii Jilin",
     "Timur Iuldashev ; Тимур Юлдашев", "Gulnara Karimova ; Гульнара Касымова",
     "М.А. Жилин", "Жилину М.А.", "The Zhilin Case", "Ильин ; Жилин", "Zhilin's lawyer",
     "Анна Холод ; холод", "Ъ ; a ; 123"],
    ids=["two-scripts", "three-spellings", "iotated", "two-keys", "initials-first",
         "initials-after", "title-case", "two-near-keys", "possessive", "noun-and-name",
         "junk"],
)
def test_matches_equals_comparing_every_query(text: str) -> None:
    """The index answers exactly as mentions() over every query does."""
    brute = [i for i, q in enumerate(QUERIES) if q is not None and mentions(q, text)]
    assert TrackIndex.build(QUERIES).matches(text) == brute


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("Mikhail Zhilin", "Михаил Жилин"), [0, 1, 7]),
        (("Pavel Zhilin", "Павел Жилин"), [1, 2]),
        (("Dmitrii Zhilin", "Дмитрий Жилин", "Dmitrii Jilin"), [1]),
        (("Жилин",), [0, 1, 2, 7]),
        (("Zhilin", "Pavel Zhilin"), [1, 2]),
        (("Timur Iuldashev", "Тимур Юлдашев"), [5]),
        (("Jasur Yuldashev", "Жасур Юлдашев"), []),
        (("Gulnara Karimova", "Гульнара Каримова"), [6]),
        (("Анна Ильина",), [3]),
        (("Анна Холод",), [8]),
        ((), []),
    ],
    ids=["two-scripts", "namesake-hits-only-its-own", "three-spellings-namesake",
         "bare-surname", "bare-and-full", "iotated", "other-initial", "one-letter-apart",
         "short-key", "common-noun-as-surname", "no-names"],
)
def test_matches_person(names: tuple[str, ...], expected: list[int]) -> None:
    """matches_person() gives the positions of the queries whose person the names are,
    judging every spelling on its own, and equals names_person() over every query."""
    brute = [i for i, q in enumerate(QUERIES) if q is not None and names_person(q, names)]
    assert TrackIndex.build(QUERIES).matches_person(names) == expected == brute


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dmitrii Zhilin", [0, 1, 2, 7]),
        ("Анна Ильина", [3]),
        ("Gulnara Karimova", [6]),
        ("zhilin", []),
    ],
    ids=["same-key", "one-deletion-but-no-match", "one-letter-apart", "lowercase"],
)
def test_candidates(text: str, expected: list[int]) -> None:
    """candidates() keeps the queries whose key keys_match a capitalised word's key,
    not every query that shares a lookup string (Ильин is filed under ``ilin``, which
    ``jilin`` also reaches, but the keys are too short to be one letter apart)."""
    assert [i for i, _ in TrackIndex.build(QUERIES).candidates(text)] == expected


# --- track_hits on the index ------------------------------------------------------------


@pytest.mark.parametrize(
    ("owners", "persons", "expected"),
    [
        ((1, 2, 3), ("Михаил Жилин",), [0, 2]),
        ((4, 5, 6), ("Михаил Жилин",), [0, 2]),
        ((1, 2, 3), ("Anna Ivanova",), []),
        ((1, 2, 3), (), []),
    ],
    ids=["first-owners", "same-queries-other-owners", "no-hit", "no-persons"],
)
def test_track_hits_returns_the_callers_tracks(owners: tuple[int, ...],
                                               persons: tuple[str, ...],
                                               expected: list[int]) -> None:
    """track_hits returns the caller's own Track objects in their order, even when the
    index was filed for the same query texts from other tracks."""
    tracks = [Track(10 + i, query, owner)
              for i, (query, owner) in enumerate(zip(
                  ("Mikhail Zhilin", "Ivanov P.", "Жилина"), owners, strict=True))]
    hits = track_hits(tracks, persons)
    assert hits == [tracks[i] for i in expected]
    assert all(any(h is t for t in tracks) for h in hits)


@pytest.mark.parametrize(
    ("queries", "expected"),
    [
        (("Ivanov P.",), []),
        (("Ivanov P.", "Zhilin"), ["Zhilin"]),
        (("Zhilin", "Ivanov P."), ["Zhilin"]),
        (("Zhilin",) * 3, ["Zhilin"] * 3),
        ((), []),
    ],
    ids=["none-matches", "track-added", "order-changed", "repeated", "no-tracks"],
)
def test_track_hits_follows_the_tracks_given(queries: tuple[str, ...],
                                             expected: list[str]) -> None:
    """Each call answers for the tracks it is given: added, reordered or repeated tracks
    never get an index filed for another set."""
    tracks = [Track(i, q, 7) for i, q in enumerate(queries)]
    assert [t.query for t in track_hits(tracks, ("Михаил Жилин",))] == expected


# --- track_hits: each of a case's person names read on its own ----------------------------

DMITRIY_ZHILIN = ("Dmitriy Zhilin", "Dmitrii Zhilin", "Дмитрий Жилин", "Dmitrii Jilin")
TIMUR_YULDASHEV = ("Timur Iuldashev", "Timur Yuldashev", "Тимур Юлдашев")


@pytest.mark.parametrize(
    ("query", "persons", "hit"),
    [
        # namesakes: another given name or initial, in either script
        ("Pavel Zhilin", DMITRIY_ZHILIN, False),
        ("Павел Жилин", DMITRIY_ZHILIN, False),
        ("Жилин П.А.", DMITRIY_ZHILIN, False),
        ("Юлдашев Ж.Ж.", TIMUR_YULDASHEV, False),
        ("Timur Yuldashev", ("Жасур Юлдашев", "Jasur Yuldashev"), False),
        ("Екатерина Жилина", ("Дмитрий Жилин", "Dmitriy Zhilin"), False),
        ("Pavel Zhilin", ("Дмитрий Александрович Жилин",), False),
        ("Pavel Zhilin", ("Жилин Дмитрий Александрович", "Dmitriy Zhilin"), False),
        ("Жилин П.", ("Д.А. Жилин", "Жилин Д.А."), False),
        # the same person: agreeing given name or initial, any spelling of the case
        ("Zhilin Dmitriy", DMITRIY_ZHILIN, True),
        ("Дмитрий Жилин", DMITRIY_ZHILIN, True),
        ("Жилин Д.", DMITRIY_ZHILIN, True),
        ("Юлдашев Т.", TIMUR_YULDASHEV, True),
        ("Timur Yo'ldoshev", TIMUR_YULDASHEV, True),
        ("Жилин Д.А.", ("Дмитрий Александрович Жилин",), True),
        ("Pavel Zhilin", ("Anna Ivanova", "Павел Жилин"), True),
        # bare surname tracks: any case with that surname, any script or inflection
        ("Жилина", DMITRIY_ZHILIN, True),
        ("Zhilin", DMITRIY_ZHILIN, True),
        ("Юлдашевым", TIMUR_YULDASHEV, True),
        ("Жилинский", DMITRIY_ZHILIN, False),
        ("Ильин", DMITRIY_ZHILIN, False),
        # a case that names its person by surname alone
        ("Pavel Zhilin", ("Жилин",), True),
        ("Pavel Zhilin", ("Жилин", "Zhilin"), True),
        ("Pavel Zhilin", ("Zhilin", "Dmitriy Zhilin"), False),
        ("Dmitriy Zhilin", ("Zhilin", "Dmitriy Zhilin"), True),
        # one letter apart: only with an agreeing given name in the same spelling
        ("Гульнара Касымова", ("Gulnara Karimova", "Гульнара Каримова"), True),
        ("Гульнара Касымова", ("Dilnoza Karimova", "Дильноза Каримова"), False),
        ("Гульнара Касымова", ("Karimova", "Каримова"), False),
        # words of one spelling never stand beside another spelling's surname
        ("Фаррух Кипиани", ("Farruh Turakulov", "Фаррух Туракулов", "Farrukh Turakulov"),
         False),
        ("Margarian Bahtier", ("Bakhtiyor Lebedev", "Бахтиёр Лебедев"), False),
    ],
    ids=["latin-namesake", "cyrillic-namesake", "initials-namesake", "initial-namesake",
         "given-namesake-two-scripts", "female-namesake", "fio-namesake",
         "surname-first-fio-namesake", "initials-both", "latin-surname-first",
         "cyrillic-full-name", "initial", "initial-uzbek-spelling-case",
         "uzbek-spelling-query", "fio-initials", "one-of-two-people",
         "bare-inflected", "bare-latin", "bare-instrumental", "longer-surname",
         "short-key-one-letter-off", "bare-person", "bare-person-two-scripts",
         "bare-spelling-and-full-other", "bare-spelling-and-full-same",
         "fuzzy-same-given", "fuzzy-other-given", "fuzzy-bare",
         "surname-parsed-as-given", "fuzzy-across-spellings"],
)
def test_track_hits_reads_each_person_name(query: str, persons: tuple[str, ...],
                                           hit: bool) -> None:
    """A track hits a case through one of its person names read on its own: namesakes
    (another given name or initial) miss however many spellings the case has, a bare
    surname track hits every spelling, and a bare surname spelling stands for the
    person the case's other spellings name in full."""
    track = Track(1, query, 7)
    assert track_hits([track], persons) == ([track] if hit else [])
