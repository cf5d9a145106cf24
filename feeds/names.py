"""Person names across scripts, transliteration schemes and Russian inflection (pure).

Owns the canonical *name key*: one ASCII string per surname that the Cyrillic,
Latin and inflected spellings of the same surname share (Жилин, Жилина, Жилиным,
Zhilin and Jilin all give ``jilin``; Жилинский gives ``jilinsk``, never ``jilin``).
Also owns parsing a ``/track`` query, deciding whether a text mentions the tracked
person (``mentions``) or a case's person names are that person (``names_person``),
and listing the spellings a track will match.

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
import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from feeds.text import fold, words

_CYR2LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    # Kazakh, Kyrgyz, Uzbek and Tajik letters
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
    "і": "i", "ў": "u", "ҳ": "h", "ҷ": "j", "ӣ": "i", "ӯ": "u",
}

# Ordered rewrites from any Latin scheme to the skeleton. Iotated vowels first, so
# that "y" left over afterwards is a plain vowel. "J" before a vowel stays a
# consonant: in Central Asian names it is Дж (Juraev = Джураев), and German-style
# "ju"/"ja" for Ю/Я is rare in the sources we read.
_SKELETON_RULES: tuple[tuple[str, str], ...] = (
    ("shch", "sh"), ("sch", "sh"), ("tch", "ch"),
    ("yu", "u"), ("iu", "u"),
    ("ya", "a"), ("ia", "a"),
    ("ye", "e"), ("yo", "o"),
    ("dzh", "j"), ("zh", "j"), ("dj", "j"),
    ("kh", "h"), ("x", "ks"), ("q", "k"), ("gh", "g"), ("ts", "c"), ("tz", "c"),
    ("w", "v"), ("y", "i"), ("ii", "i"),
    # Г is H in Ukrainian and Belarusian names (Hrynkevich = Гринкевич): fold g into h.
    ("g", "h"),
)
# Applied before the rules above: Uzbek o' (ў) is Russian у (O'ktamov = Уктамов);
# Latin yo after a consonant is ё, which Russian spelling writes е (Fomichyov = Фомичев);
# x starting a word before a, o, u or ə is Uzbek/Azerbaijani Х (Xasanov = Хасанов,
# Xəlilov = Халилов), elsewhere the "ks" of Alexei or Xenia; Turkic ı ə ş ç ğ read as
# i e sh ch g.
_PRE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"o['‘’ʻ`]"), "u"),
    (re.compile(r"g['‘’ʻ`]"), "g"),
    (re.compile(r"(?<=[bcdfghjklmnpqrstvwxz])yo"), "e"),
    (re.compile(r"(?<=[bcdfghjklmnpqrstvwxz])io(?=[a-z])"), "e"),
    (re.compile(r"^x(?=[aouə])"), "h"),
    (re.compile(r"ı"), "i"),
    (re.compile(r"ə"), "e"),
    (re.compile(r"ş"), "sh"),
    (re.compile(r"ç"), "ch"),
    (re.compile(r"ğ"), "g"),
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
PATRONYMIC = re.compile(
    r"(?:ович|евич|ич|овна|евна|ична|инична)(?:а|у|ем|ом|е|ы|ой|ою)?$|"
    r"(?:ovich|evich|ovna|evna|ichna)$", re.IGNORECASE)
SURNAME_SHAPE = re.compile(
    r"(?:ов|ев|ин|ын|ова|ева|ина|ына|ский|цкий|ская|цкая|енко|ук|юк|ян|дзе|швили|ли|"
    r"зода|заде|улы|кызы|уулу|ов[аеуы]?м?|ев[аеуы]?м?|ин[аеуы]?м?|"
    r"ov|ev|in|yn|ova|eva|ina|sky|skiy|skii|skaya|skaja|skaia|enko|uk|yan|dze|shvili|uly|"
    r"kyzy|uulu|zoda|zade|yev|iev|ow|owa)$",
    re.IGNORECASE)
# Words that may stand capitalised next to a surname without being a given name.
_NOT_GIVEN = frozenset({
    "the", "a", "an", "of", "in", "on", "to", "and", "for", "with", "by", "from", "at", "as",
    "mr", "mrs", "ms", "dr", "case", "в", "на", "и", "с", "к", "о", "у", "по", "из", "за",
    "дело", "деле", "дела"})
_INITIALS = re.compile(r"^([^\W\d_])\.?$")


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def transliterate(text: str) -> str:
    """Transliterate folded Cyrillic to Latin with one fixed table; Latin passes."""
    return "".join(_CYR2LAT.get(ch, ch) for ch in fold(text))


def skeleton(latin: str) -> str:
    """Fold a Latin spelling to the scheme-independent skeleton."""
    out = latin.lower()
    for pattern, repl in _PRE_RULES:       # before diacritics go: ş is sh, not s
        out = pattern.sub(repl, out)
    out = _strip_marks(out)
    out = out.replace("'", "").replace("`", "").replace("’", "").replace("ʻ", "")
    out = out.replace("‘", "").replace("-", "")
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


def split_name(words_: list[str]) -> tuple[str, str] | None:
    """Pick ``(surname, given)`` out of a person's name words (no initials).

    Orders handled: Имя Отчество Фамилия, Фамилия Имя Отчество, Фамилия Имя (when only
    the first word has a surname shape), and Имя Фамилия / First Last otherwise.
    """
    if not words_:
        return None
    if len(words_) == 1:
        return words_[0], ""
    if len(words_) >= 3 and PATRONYMIC.search(words_[2]):
        return words_[0], words_[1]
    if PATRONYMIC.search(words_[1]):
        return words_[-1], words_[0]
    if (len(words_) == 2 and SURNAME_SHAPE.search(words_[0])
            and not SURNAME_SHAPE.search(words_[1])):
        return words_[0], words_[1]
    return words_[-1], words_[0]


FUZZY_MIN = 6      # keys this long may differ by one letter and still match
# A first letter may differ only within a class: vowels (Yoqubov/Якубов), and k/h —
# Turkic Q is К in Kazakh and Uzbek but Г in Azerbaijani (Quliyev = Гулиев), and Х
# is written kh or h (Tokhtarov = Токтаров).
_SOUND_CLASSES = ("aeiou", "kh")


def keys_match(a: str, b: str) -> bool:
    """Same surname key, or — for keys of six letters or more — one letter apart
    (callers require an agreeing given name for that): Belarusian ў, Uzbek o, Kazakh
    і and Azerbaijani ə leave exactly such traces (Vasileuskaya/Василевская,
    Yo'ldoshev/Юлдашев, Әбдірахманова/Абдрахманова)."""
    if a == b:
        return True
    if min(len(a), len(b)) < FUZZY_MIN or abs(len(a) - len(b)) > 1:
        return False
    if a[0] != b[0] and not any(a[0] in c and b[0] in c for c in _SOUND_CLASSES):
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def match_starts(key: str) -> frozenset[str]:
    """The first letters a key that ``keys_match`` accepts can start with (the key's own
    and those of its sound class): a cheap narrowing a database can apply."""
    if not key:
        return frozenset({""})
    return frozenset({key[0], *(c for cls in _SOUND_CLASSES if key[0] in cls for c in cls)})


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
    given: str = ""      # skeleton of the full given name, when the query has one


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
    initials = [p for p in parts if _INITIALS.match(p)]
    known = [p for p in full if is_given_name(p)]
    if len(full) == 2 and len(known) == 1:
        given, surname = known[0], next(p for p in full if p is not known[0])
    else:
        picked = split_name(full)
        if picked is None:
            raise ValueError("a track needs a surname, not only initials")
        surname, given = picked
    if not given and initials:
        given = initials[0]
    initial = given_initial(given) if given else ""
    full_given = _given_skeleton(given) if given and len(given.strip(".")) > 1 else ""
    return NameQuery(text=query.strip(), key=surname_key(surname), initial=initial,
                     given=full_given)


@cache
def given_names() -> frozenset[str]:
    """The Latin given names of lexicon/given_names.toml, folded."""
    data = resources.files("feeds").joinpath("lexicon", "given_names.toml").read_text("utf-8")
    return frozenset(fold(n) for n in tomllib.loads(data).get("names", []))


def is_given_name(word: str) -> bool:
    """A known given name: in the Latin list, or a Name to Russian morphology."""
    if fold(word) in given_names():
        return True
    if _CYRILLIC.search(word):
        from feeds import morph  # names stays importable without the dictionaries

        return morph.name_role(word) is morph.NameRole.GIVEN
    return False


@lru_cache(maxsize=65536)
def _given_skeleton(word: str) -> str:
    return skeleton(transliterate(word.strip(". ")))


def given_agrees(query: NameQuery, text_given: str) -> bool:
    """Whether a given name found in a text fits the query's: full names compare on
    their first two consonants (Ерболат ≠ Ерлан, Rəşad = Рашад), initials on the
    first letter."""
    if not text_given:
        return True
    if query.given and len(text_given) > 1:
        a, b = _consonants(query.given), _consonants(text_given)
        if len(a) >= 2 and len(b) >= 2:
            return a[:2] == b[:2]       # vowels vary across scripts: Rəşad = Рашад
        n = min(3, len(query.given), len(text_given))
        return query.given[:n] == text_given[:n]
    return text_given[:1] == query.initial


def _consonants(skeleton_text: str) -> str:
    return "".join(c for c in skeleton_text if c not in "aeiou")


def mentions(query: NameQuery, text: str) -> bool:
    """True when ``text`` names the queried person.

    A word matches when its whole surname key equals the query's, or is one letter
    from it for long keys (``keys_match``) — so a longer name such as Жилинский never
    matches Жилин. When the query has an initial and the
    text gives a first name or initials next to the surname — before it (``М.А.
    Жилин``, ``Михаил Александрович Жилин``) or after it (``Жилин М.А.``,
    ``Жилин Михаил``) — the initials must agree. A bare surname stands for the person
    the text names in full elsewhere. Patronymics are skipped, and in Title Case
    Headlines neighbours do not count.
    """
    tokens = words(text)
    places = _surname_places(query, tokens)
    if not places:
        return False
    if not query.initial or title_case(tokens):
        return True
    attached = _attached_given(tokens, places)
    # A bare "Karimov" means the Karimov the text names in full elsewhere.
    return not attached or any(given_agrees(query, g) for g in attached)


def names_person(query: NameQuery, names: Sequence[str]) -> bool:
    """True when ``names`` — the spellings of one person's name a case lists (``Dmitriy
    Zhilin``, ``Дмитрий Александрович Жилин``, ``Жилин Д.А.``), not prose — name the
    queried person.

    Each spelling is read on its own, as ``mentions`` reads a text, except that it is
    never a Title Case Headline (every word of a name is capitalised, and the given
    name beside the surname is what tells namesakes apart) and no word of one spelling
    stands beside another's surname. The given names of all the spellings whose
    surname matches must include one that agrees with the query's; a spelling that is
    a bare surname stands for the person the others name in full, so it hits alone
    only when none of them gives a given name.
    """
    found = False
    attached: list[str] = []
    for name in names:
        tokens = words(name)
        places = _surname_places(query, tokens)
        if places:
            found = True
            attached += _attached_given(tokens, places)
    if not found:
        return False
    return not query.initial or not attached or any(given_agrees(query, g) for g in attached)


def _surname_places(query: NameQuery, tokens: list[str]) -> list[int]:
    """Positions of the capitalised words whose surname key is the query's, then of
    those one letter from it that have an agreeing given name beside them."""
    exact = [i for i, tok in enumerate(tokens)
             if tok[:1].isupper() and surname_key(tok) == query.key]
    # A spelling one letter away counts only with an agreeing given name beside it.
    fuzzy = [i for i, tok in enumerate(tokens) if i not in exact and tok[:1].isupper()
             and keys_match(surname_key(tok), query.key) and query.initial
             and any(g and given_agrees(query, g)
                     for g in (_given_before(tokens, i), _given_after(tokens, i)))]
    return exact + fuzzy


def _attached_given(tokens: list[str], places: list[int]) -> list[str]:
    """The given names (skeletons) written beside the surnames at ``places``."""
    return [g for i in places for g in (_given_before(tokens, i), _given_after(tokens, i)) if g]


def title_case(tokens: Sequence[str]) -> bool:
    """A Title Case Headline: most words of four letters or more are capitalised (so a
    capital proves nothing about names). Tokens may include numbers and punctuation."""
    long = [t for t in tokens if len(t) >= 4 and t[:1].isalpha()]
    return len(long) >= 3 and sum(t[0].isupper() for t in long) / len(long) >= 0.7


def _is_given_word(token: str) -> bool:
    return token[:1].isupper() and fold(token) not in _NOT_GIVEN


def _given_before(tokens: list[str], i: int) -> str:
    """The given name (skeleton; one letter for an initial) written before the surname
    at ``i``, or ''."""
    j = i - 1
    while j >= 0 and _is_given_word(tokens[j]) and PATRONYMIC.search(tokens[j]):
        j -= 1
    if j < 0 or not _is_given_word(tokens[j]):
        return ""
    # A run of initials ("М А" from "М.А.") gives its first letter.
    while j > 0 and len(tokens[j]) == 1 and len(tokens[j - 1]) == 1 and tokens[j - 1].isupper():
        j -= 1
    return _given_skeleton(tokens[j])


def _given_after(tokens: list[str], i: int) -> str:
    """The given name or first initial (skeleton) written after the surname, or ''."""
    j = i + 1
    if j < len(tokens) and _is_given_word(tokens[j]) and not PATRONYMIC.search(tokens[j]):
        return _given_skeleton(tokens[j])
    return ""


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
