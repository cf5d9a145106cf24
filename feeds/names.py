"""Person names across scripts, transliteration schemes and Russian inflection (pure).

Owns the canonical *name key*: one ASCII string per surname that the Cyrillic,
Latin and inflected spellings of the same surname share (Жилин, Жилина, Жилиным,
Zhilin and Jilin all give ``jilin``; Жилинский gives ``jilinsk``, never ``jilin``).
Also owns parsing a ``/track`` query and deciding whether a text mentions the tracked
person, and listing the spellings a track will match.

How a key is made: Cyrillic (Russian, Kazakh, Kyrgyz, Uzbek, Tajik letters) is
transliterated with one fixed table, then both scripts are folded to a *skeleton*
that erases the differences between schemes (zh/j/dzh→j, kh/x→h, ye→e, yu/iu→u,
ya/ia→a, y→i, doubled letters collapsed). Russian case endings are removed before
transliteration for the surname shapes that decline (-ов/-ев/-ин/-ын, -ский/-цкий,
consonant-final).

Must not read the clock, fetch or store anything.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from feeds.text import fold, words

_CYR2LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Kazakh, Kyrgyz, Uzbek and Tajik letters
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
    "і": "i", "ў": "o", "ҳ": "h", "ҷ": "j", "ӣ": "i", "ӯ": "u",
}

# Ordered rewrites from any Latin scheme to the skeleton. Iotated vowels first, so
# that "j"/"y" left over afterwards are consonants or plain vowels.
_SKELETON_RULES: tuple[tuple[str, str], ...] = (
    ("shch", "sh"), ("sch", "sh"), ("tch", "ch"),
    ("yu", "u"), ("iu", "u"), ("ju", "u"),
    ("ya", "a"), ("ia", "a"), ("ja", "a"),
    ("ye", "e"), ("je", "e"), ("yo", "o"), ("jo", "o"),
    ("dzh", "j"), ("zh", "j"), ("dj", "j"),
    ("kh", "h"), ("x", "h"), ("q", "k"), ("gh", "g"), ("ts", "c"), ("tz", "c"),
    ("w", "v"), ("y", "i"), ("ii", "i"),
)
_DOUBLE = re.compile(r"(.)\1+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

# Russian surname shapes and their case endings (nominative feminine included, so
# Жилина and Жилин share a key; the given name keeps namesakes apart).
_RU_OV_IN = re.compile(r"^(.{2,}(?:ов|ев|ин|ын))(?:а|у|ым|ом|е|ой|ою|ых|ыми|ы)?$")
_RU_SKY = re.compile(r"^(.{2,}(?:ск|цк))(?:ий|ой|ого|ому|им|ом|ая|ую|ие|их|ими)$")
_RU_CONSONANT = re.compile(r"^(.{3,}[бвгджзклмнпрстфхцчшщ])(?:а|у|ом|ем|е)$")
_LAT_OV_IN = re.compile(r"^(.{2,}(?:ov|ev|in|yn))a?$")
_LAT_SKY = re.compile(r"^(.{2,}(?:sk|tsk|ck))(?:iy|ii|yi|y|i|aya|aia|aja|a)$")
_POSSESSIVE = re.compile(r"['’]s$")
_INITIALS = re.compile(r"^([^\W\d_])\.?$")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def transliterate(text: str) -> str:
    """Transliterate folded Cyrillic to Latin with one fixed table; Latin passes."""
    return "".join(_CYR2LAT.get(ch, ch) for ch in fold(text))


def skeleton(latin: str) -> str:
    """Fold a Latin spelling to the scheme-independent skeleton."""
    out = _strip_marks(latin.lower()).replace("'", "").replace("`", "").replace("-", "")
    for old, new in _SKELETON_RULES:
        out = out.replace(old, new)
    return _DOUBLE.sub(r"\1", out)


@lru_cache(maxsize=65536)
def surname_key(word: str) -> str:
    """Return the canonical key of a surname in any script and case form."""
    w = _POSSESSIVE.sub("", fold(word.strip(".,;:!?\"«»()[]")))
    if _CYRILLIC.search(w):
        for pattern in (_RU_SKY, _RU_OV_IN, _RU_CONSONANT):
            m = pattern.match(w)
            if m:
                w = m.group(1)
                break
        return skeleton(transliterate(w))
    w = _strip_marks(w)
    for pattern in (_LAT_SKY, _LAT_OV_IN):
        m = pattern.match(w)
        if m:
            w = m.group(1)
            break
    return skeleton(w)


def given_initial(word: str) -> str:
    """The skeleton initial of a given name or an initial (``М.``, ``Yevgeny`` → e)."""
    sk = skeleton(transliterate(word.strip(". ")))
    return sk[:1]


@dataclass(frozen=True, slots=True)
class NameQuery:
    """A parsed ``/track`` query: the surname key and, if given, the first initial."""

    text: str
    key: str
    initial: str = ""


def parse_query(query: str) -> NameQuery:
    """Parse ``Жилин М.А.``, ``Mikhail Zhilin``, ``Zhilin, M.`` or ``Жилин``.

    The surname is the longest word that is not an initial; a given name or initial,
    when present, is the first other word.
    """
    tokens = [t for t in re.split(r"[\s,]+", query.strip()) if t]
    parts: list[str] = []
    for tok in tokens:
        # "М.А." carries two initials in one token.
        if re.fullmatch(r"(?:[^\W\d_]\.){2,}", tok):
            parts.extend(p + "." for p in tok.split(".") if p)
        else:
            parts.append(tok)
    full = [p for p in parts if not _INITIALS.match(p)]
    if not full:
        raise ValueError("a track needs a surname, not only initials")
    surname = max(full, key=len) if len(full) > 2 else full[-1]
    if len(full) == 2 and _looks_like_surname(full[0]) and not _looks_like_surname(full[1]):
        surname = full[0]
    others = [p for p in parts if p is not surname]
    initial = given_initial(others[0]) if others else ""
    return NameQuery(text=query.strip(), key=surname_key(surname), initial=initial)


def _looks_like_surname(word: str) -> bool:
    w = fold(word)
    return bool(_RU_OV_IN.match(w) or _RU_SKY.match(w) or _LAT_OV_IN.match(w)
                or _LAT_SKY.match(w) or w.endswith(("енко", "enko", "дзе", "dze")))


def mentions(query: NameQuery, text: str) -> bool:
    """True when ``text`` names the queried person.

    A word matches when its whole surname key equals the query's (so a longer name
    such as Жилинский never matches Жилин). When the query has an initial and the
    text puts a capitalised given name or an initial right next to the surname, the
    initials must agree.
    """
    tokens = _name_tokens(text)
    for i, tok in enumerate(tokens):
        if not tok[:1].isupper() or surname_key(tok) != query.key:
            continue
        if not query.initial:
            return True
        neighbours = [tokens[j] for j in (i - 1, i + 1) if 0 <= j < len(tokens)]
        given = [n for n in neighbours if n[:1].isupper() and surname_key(n) != query.key]
        if not given or any(given_initial(n) == query.initial for n in given):
            return True
    return False


def _name_tokens(text: str) -> list[str]:
    # Keep initials ("М.") as tokens: words() drops the dot but keeps the letter.
    return words(text)


_RU_ENDINGS_MALE = ("", "а", "у", "ым", "е")
_RU_ENDINGS_FEMALE = ("а", "ой", "у")


def variants(query: str) -> list[str]:
    """Spellings that a track on ``query`` will match, for showing to its owner.

    Not exhaustive (matching works on keys, not on this list); it shows the
    coordinator what kind of forms are covered.
    """
    q = parse_query(query)
    tokens = [t for t in re.split(r"[\s,]+", query.strip()) if t and not _INITIALS.match(t)]
    surname = next((t for t in tokens if surname_key(t) == q.key), tokens[-1])
    base = surname.strip()
    out: list[str] = []
    if _CYRILLIC.search(base):
        stem = base
        m = _RU_OV_IN.match(fold(base))
        if m:
            stem = base[: len(m.group(1))]
            out += [stem + e for e in _RU_ENDINGS_MALE] + [stem + e for e in _RU_ENDINGS_FEMALE]
        else:
            out.append(base)
        latin = transliterate(stem).capitalize()
    else:
        latin = base.capitalize()
        out.append(latin)
    out += _latin_spellings(latin)
    seen: dict[str, None] = {}
    for v in out:
        seen.setdefault(v, None)
    return list(seen)


def _latin_spellings(latin: str) -> list[str]:
    spellings = [latin]
    for old, new in (("Zh", "J"), ("Kh", "H"), ("Ye", "E"), ("Yu", "Iu"), ("Ya", "Ia"),
                     ("kh", "h"), ("zh", "j"), ("ts", "tz")):
        spellings += [s.replace(old, new) for s in spellings if old in s]
    if re.search(r"(ov|ev|in|yn)$", latin):
        spellings += [s + "a" for s in spellings]
    return spellings
