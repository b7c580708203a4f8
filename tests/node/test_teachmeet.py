"""TeachMeets with speaker slots, on real nodes.

Oakfield organises. The Lycée is its partner; Gesamtschule is a partner of the
Lycée only, so the running order (a public entry) reaches it two hops away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from node.clock import now_ms
from node.events import slots
from protocol import letters, sealed
from protocol.budget import DAY_MS, Rule
from protocol.errors import RestoredError, SchemaError, UserInputError
from protocol.keys import EntryId
from tests.helpers import Trips
from tests.network import GESAMT, LYCEE, OAK, LiveNode, network, wait_for

TODAY = date(2027, 1, 1)
TEACHMEET = {
    "title": "TeachMeet: oracy across phases",
    "start": "2027-03-04T16:00+00:00",
    "end": "2027-03-04T18:00+00:00",
    "tz": "Europe/London",
    "slots": [[2, 2], [1, 7]],
}


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("lycee", "gesamt")]
    async with network(tmp_path, (OAK, LYCEE, GESAMT), pairs) as nodes:
        yield nodes


async def shown(live: LiveNode, event: str) -> list[tuple[int, int, str | None, str | None]]:
    lineup = await slots.lineup(live.node, event)
    return [(s.number, s.minutes, s.title, s.school) for s in lineup.slots]


async def test_a_talk_for_a_two_minute_slot_reaches_every_school_in_the_running_order(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, gesamt = schools["oak"], schools["lycee"], schools["gesamt"]
    made_id = await oak.node.events.create_for(dict(TEACHMEET), "public")
    made = str(made_id)

    async def everywhere() -> bool:
        return all([await live.holds(made_id) for live in (lycee, gesamt)])

    await wait_for(everywhere, what="the TeachMeet everywhere")
    assert await shown(gesamt, made) == [(1, 2, None, None), (2, 2, None, None), (3, 7, None, None)]

    await slots.speak(lycee.node, made, 1, "Talk partners in Year 3", "Mme Durand", today=TODAY)
    waiting = await slots.lineup(lycee.node, made)
    assert [(s.number, s.title, s.state) for s in waiting.waiting] == [
        (1, "Talk partners in Year 3", "sent")
    ]

    async def offered() -> bool:
        lineup = await slots.lineup(oak.node, made)
        return lineup.slots[0].state == slots.OFFERED

    await wait_for(offered, what="the talk at Oakfield")
    at_oak = await slots.lineup(oak.node, made)
    assert (at_oak.slots[0].title, at_oak.slots[0].speaker, at_oak.slots[0].school) == (
        "Talk partners in Year 3",
        "Mme Durand",
        "Lycée Jean Moulin",
    )
    # Not yet accepted: no other school sees it.
    assert (await slots.lineup(gesamt.node, made)).slots[0].title is None

    await slots.accept(oak.node, made, 1)
    await slots.move(oak.node, made, 1, 2)

    async def in_order_at_gesamt() -> bool:
        return (await shown(gesamt, made))[1] == (
            2,
            2,
            "Talk partners in Year 3",
            "Lycée Jean Moulin",
        )

    await wait_for(in_order_at_gesamt, what="the running order at Gesamtschule")
    assert (await slots.lineup(gesamt.node, made)).slots[0].title is None
    calendar = (await gesamt.node.events.ics()).decode()
    assert "Talk partners in Year 3" in calendar.replace("\r\n ", "")
    # The Lycée sees its talk in the order (moved), not waiting any more.
    await wait_for(lambda: _no_waiting(lycee, made), what="the order at the Lycée")

    # The Lycée withdraws it: the slot is free at Oakfield at once, and in the order
    # every school sees once Oakfield publishes it again.
    await slots.unspeak(lycee.node, made, 2)

    async def freed() -> bool:
        return (await slots.lineup(oak.node, made)).slots[1].title is None

    await wait_for(freed, what="the slot freed at Oakfield")
    assert (await slots.lineup(oak.node, made)).unpublished
    await slots.publish(oak.node, made)

    async def gone_at_gesamt() -> bool:
        return all(title is None for _, _, title, _ in await shown(gesamt, made))

    await wait_for(gone_at_gesamt, what="the freed slot at Gesamtschule")
    # The Lycée forgot the talk it offered for slot 1, which Oakfield had moved to 2.
    await wait_for(lambda: _order_empty(lycee, made), what="the freed slot at the Lycée")
    assert (await slots.lineup(lycee.node, made)).waiting == []


async def _order_empty(live: LiveNode, event: str) -> bool:
    return all(s.title is None for s in (await slots.lineup(live.node, event)).slots)


async def _no_waiting(live: LiveNode, event: str) -> bool:
    lineup = await slots.lineup(live.node, event)
    return lineup.waiting == [] and lineup.slots[1].title == "Talk partners in Year 3"


async def test_a_slot_taken_in_the_order_or_out_of_range_is_refused_with_a_clear_error(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    made = str(await oak.node.events.create_for(dict(TEACHMEET), "public"))
    await slots.speak(oak.node, made, 3, "Our reading spine", "Ms Patel", today=TODAY)
    await wait_for(lambda: _titled(lycee, made, 3), what="the order at the Lycée")
    with pytest.raises(UserInputError, match="slot 3 already has a talk"):
        await slots.speak(lycee.node, made, 3, "Mine", "M. Petit", today=TODAY)
    with pytest.raises(UserInputError, match="slots 1 to 3"):
        await slots.speak(lycee.node, made, 4, "Mine", "M. Petit", today=TODAY)
    with pytest.raises(UserInputError, match="no talk from your school"):
        await slots.unspeak(lycee.node, made, 3)
    with pytest.raises(UserInputError, match="only its organiser"):
        await slots.accept(lycee.node, made, 3)
    with pytest.raises(UserInputError, match="public events"):
        await oak.node.events.create_for(dict(TEACHMEET), "partners")


async def _titled(live: LiveNode, event: str, slot: int) -> bool:
    try:
        return (await slots.lineup(live.node, event)).slots[slot - 1].title is not None
    except Exception:
        return False


async def test_a_teachmeet_has_at_most_64_slots_and_every_one_can_be_published(
    tmp_path: Path,
) -> None:
    """An entry holds at most 64 items in a list: a 65th talk could never be published."""
    from node.node import Node

    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        with pytest.raises(UserInputError, match="64"):
            slots.parse_slots("65x2")
        with pytest.raises(SchemaError, match="64"):  # nor is one signed past the checks
            await node.events.create({**TEACHMEET, "slots": [[70, 2]]})
        made = str((await node.events.create({**TEACHMEET, "slots": [[60, 2], [4, 5]]})).id)
        for n in range(1, 65):
            await slots.speak(node, made, n, f"Talk {n}", "Ann Lee", today=TODAY)
        lineup = await slots.lineup(node, made)
        assert not lineup.unpublished
        assert len((await node.events.find(made)).content["talks"]) == 64
        assert sum(1 for s in lineup.slots if s.state == "accepted") == 64
    finally:
        await node.close()


async def test_an_order_that_cannot_be_signed_leaves_the_talks_as_they_were(
    tmp_path: Path,
) -> None:
    """The talks kept and the version published commit together, or neither."""
    from node.node import Node
    from node.store.database import RESTORED_SETTING

    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        made = str((await node.events.create(dict(TEACHMEET))).id)
        await slots.speak(node, made, 1, "Story maps", "Ann Lee", today=TODAY)
        # Nothing may be signed now (after a restore, until the node has its own entries).
        await node.store.set_setting(RESTORED_SETTING, b"1")
        with pytest.raises(RestoredError):
            await slots.speak(node, made, 2, "Oracy in maths", "Ben Ode", today=TODAY)
        assert [(n, t) for n, _s, t, *_ in await node.slots.rows(events_id(made))] == [
            (1, "Story maps")
        ]
        assert not (await slots.lineup(node, made)).unpublished
    finally:
        await node.close()


def events_id(text: str) -> EntryId:
    return EntryId.parse(text)


async def test_each_talk_letter_and_each_new_order_is_one_trip(tmp_path: Path) -> None:
    """A talk offered (kept and sealed), a talk letter taken by the organiser (its
    TeachMeet read, judged, kept) and a new running order (the talks read, changed,
    kept and the version signed): one trip each, where they took 5, 7 and 14 (with one
    talk kept, two more for each other talk) (issue 21, item 2). Past its budget, the
    order is refused whole, the talks left as they were."""
    from node.node import Node

    async with (
        await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB") as oak,
        await Node.create(tmp_path / "lycee", name="Lycée Jean Moulin", country="FR") as lycee,
    ):
        made = await oak.events.create(dict(TEACHMEET))
        await lycee.store.ingest(await oak.store.entries_after(oak.node_id, 0, 10), now_ms())
        await oak.store.ingest(await lycee.store.entries_after(lycee.node_id, 0, 10), now_ms())
        counted = {}
        with Trips(lycee.store) as trips:
            await lycee.slots.offer(made.id, oak.node_id, 1, "Story maps", "Ann Lee", now_ms())
        counted["offer"] = trips.count
        content = {"event": bytes(made.id), "slot": 1, "title": "Story maps"}
        letter = sealed.write_letter(
            lycee.key,
            kind=letters.TALK,
            timestamp=now_ms(),
            recipients=[oak.node_id],
            content={**content, "speaker": "Ann Lee", "at": now_ms()},
        )
        async with oak.store.write():  # as the mail room runs a letter's handler
            with Trips(oak.store) as trips:
                await oak.slots.receive(letter, now_ms())
        counted["receive"] = trips.count
        event = await oak.events.find(str(made.id))

        def accepted(kept: list[slots.Kept]) -> list[slots.Talk]:
            return [(n, s, t, sp, slots.ACCEPTED) for n, s, t, sp, _st, _ in kept]

        with Trips(oak.store) as trips:
            await slots._publish(oak, event, accepted)
        counted["publish"] = trips.count
        assert counted == dict.fromkeys(counted, 1)
        lineup = await slots.lineup(oak, str(made.id))
        assert [(s.number, s.title, s.state) for s in lineup.slots if s.title] == [
            (1, "Story maps", slots.ACCEPTED)
        ]
        oak.store.budgets.rule = Rule(count=3, window_ms=DAY_MS)  # profile and two versions
        with pytest.raises(UserInputError, match="try again after"):
            await slots.move(oak, str(made.id), 1, 2)
        assert [n for n, *_ in await oak.slots.rows(made.id)] == [1]
