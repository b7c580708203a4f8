"""A partner gone rogue and ``interest`` (docs/protocol.md, "Interest"): malformed or
oversized declarations are refused with ``bad-interest`` and a strike, the partners
it declares never bring a school the target blocked into its horizon, and declaring
that it wants everything brings it public entries only.

The rogue is a real node, partner of the target, writing hand-made frames on its real
session. Frames are judged in order, so an entry sent alone after them, which the
target keeps, shows that every frame before it was judged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net.loose import send_alone
from node.net.session import PeerSession
from node.observations.staff import StaffMember
from node.store.holding import EVERYTHING_MODE, HORIZON_MODE, choose, read_policy
from protocol import codec, interest
from protocol.entry import create_entry
from tests.helpers import key
from tests.network import LiveNode, files_contain, partner, wait_for

NORTH = {"region": "North", "phases": ["primary"]}
A, B = bytes([1]) * 32, bytes([2]) * 32


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    target = await LiveNode.start(tmp_path / "target", "Target School")
    # The rogue's own node declares everything: only the frames made by hand say more.
    rogue = await LiveNode.start(tmp_path / "rogue", "Rogue School", holding=EVERYTHING_MODE)
    try:
        await choose(target.node.store, HORIZON_MODE, (), ())
        await target.node.update_profile(**NORTH)
        await partner(target, rogue)

        async def opened() -> bool:
            mine = rogue.service.peers.sessions.get(target.node.node_id)
            theirs = target.service.peers.sessions.get(rogue.node.node_id)
            return mine is not None and mine.opened and theirs is not None and theirs.opened

        await wait_for(opened, what="the rogue's session")
        yield target, rogue
    finally:
        await rogue.stop()
        await target.stop()


async def raw(rogue: LiveNode, target: LiveNode, body: dict[str, Any]) -> None:
    session = rogue.service.peers.sessions[target.node.node_id]
    await session.transport.send(codec.encode({"t": "interest", "v": 1, **body}))


async def judged(rogue: LiveNode, target: LiveNode, n: int) -> None:
    """Send an entry alone that the target keeps; wait until it holds it."""
    far = key(60 + n)
    content = {"activity": "observation", "title": "Sentinel", "country": "GB", **NORTH}
    last = create_entry(far, seq=1, prev=None, timestamp=now_ms(), kind="offer", content=content)
    await send_alone(rogue.service.peers.sessions[target.node.node_id], [last])
    await wait_for(lambda: target.holds(last.id), what="the sentinel")


def body(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "digest": interest.digest([A]),
        "filters": [],
        "partners": [],
        "horizon": [A],
    }
    found.update(changes)
    return found


def session_of(target: LiveNode, rogue: LiveNode) -> PeerSession:
    return target.service.peers.sessions[rogue.node.node_id]


async def test_malformed_and_oversized_declarations_are_strikes(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    strikes = session._strikes
    bad = [
        body(digest=interest.digest([B])),  # not its horizon's
        body(partners=[n.to_bytes(32, "big") for n in range(257)]),  # more than 256
        body(filters=[["colour=red"]]),
        body(filters=[["regions=North"]] * 17),
        body(horizon=[A, A], digest=interest.digest([A])),
    ]
    for frame in bad:
        await raw(rogue, target, frame)
    await judged(rogue, target, 1)
    assert session._strikes == strikes + len(bad)
    assert target.service.peers.interests.declared.get(session) is None  # sent everything
    assert not session.closing  # five strikes: under the ten that close a session


async def test_declared_partners_never_bring_a_blocked_school_into_the_horizon(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    blocked, other = key(70).node_id, key(71).node_id
    await target.node.peerbook.block(blocked, target.node.node_id, now_ms())
    partners = sorted([bytes(blocked), bytes(other)])
    await raw(rogue, target, body(partners=partners))
    await judged(rogue, target, 2)
    horizon = (await read_policy(target.node.store)).interest.horizon
    assert bytes(other) in horizon  # a partner's partner: the second hop
    assert bytes(blocked) not in horizon
    assert target.service.peers.interests.declared.get(session_of(target, rogue)) is not None


async def test_a_digest_it_does_not_hold_is_asked_for_not_guessed(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    await raw(rogue, target, {k: v for k, v in body().items() if k != "horizon"})
    await judged(rogue, target, 3)
    assert target.service.peers.interests.declared.get(session) is None  # sent everything
    assert session._strikes == 0


async def test_declaring_everything_brings_public_entries_only(
    pair: tuple[LiveNode, LiveNode], tmp_path: Path
) -> None:
    target, rogue = pair
    name = "Zebedee Quuxworth"
    await target.node.staff.add(StaffMember(name, strengths=("questioning",)))
    me, it = bytes(target.node.node_id), bytes(rogue.node.node_id)
    horizon = sorted([me, it])
    wide = body(digest=interest.digest(horizon), horizon=horizon, filters=[[]])
    await raw(rogue, target, wide)  # every school's everything, and the target's log
    await judged(rogue, target, 4)
    post = await target.node.offers.post("offer", {"activity": "observation", "title": "Open"})
    await wait_for(lambda: rogue.holds(post.id), what="the target's public offer")
    assert files_contain(tmp_path / "rogue", name.encode()) == []
    assert files_contain(tmp_path / "target", name.encode()) != []  # it is there to leak
