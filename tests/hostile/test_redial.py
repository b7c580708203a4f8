"""A rogue partner whose session the target ended dials straight back: refused for a
while (``too-soon``), then accepted. Real nodes, a real WebSocket on 127.0.0.1.

Before, each new session came with fresh bounds (about 270 MB of evidence a session,
slowed only by the handshake); docs/protocol.md, "Reconnecting"."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from pathlib import Path

import aiohttp
import pytest

from node.clock import now_ms
from node.net import session as session_module
from node.net.backoff import Backoff
from node.partners.peerbook import PeerBook
from protocol import frames, replication
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.handshake import DiallerHandshake
from protocol.keys import NodeId
from tests.helpers import chain, key, offer_content
from tests.network import LiveNode, wait_for
from tests.rogue import ROGUE, connect, frames_until_closed, handshake, next_frame, open_sync

#: The target's cool-down, scaled from 50 s (as tests/faults does): refused for 75 %.
SCALE = 0.04
REFUSED_S = 50 * SCALE * 0.6


@pytest.fixture
def scaled(target: LiveNode) -> LiveNode:
    target.service.peers.new_backoff = lambda: Backoff.scaled(SCALE)
    return target


async def ended_for_too_many_forks(
    target: LiveNode, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> float:
    """The rogue's session, ended by the target with ``too-many-forks``; returns the
    ``time.monotonic()`` when the rogue saw it closed."""
    monkeypatch.setattr(replication, "MAX_EVIDENCE", 1)  # read when a session starts
    await target.node.offers.post("offer", offer_content("Two"))
    mine = bytes(target.node.node_id)
    ws = await connect(client, target)
    for seq in (1, 2):
        await ws.send_bytes(frames.encode(frames.Clock([[mine, seq, bytes(32)]], final=False)))
    received = await frames_until_closed(ws)
    assert [f.code for f in received if isinstance(f, frames.Error)] == ["too-many-forks"]
    return time.monotonic()


async def test_a_rogue_ended_for_too_many_forks_is_refused_at_once_then_accepted(
    scaled: LiveNode,
    client: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = scaled
    caplog.set_level(logging.INFO)
    ended = await ended_for_too_many_forks(target, client, monkeypatch)

    ws, answer = await handshake(client, target)  # straight back
    assert isinstance(answer, frames.Error), answer
    assert answer.code == "too-soon"
    assert "try again in" in answer.message
    assert (await ws.receive(timeout=5)).type != aiohttp.WSMsgType.BINARY  # closed
    peers = target.service.peers

    def refusals() -> list[str]:
        return [r.getMessage() for r in caplog.records if "is refused until" in r.getMessage()]

    async def ended_and_said() -> bool:
        # The refusal may have come while the old session was still closing.
        return ROGUE.node_id not in peers.sessions and bool(refusals())

    await wait_for(ended_and_said, what="the session's end, and the log's line")
    # The log says which school, until when, and why, in words.
    said = refusals()
    assert len(said) == 1
    assert str(ROGUE.node_id) in said[0]
    assert re.search(r"until \d\d:\d\d:\d\d \(\d+ seconds\)", said[0])
    assert "named far more forked entries than an honest node does" in said[0]

    # Once its time is over, the same rogue is let in again, to a session with the
    # bounds afresh: it is sent what the target holds.
    until = peers._too_soon[ROGUE.node_id]
    assert ended < until < ended + REFUSED_S + 1
    await asyncio.sleep(until - time.monotonic())
    ws = await connect(client, target)
    await open_sync(ws)
    batch = await ws.receive(timeout=5)
    assert batch.type == aiohttp.WSMsgType.BINARY
    assert ROGUE.node_id in target.service.peers.sessions


async def test_the_refusal_reads_nothing_of_the_database(
    scaled: LiveNode, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused after the handshake's signatures and before anything else: neither its
    partnership is looked up nor its clock (sent at once after the auth, unasked)
    compared with what the target holds."""
    target = scaled
    await ended_for_too_many_forks(target, client, monkeypatch)
    looked_up: list[NodeId] = []
    compared: list[object] = []
    get, others_under = PeerBook.get, session_module._others_under

    async def counted_get(book: PeerBook, peer: NodeId) -> object:
        looked_up.append(peer)
        return await get(book, peer)

    def counted_others_under(heads: list[object], conn: object) -> object:
        compared.append(heads)
        return others_under(heads, conn)  # type: ignore[arg-type]

    monkeypatch.setattr(PeerBook, "get", counted_get)
    monkeypatch.setattr(session_module, "_others_under", counted_others_under)
    mine = bytes(target.node.node_id)
    assert target.address is not None
    for _ in range(3):
        ws = await client.ws_connect(target.address + "/peer")
        hs = DiallerHandshake(ROGUE, nonce=os.urandom(32), now_ms=now_ms(), expected=None)
        await ws.send_bytes(hs.hello_bytes)
        await ws.send_bytes(hs.receive_welcome((await ws.receive(timeout=5)).data))
        # What a rogue would send next, without waiting for ``ready``: it goes nowhere.
        await ws.send_bytes(frames.encode(frames.Clock([[mine, 1, bytes(32)]], final=True)))
        answer = frames.decode((await ws.receive(timeout=5)).data)
        assert isinstance(answer, frames.Error)
        assert answer.code == "too-soon"
        assert (await ws.receive(timeout=5)).type != aiohttp.WSMsgType.BINARY
    assert ROGUE.node_id not in looked_up
    assert compared == []


async def test_a_rogue_ended_for_too_many_strikes_is_refused_too(
    scaled: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, scaled)
    for _ in range(10):
        await ws.send_bytes(b"\xc1")
    await frames_until_closed(ws)
    _, answer = await handshake(client, scaled)
    assert isinstance(answer, frames.Error)
    assert answer.code == "too-soon"


async def test_a_peer_that_ended_our_session_is_not_refused(
    scaled: LiveNode, client: aiohttp.ClientSession
) -> None:
    """Told ``too-many-clocks`` by the peer (it ended the session, not we), the target
    holds off its own dial, but a session the peer dials in is accepted: it did nothing
    the target refused."""
    ws = await connect(client, scaled)
    await ws.send_bytes(frames.encode(frames.Error.about("too-many-clocks", "past the bound")))
    await frames_until_closed(ws)

    async def ended() -> bool:
        return ROGUE.node_id not in scaled.service.peers.sessions

    await wait_for(ended, what="the session to end")
    await connect(client, scaled)  # fails unless the answer is ``ready``


async def test_a_dialler_told_too_soon_holds_off(
    scaled: LiveNode, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Our own dial loop, refused with ``too-soon``, waits the cool-down (as after a
    session ended past a bound) rather than redial after half a second, 1, 2, ..."""
    caplog.set_level(logging.INFO)
    dialler = await LiveNode.start(tmp_path / "dialler", "Dialling School")
    try:
        peers = dialler.service.peers
        peers.new_backoff = lambda: Backoff.scaled(1.0)
        # The target ended the dialler's last session for its clocks (as if it had).
        scaled.service.peers._too_soon[dialler.node.node_id] = time.monotonic() + 60
        await PeerBook(scaled.node.store).add(dialler.node.node_id, None, 0)
        assert scaled.address is not None
        await PeerBook(dialler.node.store).add(scaled.node.node_id, scaled.address, 0)
        await peers._sync_partners()
        backoff = peers._backoff(scaled.node.node_id)

        async def held_off() -> bool:
            return backoff.open

        await wait_for(held_off, what="the dialler to hold off after too-soon")
        assert backoff.failures == backoff.threshold  # one refusal, then the hold
        lines = [
            r.getMessage() for r in caplog.records if "refused this node's call" in r.getMessage()
        ]
        assert len(lines) == 1
        assert "(too-soon); trying again in 38 to 50 seconds" in lines[0]
        assert not [r for r in caplog.records if "did not answer" in r.getMessage()]
    finally:
        await dialler.stop()


async def test_an_honest_relay_struck_out_for_another_schools_future_entries_is_not_refused(
    scaled: LiveNode, client: aiohttp.ClientSession
) -> None:
    """A third school signs entries five minutes and a bit ahead of real time: a node
    whose clock runs a few seconds fast takes them and passes them on, and the target,
    whose clock is right, refuses each (``future-timestamp``, a strike). Ten of them
    end the honest relay's session, as before; but the relay did nothing wrong (the
    clocks differ), so it is not refused when it dials back: else any school could keep
    two partners apart for a minute at a time, for the price of ten entries."""
    third = key(77)
    ahead = now_ms() + MAX_CLOCK_SKEW_MS + 2_000  # the relay's clock: 2 s fast
    relayed = [e.encode() for e in chain(third, 10, start_ts=ahead)]
    ws = await connect(client, scaled)
    await open_sync(ws)
    await ws.send_bytes(frames.encode(frames.Entries(1, relayed)))
    received = await frames_until_closed(ws)
    assert {f.code for f in received if isinstance(f, frames.Error)} == {"future-timestamp"}

    async def ended() -> bool:
        return ROGUE.node_id not in scaled.service.peers.sessions

    await wait_for(ended, what="the session to end")
    await connect(client, scaled)  # fails unless the answer is ``ready``


async def test_a_rogue_that_ends_its_own_session_gets_no_fresh_bound_of_evidence(
    scaled: LiveNode, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal alone is dodged by a rogue that stops one fork short of the bound,
    closes the session itself and dials straight back: it is not refused (it ended the
    session), and a fresh bound would send it another 4,096 entries (270 MB) each time.
    The forks shown in the peer's sessions that ended less than the refusal's time ago
    count against the new session's bound."""
    target = scaled
    monkeypatch.setattr(replication, "MAX_EVIDENCE", 1)  # read when a session starts
    await target.node.offers.post("offer", offer_content("Two"))
    mine = bytes(target.node.node_id)
    held = [await target.node.store.entry_at(target.node.node_id, seq) for seq in (1, 2)]
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Clock([[mine, 1, bytes(32)]], final=False)))
    shown = await next_frame(ws, frames.Entries)
    assert held[0] is not None
    assert shown.entries == [held[0].encode()]  # type: ignore[attr-defined]
    await ws.close()  # the rogue ends it: no refusal

    async def ended() -> bool:
        return ROGUE.node_id not in target.service.peers.sessions

    await wait_for(ended, what="the session to end")
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Clock([[mine, 2, bytes(32)]], final=False)))
    received = await frames_until_closed(ws)
    assert not [f for f in received if isinstance(f, frames.Entries)]  # nothing shown
    assert [f.code for f in received if isinstance(f, frames.Error)] == ["too-many-forks"]

    # After the refusal's time, the bound is whole again.
    peers = target.service.peers

    async def refused() -> bool:
        return ROGUE.node_id in peers._too_soon and ROGUE.node_id not in peers.sessions

    await wait_for(refused, what="the session's end")
    until = peers._too_soon[ROGUE.node_id]
    await asyncio.sleep(until - time.monotonic())
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Clock([[mine, 2, bytes(32)]], final=False)))
    shown = await next_frame(ws, frames.Entries)
    assert held[1] is not None
    assert shown.entries == [held[1].encode()]  # type: ignore[attr-defined]
