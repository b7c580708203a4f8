"""Replication between real nodes on loopback: gossip, relay, catch-up, withdrawals."""

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.clock import now_ms
from node.net.backoff import Backoff
from node.partners.peerbook import PeerBook
from protocol.entry import Entry, create_entry
from tests.helpers import chain, history, key, offer_content
from tests.network import EVERYTHING, LiveNode, partner, sparse_graph, wait_for

Factory = Callable[..., Any]


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[Factory]:
    started: list[LiveNode] = []

    async def make(name: str, **kw: Any) -> LiveNode:
        kw.setdefault("holding", EVERYTHING)  # replication, not what a node holds
        live = await LiveNode.start(tmp_path / f"{name}-{len(started)}", name, **kw)
        started.append(live)
        return live

    yield make
    for live in reversed(started):
        await live.stop()


async def test_offer_crosses_a_chain_of_six(make_node: Factory) -> None:
    nodes = [await make_node(f"School {i}") for i in range(6)]
    for a, b in itertools.pairwise(nodes):
        await partner(a, b)
    entry = await nodes[0].node.offers.post("offer", offer_content())

    async def everywhere() -> bool:
        return all([await n.holds(entry.id) for n in nodes])

    await wait_for(everywhere, what="the offer at all six schools")
    # Profiles travel too, so the far end knows who posted it.
    listed = await nodes[5].node.offers.listing("offer")
    assert [item.school for item in listed] == ["School 0"]


async def test_a_new_entry_crosses_each_partnership_once_and_never_comes_back(
    make_node: Factory,
) -> None:
    """On a chain A-B-C an offer posted at A costs two copies (A to B, B to C): no node
    sends an entry it just stored back to the partner it came from (docs/protocol.md,
    "Sync", step 6)."""
    nodes = [await make_node(name) for name in "ABC"]
    await partner(nodes[0], nodes[1])
    await partner(nodes[1], nodes[2])

    def sessions() -> list[Any]:
        return [s for n in nodes for s in n.service.peers.sessions.values()]

    async def everywhere_and_quiet(entry_ids: list[Any]) -> bool:
        # Asked after the store answers: a commit marks its authors dirty at once, so
        # a session about to send an echo does not look idle here.
        for n in nodes:
            if not all([await n.holds(i) for i in entry_ids]):
                return False
        return len(sessions()) == 4 and all(s.sync.idle for s in sessions())

    profiles = [await n.profile_id() for n in nodes]
    await wait_for(lambda: everywhere_and_quiet(profiles), what="profiles everywhere")
    before = sum(s.sent for s in sessions())
    entry = await nodes[0].node.offers.post("offer", offer_content())
    await wait_for(lambda: everywhere_and_quiet([entry.id]), what="the offer everywhere")
    assert sum(s.sent for s in sessions()) - before == 2


async def test_sparse_graph_of_twenty_converges(make_node: Factory) -> None:
    nodes = [await make_node(f"School {i}") for i in range(20)]
    for a, b in sparse_graph(20, 3, seed=7):
        await partner(nodes[a], nodes[b])
    posted = [await nodes[i].node.offers.post("offer", offer_content(f"O{i}")) for i in (0, 7, 19)]

    async def converged() -> bool:
        for n in nodes:
            for entry in posted:
                if not await n.holds(entry.id):
                    return False
        return True

    seconds = await wait_for(converged, within=20, what="20 nodes to hold 3 offers")
    assert seconds < 20


async def test_relay_after_origin_goes_offline(make_node: Factory) -> None:
    a, b, c, d = [await make_node(n) for n in "ABCD"]
    await partner(a, b)
    entry = await a.node.offers.post("offer", offer_content())
    await wait_for(lambda: b.holds(entry.id), what="B to receive the offer")
    await a.stop()
    await partner(b, c)
    await partner(c, d)
    await wait_for(lambda: d.holds(entry.id), what="D to receive it through B and C")


async def test_outbound_only_node_sends_and_receives_live(make_node: Factory) -> None:
    hub = await make_node("Hub")
    hidden = await make_node("Behind firewall", listen=False)
    assert hidden.address is None
    await PeerBook(hidden.node.store).add(hub.node.node_id, hub.address, 0)
    await PeerBook(hub.node.store).add(hidden.node.node_id, None, 0)
    out = await hidden.node.offers.post("request", offer_content("From behind the firewall"))
    await wait_for(lambda: hub.holds(out.id), what="hub to get the hidden node's request")
    back = await hub.node.offers.post("offer", offer_content("Live to the hidden node"))
    seconds = await wait_for(lambda: hidden.holds(back.id), what="push to the hidden node")
    assert seconds < 5


async def test_an_outbound_only_school_is_back_within_the_longest_wait_after_its_partner_returns(
    make_node: Factory,
) -> None:
    """Issue 20, item 5: a school behind a firewall learns that its partner is back only
    by dialling it. Time is scaled (``Backoff.scaled``): the partner stays down until
    the breaker opens, then returns on the same port; the school must be back within
    the longest wait of the schedule (50 s unscaled), not the old 300 s cool-down."""
    scale = 0.02
    hub = await make_node("Hub")
    hidden = await make_node("Behind firewall", listen=False)
    hidden.service.peers.new_backoff = lambda: Backoff.scaled(scale)
    await PeerBook(hidden.node.store).add(hub.node.node_id, hub.address, 0)
    await PeerBook(hub.node.store).add(hidden.node.node_id, None, 0)

    async def connected() -> bool:
        return hub.node.node_id in hidden.service.peers.sessions

    await wait_for(connected, what="the first session")
    await hub.stop()
    backoff: Backoff = hidden.service.peers._backoff(hub.node.node_id)

    async def breaker_open() -> bool:
        return backoff.open

    await wait_for(breaker_open, what="the breaker to open while the hub is down")
    await hub.restart()
    bound = 50.0 * scale  # docs/admin.md: back within 50 seconds of the partner's return
    seconds = await wait_for(connected, within=bound + 2.0, what="the school to reconnect")
    assert seconds <= bound + 2.0


async def test_two_outbound_only_nodes_meet_through_a_listener(make_node: Factory) -> None:
    hub = await make_node("Hub")
    left = await make_node("Left", listen=False)
    right = await make_node("Right", listen=False)
    for hidden in (left, right):
        await PeerBook(hidden.node.store).add(hub.node.node_id, hub.address, 0)
        await PeerBook(hub.node.store).add(hidden.node.node_id, None, 0)
    entry = await left.node.offers.post("offer", offer_content())
    await wait_for(lambda: right.holds(entry.id), what="right to get left's offer")


async def test_withdrawal_reaches_every_holder(make_node: Factory) -> None:
    a, b, c = [await make_node(n) for n in "ABC"]
    await partner(a, b)
    await partner(b, c)
    entry = await a.node.offers.post("offer", offer_content())
    await wait_for(lambda: c.holds(entry.id), what="the offer at C")
    await a.node.offers.withdraw("offer", str(entry.id))

    async def gone() -> bool:
        return not await c.node.offers.listing("offer")

    await wait_for(gone, what="the withdrawal at C")
    held = await c.node.store.get(entry.id)
    assert held is not None
    assert held.content is None


async def test_catch_up_after_being_offline(make_node: Factory) -> None:
    a = await make_node("A")
    b = await make_node("B")
    await partner(a, b)
    profile = await a.profile_id()
    await wait_for(lambda: b.holds(profile), what="first sync")
    await b.stop()
    # While B is offline, A receives 5,000 entries (from a busy school it relays for).
    missed = history(key(9), 5000)
    await a.node.store.ingest(missed, now_ms())
    await b.restart()
    await wait_for(lambda: b.holds(missed[-1].id), within=60, what="B to catch up")
    assert await b.node.store.count_entries() == await a.node.store.count_entries()
    # Roughly only what B lacked crossed the wire (A's session to B counts what it sent).
    (session,) = a.service.peers.sessions.values()
    assert len(missed) <= session.sent <= len(missed) + 10


async def test_blocked_node_is_cut_off(make_node: Factory) -> None:
    a, b, c = [await make_node(n) for n in "ABC"]
    await partner(a, b)
    await partner(b, c)
    first = await a.node.offers.post("offer", offer_content("Before the block"))
    await wait_for(lambda: c.holds(first.id), what="C to hold A's offer")
    await PeerBook(c.node.store).block(a.node.node_id, c.node.node_id, 0)
    assert not await c.holds(first.id)
    # Its name stays known, so that C's pages can say who was blocked.
    names = await c.node.store.schools([a.node.node_id])
    assert names[a.node.node_id][0] == (await a.node.identity()).name
    second = await a.node.offers.post("offer", offer_content("After the block"))
    await wait_for(lambda: b.holds(second.id), what="B to get the new offer")
    assert not await c.holds(second.id)


async def test_well_known_describes_the_node(make_node: Factory) -> None:
    live = await make_node("Oakfield Primary")
    url = f"{live.address}/.well-known/schoolmesh"
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        assert response.status == 200
        info = await response.json()
    assert info["node_id"] == str(live.node.node_id)
    assert info["name"] == "Oakfield Primary"
    assert info["protocol_version"] == 1
    assert "sessions-v1" in info["capabilities"]


async def test_large_entries_are_sent_in_several_batches(make_node: Factory) -> None:
    """Entries near the size limit fill a batch after a few; the rest follow."""
    a, b = await make_node("A"), await make_node("B")
    signer = key(8)
    log: list[Entry] = []
    for seq in range(1, 121):
        content = {**offer_content(f"Big {seq}"), "text": "x" * 9_500}
        prev = log[-1].id if log else None
        entry = create_entry(
            signer, seq=seq, prev=prev, timestamp=now_ms(), kind="offer", content=content
        )
        log.append(entry)
    await a.node.store.ingest(log, now_ms())
    await partner(a, b)
    await wait_for(lambda: b.holds(log[-1].id), within=30, what="all big entries at B")


async def test_fork_already_held_on_both_sides_is_detected(make_node: Factory) -> None:
    """Two nodes that each hold a different entry 2 of one author notice on meeting,
    although neither lacks anything by number."""
    a, b = await make_node("A"), await make_node("B")
    first = chain(key(9), 1)[0]
    forks = [
        create_entry(
            key(9),
            seq=2,
            prev=first.id,
            timestamp=now_ms(),
            kind="offer",
            content=offer_content(title),
        )
        for title in ("One version", "Another version")
    ]
    await a.node.store.ingest([first, forks[0]], now_ms())
    await b.node.store.ingest([first, forks[1]], now_ms())
    await partner(a, b)

    async def both_report() -> bool:
        return all([len(await n.node.store.equivocations()) == 1 for n in (a, b)])

    await wait_for(both_report, what="both nodes to record the fork")
    (record,) = await a.node.store.equivocations()
    assert {record.first, record.second} == {forks[0].encode(), forks[1].encode()}


async def test_removed_partner_is_no_longer_synced(
    make_node: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = await make_node("A"), await make_node("B")
    await partner(a, b)
    first = await a.node.offers.post("offer", offer_content("While partners"))
    await wait_for(lambda: b.holds(first.id), what="B to get the first offer")
    await PeerBook(a.node.store).remove(b.node.node_id)

    async def disconnected() -> bool:
        return not a.service.peers.sessions and not b.service.peers.sessions

    await wait_for(disconnected, what="the session to end")
    later = await a.node.offers.post("offer", offer_content("After the partnership"))
    caplog.clear()

    async def refused_since() -> bool:  # B keeps dialling; A refuses it
        return any("has not partnered with yours" in r.getMessage() for r in caplog.records)

    await wait_for(refused_since, what="B to dial A again, and A to refuse it")
    assert not await b.holds(later.id)
    assert not a.service.peers.sessions
