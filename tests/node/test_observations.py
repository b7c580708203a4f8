"""Peer observations on a real database: the focus serves a priority, at most two actions."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.node import Node
from node.observations import service as observations
from node.observations import staff
from protocol import letters, sealed
from protocol.errors import NotFoundError, UserInputError
from tests.helpers import Trips, key

TODAY = date(2027, 2, 1)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    person = staff.member(
        "Ben Carter", strengths=["behaviour"], develops=["questioning"], subjects=[], phase=None
    )
    await opened.staff.add(person)
    yield opened
    await opened.close()


async def add(node: Node, **kw: Any) -> observations.Observation:
    fields: dict[str, Any] = {
        "observer": "Ann Baker",
        "observed": "Ben Carter",
        "focus": "questioning",
        "priority": None,
        "day": date(2027, 1, 20),
        "strengths": ["Generous wait time"],
        "actions": ["Try no hands up in maths"],
        "follow_up": None,
        **kw,
    }
    return await node.observations.add(**fields)


async def test_focus_on_a_development_area_is_linked_to_it(node: Node) -> None:
    made = await add(node)
    assert made.priority == "Ben Carter's development area: questioning"
    assert made.follow_up == date(2027, 3, 3)  # six weeks on by default
    assert not made.shared  # private unless the observed colleague chooses
    assert (await node.observations.get(made.id)) == made
    assert made.as_json()["owner"] == "Ben Carter"


async def test_a_focus_with_no_priority_is_refused(node: Node) -> None:
    with pytest.raises(UserInputError, match="development priority"):
        await add(node, focus="oracy")
    with pytest.raises(UserInputError, match="development priority"):
        await add(node, observed="Dee Evans")  # no profile: name the priority
    made = await add(node, observed="Dee Evans", priority="SDP 2: questioning")
    assert made.priority == "SDP 2: questioning"


@pytest.mark.parametrize("count", [0, 3])
async def test_one_or_two_action_points(node: Node, count: int) -> None:
    with pytest.raises(UserInputError, match="one or two action points"):
        await add(node, actions=[f"step {i}" for i in range(count)])
    assert await node.observations.listing() == []


async def test_due_lists_past_and_coming_week_action_points(node: Node) -> None:
    await add(node, actions=["a", "b"], follow_up=date(2027, 1, 25))  # past
    await add(node, actions=["c"], follow_up=date(2027, 2, 8))  # in 7 days
    await add(node, actions=["d"], follow_up=date(2027, 2, 9))  # in 8 days: not yet
    due = await node.observations.due(TODAY)
    assert [(d.action, d.days) for d in due] == [("a", -7), ("b", -7), ("c", 7)]


async def test_sharing_listing_and_unknown_ids(node: Node) -> None:
    first = await add(node)
    second = await add(node, observer="Ben Carter", observed="Ann Baker", priority="SDP 1")
    assert (await node.observations.share(first.id, True)).shared
    assert [o.id for o in await node.observations.listing()] == [second.id, first.id]
    assert [o.id for o in await node.observations.listing(teacher="ann baker")] == [
        second.id,
        first.id,
    ]
    assert await node.observations.listing(teacher="Nobody") == []
    with pytest.raises(NotFoundError):
        await node.observations.get(99)
    with pytest.raises(UserInputError, match="same person"):
        await add(node, observer="ben carter")
    with pytest.raises(UserInputError, match="before"):
        await add(node, follow_up=date(2027, 1, 1))


async def test_each_operation_is_one_trip_to_the_database(node: Node) -> None:
    """Recording (with the staff profile its priority comes from), reading, sharing
    within the school and saving a profile: one trip each (issue 21, item 2)."""
    counted = {}
    with Trips(node.store) as trips:
        made = await add(node)
    counted["add"] = trips.count
    for name, call in {
        "get": lambda: node.observations.get(made.id),
        "listing": lambda: node.observations.listing(),
        "due": lambda: node.observations.due(TODAY),
        "staff": lambda: node.staff.listing(),
        "profile": lambda: node.staff.get("ben carter"),
    }.items():
        with Trips(node.store) as trips:
            await call()
        counted[name] = trips.count
    with Trips(node.store) as trips:
        await node.staff.add(
            staff.member(
                "Cara Diaz", strengths=["questioning"], develops=[], subjects=[], phase=None
            )
        )
    counted["add profile"] = trips.count
    assert counted == dict.fromkeys(counted, 1)
    with Trips(node.store) as trips:
        assert (await node.observations.share(made.id, True)).shared
    assert trips.count == 1  # read, changed and read back (a copy from elsewhere: by letter)


async def test_a_refused_observation_leaves_nothing(node: Node) -> None:
    with pytest.raises(UserInputError, match="link the focus to a development priority"):
        await add(node, focus="behaviour")
    with pytest.raises(UserInputError, match="1 to 1,000 characters"):
        await add(node, strengths=["x" * 1001])
    assert await node.observations.listing() == []


async def test_each_letter_path_of_a_shared_observation_is_one_trip(node: Node) -> None:
    """Sending to a partner school and taking back (read, checked, sealed and recorded),
    and each letter received (inside the mail room's transaction): one trip each
    (issue 21, item 2). They took 9 (7 for the letter, the record read before and
    after), 6, 4 and 3."""
    partner = key(7)
    await node.peerbook.add(partner.node_id, None, now_ms())
    made = await add(node)
    counted = {}
    with Trips(node.store) as trips:
        assert (await node.observations.share(made.id, True, to=partner.node_id)).shared_with
    counted["send"] = trips.count  # with the record before and after, as the page shows it
    with Trips(node.store) as trips:
        await node.shared_observations.take_back(made.id, now_ms())
    counted["take back"] = trips.count
    assert (await node.observations.get(made.id)).shared_with is None
    sent = await node.store.fetch_all("SELECT kind FROM letters_sent ORDER BY seq")
    assert [kind for (kind,) in sent] == [letters.OBSERVATION, letters.OBSERVATION_UNSHARE]
    theirs = {
        "id": "ab" * 16,
        "observer": "Mme Durand",
        "observed": "Ben Carter",
        "focus": "questioning",
        "priority": "SDP 2: oracy",
        "day": "2027-01-20",
        "strengths": ["Generous wait time"],
        "actions": ["Try think-pair-share"],
        "follow_up": "2027-03-01",
    }
    for name, kind, content in (
        ("receive", letters.OBSERVATION, theirs),
        ("receive unshare", letters.OBSERVATION_UNSHARE, {"id": "ab" * 16}),
    ):
        letter = sealed.write_letter(
            partner, kind=kind, timestamp=now_ms(), recipients=[node.node_id], content=content
        )
        async with node.store.write():  # as the mail room runs a letter's handler
            with Trips(node.store) as trips:
                await node.shared_observations.receive(letter, now_ms())
        counted[name] = trips.count
        copies = [o for o in await node.observations.listing() if o.origin is not None]
        assert len(copies) == (1 if kind == letters.OBSERVATION else 0)
    assert counted == dict.fromkeys(counted, 1)


async def test_a_refused_share_changes_nothing(node: Node) -> None:
    made = await add(node)
    with pytest.raises(UserInputError, match="not a partner school"):
        await node.shared_observations.send(made.id, key(8).node_id, now_ms())
    with pytest.raises(NotFoundError, match="no observation 99"):
        await node.shared_observations.send(99, key(8).node_id, now_ms())
    assert (await node.observations.get(made.id)).shared_with is None
    assert await node.store.fetch_all("SELECT 1 FROM letters_sent") == []
