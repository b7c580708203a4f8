"""A partner gone rogue with eager push and lazy announcements (docs/protocol.md,
"Eager push and lazy announcements"): it holds a valid key, announces ``lazy``, and
floods announcements, announces entries that do not exist, wants what it may not have
and prunes authors it never got. The target fetches each announced number at most
once, keeps its waiting fetches bounded, serves a ``want`` only with the public log
entries a clock would have got, and a prune changes nothing but the rogue's own place."""

from __future__ import annotations

import hashlib
import os

import aiohttp
import pytest

from bench.live import hold, schools_offers
from node.clock import now_ms
from node.net.relay import MAX_WANTS_QUEUED
from node.partners.peerbook import PeerBook
from protocol import frames
from protocol.entry import decode_entry
from protocol.handshake import DiallerHandshake
from protocol.keys import NodeId, NodeKey
from protocol.rules.lazy import MAX_FETCHES
from tests.helpers import key, offer_content
from tests.network import LiveNode, wait_for
from tests.rogue import ROGUE, Socket, connect, next_frame, open_sync, raw

#: The target fetches FETCH_AFTER_MS / FETCH_SPEED (0.2 s) after an announcement: each
#: wait below for a fetch "2 s later" takes a tenth of that, in the same order.
FETCH_SPEED = 10


@pytest.fixture(autouse=True)
def quick_fetches(target: LiveNode) -> None:
    target.service.peers.relay.run_faster(FETCH_SPEED)


def made_up(n: int) -> bytes:
    """The node id of a school that does not exist."""
    return hashlib.blake2b(b"nobody %d" % n, digest_size=32).digest()


async def connect_lazy(
    client: aiohttp.ClientSession, live: LiveNode, as_key: NodeKey = ROGUE
) -> Socket:
    """Dial ``live`` as the rogue (or ``as_key``) announcing ``lazy``, say we hold
    nothing, and take the batch of what it holds (its profile)."""
    assert live.address is not None
    ws = await client.ws_connect(live.address + "/peer")
    hs = DiallerHandshake(
        as_key, nonce=os.urandom(32), now_ms=now_ms(), expected=None, features=["lazy"]
    )
    await ws.send_bytes(hs.hello_bytes)
    await ws.send_bytes(hs.receive_welcome((await ws.receive(timeout=5)).data))
    assert isinstance(frames.decode((await ws.receive(timeout=5)).data), frames.Ready)
    assert hs.shared == {"lazy"}
    await open_sync(ws)
    batch = await next_frame(ws, frames.Entries)
    assert isinstance(batch, frames.Entries)
    await ws.send_bytes(frames.encode(frames.Ack(batch.batch, [])))
    return ws


async def test_lazy_frames_in_a_session_that_did_not_agree_to_them_are_strikes(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)  # no features
    await open_sync(ws)
    for frame in (
        raw("have", heads=[[made_up(1), 1]]),
        raw("want", heads=[[bytes(target.node.node_id), 0]]),
        raw("prune", authors=[bytes(target.node.node_id)]),
    ):
        await ws.send_bytes(frame)
        error = await next_frame(ws, frames.Error)
        assert isinstance(error, frames.Error)
        assert error.code == "bad-frame"
        assert "lazy" in error.message


async def test_an_entry_that_does_not_exist_is_asked_for_once(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_lazy(client, target)
    ghost = made_up(1)
    await ws.send_bytes(frames.encode(frames.Have([[ghost, 5]])))
    want = await next_frame(ws, frames.Want)
    assert isinstance(want, frames.Want)
    assert want.heads == [[ghost, 0]]
    # Announced again (and again): never asked for a second time. A new author's
    # announcement after them is asked for alone.
    await ws.send_bytes(frames.encode(frames.Have([[ghost, 5]])))
    await ws.send_bytes(frames.encode(frames.Have([[ghost, 4]])))
    other = made_up(2)
    await ws.send_bytes(frames.encode(frames.Have([[other, 1]])))
    want = await next_frame(ws, frames.Want)
    assert isinstance(want, frames.Want)
    assert want.heads == [[other, 0]]

    async def nothing_waits() -> bool:
        return not target.service.peers.relay.fetches.waiting

    await wait_for(nothing_waits, what="no fetch left waiting")


async def test_a_flood_of_announcements_waits_in_a_bounded_table(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """Five frames of 1,024 made-up authors: at most MAX_FETCHES wait (and are asked
    for later); the rest are asked for at once. Each once: one want pair for one
    have pair, and nothing grows past its bound."""
    # At the fetcher's full pace: the first frames' announcements must still wait when
    # the last come, however loaded the machine (at 0.2 s the fetcher could take them
    # first, and the table never filled up).
    target.service.peers.relay.run_faster(1.0)
    ws = await connect_lazy(client, target)
    flood = sorted(made_up(n) for n in range(5 * frames.MAX_LAZY_ITEMS))
    for i in range(0, len(flood), frames.MAX_LAZY_ITEMS):
        chunk = flood[i : i + frames.MAX_LAZY_ITEMS]
        await ws.send_bytes(frames.encode(frames.Have([[a, 1] for a in chunk])))

    async def all_judged() -> bool:
        relay = target.service.peers.relay
        return len(relay.fetches.waiting) + relay.wanted >= len(flood)

    await wait_for(all_judged, what="the announcements judged")
    assert len(target.service.peers.relay.fetches.waiting) <= MAX_FETCHES
    assert target.service.peers.relay.hurried == len(flood) - MAX_FETCHES
    asked: list[bytes] = []
    while len(asked) < len(flood):
        want = await next_frame(ws, frames.Want)
        assert isinstance(want, frames.Want)
        asked += [pair[0] for pair in want.heads]
    assert sorted(asked) == flood  # each once
    # Announced again: nothing more is asked, nothing waits.
    for i in range(0, len(flood), frames.MAX_LAZY_ITEMS):
        chunk = flood[i : i + frames.MAX_LAZY_ITEMS]
        await ws.send_bytes(frames.encode(frames.Have([[a, 1] for a in chunk])))
    ghost = made_up(len(flood))  # a sentinel, fetched later: no other want before it
    await ws.send_bytes(frames.encode(frames.Have([[ghost, 1]])))
    want = await next_frame(ws, frames.Want)
    assert isinstance(want, frames.Want)
    assert want.heads == [[ghost, 0]]
    # No strike for announcing: the session goes on.
    session = target.service.peers.sessions[ROGUE.node_id]
    assert session._strikes == 0
    assert not session.closing


async def test_a_want_of_what_it_may_not_have_gets_nothing_and_grafts_nothing(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """The rogue wants a blocked school's entries, a school that does not exist, and
    more than the target holds: nothing is sent and nothing grafted. (What a want does
    get, the entries a clock would get, is in the prune test below.)"""
    offers = schools_offers(2)
    await hold(target.node, offers)
    blocked, kept = offers[0].author, offers[1].author
    await PeerBook(target.node.store).block(blocked, target.node.node_id, now_ms())
    ws = await connect_lazy(client, target)  # its batch: the profile and kept's offer
    me = bytes(target.node.node_id)
    relay = target.service.peers.relay.relay
    before = {a: list(peers) for a, peers in relay.eager.items()}
    wants = [[bytes(blocked), 0], [made_up(1), 0], [bytes(kept), 1], [me, 5]]
    await ws.send_bytes(frames.encode(frames.Want(sorted(wants))))
    # A sentinel: an announcement it lacks, fetched later. Anything the wants had
    # made the target send would come before it.
    ghost = made_up(2)
    await ws.send_bytes(frames.encode(frames.Have([[ghost, 1]])))
    seen: list[frames.Frame] = []
    while not isinstance(frame := frames.decode((await ws.receive(timeout=10)).data), frames.Want):
        seen.append(frame)
    assert frame.heads == [[ghost, 0]]
    assert not [f for f in seen if isinstance(f, frames.Entries)]
    assert {a: list(p) for a, p in relay.eager.items()} == before


async def test_prunes_of_authors_it_never_got_change_nothing_but_its_own_place(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_lazy(client, target)
    me = bytes(target.node.node_id)  # as the wire has it
    relay = target.service.peers.relay.relay
    assert ROGUE.node_id in relay.eager[target.node.node_id]  # the profile was pushed to it whole
    authors = set(relay.eager)
    await ws.send_bytes(frames.encode(frames.Prune(sorted([made_up(n) for n in range(100)]))))
    await ws.send_bytes(frames.encode(frames.Prune([me])))

    async def pruned() -> bool:
        return ROGUE.node_id not in relay.eager[target.node.node_id]

    await wait_for(pruned, what="the prune of the target's own log")
    assert set(relay.eager) == authors  # no state for authors it never got
    # Pruned, it is announced the target's next entries instead, and may still fetch
    # them: exactly the entries a clock pair would get.
    entry = await target.node.offers.post("offer", offer_content())
    have = await next_frame(ws, frames.Have)
    assert isinstance(have, frames.Have)
    assert have.heads == [[me, entry.seq]]
    await ws.send_bytes(frames.encode(frames.Want([[me, 1]])))
    batch = await next_frame(ws, frames.Entries)
    assert isinstance(batch, frames.Entries)
    assert [decode_entry(w, now_ms=now_ms()).id for w in batch.entries] == [entry.id]


async def test_wants_queued_for_a_peer_that_does_not_read_are_bounded(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """The queue of wants to one peer is bounded: a peer that floods announcements and
    never reads what it is sent (so the queue is never sent) would otherwise grow it.
    The node's fetcher hands the session more wants than that at once (a synchronous
    call: nothing is sent in between); only MAX_WANTS_QUEUED wait."""
    await connect_lazy(client, target)
    link = target.service.peers.sessions[ROGUE.node_id].lazy
    assert link is not None
    link.want((NodeId(made_up(n)), 0) for n in range(3 * MAX_WANTS_QUEUED))
    assert len(link._wants) == MAX_WANTS_QUEUED


async def test_a_huge_number_announced_does_not_stop_fetching_from_an_honest_peer(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """The honest partner announces an author up to 6, the rogue the same author up to
    the largest number there is. The honest one is asked first, then the rogue; the
    honest one's next announcement (7) is asked for again: it was asked for its own 6,
    not for the rogue's number."""
    honest_key = key(67)
    await PeerBook(target.node.store).add(honest_key.node_id, None, 0)
    honest = await connect_lazy(client, target, honest_key)
    rogue = await connect_lazy(client, target)
    author = made_up(1)
    await honest.send_bytes(frames.encode(frames.Have([[author, 6]])))

    async def announced() -> bool:
        return NodeId(author) in target.service.peers.relay.fetches.waiting

    await wait_for(announced, what="the honest announcement waiting")
    await rogue.send_bytes(frames.encode(frames.Have([[author, 2**53 - 1]])))
    want = await next_frame(honest, frames.Want)
    assert isinstance(want, frames.Want)
    assert want.heads == [[author, 0]]
    want = await next_frame(rogue, frames.Want)  # the honest one sent nothing: the next
    assert isinstance(want, frames.Want)
    assert want.heads == [[author, 0]]
    # Announced again with a sentinel: both are scheduled together, so a want without
    # the author means it was ignored.
    ghost = made_up(2)
    await honest.send_bytes(frames.encode(frames.Have(sorted([[author, 7], [ghost, 1]]))))
    want = await next_frame(honest, frames.Want)
    assert isinstance(want, frames.Want)
    assert want.heads == sorted([[author, 0], [ghost, 0]])


async def test_wants_dropped_from_a_full_queue_are_asked_for_when_announced_again(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """A want the full queue could not take is not recorded as asked: the next
    announcement of it is asked for (it is not ignored until the session restarts)."""
    await connect_lazy(client, target)
    relay = target.service.peers.relay
    link = target.service.peers.sessions[ROGUE.node_id].lazy
    assert link is not None
    link.want((NodeId(made_up(n)), 0) for n in range(MAX_WANTS_QUEUED))  # full (nothing sent yet)
    relay.fetches.limit = 0  # every announcement is asked for at once
    extra = NodeId(made_up(MAX_WANTS_QUEUED))
    hurried = relay.fetches.announce(ROGUE.node_id, [(extra, 1)], {}, set(), now_ms())
    assert hurried == [(extra, 0)]
    relay.ask(ROGUE.node_id, hurried)
    assert extra not in link._wants  # dropped: the queue was full
    again = relay.fetches.announce(ROGUE.node_id, [(extra, 1)], {}, set(), now_ms())
    assert again == [(extra, 0)]
