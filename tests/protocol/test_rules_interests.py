"""Interest and its answer: every row of the rule table, allowed and refused."""

from __future__ import annotations

import pytest

from protocol import kinds
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import interests as rules
from protocol.rules.interests import EntryView, InterestView

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
OURS = EntryView(ME, kinds.OFFER, withdrawn=False)


@pytest.mark.parametrize(
    ("recipients", "entry", "held", "code"),
    [
        ((ME,), OURS, None, None),
        ((ME,), EntryView(ME, kinds.REQUEST, withdrawn=False), None, None),
        ((ME,), OURS, InterestView(THEM, ME, "open"), None),  # the same interest again
        ((ME, OTHER), OURS, None, REFUSED),  # copied to a third school
        ((ME,), None, None, REFUSED),  # an entry we do not hold
        ((ME,), EntryView(OTHER, kinds.OFFER, withdrawn=False), None, REFUSED),  # not ours
        ((ME,), EntryView(ME, kinds.EVENT, withdrawn=False), None, REFUSED),  # not an offer
        ((ME,), EntryView(ME, kinds.OFFER, withdrawn=True), None, REFUSED),  # withdrawn
        ((ME,), OURS, InterestView(OTHER, ME, "open"), REFUSED),  # another school's id
        ((ME,), OURS, InterestView(ME, OTHER, "open"), REFUSED),  # the id of one we sent
    ],
)
def test_interest(
    recipients: tuple[NodeId, ...],
    entry: EntryView | None,
    held: InterestView | None,
    code: str | None,
) -> None:
    verdict = rules.interest(THEM, ME, recipients, entry, held)
    assert (verdict and verdict.code) == code


SENT = InterestView(ME, THEM, "open")


@pytest.mark.parametrize(
    ("author", "recipients", "held", "answer", "dates", "code"),
    [
        (THEM, (ME,), SENT, "accepted", (None, None), None),
        (THEM, (ME,), SENT, "declined", (None, None), None),
        (THEM, (ME,), SENT, "accepted", ("2027-03-01", "2027-03-05"), None),
        (THEM, (ME,), SENT, "accepted", ("2027-03-01", "2027-03-01"), None),
        (THEM, (ME,), InterestView(ME, THEM, "accepted"), "accepted", (None, None), None),
        (THEM, (ME, OTHER), SENT, "accepted", (None, None), REFUSED),
        (OTHER, (ME,), SENT, "accepted", (None, None), REFUSED),  # not the entry's school
        (THEM, (ME,), None, "accepted", (None, None), REFUSED),  # no such interest
        (THEM, (ME,), InterestView(THEM, ME, "open"), "accepted", (None, None), REFUSED),
        (THEM, (ME,), InterestView(ME, THEM, "declined"), "accepted", (None, None), REFUSED),
        (THEM, (ME,), SENT, "accepted", ("2027-03-05", "2027-03-01"), OUT_OF_BOUNDS),
        (THEM, (ME,), SENT, "accepted", (None, "9999-12-31"), OUT_OF_BOUNDS),
        (THEM, (ME,), SENT, "accepted", ("0001-01-01", None), OUT_OF_BOUNDS),
    ],
)
def test_answer(
    author: NodeId,
    recipients: tuple[NodeId, ...],
    held: InterestView | None,
    answer: str,
    dates: tuple[str | None, str | None],
    code: str | None,
) -> None:
    verdict = rules.answer(author, ME, recipients, held, answer, *dates)
    assert (verdict and verdict.code) == code
