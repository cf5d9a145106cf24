"""Detection: is an item about an individual at risk of removal, and how urgent (pure).

Owns turning one item's title and text into an ``Analysis``: the kind of removal,
the stage and urgency, the persons at risk and the countries involved. Lexicons are
data files in ``feeds/lexicon/`` (one per language plus a country gazetteer); this
module compiles them once into a ``Matcher`` and never reads them again.

Decision rules, in order:

1. A sentence *triggers* when it contains a removal term (``kinds`` of a lexicon)
   or a stage term; the title and the lead sentence always count.
2. Persons are taken from triggering sentences: runs of two or three
   capitalised words that are not stop words, countries or lexicon terms, and
   registry-style ``Фамилия И.О.`` / ``И.О. Фамилия``.
3. The item is relevant only with a trigger *and* a person, and with no
   historical or off-topic context (anniversaries, sport, reviews...).
4. The stage is the furthest along the road to removal among the stage terms of the
   title, else of the whole text; urgency follows from the stage.

Must not read the clock, fetch, store, or accept user-supplied regular expressions.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from feeds.models import STAGE_RANK, URGENT_STAGES, Analysis, CaseKind, Person, Stage
from feeds.names import given_initial, split_name, surname_key
from feeds.text import detect_lang, fold, sentences

LANGS = ("en", "ru")
_BETWEEN_INITIALS = re.compile(r"(?<=\b\w\.) (?=\w\.)")
_KIND_PRIORITY = (CaseKind.EXTRADITION, CaseKind.DEPORTATION, CaseKind.EXPULSION,
                  CaseKind.ASYLUM)
_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?")


def _compile(patterns: list[str]) -> re.Pattern[str]:
    """One regex for a list of folded word-start prefixes and phrases."""
    alts = []
    for p in sorted({fold(p) for p in patterns}, key=len, reverse=True):
        alts.append(r"\w*\s+".join(re.escape(w) for w in p.split()))
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + ")")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """One language's compiled terms."""

    lang: str
    kinds: dict[CaseKind, re.Pattern[str]]
    stages: dict[Stage, re.Pattern[str]]
    negative: dict[str, re.Pattern[str]]
    stop: frozenset[str]
    prefixes: tuple[str, ...]   # single-word terms and place prefixes, kept out of names


@dataclass(frozen=True, slots=True)
class Country:
    """A gazetteer entry."""

    code: str
    names: re.Pattern[str]
    to: re.Pattern[str]
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Matcher:
    """Compiled lexicons of every language and the country gazetteer."""

    lexicons: tuple[Lexicon, ...]
    countries: tuple[Country, ...]
    stop: frozenset[str]
    name_blockers: tuple[str, ...]


def _read_toml(name: str) -> dict[str, object]:
    data = resources.files("feeds").joinpath("lexicon", name).read_text(encoding="utf-8")
    return tomllib.loads(data)


def _load_lexicon(lang: str) -> Lexicon:
    raw = _read_toml(f"{lang}.toml")
    kinds_raw = raw["kinds"]
    stages_raw = raw["stages"]
    neg_raw = raw["negative"]
    stop_raw = raw["stop"]
    assert isinstance(kinds_raw, dict) and isinstance(stages_raw, dict)
    assert isinstance(neg_raw, dict) and isinstance(stop_raw, dict)
    single = [fold(p) for group in (*kinds_raw.values(), *stages_raw.values())
              for p in group if " " not in p]
    single += [fold(p) for p in stop_raw.get("prefixes", [])]
    return Lexicon(
        lang=lang,
        kinds={CaseKind(k): _compile(v) for k, v in kinds_raw.items()},
        stages={Stage(k): _compile(v) for k, v in stages_raw.items()},
        negative={k: _compile(v) for k, v in neg_raw.items()},
        stop=frozenset(fold(w) for w in stop_raw["words"]),
        prefixes=tuple(single),
    )


@cache
def build_matcher() -> Matcher:
    """Load and compile the bundled lexicons (cached: the data never changes at run time)."""
    lexicons = tuple(_load_lexicon(lang) for lang in LANGS)
    countries = []
    for code, entry in _read_toml("countries.toml").items():
        assert isinstance(entry, dict)
        countries.append(Country(
            code=code, names=_compile(entry["names"]), to=_compile(entry["to"]),
            prefixes=tuple(fold(n) for n in entry["names"] if " " not in n)))
    stop = frozenset().union(*(lex.stop for lex in lexicons))
    blockers = tuple(p for lex in lexicons for p in lex.prefixes) + tuple(
        p for c in countries for p in c.prefixes)
    return Matcher(lexicons=lexicons, countries=tuple(countries), stop=stop,
                   name_blockers=blockers)


def _is_name_token(tok: str, matcher: Matcher) -> bool:
    word = tok.rstrip(".")
    if len(word) < 2 or not word[0].isupper() or word.isupper():
        return False
    if not any(ch.islower() for ch in word):
        return False
    folded = fold(word)
    if folded in matcher.stop:
        return False
    return not any(folded.startswith(b) for b in matcher.name_blockers)


def _person(tokens: list[str], matcher: Matcher) -> Person | None:
    """Make a person from a run of capitalised words (and initials)."""
    full = [t.rstrip(".") for t in tokens if len(t.rstrip(".")) > 1]
    initials = [t.rstrip(".") for t in tokens if len(t.rstrip(".")) == 1]
    if not full or (len(full) == 1 and not initials):
        return None
    picked = split_name(full)
    assert picked is not None
    surname, given = picked
    if not given:
        given = initials[0]                          # Фамилия И.О. / И.О. Фамилия
    key = surname_key(surname)
    if len(key) < 3:
        return None
    display = " ".join(t if len(t.rstrip(".")) > 1 else t.rstrip(".") + "." for t in tokens)
    display = _BETWEEN_INITIALS.sub("", display)       # "Б. Т. Хасанов" → "Б.Т. Хасанов"
    return Person(display=display, key=key, given=given_initial(given))


def extract_persons(sentence: str, matcher: Matcher) -> list[Person]:
    """Persons named in one sentence (runs of name tokens, with initials)."""
    found: list[Person] = []
    run: list[str] = []
    last_end = -1

    def flush() -> None:
        if run:
            p = _person(run[:3] if len([t for t in run if len(t) > 2]) <= 3 else run[-3:],
                        matcher)
            if p is not None and all(p.key != q.key for q in found):
                found.append(p)
        run.clear()

    for m in _TOKEN.finditer(sentence):
        tok = m.group()
        gap = sentence[last_end:m.start()] if last_end >= 0 else " "
        is_initial = len(tok) == 2 and tok.endswith(".") and tok[0].isupper()
        adjacent = gap.strip() == "" and "\n" not in gap
        if is_initial or _is_name_token(tok, matcher):
            if run and not adjacent:
                flush()
            run.append(tok)
            if tok.endswith(".") and not is_initial:
                flush()
        else:
            flush()
        last_end = m.end()
    flush()
    return found


def _countries(folded: str, matcher: Matcher) -> tuple[str, ...]:
    first: dict[str, int] = {}
    dest: set[str] = set()
    for c in matcher.countries:
        m = c.names.search(folded)
        if m:
            first[c.code] = m.start()
            if c.to.search(folded):
                dest.add(c.code)
    origin = sorted((code for code in first if code not in dest), key=first.__getitem__)
    return tuple(origin + sorted(dest, key=first.__getitem__))


def analyze(title: str, text: str, matcher: Matcher | None = None) -> Analysis:
    """Understand one item. Pure: the same title and text always give the same answer."""
    m = matcher or build_matcher()
    full = f"{title}\n\n{text}" if text else title
    lang = detect_lang(full)
    folded_full = fold(full)
    kinds: Counter[CaseKind] = Counter()
    triggers: list[str] = []
    persons: list[Person] = []
    for index, sent in enumerate([title, *sentences(text)]):
        folded = fold(sent)
        hit = index <= 1  # the title and the lead sentence always name the subject
        for lex in m.lexicons:
            for kind, pattern in lex.kinds.items():
                for found in pattern.finditer(folded):
                    kinds[kind] += 1
                    triggers.append(found.group())
                    hit = True
            hit = hit or any(p.search(folded) for p in lex.stages.values())
        if hit:
            for p in extract_persons(sent, m):
                if all(p.key != q.key for q in persons):
                    persons.append(p)
    if not kinds:
        return Analysis(relevant=False, lang=lang, reason="no removal term")
    vetoes = sorted({name for lex in m.lexicons for name, pat in lex.negative.items()
                     if name in ("historical", "offtopic") and pat.search(folded_full)})
    kind = _pick_kind(kinds)
    stage = _stage(fold(title), m) or _stage(folded_full, m)
    countries = _countries(folded_full, m)
    if vetoes:
        return Analysis(relevant=False, lang=lang, kind=kind, stage=stage,
                        countries=countries, triggers=tuple(triggers),
                        reason=f"context: {', '.join(vetoes)}")
    if not persons:
        return Analysis(relevant=False, lang=lang, kind=kind, stage=stage,
                        countries=countries, triggers=tuple(triggers),
                        reason="no identifiable person")
    return Analysis(relevant=True, lang=lang, kind=kind, stage=stage,
                    urgent=stage in URGENT_STAGES, persons=tuple(persons),
                    countries=countries, triggers=tuple(triggers), reason="person at risk")


def _pick_kind(kinds: Counter[CaseKind]) -> CaseKind:
    removal: dict[CaseKind, int] = {k: n for k, n in kinds.items() if k is not CaseKind.ASYLUM}
    if not removal:
        return CaseKind.ASYLUM
    best = max(removal.values())
    return next(k for k in _KIND_PRIORITY if removal.get(k) == best)


def _stage(folded: str, m: Matcher) -> Stage | None:
    found = [stage for lex in m.lexicons for stage, pat in lex.stages.items()
             if pat.search(folded)]
    if not found:
        return None
    return max(found, key=lambda s: STAGE_RANK[s])
