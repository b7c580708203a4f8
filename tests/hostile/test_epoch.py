"""A partner with a valid key sends its log back-dated to 1970: the per-school budget
(protocol/budget.py) meters signed timestamps, so such a log would all be released at
once. Every entry timestamped before the protocol's epoch is refused (``before-epoch``)
and nothing of it is stored."""

from __future__ import annotations

import aiohttp

from protocol import codec, frames
from protocol.entry import EPOCH_MS, Entry, Payload
from protocol.keys import content_hash
from tests.helpers import offer_content
from tests.network import LiveNode
from tests.rogue import ROGUE, connect, next_frame, open_sync


def back_dated(count: int, start: int) -> list[bytes]:
    """``count`` offers of the rogue, chained and validly signed, one ms apart from
    ``start`` (signed by hand: create_entry refuses to sign before the epoch)."""
    wires: list[bytes] = []
    prev = None
    for seq in range(1, count + 1):
        content = codec.encode(offer_content(f"Back-dated {seq}"))
        payload = Payload(ROGUE.node_id, seq, prev, start + seq, "offer", content_hash(content))
        payload_bytes = payload.encode()
        entry = Entry(payload, payload_bytes, ROGUE.sign(payload_bytes), content, None)
        wires.append(entry.encode())
        prev = entry.id
    return wires


async def test_a_log_back_dated_to_1970_is_refused(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    await open_sync(ws)
    await next_frame(ws, frames.Clock)
    await ws.send_bytes(frames.encode(frames.Entries(1, back_dated(3, 0))))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "before-epoch"
    ack = await next_frame(ws, frames.Ack)
    assert isinstance(ack, frames.Ack)
    assert await target.node.store.head(ROGUE.node_id) is None


async def test_an_entry_one_millisecond_before_the_epoch_is_refused(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    await open_sync(ws)
    await next_frame(ws, frames.Clock)
    await ws.send_bytes(frames.encode(frames.Entries(1, back_dated(1, EPOCH_MS - 2))))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "before-epoch"
    assert await target.node.store.head(ROGUE.node_id) is None
