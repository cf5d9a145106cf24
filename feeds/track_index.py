"""Tracks filed by name key (pure): which of many ``/track`` queries a text may name,
found without comparing every query with the text.

``feeds.names.mentions`` says yes only through a capitalised word whose surname key
equals the query's key or is one letter from it (``keys_match``: one letter
changed, added or dropped). So each query is filed under its key and the key's
one-letter deletions, and a text is looked up under its capitalised words' keys and
their deletions: any two keys that ``keys_match`` accepts share one of those strings
(a letter changed at position i leaves the same deletion at i; a letter added, once
deleted, gives the shorter key itself). Of the queries found, those whose key
``keys_match`` the word's are checked with ``mentions`` itself, so the answer is
exactly the one comparing every query gives (``tests/test_tracks_index.py``).

A case's person names are looked up the same way (``matches_person``), but judged by
``names_person``: each spelling on its own, so that one spelling's given name never
stands beside another's surname and a list of spellings is never taken for a Title
Case Headline (which would let a namesake's track hit).

Must not do I/O or read the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from feeds.names import NameQuery, keys_match, mentions, names_person, surname_key
from feeds.text import words


@lru_cache(maxsize=65536)
def neighbourhood(key: str) -> frozenset[str]:
    """The key and every string one letter shorter than it (its one-letter deletions)."""
    return frozenset({key, *(key[:i] + key[i + 1:] for i in range(len(key)))})


@dataclass(frozen=True, slots=True)
class TrackIndex:
    """Parsed queries filed, with their positions, under every lookup string of their key."""

    filed: Mapping[str, tuple[tuple[int, NameQuery], ...]]

    @classmethod
    def build(cls, queries: Sequence[NameQuery | None]) -> TrackIndex:
        """File every parsed query (None: a query that does not parse, never found)."""
        filed: dict[str, list[tuple[int, NameQuery]]] = {}
        for i, query in enumerate(queries):
            if query is not None:
                for probe in neighbourhood(query.key):
                    filed.setdefault(probe, []).append((i, query))
        return cls({probe: tuple(entries) for probe, entries in filed.items()})

    def candidates(self, text: str) -> list[tuple[int, NameQuery]]:
        """The queries whose key ``keys_match`` the key of a capitalised word of ``text``
        (every query ``text`` mentions is among them), by position."""
        return self._candidates(words(text))

    def matches(self, text: str) -> list[int]:
        """Positions of the queries that ``text`` mentions, ascending (several
        coordinators tracking one name cost one ``mentions`` call)."""
        return self._judge(words(text), lambda query: mentions(query, text))

    def matches_person(self, names: Sequence[str]) -> list[int]:
        """Positions of the queries that ``names`` — the spellings of one case's person
        name — are (``names_person``), ascending."""
        return self._judge([tok for name in names for tok in words(name)],
                           lambda query: names_person(query, names))

    def _candidates(self, tokens: Iterable[str]) -> list[tuple[int, NameQuery]]:
        found: dict[int, NameQuery] = {}
        for key in {surname_key(tok) for tok in tokens if tok[:1].isupper()}:
            for probe in neighbourhood(key):
                for i, query in self.filed.get(probe, ()):
                    if i not in found and keys_match(key, query.key):
                        found[i] = query
        return sorted(found.items(), key=itemgetter(0))

    def _judge(self, tokens: Iterable[str], hit: Callable[[NameQuery], bool]) -> list[int]:
        """The candidates found through ``tokens`` that ``hit`` accepts, one verdict
        per distinct query."""
        verdicts: dict[NameQuery, bool] = {}
        out = []
        for i, query in self._candidates(tokens):
            if query not in verdicts:
                verdicts[query] = hit(query)
            if verdicts[query]:
                out.append(i)
        return out
