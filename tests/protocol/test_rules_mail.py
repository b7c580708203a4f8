"""The rules every letter meets first: blocked schools, and the letter's time."""

from __future__ import annotations

import pytest

from protocol.keys import NodeId
from protocol.rules import BLOCKED, OUT_OF_BOUNDS, REFUSED
from protocol.rules import mail as rules

ME, PARTNER, ROGUE = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
NOW = 1_800_000_000_000
SKEW = rules.MAX_CLOCK_SKEW_MS


@pytest.mark.parametrize(
    ("author", "blocked", "code"),
    [
        (PARTNER, set(), None),
        (PARTNER, {ROGUE}, None),
        (ROGUE, {ROGUE}, BLOCKED),
        (ROGUE, {PARTNER, ROGUE}, BLOCKED),
    ],
)
def test_a_blocked_schools_letter_is_refused(
    author: NodeId, blocked: set[NodeId], code: str | None
) -> None:
    verdict = rules.letter(author, blocked)
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("sender", "blocked", "held"),
    [(PARTNER, set(), True), (PARTNER, {ROGUE}, True), (ROGUE, {ROGUE}, False)],
)
def test_a_blocked_schools_envelopes_are_not_held_for_others(
    sender: NodeId, blocked: set[NodeId], held: bool
) -> None:
    assert rules.hold_for_others(sender, blocked) is held


@pytest.mark.parametrize(
    ("recipient", "blocked", "sealed"),
    [(PARTNER, set(), True), (PARTNER, {ROGUE}, True), (ROGUE, {ROGUE}, False)],
)
def test_nothing_of_ours_is_sealed_for_a_blocked_school(
    recipient: NodeId, blocked: set[NodeId], sealed: bool
) -> None:
    assert rules.seal_for(recipient, blocked) is sealed


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (0, None),
        (NOW - 10**12, None),  # old is fine: letters wait at relays
        (NOW, None),
        (NOW + SKEW, None),  # exactly five minutes ahead is accepted
        (NOW + SKEW + 1, OUT_OF_BOUNDS),
        (2**53 - 1, OUT_OF_BOUNDS),
    ],
)
def test_a_time_may_be_five_minutes_ahead_at_most(at: int, code: str | None) -> None:
    verdict = rules.timestamp(at, NOW)
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("recipients", "code"),
    [((ME,), None), ((ME, PARTNER), REFUSED), ((PARTNER,), REFUSED), ((), REFUSED)],
)
def test_letters_between_two_schools_name_us_alone(
    recipients: tuple[NodeId, ...], code: str | None
) -> None:
    verdict = rules.to_us_alone("interest", recipients, ME)
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("value", "inside"),
    [
        ("1970-01-01", True),
        ("2027-03-04T16:00+00:00", True),
        ("2999-12-31T23:59+14:00", True),
        ("1969-12-31", False),
        ("0001-01-01T00:00-12:00", False),
        ("3000-01-01", False),
        ("9999-12-31T23:59+00:00", False),
    ],
)
def test_dates_fall_in_the_allowed_years(value: str, inside: bool) -> None:
    assert rules.in_years(value) is inside
