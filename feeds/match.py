"""Detection: is an item about an individual at risk of removal, and how urgent (pure).

Owns turning one item's title and text into an ``Analysis``: relevance, the kind of
removal, the stage and urgency, the persons at risk, the countries (origin first,
destination last), the court and the dates mentioned.

How it reads a text:

1. The text is split into sentences, each sentence into tokens; every sentence is
   searched by one Aho-Corasick automaton (built once from the data files in
   ``feeds/lexicon/``) in two views: the folded surface words and the Russian lemma
   view (pymorphy3), so a Russian phrase pattern covers every inflection.
2. A sentence *triggers* when it has a removal term (``kinds``) or a stage term; the
   title and the lead sentence always count.
3. Persons are runs of capitalised tokens in triggering sentences, filtered by stop
   lists, place names and morphology (given name / patronymic / surname tags), and
   registry forms ``Фамилия И.О.``. A person introduced by an official or speaker
   role ("his lawyer Anna Petrova", "said minister …") or quoted as a speaker is not
   the person at risk. Without a named person, a singular description ("a Kyrgyz
   journalist") stands for one.
4. Relevance: a trigger, a person at risk, and no context that makes the words
   mean something else — history, sport, animals, reviews, metaphors, objects
   ("выдача паспортов") always veto; statistics, policy and explainers veto unless a
   person is named.
5. Stage: the title's stage terms decide when it has any, else the whole text's; a
   report of removal beats everything, an ending (released, refused) beats the
   danger stages it ends, a concrete decision (order, appeal, refused asylum) beats
   interim measures and speculation ("may be extradited"), interim measures beat
   the detention they answer, otherwise the furthest stage along the road wins.
   Urgency follows from the stage.

Must not read the clock, fetch, store, or accept user-supplied regular expressions.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources

import ahocorasick

from feeds import morph
from feeds.models import STAGE_RANK, URGENT_STAGES, Analysis, CaseKind, Person, Stage
from feeds.names import (
    PATRONYMIC,
    SURNAME_SHAPE,
    given_initial,
    given_names,
    is_given_name,
    split_name,
    surname_key,
    title_case,
)
from feeds.text import detect_lang, fold, sentences

LANGS = ("en", "ru", "kk", "ky", "uz", "tg")
_KIND_PRIORITY = (CaseKind.EXTRADITION, CaseKind.DEPORTATION, CaseKind.EXPULSION,
                  CaseKind.ASYLUM)
_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+|[^\w\s]")
_WHOLE_WORD_GROUPS = frozenset({"described", "role", "speech", "city", "demonym"})
_ENDING = frozenset({Stage.RELEASED, Stage.REFUSED})
# Lemmas erase tense, so these are matched only as written (see lexicon/README.md).
_SURFACE_ONLY_STAGES = frozenset({Stage.REMOVED.value, Stage.RELEASED.value,
                                  Stage.REFUSED.value})
_VETO_ALWAYS = frozenset({"historical", "offtopic", "negated"})
# Statistics, policy and explainers veto from the title, or when nobody is named.
_VETO_UNNAMED = frozenset({"aggregate", "policy", "explainer"})
_BETWEEN_INITIALS = re.compile(r"(?<=\b\w\.) (?=\w\.)")
_MONTHS = {
    **{m: i for i, m in enumerate(
        ("january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"), 1)},
    **{m: i for i, m in enumerate(
        ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
         "сентября", "октября", "ноября", "декабря"), 1)},
}
_MONTH_ALT = "|".join(_MONTHS)
_DATE_PATTERNS = (
    re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_ALT})(?:\s+(\d{{4}}))?(?!\d)", re.IGNORECASE),
    re.compile(rf"\b({_MONTH_ALT})\s+(\d{{1,2}})(?!\d)(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?",
               re.IGNORECASE),
    re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b"),
    re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"),
)
_COURT_EN = re.compile(
    r"(?:(?:the[ \t]+)?(?:[A-Z][\w'’-]+[ \t]+){1,4}[Cc]ourt"
    r"(?:[ \t]+of[ \t]+(?:[A-Z][\w'’-]+[ \t]?){1,3})?)"
    r"|(?:[Cc]ourt[ \t]+of[ \t]+(?:[A-Z][\w'’-]+[ \t]?){1,3})")
_COURT_RU = re.compile(
    r"(?:[А-ЯЁ][а-яё-]+(?:[ \t]+[а-яё-]+(?:ий|ый|ой|ого|ому|ом|ым))?[ \t]+|"
    r"(?:[А-ЯЁ][а-яё-]+(?:ий|ый|ой|ого|ому|ом|ым))[ \t]+)суд(?:а|у|ом|е)?\b"
    r"(?:[ \t]+(?:г\.[ \t]*)?[А-ЯЁ][а-яё-]+){0,2}")


# ── the automaton ────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Hit:
    """One lexicon pattern found in a sentence view."""

    group: str          # kind, stage, neg, described, role, speech, country, to, city, demonym
    name: str           # the kind/stage/negative type/country code/word
    token: int          # index of the first token
    end_token: int      # index after the last token
    gap: tuple[int, int] | None = None   # tokens between the halves of a gapped pattern


@dataclass(frozen=True, slots=True)
class Matcher:
    """The compiled lexicons of every language and the country gazetteer."""

    automaton: ahocorasick.Automaton
    stop_words: frozenset[str]
    stop_prefixes: tuple[str, ...]
    name_blockers: frozenset[str]       # single words that are lexicon terms or places
    given_names: frozenset[str]
    # Every removal-kind pattern as the words it needs (see ``KindGate``).
    kind_gate: KindGate = field(default_factory=lambda: KindGate(()), compare=False)

    def may_name_removal(self, tokens: Sequence[str]) -> bool:
        """False when the tokens cannot hold any removal-kind term (then none is there)."""
        return self.kind_gate.may_match(tokens)


@dataclass(frozen=True, slots=True)
class _Needs:
    """The words one view of a kind pattern needs: whole token forms and, for the last
    word of each half, a prefix of a token form."""

    whole: frozenset[str]
    prefixes: tuple[str, ...]


class KindGate:
    """A cheap, sound pre-test for ``analyze``: a kind pattern is found only where each of
    its words is a token's surface or base form (the last word of a half: the start of
    one), so an item lacking the words of every kind pattern has no removal term and
    needs no sentence reading. Most news items are settled here. Each pattern is indexed
    by its longest word; the per-token verdicts are cached (bounded)."""

    def __init__(self, needs: Iterable[_Needs]) -> None:
        self._by_anchor: dict[str, list[_Needs]] = {}
        for need in needs:
            anchor = max((*need.whole, *need.prefixes), key=len)
            self._by_anchor.setdefault(anchor, []).append(need)
        self._anchors = tuple(sorted(self._by_anchor))
        self._token: dict[str, tuple[_Needs, ...]] = {}

    def _candidates(self, token: str) -> tuple[_Needs, ...]:
        found = self._token.get(token)
        if found is None:
            if len(self._token) > 100_000:
                self._token.clear()
            found = self._token[token] = tuple(
                need for form in set(_forms(token)) if form.startswith(self._anchors)
                for anchor in self._anchors if form.startswith(anchor)
                for need in self._by_anchor[anchor])
        return found

    def may_match(self, tokens: Sequence[str]) -> bool:
        candidates = [need for t in set(tokens) for need in self._candidates(t)]
        if not candidates:
            return False
        forms = {form for t in tokens for form in _forms(t)}
        if any(" " in form for form in forms):
            return True                 # a compatibility character folded to spaces
        return any(need.whole <= forms and all(
            any(form.startswith(p) for form in forms) for p in need.prefixes)
            for need in candidates)


def tokens_of(text: str) -> list[str]:
    return _TOKEN.findall(text)


_EN_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))


def _en_stem(word: str) -> str:
    """Strip English inflection (orders/ordered/ordering → order); derivation stays."""
    if len(word) <= 4 or not word.isascii() or not word.isalpha():
        return word
    stem = word
    for suffix, repl in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + repl
            if suffix in ("ed", "ing") and len(stem) > 3 and stem[-1] == stem[-2]:
                stem = stem[:-1]                          # stopped → stop
            break
    # approve / approves / approved → approv: one stem whatever the ending
    return stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem


def _base(word: str) -> str:
    """The dictionary-like form of a folded word: Russian lemma or English stem."""
    return morph.lemma(word) if morph.is_cyrillic_word(word) else _en_stem(word)


@lru_cache(maxsize=100_000)
def _forms(token: str) -> tuple[str, str]:
    """A token folded, and folded to its base (news repeats its words: cached)."""
    folded = fold(token)
    return folded, _base(folded)


def _view(tokens: Sequence[str], lemmas: bool) -> tuple[str, list[int]]:
    """The view's text (words joined by single spaces) and each token's offset in it."""
    folded = [_forms(t)[lemmas] for t in tokens]
    starts, pos = [], 0
    for word in folded:
        starts.append(pos)
        pos += len(word) + 1
    return " ".join(folded), starts


def _pattern_views(pattern: str, *, surface_only: bool = False) -> set[str]:
    """A pattern as it must appear in the surface view and, lemmatised, in the lemma view.

    The last word of a pattern is a prefix and is not lemmatised when the
    dictionary does not know it (``апелляц``).
    """
    toks = [fold(t) for t in tokens_of(pattern)]
    if not toks:
        return set()
    if surface_only:
        return {" ".join(toks)}
    lemmatised = [_base(t) if (i < len(toks) - 1 or not morph.is_cyrillic_word(t)
                               or morph.known(t)) else t
                  for i, t in enumerate(toks)]
    return {" ".join(toks), " ".join(lemmatised)}


def _read_toml(name: str) -> dict[str, object]:
    data = resources.files("feeds").joinpath("lexicon", name).read_text(encoding="utf-8")
    return tomllib.loads(data)


GAP = " … "
MAX_GAP = 3


def _entries() -> Iterable[tuple[str, str, str]]:
    """Every (group, name, pattern) of every lexicon file."""
    for lang in LANGS:
        raw = _read_toml(f"{lang}.toml")
        for group, section in (("kind", "kinds"), ("stage", "stages"), ("neg", "negative")):
            table = raw.get(section, {})
            assert isinstance(table, dict)
            for name, patterns in table.items():
                if group == "kind":
                    CaseKind(name)
                elif group == "stage":
                    Stage(name)
                for p in patterns:
                    yield group, name, p
        for group, section, key in (("described", "described", "nouns"),
                                    ("role", "roles", "words"), ("speech", "speech", "words")):
            table = raw.get(section, {})
            assert isinstance(table, dict)
            for p in table.get(key, []):
                yield group, fold(p), p
    for code, entry in _read_toml("countries.toml").items():
        assert isinstance(entry, dict)
        for group, key in (("country", "names"), ("to", "to"), ("city", "cities"),
                           ("demonym", "demonyms")):
            for p in entry.get(key, []):
                yield group, code, p


def _needs(*halves: str) -> _Needs:
    """What one view of a kind pattern (of each half of a gapped one) needs."""
    whole: set[str] = set()
    prefixes = []
    for half in halves:
        words = half.split(" ")
        whole.update(words[:-1])
        prefixes.append(words[-1])
    return _Needs(frozenset(whole), tuple(prefixes))


@cache
def build_matcher() -> Matcher:
    """Compile the bundled lexicons (cached: the data never changes at run time)."""
    automaton = ahocorasick.Automaton()
    payloads: dict[str, set[tuple[str, str]]] = {}
    blockers: set[str] = set()
    needs: list[_Needs] = []
    for group, name, pattern in _entries():
        # Whole-word lists are matched as written: stems collide ("noted" → "not").
        surface_only = (group == "stage" and name in _SURFACE_ONLY_STAGES) or \
            group in _WHOLE_WORD_GROUPS
        parts = [p for p in pattern.replace("...", "…").split("…") if p.strip()]
        if len(parts) == 2:
            # A gapped pattern: its halves are found separately and joined in _search.
            halves = [_pattern_views(part.strip(), surface_only=surface_only)
                      for part in parts]
            for index, views in enumerate(halves):
                for view in views:
                    payloads.setdefault(view, set()).add(
                        (f"gap{index}", f"{group}|{name}|{pattern}"))
            if group == "kind":     # both halves, in the same view
                needs.extend(_needs(first, second) for first in halves[0]
                             for second in halves[1])
            continue
        views = _pattern_views(pattern, surface_only=surface_only)
        if group == "kind":
            needs.extend(_needs(view) for view in views)
        for view in views:
            payloads.setdefault(view, set()).add((group, name))
            if " " not in view and group in ("kind", "stage", "country", "city", "demonym"):
                blockers.add(view)
    for view, items in payloads.items():
        automaton.add_word(view, (len(view), tuple(sorted(items))))
    automaton.make_automaton()
    stop_words: set[str] = set()
    stop_prefixes: list[str] = []
    for lang in LANGS:
        stop = _read_toml(f"{lang}.toml").get("stop", {})
        assert isinstance(stop, dict)
        stop_words.update(fold(w) for w in stop.get("words", []))
        stop_prefixes.extend(fold(p) for p in stop.get("prefixes", []))
    return Matcher(automaton=automaton, stop_words=frozenset(stop_words),
                   stop_prefixes=tuple(stop_prefixes), name_blockers=frozenset(blockers),
                   given_names=given_names(), kind_gate=KindGate(needs))


def _search(view: str, starts: list[int], matcher: Matcher) -> list[Hit]:
    hits = []
    for end, (length, items) in matcher.automaton.iter(view):
        start = end - length + 1
        if start > 0 and view[start - 1] != " ":
            continue                                  # not at a word start
        whole = end + 1 == len(view) or view[end + 1] == " "
        first = bisect.bisect_right(starts, start) - 1
        last = bisect.bisect_right(starts, end)
        for group, name in items:
            if group in _WHOLE_WORD_GROUPS and not whole:
                continue
            hits.append(Hit(group=group, name=name, token=first, end_token=last))
    return hits


@dataclass
class Sentence:
    """One sentence: its tokens and the lexicon hits in either view."""

    text: str
    tokens: list[str]
    hits: list[Hit] = field(default_factory=list)

    def names(self, group: str) -> list[str]:
        return [h.name for h in self.hits if h.group == group]

    @property
    def triggers(self) -> bool:
        return any(h.group in ("kind", "stage") for h in self.hits)


def read_sentence(text: str, matcher: Matcher) -> Sentence:
    tokens = tokens_of(text)
    seen: set[tuple[str, str, int]] = set()
    sentence = Sentence(text=text, tokens=tokens)
    for lemmas in (False, True):
        view, starts = _view(tokens, lemmas)
        view_hits = _search(view, starts, matcher)
        for hit in view_hits + _join_gaps(view_hits):
            if hit.group.startswith("gap"):
                continue
            key = (hit.group, hit.name, hit.token)
            if key not in seen:
                seen.add(key)
                sentence.hits.append(hit)
    # The longest stage phrase wins: "could be extradited" (imminent) contains
    # "extradited" (removed), which then does not count.
    stages = [h for h in sentence.hits if h.group == "stage"]
    sentence.hits = [h for h in sentence.hits if h.group != "stage" or not any(
        o.name != h.name and o.token <= h.token and h.end_token <= o.end_token
        and (o.end_token - o.token) > (h.end_token - h.token) for o in stages)]
    return sentence


def _join_gaps(hits: Sequence[Hit]) -> list[Hit]:
    """Hits of gapped patterns: the second half within MAX_GAP tokens after the first."""
    firsts = [h for h in hits if h.group == "gap0"]
    joined = []
    for second in (h for h in hits if h.group == "gap1"):
        for first in firsts:
            if first.name == second.name and 0 <= second.token - first.end_token <= MAX_GAP:
                group, name, _ = first.name.split("|", 2)
                joined.append(Hit(group=group, name=name, token=first.token,
                                  end_token=second.end_token,
                                  gap=(first.end_token, second.token)))
    return joined


# ── persons ──────────────────────────────────────────────────────────────────────


def _is_initial(tokens: Sequence[str], i: int) -> bool:
    tok = tokens[i]
    return (len(tok) == 1 and tok.isupper() and i + 1 < len(tokens) and tokens[i + 1] == ".")


def _is_name_word(tok: str, matcher: Matcher) -> bool:
    if len(tok) < 2 or not tok[0].isupper() or not any(c.islower() for c in tok):
        return False
    folded = fold(tok)
    base = folded.removesuffix("'s").removesuffix("’s")
    if base in matcher.stop_words or base in matcher.name_blockers:
        return False
    if any(base.startswith(p) for p in matcher.stop_prefixes):
        return False
    if morph.is_cyrillic_word(tok):
        if morph.lemma(base) in matcher.name_blockers:
            return False
        role = morph.name_role(tok)
        return role not in (morph.NameRole.PLACE, morph.NameRole.ORG, morph.NameRole.OTHER)
    return True


@dataclass(frozen=True, slots=True)
class _Run:
    start: int          # first token index
    end: int            # index after the last token (dots of initials included)
    words: tuple[str, ...]
    initials: tuple[str, ...]
    initials_first: bool


def _is_weak_name_word(toks: Sequence[str], i: int, matcher: Matcher) -> bool:
    """A capitalised common word (Алмаз = diamond) that is a name only beside a name."""
    tok = toks[i]
    if i == 0 or toks[i - 1] in (".", "!", "?", "«", '"', ":") or len(tok) < 2:
        return False
    folded = fold(tok)
    return (tok[0].isupper() and tok[1:].islower() and morph.is_cyrillic_word(tok)
            and folded not in matcher.stop_words and folded not in matcher.name_blockers
            and morph.lemma(folded) not in matcher.name_blockers
            and morph.name_role(tok) is morph.NameRole.OTHER)


_SOURCE_PHRASES = frozenset({"according to", "по словам", "со слов"})
_NOT_NAME_GROUPS = frozenset({"kind", "stage", "neg", "described", "role", "speech",
                              "country", "city", "demonym", "to"})


def _covered(sentence: Sentence) -> set[int]:
    """Tokens inside a lexicon hit: words of the vocabulary, never parts of a name."""
    covered: set[int] = set()
    for h in sentence.hits:
        if h.group in _NOT_NAME_GROUPS:
            inner = range(*h.gap) if h.gap else range(0)
            covered.update(t for t in range(h.token, h.end_token) if t not in inner)
    return covered


def _letters(token: str) -> bool:
    return token.replace("'", "").replace("’", "").isalpha()


def _runs(sentence: Sentence, matcher: Matcher) -> list[_Run]:
    toks = list(sentence.tokens)
    for index in _covered(sentence):
        toks[index] = toks[index].lower()       # a vocabulary word breaks a name run
    for index in range(len(toks) - 1):
        # Registry style "AKHMEDOVSKY D.": an upper-case surname before initials.
        if toks[index].isupper() and len(toks[index]) >= 4 and _is_initial(toks, index + 1):
            toks[index] = toks[index].capitalize()
    runs: list[_Run] = []
    registry = "|" in toks
    for index in range(len(toks) - 1):
        # Registry rows: "ZHUMABAEV KANAT", "ORAZOVA AYNA v. …" — two upper-case words.
        a, b = toks[index], toks[index + 1]
        if (registry and a.isupper() and b.isupper() and _letters(a) and _letters(b)
                and len(a) >= 3 and len(b) >= 3 and fold(a) not in matcher.stop_words
                and fold(b) not in matcher.stop_words and (index == 0 or not toks[
                    index - 1].isupper() or not toks[index - 1].isalpha())
                and (index + 2 >= len(toks) or not toks[index + 2].isupper()
                     or not toks[index + 2].isalpha())):
            first, second = a.capitalize(), b.capitalize()
            ordered = (second, first) if fold(b) in matcher.given_names or SURNAME_SHAPE.search(
                first) else (first, second)
            runs.append(_Run(index, index + 2, ordered, (), initials_first=False))
        # "Nazarzoda v. Poland": the applicant of a court case.
        if (b == "v" and index + 2 < len(toks) and toks[index + 2] == "." and a[:1].isupper()
                and a[1:].islower() and len(a) >= 4 and fold(a) not in matcher.stop_words):
            runs.append(_Run(index, index + 1, (a,), (), initials_first=False))
    for index in range(len(toks) - 2):
        # Registry style "SEITKALI, Marat": an upper-case surname, a comma, a given name.
        if (toks[index].isupper() and len(toks[index]) >= 3 and toks[index + 1] == ","
                and toks[index + 2][:1].isupper() and toks[index + 2][1:].islower()
                and _is_name_word(toks[index + 2], matcher)):
            runs.append(_Run(index, index + 3, (toks[index + 2], toks[index].capitalize()),
                             (), initials_first=False))
    i = 0
    while i < len(toks):
        start = i
        words: list[str] = []
        initials: list[str] = []
        while i < len(toks):
            strong = _is_name_word(toks[i], matcher)
            weak = not strong and _is_weak_name_word(toks, i, matcher) and (
                bool(words) or (i + 1 < len(toks) and _is_name_word(toks[i + 1], matcher)))
            if _is_initial(toks, i):
                initials.append(toks[i])
                i += 2
            elif (strong or weak) and not initials:
                words.append(toks[i].removesuffix("'s").removesuffix("’s"))
                i += 1
            elif strong and initials and not words:
                words.append(toks[i])          # И.О. Фамилия
                i += 1
                break
            else:
                break
        if words:
            runs.append(_Run(start, i, tuple(words), tuple(initials),
                             initials_first=_is_initial(toks, start)))
        if i == start:
            i += 1
    return runs


def _single_surname(word: str) -> bool:
    """A lone capitalised word that is a surname (Жилина, Zhilin), not an outlet or place."""
    if morph.is_cyrillic_word(word):
        role = morph.name_role(word)
        return role is morph.NameRole.SURNAME or (
            role is morph.NameRole.UNKNOWN and bool(SURNAME_SHAPE.search(word)))
    return bool(SURNAME_SHAPE.search(word))


def _person_from_run(run: _Run, matcher: Matcher, *, titled: bool = False,
                     cyrillic_text: bool = False) -> Person | None:
    words = list(run.words)
    if len(words) > 3:
        words = words[-3:]
    cyrillic = all(morph.is_cyrillic_word(w) for w in words)
    if len(words) == 1 and not run.initials and not _single_surname(words[0]):
        return None
    if not cyrillic and not run.initials and not (
            any(fold(w) in matcher.given_names for w in words)
            or any(SURNAME_SHAPE.search(w) for w in words)) and (
                titled or len(words) < 2 or cyrillic_text):
        # "Fled Mobilization" in a Title Case headline; "Journal", "Partners" — Latin
        # brand names inside Russian text.
        return None
    if cyrillic and not run.initials and all(
            morph.name_role(w) in (morph.NameRole.UNKNOWN, morph.NameRole.OTHER)
            for w in words) and not any(SURNAME_SHAPE.search(w) for w in words):
        return None     # no word reads as a name: "Микросистемс", "Лента"
    surname: str | None
    given: str | None
    if cyrillic and run.initials and len(words) == 1:
        surname, given = words[0], run.initials[0]          # Хартманн Л., Б.Т. Хасанов
        display_words = morph.nominative(tuple(words))
    elif cyrillic:
        roles = [morph.name_role(w) for w in words]
        surname = next((w for w, r in zip(words, roles, strict=True)
                        if r is morph.NameRole.SURNAME), None)
        given = next((w for w, r in zip(words, roles, strict=True)
                      if r is morph.NameRole.GIVEN and w != surname), None)
        if surname is None:
            picked = split_name([w for w, r in zip(words, roles, strict=True)
                                 if r is not morph.NameRole.PATRONYMIC] or words)
            assert picked is not None
            surname, guessed = picked
            given = given or guessed or None
        if given is None:
            # "Каната Жумабаева": an unknown or common word before a surname is the
            # given name (Канат reads as "rope" to the dictionary).
            given = next((w for w, r in zip(words, roles, strict=True)
                          if w != surname and r is not morph.NameRole.PATRONYMIC), None)
        display_words = morph.nominative(tuple(words))
    else:
        known_given = [w for w in words if fold(w) in matcher.given_names]
        shaped = [w for w in words if SURNAME_SHAPE.search(w)]
        if not known_given and len(words) == 2 and len(shaped) == 1:
            known_given = [w for w in words if w not in shaped]   # Vasilevskaja Alena
        rest = [w for w in words if w not in known_given and not PATRONYMIC.search(w)]
        if rest:
            surname = rest[-1]
            given = known_given[0] if known_given else (rest[0] if len(rest) > 1 else None)
        else:
            picked = split_name(words)
            assert picked is not None
            surname, given = picked[0], picked[1] or None
        display_words = tuple(words)
    assert surname is not None
    if given is None and run.initials:
        given = run.initials[0]
    key = surname_key(surname)
    if len(key) < 3:
        return None
    initials = "".join(f"{i}." for i in run.initials)
    if run.initials_first:
        display = f"{initials} {' '.join(display_words)}"        # И.О. Фамилия
    elif run.initials:
        display = f"{' '.join(display_words)} {initials}"        # Фамилия И.О.
    else:
        display = " ".join(display_words)
    return Person(display=_BETWEEN_INITIALS.sub("", display), key=key,
                  given=given_initial(given) if given else "")


def _near(hits: Iterable[Hit], group: str, lo: int, hi: int) -> bool:
    return any(h.group == group and lo <= h.token < hi for h in hits)


def _speaker_or_official(sentence: Sentence, run: _Run) -> bool:
    """A name introduced by an official/speaker role, or quoted as a speaker."""
    hits = sentence.hits
    if _near(hits, "role", run.start - 3, run.start):
        return True
    # "Ilkhom Karimov, head of the agency, said": an apposition naming an office.
    if run.end < len(sentence.tokens) and sentence.tokens[run.end] == "," and \
            _near(hits, "role", run.end + 1, run.end + 4):
        return True
    if any(h.group == "speech" and run.end <= h.token < run.end + 3 for h in hits):
        return True
    # "according to X", "по словам X" (but not "said X": that X is what was said about)
    return any(h.group == "speech" and h.name in _SOURCE_PHRASES and h.end_token <= run.start
               and run.start - h.end_token <= 1 for h in hits)


def extract_persons(sentence: Sentence | str, matcher: Matcher | None = None, *,
                    at_risk_only: bool = True, officials: set[str] | None = None
                    ) -> list[Person]:
    """Persons named in one sentence; with ``at_risk_only``, not officials or speakers
    (whose keys are added to ``officials`` when given)."""
    m = matcher or build_matcher()
    s = sentence if isinstance(sentence, Sentence) else read_sentence(sentence, m)
    titled = title_case(s.tokens)
    cyrillic_text = detect_lang(s.text) == "ru"
    found: list[Person] = []
    for run in _runs(s, m):
        if at_risk_only and _speaker_or_official(s, run):
            if officials is not None:
                person = _person_from_run(run, m, titled=titled, cyrillic_text=cyrillic_text)
                if person is not None:
                    officials.add(person.key)
            continue
        # A run followed by "court"/"суд" names a court, not a person.
        if run.end < len(s.tokens) and fold(s.tokens[run.end]) in ("court", "суд", "суда",
                                                                    "суде", "судом", "суду"):
            continue
        person = _person_from_run(run, m, titled=titled, cyrillic_text=cyrillic_text)
        if person is not None and all(person.key != q.key for q in found):
            found.append(person)
    return found


def _add_person(persons: list[Person], new: Person) -> None:
    """Add a person once per key; a fuller mention (with a given name) replaces a bare
    surname seen earlier ("Zhumabayev v …" then "Yerlan Zhumabayev")."""
    for i, old in enumerate(persons):
        if old.key == new.key:
            if new.given and not old.given:
                persons[i] = new
            return
    persons.append(new)


def _name_evidence(person: Person) -> int:
    """How surely a found person is a real name (for choosing the case's person):
    a known given name or an initial, a surname shape, two or more words."""
    words = person.display.replace(".", ". ").split()
    score = 0
    if person.given:
        score += 1
    if any(is_given_name(w) for w in words):
        score += 2
    if any(SURNAME_SHAPE.search(w.strip(".,")) for w in words):
        score += 2
    if person.key.startswith("~"):
        score -= 3                  # a description, not a name
    return score


_LEAD_STOP = frozenset({"a", "an", "the", "of", "and", "or", "to", "his", "her", "their",
                        "this", "that", "и", "или", "а", "но", "в", "на", "о", "с"})


def _described(sentence: Sentence, countries: Sequence[str]) -> Person | None:
    """A singular description standing for an unnamed individual."""
    phrase_tokens = {t for h in sentence.hits if h.group in ("kind", "stage")
                     for t in range(h.token, h.end_token)}
    for hit in sentence.hits:
        if hit.group != "described" or hit.token in phrase_tokens:
            continue
        if _near(sentence.hits, "role", hit.token - 1, hit.token + 1):
            continue
        noun = hit.name
        # Russian plural forms are different words; English plurals do not match whole.
        if morph.is_cyrillic_word(noun.split()[-1]) and _is_plural_ru(sentence.tokens,
                                                                       hit.token):
            continue
        lead: list[str] = []
        for t in reversed(sentence.tokens[max(0, hit.token - 2):hit.token]):
            # Only the adjectives that describe the person ("Kyrgyz", "ичкерийскому").
            if not t.isalpha() or fold(t) in _LEAD_STOP or (
                    morph.is_cyrillic_word(t) and not morph.is_adjective(t)):
                break
            lead.insert(0, t)
        words = (*lead, *sentence.tokens[hit.token:hit.end_token])
        display = " ".join(morph.phrase_nominative(tuple(words)))
        key = f"~{surname_key(noun.split()[-1])}:{'-'.join(sorted(countries)) or 'xx'}"
        return Person(display=display, key=key, given="")
    return None


_AGE = re.compile(r"^\d{1,2}$")
_AGE_WORD = re.compile(r"^(?:летн|year-old|years-old)", re.IGNORECASE)


def _aged(sentence: Sentence) -> Person | None:
    """"45-летний строитель", "a 34-year-old Tajik man": an age marks one individual."""
    toks = sentence.tokens
    for i in range(len(toks) - 2):
        if _AGE.match(toks[i]) and toks[i + 1] == "-" and _AGE_WORD.match(toks[i + 2]):
            tail = [t for t in toks[i + 3:i + 6] if t.isalpha()][:2]
            display = " ".join([f"{toks[i]}-{toks[i + 2]}", *tail])
            noun = surname_key(tail[-1]) if tail else ""
            return Person(display=display, key=f"~age{toks[i]}:{noun}", given="")
    return None


def _is_plural_ru(tokens: Sequence[str], index: int) -> bool:
    parses = morph.analyzer().parse(tokens[index].lower())
    return bool(parses) and "plur" in parses[0].tag


# ── countries, court, dates ─────────────────────────────────────────────────────


def _countries(sents: Sequence[Sentence], kind: CaseKind | None) -> tuple[str, ...]:
    """Origin/current location first, destination last."""
    first: dict[str, int] = {}
    dest: list[str] = []
    located: list[str] = []
    people: list[str] = []
    order = 0
    for s in sents:
        for h in sorted(s.hits, key=lambda h: h.token):
            order += 1
            if h.group in ("country", "city", "demonym", "to"):
                first.setdefault(h.name, order)
            if h.group == "to" and h.name not in dest:
                dest.append(h.name)
            elif h.group == "city" and h.name not in located:
                located.append(h.name)
            elif h.group == "demonym" and h.name not in people:
                people.append(h.name)
    if not first:
        return ()
    if not dest and kind in (CaseKind.EXTRADITION, CaseKind.DEPORTATION, CaseKind.EXPULSION):
        # "a Tajik activist detained in Moscow faces extradition": home is the destination.
        dest = [c for c in people if c not in located][:1]
    origin = [c for c in located if c not in dest]
    rest = sorted((c for c in first if c not in dest and c not in origin), key=first.__getitem__)
    return tuple(origin + rest + dest)


def _court(text: str) -> str | None:
    for pattern in (_COURT_RU, _COURT_EN):
        m = pattern.search(text)
        if m:
            court = m.group(0).strip()
            return court.removeprefix("the ").removeprefix("The ")
    return None


def _dates(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            g = m.groups()
            try:
                if pattern is _DATE_PATTERNS[0]:
                    day, month, year = int(g[0]), _MONTHS[g[1].lower()], g[2]
                elif pattern is _DATE_PATTERNS[1]:
                    day, month, year = int(g[1]), _MONTHS[g[0].lower()], g[2]
                elif pattern is _DATE_PATTERNS[2]:
                    day, month, year = int(g[0]), int(g[1]), g[2]
                else:
                    year, month, day = g[0], int(g[1]), int(g[2])
            except (KeyError, ValueError):
                continue
            if not (1 <= day <= 31 and 1 <= month <= 12):
                continue
            iso = f"{year}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"
            if iso not in found:
                found.append(iso)
    return tuple(found)


# ── the decision ────────────────────────────────────────────────────────────────


def has_removal_term(text: str, matcher: Matcher | None = None) -> bool:
    """Whether a text names any kind of removal (a cheap test before fetching more)."""
    m = matcher or build_matcher()
    return m.may_name_removal(tokens_of(text)) and any(
        read_sentence(s, m).names("kind") for s in sentences(text) or [text])


def _pick_kind(kinds: Counter[CaseKind]) -> CaseKind:
    removal: dict[CaseKind, int] = {k: n for k, n in kinds.items() if k is not CaseKind.ASYLUM}
    if not removal:
        return CaseKind.ASYLUM
    best = max(removal.values())
    return next(k for k in _KIND_PRIORITY if removal.get(k) == best)


def pick_stage(found: Iterable[Stage]) -> Stage | None:
    """The stage a set of stage terms describes (see the module docstring, rule 5)."""
    stages = set(found)
    if not stages:
        return None
    if Stage.REMOVED in stages:
        return Stage.REMOVED
    endings = stages & _ENDING
    if endings:
        # A refusal is the decision; a release usually follows from it.
        return Stage.REFUSED if Stage.REFUSED in endings else Stage.RELEASED
    concrete = stages - {Stage.IMMINENT, Stage.DETAINED, Stage.INTERIM_MEASURES}
    if Stage.INTERIM_MEASURES in stages and not concrete:
        return Stage.INTERIM_MEASURES     # the answer to the detention it names
    if concrete:
        # "may be extradited" or a planned appeal to the UN next to a decision: the
        # decision is the news.
        return max(concrete, key=lambda s: STAGE_RANK[s])
    return max(stages, key=lambda s: STAGE_RANK[s])


def analyze(title: str, text: str, matcher: Matcher | None = None) -> Analysis:
    """Understand one item. Pure: the same title and text always give the same answer."""
    m = matcher or build_matcher()
    full = f"{title}\n\n{text}" if text else title
    lang = detect_lang(full)
    if not m.may_name_removal(tokens_of(full)):
        return Analysis(relevant=False, lang=lang, reason="no removal term")
    sents = [read_sentence(s, m) for s in [title, *sentences(text)] if s.strip()]
    kinds: Counter[CaseKind] = Counter()
    triggers: list[str] = []
    negatives: set[str] = set()
    title_negatives: set[str] = set()
    for index, s in enumerate(sents):
        if index == 0:
            title_negatives.update(s.names("neg"))
        if index == 0 or s.triggers:
            negatives.update(s.names("neg"))      # context far from the story is noise
        for name in s.names("kind"):
            kinds[CaseKind(name)] += 1
            triggers.append(name)
    if not kinds:
        return Analysis(relevant=False, lang=lang, reason="no removal term")
    persons: list[Person] = []
    officials: set[str] = set()     # keys of people introduced as lawyers, officials…
    subject = [s.triggers or index <= 1 for index, s in enumerate(sents)]
    for s, read in zip(sents, subject, strict=True):
        if read:
            for p in extract_persons(s, m, officials=officials):
                _add_person(persons, p)
    if not persons:
        # The subject may be named in a sentence without the removal words ("He was
        # detained…" after "Mikhail Zhilin, an officer who fled mobilisation, …").
        for s, read in zip(sents, subject, strict=True):
            if not read:
                for p in extract_persons(s, m, officials=officials):
                    _add_person(persons, p)
    # "Yerevan lawyer Mariam Avetisyan …, Avetisyan says": a bare later mention of an
    # official is still the official.
    persons = sorted((p for p in persons if p.key not in officials),
                     key=lambda p: -_name_evidence(p))
    kind = _pick_kind(kinds)
    title_stages = [Stage(n) for n in sents[0].names("stage")] if sents else []
    stage = pick_stage(title_stages) or pick_stage(
        Stage(n) for s in sents for n in s.names("stage"))
    countries = _countries(sents, kind)
    court = _court(full)
    dates = _dates(full)
    base = Analysis(relevant=False, lang=lang, kind=kind, stage=stage, countries=countries,
                    triggers=tuple(triggers), court=court, dates=dates)
    vetoes = sorted((negatives & _VETO_ALWAYS) | (title_negatives & _VETO_UNNAMED))
    if vetoes:
        return replace(base, reason=f"context: {', '.join(vetoes)}")
    if not persons:
        soft = sorted(negatives & _VETO_UNNAMED)
        if soft:
            return replace(base, reason=f"context: {', '.join(soft)}")
        described = next((d for s in sents if s.triggers
                          if (d := _described(s, countries) or _aged(s)) is not None), None)
        if described is None:
            return replace(base, reason="no identifiable person")
        persons = [described]
    return replace(base, relevant=True, urgent=stage in URGENT_STAGES, persons=tuple(persons),
                   reason="person at risk")


@cache
def country_names() -> dict[str, tuple[str, str]]:
    """ISO code → (English name, Russian name) for cards, from the countries lexicon."""
    out: dict[str, tuple[str, str]] = {}
    for code, entry in _read_toml("countries.toml").items():
        assert isinstance(entry, dict)
        names = [str(n) for n in entry.get("names", [])]
        latin = next((n for n in names if n.isascii()), code)
        cyrillic = next((n for n in names if not n.isascii()), latin)
        out[code] = (latin.title(), cyrillic.upper() if len(cyrillic) <= 3
                     else cyrillic.capitalize())
    return out


def country_code(text: str) -> str | None:
    """The ISO code for a country name or code in English or Russian ("kz", "Казахстан")."""
    word = fold(text)
    if word.upper() in country_names():
        return word.upper()
    for code, entry in _read_toml("countries.toml").items():
        assert isinstance(entry, dict)
        if word in (fold(str(n)) for n in entry.get("names", [])):
            return code
    return None
