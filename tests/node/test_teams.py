"""Pupil teams for a debate across three real nodes: numbers and roles reach every
attending school, names never travel.

Oakfield organises; the Lycée and Colegio are its partners and bring teams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from node.clock import now_ms
from node.events import service as events
from protocol.errors import UserInputError
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, files_contain, network, wait_for

TODAY = date(2027, 1, 1)
DEBATE = {
    "title": "Debate: should homework be banned?",
    "start": "2027-03-04T13:00+00:00",
    "end": "2027-03-04T15:00+00:00",
    "format": "debate",
}


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio")]
    async with network(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


async def table(live: LiveNode, event: events.EventView) -> dict[str, tuple[int, dict[str, int]]]:
    found = await live.node.teams.teams(event.id, event.author)
    return {t.school: (t.pupils, t.roles) for t in found}


async def test_a_debate_shows_each_schools_team_by_numbers_and_roles_everywhere(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await oak.node.events.create({**DEBATE, "audience": "public"})
    await wait_for(lambda: lycee.holds(made.id), what="the debate at the Lycée")
    await wait_for(lambda: colegio.holds(made.id), what="the debate at Colegio")

    home = await oak.node.events.find(str(made.id))
    await oak.node.teams.send(home, 6, {"speaker": 2, "audience": 4}, now=now_ms(), today=TODAY)
    at_lycee = await lycee.node.events.find(str(made.id))
    assert at_lycee.content["format"] == "debate"
    await lycee.node.teams.send(
        at_lycee, 8, {"speaker": 3, "researcher": 5}, now=now_ms(), today=TODAY
    )
    at_colegio = await colegio.node.events.find(str(made.id))
    await colegio.node.teams.send(
        at_colegio, 5, {"speaker": 2, "researcher": 1}, now=now_ms(), today=TODAY
    )
    everyone = {
        "Oakfield Primary": (6, {"speaker": 2, "audience": 4}),
        "Lycée Jean Moulin": (8, {"speaker": 3, "researcher": 5}),
        "Colegio San Marcos": (5, {"speaker": 2, "researcher": 1}),
    }

    async def shared() -> bool:
        return all([await table(live, home) == everyone for live in (oak, lycee, colegio)])

    await wait_for(shared, what="every school's team at every school")

    # The Lycée changes its team, then Colegio withdraws: the table follows everywhere.
    await lycee.node.teams.send(at_lycee, 4, {"speaker": 4}, now=now_ms(), today=TODAY)
    await colegio.node.teams.send(at_colegio, None, {}, now=now_ms(), today=TODAY)
    after = {
        "Oakfield Primary": (6, {"speaker": 2, "audience": 4}),
        "Lycée Jean Moulin": (4, {"speaker": 4}),
    }

    async def changed() -> bool:
        return all([await table(live, home) == after for live in (oak, lycee, colegio)])

    await wait_for(changed, what="the changed table everywhere")
    assert await colegio.node.teams.ours(made.id) is None
    assert (await lycee.node.teams.ours(made.id)) is not None
    assert made.id in await lycee.node.teams.attending()
    assert made.id not in await colegio.node.teams.attending()


async def test_a_team_for_an_ordinary_event_or_out_of_bounds_is_refused_in_words(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    plain = await oak.node.events.create({**DEBATE, "format": "training-day", "audience": "public"})
    debate = await oak.node.events.create({**DEBATE, "audience": "public"})
    await wait_for(lambda: lycee.holds(debate.id), what="the debate at the Lycée")
    await wait_for(lambda: lycee.holds(plain.id), what="the plain event at the Lycée")
    there = await lycee.node.events.find(str(plain.id))
    with pytest.raises(UserInputError, match="not a conference or debate"):
        await lycee.node.teams.send(there, 3, {"speaker": 3}, now=now_ms(), today=TODAY)
    found = await lycee.node.events.find(str(debate.id))
    for pupils, roles, words in [
        (0, {}, "1 to 60 pupils"),
        (61, {}, "1 to 60 pupils"),
        (3, {"speaker": 2, "audience": 2}, "add up to more"),
        (3, {"Alice Martin": 1}, "is not one of"),
    ]:
        with pytest.raises(UserInputError, match=words):
            await lycee.node.teams.send(found, pupils, roles, now=now_ms(), today=TODAY)
    assert await lycee.node.teams.ours(debate.id) is None
    assert files_contain(lycee.node.data.path, b"Alice Martin") == []


async def test_a_conference_for_partners_only_takes_teams_and_blocking_forgets_them(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await oak.node.events.create_for({**DEBATE, "format": "conference"}, "partners")

    async def arrived() -> bool:
        return all([await known(live, str(made)) for live in (lycee, colegio)])

    await wait_for(arrived, what="the conference at both partners")
    for live, pupils in ((lycee, 3), (colegio, 2)):
        there = await live.node.events.find(str(made))
        assert there.private
        await live.node.teams.send(there, pupils, {"audience": pupils}, now=now_ms(), today=TODAY)
    home = await oak.node.events.find(str(made))

    async def shared() -> bool:
        want = {
            "Lycée Jean Moulin": (3, {"audience": 3}),
            "Colegio San Marcos": (2, {"audience": 2}),
        }
        return all([await table(live, home) == want for live in (oak, lycee, colegio)])

    await wait_for(shared, what="both teams at every school")
    await oak.node.peerbook.block(colegio.node.node_id, oak.node.node_id, now_ms())
    assert await table(oak, home) == {"Lycée Jean Moulin": (3, {"audience": 3})}
    await colegio.node.peerbook.block(oak.node.node_id, colegio.node.node_id, now_ms())
    assert await table(colegio, home) == {}


async def known(live: LiveNode, event_id: str) -> bool:
    return any(str(e.id) == event_id for e in await live.node.events.every())
