"""Russian morphology (pymorphy3, cached): lemmas, name tags, nominative forms.

Owns the one ``MorphAnalyzer`` of the process and small cached questions asked of
it: the lemma of a word (for the lemma view the matcher searches), whether a
capitalised word is a given name, patronymic, surname or a place/organisation, and
the nominative of a person's name for display (``Михаила Жилина`` → ``Михаил
Жилин``, ``Екатерины Жилиной`` → ``Екатерина Жилина``).

Pure from the caller's point of view: no I/O after the dictionaries are loaded
(they ship inside the pymorphy3-dicts-ru wheel), no clock.
"""

from __future__ import annotations

import enum
import re
from functools import cache, lru_cache

import pymorphy3

# Russian plus the Kazakh, Kyrgyz, Uzbek and Tajik letters.
_CYRILLIC_WORD = re.compile(r"^[а-яёәғқңөұүһіўҳҷӣӯ-]+$", re.IGNORECASE)
# Surname shapes whose declension the dictionary predicts reliably.
_DECLINING_SURNAME = re.compile(r"(?:ов|ев|ёв|ин|ын|ск|цк)(?:а|у|ым|ом|е|ой|ого|ому|им|ая|ую)?$",
                                re.IGNORECASE)


@cache
def analyzer() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


class NameRole(enum.StrEnum):
    """What a capitalised Cyrillic word most likely is."""

    GIVEN = "given"
    PATRONYMIC = "patronymic"
    SURNAME = "surname"
    PLACE = "place"         # Geox: Ташкент, Осетия
    ORG = "org"             # Orgn
    OTHER = "other"         # a common word (sentence start, adjective…)
    UNKNOWN = "unknown"     # not in the dictionary: often a foreign surname


def is_cyrillic_word(word: str) -> bool:
    return bool(_CYRILLIC_WORD.match(word))


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The dictionary form of a lower-case Russian word (the word itself otherwise)."""
    if not is_cyrillic_word(word):
        return word
    return str(analyzer().parse(word)[0].normal_form).replace("ё", "е")


@lru_cache(maxsize=100_000)
def known(word: str) -> bool:
    """Whether the dictionary knows the word (as opposed to guessing by its ending)."""
    return bool(analyzer().word_is_known(word.lower()))


@lru_cache(maxsize=100_000)
def name_role(word: str) -> NameRole:
    """Classify a capitalised Cyrillic word by its most likely reading."""
    if not is_cyrillic_word(word):
        return NameRole.UNKNOWN
    parses = analyzer().parse(word)[:4]
    tags = [p.tag for p in parses]
    best = tags[0]
    if "plur" in best and _DECLINING_SURNAME.search(word):
        # "Хасанов", "Уралов" read as genitive plurals of a name or place: a surname.
        return NameRole.SURNAME
    if "Name" in best:
        return NameRole.GIVEN
    if "Patr" in best:
        return NameRole.PATRONYMIC
    if "Surn" in best:
        return NameRole.SURNAME
    if "Geox" in best:
        return NameRole.PLACE
    if "Orgn" in best:
        return NameRole.ORG
    if any("Surn" in t or "Name" in t for t in tags[1:]):
        return NameRole.SURNAME if any("Surn" in t for t in tags) else NameRole.GIVEN
    if not known(word):
        return NameRole.UNKNOWN
    return NameRole.OTHER


_CASE_ENDINGS = {"gent": ("а", "я"), "accs": ("а", "я"), "datv": ("у", "ю"),
                 "ablt": ("ом", "ем"), "loct": ("е",)}
_CONSONANT_END = re.compile(r"[бвгджзклмнпрстфхцчшщ]$", re.IGNORECASE)


def _case_of(words: tuple[str, ...]) -> str | None:
    """The grammatical case shown by the known name words of a run, if any."""
    for word in words:
        if is_cyrillic_word(word) and (known(word) or _DECLINING_SURNAME.search(word)):
            for p in analyzer().parse(word)[:2]:
                if {"Name", "Surn", "Patr"} & set(str(p.tag).replace(" ", ",").split(",")):
                    return str(p.tag.case) if p.tag.case else None
    return None


def _strip_case(word: str, case: str | None) -> str:
    for ending in _CASE_ENDINGS.get(case or "", ()):
        stem = word[: -len(ending)]
        if word.lower().endswith(ending) and len(stem) >= 3 and _CONSONANT_END.search(stem):
            return stem
    return word


def _gender_of_given(word: str) -> str | None:
    for p in analyzer().parse(word)[:3]:
        if "Name" in p.tag:
            return "femn" if "femn" in p.tag else "masc"
    return None


@lru_cache(maxsize=50_000)
def nominative(words: tuple[str, ...]) -> tuple[str, ...]:
    """Put a Russian name (given, patronymic, surname in any order) into the nominative.

    The gender comes from the given name when there is one; words the dictionary
    cannot decline are returned unchanged.
    """
    gender = next((g for w in words if (g := _gender_of_given(w))), None)
    case = _case_of(words)
    out = []
    for word in words:
        if not is_cyrillic_word(word) or len(word) < 2:
            out.append(word)
            continue
        if not known(word) and not _DECLINING_SURNAME.search(word):
            # An unknown (often Central Asian) name: undo only the plain noun ending of
            # the case the known words show (Ерлана Жовтиса, gent → Ерлан Жовтис).
            out.append(_strip_case(word, case))
            continue
        parses = analyzer().parse(word)
        wanted = [p for p in parses if {"Name", "Surn", "Patr"} & set(str(p.tag).replace(
            " ", ",").split(","))]
        if _DECLINING_SURNAME.search(word) and name_role(word) is NameRole.SURNAME:
            wanted = [p for p in wanted if "Surn" in p.tag]
        if gender:
            wanted = [p for p in wanted if gender in p.tag or "ms-f" in p.tag] or wanted
        if not wanted:
            out.append(_strip_case(word, case))
            continue
        grammemes = {"nomn", "sing"} | ({gender} if gender else set())
        form = wanted[0].inflect(grammemes) or wanted[0].inflect({"nomn"})
        text = str(form.word) if form else word
        out.append(text[:1].upper() + text[1:])
    return tuple(out)


@lru_cache(maxsize=50_000)
def phrase_nominative(words: tuple[str, ...]) -> tuple[str, ...]:
    """Adjectives and a noun in the nominative, keeping gender and number
    (ичкерийскому активисту → ичкерийский активист, казахстанской активистке →
    казахстанская активистка). Words that do not inflect are kept."""
    out = []
    for word in words:
        if not is_cyrillic_word(word):
            out.append(word)
            continue
        form = analyzer().parse(word)[0].inflect({"nomn"})
        out.append(str(form.word) if form else word)
    return tuple(out)


def is_adjective(word: str) -> bool:
    """Whether a Cyrillic word reads first as an adjective (full form)."""
    return is_cyrillic_word(word) and "ADJF" in analyzer().parse(word)[0].tag
