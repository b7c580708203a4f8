"""TeachMeet speaker slots misused by schools with valid keys.

Oakfield organises a TeachMeet with three slots. The Lycée and Colegio are its
partners and may offer talks; each tries what a rogue school would.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.events import slots
from protocol import kinds, letters
from protocol.keys import EntryId
from protocol.rules.slots import MAX_TALKS_PER_SCHOOL
from tests.hostile.harness import judged, send_as
from tests.hostile.test_block import dialled
from tests.hostile.test_letters import refused_with
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, wait_for

TODAY = date(2027, 1, 1)
TEACHMEET: dict[str, Any] = {
    "title": "TeachMeet: feedback that works",
    "start": "2027-03-04T16:00+00:00",
    "end": "2027-03-04T18:00+00:00",
    "slots": [[2, 2], [1, 7]],
}


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio")]
    async with dialled(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


async def teachmeet(schools: dict[str, LiveNode], content: dict[str, Any]) -> EntryId:
    made = await schools["oak"].node.events.create_for(dict(content), "public")

    async def everywhere() -> bool:
        return all([await live.holds(made) for live in schools.values()])

    await wait_for(everywhere, what="the TeachMeet everywhere")
    return made


def talk(event: EntryId, slot: int, title: str = "Rogue talk") -> dict[str, object]:
    return {"event": bytes(event), "slot": slot, "title": title, "speaker": "X", "at": now_ms()}


async def kept(school: LiveNode, event: EntryId) -> list[tuple[int, str]]:
    return [(n, title) for n, _, title, *_ in await school.node.slots.rows(event)]


async def test_a_talk_for_a_slot_that_does_not_exist_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await teachmeet(schools, TEACHMEET)
    caplog.set_level(logging.WARNING)
    await judged(lycee, await send_as(lycee, letters.TALK, talk(made, 4), [oak]))
    assert await kept(oak, made) == []
    assert refused_with(caplog, "slot 4 of an event with 3")


async def test_a_talk_for_an_event_without_slots_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    plain = {k: v for k, v in TEACHMEET.items() if k != "slots"}
    made = await teachmeet(schools, plain)
    caplog.set_level(logging.WARNING)
    await judged(lycee, await send_as(lycee, letters.TALK, talk(made, 1), [oak]))
    assert await kept(oak, made) == []
    assert refused_with(caplog, "without speaker slots")


async def test_a_school_cannot_take_or_cancel_another_schools_talk(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await teachmeet(schools, TEACHMEET)
    await slots.speak(colegio.node, str(made), 1, "Oracy in maths", "Sra. Ruiz", today=TODAY)

    async def offered() -> bool:
        return await kept(oak, made) == [(1, "Oracy in maths")]

    await wait_for(offered, what="Colegio's talk at Oakfield")
    caplog.set_level(logging.WARNING)
    cancel = {"event": bytes(made), "slot": 1, "at": now_ms()}
    await judged(lycee, await send_as(lycee, letters.TALK_CANCEL, cancel, [oak]))
    await judged(lycee, await send_as(lycee, letters.TALK, talk(made, 1), [oak]))
    assert await kept(oak, made) == [(1, "Oracy in maths")]
    assert refused_with(caplog, "did not offer it")
    assert refused_with(caplog, "another school's talk holds")


async def test_a_flood_of_talks_holds_no_more_than_the_cap(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = await teachmeet(schools, {**TEACHMEET, "slots": [[MAX_TALKS_PER_SCHOOL + 3, 2]]})
    caplog.set_level(logging.WARNING)
    for slot in range(1, MAX_TALKS_PER_SCHOOL + 4):
        numbers = await send_as(lycee, letters.TALK, talk(made, slot), [oak])
    await judged(lycee, numbers)
    assert len(await kept(oak, made)) == MAX_TALKS_PER_SCHOOL
    assert refused_with(caplog, f"holds {MAX_TALKS_PER_SCHOOL} slots already")


async def test_a_running_order_from_another_school_does_not_change_the_event(
    schools: dict[str, LiveNode],
) -> None:
    """The Lycée publishes a "new version" of Oakfield's TeachMeet with its own order:
    every school keeps it apart, as the Lycée's own event, and Oakfield's is unchanged."""
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await teachmeet(schools, TEACHMEET)
    order = [{"slot": 1, "title": "Hijacked", "speaker": "X", "school": str(lycee.node.node_id)}]
    forged = await lycee.node.publish(
        kinds.EVENT, {**TEACHMEET, "replaces": bytes(made), "talks": order}
    )
    await wait_for(lambda: colegio.holds(forged.id), what="the forged version at Colegio")
    for school in (oak, colegio):
        lineup = await slots.lineup(school.node, str(made))
        assert [s.title for s in lineup.slots] == [None, None, None]
        assert lineup.event.author == oak.node.node_id


async def test_blocking_a_school_erases_its_talks_for_our_teachmeets(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await teachmeet(schools, TEACHMEET)
    await slots.speak(lycee.node, str(made), 1, "Oracy in science", "M. Petit", today=TODAY)
    await slots.speak(colegio.node, str(made), 2, "Oracy in maths", "Sra. Ruiz", today=TODAY)

    async def both() -> bool:
        return len(await kept(oak, made)) == 2

    await wait_for(both, what="both talks at Oakfield")
    await oak.node.peerbook.block(lycee.node.node_id, oak.node.node_id, now_ms())
    assert await kept(oak, made) == [(2, "Oracy in maths")]


async def test_blocking_the_organiser_erases_our_talk_and_a_blocked_speaker_leaves_the_order(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await teachmeet(schools, TEACHMEET)
    await slots.speak(lycee.node, str(made), 1, "Oracy in science", "M. Petit", today=TODAY)
    await slots.speak(colegio.node, str(made), 2, "Oracy in maths", "Sra. Ruiz", today=TODAY)

    async def both() -> bool:
        return len(await kept(oak, made)) == 2

    await wait_for(both, what="both talks at Oakfield")
    await slots.accept(oak.node, str(made), 1)
    await slots.accept(oak.node, str(made), 2)

    async def published() -> bool:
        lineup = await slots.lineup(colegio.node, str(made))
        return [s.title for s in lineup.slots][:2] == ["Oracy in science", "Oracy in maths"]

    await wait_for(published, what="the running order at Colegio")
    # Colegio blocks the Lycée: Oakfield's order still names its talk, but Colegio's
    # pages and calendars no longer show it (nor anything else the Lycée wrote).
    await colegio.node.peerbook.block(lycee.node.node_id, colegio.node.node_id, now_ms())
    lineup = await slots.lineup(colegio.node, str(made))
    assert [s.title for s in lineup.slots] == [None, "Oracy in maths", None]
    found = await colegio.node.events.find(str(made))
    assert all("science" not in line for line in await slots.order_lines(colegio.node.store, found))
    # Oakfield blocks the Lycée: the talk leaves its slots at once, and its page says
    # the published order has changed until it publishes again.
    await oak.node.peerbook.block(lycee.node.node_id, oak.node.node_id, now_ms())
    assert await kept(oak, made) == [(2, "Oracy in maths")]
    assert (await slots.lineup(oak.node, str(made))).unpublished
    # Colegio blocks Oakfield: the talk it offered for Oakfield's TeachMeet goes with it.
    assert await kept(colegio, made) == [(2, "Oracy in maths")]
    await colegio.node.peerbook.block(oak.node.node_id, colegio.node.node_id, now_ms())
    assert await kept(colegio, made) == []
