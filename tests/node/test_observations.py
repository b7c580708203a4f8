"""Peer observations on a real database: the focus serves a priority, at most two actions."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.node import Node
from node.observations import service as observations
from node.observations import staff
from protocol.errors import NotFoundError, UserInputError

TODAY = date(2027, 2, 1)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    person = staff.member(
        "Ben Carter", strengths=["behaviour"], develops=["questioning"], subjects=[], phase=None
    )
    await staff.add(opened, person)
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
    return await observations.add(node, **fields)


async def test_focus_on_a_development_area_is_linked_to_it(node: Node) -> None:
    made = await add(node)
    assert made.priority == "Ben Carter's development area: questioning"
    assert made.follow_up == date(2027, 3, 3)  # six weeks on by default
    assert not made.shared  # private unless the observed colleague chooses
    assert (await observations.get(node, made.id)) == made
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
    assert await observations.listing(node) == []


async def test_due_lists_past_and_coming_week_action_points(node: Node) -> None:
    await add(node, actions=["a", "b"], follow_up=date(2027, 1, 25))  # past
    await add(node, actions=["c"], follow_up=date(2027, 2, 8))  # in 7 days
    await add(node, actions=["d"], follow_up=date(2027, 2, 9))  # in 8 days: not yet
    due = await observations.due(node, TODAY)
    assert [(d.action, d.days) for d in due] == [("a", -7), ("b", -7), ("c", 7)]


async def test_sharing_listing_and_unknown_ids(node: Node) -> None:
    first = await add(node)
    second = await add(node, observer="Ben Carter", observed="Ann Baker", priority="SDP 1")
    assert (await observations.share(node, first.id, True)).shared
    assert [o.id for o in await observations.listing(node)] == [second.id, first.id]
    assert [o.id for o in await observations.listing(node, teacher="ann baker")] == [
        second.id,
        first.id,
    ]
    assert await observations.listing(node, teacher="Nobody") == []
    with pytest.raises(NotFoundError):
        await observations.get(node, 99)
    with pytest.raises(UserInputError, match="same person"):
        await add(node, observer="ben carter")
    with pytest.raises(UserInputError, match="before"):
        await add(node, follow_up=date(2027, 1, 1))
