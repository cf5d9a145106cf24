"""Generated news feeds for the benchmarks: English and Russian RSS, 50 items each,
realistic lengths (a 60–110 character title, a 300–900 character description with a
little markup), about 5 % of the items about a named person facing deportation,
extradition or expulsion. Deterministic for a given seed.

Used by ``bench/pipeline.py`` (bytes straight into the pipeline) and
``bench/poll_cycle.py`` (served on loopback). No I/O here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

ITEMS_PER_FEED = 50
RELEVANT_SHARE = 0.05

_EN_TOPICS = (
    "The city council approved a new budget for road repairs after a long debate",
    "Inflation slowed for the third month in a row, the statistics office said",
    "The national football team won its qualifying match with a late goal",
    "Heavy snow closed several mountain passes and delayed regional flights",
    "Parliament passed amendments to the tax code in the first reading",
    "A new metro line opened to passengers on the eastern side of the capital",
    "Farmers expect a record grain harvest despite a dry spring",
    "The central bank left its key rate unchanged at the monthly meeting",
    "Doctors warn of a rise in seasonal flu cases among schoolchildren",
    "The ministry announced a tender for the modernisation of regional hospitals",
    "A museum reopened after a three-year restoration of its main hall",
    "Energy prices rose sharply as the heating season began",
)
_RU_TOPICS = (
    "Городской совет утвердил бюджет на ремонт дорог после долгого обсуждения",
    "Инфляция замедлилась третий месяц подряд, сообщила служба статистики",
    "Национальная сборная выиграла отборочный матч благодаря позднему голу",
    "Сильный снегопад закрыл несколько горных перевалов и задержал рейсы",
    "Парламент принял поправки в налоговый кодекс в первом чтении",
    "Новая линия метро открылась для пассажиров на востоке столицы",
    "Аграрии ожидают рекордный урожай зерна несмотря на засушливую весну",
    "Центральный банк сохранил ключевую ставку на прежнем уровне",
    "Врачи предупреждают о росте заболеваемости гриппом среди школьников",
    "Министерство объявило тендер на модернизацию областных больниц",
    "Музей открылся после трёхлетней реставрации главного зала",
    "Цены на энергоносители резко выросли с началом отопительного сезона",
)
_EN_FILLER = (
    "{org} said on {day} that {num} {thing} would be {done} in {place} by {month}.",
    "According to {org}, spending on {thing} rose by {num} per cent in {place}.",
    "Residents of {place} told reporters they had waited {num} years for the {thing}.",
    "{org} called for an independent review of the {thing} in {place}.",
    "The {thing} in {place} is financed from the regional budget, {org} said.",
    "Analysts at {org} expect {num} more {thing} to be {done} before {month}.",
    "Details on the {thing} will be announced in {place} on {day}, {org} said.",
    "Critics in {place} argued that the {thing} plan lacked {num} key details.",
)
_EN_SLOTS = {
    "org": ("the ministry", "the mayor's office", "the statistics agency", "the union",
            "the regional government", "a parliamentary committee", "the central bank",
            "the chamber of commerce", "local activists", "the transport authority"),
    "thing": ("schools", "bridges", "bus routes", "clinics", "parks", "heating plants",
              "tram lines", "housing blocks", "water mains", "sports halls", "libraries"),
    "done": ("repaired", "opened", "closed", "rebuilt", "inspected", "modernised"),
    "place": ("Almaty", "Bishkek", "Tbilisi", "Yerevan", "Kazan", "Samara", "Osh",
              "Karaganda", "Batumi", "Gyumri", "Tomsk", "Aktobe", "Namangan", "Khujand"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
    "month": ("January", "March", "May", "July", "September", "November", "spring"),
}
_RU_FILLER = (
    "{org} сообщило в {day}, что {num} объектов ({thing}) отремонтируют в городе {place}.",
    "По данным, которые привело {org}, расходы на {thing} выросли на {num} процентов.",
    "Жители города {place} рассказали, что ждали этого {num} лет.",
    "{org} потребовало независимой проверки расходов на {thing} в городе {place}.",
    "Проект ({thing}, город {place}) финансируется из регионального бюджета.",
    "Аналитики ожидают, что ещё {num} объектов ({thing}) откроют до конца года.",
    "Подробности о том, как изменятся {thing}, сообщат в {day} в городе {place}.",
    "Критики в городе {place} заявили, что в плане не хватает {num} важных деталей.",
)
_RU_SLOTS = {
    "org": ("Министерство", "Правительство области", "Управление статистики",
            "Городское собрание", "Профильное ведомство", "Агентство", "Общественное движение"),
    "thing": ("школы", "мосты", "автобусные маршруты", "поликлиники", "парки", "котельные",
              "трамвайные линии", "жилые дома", "водопроводы", "спортзалы", "библиотеки"),
    "place": ("Алматы", "Бишкек", "Тбилиси", "Ереван", "Казань", "Самара", "Ош",
              "Караганда", "Батуми", "Гюмри", "Томск", "Актобе", "Наманган", "Худжанд"),
    "day": ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу"),
}
_EN_GIVEN = ("Mikhail", "Aziz", "Dmitry", "Rustam", "Farrukh", "Sergei", "Timur", "Anvar")
_RU_GIVEN = ("Михаил", "Азиз", "Дмитрий", "Рустам", "Фаррух", "Сергей", "Тимур", "Анвар")
_SYLLABLES = ("ka", "mo", "ri", "na", "to", "ve", "lu", "sa", "de", "zo", "bi", "gu")
_RU_SYLLABLES = ("ка", "мо", "ри", "на", "то", "ве", "лу", "са", "де", "зо", "би", "гу")
_EN_CASES = (
    ("Court orders deportation of {p} to {c}",
     "A district court ordered the deportation of {p}, a citizen of {c}, who had asked for "
     "asylum. His lawyer said the appeal would be filed within days."),
    ("{p} faces extradition to {c}",
     "Prosecutors approved the extradition of {p} to {c}, where he is wanted on charges "
     "rights groups call politically motivated. He remains in a detention centre."),
    ("Asylum seeker {p} detained ahead of expulsion",
     "Migration police detained {p} and placed him in a centre for foreign nationals ahead "
     "of his expulsion to {c}. Human rights defenders asked the UN to intervene."),
)
_RU_CASES = (
    ("Суд постановил выдворить {p} в {c}",
     "Районный суд постановил выдворить {p}, гражданина страны {c}, который просил убежища. "
     "Адвокат заявил, что жалоба будет подана в ближайшие дни."),
    ("Генпрокуратура одобрила экстрадицию {p}",
     "Генеральная прокуратура одобрила экстрадицию {p} в {c}, где его преследуют по "
     "статье, которую правозащитники называют политической. Он остаётся в СИЗО."),
)
_EN_COUNTRIES = ("Tajikistan", "Uzbekistan", "Russia", "Kyrgyzstan", "Turkmenistan")
_RU_COUNTRIES = ("Таджикистан", "Узбекистан", "Россию", "Киргизию", "Туркмению")


@dataclass(frozen=True, slots=True)
class GeneratedFeed:
    url_path: str
    lang: str
    body: bytes
    items: int
    relevant: int


def _surname(rng: random.Random, ru: bool) -> str:
    parts = _RU_SYLLABLES if ru else _SYLLABLES
    stem = "".join(rng.choice(parts) for _ in range(3))
    return stem.capitalize() + ("ова" if ru else "ov")     # Russian: genitive "…ова"


def _sentence(rng: random.Random, ru: bool) -> str:
    slots = _RU_SLOTS if ru else _EN_SLOTS
    template = rng.choice(_RU_FILLER if ru else _EN_FILLER)
    return template.format(num=rng.randint(2, 90),
                           **{key: rng.choice(words) for key, words in slots.items()})


def _text(rng: random.Random, ru: bool) -> tuple[str, str]:
    title = f"{rng.choice(_RU_TOPICS if ru else _EN_TOPICS)}"
    sentences = [title + "."] + [_sentence(rng, ru) for _ in range(rng.randint(3, 9))]
    return title, " ".join(sentences)


def make_feed(index: int, *, seed: int = 7, revision: int = 0,
              now: datetime | None = None) -> GeneratedFeed:
    """Feed number ``index``; a higher ``revision`` adds that many new items on top (the
    oldest drop off), as a live feed does between polls."""
    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    ru = index % 2 == 1
    lang = "ru" if ru else "en"
    items: list[str] = []
    relevant = 0
    for n in range(revision, revision + ITEMS_PER_FEED):
        rng = random.Random(f"{seed}:{index}:{n}")
        if rng.random() < RELEVANT_SHARE:
            relevant += 1
            given = rng.choice(_RU_GIVEN if ru else _EN_GIVEN)
            person = f"{given}{'а' if ru else ''} {_surname(rng, ru)}"
            title_t, text_t = rng.choice(_RU_CASES if ru else _EN_CASES)
            country = rng.choice(_RU_COUNTRIES if ru else _EN_COUNTRIES)
            title, text = title_t.format(p=person, c=country), text_t.format(p=person, c=country)
            text += " " + " ".join(_sentence(rng, ru) for _ in range(rng.randint(1, 4)))
        else:
            title, text = _text(rng, ru)
        published = format_datetime(now - timedelta(minutes=10 * (revision + ITEMS_PER_FEED - n)))
        link = f"https://news{index}.example/{lang}/{n}-{rng.randrange(10**6)}"
        description = f"<p>{escape(text)}</p><p><a href=\"{link}\">{'Читать' if ru else 'Read'}"\
                      f"</a></p>"
        items.append(f"<item><title>{escape(title)}</title><link>{link}</link>"
                     f"<guid isPermaLink=\"false\">n{index}-{n}</guid>"
                     f"<pubDate>{published}</pubDate>"
                     f"<description>{escape(description)}</description></item>")
    items.reverse()                     # newest first, as feeds are
    channel = (f"<title>{'Новости' if ru else 'News'} {index}</title>"
               f"<link>https://news{index}.example/</link>"
               f"<description>Generated feed {index}</description><language>{lang}</language>")
    body = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>{channel}'
            + "\n".join(items) + "</channel></rss>").encode()
    return GeneratedFeed(url_path=f"/feed/{index}.xml", lang=lang, body=body,
                         items=ITEMS_PER_FEED, relevant=relevant)
