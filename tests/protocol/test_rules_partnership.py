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
    verdict = rules.request(
        author,
        ME,
        recipients,
        held,
        last,
        partner,
        NOW,
        profile_held=True,
        open_received=0,
        signed_at=NOW,
    )
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("profile_held", "open_received", "signed_at", "code"),
    [
        (True, 0, NOW, None),
        (False, 0, NOW, REFUSED),  # a school not in our directory (a throwaway key)
        (True, rules.MAX_OPEN_RECEIVED - 1, NOW, None),  # the last place
        (True, rules.MAX_OPEN_RECEIVED, NOW, REFUSED),  # the list is full
        (True, 0, NOW - 30 * DAY_MS, None),  # signed just within the expiry
        (True, 0, NOW - 30 * DAY_MS - 1, REFUSED),  # expired at the asker already
    ],
)
def test_request_from_a_stranger(
    profile_held: bool, open_received: int, signed_at: int, code: str | None
) -> None:
    verdict = rules.request(
        THEM,
        ME,
        (ME,),
        None,
        None,
        None,
        NOW,
        profile_held=profile_held,
        open_received=open_received,
        signed_at=signed_at,
    )
    assert (verdict and verdict.code) == code


def test_the_same_request_again_needs_no_place() -> None:
    again = RequestView(THEM, "received", "open", NOW)
    verdict = rules.request(
        THEM,
        ME,
        (ME,),
        again,
        NOW,
        None,
        NOW,
        profile_held=True,
        open_received=rules.MAX_OPEN_RECEIVED,
        signed_at=NOW,
    )
    assert verdict is None


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
    verdict = rules.answer(author, ME, recipients, held, NOW, signed_at=NOW)
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("at", "now", "signed_at", "code"),
    [
        (NOW - 29 * DAY_MS, NOW, NOW, None),
        (NOW - 31 * DAY_MS, NOW, NOW - 2 * DAY_MS, REFUSED),  # reached us after expiry
        (NOW - 29 * DAY_MS, NOW, NOW + 2 * DAY_MS, REFUSED),  # signed after expiry
    ],
)
def test_answer_expiry_by_either_clock(at: int, now: int, signed_at: int, code: str | None) -> None:
    held = RequestView(THEM, "sent", "open", at)
    verdict = rules.answer(THEM, ME, (ME,), held, now, signed_at=signed_at)
    assert (verdict and verdict.code) == code


def test_expired_only_when_open_and_older_than_thirty_days() -> None:
    assert not rules.expired(RequestView(THEM, "sent", "open", NOW - 30 * DAY_MS), NOW)
    assert rules.expired(RequestView(THEM, "sent", "open", NOW - 30 * DAY_MS - 1), NOW)
    assert not rules.expired(RequestView(THEM, "sent", "declined", 0), NOW)


def test_only_received_requests_that_expired_unanswered_are_purged() -> None:
    old = NOW - 30 * DAY_MS - 1
    assert rules.purgeable(RequestView(THEM, "received", "open", old), NOW)
    assert not rules.purgeable(RequestView(THEM, "received", "open", NOW - DAY_MS), NOW)
    assert not rules.purgeable(RequestView(THEM, "received", "declined", old), NOW)
    assert not rules.purgeable(RequestView(THEM, "sent", "open", old), NOW)
