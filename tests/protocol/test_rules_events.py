"""Events for partners or a project, and answers to events: the rule table, row by row."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.contents.letters import PrivateEventLetter
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import events as rules
from protocol.rules.events import EventView, HeldEvent

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
NOW = 1_800_000_000_000
AHEAD = NOW + MAX_CLOCK_SKEW_MS + 1


@pytest.mark.parametrize(
    ("recipients", "event", "at", "code"),
    [
        ((ME,), EventView(ME, None), NOW, None),  # a public event: any school
        ((ME,), EventView(ME, {THEM, OTHER}), NOW, None),  # a private one it was sent to
        ((ME,), EventView(ME, {OTHER}), NOW, REFUSED),  # a private one it was not sent to
        ((ME,), EventView(OTHER, None), NOW, REFUSED),  # not ours
        ((ME,), None, NOW, REFUSED),  # not held
        ((ME, OTHER), EventView(ME, None), NOW, REFUSED),  # copied to another school
        ((ME,), EventView(ME, None), AHEAD, OUT_OF_BOUNDS),
        ((ME,), EventView(ME, None), 2**53 - 1, OUT_OF_BOUNDS),
    ],
)
def test_rsvp(
    recipients: tuple[NodeId, ...], event: EventView | None, at: int, code: str | None
) -> None:
    verdict = rules.rsvp(THEM, ME, recipients, event, at, NOW)
    assert (verdict and verdict.code) == code


P = "ab" * 16
START, END = "2027-03-04T16:00+00:00", "2027-03-04T18:00+00:00"


def content(audience: str = "partners", **more: Any) -> dict[str, Any]:
    base = {
        "id": bytes(32),
        "audience": audience,
        "rev": 2,
        "title": "TeachMeet",
        "start": START,
        "end": END,
    }
    if audience == "project":
        base["p"] = P
    return {**base, **more}


WITHOUT_P = {k: v for k, v in content("project").items() if k != "p"}
PARTNERS_EVENT = HeldEvent(THEM, "partners", None, 1)
PROJECT_EVENT = HeldEvent(THEM, "project", P, 1)


@pytest.mark.parametrize(
    ("body", "held", "partner", "member", "code"),
    [
        (content(), None, True, False, None),
        (content(), PARTNERS_EVENT, True, False, None),
        (content("project"), None, False, True, None),
        (content("project"), PROJECT_EVENT, True, True, None),
        (content(), None, False, False, REFUSED),  # partners event from a non-partner
        (content(), PARTNERS_EVENT, False, True, REFUSED),  # a revision, no longer a partner
        (content(cancelled=True), PARTNERS_EVENT, False, False, None),  # it may still cancel
        (content(cancelled=True), None, False, False, REFUSED),  # but not make one cancelled
        (content("project"), None, True, False, REFUSED),  # not a member of the project
        (content("project", cancelled=True), PROJECT_EVENT, False, False, None),
        (content(), HeldEvent(OTHER, "partners", None, 1), True, False, REFUSED),
        (content(), HeldEvent(ME, "partners", None, 1), True, False, REFUSED),  # our own
        (content(), PROJECT_EVENT, True, True, REFUSED),  # moved to another audience
        (content("project", p="cd" * 16), PROJECT_EVENT, True, True, REFUSED),  # project
        (WITHOUT_P, None, True, True, OUT_OF_BOUNDS),  # for a project, naming none
        (content(p=P), None, True, True, OUT_OF_BOUNDS),  # partners, naming a project
        (content(end="2027-03-04T15:59+00:00"), None, True, False, OUT_OF_BOUNDS),
        (content(end="2027-03-04T16:00+00:00"), None, True, False, None),
        (content(end="9999-12-31T23:59+00:00"), None, True, False, OUT_OF_BOUNDS),
        (content(start="1969-12-31T23:00Z"), None, True, False, OUT_OF_BOUNDS),
        (content(start="2027-03-04T17:00+01:00", end="2027-03-04T16:30Z"), None, True, False, None),
    ],
)
def test_event(
    body: dict[str, Any], held: HeldEvent | None, partner: bool, member: bool, code: str | None
) -> None:
    event = PrivateEventLetter.from_content(body)
    verdict = rules.event(THEM, event, held, partner=partner, member=member)
    assert (verdict and verdict.code) == code
