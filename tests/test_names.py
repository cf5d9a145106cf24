"""Unit tests for feeds.names: surname keys, /track query parsing, mention matching."""

from __future__ import annotations

import pytest

from feeds.names import (
    NameQuery,
    mentions,
    names_person,
    parse_query,
    skeleton,
    surname_key,
    transliterate,
    variants,
)

# --- surname_key -------------------------------------------------------------------------

ZHILIN_FORMS = ["Жилин", "Жилина", "Жилину", "Жилиным", "Жилине", "Жилиной",
                "Zhilin", "Jilin", "Zhilina", "ЖИЛИН", "Zhilin's", "«Жилина»"]


@pytest.mark.parametrize("word", ZHILIN_FORMS, ids=ZHILIN_FORMS)
def test_zhilin_forms_share_one_key(word: str) -> None:
    """Every script, scheme and case form of Жилин gives the key of Жилин."""
    assert surname_key(word) == surname_key("Жилин") == "jilin"


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("Жилинский", "Жилин"),
        ("Zhilinsky", "Zhilin"),
        ("Жилинского", "Жилина"),
        ("Zhilinskiy", "Jilin"),
        ("Жилинская", "Жилина"),
    ],
    ids=["zhilinsky-cyr", "zhilinsky-lat", "zhilinsky-gen", "zhilinskiy", "zhilinskaya-fem"],
)
def test_longer_surname_has_a_different_key(word: str, other: str) -> None:
    """A longer surname that starts like Жилин never shares Жилин's key."""
    assert surname_key(word) != surname_key(other)


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("Жилинский", "Zhilinsky"),
        ("Жилинского", "Zhilinskiy"),
        ("Жилинская", "Zhilinskaya"),
    ],
    ids=["nom", "gen-vs-iy", "fem"],
)
def test_sky_surname_forms_share_one_key(word: str, other: str) -> None:
    """-ский surnames keep one key across scripts and case endings."""
    assert surname_key(word) == surname_key(other) == "jilinsk"


HASANOV_FORMS = ["Хасанов", "Khasanov", "Hasanov", "Xasanov", "Хасанова", "Хасановым",
                 "Khasanova"]


@pytest.mark.parametrize("word", HASANOV_FORMS, ids=HASANOV_FORMS)
def test_kh_h_x_schemes_share_one_key(word: str) -> None:
    """Kh, H and X (Uzbek Latin) spellings of Хасанов give one key."""
    assert surname_key(word) == "hasanov"


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Қасымов", "Kasymov"),
        ("Қасымов", "Qasymov"),
        ("Ғафуров", "Gafurov"),
        ("Ўроқов", "O'roqov"),
        ("Шукуров", "Shukurov"),
        ("Юсупов", "Iusupov"),
    ],
    ids=["kazakh-qaf", "kazakh-q-latin", "ghayn", "uzbek-short-u", "shukurov", "yu-iu"],
)
def test_central_asian_letters_match_latin(cyrillic: str, latin: str) -> None:
    """Kazakh/Uzbek/Tajik letters transliterate to the key of the Latin spelling."""
    assert surname_key(cyrillic) == surname_key(latin)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Yekaterina", "Ekaterina"), ("Yulia", "Iulia"),
     ("Mukhammad", "Muhammad"), ("Zhilin", "Jilin")],
    ids=["ye-e", "yu-iu", "kh-h", "zh-j"],
)
def test_skeleton_erases_transliteration_schemes(a: str, b: str) -> None:
    """skeleton() folds the usual Latin transliteration variants together."""
    assert skeleton(a) == skeleton(b)


def test_german_style_ju_is_not_folded() -> None:
    """Decision: Latin J before a vowel is a consonant (Дж), so German-style Julia ≠ Yulia."""
    assert skeleton("Julia") != skeleton("Yulia")
    assert skeleton("Jamshid") == skeleton("Djamshid") == skeleton(transliterate("Джамшид"))


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [("Джураев", "Juraev"), ("Джалилов", "Jalilov"), ("Джалилов", "Djalilov"),
     ("Жумабаев", "Jumabaev"), ("Жаксылыков", "Jaksylykov")],
    ids=["juraev", "jalilov", "djalilov", "jumabaev", "jaksylykov"],
)
def test_latin_j_before_a_vowel_matches_dzh_and_zh(cyrillic: str, latin: str) -> None:
    """Uzbek/Kazakh Latin J + vowel spellings share the key of the Cyrillic Дж/Ж surname."""
    assert surname_key(cyrillic) == surname_key(latin)


# --- parse_query -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "key", "initial"),
    [
        ("Жилин М.А.", "jilin", "m"),
        ("Mikhail Zhilin", "jilin", "m"),
        ("Zhilin, M.", "jilin", "m"),
        ("Жилин", "jilin", ""),
        ("Михаил Жилин", "jilin", "m"),
        ("Zhilin Mikhail", "jilin", "m"),
        ("  Yevgeny   Zhilin ", "jilin", "e"),
        ("Хасанову Б.Т.", "hasanov", "b"),
    ],
    ids=["ru-initials", "first-last", "comma-initial", "surname-only", "ru-first-last",
         "last-first", "extra-spaces", "dative-initials"],
)
def test_parse_query_forms(query: str, key: str, initial: str) -> None:
    """parse_query finds the surname key and the first initial in every supported form."""
    q = parse_query(query)
    assert (q.key, q.initial) == (key, initial)
    assert q.text == query.strip()


@pytest.mark.parametrize("query", ["М.А.", "M.", "А. Б.", "", "   "],
                         ids=["ru-initials", "one-initial", "spaced-initials", "empty", "blank"])
def test_parse_query_needs_a_surname(query: str) -> None:
    """A query made only of initials (or nothing) is refused with ValueError."""
    with pytest.raises(ValueError, match="surname"):
        parse_query(query)


@pytest.mark.parametrize(
    "query", ["Петров Иван Иванович", "Petrov Ivan Ivanovich"], ids=["cyr", "lat"])
def test_parse_query_full_russian_name(query: str) -> None:
    """A full Фамилия Имя Отчество query tracks the surname with the given-name initial."""
    q = parse_query(query)
    assert (q.key, q.initial) == ("petrov", "i")


# --- mentions ----------------------------------------------------------------------------

ZHILIN_MA = parse_query("Жилин М.А.")


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        (ZHILIN_MA, "Mikhail Zhilin was handed over", True),
        (ZHILIN_MA, "Михаила Жилина передали российской стороне", True),
        (ZHILIN_MA, "Жилину М.А. назначено выдворение", True),
        (ZHILIN_MA, "Жилин Михаил Александрович задержан", True),
        (ZHILIN_MA, "Суд выдворил Жилина", True),
        (ZHILIN_MA, "Zhilin's lawyer said the appeal failed", True),
        (ZHILIN_MA, "Жилинский задержан в Астане", False),
        (ZHILIN_MA, "Zhilinsky was detained", False),
        (ZHILIN_MA, "Екатерина Жилина задержана", False),
        (ZHILIN_MA, "Yevgeny Zhilin was detained", False),
        (ZHILIN_MA, "суд в жилине", False),
        (ZHILIN_MA, "Nothing to see here", False),
        (parse_query("Жилин"), "Екатерина Жилина задержана", True),
        (parse_query("Холод А."), "В Москве холод и снег", False),
        (parse_query("Холод А."), "Анна Холод задержана", True),
    ],
    ids=["en-full-name", "ru-genitive", "ru-dative-initials", "ru-fio", "ru-no-given",
         "possessive", "longer-surname-cyr", "longer-surname-lat", "initial-conflict-ru",
         "initial-conflict-en", "lowercase-word", "unrelated", "no-initial-in-query",
         "common-noun-lowercase", "common-noun-as-surname"],
)
def test_mentions(query: NameQuery, text: str, expected: bool) -> None:
    """mentions() matches whole surname keys, capitalised only, with agreeing initials."""
    assert mentions(query, text) is expected


@pytest.mark.parametrize(
    "text", ["М.А. Жилин задержан", "М. А. Жилин задержан",
             "Михаил Александрович Жилин задержан"],
    ids=["initials-first", "spaced-initials-first", "name-patronymic-surname"])
def test_mentions_initials_before_surname(text: str) -> None:
    """Registry form И.О. Фамилия and Имя Отчество Фамилия name the tracked Жилин М.А."""
    assert mentions(ZHILIN_MA, text)


@pytest.mark.parametrize(
    "text", ["The Zhilin case", "Kazakhstan Extradites Zhilin To Russia"],
    ids=["the-article", "title-case-headline"])
def test_mentions_title_case_neighbours(text: str) -> None:
    """A capitalised non-name word next to the surname does not veto the match."""
    assert mentions(ZHILIN_MA, text)


# --- names_person ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names", "expected"),
    [
        ("Pavel Zhilin", ("Dmitriy Zhilin", "Дмитрий Жилин"), False),
        ("Pavel Zhilin", ("Дмитрий Александрович Жилин",), False),
        ("Pavel Zhilin", ("Жилин Дмитрий Александрович",), False),
        ("Юлдашев Ж.Ж.", ("Timur Yuldashev", "Тимур Юлдашев"), False),
        ("Жилин М.А.", ("Михаил Александрович Жилин",), True),
        ("Жилин М.А.", ("Жилину М.А.",), True),
        ("Жилин М.А.", ("М.А. Жилин", "Mikhail Zhilin"), True),
        ("Жилин", ("Екатерина Жилина",), True),
        ("Жилин М.А.", ("Жилин",), True),
        ("Жилин М.А.", ("Жилин", "Zhilin"), True),
        ("Жилин М.А.", ("Zhilin", "Yevgeny Zhilin"), False),
        ("Жилин М.А.", ("Жилинский Михаил",), False),
        ("Жилин М.А.", ("жилин",), False),
        ("Гульнара Касымова", ("Gulnara Karimova",), True),
        ("Гульнара Касымова", ("Karimova", "Gulnara Ivanova"), False),
        ("Жилин М.А.", (), False),
    ],
    ids=["namesake-two-scripts", "namesake-fio", "namesake-surname-first-fio",
         "namesake-initial", "fio-agrees", "initials-after", "initials-before",
         "bare-query", "bare-name", "bare-names-two-scripts", "bare-name-and-namesake",
         "longer-surname", "lowercase", "one-letter-apart-same-given",
         "one-letter-apart-given-in-another-name", "no-names"],
)
def test_names_person(query: str, names: tuple[str, ...], expected: bool) -> None:
    """names_person() reads each spelling on its own, never as a headline: a namesake's
    given name or initial vetoes it, a bare surname spelling defers to the full ones."""
    assert names_person(parse_query(query), names) is expected


# --- variants ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Жилин М.А.", {"Жилин", "Жилина", "Жилину", "Жилиным", "Zhilin", "Jilin", "Zhilina"}),
        ("Mikhail Zhilin", {"Zhilin", "Jilin", "Zhilina"}),
        ("Хасанов", {"Хасанов", "Khasanov", "Hasanov"}),
    ],
    ids=["ru-initials", "en", "kh"],
)
def test_variants_lists_the_usual_spellings(query: str, expected: set[str]) -> None:
    """variants() shows Cyrillic case forms and the common Latin spellings, without repeats."""
    got = variants(query)
    assert expected <= set(got)
    assert len(got) == len(set(got))


@pytest.mark.parametrize("query", ["Жилин М.А.", "Mikhail Zhilin", "Хасанов"],
                         ids=["ru", "en", "kh"])
def test_every_variant_is_matched(query: str) -> None:
    """Each spelling variants() shows is in fact matched by the track."""
    q = parse_query(query)
    assert all(surname_key(v) == q.key for v in variants(query))
