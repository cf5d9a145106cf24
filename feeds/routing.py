"""Routing (pure): which outbox messages a case change implies, and for whom.

Owns the rules that turn "this case changed" into messages:

- the alert group(s) get every card, except that with a daily digest non-urgent new
  cases wait for the digest;
- a volunteer's private subscription gets the cards its filters let through
  (countries, kinds, urgent only), unless muted;
- a coordinator whose tracked name appears in the case gets one private hit per case;
- a case marked *not relevant* stays quiet; a *resolved* case reopens when a later
  report escalates it.

Each message carries a dedup key, unique in the outbox, so re-running a decision
after a crash cannot queue a message twice.

Must not do I/O or read the clock; the storage layer calls it inside the transaction
that applies the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter

from feeds.cases import Change
from feeds.models import CaseKind, CaseStatus, OutboxKind, Subscription, Track
from feeds.names import NameQuery, parse_query
from feeds.track_index import TrackIndex


@dataclass(frozen=True, slots=True)
class Planned:
    """One message to queue."""

    kind: OutboxKind
    chat_id: int
    dedup_key: str


@dataclass(frozen=True, slots=True)
class Routed:
    """What a case change implies: the messages, and the case's new status and digest flag."""

    messages: tuple[Planned, ...]
    status: CaseStatus
    digest_pending: bool


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What routing reads about a case after the change was applied."""

    id: int
    urgent: bool
    kind: CaseKind | None
    countries: tuple[str, ...]
    persons: tuple[str, ...]
    status: CaseStatus
    stage: str | None
    digest_pending: bool = False


def wants(sub: Subscription, case: CaseFacts, now: datetime) -> bool:
    """Whether a subscription receives this case's card now."""
    if sub.muted_until is not None and sub.muted_until > now:
        return False
    if sub.urgent_only and not case.urgent:
        return False
    if sub.kinds and case.kind not in sub.kinds:
        return False
    return not sub.countries or bool(sub.countries & set(case.countries))


@lru_cache(maxsize=4096)
def _query(text: str) -> NameQuery | None:
    try:
        return parse_query(text)
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _index(queries: tuple[str, ...]) -> TrackIndex:
    return TrackIndex.build([_query(q) for q in queries])


def track_hits(tracks: Sequence[Track], persons: Sequence[str]) -> list[Track]:
    """The tracks that name the case's person, in their order.

    A track hits when the case's person names, each read on its own, are its person
    (``feeds.names.names_person``): a bare surname track hits every case with that
    surname; a track with a given name or initial only a case whose names agree with
    it, or give none. The names are never joined into one text: joined, they read as a
    Title Case Headline, where given names are not compared, and namesakes hit.

    Called for every case change and every case message delivered, with up to
    thousands of tracks: the queries are parsed and filed by name key once per set of
    query texts (``feeds.track_index``), so a call costs a look-up per name word and a
    ``names_person`` check per candidate, not one per track (issue #7,
    ``bench/tracks.py``).
    """
    if not tracks or not any(persons):
        return []
    index = _index(tuple(map(attrgetter("query"), tracks)))
    return [tracks[i] for i in index.matches_person(persons)]


def route(change: Change, case: CaseFacts, *, event_id: int | None, groups: Sequence[int],
          subscriptions: Sequence[Subscription], tracks: Sequence[Track], now: datetime,
          digest: bool = False) -> Routed:
    """The messages a change implies (see the module docstring for the rules)."""
    status = case.status
    if status is CaseStatus.IRRELEVANT or change is Change.QUIET:
        return Routed((), status, case.digest_pending)
    if status is CaseStatus.RESOLVED and change is Change.ESCALATE:
        status = CaseStatus.OPEN
    held = digest and not case.urgent      # non-urgent cards wait for the daily digest
    chats = list(groups) + [s.chat_id for s in subscriptions
                            if s.chat_id not in groups and wants(s, case, now)]
    out: list[Planned] = []
    for chat in chats:
        new = Planned(OutboxKind.NEW_CARD, chat, f"new:{case.id}:{chat}")
        update = Planned(OutboxKind.UPDATE_CARD, chat, f"upd:{case.id}:{event_id}:{chat}")
        if change is Change.NEW:
            out += [] if held else [new]
        elif change is Change.ESCALATE:
            # A case held for the digest, or new to a filtered subscriber, is posted now
            # (the outbox ignores the NEW_CARD when it was queued before).
            out += ([] if held else [new]) + [update, Planned(
                OutboxKind.ESCALATION, chat, f"esc:{case.id}:{case.stage}:{chat}")]
        else:
            out.append(update)
    # One hit per coordinator and case, however many of their tracks match.
    for owner in dict.fromkeys(t.owner_id for t in track_hits(tracks, case.persons)):
        out.append(Planned(OutboxKind.TRACK_HIT, owner, f"track:{case.id}:{owner}"))
    pending = (case.digest_pending or change is Change.NEW) and held
    return Routed(tuple(out), status, pending)
