"""Partnership requests and their answers: every row of the rule table."""

from __future__ import annotations

import pytest

from protocol.keys import NodeId
from protocol.rules import REFUSED
from protocol.rules import partnership as rules
from protocol.rules.partnership import DAY_MS, RequestView

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("author", "recipients", "held", "last", "partner", "code"),
    [
        (THEM, (ME,), None, None, None, None),
        (THEM, (ME,), None, NOW - 31 * DAY_MS, None, None),  # asked again after a month
        (THEM, (ME,), RequestView(THEM, "received", "open", NOW), NOW, None, None),  # same
        (THEM, (ME, OTHER), None, None, None, REFUSED),  # copied to a third school
        (ME, (ME,), None, None, None, REFUSED),  # from ourselves
        (THEM, (ME,), RequestView(OTHER, "received", "open", NOW), None, None, REFUSED),
        (THEM, (ME,), RequestView(THEM, "sent", "open", NOW), None, None, REFUSED),  # ours
        (THEM, (ME,), None, NOW - 29 * DAY_MS, None, REFUSED),  # twice within a month
        (THEM, (ME,), None, NOW - DAY_MS, "partner", REFUSED),  # already a partner
        (THEM, (ME,), None, None, "blocked", REFUSED),  # a school we blocked
    ],
)
def test_request(
    author: NodeId,
    recipients: tuple[NodeId, ...],
    held: RequestView | None,
    last: int | None,
    partner: str | None,
    code: str | None,
) -> None:
    verdict = rules.request(author, ME, recipients, held, last, partner, NOW)
    assert (verdict and verdict.code) == code


SENT = RequestView(THEM, "sent", "open", NOW - DAY_MS)


@pytest.mark.parametrize(
    ("author", "recipients", "held", "code"),
    [
        (THEM, (ME,), SENT, None),
        (THEM, (ME, OTHER), SENT, REFUSED),  # copied to a third school
        (THEM, (ME,), None, REFUSED),  # a request we never sent
        (OTHER, (ME,), SENT, REFUSED),  # from a school we did not ask
        (THEM, (ME,), RequestView(THEM, "received", "open", NOW), REFUSED),  # one it sent us
        (THEM, (ME,), RequestView(THEM, "sent", "accepted", NOW), REFUSED),  # replayed
        (THEM, (ME,), RequestView(THEM, "sent", "declined", NOW), REFUSED),  # after declining
        (THEM, (ME,), RequestView(THEM, "sent", "open", NOW - 31 * DAY_MS), REFUSED),  # expired
    ],
)
def test_answer(
    author: NodeId, recipients: tuple[NodeId, ...], held: RequestView | None, code: str | None
) -> None:
    verdict = rules.answer(author, ME, recipients, held, NOW)
    assert (verdict and verdict.code) == code


def test_expired_only_when_open_and_older_than_thirty_days() -> None:
    assert not rules.expired(RequestView(THEM, "sent", "open", NOW - 30 * DAY_MS), NOW)
    assert rules.expired(RequestView(THEM, "sent", "open", NOW - 30 * DAY_MS - 1), NOW)
    assert not rules.expired(RequestView(THEM, "sent", "declined", 0), NOW)
