"""A real node facing bad peers: every bad message is refused, nothing is stored,
and the node keeps serving its other partners."""

import logging
import os
from pathlib import Path

import aiohttp
import pytest

from node.clock import now_ms
from protocol import codec, frames
from protocol.entry import Payload, create_entry
from protocol.handshake import DiallerHandshake
from protocol.keys import NodeKey, content_hash
from tests.helpers import chain, key, offer_content
from tests.network import LiveNode, partner, wait_for
from tests.rogue import ROGUE, next_frame


async def connect(
    client: aiohttp.ClientSession, live: LiveNode, signer: NodeKey = ROGUE
) -> aiohttp.ClientWebSocketResponse:
    """Open a session to ``live`` as ``signer``; return the socket after 'ready'."""
    assert live.address is not None
    ws = await client.ws_connect(live.address + "/peer")
    hs = DiallerHandshake(signer, nonce=os.urandom(32), now_ms=now_ms(), expected=None)
    await ws.send_bytes(hs.hello_bytes)
    await ws.send_bytes(hs.receive_welcome((await ws.receive()).data))
    hs.receive_ready((await ws.receive()).data)
    return ws


async def test_stranger_is_refused(target: LiveNode, client: aiohttp.ClientSession) -> None:
    with pytest.raises(Exception, match="not partnered"):
        await connect(client, target, key(67))


async def test_replayed_handshake_is_refused(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    assert target.address is not None
    ws = await client.ws_connect(target.address + "/peer")
    hs = DiallerHandshake(ROGUE, nonce=os.urandom(32), now_ms=now_ms(), expected=None)
    await ws.send_bytes(hs.hello_bytes)
    auth = hs.receive_welcome((await ws.receive()).data)
    await ws.send_bytes(auth)
    await ws.close()
    # An eavesdropper replays the same hello and auth on a new connection.
    replay = await client.ws_connect(target.address + "/peer")
    await replay.send_bytes(hs.hello_bytes)
    await replay.receive()  # a welcome with a fresh nonce
    await replay.send_bytes(auth)
    answer = frames.decode((await replay.receive()).data)
    assert isinstance(answer, frames.Error)
    assert answer.code == "bad-signature"


def forged_entries() -> dict[str, bytes]:
    """Entries of ROGUE's log that each break one rule."""
    good = chain(ROGUE, 2)
    first = good[0]
    other = codec.encode(offer_content("Tampered"))
    content = codec.encode(offer_content("Claims to be from key 1"))
    payload = Payload(key(1).node_id, 1, None, now_ms(), "offer", content_hash(content)).encode()
    wrong_prev = create_entry(
        ROGUE, seq=2, prev=good[1].id, timestamp=now_ms(), kind="offer", content=offer_content()
    )
    bad_sig = bytearray(first.signature)
    bad_sig[0] ^= 1
    return {
        "bad-signature": codec.encode([first.payload_bytes, bytes(bad_sig), first.content_bytes]),
        "wrong-author": codec.encode([payload, ROGUE.sign(payload), content]),
        "tampered": codec.encode([first.payload_bytes, first.signature, other]),
        "malformed": b"\xc1not msgpack",
        "gap": good[1].encode(),
        "wrong-prev": wrong_prev.encode(),
    }


async def test_forged_entries_are_refused_and_nothing_stored(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    before = await target.node.store.count_entries()
    bad = forged_entries()
    await ws.send_bytes(frames.encode(frames.Entries(1, list(bad.values()))))
    errors = [await next_frame(ws, frames.Error) for _ in range(4)]  # the four that fail to verify
    assert {e.code for e in errors if isinstance(e, frames.Error)} == {
        "bad-signature",
        "bad-content-hash",
        "malformed",
    }
    ack = await next_frame(ws, frames.Ack)
    assert isinstance(ack, frames.Ack)
    assert dict((bytes(a), s) for a, s in ack.heads) == {bytes(ROGUE.node_id): 0}
    assert await target.node.store.count_entries() == before


async def test_malformed_and_oversized_frames_do_not_disturb_other_partners(
    target: LiveNode, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    friend = await LiveNode.start(tmp_path / "friend", "Friendly School")
    try:
        await partner(target, friend)
        ws = await connect(client, target)
        await ws.send_bytes(b"\x00\x01garbage")
        error = await next_frame(ws, frames.Error)
        assert isinstance(error, frames.Error)
        await ws.send_bytes(b"x" * (frames.MAX_FRAME_BYTES + 4096))  # over the size limit
        msg = await ws.receive(timeout=5)
        while msg.type == aiohttp.WSMsgType.BINARY:
            msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        # Meanwhile the friendly partner is served as usual.
        entry = await target.node.offers.post("offer", offer_content("Still flowing"))
        await wait_for(lambda: friend.holds(entry.id), what="the friend to get the offer")
        assert not [
            e for e in await target.node.offers.listing("offer") if e.entry.author == ROGUE.node_id
        ]
    finally:
        await friend.stop()


async def test_noisy_peer_is_closed_after_repeated_refusals(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    for _ in range(12):
        await ws.send_bytes(b"\xc1")
    closed = False
    for _ in range(40):
        msg = await ws.receive(timeout=5)
        if msg.type != aiohttp.WSMsgType.BINARY:
            closed = True
            break
    assert closed


async def test_a_partner_s_error_message_reads_one_way_in_the_log(
    target: LiveNode, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """An error frame is one printable line (frames.Error), but it may type out an
    escape: the log writes it as ``repr`` would, each backslash doubled, where before
    ``%r`` of the already escaped text doubled them again."""
    caplog.set_level(logging.WARNING, logger="node.net.session")
    typed = 'clear \\x1b[2J, then \\n and \\\\ and "it\'s" \u00e9'
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Error("bad-frame", typed)))
    line = f"{ROGUE.node_id} refused something we sent: {typed!r} (bad-frame)"

    async def logged() -> bool:
        return line in [r.getMessage() for r in caplog.records]

    await wait_for(logged, what="the warning")
    assert "clear \\\\x1b[2J, then \\\\n and \\\\\\\\ and " in line  # as repr writes it
