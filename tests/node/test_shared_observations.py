"""A peer observation shared with one partner school, and taken back, on real nodes.

Oakfield's teacher was observed by a colleague from the Lycée. Colegio is a
partner of both and must never receive it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from protocol.errors import NotAllowedError, UserInputError
from protocol.keys import NodeId
from tests.network import (
    COLEGIO,
    LYCEE,
    OAK,
    LiveNode,
    files_contain,
    network,
    wait_for,
)

ACTION = "Try think-pair-share before cold calling, Quillon-58"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio")]
    async with network(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


async def test_shared_with_one_partner_and_taken_back(schools: dict[str, LiveNode]) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await oak.node.observations.add(
        observer="Mme Durand",
        observed="Ben Carter",
        focus="questioning",
        priority="SDP 2: oracy",
        day=date(2027, 1, 20),
        strengths=["Generous wait time"],
        actions=[ACTION],
        follow_up=None,
    )
    with pytest.raises(UserInputError, match="not a partner school"):
        await oak.node.observations.share(made.id, True, to=NodeId(b"\1" * 32))
    shared = await oak.node.observations.share(made.id, True, to=lycee.node.node_id)
    assert (shared.shared, shared.shared_with, shared.school) == (
        True,
        lycee.node.node_id,
        "Lycée Jean Moulin",
    )
    with pytest.raises(UserInputError, match="already shared with another school"):
        await oak.node.observations.share(made.id, True, to=colegio.node.node_id)

    async def arrived() -> bool:
        return bool(await lycee.node.observations.listing())

    await wait_for(arrived, what="the observation at the Lycée")
    (copy,) = await lycee.node.observations.listing()
    assert (copy.actions, copy.origin, copy.school, copy.observer) == (
        (ACTION,),
        oak.node.node_id,
        "Oakfield Primary",
        "Mme Durand",
    )
    assert copy.as_json()["from_school_id"] == str(oak.node.node_id)
    assert await lycee.node.observations.due(date(2027, 3, 1), within=30) == []  # not theirs
    with pytest.raises(NotAllowedError, match="only the observed colleague"):
        await lycee.node.observations.share(copy.id, False)

    await oak.node.observations.share(made.id, False)

    async def deleted() -> bool:
        return not await lycee.node.observations.listing()

    await wait_for(deleted, what="the copy deleted at the Lycée")
    assert files_contain(lycee.node.data.path, ACTION.encode()) == []
    assert not (await oak.node.observations.get(made.id)).shared

    marker = await oak.node.offers.post("offer", {"activity": "visit", "title": "Marker"})
    await wait_for(lambda: colegio.holds(marker.id), what="a later entry at Colegio")
    assert await colegio.node.observations.listing() == []
    assert files_contain(colegio.node.data.path, ACTION.encode()) == []
