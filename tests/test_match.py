"""Unit tests for feeds.match: relevance, kind, stage, persons and countries of one item."""

from __future__ import annotations

import pytest

from feeds.match import Matcher, analyze, build_matcher, extract_persons
from feeds.models import CaseKind, Stage


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """The bundled lexicons, compiled once for the module."""
    return build_matcher()


@pytest.mark.parametrize(
    ("title", "text", "kind", "stage", "urgent", "key", "given"),
    [
        ("Kazakhstan extradites Russian deserter Mikhail Zhilin",
         "Mikhail Zhilin, who fled mobilisation, was handed over to Russia on Friday.",
         CaseKind.EXTRADITION, Stage.REMOVED, True, "jilin", "m"),
        ("Суд в Казахстане: Михаила Жилина передали российской стороне",
         "Ранее Жилину отказали в предоставлении убежища. Адвокат узнал о передаче утром.",
         CaseKind.DEPORTATION, Stage.REMOVED, True, "jilin", "m"),
        ("Турсунов А.Б.",
         "Турсунов А.Б. | ст. 18.8 ч.3.1 КоАП РФ | штраф с административным выдворением",
         CaseKind.EXPULSION, Stage.COURT_ORDER, True, "tursunov", "a"),
        ("Uzbek activist Alisher Karimov faces deportation from Russia",
         "Alisher Karimov was detained in Moscow on Monday.",
         CaseKind.DEPORTATION, Stage.IMMINENT, True, "karimov", "a"),
        ("Court rejects asylum claim of Ivan Petrov",
         "Ivan Petrov's asylum application was rejected.",
         CaseKind.ASYLUM, Stage.ASYLUM_REFUSED, True, "petrov", "i"),
        ("Mikhail Zhilin released",
         "A court in Astana refused to extradite Mikhail Zhilin to Russia.",
         CaseKind.EXTRADITION, Stage.RELEASED, False, "jilin", "m"),
    ],
    ids=["en-zhilin-handed-over", "ru-inflected-name", "registry-row", "en-imminent",
         "en-asylum-refused", "en-released-not-urgent"],
)
def test_relevant_items(matcher: Matcher, title: str, text: str, kind: CaseKind, stage: Stage,
                        urgent: bool, key: str, given: str) -> None:
    """A removal story about a named person is relevant with the right kind/stage/person."""
    a = analyze(title, text, matcher)
    assert a.relevant, a.reason
    assert (a.kind, a.stage, a.urgent) == (kind, stage, urgent)
    assert (a.persons[0].key, a.persons[0].given) == (key, given)
    assert a.triggers


@pytest.mark.parametrize(
    ("title", "text", "reason"),
    [
        ("80th anniversary of the deportation of the Chechens and Ingush",
         "In 1944 Stalin ordered the deportation of whole peoples, historian Ivan Petrov said.",
         "context: historical"),
        ("В день памяти жертв депортации народов",
         "Историк Иван Петров рассказал о депортации 1944 года.",
         "context: historical"),
        ("Thousands of migrants were deported last year",
         "According to statistics, 12,000 people were deported from Russia in 2023.",
         "context: aggregate"),
        ("Zenit fans want Artem Dzyuba deported to the bench",
         "Artem Dzyuba was expelled from the match by the referee.",
         "context: offtopic"),
        ("Mikhail Zhilin opened a bakery in Almaty",
         "Mikhail Zhilin said business was good.",
         "no removal term"),
        ("New rules on deportation",
         "Lawmakers said the draft law would make deportation faster.",
         "context: policy"),
    ],
    ids=["historical-en", "historical-ru", "aggregate-statistics", "sports-metaphor",
         "no-removal-term", "policy-no-person"],
)
def test_irrelevant_items(matcher: Matcher, title: str, text: str, reason: str) -> None:
    """History, statistics, sport, policy and removal-free texts are not alerts."""
    a = analyze(title, text, matcher)
    assert not a.relevant
    assert a.reason == reason
    assert not a.urgent and a.persons == ()


def test_analyze_is_pure(matcher: Matcher) -> None:
    """The same title and text always give an equal Analysis (with or without a matcher)."""
    args = ("Mikhail Zhilin detained", "Mikhail Zhilin faces extradition to Russia.")
    assert analyze(*args, matcher) == analyze(*args, matcher) == analyze(*args)


@pytest.mark.parametrize(
    ("sentence", "key", "given"),
    [
        ("Суд назначил Хасанову Б.Т. выдворение", "hasanov", "b"),
        ("Б.Т. Хасанов", "hasanov", "b"),
        ("Хасанова Б.Т. выдворили из России", "hasanov", "b"),
        ("Иван Иванович Петров", "petrov", "i"),
        ("Петров Иван Иванович", "petrov", "i"),
        ("Petrov Ivan", "petrov", "i"),
        ("Ivan Petrov", "petrov", "i"),
    ],
    ids=["dative-initials", "initials-first", "genitive-initials", "name-patronymic-surname",
         "surname-name-patronymic", "latin-surname-first", "latin-first-last"],
)
def test_extract_persons_registry_forms(matcher: Matcher, sentence: str, key: str,
                                        given: str) -> None:
    """Registry and prose name orders give one person with surname key and given initial."""
    persons = extract_persons(sentence, matcher)
    assert [(p.key, p.given) for p in persons] == [(key, given)]


@pytest.mark.parametrize(
    "sentence",
    ["The Supreme Court of Russia", "Суд Москвы", "Kazakhstan and Russia", "a lone Word here"],
    ids=["institutions", "ru-institution", "countries", "single-word"],
)
def test_extract_persons_ignores_non_names(matcher: Matcher, sentence: str) -> None:
    """Stop words, countries and single capitalised words are not persons."""
    assert extract_persons(sentence, matcher) == []


def test_extract_persons_display_keeps_space_after_initials(matcher: Matcher) -> None:
    """'Б.Т. Хасанов' is displayed as written, with the space before the surname."""
    assert extract_persons("Б.Т. Хасанов", matcher)[0].display == "Б.Т. Хасанов"


@pytest.mark.parametrize(
    ("title", "text", "countries"),
    [
        ("Deported from Kazakhstan to Russia",
         "Ivan Petrov was deported from Kazakhstan to Russia.", ("KZ", "RU")),
        ("Deported from Russia to Kazakhstan",
         "Ivan Petrov was deported from Russia to Kazakhstan.", ("RU", "KZ")),
        ("Ivan Petrov was extradited to Russia from Kazakhstan", "", ("KZ", "RU")),
        ("Ivan Petrov was extradited from Kyrgyzstan to Uzbekistan", "", ("KG", "UZ")),
        ("Депортация",
         "Гражданина Узбекистана Алишера Каримова депортировали из России в Узбекистан.",
         ("RU", "UZ")),
    ],
    ids=["kz-to-ru", "ru-to-kz", "destination-named-first", "kg-to-uz", "ru-to-uz"],
)
def test_countries_put_the_destination_last(matcher: Matcher, title: str, text: str,
                                            countries: tuple[str, ...]) -> None:
    """Countries are ordered from → to: a 'to X' / 'в X' destination comes last."""
    assert analyze(title, text, matcher).countries == countries


@pytest.mark.parametrize(
    ("sentence", "key"),
    [("Ивана Белова задержали", "belov"), ("Иван Краснов", "krasnov"),
     ("Ирина Казанцева", "kazancev"), ("Белов И.П.", "belov"), ("Алишер Уралов", "uralov")],
    ids=["belov", "krasnov", "kazantseva", "belov-initials", "uralov"],
)
def test_surnames_that_start_like_places_are_persons(matcher: Matcher, sentence: str,
                                                     key: str) -> None:
    """Surnames sharing a prefix with a region name (Белов, Краснов) are still persons."""
    assert [p.key for p in extract_persons(sentence, matcher)] == [key]
