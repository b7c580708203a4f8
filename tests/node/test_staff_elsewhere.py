"""node/observations/elsewhere.py: which other schools' offers a colleague's
development areas meet (pure; the offers are another school's, so anything goes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from node.observations.elsewhere import offers_for, reasons
from node.observations.pairs import Profile
from node.offers.matching import Posting

TODAY = date(2027, 1, 15)
ME, THEM = "a" * 64, "b" * 64
ANN = Profile("Ann Baker", frozenset(), frozenset({"questioning"}), frozenset({"maths"}), "primary")
OFFER = Posting(
    id="o1",
    side="offer",
    activity="observation",
    title="Questioning",
    school_id=THEM,
    school="Ashfield Primary",
    country="GB",
    posted=1,
    focus=frozenset({"questioning"}),
    phases=frozenset({"primary"}),
)


def found(*postings: Posting, person: Profile = ANN, limit: int = 5) -> list[str]:
    (only,) = offers_for([person], postings, school_id=ME, country="GB", today=TODAY, limit=limit)
    return [o.offer.id for o in only[1]]


@pytest.mark.parametrize(
    ("case", "posting", "suggested"),
    [
        ("another school's offer on the area", OFFER, True),
        ("our own school's offer", replace(OFFER, school_id=ME), False),
        ("a request, not an offer", replace(OFFER, side="request"), False),
        ("closed yesterday", replace(OFFER, closes=date(2027, 1, 14)), False),
        ("its last date has passed", replace(OFFER, end=date(2027, 1, 1)), False),
        ("closes today", replace(OFFER, closes=TODAY), True),
        ("another focus only", replace(OFFER, focus=frozenset({"phonics"})), False),
        ("no focus, same phase", replace(OFFER, focus=frozenset()), False),
        (
            "no focus, same subject and phase: the scorer alone would suggest it",
            replace(OFFER, focus=frozenset(), subjects=frozenset({"maths"})),
            False,
        ),
        ("the area among others", replace(OFFER, focus=frozenset({"oracy", "questioning"})), True),
        (
            "far away, in person: a lower score, still suggested",
            replace(OFFER, country="JP", mode="in-person"),
            True,
        ),
    ],
)
def test_which_offers_are_suggested(case: str, posting: Posting, suggested: bool) -> None:
    assert found(posting) == (["o1"] if suggested else []), case


def test_a_colleague_without_development_areas_gets_nothing() -> None:
    strong = Profile("Ben Carter", frozenset({"questioning"}), frozenset())
    result = offers_for([strong, ANN], [OFFER], school_id=ME, country="GB", today=TODAY, limit=5)
    assert [person.name for person, _ in result] == ["Ann Baker"]


def test_best_first_within_the_limit_and_reasons_lead_with_the_colleague() -> None:
    both = replace(OFFER, id="o2", focus=frozenset({"questioning", "oracy"}), posted=2)
    far = replace(OFFER, id="o3", country="JP", posted=3)
    person = replace(ANN, develops=frozenset({"questioning", "oracy"}))
    assert found(far, OFFER, both, person=person, limit=2) == ["o2", "o1"]
    (only,) = offers_for([person], [both], school_id=ME, country="GB", today=TODAY, limit=5)
    (offer,) = only[1]
    assert offer.develops == ("oracy", "questioning")
    assert reasons(person, offer) == [
        "Ashfield Primary offers peer observation with a focus on oracy and questioning, "
        "which Ann Baker is developing",
        "both primary",
        "both in the United Kingdom",
    ]
