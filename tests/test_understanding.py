"""The matcher's newer parts, table-driven: views, gaps, persons at risk, context,
countries, court, dates, morphology and near-duplicates."""

from __future__ import annotations

import pytest

from feeds import morph, neardup
from feeds.match import Matcher, analyze, build_matcher, extract_persons, pick_stage
from feeds.models import CaseKind, Stage


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return build_matcher()


@pytest.mark.parametrize(("title", "text", "stage"), [
    ("Суд отклонила апелляцию", "Коллегия отклонила апелляцию Ивана Петрова на решение о его "
     "депортации.", Stage.APPEAL_REJECTED),
    ("Court orders the swift expulsion of Ivan Petrov", "", Stage.COURT_ORDER),
    ("Генпрокуратура КР отказала Казахстану в экстрадиции Нурлана Садыкова", "",
     Stage.REFUSED),
    ("Ivan Petrov faces deportation", "", Stage.IMMINENT),
    ("Ивана Петрова собираются выдать России", "", Stage.IMMINENT),
    ("Ивана Петрова выдали России", "", Stage.REMOVED),
    ("Lithuania orders Ivan Petrov to leave the country", "", Stage.COURT_ORDER),
], ids=["ru-inflected-inner-word", "en-stemmed", "ru-gap", "en-imminent",
        "ru-future-is-not-removed", "ru-past-is-removed", "en-gap-to-leave"])
def test_stage_vocabulary(matcher: Matcher, title: str, text: str, stage: Stage) -> None:
    """Inflected, gapped and tense-sensitive stage phrases give the right stage."""
    a = analyze(title, text, matcher)
    assert a.relevant
    assert a.stage is stage


@pytest.mark.parametrize(("sentence", "keys"), [
    ("His lawyer Anna Petrova said Ivan Sidorov could be deported.", ["sidorov"]),
    ("Ilkhom Karimov, head of the migration agency, said Ivan Sidorov faces deportation.",
     ["sidorov"]),
    ("По словам адвоката Анны Петровой, Ивану Сидорову грозит выдача.", ["sidorov"]),
    ("Kazakhstan Denies Asylum To Russian Officer Who Fled Mobilization", []),
    ("Person sought: AKHMEDOVSKY D. | Pre-trial chamber", ["ahmedovsk"]),
    ("Government of the Republic of Kazakhstan v SEITKALI, Marat", ["seitkali"]),
    ("Суд освободил активиста Алмаза Исаева", ["isaev"]),
    ("По данным Bloomberg Partners, выдача возможна", []),
], ids=["lawyer-speaks", "apposition-official", "po-slovam", "title-case-junk",
        "registry-caps", "registry-surname-comma", "common-word-given-name", "latin-brand"])
def test_persons_at_risk(matcher: Matcher, sentence: str, keys: list[str]) -> None:
    """Officials and speakers are not at risk; junk capitals are not names."""
    assert [p.key for p in extract_persons(sentence, matcher)] == keys


@pytest.mark.parametrize(("title", "text", "relevant", "reason"), [
    ("Kyrgyz journalist detained at Sheremetyevo",
     "A Kyrgyz journalist was detained at Sheremetyevo airport and faces extradition.",
     True, "person at risk"),
    ("В Новосибирске арестован для выдачи Узбекистану 45-летний строитель", "", True,
     "person at risk"),
    ("Тысячи граждан Украины выдворили из России", "", False, "context: aggregate"),
    ("МВД упростит выдачу паспортов", "Иван Петров рассказал о выдаче паспортов.", False,
     "context: offtopic"),
    ("What Russians who left should know about extradition",
     "The case of Mikhail Zhilin showed how fast it goes.", False, "context: explainer"),
    ("UN body asks to halt extradition of Jasur Uktamov",
     "The committee asked Kazakhstan not to extradite him while it reviews his complaint.",
     True, "person at risk"),
], ids=["described-journalist", "aged-builder", "plural-citizens", "passports",
        "explainer", "reviews-is-a-verb"])
def test_relevance_context(matcher: Matcher, title: str, text: str, relevant: bool,
                           reason: str) -> None:
    """Described or aged individuals count; plural, object and explainer contexts do not."""
    a = analyze(title, text, matcher)
    assert (a.relevant, a.reason) == (relevant, reason)


@pytest.mark.parametrize(("title", "countries"), [
    ("Tajik activist Farrukh Rahimov detained in Moscow faces extradition", ("RU", "TJ")),
    ("Mikhail Zhilin was deported from Kazakhstan to Russia", ("KZ", "RU")),
    ("Армения собирается выдать России Владимира Ухалова", ("AM", "RU")),
], ids=["demonym-is-destination", "from-to", "ru-dative-destination"])
def test_countries_origin_then_destination(matcher: Matcher, title: str,
                                           countries: tuple[str, ...]) -> None:
    """Countries come origin (or where held) first, destination last."""
    assert analyze(title, "", matcher).countries == countries


def test_court_and_dates(matcher: Matcher) -> None:
    """The court and the dates mentioned are extracted in both languages."""
    ru = analyze("Костанайский областной суд отклонил жалобу Михаила Жилина",
                 "Решение о депортации вынесено 28 декабря 2022 года.", matcher)
    assert ru.court == "Костанайский областной суд"
    assert ru.dates == ("2022-12-28",)
    en = analyze("Westminster Magistrates' Court approves extradition of Ivan Petrov",
                 "The hearing on June 3, 2024 lasted an hour; next one on 12.07.2024.", matcher)
    assert en.court is not None and en.court.startswith("Westminster Magistrates")
    assert en.dates == ("2024-06-03", "2024-07-12")


@pytest.mark.parametrize(("found", "stage"), [
    ({Stage.DETAINED, Stage.REMOVED, Stage.INTERIM_MEASURES}, Stage.REMOVED),
    ({Stage.DETAINED, Stage.RELEASED}, Stage.RELEASED),
    ({Stage.RELEASED, Stage.REFUSED}, Stage.REFUSED),
    ({Stage.DETAINED, Stage.COURT_ORDER}, Stage.COURT_ORDER),
    (set(), None),
], ids=["removal-wins", "release-ends-detention", "refusal-over-release", "furthest",
        "none"])
def test_pick_stage(found: set[Stage], stage: Stage | None) -> None:
    """Removal beats all, endings beat the danger they end, else the furthest stage."""
    assert pick_stage(found) is stage


@pytest.mark.parametrize(("words", "nominative"), [
    (("Михаила", "Жилина"), ("Михаил", "Жилин")),
    (("Екатерины", "Жилиной"), ("Екатерина", "Жилина")),
    (("Петрову", "Ивану", "Ивановичу"), ("Петров", "Иван", "Иванович")),
    (("Фаррухом", "Рахимовым"), ("Фаррух", "Рахимов")),
    (("Хасанову",), ("Хасанов",)),
], ids=["masc-gent", "fem-gent", "datv-three-words", "unknown-given-name", "plural-trap"])
def test_nominative(words: tuple[str, ...], nominative: tuple[str, ...]) -> None:
    """Names are shown in the nominative, gender taken from the given name."""
    assert morph.nominative(words) == nominative


def test_kind_of_refused_asylum(matcher: Matcher) -> None:
    """A refused asylum with no removal word is kind 'asylum'."""
    a = analyze("Германия отказала в убежище Алексею Фомичеву", "", matcher)
    assert (a.kind, a.stage) == (CaseKind.ASYLUM, Stage.ASYLUM_REFUSED)


STORY = ("Костанайский областной суд отклонил жалобу Жилина на отказ в предоставлении статуса "
         "беженца. В тот же день было вынесено решение о депортации.")


@pytest.mark.parametrize(("other", "copy"), [
    (STORY + " Источник: 24.kg", True),
    (STORY.replace(".", "!").upper(), True),
    ("Суд в Костанае оставил без изменения решение об отказе Жилину в статусе беженца.", False),
], ids=["source-line-added", "case-and-punctuation", "rewrite"])
def test_near_duplicates(other: str, copy: bool) -> None:
    """MinHash similarity separates copies from rewrites of the same story."""
    sim = neardup.similarity(neardup.signature(STORY), neardup.signature(other))
    assert neardup.is_copy(sim, len(STORY), frozenset({"jilin"}), frozenset({"jilin"})) is copy


def test_signatures_are_stable_and_round_trip() -> None:
    """Signatures do not depend on the process (they are stored) and pack losslessly."""
    sig = neardup.signature(STORY)
    assert sig == neardup.signature(STORY)
    assert neardup.unpack(neardup.pack(sig)) == sig
    assert len(neardup.band_keys(sig)) == neardup.BANDS
    assert not neardup.is_copy(1.0, 1000, frozenset({"a"}), frozenset({"b"}))
