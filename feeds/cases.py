"""The case decider (pure): which case an understood item belongs to, and what changes.

A case is one person at risk. An item joins the open case of any person it names
whose name key matches (equal, or one letter apart for long keys) with a compatible
given initial (two different known initials keep namesakes apart); otherwise it
opens a new case about its best-ranked person. The decision says what the card must do:

- ``NEW``: a new case, its card must be posted;
- ``ESCALATE``: the stage moved further along the road to removal (card edited and a
  reply posted so the group is notified);
- ``UPDATE``: something the card shows changed (stage, person spelling, country,
  or a later report that the danger ended): the card is edited silently;
- ``QUIET``: only another source for what is known (the item is attached, no
  message; the card shows it at its next edit).

Must not read the clock (``now`` is a parameter) or touch storage.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.models import STAGE_RANK, URGENT_STAGES, Analysis, CaseKind, Person, Stage
from feeds.names import keys_match

#: Stages that report the end of the danger; a later item with one of them
#: overrides a higher stage instead of being ignored.
ENDING_STAGES = frozenset({Stage.RELEASED, Stage.REFUSED, Stage.INTERIM_MEASURES})


class Change(enum.StrEnum):
    """What a decision does to the case's card."""

    NEW = "new"
    ESCALATE = "escalate"
    UPDATE = "update"
    QUIET = "quiet"


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFields:
    """What a case says about its person: the fields decisions read and write."""

    person_key: str
    person_given: str
    kind: CaseKind | None
    stage: Stage | None
    urgent: bool
    persons: tuple[str, ...]
    countries: tuple[str, ...]
    court: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseState(CaseFields):
    """A stored case, as decisions see it."""

    id: int
    status: str = "open"


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseDecision(CaseFields):
    """The outcome of ``decide``: the case's new fields and what changed."""

    change: Change
    case_id: int | None          # None for a new case
    at: datetime


def primary_person(analysis: Analysis) -> Person | None:
    """The person a case is about: the first named in the item."""
    return analysis.persons[0] if analysis.persons else None


def same_person(person: Person, case: CaseState) -> bool:
    """The same surname key and no conflicting known initials — or a key one letter away
    (``keys_match``) with the same known initial."""
    if person.key != case.person_key:
        return (keys_match(person.key, case.person_key) and bool(person.given)
                and person.given == case.person_given)
    return not (person.given and case.person_given and person.given != case.person_given)


def decide(
    analysis: Analysis, candidates: Sequence[CaseState], now: datetime
) -> CaseDecision | None:
    """Place a relevant item into a case. Returns None for an irrelevant item.

    ``candidates`` are the open cases whose person key equals one of the item's keys
    (the storage query narrows them; this function makes the decision).
    """
    person = primary_person(analysis)
    if not analysis.relevant or person is None:
        return None
    # The item joins the case of any person it names (best-ranked first); a new case
    # is about its best-ranked person.
    case = None
    for candidate in analysis.persons:
        case = next((c for c in candidates if same_person(candidate, c)), None)
        if case is not None:
            person = candidate
            break
    names = tuple(p.display for p in analysis.persons if p.key == person.key)
    if case is None:
        return CaseDecision(
            change=Change.NEW, case_id=None, person_key=person.key, person_given=person.given,
            kind=analysis.kind, stage=analysis.stage, urgent=analysis.urgent,
            persons=names, countries=analysis.countries, court=analysis.court, at=now)
    stage, escalated = _merge_stage(case.stage, analysis.stage)
    persons = case.persons + tuple(n for n in names if n not in case.persons)
    countries = case.countries + tuple(c for c in analysis.countries if c not in case.countries)
    kind = case.kind if case.kind not in (None, CaseKind.ASYLUM) else analysis.kind or case.kind
    urgent = stage in URGENT_STAGES if stage is not None else case.urgent
    court = analysis.court if escalated and analysis.court else case.court or analysis.court
    if escalated:
        change = Change.ESCALATE
    elif (stage, persons, countries, kind, urgent, court) != (
            case.stage, case.persons, case.countries, case.kind, case.urgent, case.court):
        change = Change.UPDATE
    else:
        change = Change.QUIET
    return CaseDecision(
        change=change, case_id=case.id, person_key=case.person_key,
        person_given=case.person_given or person.given, kind=kind, stage=stage, urgent=urgent,
        persons=persons, countries=countries, court=court, at=now)


def _merge_stage(old: Stage | None, new: Stage | None) -> tuple[Stage | None, bool]:
    """The case's stage after a new report, and whether that is an escalation."""
    if new is None:
        return old, False
    if new in ENDING_STAGES:
        return new, False      # a later report that the danger ended replaces the stage
    if STAGE_RANK[new] > STAGE_RANK[old]:
        return new, old is not None or new in URGENT_STAGES
    return old, False
