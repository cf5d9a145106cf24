"""Who may do what to a case (pure): the rules behind the card's buttons and /assign.

- *Take*: any volunteer, when the case is open and nobody has taken it;
- *Release*: whoever took it, or a coordinator;
- *Resolved* / *Not relevant*: whoever took it, anyone while nobody has, or a coordinator;
- *Reopen*: a coordinator;
- ``/assign``: a coordinator, on an open case (it replaces any claim).

``decide_work`` returns the new state for ``Store.set_case_work`` or the key of the
refusal to show; it never touches Telegram or the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.roles import Role
from feeds.models import CaseStatus, CaseView


@dataclass(frozen=True, slots=True)
class Work:
    """A permitted change: the new claim and status, the timeline word, the answer."""

    claimed_by: tuple[int | None, str | None]
    status: CaseStatus
    change: str
    answer: str


@dataclass(frozen=True, slots=True)
class Refusal:
    key: str       # bot.i18n text key; formatted with id and name


def decide_work(action: str, case: CaseView, *, actor_id: int, actor_name: str, role: Role,
                assignee: tuple[int, str] | None = None) -> Work | Refusal:
    claimer = case.claimed_by_id
    mine = claimer == actor_id
    coordinator = role >= Role.COORDINATOR
    current = (claimer, case.claimed_by)
    if action == "reopen":
        if not coordinator:
            return Refusal("not_open")
        if case.status is CaseStatus.OPEN:
            return Refusal("race")
        return Work(current, CaseStatus.OPEN, "reopen", "reopened")
    if case.status is not CaseStatus.OPEN:
        return Refusal("not_open")
    if action == "assign":
        if not coordinator or assignee is None:
            return Refusal("not_yours")
        return Work(assignee, CaseStatus.OPEN, "assign", "assigned_ok")
    if action == "take":
        if claimer is not None:
            return Refusal("already_taken")
        return Work((actor_id, actor_name), CaseStatus.OPEN, "claim", "took")
    if action == "release":
        if claimer is None:
            return Refusal("not_claimed_yet")
        if not (mine or coordinator):
            return Refusal("not_yours")
        return Work((None, None), CaseStatus.OPEN, "release", "released")
    if action in ("resolve", "irrelevant"):
        if claimer is not None and not (mine or coordinator):
            return Refusal("not_yours")
        status = CaseStatus.RESOLVED if action == "resolve" else CaseStatus.IRRELEVANT
        return Work(current, status, action, "resolved" if action == "resolve"
                    else "irrelevant")
    return Refusal("bad_button")
