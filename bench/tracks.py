"""Benchmark: what coordinators' tracks cost the matching (issue #7: 1,000 tracks add
at most 20 % to matching time).

"Matching time" is what the pipeline does per item, measured with the real functions:

- ``analyze`` of every item (``feeds.pipeline.ingest``);
- for every item that changes a case (the real ``feeds.cases.decide`` over cases kept
  in memory, as ``Store.record_items`` would place it), the track comparisons the
  service makes: ``feeds.routing.route`` with the tracks read once per batch (what
  ``Store._record_item`` calls), then ``track_hits`` once per case message that
  routing queued (``bot.delivery._deliver_one`` renders every case message with the
  tracks that hit, from a freshly read list of tracks; the outbox's dedup keys are
  applied, so a card already queued is not counted twice).

Storage and Telegram are left out: they compare no names. Delivery reads the tracks
from the database once per message; that read is I/O, not matching, and is not
measured here.

Inputs are generated with a fixed seed: items in English and Russian (titles of
60–110 characters, texts of 300–900), about 5 % about a named person facing
deportation, extradition or expulsion — Russian names in every case form
(Жилина, Жилину, Жилиным) and in several Latin spellings (Zhilin, Jilin) — and about
3 % about removals without a person at risk (statistics, policy). Tracks are names in
the forms coordinators type (``Петров А.В.``, ``Zhilin Mikhail``, ``Жилина``); six
are aimed at people in the news, two are namesakes of theirs (another given name or
initial), and each hit is printed with what its track was. One alert group and four
private subscriptions receive the cards.

Timing: after a warm-up round (tracks parsed and filed, lexicons and name caches
warm, as in a running service whose tracks change rarely; the first call with new
tracks is printed apart), ``--rounds`` rounds in which every item goes through the
pipeline of every track count in turn, the order rotating from item to item, so that
load from other processes falls on all track counts alike (each analyses every item
itself). Prints figures measured in one run (no assertions).

Usage: .venv/bin/python bench/tracks.py [--items N] [--rounds R] [--profile]
(``--profile``: a pyinstrument profile of one round with 1,000 tracks alone, printed
after the table)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feeds.cases import CaseDecision, CaseState, Change, decide
from feeds.match import Matcher, analyze, build_matcher
from feeds.models import CaseStatus, OutboxKind, Subscription, Track
from feeds.routing import CaseFacts, route, track_hits

SEED = 7
TRACK_COUNTS = (0, 100, 1000)
GROUP = -100_100
SUBSCRIPTIONS = (
    Subscription(chat_id=11),
    Subscription(chat_id=12),
    Subscription(chat_id=13, urgent_only=True),
    Subscription(chat_id=14, countries=frozenset({"KZ", "KG"})),
)
OWNERS = tuple(range(500, 520))          # twenty coordinators
NOW = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

# ── names ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Name:
    """A Russian name in the five case forms the templates use, and its Latin spellings."""

    nom: str
    gen: str
    dat: str
    acc: str
    ins: str
    latin: tuple[str, ...]    # "Given Surname" in several transliterations
    female: bool


def _given_forms(given: str, female: bool) -> tuple[str, str, str, str, str]:
    if female and given.endswith("я"):       # Юлия, Наталья
        stem = given[:-1]
        dat = stem + ("и" if given.endswith("ия") else "е")
        return given, stem + "и", dat, stem + "ю", stem + "ей"
    if female:                               # Анна, Ольга, Екатерина
        gen = given[:-1] + ("и" if given[-2] in "гкхжшчщ" else "ы")
        return given, gen, given[:-1] + "е", given[:-1] + "у", given[:-1] + "ой"
    if given.endswith(("й", "ь")):           # Андрей, Дмитрий, Игорь
        return given, given[:-1] + "я", given[:-1] + "ю", given[:-1] + "я", given[:-1] + "ем"
    return given, given + "а", given + "у", given + "а", given + "ом"


def _surname_forms(surname: str, female: bool) -> tuple[str, str, str, str, str]:
    if surname.endswith(("ян", "енко", "швили", "дзе")) and (female or surname[-1] != "н"):
        return (surname,) * 5                # Аветисян (she), Шевченко: not declined
    if surname.endswith("ский"):
        stem = surname[:-2]
        if female:
            return stem + "ая", stem + "ой", stem + "ой", stem + "ую", stem + "ой"
        return surname, stem + "ого", stem + "ому", stem + "ого", stem + "им"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        if female:
            return surname + "а", surname + "ой", surname + "ой", surname + "у", surname + "ой"
        return surname, surname + "а", surname + "у", surname + "а", surname + "ым"
    if female:
        return (surname,) * 5
    return surname, surname + "а", surname + "у", surname + "а", surname + "ом"   # Аветисян


_SCHEMES: tuple[dict[str, str], ...] = (
    {"ж": "zh", "х": "kh", "й": "y", "ю": "yu", "я": "ya", "ц": "ts", "щ": "shch", "ы": "y",
     "е": "e", "ё": "yo", "э": "e"},
    {"ж": "j", "х": "h", "й": "i", "ю": "iu", "я": "ia", "ц": "tz", "щ": "sch", "ы": "y",
     "е": "e", "ё": "e", "э": "e"},
    {"ж": "zh", "х": "kh", "й": "i", "ю": "yu", "я": "ya", "ц": "ts", "щ": "shch", "ы": "y",
     "е": "ye", "ё": "yo", "э": "e"},
)
_LAT = dict(zip("абвгдзиклмнопрстуфчшъь", ["a", "b", "v", "g", "d", "z", "i", "k", "l", "m",
                                          "n", "o", "p", "r", "s", "t", "u", "f", "ch", "sh",
                                          "", ""], strict=True))


def translit(word: str, scheme: int) -> str:
    """One of three common Latin spellings (Zhilin / Jilin; Yevgeny / Evgeny)."""
    table = _SCHEMES[scheme]
    out = []
    for i, ch in enumerate(word.lower()):
        lat = table.get(ch, _LAT.get(ch, ch))
        if ch == "е" and i > 0 and scheme == 2:
            lat = "e"                        # "ye" only at the start: Yevgeny Sergeyev
        out.append(lat)
    return "".join(out).capitalize()


def make_name(given: str, surname: str, female: bool) -> Name:
    g, s = _given_forms(given, female), _surname_forms(surname, female)
    nom, gen, dat, acc, ins = (f"{a} {b}" for a, b in zip(g, s, strict=True))
    latin = tuple(dict.fromkeys(f"{translit(given, k)} {translit(s[0], k)}"
                                for k in range(len(_SCHEMES))))
    return Name(nom, gen, dat, acc, ins, latin=latin, female=female)


MALE = ("Михаил", "Тимур", "Руслан", "Андрей", "Дмитрий", "Алексей", "Бахтиёр", "Азамат",
        "Игорь", "Сергей", "Олег", "Рустам", "Артём", "Ильхом", "Максим", "Евгений", "Фаррух",
        "Жасур", "Нурлан", "Владимир", "Кирилл", "Павел", "Роман", "Шухрат", "Денис")
FEMALE = ("Екатерина", "Ольга", "Анна", "Мария", "Зарина", "Наталья", "Дильноза", "Елена",
          "Юлия", "Гульнара", "Ирина", "Мадина")
# People at risk in the news: surnames kept apart from the track pool below, except
# the tracks deliberately aimed at them.
AT_RISK = ("Жилин", "Юлдашев", "Хасанов", "Кузнецов", "Воронцов", "Рахимов", "Абдуллаев",
           "Журавлёв", "Малиновский", "Назаров", "Федоров", "Шевченко", "Аветисян", "Гусев",
           "Смирнов", "Белов", "Тохтаров", "Мирзоев", "Каримов", "Лебедев", "Исаков",
           "Соловьёв", "Ахмедов", "Черкасов", "Кравец", "Бондаренко", "Садыков", "Орлов",
           "Ершов", "Туракулов")
TRACK_SURNAMES = (
    "Петров", "Сидоров", "Морозов", "Волков", "Алексеев", "Козлов", "Степанов", "Николаев",
    "Яковлев", "Григорьев", "Романов", "Захаров", "Борисов", "Королёв", "Герасимов",
    "Пономарёв", "Тарасов", "Белоусов", "Комаров", "Киселёв", "Макаров", "Андреев", "Ковалёв",
    "Ильин", "Гаврилов", "Никитин", "Соболев", "Фролов", "Медведев", "Семёнов", "Жуков",
    "Виноградов", "Богданов", "Дмитриев", "Калинин", "Антонов", "Тимофеев", "Филиппов",
    "Марков", "Гордеев", "Ефимов", "Баранов", "Куликов", "Сафонов", "Мельников", "Щербаков",
    "Блинов", "Колесников", "Карпов", "Афанасьев", "Власов", "Маслов", "Исаев", "Тихонов",
    "Аксёнов", "Гаврилин", "Родионов", "Котов", "Горбунов", "Кудрявцев", "Быков", "Зуев",
    "Третьяков", "Савельев", "Панов", "Рыбаков", "Суворов", "Абрамов", "Воронов", "Мухин",
    "Архипов", "Трофимов", "Мартынов", "Емельянов", "Горшков", "Чернов", "Овчинников",
    "Селезнёв", "Панфилов", "Копылов", "Михеев", "Галкин", "Назаренко", "Лаптев", "Бирюков",
    "Шаров", "Ситников", "Дорофеев", "Зыков", "Кириллов", "Ермаков", "Носков", "Одинцов",
    "Устинов", "Фомин", "Кабанов", "Мишин", "Рогов", "Юсупов", "Алиев", "Эргашев", "Турсунов",
    "Исмаилов", "Мамедов", "Назарбеков", "Усманов", "Кадыров", "Сулейманов", "Валиев",
    "Бекмуратов", "Сагинтаев", "Джумабаев", "Нурматов", "Раджабов", "Шарипов", "Давлатов",
    "Холматов", "Махмудов", "Касымов", "Ташкентов", "Жумагулов", "Досмухамедов", "Оразов",
    "Костенко", "Ткаченко", "Лысенко", "Гончаренко", "Бойко", "Коваль", "Мельник", "Левицкий",
    "Вишневский", "Ковальский", "Заболотский", "Тер-Петросян", "Саакян", "Григорян",
    "Маргарян", "Гелашвили", "Беридзе", "Кипиани", "Ахвледиани", "Барановский", "Поляков",
    "Денисов", "Голубев", "Виноградский", "Широков", "Ларионов", "Прохоров", "Некрасов",
    "Лазарев", "Сорокин", "Калашников", "Воробьёв", "Гущин", "Жданов", "Комиссаров")


# ── items ─────────────────────────────────────────────────────────────────────────

EN_TOPICS = (
    "The city council approved a new budget for road repairs after a long debate",
    "Inflation slowed for the third month in a row, the statistics office said",
    "The national football team won its qualifying match with a late goal",
    "Heavy snow closed several mountain passes and delayed regional flights",
    "Parliament passed amendments to the tax code in the first reading",
    "A new metro line opened to passengers on the eastern side of the capital",
    "Farmers expect a record grain harvest despite a dry spring",
    "The central bank left its key rate unchanged at its monthly meeting",
    "Doctors warn of a rise in seasonal flu cases among schoolchildren",
    "The ministry announced a tender to modernise regional hospitals",
    "A museum reopened after a three-year restoration of its main hall",
    "Energy prices rose sharply as the heating season began",
)
EN_PEOPLE = ("President Kassym-Jomart Tokayev", "Prime Minister Olzhas Bektenov",
             "Mayor Yerzhan Babakumarov", "coach Magomed Adiyev", "Governor Alexei Dyumin",
             "Finance Minister Anton Siluanov", "the economist Natalia Orlova",
             "striker Abat Aimbetov", "Foreign Minister Sergei Lavrov")
EN_FILLER = (
    "Officials said the decision would take effect next month.",
    "Critics argued that the plan lacked detail and public consultation.",
    "The figures were published on the agency's website on Tuesday.",
    "Local residents told reporters they had waited for years.",
    "Analysts expect the trend to continue into the next quarter.",
    "The opposition called for a full audit of the spending.",
    "Several regional governors welcomed the move in statements on Monday.",
    "The project is financed partly by a loan from the Asian Development Bank.",
    "A spokesperson declined to give a timetable for the next steps.",
    "Independent experts said the data should be treated with caution.",
    "{person} told a briefing that more details would follow.",
    "According to {person}, the work should be completed by the autumn.",
)
RU_TOPICS = (
    "Городской совет утвердил бюджет на ремонт дорог после долгих споров",
    "Инфляция замедлилась третий месяц подряд, сообщило статистическое ведомство",
    "Сборная по футболу выиграла отборочный матч благодаря голу на последней минуте",
    "Снегопад закрыл несколько горных перевалов и задержал региональные рейсы",
    "Парламент принял в первом чтении поправки в Налоговый кодекс",
    "В восточной части столицы открылась новая линия метро",
    "Аграрии ожидают рекордного урожая зерна несмотря на засушливую весну",
    "Центробанк сохранил ключевую ставку на прежнем уровне",
    "Врачи предупреждают о росте заболеваемости гриппом среди школьников",
    "Министерство объявило тендер на модернизацию районных больниц",
    "Музей открылся после трёхлетней реставрации главного зала",
    "Цены на электроэнергию выросли с началом отопительного сезона",
)
RU_PEOPLE = ("президент Касым-Жомарт Токаев", "премьер-министр Олжас Бектенов",
             "аким города Ержан Бабакумаров", "тренер Магомед Адиев",
             "губернатор Алексей Дюмин", "министр финансов Антон Силуанов",
             "экономист Наталья Орлова", "нападающий Абат Аймбетов")
RU_FILLER = (
    "Чиновники заявили, что решение вступит в силу в следующем месяце.",
    "Критики считают, что план недостаточно проработан.",
    "Данные опубликованы на сайте ведомства во вторник.",
    "Местные жители рассказали журналистам, что ждали этого много лет.",
    "Аналитики ожидают, что тенденция сохранится и в следующем квартале.",
    "Оппозиция потребовала провести полный аудит расходов.",
    "Несколько губернаторов поддержали это решение.",
    "Проект частично финансируется за счёт кредита Азиатского банка развития.",
    "В пресс-службе отказались назвать сроки следующих шагов.",
    "Независимые эксперты советуют относиться к этим данным с осторожностью.",
    "Как сообщил {person}, подробности будут объявлены позже.",
    "По словам {person_gen}, работы завершатся к осени.",
)
EN_POLICY = (
    ("Deportations of migrants rose by 12 percent last year, ministry statistics show",
     "The interior ministry said 14,000 foreign nationals were deported in 2023."),
    ("Parliament debates a bill that would speed up extradition procedures",
     "The draft law would shorten the time courts have to review extradition requests."),
)
RU_POLICY = (
    ("Число выдворенных мигрантов выросло на 12 процентов, сообщает МВД",
     "По данным министерства, в прошлом году из страны выдворены 14 тысяч иностранцев."),
    ("Депутаты обсуждают законопроект об ускорении процедуры экстрадиции",
     "Законопроект сократит сроки рассмотрения судами запросов об экстрадиции."),
)
# Stories about a person at risk: (title, lead) with {nom} {gen} {dat} {acc} {ins}
# {lat} {sur} (the Latin surname alone) {ed} (a feminine past ending) slots.
RU_STORIES = (
    ("Суд в Казахстане отказал в убежище {dat}, бежавшему от мобилизации",
     "Костанайский областной суд отклонил апелляцию {gen}. Ему грозит депортация в Россию."),
    ("{dat} грозит экстрадиция в Россию",
     "Власти Кыргызстана задержали {acc} по запросу российской стороны. Адвокат "
     "опасается, что экстрадиция может состояться в ближайшие дни."),
    ("Апелляционный суд оставил в силе решение о депортации {gen}",
     "Суд отклонил жалобу. {nom} может быть депортирован{ed} в Россию уже на этой неделе."),
    ("{nom} задержан{ed} в аэропорту Стамбула по запросу России",
     "Правозащитники сообщают, что Турция рассматривает вопрос о выдаче. "
     "Задержанн{ed_adj} обратил{ed_l} в Комитет ООН по правам человека."),
    ("Правозащитники требуют остановить выдворение {gen} из Грузии",
     "Миграционная служба Грузии приняла решение о выдворении {gen}. "
     "Решение может быть обжаловано в течение десяти дней."),
)
EN_STORIES = (
    ("Kazakhstan court rejects appeal of Russian who fled mobilisation, {lat} faces deportation",
     "{lat} could be deported to Russia within days after the regional court rejected "
     "his appeal. Human rights groups urged the authorities to halt the removal."),
    ("{lat} detained in Bishkek at Moscow's request, faces extradition",
     "Kyrgyz police detained {lat} on an Interpol notice. Lawyers say {sur} risks "
     "torture if extradited to Russia."),
    ("Georgia orders expulsion of Russian activist {lat}",
     "The migration service ordered {lat} to leave the country. {sur} plans to "
     "appeal the expulsion order in court."),
    ("Turkey holds {lat} pending extradition hearing",
     "{lat} was detained at Istanbul airport. A court will hear the extradition "
     "request from Russia next week."),
)


@dataclass(frozen=True)
class Item:
    title: str
    text: str


def _pad(rng: random.Random, first: str, filler: Sequence[str], people: Sequence[str],
         people_gen: Sequence[str], low: int, high: int) -> str:
    """Sentences after ``first`` until the text is ``low``–``high`` characters long."""
    target = rng.randint(low, high)
    out = first
    while len(out) < target:
        k = rng.randrange(len(people))
        out += " " + rng.choice(filler).format(person=people[k],
                                               person_gen=people_gen[k % len(people_gen)])
    return out


def _title(rng: random.Random, topic: str, tail: Sequence[str]) -> str:
    title = topic
    while len(title) < 60:
        title += rng.choice(tail)
    return title[:110]


RU_PEOPLE_GEN = ("президента Касым-Жомарта Токаева", "премьер-министра Олжаса Бектенова",
                 "тренера Магомеда Адиева", "экономиста Натальи Орловой")
RU_TITLE_TAIL = (" в этом году", " по данным ведомства", " на этой неделе", " в регионе")
EN_TITLE_TAIL = (" this year", ", officials say", " this week", " in the region")


def story(rng: random.Random, person: Name, ru: bool) -> Item:
    if ru:
        title, lead = rng.choice(RU_STORIES)
        slots = {"nom": person.nom, "gen": person.gen, "dat": person.dat, "acc": person.acc,
                 "ins": person.ins, "ed": "а" if person.female else "",
                 "ed_adj": "ая" if person.female else "ый",
                 "ed_l": "ась" if person.female else "ся"}
        text = _pad(rng, lead.format(**slots), RU_FILLER[:10], RU_PEOPLE, RU_PEOPLE_GEN,
                    300, 900)
        return Item(title.format(**slots)[:1].upper() + title.format(**slots)[1:], text)
    lat = rng.choice(person.latin)
    sur = lat.split()[-1]
    title, lead = rng.choice(EN_STORIES)
    text = _pad(rng, lead.format(lat=lat, sur=sur), EN_FILLER[:10], EN_PEOPLE, EN_PEOPLE,
                300, 900)
    return Item(title.format(lat=lat, sur=sur), text)


def generate_items(rng: random.Random, count: int) -> tuple[list[Item], list[Name]]:
    """``count`` items: ~5 % stories about people at risk, ~3 % removal policy, the rest
    general news; and the people at risk."""
    people = []
    for surname in AT_RISK:
        female = rng.random() < 0.25 and not surname.endswith("ский")
        given = rng.choice(FEMALE if female else MALE)
        people.append(make_name(given, surname, female))
    items = []
    for _ in range(count):
        ru = rng.random() < 0.5
        roll = rng.random()
        if roll < 0.06:
            # A few people are in the news often, most once or twice (Zipf-like).
            person = people[min(int(rng.paretovariate(1.2)) - 1, len(people) - 1)] \
                if rng.random() < 0.5 else rng.choice(people)
            items.append(story(rng, person, ru))
        elif roll < 0.09:
            title, lead = rng.choice(RU_POLICY if ru else EN_POLICY)
            filler = (RU_FILLER, RU_PEOPLE) if ru else (EN_FILLER, EN_PEOPLE)
            items.append(Item(title, _pad(rng, lead, filler[0], filler[1], RU_PEOPLE_GEN,
                                          300, 900)))
        elif ru:
            items.append(Item(_title(rng, rng.choice(RU_TOPICS), RU_TITLE_TAIL),
                              _pad(rng, rng.choice(RU_FILLER[:10]), RU_FILLER, RU_PEOPLE,
                                   RU_PEOPLE_GEN, 300, 900)))
        else:
            items.append(Item(_title(rng, rng.choice(EN_TOPICS), EN_TITLE_TAIL),
                              _pad(rng, rng.choice(EN_FILLER[:10]), EN_FILLER, EN_PEOPLE,
                                   EN_PEOPLE, 300, 900)))
    return items, people


# ── tracks ────────────────────────────────────────────────────────────────────────


def _initials(rng: random.Random) -> str:
    return f"{rng.choice('АБВГДЕИКЛМНОПРСТ')}.{rng.choice('АБВГДЕИКМНОПСЮ')}."


def track_query(rng: random.Random, surname: str) -> str:
    """A name as coordinators type it, in one of the usual forms."""
    female = rng.random() < 0.3 and not surname.endswith("ский")
    given = rng.choice(FEMALE if female else MALE)
    name = make_name(given, surname, female)
    sur_ru, given_lat = name.nom.split()[-1], rng.choice(name.latin).split()
    form = rng.randrange(6)
    if form == 0:
        return f"{sur_ru} {_initials(rng)}"                       # Петров А.В.
    if form == 1:
        return name.nom                                          # Анна Петрова
    if form == 2:
        return f"{given_lat[1]} {given_lat[0]}"                  # Petrov Andrei
    if form == 3:
        return " ".join(given_lat)                               # Andrei Petrov
    if form == 4:
        return rng.choice((name.gen, name.dat)).split()[-1]      # Петрова (inflected)
    return f"{sur_ru} {given}"                                   # Петров Андрей


def generate_tracks(rng: random.Random, people: Sequence[Name],
                    count: int) -> tuple[list[Track], dict[str, str]]:
    """``count`` tracks — six aimed at people in the news (inflected, Latin, initials),
    two namesakes of theirs (another given name or initial), the rest other names;
    owners round-robin — and the aimed queries with what they aim at."""
    if count == 0:
        return [], {}
    first, second = people[0], people[1]
    surname_lat, given_lat = first.latin[0].split()[1], first.latin[0].split()[0]
    namesake = "Pavel" if given_lat != "Pavel" else "Roman"
    other_initial = "Ж" if not second.nom.startswith("Ж") else "А"
    aimed = {
        first.gen.split()[-1]: "aimed: an inflected surname",              # Жилина
        f"{surname_lat} {given_lat}": "aimed: Latin, surname first",       # Zhilin Dmitriy
        f"{second.nom.split()[1]} {second.nom[0]}.": "aimed: an initial",  # Юлдашев Т.
        people[2].latin[-1]: "aimed: another transliteration",             # Iuliia Hasanova
        people[3].nom: "aimed: Cyrillic full name",
        people[4].latin[0].split()[1]: "aimed: a Latin surname alone",
        f"{namesake} {surname_lat}": "namesake: another given name",       # Pavel Zhilin
        f"{second.nom.split()[1]} {other_initial}.{other_initial}.":
            "namesake: another initial",                                   # Юлдашев Ж.Ж.
    }
    queries = dict.fromkeys(aimed)
    while len(queries) < count:
        queries.setdefault(track_query(rng, rng.choice(TRACK_SURNAMES)))
    ordered = list(queries)[:count]
    rng.shuffle(ordered)
    return [Track(id=i + 1, query=q, owner_id=OWNERS[i % len(OWNERS)])
            for i, q in enumerate(ordered)], aimed


# ── the pipeline's matching, per item ─────────────────────────────────────────────


@dataclass(frozen=True)
class CaseStep:
    """What the case decider did with one item (the same for every track count)."""

    index: int
    change: Change
    facts: CaseFacts
    event_id: int


def case_steps(items: Sequence[Item], matcher: Matcher) -> list[CaseStep]:
    """Place every relevant item into a case as ``Store._record_item`` does (candidates:
    cases whose key is about as long; the pure decider chooses), keeping cases in memory."""
    cases: dict[int, CaseState] = {}
    steps: list[CaseStep] = []
    for index, item in enumerate(items):
        analysis = analyze(item.title, item.text, matcher)
        if not analysis.relevant:
            continue
        lengths = {len(p.key) + d for p in analysis.persons for d in (-1, 0, 1)}
        candidates = [c for c in cases.values() if len(c.person_key) in lengths]
        decision = decide(analysis, candidates, NOW + timedelta(minutes=index))
        if decision is None:
            continue
        state = _apply(cases, decision)
        facts = CaseFacts(id=state.id, urgent=state.urgent, kind=state.kind,
                          countries=state.countries, persons=state.persons,
                          status=CaseStatus.OPEN, stage=state.stage.value if state.stage
                          else None)
        steps.append(CaseStep(index, decision.change, facts, event_id=len(steps) + 1))
    return steps


def _apply(cases: dict[int, CaseState], d: CaseDecision) -> CaseState:
    case_id = d.case_id if d.case_id is not None else len(cases) + 1
    state = CaseState(id=case_id, person_key=d.person_key, person_given=d.person_given,
                      kind=d.kind, stage=d.stage, urgent=d.urgent, persons=d.persons,
                      countries=d.countries, court=d.court)
    cases[case_id] = state
    return state


@dataclass
class Pipeline:
    """The matching the pipeline does with one set of tracks, timed per part."""

    tracks: Sequence[Track]
    analyze_s: float = 0.0
    tracks_s: float = 0.0
    calls: int = 0                      # track comparisons: route + one per case message
    hits: Counter[tuple[int, int]] = field(default_factory=Counter)  # (case, track id)
    queued: set[str] = field(default_factory=set)    # the outbox's unique dedup keys
    batch: tuple[Track, ...] = ()       # the tracks record_items read for this round

    @property
    def total_s(self) -> float:
        return self.analyze_s + self.tracks_s

    def start_round(self) -> None:
        self.batch, self.queued = tuple(fresh(self.tracks)), set()

    def process(self, item: Item, step: CaseStep | None, matcher: Matcher) -> None:
        """Analyse one item; when it changes a case, route it and deliver its messages."""
        clock = time.perf_counter
        start = clock()
        analyze(item.title, item.text, matcher)
        self.analyze_s += clock() - start
        if step is None:
            return
        start = clock()
        routed = route(step.change, step.facts, event_id=step.event_id, groups=(GROUP,),
                       subscriptions=SUBSCRIPTIONS, tracks=self.batch, now=NOW)
        self.tracks_s += clock() - start
        self.calls += 1
        new = [m for m in routed.messages if m.dedup_key not in self.queued]
        self.queued.update(m.dedup_key for m in new)
        for message in new:
            if message.kind is OutboxKind.ADMIN_NOTICE:
                continue
            listed = fresh(self.tracks)          # delivery reads the tracks per message
            start = clock()
            hits = track_hits(listed, step.facts.persons)
            self.tracks_s += clock() - start
            self.calls += 1
            self.hits.update((step.facts.id, t.id) for t in hits)
            del listed


def fresh(tracks: Sequence[Track]) -> list[Track]:
    """The tracks as ``Store.list_tracks`` returns them: new objects, new strings."""
    return [Track(id=t.id, query="".join(list(t.query)), owner_id=t.owner_id) for t in tracks]


def run_round(items: Sequence[Item], steps: Sequence[CaseStep],
              pipelines: Sequence[Pipeline], matcher: Matcher) -> None:
    """Every item through every pipeline, item by item, the pipelines' order rotating
    from one item to the next: load from other processes and warm caches fall on all
    track counts alike."""
    by_index = {s.index: s for s in steps}
    for p in pipelines:
        p.start_round()
    for index, item in enumerate(items):
        shift = index % len(pipelines)
        for p in [*pipelines[shift:], *pipelines[:shift]]:
            p.process(item, by_index.get(index), matcher)


def first_call(tracks: Sequence[Track], persons: Sequence[str]) -> float:
    """Seconds of the first ``track_hits`` call with a set of tracks never seen before."""
    renamed = [replace(t, query=t.query + " ") for t in tracks]   # new query texts
    start = time.perf_counter()
    track_hits(renamed, persons)
    return time.perf_counter() - start


# ── report ────────────────────────────────────────────────────────────────────────


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    rng = random.Random(SEED)
    items, people = generate_items(rng, args.items)
    generated = {n: generate_tracks(random.Random(SEED + n), people, n) for n in TRACK_COUNTS}
    track_sets = {n: tracks for n, (tracks, _) in generated.items()}
    matcher = build_matcher()
    steps = case_steps(items, matcher)
    relevant = sum(analyze(i.title, i.text, matcher).relevant for i in items)
    chars = sum(len(i.title) + len(i.text) for i in items)
    ru = sum(any("а" <= ch <= "я" for ch in i.title.lower()) for i in items)

    run_round(items, steps, [Pipeline(track_sets[n]) for n in TRACK_COUNTS], matcher)  # warm-up
    pipelines = {n: Pipeline(track_sets[n]) for n in TRACK_COUNTS}
    for _ in range(args.rounds):
        run_round(items, steps, list(pipelines.values()), matcher)
    runs = len(items) * args.rounds

    print(f"items: {len(items)} ({ru} Russian, {len(items) - ru} English), "
          f"{chars / len(items):.0f} chars each on average; {relevant} relevant, "
          f"{len(steps)} case changes in {len({s.facts.id for s in steps})} cases "
          f"(seed {SEED})")
    print(f"tracks compared: route() once per case change, track_hits() once per case "
          f"message queued (1 group, {len(SUBSCRIPTIONS)} subscriptions)")
    print(f"{args.rounds} rounds after a warm-up, track counts interleaved item by item")
    print()
    print(f"{'tracks':>6} | {'items/s':>7} | {'µs/item':>7} | {'analyze':>7} | "
          f"{'tracks':>6} | {'µs/call':>7} | {'vs 0':>6} | {'calls':>5} | hits")
    print("-" * 92)
    base = pipelines[0].total_s
    for n, p in pipelines.items():
        hits = Counter({k: v // args.rounds for k, v in p.hits.items()})
        calls = p.calls // args.rounds
        print(f"{n:>6} | {runs / p.total_s:>7.0f} | {p.total_s / runs * 1e6:>7.1f} | "
              f"{p.analyze_s / runs * 1e6:>7.1f} | {p.tracks_s / runs * 1e6:>6.1f} | "
              f"{p.tracks_s / (calls * args.rounds) * 1e6:>7.1f} | "
              f"{p.total_s / base:>5.3f}x | {calls:>5} | {sum(hits.values())} found "
              f"({len(hits)} case×track pairs, {len({t for _, t in hits})} tracks)")
    print("(µs/item: analyze + tracks, per item; µs/call: per track comparison call)")
    print()
    most = TRACK_COUNTS[-1]
    names = {t.id: t.query for t in track_sets[most]}
    persons = {s.facts.id: s.facts.persons for s in steps}
    aimed = generated[most][1]
    for (case_id, track_id), times in sorted(pipelines[most].hits.items()):
        query = names[track_id]
        print(f"  hit: {query!r} → case {case_id} {' / '.join(persons[case_id])} "
              f"({times // args.rounds}×; {aimed.get(query, 'another name')})")
    missed = [q for q in aimed if q not in {names[t] for _, t in pipelines[most].hits}]
    print(f"  aimed or namesake tracks that hit nothing: "
          f"{', '.join(map(repr, missed)) or 'none'}")
    extra = (pipelines[most].total_s - base) / base * 100
    cold = first_call(track_sets[most], steps[0].facts.persons) if steps else 0.0
    print(f"{most:,} tracks add {extra:+.1f} % to matching time (target ≤ 20 %); "
          f"the first call with {most:,} new tracks (parse and file them): "
          f"{cold * 1000:.1f} ms")

    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        run_round(items, steps, [Pipeline(track_sets[most])], matcher)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
