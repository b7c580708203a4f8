"""Pupil teams for conferences and debates sent by a school with a valid key that misuses
them: for another school, with names for roles, out of bounds, for an ordinary event,
and a table of teams forged by a school that does not organise the event.

Oakfield organises a debate; the Lycée and Colegio are its partners and each other's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.keyfile import generate_key
from protocol import letters
from protocol.entry import Entry
from protocol.errors import UserInputError
from protocol.rules.teams import MAX_TEAMS
from tests.hostile.harness import judged, send_as
from tests.hostile.test_block import dialled
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, files_contain, wait_for

TODAY = date(2027, 1, 1)
DEBATE = {
    "title": "Debate: should homework be banned?",
    "start": "2027-03-04T13:00+00:00",
    "end": "2027-03-04T15:00+00:00",
    "format": "debate",
    "audience": "public",
}
PUPIL = "Alice Martin"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio")]
    async with dialled(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


async def debate(schools: dict[str, LiveNode], **more: Any) -> Entry:
    made = await schools["oak"].node.events.create({**DEBATE, **more})

    async def everywhere() -> bool:
        return all([await live.holds(made.id) for live in schools.values()])

    await wait_for(everywhere, what="the event everywhere")
    return made


def team(made: Entry, **more: Any) -> dict[str, Any]:
    return {"event": bytes(made.id), "at": now_ms(), "pupils": 4, "roles": {"speaker": 2}, **more}


async def teams_at(live: LiveNode, made: Entry) -> dict[str, int]:
    organiser = (await live.node.events.find(str(made.id))).author
    return {t.school: t.pupils for t in await live.node.teams.teams(made.id, organiser)}


async def test_a_school_cannot_send_a_team_for_another_school(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await debate(schools)
    claimed = team(made, school=bytes(colegio.node.node_id), by=str(colegio.node.node_id))
    await judged(lycee, await send_as(lycee, letters.TEAM, claimed, [oak]))
    # The team is the letter's author's, whatever the letter says.
    assert await teams_at(oak, made) == {"Lycée Jean Moulin": 4}


async def test_names_in_a_role_never_reach_the_organiser(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)
    named = team(made, roles={PUPIL: 1, "speaker": 1})
    await judged(lycee, await send_as(lycee, letters.TEAM, named, [oak]))
    assert await teams_at(oak, made) == {}
    assert any("a role that is not one of" in r.getMessage() for r in caplog.records)
    # Names in fields a team does not define are not kept either.
    extra = team(made, names=[PUPIL], roles={"speaker": 1})
    await judged(lycee, await send_as(lycee, letters.TEAM, extra, [oak]))
    assert await teams_at(oak, made) == {"Lycée Jean Moulin": 4}
    assert files_contain(oak.node.data.path, PUPIL.encode()) == []
    assert all(PUPIL not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "bad",
    [
        {"roles": {"judge": 1}},  # a role outside the list
        {"pupils": 61, "roles": {}},
        {"pupils": 0, "roles": {}},
        {"pupils": 3, "roles": {"speaker": 2, "researcher": 2}},  # more roles than pupils
        {"withdrawn": True},  # a withdrawal that still gives a team
        {"pupils": 3, "roles": {"speaker": 1}, "at": 2**53 - 1},  # far ahead: locks nothing
    ],
)
async def test_a_team_out_of_bounds_is_refused(
    schools: dict[str, LiveNode], bad: dict[str, Any]
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made, **bad), [oak]))
    assert await teams_at(oak, made) == {}
    # Its real team still counts afterwards.
    found = await lycee.node.events.find(str(made.id))
    await lycee.node.teams.send(found, 2, {"audience": 2}, now=now_ms(), today=TODAY)

    async def counted() -> bool:
        return await teams_at(oak, made) == {"Lycée Jean Moulin": 2}

    await wait_for(counted, what="the Lycée's real team")


async def test_a_team_for_an_event_that_is_not_a_conference_is_refused(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools, format="training-day")
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made), [oak]))
    assert await oak.node.store.fetch_all("SELECT * FROM event_teams") == []


async def test_an_older_team_arriving_late_does_not_replace_the_newer(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)
    now = now_ms()
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made, at=now, pupils=5), [oak]))
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made, at=now - 1), [oak]))
    assert await teams_at(oak, made) == {"Lycée Jean Moulin": 5}


async def test_a_table_of_teams_forged_by_another_school_is_refused(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await debate(schools)
    found = await lycee.node.events.find(str(made.id))
    await lycee.node.teams.send(found, 4, {"speaker": 2}, now=now_ms(), today=TODAY)

    async def shared() -> bool:
        return await teams_at(lycee, made) == {"Lycée Jean Moulin": 4}

    await wait_for(shared, what="the organiser's table at the Lycée")
    forged = {
        "event": bytes(made.id),
        "at": now_ms() + 1,
        "teams": [[bytes(colegio.node.node_id), 60, {"speaker": 60}]],
    }
    await judged(colegio, await send_as(colegio, letters.TEAMS, forged, [lycee]))
    assert await teams_at(lycee, made) == {"Lycée Jean Moulin": 4}
    # Nor may the organiser itself put names in its table.
    named = {**forged, "teams": [[bytes(colegio.node.node_id), 2, {PUPIL: 1}]]}
    await judged(oak, await send_as(oak, letters.TEAMS, named, [lycee]))
    assert await teams_at(lycee, made) == {"Lycée Jean Moulin": 4}


async def test_repeating_the_same_team_sends_no_table_on(schools: dict[str, LiveNode]) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)

    async def tables_sent() -> int:
        row = await oak.node.store.fetch_one(
            "SELECT count(*) FROM letters_sent WHERE kind = 'teams'"
        )
        return int(row[0])

    await judged(lycee, await send_as(lycee, letters.TEAM, team(made), [oak]))
    assert await tables_sent() == 1
    for _ in range(5):
        await judged(lycee, await send_as(lycee, letters.TEAM, team(made), [oak]))
    assert await tables_sent() == 1
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made, pupils=5), [oak]))

    async def sent_on() -> bool:  # at once, or when the Lycée confirms the first table
        return await tables_sent() == 2

    await wait_for(sent_on, what="the changed table")


async def listed(live: LiveNode, made: Entry, schools: int) -> None:
    """``schools`` other schools have sent teams to ``made`` (their keys only: what they
    sent is not the point; one letter each would take as long as any)."""
    async with live.node.store.write():
        for _ in range(schools):
            await live.node.store.execute(
                "INSERT INTO event_teams (event, school, pupils, roles, at) VALUES (?, ?, ?, ?, ?)",
                (bytes(made.id), bytes(generate_key().node_id), 2, '{"speaker": 1}', 1),
            )


async def test_a_team_beyond_what_one_table_can_list_is_refused_and_mail_goes_on(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)
    await listed(oak, made, MAX_TEAMS)
    # The 65th school's team: a table to 65 schools cannot be sealed. It is refused
    # alone, and the letters after it are still taken (before, none ever was again).
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made), [oak]))
    assert "Lycée Jean Moulin" not in await teams_at(oak, made)
    await lycee.node.events.rsvp(str(made.id), "yes", today=TODAY)

    async def answered() -> bool:
        return [a.answer for a in await oak.node.rsvps.answers(made.id)] == ["yes"]

    await wait_for(answered, what="the Lycée's answer after its refused team")
    # The organiser's own team is refused in words too, and nothing is kept.
    found = await oak.node.events.find(str(made.id))
    with pytest.raises(UserInputError, match="64 schools"):
        await oak.node.teams.send(found, 3, {"speaker": 1}, now=now_ms(), today=TODAY)
    assert await oak.node.teams.ours(made.id) is None


async def test_the_64th_school_is_listed_and_the_table_reaches_every_school(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)
    await listed(oak, made, MAX_TEAMS - 1)
    await judged(lycee, await send_as(lycee, letters.TEAM, team(made), [oak]))
    assert (await teams_at(oak, made))["Lycée Jean Moulin"] == 4

    async def shared() -> bool:
        return len(await lycee.node.teams.teams(made.id, oak.node.node_id)) == MAX_TEAMS

    await wait_for(shared, what="the table of 64 teams at the Lycée")
    # A school already listed may still change or withdraw its team.
    withdrawn = {"event": bytes(made.id), "at": now_ms(), "withdrawn": True}
    await judged(lycee, await send_as(lycee, letters.TEAM, withdrawn, [oak]))
    assert "Lycée Jean Moulin" not in await teams_at(oak, made)


async def test_blocking_the_organiser_erases_our_team_for_its_event(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await debate(schools)
    found = await lycee.node.events.find(str(made.id))
    await lycee.node.teams.send(found, 4, {"speaker": 2}, now=now_ms(), today=TODAY)
    assert await lycee.node.teams.ours(made.id) is not None
    await lycee.node.peerbook.block(oak.node.node_id, lycee.node.node_id, now_ms())
    assert await lycee.node.teams.ours(made.id) is None
    assert made.id not in await lycee.node.teams.attending()
