"""Bookings (a date proposed for an arrangement, its acceptance): every row of the rule table."""

from __future__ import annotations

import pytest

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import bookings as rules
from protocol.rules.bookings import Arrangement, Proposal

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
IID, OTHER_IID = "a" * 32, "b" * 32
OURS = Arrangement(ME, THEM, "accepted", withdrawn=False, agreed=None)  # we sent the interest
THEIRS = Arrangement(THEM, ME, "accepted", withdrawn=False, agreed=None)  # they did
START, END = "2027-03-04T09:00+01:00", "2027-03-04T12:00+01:00"


@pytest.mark.parametrize(
    ("author", "recipients", "held", "existing", "times", "code"),
    [
        (THEM, (ME,), OURS, None, (START, END), None),
        (THEM, (ME,), THEIRS, None, (START, END), None),  # either school may propose
        (THEM, (ME,), OURS, Proposal(IID, THEM, (1, "c" * 32)), (START, END), None),  # again
        (THEM, (ME, OTHER), OURS, None, (START, END), REFUSED),  # copied to a third school
        (OTHER, (ME,), OURS, None, (START, END), REFUSED),  # not a party to the interest
        (ME, (ME,), OURS, None, (START, END), REFUSED),  # our own key, from elsewhere
        (THEM, (ME,), None, None, (START, END), REFUSED),  # no such interest
        (THEM, (ME,), Arrangement(ME, OTHER, "accepted", False, None), None, (START, END), REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "open", False, None), None, (START, END), REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "declined", False, None), None, (START, END), REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", True, None), None, (START, END), REFUSED),
        (
            THEM,
            (ME,),
            Arrangement(ME, THEM, "accepted", False, (1, "c" * 32)),
            None,
            (START, END),
            REFUSED,
        ),
        (THEM, (ME,), OURS, Proposal(OTHER_IID, THEM, (1, "c" * 32)), (START, END), REFUSED),
        (THEM, (ME,), OURS, Proposal(IID, ME, (1, "c" * 32)), (START, END), REFUSED),  # our id
        (THEM, (ME,), OURS, None, (END, START), OUT_OF_BOUNDS),  # ends before it starts
        (THEM, (ME,), OURS, None, (START, START), OUT_OF_BOUNDS),
        (THEM, (ME,), OURS, None, ("9999-03-04T09:00Z", "9999-03-04T10:00Z"), OUT_OF_BOUNDS),
    ],
)
def test_proposal(
    author: NodeId,
    recipients: tuple[NodeId, ...],
    held: Arrangement | None,
    existing: Proposal | None,
    times: tuple[str, str],
    code: str | None,
) -> None:
    verdict = rules.proposal(author, ME, recipients, IID, held, existing, *times)
    assert (verdict and verdict.code) == code


MINE = Proposal(IID, ME, (5, "c" * 32))


@pytest.mark.parametrize(
    ("author", "recipients", "held", "proposed", "code"),
    [
        (THEM, (ME,), OURS, MINE, None),
        (THEM, (ME,), THEIRS, MINE, None),
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", False, (5, "c" * 32)), MINE, None),  # again
        (
            THEM,
            (ME,),
            Arrangement(ME, THEM, "accepted", False, (4, "d" * 32)),
            MINE,
            None,
        ),  # crossed, ours newer
        (THEM, (ME, OTHER), OURS, MINE, REFUSED),
        (OTHER, (ME,), OURS, MINE, REFUSED),  # not a party
        (THEM, (ME,), OURS, None, REFUSED),  # no such proposal
        (THEM, (ME,), OURS, Proposal(OTHER_IID, ME, (5, "c" * 32)), REFUSED),  # another interest's
        (THEM, (ME,), OURS, Proposal(IID, THEM, (5, "c" * 32)), REFUSED),  # accepting its own
        (THEM, (ME,), Arrangement(ME, THEM, "declined", False, None), MINE, REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", True, None), MINE, REFUSED),  # withdrawn
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", False, (6, "d" * 32)), MINE, REFUSED),
    ],
)
def test_acceptance(
    author: NodeId,
    recipients: tuple[NodeId, ...],
    held: Arrangement | None,
    proposed: Proposal | None,
    code: str | None,
) -> None:
    verdict = rules.acceptance(author, ME, recipients, IID, held, proposed)
    assert (verdict and verdict.code) == code
