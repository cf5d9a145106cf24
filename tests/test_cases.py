"""Unit tests for feeds.cases.decide: which case an item joins and what the card must do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feeds.cases import CaseState, Change, decide, same_person
from feeds.models import URGENT_STAGES, Analysis, CaseKind, Person, Stage

NOW = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


def item(stage: Stage | None = Stage.DETAINED, *, given: str = "m", key: str = "jilin",
         display: str = "Mikhail Zhilin", countries: tuple[str, ...] = ("KZ",),
         kind: CaseKind | None = CaseKind.EXTRADITION, relevant: bool = True) -> Analysis:
    """An understood item about one person."""
    return Analysis(relevant=relevant, lang="en", kind=kind, stage=stage,
                    urgent=stage in URGENT_STAGES, persons=(Person(display, key, given),),
                    countries=countries)


def case(stage: Stage | None = Stage.DETAINED, *, given: str = "m", key: str = "jilin",
         persons: tuple[str, ...] = ("Mikhail Zhilin",), countries: tuple[str, ...] = ("KZ",),
         kind: CaseKind | None = CaseKind.EXTRADITION, urgent: bool | None = None,
         case_id: int = 7) -> CaseState:
    """A stored open case."""
    return CaseState(id=case_id, person_key=key, person_given=given, kind=kind, stage=stage,
                     urgent=stage in URGENT_STAGES if urgent is None else urgent,
                     persons=persons, countries=countries)


def test_new_case_when_no_candidate() -> None:
    """An item with no open case for its person opens a new case carrying the item's state."""
    d = decide(item(), [], NOW)
    assert d is not None
    assert (d.change, d.case_id, d.person_key, d.person_given) == (Change.NEW, None, "jilin", "m")
    assert (d.kind, d.stage, d.urgent) == (CaseKind.EXTRADITION, Stage.DETAINED, True)
    assert (d.persons, d.countries, d.at) == (("Mikhail Zhilin",), ("KZ",), NOW)


@pytest.mark.parametrize(
    ("item_given", "case_given", "attached", "result_given"),
    [
        ("m", "m", True, "m"),
        ("", "m", True, "m"),
        ("m", "", True, "m"),
        ("", "", True, ""),
        ("e", "m", False, "e"),
    ],
    ids=["same-initial", "item-initial-unknown", "case-initial-unknown", "both-unknown",
         "different-initials"],
)
def test_attach_by_key_and_initial(item_given: str, case_given: str, attached: bool,
                                   result_given: str) -> None:
    """Same key with same/unknown initial joins the case; conflicting initials open a new one."""
    d = decide(item(given=item_given), [case(given=case_given)], NOW)
    assert d is not None
    assert d.case_id == (7 if attached else None)
    assert d.change is (Change.QUIET if attached else Change.NEW)
    assert d.person_given == result_given


def test_picks_the_compatible_candidate() -> None:
    """Of several same-key cases the one with a compatible initial is chosen."""
    cases = [case(given="e", case_id=1), case(given="m", case_id=2)]
    d = decide(item(given="m"), cases, NOW)
    assert d is not None and d.case_id == 2


def test_different_key_is_not_the_same_person() -> None:
    """same_person needs equal surname keys even when the initials agree."""
    assert not same_person(Person("Ivan Petrov", "petrov", "m"), case())


@pytest.mark.parametrize(
    ("old", "new", "change", "stage", "urgent"),
    [
        (Stage.DETAINED, Stage.REMOVED, Change.ESCALATE, Stage.REMOVED, True),
        (Stage.DETAINED, Stage.COURT_ORDER, Change.ESCALATE, Stage.COURT_ORDER, True),
        (None, Stage.DETAINED, Change.ESCALATE, Stage.DETAINED, True),
        (Stage.RELEASED, Stage.REMOVED, Change.ESCALATE, Stage.REMOVED, True),
        (Stage.REMOVED, Stage.RELEASED, Change.UPDATE, Stage.RELEASED, False),
        (Stage.COURT_ORDER, Stage.REFUSED, Change.UPDATE, Stage.REFUSED, False),
        (Stage.DETAINED, Stage.INTERIM_MEASURES, Change.UPDATE, Stage.INTERIM_MEASURES, False),
        (None, Stage.RELEASED, Change.UPDATE, Stage.RELEASED, False),
        (Stage.REMOVED, Stage.DETAINED, Change.QUIET, Stage.REMOVED, True),
        (Stage.DETAINED, Stage.DETAINED, Change.QUIET, Stage.DETAINED, True),
        (Stage.DETAINED, None, Change.QUIET, Stage.DETAINED, True),
        (Stage.RELEASED, Stage.REFUSED, Change.UPDATE, Stage.REFUSED, False),
    ],
    ids=["detained-to-removed", "detained-to-court-order", "unknown-to-detained",
         "released-then-removed", "removed-then-released", "order-then-refused",
         "detained-then-interim", "unknown-then-released", "lower-stage-ignored",
         "same-stage", "no-stage", "ending-after-ending"],
)
def test_stage_merge(old: Stage | None, new: Stage | None, change: Change, stage: Stage,
                     urgent: bool) -> None:
    """Escalation needs a further stage; an ending stage overrides silently and clears urgency."""
    d = decide(item(new), [case(old)], NOW)
    assert d is not None
    assert (d.change, d.stage, d.urgent) == (change, stage, urgent)


def test_interim_measures_after_release_is_not_an_escalation() -> None:
    """Interim measures reported after a release update the card without an escalation reply."""
    d = decide(item(Stage.INTERIM_MEASURES), [case(Stage.RELEASED)], NOW)
    assert d is not None
    assert (d.change, d.stage, d.urgent) == (Change.UPDATE, Stage.INTERIM_MEASURES, False)


@pytest.mark.parametrize(
    ("analysis", "case_kind", "persons", "countries", "kind"),
    [
        (item(countries=("KZ", "RU")), CaseKind.EXTRADITION, ("Mikhail Zhilin",),
         ("KZ", "RU"), CaseKind.EXTRADITION),
        (item(display="Михаила Жилина"), CaseKind.EXTRADITION,
         ("Mikhail Zhilin", "Михаила Жилина"), ("KZ",), CaseKind.EXTRADITION),
        (item(), CaseKind.ASYLUM, ("Mikhail Zhilin",), ("KZ",), CaseKind.EXTRADITION),
        (item(), None, ("Mikhail Zhilin",), ("KZ",), CaseKind.EXTRADITION),
    ],
    ids=["new-country", "new-spelling", "asylum-kind-sharpened", "unknown-kind-filled"],
)
def test_update_when_the_card_changes(analysis: Analysis, case_kind: CaseKind | None,
                                      persons: tuple[str, ...], countries: tuple[str, ...],
                                      kind: CaseKind) -> None:
    """A new country, spelling or a sharper kind edits the card silently (UPDATE)."""
    d = decide(analysis, [case(kind=case_kind)], NOW)
    assert d is not None
    assert (d.change, d.case_id) == (Change.UPDATE, 7)
    assert (d.persons, d.countries, d.kind) == (persons, countries, kind)


@pytest.mark.parametrize(
    "analysis",
    [item(), item(given=""), item(countries=()), item(stage=None), item(kind=CaseKind.ASYLUM)],
    ids=["identical", "no-initial", "no-countries", "no-stage", "weaker-kind"],
)
def test_quiet_when_nothing_new(analysis: Analysis) -> None:
    """Another source for what the case already shows is attached quietly."""
    d = decide(analysis, [case()], NOW)
    assert d is not None
    assert (d.change, d.case_id, d.stage, d.kind) == (Change.QUIET, 7, Stage.DETAINED,
                                                     CaseKind.EXTRADITION)


@pytest.mark.parametrize(
    "analysis",
    [item(relevant=False), Analysis(relevant=True, lang="en", stage=Stage.DETAINED),
     Analysis(relevant=False, lang="ru")],
    ids=["irrelevant", "relevant-without-person", "empty"],
)
def test_irrelevant_gives_none(analysis: Analysis) -> None:
    """An irrelevant item, or one without a person, is placed in no case."""
    assert decide(analysis, [case()], NOW) is None
