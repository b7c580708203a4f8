"""A partner gone rogue and ``interest`` (docs/protocol.md, "Interest"): malformed or
oversized declarations are refused with ``bad-interest`` and a strike, the partners
it declares never bring a school the target blocked into its horizon, and declaring
that it wants everything brings it public entries only.

The rogue is a real node, partner of the target, writing hand-made frames on its real
session. Frames are judged in order, so an entry sent alone after them, which the
target keeps, shows that every frame before it was judged.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net import interest as interest_module
from node.net.interest import MAX_ALONE_QUEUED
from node.net.loose import send_alone
from node.observations.staff import StaffMember
from node.store.holding import (
    EVERYTHING_MODE,
    HORIZON_MODE,
    choose,
    read_policy,
    record_declared,
)
from protocol import codec, frames, interest
from protocol.entry import create_entry
from protocol.keys import NodeId
from tests.helpers import history, key
from tests.network import LiveNode, files_contain, partner, session_of, sessions_open, wait_for

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
        await sessions_open(rogue, target)
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
    assert other in horizon  # a partner's partner: the second hop
    assert blocked not in horizon
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


@pytest.fixture
async def wide_pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    """As ``pair``, the target following 1,000 schools by hand: its horizon's list is
    32 KB, sent whole at the session's start."""
    target = await LiveNode.start(tmp_path / "target", "Target School")
    rogue = await LiveNode.start(tmp_path / "rogue", "Rogue School")
    try:
        followed = [n.to_bytes(32, "big") for n in range(1, 1001)]
        await choose(target.node.store, HORIZON_MODE, followed, ())
        await partner(target, rogue)
        await sessions_open(rogue, target)
        yield target, rogue
    finally:
        await rogue.stop()
        await target.stop()


async def test_asking_again_and_again_for_the_list_gets_it_once(
    wide_pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = wide_pair
    session = session_of(target, rogue)
    digest = target.service.peers.interests._sent[rogue.node.node_id]
    sent = session.bytes_sent
    mine = rogue.service.peers.sessions[target.node.node_id]
    for _ in range(20):  # the list went whole at the start: each ask is one too many
        await mine.transport.send(frames.encode(frames.InterestAsk(digest)))
    for n in range(20):  # and a digest it never declared
        await mine.transport.send(frames.encode(frames.InterestAsk(bytes([n]) * 32)))
    await judged(rogue, target, 5)
    assert session.bytes_sent - sent < 32 * 1000  # not once more the 32 KB list
    assert session._strikes == 0


async def test_a_flood_of_declarations_refreshes_each_session_once_at_a_time(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    interests = target.service.peers.interests
    for _ in range(100):  # as 100 declarations of the rogue's partners would
        interests.refresh()
    assert len(interests._tasks) == 1  # one session: one task
    await asyncio.gather(*interests._tasks)
    await raw(rogue, target, body(partners=[A]))
    await judged(rogue, target, 6)
    assert NodeId(A) in (await read_policy(target.node.store)).interest.horizon


async def test_authors_it_did_not_declare_are_never_pushed_announced_or_grafted(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    relay = target.service.peers.relay
    it = rogue.node.node_id  # a log the target holds whole, not declared by the rogue
    await raw(rogue, target, body())  # it wants A's log only
    await judged(rogue, target, 7)
    assert session.lazy is not None
    relay.entries_stored([it], [session])  # as when the log grows
    assert rogue.node.node_id not in relay.relay.eager.get(
        it, []
    )  # its place is for a peer that wants it
    relay.relay.eager[it] = [key(80).node_id, key(81).node_id]  # full: others announced
    relay.entries_stored([it], [session])
    assert it not in session.lazy._announce
    mine = rogue.service.peers.sessions[target.node.node_id]
    await mine.transport.send(frames.encode(frames.Want([[bytes(it), 0]])))  # it asks all the same
    await judged(rogue, target, 8)
    assert rogue.node.node_id not in relay.relay.eager[it]  # not grafted: nothing sent


async def test_entries_passed_on_alone_wait_in_one_bounded_queue_per_peer(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    peers = target.service.peers
    interests = peers.interests
    far = history(key(90), 50)
    before = len(peers._tasks) + len(interests._tasks)
    for _ in range(100):  # 100 batches stored from another peer, while the rogue reads slowly
        peers.stored_alone([], far, None)
    assert len(peers._tasks) + len(interests._tasks) - before <= 1  # one task for its session
    queued = sum(len(a) + len(b) for a, b in interests._alone.values())
    assert queued <= MAX_ALONE_QUEUED
    assert interests.not_passed_on == 100 * len(far) - queued
    await wait_for(lambda: rogue.holds(far[0].id), what="the first entry passed on")


async def test_a_flood_of_changing_declarations_is_taken_once_a_second_newest_last(
    pair: tuple[LiveNode, LiveNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, rogue = pair
    recorded: list[list[bytes]] = []
    real = record_declared

    async def counted(store: Any, peer: NodeId, partners: Any) -> None:
        recorded.append(list(partners))
        await real(store, peer, partners)

    monkeypatch.setattr(interest_module, "record_declared", counted)
    started = time.monotonic()
    for n in range(40):  # each a change: partners A, then B, then A ...
        await raw(rogue, target, body(partners=[A if n % 2 else B]))
    await judged(rogue, target, 9)
    took = time.monotonic() - started
    # The first few at once, then one a second (and one more that waited its turn).
    assert len(recorded) <= interest_module.DECLARE_BURST + 1 + math.ceil(took)
    assert len(recorded) < 40 / 2

    async def newest() -> bool:
        rows = await target.node.store.fetch_all(
            "SELECT partner FROM declared_partners WHERE peer = ?", (bytes(rogue.node.node_id),)
        )
        return [row[0] for row in rows] == [A]

    await wait_for(newest, what="the newest declaration taken")
