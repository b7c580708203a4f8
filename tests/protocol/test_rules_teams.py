"""Pupil teams for conferences and debates, and the organiser's table: the rule table."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.contents.letters import TeamLetter, TeamsLetter
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import teams as rules
from protocol.rules.teams import MAX_TEAMS, Sender, TeamEvent

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
NOW = 1_800_000_000_000
AHEAD = NOW + MAX_CLOCK_SKEW_MS + 1
DEBATE = TeamEvent(ME, None, "debate")
LISTED = Sender(profile_held=True, listed=True, schools=3)


def team(**more: Any) -> dict[str, Any]:
    return {"event": b"e" * 32, "at": NOW, "pupils": 6, "roles": {"speaker": 2}, **more}


WITHDRAWN = {"event": b"e" * 32, "at": NOW, "withdrawn": True}


@pytest.mark.parametrize(
    ("recipients", "event", "content", "code"),
    [
        ((ME,), DEBATE, team(), None),
        ((ME,), TeamEvent(ME, None, "conference"), team(), None),
        ((ME,), DEBATE, WITHDRAWN, None),  # a withdrawal
        ((ME,), DEBATE, team(roles={}), None),  # no roles given yet
        ((ME,), TeamEvent(ME, {THEM}, "debate"), team(), None),  # a private one sent to it
        ((ME,), TeamEvent(ME, {OTHER}, "debate"), team(), REFUSED),  # not sent to it
        ((ME,), TeamEvent(ME, None, None), team(), REFUSED),  # not a conference or debate
        ((ME,), TeamEvent(ME, None, "teachmeet"), team(), REFUSED),
        ((ME,), TeamEvent(OTHER, None, "debate"), team(), REFUSED),  # not ours
        ((ME,), None, team(), REFUSED),  # not held, or cancelled
        ((ME, OTHER), DEBATE, team(), REFUSED),  # copied to another school
        ((ME,), DEBATE, team(pupils=0), OUT_OF_BOUNDS),
        ((ME,), DEBATE, team(pupils=61), OUT_OF_BOUNDS),
        ((ME,), DEBATE, team(pupils=60, roles={"audience": 60}), None),
        ((ME,), DEBATE, team(roles={"speaker": 4, "researcher": 3}), OUT_OF_BOUNDS),
        ((ME,), DEBATE, team(roles={"Alice Martin": 1}), OUT_OF_BOUNDS),  # a name
        ((ME,), DEBATE, team(roles={"judge": 1}), OUT_OF_BOUNDS),  # not a role
        ((ME,), DEBATE, team(roles={"speaker": 7}), OUT_OF_BOUNDS),
        ((ME,), DEBATE, team(roles={"speaker": True}), OUT_OF_BOUNDS),
        ((ME,), DEBATE, team(pupils=None), OUT_OF_BOUNDS),
        ((ME,), DEBATE, {**WITHDRAWN, "pupils": 3}, OUT_OF_BOUNDS),
        ((ME,), DEBATE, team(at=AHEAD), OUT_OF_BOUNDS),
    ],
)
def test_team(
    recipients: tuple[NodeId, ...],
    event: TeamEvent | None,
    content: dict[str, Any],
    code: str | None,
) -> None:
    verdict = rules.team(THEM, ME, recipients, event, TeamLetter.from_content(content), NOW, LISTED)
    assert (verdict and verdict.code) == code


YESTERDAY, TODAY, LATER = (
    "2027-01-14T15:00+00:00",
    "2027-01-15T15:00+00:00",
    "2027-03-04T15:00+00:00",
)
ON_THE_15TH = 1_800_000_000_000  # 2027-01-15 08:00 UTC


@pytest.mark.parametrize(
    ("event", "content", "sender", "code"),
    [
        (DEBATE, team(), Sender(True, False, 0), None),  # a new school
        (DEBATE, team(), Sender(True, False, MAX_TEAMS - 1), None),  # the last place
        (DEBATE, team(), Sender(True, False, MAX_TEAMS), REFUSED),  # one table is full
        (DEBATE, team(), Sender(True, True, MAX_TEAMS), None),  # listed: it may change
        (DEBATE, WITHDRAWN, Sender(True, True, MAX_TEAMS), None),  # and withdraw
        (DEBATE, WITHDRAWN, Sender(True, False, 0), REFUSED),  # withdraws what it never sent
        (DEBATE, team(), Sender(False, False, 0), REFUSED),  # a throwaway key
        (DEBATE, team(), Sender(False, True, 1), REFUSED),  # its profile since forgotten
        (TeamEvent(ME, None, "debate", TODAY), team(), LISTED, None),  # on the day itself
        (TeamEvent(ME, None, "debate", "2027-01-15T00:30+01:00"), team(), LISTED, None),
        (TeamEvent(ME, None, "debate", YESTERDAY), team(), LISTED, REFUSED),  # over
        (TeamEvent(ME, None, "debate", YESTERDAY), WITHDRAWN, LISTED, REFUSED),
        (TeamEvent(ME, None, "debate", LATER), team(), LISTED, None),
    ],
)
def test_team_places_and_time(
    event: TeamEvent, content: dict[str, Any], sender: Sender, code: str | None
) -> None:
    at = {**content, "at": ON_THE_15TH}
    verdict = rules.team(THEM, ME, (ME,), event, TeamLetter.from_content(at), ON_THE_15TH, sender)
    assert (verdict and verdict.code) == code


def table(*rows: list[Any], at: int = NOW) -> dict[str, Any]:
    return {"event": b"e" * 32, "at": at, "teams": list(rows)}


ROW = [bytes(ME), 6, {"speaker": 2, "audience": 4}]
THEIRS = TeamEvent(THEM, None, "conference")


@pytest.mark.parametrize(
    ("author", "event", "content", "code"),
    [
        (THEM, THEIRS, table(ROW, [bytes(OTHER), 3, {}]), None),
        (THEM, THEIRS, table(), None),  # every team withdrawn
        (OTHER, THEIRS, table(ROW), REFUSED),  # a forged table from a non-organiser
        (THEM, None, table(ROW), REFUSED),  # an event we do not hold
        (THEM, TeamEvent(THEM, None, None), table(ROW), REFUSED),  # an ordinary event
        (THEM, THEIRS, table(ROW, ROW), OUT_OF_BOUNDS),  # a school twice
        (THEM, THEIRS, table([bytes(OTHER), 61, {}]), OUT_OF_BOUNDS),
        (THEM, THEIRS, table([bytes(OTHER), 2, {"Tom": 1}]), OUT_OF_BOUNDS),
        (THEM, THEIRS, table([bytes(OTHER), 2, {"speaker": 3}]), OUT_OF_BOUNDS),
        (THEM, THEIRS, table(ROW, at=AHEAD), OUT_OF_BOUNDS),
    ],
)
def test_table(
    author: NodeId, event: TeamEvent | None, content: dict[str, Any], code: str | None
) -> None:
    verdict = rules.table(author, ME, event, TeamsLetter.from_content(content), NOW)
    assert (verdict and verdict.code) == code


def test_a_table_of_more_than_the_bound_is_refused() -> None:
    rows = [[bytes([n % 256, n // 256]) * 16, 1, {}] for n in range(rules.MAX_TEAMS + 1)]
    verdict = rules.table(THEM, ME, THEIRS, TeamsLetter.from_content(table(*rows)), NOW)
    assert verdict is not None
    assert verdict.code == OUT_OF_BOUNDS


@pytest.mark.parametrize(
    ("pupils", "roles", "fine"),
    [
        (1, {}, True),
        (12, {"speaker": 4, "researcher": 4, "audience": 4}, True),
        (12, {"speaker": 4, "researcher": 4, "audience": 5}, False),
        ("12", {}, False),
        (True, {}, False),
        (3, [("speaker", 1)], False),
        (3, {"speaker": -1}, False),
    ],
)
def test_problem(pupils: Any, roles: Any, fine: bool) -> None:
    assert (rules.problem(pupils, roles) is None) == fine
