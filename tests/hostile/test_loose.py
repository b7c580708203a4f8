"""A partner gone rogue sends entries alone (feature ``loose``, docs/protocol.md,
"Loose entries") to a school holding by horizon: what it may not keep, it does not.

The rogue is a real node, partner of the target, and uses its real session to send
what it likes alone: entries of a far school (signed with that school's key, as a
far school that misbehaves would), of a school the target blocked, and of its own
log out of order. Each batch is judged in order, so a last entry the target keeps
shows that every batch before it was judged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net.loose import send_alone
from node.store.holding import HORIZON_MODE, choose
from protocol import budget
from protocol.entry import Entry, create_entry
from protocol.keys import EntryId, NodeKey
from tests.helpers import key
from tests.network import LiveNode, partner, wait_for

NORTH = {"region": "North", "phases": ["primary"]}
FAR, OTHER, BLOCKED = key(50), key(51), key(52)


def signed(signer: NodeKey, seq: int, kind: str, content: dict[str, Any]) -> Entry:
    """An entry numbered ``seq`` of ``signer``, whose earlier entries nobody here holds."""
    return create_entry(
        signer,
        seq=seq,
        prev=None if seq == 1 else EntryId(seq.to_bytes(32, "big")),
        timestamp=now_ms() - 1000,
        kind=kind,
        content=content,
    )


def offer(title: str, **fields: Any) -> dict[str, Any]:
    return {"activity": "observation", "title": title, "country": "GB", **fields}


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    target = await LiveNode.start(tmp_path / "target", "Target School")
    rogue = await LiveNode.start(tmp_path / "rogue", "Rogue School")
    try:
        await choose(target.node.store, HORIZON_MODE, (), ())
        await target.node.update_profile(**NORTH)
        await partner(target, rogue)

        async def opened() -> bool:
            session = rogue.service.peers.sessions.get(target.node.node_id)
            return session is not None and session.opened

        await wait_for(opened, what="the rogue's session")
        yield target, rogue
    finally:
        await rogue.stop()
        await target.stop()


async def send(rogue: LiveNode, target: LiveNode, entries: list[Entry]) -> None:
    session = rogue.service.peers.sessions[target.node.node_id]
    await send_alone(session, entries)


async def judged(rogue: LiveNode, target: LiveNode, n: int) -> None:
    """Send a last entry the target keeps; wait until it holds it."""
    last = signed(OTHER, n, "offer", offer(f"Sentinel {n}", **NORTH))
    await send(rogue, target, [last])
    await wait_for(lambda: target.holds(last.id), what="the sentinel")


async def test_a_far_schools_two_entries_under_one_number_are_evidence(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    first = signed(FAR, 5, "offer", offer("Phonics", **NORTH))
    second = signed(FAR, 5, "offer", offer("Phonics, again", **NORTH))
    await send(rogue, target, [first, second])
    await judged(rogue, target, 1)
    assert await target.holds(first.id)
    assert not await target.holds(second.id)
    [record] = await target.node.store.equivocations()
    assert (bytes(record.author), record.seq) == (bytes(FAR.node_id), 5)


async def test_what_the_target_does_not_want_is_not_kept(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    await target.node.peerbook.block(BLOCKED.node_id, target.node.node_id, now_ms())
    elsewhere = signed(FAR, 3, "offer", offer("Rowing", region="South"))
    blocked = signed(BLOCKED, 1, "profile", {"name": "Blocked", "country": "GB"})
    blocked_offer = signed(BLOCKED, 2, "offer", offer("Phonics", **NORTH))
    await send(rogue, target, [elsewhere, blocked, blocked_offer])
    await judged(rogue, target, 2)
    for entry in (elsewhere, blocked, blocked_offer):
        assert not await target.holds(entry.id)


async def test_its_own_entry_out_of_order_is_a_gap_not_a_strike(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = target.service.peers.sessions[rogue.node.node_id]
    own = rogue.node.key
    ahead = signed(own, 40, "offer", offer("Far ahead of my log", **NORTH))
    for _ in range(12):  # more batches than the strikes that close a session
        await send(rogue, target, [ahead])
    await judged(rogue, target, 3)
    assert not await target.holds(ahead.id)  # its log is held whole: a gap
    assert target.service.peers.sessions[rogue.node.node_id] is session
    assert not session.closing


async def test_a_far_school_gets_no_more_loose_entries_kept_than_its_budget(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = target.service.peers.sessions[rogue.node.node_id]
    flood = [signed(FAR, n, "offer", offer(f"Phonics {n}", **NORTH)) for n in range(10, 260)]
    await send(rogue, target, flood)
    await judged(rogue, target, 4)
    kept = [e for e in flood if await target.holds(e.id)]
    assert len(kept) == budget.COUNT  # a day's budget, as a log would have taken at once
    profile = signed(FAR, 300, "profile", {"name": "Far", "country": "GB"})
    await send(rogue, target, [profile])  # its newest profile still travels
    await wait_for(lambda: target.holds(profile.id), what="the far school's profile")
    assert session._strikes == 0
