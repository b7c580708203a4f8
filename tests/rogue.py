"""A partner gone rogue: a node id our target school has partnered with, whose key the
test holds, so that it can send the target any frame it likes over a real session.

The fixtures (``target``, ``client``) and the session tools the rogue's tests share
(dial, read the next frame of a kind, build a frame by hand) live here, so that the
rogue's test modules need not import one another."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from node.clock import now_ms
from node.partners.peerbook import PeerBook
from protocol import codec, frames
from protocol.handshake import DiallerHandshake
from protocol.keys import NodeKey
from tests.helpers import key
from tests.network import EVERYTHING, LiveNode

ROGUE = key(66)


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[LiveNode]:
    """A school serving on loopback that counts the rogue among its partners."""
    live = await LiveNode.start(tmp_path / "target", "Target School", holding=EVERYTHING)
    await PeerBook(live.node.store).add(ROGUE.node_id, None, 0)
    yield live
    await live.stop()


@contextlib.asynccontextmanager
async def rogue_client() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session whose every response (each WebSocket's too) is closed when it
    ends. Closing the session alone closes the sockets but leaves each WebSocket's
    connection object holding its protocol: collected later, in a cycle, it warns
    "Unclosed connection" (a ResourceWarning), which fails whatever test runs then."""
    opened: list[aiohttp.ClientResponse] = []

    async def on_end(
        _: aiohttp.ClientSession, __: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        opened.append(params.response)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        try:
            yield session
        finally:
            for response in opened:
                response.close()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with rogue_client() as session:
        yield session


#: Log lines a peer may cause in a minute: node/logs.py allows 20, then one summary.
LINES_PER_PEER = 25
Socket = aiohttp.ClientWebSocketResponse


async def handshake(
    client: aiohttp.ClientSession, live: LiveNode, *, address: str | None = None
) -> tuple[Socket, frames.Frame]:
    """Dial ``live`` as the rogue; return the socket and the listener's last answer."""
    assert live.address is not None
    ws = await client.ws_connect(live.address + "/peer")
    hs = DiallerHandshake(ROGUE, nonce=os.urandom(32), now_ms=now_ms(), expected=None)
    hello = hs.hello_bytes
    if address is not None:  # what DiallerHandshake would refuse to build: by hand
        body = codec.decode(hello, frames.FRAME_LIMITS)
        body["address"] = address
        hello = codec.encode(body)
        hs.hello_bytes = hello
    await ws.send_bytes(hello)
    answer = frames.decode((await ws.receive(timeout=5)).data)
    if isinstance(answer, frames.Welcome):
        await ws.send_bytes(hs.receive_welcome(frames.encode(answer)))
        answer = frames.decode((await ws.receive(timeout=5)).data)
    return ws, answer


async def connect(client: aiohttp.ClientSession, live: LiveNode) -> Socket:
    ws, answer = await handshake(client, live)
    assert isinstance(answer, frames.Ready), answer
    return ws


async def next_frame(ws: Socket, kind: type[frames.Frame]) -> frames.Frame:
    """The next frame of ``kind``, skipping others; fails if the session ends first."""
    for _ in range(100):
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.BINARY, f"the session ended: {msg}"
        frame = frames.decode(msg.data)
        if isinstance(frame, kind):
            return frame
    raise AssertionError(f"no {kind.TYPE} frame")


async def frames_until_closed(ws: Socket) -> list[frames.Frame]:
    """Every frame the target sends until it closes the session."""
    received: list[frames.Frame] = []
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type != aiohttp.WSMsgType.BINARY:
            return received
        received.append(frames.decode(msg.data))


async def open_sync(ws: Socket) -> None:
    """Say we hold nothing, so the target sends us what it holds."""
    await ws.send_bytes(frames.encode(frames.Clock([], final=True)))
    await ws.send_bytes(frames.encode(frames.MailClock([], final=True)))


def raw(frame_type: str, **fields: object) -> bytes:
    """A frame as bytes, built by hand: the checks of protocol/frames.py never see it."""
    return codec.encode({"t": frame_type, "v": 1, **fields})


def lines_about(caplog: pytest.LogCaptureFixture, peer: NodeKey) -> list[str]:
    """Log lines the node wrote that name ``peer``."""
    name = str(peer.node_id)
    return [r.getMessage() for r in caplog.records if name in r.getMessage()]
