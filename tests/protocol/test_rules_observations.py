"""Shared observations and their withdrawal: the rule table, row by row."""

from __future__ import annotations

import pytest

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import observations as rules
from protocol.rules.observations import HeldObservation

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
DAY = "2027-01-20"


@pytest.mark.parametrize(
    ("recipients", "held", "partner", "follow_up", "code"),
    [
        ((ME,), None, True, "2027-02-20", None),
        ((ME,), None, True, DAY, None),
        ((ME,), HeldObservation(THEM), True, "2027-02-20", None),  # the same again
        ((ME, OTHER), None, True, "2027-02-20", REFUSED),
        ((ME,), None, False, "2027-02-20", REFUSED),  # not our partner
        ((ME,), HeldObservation(None), True, "2027-02-20", REFUSED),  # our own record's id
        ((ME,), HeldObservation(OTHER), True, "2027-02-20", REFUSED),  # another school's
        ((ME,), None, True, "2027-01-19", OUT_OF_BOUNDS),
        ((ME,), None, True, "9999-12-31", OUT_OF_BOUNDS),
    ],
)
def test_observation(
    recipients: tuple[NodeId, ...],
    held: HeldObservation | None,
    partner: bool,
    follow_up: str,
    code: str | None,
) -> None:
    verdict = rules.observation(
        THEM, ME, recipients, held, partner=partner, day=DAY, follow_up=follow_up
    )
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("recipients", "held", "code"),
    [
        ((ME,), HeldObservation(THEM), None),
        ((ME,), None, None),  # nothing held: nothing to delete
        ((ME, OTHER), HeldObservation(THEM), REFUSED),
        ((ME,), HeldObservation(None), REFUSED),  # our own record
        ((ME,), HeldObservation(OTHER), REFUSED),  # another school's copy
    ],
)
def test_unshare(
    recipients: tuple[NodeId, ...], held: HeldObservation | None, code: str | None
) -> None:
    verdict = rules.unshare(THEM, ME, recipients, held)
    assert (verdict and verdict.code) == code
