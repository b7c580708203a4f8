"""The rules of public entries (protocol/rules/entries.py), allowed and refused."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import kinds
from protocol.rules import OUT_OF_BOUNDS, REFUSED, entries
from protocol.rules.entries import Held

OURS = b"\x01" * 32
THEIRS = b"\x02" * 32


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        (None, True),  # not held yet: remembered, applied only to the same author's
        *[
            (Held(OURS, kind), True)
            for kind in (*kinds.SCHEMAS, "endorsement")
            if kind != kinds.CONTINUE
        ],
        (Held(OURS, kinds.CONTINUE), False),  # the fork it settled stays settled
        *[(Held(THEIRS, kind), False) for kind in (*kinds.SCHEMAS, "endorsement")],
    ],
)
def test_a_school_withdraws_only_its_own_entries(target: Held | None, allowed: bool) -> None:
    verdict = entries.withdrawal(OURS, target)
    assert (verdict is None) is allowed
    if verdict is not None:
        assert verdict.code == REFUSED


@pytest.mark.parametrize(
    ("replaced", "allowed"),
    [
        (Held(OURS, kinds.EVENT), True),
        (None, False),  # not held: the event stands alone (until it is)
        (Held(THEIRS, kinds.EVENT), False),
        *[(Held(OURS, kind), False) for kind in kinds.SCHEMAS if kind != kinds.EVENT],
        *[(Held(THEIRS, kind), False) for kind in kinds.SCHEMAS if kind != kinds.EVENT],
    ],
)
def test_an_event_is_a_new_version_only_of_its_authors_own_event(
    replaced: Held | None, allowed: bool
) -> None:
    verdict = entries.revision(OURS, replaced)
    assert (verdict is None) is allowed
    if verdict is not None:
        assert verdict.code == REFUSED


def _event(start: str, end: str) -> dict[str, Any]:
    return {"title": "TeachMeet", "start": start, "end": end}


@pytest.mark.parametrize(
    ("kind", "content", "allowed"),
    [
        (kinds.EVENT, _event("2027-03-04T16:00+01:00", "2027-03-04T18:00+01:00"), True),
        (kinds.EVENT, _event("1970-01-02T00:00-23:59", "1970-01-02T00:00Z"), True),
        (kinds.EVENT, _event("9998-12-31T00:00Z", "9998-12-31T23:59-23:59"), True),
        (kinds.EVENT, _event("9998-12-31T00:00Z", "9999-01-01T00:00+23:59"), False),
        (kinds.EVENT, _event("9999-12-30T00:00Z", "9999-12-30T23:59+23:59"), False),
        (kinds.EVENT, _event("1970-01-01T23:59Z", "2027-01-01T00:00Z"), False),
        (kinds.EVENT, _event("0001-01-01T00:00+05:00", "0001-01-01T01:00+05:00"), False),
        (kinds.EVENT, _event("2027-01-01T00:00Z", "9999-12-31T00:00Z"), False),
        (kinds.EVENT, _event("9999-12-31T23:00-05:00", "9999-12-31T23:30-05:00"), False),
        (kinds.EVENT, None, True),  # erased: nothing to show
        (kinds.EVENT, {"title": "no times"}, True),  # the schema says what is wrong
        (kinds.OFFER, {"activity": "visit", "title": "x", "from": "0001-01-01"}, True),
        ("endorsement", {"start": "0001-01-01T00:00Z"}, True),  # unknown kinds: unchecked
    ],
)
def test_event_times_are_within_the_days_pages_and_calendars_can_show(
    kind: str, content: dict[str, Any] | None, allowed: bool
) -> None:
    verdict = entries.bounds(kind, content)
    assert (verdict is None) is allowed
    if verdict is not None:
        assert verdict.code == OUT_OF_BOUNDS


def test_a_continuation_is_never_erased_by_a_withdrawal_remembered_before_it() -> None:
    assert entries.erasable(kinds.OFFER)
    assert not entries.erasable(kinds.CONTINUE)
