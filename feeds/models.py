"""Domain types shared by every package: frozen dataclasses and enums, no I/O.

Owns the vocabulary of the product: a source (``FeedSpec``), an entry read from it
(``Entry``), what the matcher understood (``Analysis``, ``Person``), a stored item and
case as the rest of the program sees them (``ItemView``, ``CaseView``), and the
messages waiting in the outbox (``OutboxMessage``).

Must not import httpx, telegram or sqlmodel, and must not read the clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class FeedKind(enum.StrEnum):
    """How a source is read."""

    RSS = "rss"            # RSS 0.9x/1.0/2.0, RDF, Atom, JSON Feed
    PAGE = "page"          # an HTML page whose table rows are records (court registries)
    TELEGRAM = "telegram"  # a public Telegram channel read through t.me/s/NAME


class CaseKind(enum.StrEnum):
    """What kind of removal threatens the person."""

    DEPORTATION = "deportation"
    EXTRADITION = "extradition"
    EXPULSION = "expulsion"
    ASYLUM = "asylum"


class Stage(enum.StrEnum):
    """Where a case stands; the order of ``STAGE_RANK`` is the order of escalation."""

    DETAINED = "detained"
    ASYLUM_REFUSED = "asylum_refused"
    COURT_ORDER = "court_order"
    APPEAL_REJECTED = "appeal_rejected"
    IMMINENT = "imminent"
    REMOVED = "removed"
    RELEASED = "released"
    REFUSED = "refused"
    INTERIM_MEASURES = "interim_measures"


#: Stages in which action is plausibly needed within days.
URGENT_STAGES = frozenset({
    Stage.DETAINED, Stage.ASYLUM_REFUSED, Stage.COURT_ORDER, Stage.APPEAL_REJECTED,
    Stage.IMMINENT, Stage.REMOVED,
})

#: How far along the road to removal a stage is; a higher rank escalates a case.
#: Outcomes that end the danger (released, refused, interim measures) rank low so
#: that a later report of removal still escalates.
STAGE_RANK: dict[Stage | None, int] = {
    None: 0,
    Stage.RELEASED: 1,
    Stage.REFUSED: 1,
    Stage.INTERIM_MEASURES: 2,
    Stage.DETAINED: 3,
    Stage.ASYLUM_REFUSED: 4,
    Stage.COURT_ORDER: 5,
    Stage.APPEAL_REJECTED: 6,
    Stage.IMMINENT: 7,
    Stage.REMOVED: 8,
}


class OutboxKind(enum.StrEnum):
    """What a pending message does when delivered."""

    NEW_CARD = "new_card"        # post the case card
    UPDATE_CARD = "update_card"  # edit the posted card in place
    ESCALATION = "escalation"    # a short reply to the card: the stage went up
    ADMIN_NOTICE = "admin_notice"  # a plain message to an admin (a feed was paused)
    TRACK_HIT = "track_hit"      # to a coordinator in private: a tracked name has a case
    REANNOUNCE = "reannounce"    # a reply to an urgent card nobody took in time
    COORDINATOR_ALERT = "coordinator_alert"  # to coordinators in private: nobody took it
    ASSIGNED = "assigned"        # to a volunteer in private: a coordinator assigned a case
    DIGEST = "digest"            # the daily list of non-urgent cases (body: case ids)


class CaseStatus(enum.StrEnum):
    """Where the volunteers' work on a case stands (claiming is separate)."""

    OPEN = "open"
    RESOLVED = "resolved"
    IRRELEVANT = "irrelevant"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A volunteer's private chat that receives cards, with its optional filters: only
    these destination/origin countries, only these kinds, only urgent cases."""

    chat_id: int
    countries: frozenset[str] = frozenset()
    kinds: frozenset[CaseKind] = frozenset()
    urgent_only: bool = False
    muted_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A source as the fetcher and parser need it."""

    id: int | None
    url: str
    kind: FeedKind = FeedKind.RSS
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    selector: str | None = None       # pages: the CSS selector of one record


@dataclass(frozen=True, slots=True)
class Entry:
    """One record read from a source, before any understanding."""

    url: str
    title: str
    text: str
    source: str                     # outlet or page title, for the card
    published: datetime | None      # UTC; None when the source gave no date
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """A person at risk as named in one item.

    ``key`` is the canonical surname key shared across scripts and inflections
    (``Жилина`` and ``Zhilin`` both give ``jilin``); ``given`` is the folded first
    initial when the text gives one, used to keep namesakes apart.
    """

    display: str
    key: str
    given: str = ""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the matcher understood of one item."""

    relevant: bool
    lang: str
    kind: CaseKind | None = None
    stage: Stage | None = None
    urgent: bool = False
    persons: tuple[Person, ...] = ()
    countries: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    reason: str = ""
    court: str | None = None
    dates: tuple[str, ...] = ()   # ISO dates mentioned ("2022-12-28", or "--12-28" without a year)


@dataclass(frozen=True, slots=True)
class Track:
    """A coordinator's standing query for a person."""

    id: int
    query: str
    owner_id: int


@dataclass(frozen=True, slots=True)
class CaseView:
    """A stored case with what a card needs to show it."""

    id: int
    kind: CaseKind | None
    stage: Stage | None
    urgent: bool
    person_key: str
    persons: tuple[str, ...]
    countries: tuple[str, ...]
    first_seen: datetime
    updated: datetime
    items: tuple[ItemView, ...] = ()
    tracks: tuple[str, ...] = ()
    claimed_by: str | None = None
    court: str | None = None
    status: CaseStatus = CaseStatus.OPEN
    stage_at: datetime | None = None
    claimed_by_id: int | None = None
    events: tuple[CaseEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One line of a case's timeline: a report that joined it, or a person's action."""

    at: datetime
    change: str                  # feeds.cases.Change value, or claim/release/resolve/…
    stage: Stage | None = None
    user: str | None = None      # who acted (a name), for people's actions


@dataclass(frozen=True, slots=True)
class ItemView:
    """A stored item as cards and reports show it."""

    id: int
    url: str
    title: str
    source: str
    lang: str
    published: datetime | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message waiting to be delivered, leased to one delivery attempt."""

    id: int
    kind: OutboxKind
    case_id: int | None
    chat_id: int
    attempts: int = 0
    body: str | None = None


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A stored source with its health, as ``/feeds`` and ``feeds list`` show it."""

    id: int
    url: str
    kind: FeedKind
    title: str
    interval_seconds: int
    paused: bool
    next_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    etag: str | None = None
    last_modified: str | None = None
    items_seen: int = 0
    paused_reason: str | None = None
    selector: str | None = None

    def spec(self) -> FeedSpec:
        return FeedSpec(id=self.id, url=self.url, kind=self.kind, title=self.title,
                        etag=self.etag, last_modified=self.last_modified,
                        selector=self.selector)


@dataclass(frozen=True, slots=True)
class StoredItem:
    """Everything stored about one item, for reports (``scan --json``) and tracks."""

    id: int
    url: str
    source: str
    title: str
    text: str
    lang: str
    published: datetime | None
    first_seen: datetime
    relevant: bool
    kind: CaseKind | None
    stage: Stage | None
    urgent: bool
    persons: tuple[str, ...]
    case_id: int | None
    duplicate_of: str | None


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What recording one entry did."""

    item_id: int
    new: bool                       # False: the URL was already stored
    duplicate_of: str | None        # URL of the kept copy when this is a re-publication
    case_id: int | None
    change: str | None              # feeds.cases.Change value, None when no case changed
    queued: int = 0                 # outbox messages queued


@dataclass(frozen=True, slots=True)
class StatusSummary:
    """What ``/status`` reports: the outbox, the sources, the cases, the chats."""

    outbox: dict[str, int]
    failed_last_day: int
    feeds: int
    feeds_paused: int
    feeds_failing: int
    last_poll_at: datetime | None
    open_cases: int
    urgent_unclaimed: int
    inactive_chats: tuple[tuple[int, str], ...]
    last_failure: str | None = None
