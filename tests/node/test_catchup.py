"""Catching up loose entries at session start between real nodes on loopback
(docs/protocol.md, "Catching up loose entries"): a school holding by horizon that
was offline while a far school posted gets that school's matching offer from its
partner when it comes back, and not its other offer."""

from __future__ import annotations

from pathlib import Path

from node.store.holding import HORIZON_MODE, choose
from tests.network import LiveNode, partner, wait_for

NORTH = {"region": "North", "phases": ["primary"]}


def offer(title: str, **fields: object) -> dict[str, object]:
    return {"activity": "observation", "title": title, **fields}


async def test_a_school_that_was_offline_catches_up_what_it_wants(tmp_path: Path) -> None:
    names = ("oak", "hub", "colegio", "far")
    nodes: dict[str, LiveNode] = {}
    try:
        for name in names:
            nodes[name] = await LiveNode.start(tmp_path / name, name.title())
        oak, hub, far = nodes["oak"], nodes["hub"], nodes["far"]
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(**NORTH)
        # oak - hub - colegio - far: colegio is a partner of oak's partner (in oak's
        # horizon), far one hop beyond its edge. The hub holds everything (the default).
        for a, b in (("oak", "hub"), ("hub", "colegio"), ("colegio", "far")):
            await partner(nodes[a], nodes[b])
        catchups = hub.service.peers.catchups
        catchups.pace_ms = 0  # time scaled: one catch-up per session, not per ten minutes
        profile = await far.profile_id()
        await wait_for(lambda: oak.holds(profile), within=60, what="far's profile at oak")

        async def first_done() -> bool:
            return bytes(oak.node.node_id) in catchups._completed

        await wait_for(first_done, within=30, what="the hub's first catch-up of oak")
        await oak.stop()
        wanted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))
        other = await far.node.offers.post("offer", offer("Rowing on the coast"))

        async def hub_holds_both() -> bool:
            return await hub.holds(wanted.id) and await hub.holds(other.id)

        await wait_for(hub_holds_both, within=60, what="far's offers at the hub")
        sent_before = catchups.sent.get(bytes(oak.node.node_id), 0)
        completed_before = catchups._completed[bytes(oak.node.node_id)]
        await oak.restart()

        async def caught_up() -> bool:
            done = catchups._completed.get(bytes(oak.node.node_id), 0) > completed_before
            return done and await oak.holds(wanted.id)

        await wait_for(caught_up, within=60, what="far's matching offer at oak, by catch-up")
        # Only what oak lacked and wants crossed: the matching offer, not the other one.
        assert catchups.sent[bytes(oak.node.node_id)] - sent_before == 1
        assert not await oak.holds(other.id)
        assert await oak.node.store.head(far.node.node_id) is None  # loose, not whole
        rows = await oak.node.store.fetch_all(
            "SELECT loose FROM entries WHERE id = ?", (bytes(wanted.id),)
        )
        assert [row[0] for row in rows] == [1]
    finally:
        for live in nodes.values():
            await live.stop()
