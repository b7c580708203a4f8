"""Eager push and lazy announcements between real nodes on loopback (docs/protocol.md,
"Eager push and lazy announcements"; node/net/relay.py): an entry reaches everyone with
fewer copies than there are sessions, a peer that is only announced an entry fetches it,
one that never asks still gets it at the next session start, and a peer without the
feature gets everything whole as before."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net.backoff import Backoff
from node.net.peers import FEATURES
from node.net.session import PeerSession
from node.partners.peerbook import PeerBook
from protocol import frames
from protocol.horizon import FETCH_AFTER_MS
from tests.helpers import offer_content
from tests.network import LiveNode, introduced, partner, wait_for

Factory = Callable[..., Any]


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[Factory]:
    started: list[LiveNode] = []

    async def make(name: str, *, lazy: bool = True) -> LiveNode:
        live = await LiveNode.start(tmp_path / f"{name}-{len(started)}", name)
        live.service.peers.new_backoff = lambda: Backoff.scaled(0.01)
        if not lazy:  # a node that predates the feature
            live.service.peers.features = FEATURES - {frames.LAZY}
        started.append(live)
        return live

    yield make
    for live in reversed(started):
        await live.stop()


def copies(nodes: list[LiveNode]) -> int:
    """Entries sent whole by every session of these nodes so far."""
    return sum(s.sent for n in nodes for s in n.service.peers.sessions.values())


async def quiet(nodes: list[LiveNode]) -> bool:
    """Nothing left to send, acknowledge, announce or fetch in any session."""
    for n in nodes:
        for s in n.service.peers.sessions.values():
            if not s.sync.idle:
                return False
            if s.lazy is not None and not s.lazy.idle:
                return False
    return True


async def everywhere(nodes: list[LiveNode], entry_id: Any) -> None:
    async def held() -> bool:
        return all([await n.holds(entry_id) for n in nodes])

    await wait_for(held, what="the offer at every school")


def eager_set(at: LiveNode, author: LiveNode) -> list[Any]:
    return at.service.peers.relay.relay.eager.get(author.node.node_id, [])


async def test_in_a_triangle_an_offer_reaches_everyone_with_fewer_copies_than_sessions(
    make_node: Factory,
) -> None:
    """Three schools, three sessions. Without the feature every offer crosses all three
    (the third copy a duplicate); with it, once the duplicates have pruned the pushes
    to a tree, an offer costs two copies: one per school that lacked it."""
    nodes = [await make_node(name) for name in "ABC"]
    for a, b in [(0, 1), (1, 2), (0, 2)]:
        await partner(nodes[a], nodes[b])
    await introduced(nodes)
    costs = []
    for n in range(6):
        await wait_for(lambda: quiet(nodes), what="quiet sessions")
        before = copies(nodes)
        entry = await nodes[0].node.offers.post("offer", offer_content(f"Open lessons {n}"))
        await everywhere(nodes, entry.id)
        await wait_for(lambda: quiet(nodes), what="quiet sessions")
        costs.append(copies(nodes) - before)
        if costs[-1] < 3:
            break
    assert costs[-1] == 2, costs  # one copy per school that lacked it, fewer than sessions


#: The leaf's fetches come FETCH_AFTER_MS / FETCH_SPEED (0.2 s) after an announcement.
FETCH_SPEED = 10


async def pruned_star(make_node: Factory, *, fetching: bool = True) -> tuple[LiveNode, LiveNode]:
    """A centre and three leaves; one leaf has told the centre (a real ``prune``, as
    after a duplicate) that it wants the centre's entries announced, not pushed.
    Returns the centre and that leaf."""
    centre = await make_node("Centre")
    leaves = [await make_node(f"Leaf {i}") for i in range(3)]
    for leaf in leaves:
        await partner(centre, leaf)
    await introduced([centre, *leaves])
    lazy = leaves[0]
    lazy.service.peers.relay.fetching = fetching
    lazy.service.peers.relay.run_faster(FETCH_SPEED)
    assert lazy.node.node_id in eager_set(centre, centre)  # its profile was pushed whole
    link = lazy.service.peers.sessions[centre.node.node_id].lazy
    assert link is not None
    link.duplicates([centre.node.node_id])

    async def pruned() -> bool:
        return lazy.node.node_id not in eager_set(centre, centre)

    await wait_for(pruned, what="the prune at the centre")
    return centre, lazy


async def test_a_peer_only_announced_an_offer_fetches_it(make_node: Factory) -> None:
    """The pruned leaf holds no other path to the centre's offers: it is announced
    the offer, fetches it, and is grafted: the next offer comes whole."""
    centre, lazy = await pruned_star(make_node)
    entry = await centre.node.offers.post("offer", offer_content("Open lessons"))
    await everywhere([lazy], entry.id)
    assert lazy.service.peers.relay.wanted == 1  # it asked for it, once
    assert centre.service.peers.relay.announced >= 1
    assert lazy.node.node_id in eager_set(centre, centre)  # grafted
    entry = await centre.node.offers.post("offer", offer_content("More open lessons"))
    await everywhere([lazy], entry.id)
    assert lazy.service.peers.relay.wanted == 1  # pushed whole this time


async def test_a_lazy_peer_that_never_asks_gets_the_offer_at_the_next_session_start(
    make_node: Factory,
) -> None:
    """The safety net: a peer announced an offer that does not fetch it (here: told not
    to) still ends up with it, because the announcer's view of it still lacks it."""
    centre, lazy = await pruned_star(make_node, fetching=False)
    announced = centre.service.peers.relay.announced
    entry = await centre.node.offers.post("offer", offer_content("Open lessons"))

    async def announced_to_it() -> bool:
        return bool(centre.service.peers.relay.announced > announced)

    await wait_for(announced_to_it, what="the announcement to the pruned leaf")
    assert not await lazy.holds(entry.id)  # nobody pushes it there, and it does not ask
    session = lazy.service.peers.sessions[centre.node.node_id]
    await session.close()
    await everywhere([lazy], entry.id)  # the next session start sends it
    assert lazy.service.peers.relay.wanted == 0


async def test_a_peer_without_the_feature_gets_every_entry_whole(make_node: Factory) -> None:
    """The centre's eager set for its own offers is full with two partners that speak
    ``lazy``; a third that does not (an older node) is never announced anything: it
    gets the offer whole, as before the feature."""
    centre = await make_node("Centre")
    leaves = [await make_node(f"Leaf {i}") for i in range(2)]
    for leaf in leaves:
        await partner(centre, leaf)
    await introduced([centre, *leaves])
    old = await make_node("Old leaf", lazy=False)
    await partner(centre, old)
    await introduced([centre, *leaves, old])
    session = centre.service.peers.sessions[old.node.node_id]
    assert session.lazy is None
    assert frames.LAZY not in session.features
    for n in range(3):
        entry = await centre.node.offers.post("offer", offer_content(f"Open lessons {n}"))
        await everywhere([*leaves, old], entry.id)
    assert old.node.node_id not in eager_set(centre, centre)
    assert old.service.peers.relay.wanted == 0


class Unreadable:
    """The relay's view of a store whose reads fail (a disk gone bad)."""

    def __init__(self) -> None:
        self.reads = 0

    async def heads_of(self, authors: Any) -> dict[bytes, int]:
        self.reads += 1
        raise OSError("disk I/O error")

    async def blocked_authors(self) -> set[bytes]:
        self.reads += 1
        raise OSError("disk I/O error")


async def test_a_fetch_that_cannot_read_the_store_waits_before_trying_again(
    make_node: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    """A fetch due while the store cannot be read is put off (FETCH_AFTER_MS), not tried
    again at once in a loop, and what it logs goes through the bounded log."""
    live = await make_node("Oak")
    relay = live.service.peers.relay
    unreadable = Unreadable()
    relay.store = unreadable
    author = b"x" * 32
    relay.fetches.announce(live.node.node_id, [(author, 1)], {}, set(), now_ms=0)  # due long ago
    before = now_ms()
    relay._wake.set()

    async def tried() -> bool:
        return unreadable.reads > 0

    await wait_for(tried, what="a fetch tried")
    due = relay.fetches.next_due()
    assert due is not None
    assert due >= before + FETCH_AFTER_MS  # put off, still waiting
    assert relay.logs is live.service.peers.logs
    assert [r for r in caplog.records if "disk I/O error" in r.getMessage()]


async def test_a_partner_removed_or_blocked_leaves_the_eager_sets(make_node: Factory) -> None:
    """Its places are freed for new partners, and a blocked school's own sets go."""
    centre = await make_node("Centre")
    leaves = [await make_node(f"Leaf {i}") for i in range(3)]
    for leaf in leaves:
        await partner(centre, leaf)
    await introduced([centre, *leaves])
    relay = centre.service.peers.relay.relay
    removed, blocked = leaves[0].node.node_id, leaves[1].node.node_id
    assert removed in eager_set(centre, centre)
    assert blocked in relay.eager
    book = PeerBook(centre.node.store)
    await book.remove(removed)
    await book.block(blocked, centre.node.node_id, now_ms())

    async def gone() -> bool:
        return all(removed not in p and blocked not in p for p in relay.eager.values())

    await wait_for(gone, what="the removed and blocked partners out of the eager sets")
    assert blocked not in relay.eager
    assert blocked not in relay.known


async def test_a_batch_acknowledged_before_its_send_returns_still_joins_the_eager_set(
    make_node: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast peer (or a busy loop) can acknowledge a batch before the send that carried
    it returns. Pushed whole, the peer joins the authors' eager sets all the same: what a
    batch carried is taken before it goes, not read back from what is still in flight."""
    send = PeerSession._send

    async def acknowledged_first(session: PeerSession, frame: frames.Frame) -> None:
        await send(session, frame)
        if isinstance(frame, frames.Entries) and frame.batch in session.sync.in_flight:

            async def acked() -> bool:
                return frame.batch not in session.sync.in_flight

            await wait_for(acked, what="the batch's ack, before the send returns")

    monkeypatch.setattr(PeerSession, "_send", acknowledged_first)
    a, b = await make_node("A"), await make_node("B")
    await partner(a, b)
    await introduced([a, b])

    async def joined() -> bool:  # each one's profile, pushed whole at the start
        return b.node.node_id in eager_set(a, a) and a.node.node_id in eager_set(b, b)

    await wait_for(joined, within=5, what="each in the other's eager set")
