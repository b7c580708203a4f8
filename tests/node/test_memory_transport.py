"""The in-memory twin of a peer WebSocket (node/net/memory.py), which the session and
letter tests run on: it keeps what a WebSocket does that a session relies on, and the
switchboard reaches the same handshake and authorisation as ``GET /peer``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from node.net.memory import MemoryTransport, Switchboard, memory_pair
from node.net.peers import WebSocketTransport, dial, receive_within
from protocol.errors import HandshakeError
from tests.helpers import key
from tests.network import LiveNode, partner, wait_for


async def test_messages_arrive_whole_and_in_order_then_the_close() -> None:
    a, b = memory_pair(100)
    for message in (b"one", b"", b"three" * 19):
        await a.send(message)
    await a.close()
    assert [await b.receive() for _ in range(4)] == [b"one", b"", b"three" * 19, None]
    assert await b.receive() is None  # and stays closed
    assert a.closed
    assert b.closed


async def test_a_send_on_a_closed_connection_raises_as_a_websocket_does() -> None:
    a, b = memory_pair(100)
    await b.close()  # by the other end
    with pytest.raises(ConnectionResetError):
        await a.send(b"late")
    c, _ = memory_pair(100)
    await c.close()  # by this end
    with pytest.raises(ConnectionResetError):
        await c.send(b"late")


async def test_a_message_over_the_limit_ends_the_connection_at_the_receiver() -> None:
    a, b = memory_pair(10)
    await a.send(b"x" * 9)
    await a.send(b"x" * 10)
    assert await b.receive() == b"x" * 9
    assert await b.receive() is None
    with pytest.raises(ConnectionResetError):
        await a.send(b"more")


async def test_the_size_limit_is_the_same_as_a_websockets() -> None:
    """aiohttp's ``max_msg_size`` refuses a message of that many bytes already: the twin
    keeps the same limit, to the byte."""
    limit, sizes = 10, (9, 10, 9)
    over_a_websocket: list[int] = []
    done = asyncio.Event()

    async def listener(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=limit)
        await ws.prepare(request)
        transport = WebSocketTransport(ws)
        while (data := await transport.receive()) is not None:
            over_a_websocket.append(len(data))
        done.set()
        return ws

    app = web.Application()
    app.router.add_get("/peer", listener)
    async with TestServer(app) as server, aiohttp.ClientSession() as client:
        ws = await client.ws_connect(server.make_url("/peer"))
        for size in sizes:
            await ws.send_bytes(b"x" * size)
        await done.wait()
        await ws.close()

    a, b = memory_pair(limit)
    for size in sizes:
        await a.send(b"x" * size)
    await a.close()
    in_memory = []
    while (data := await b.receive()) is not None:
        in_memory.append(len(data))
    assert in_memory == over_a_websocket == [9]


async def test_a_handshake_that_gets_no_answer_times_out() -> None:
    a, _ = memory_pair(100)
    with pytest.raises(HandshakeError) as refused:
        await receive_within(a, 0.01)
    assert refused.value.code == "timeout"


async def test_partners_sessions_run_in_memory_and_sync(tmp_path: Path) -> None:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary")
    b = await LiveNode.start(tmp_path / "b", "Lycée Jean Moulin", country="FR")
    try:
        await partner(a, b)

        async def synced() -> bool:
            profile = await b.profile_id()
            return b.node.node_id in a.service.peers.sessions and await a.holds(profile)

        await wait_for(synced, what="A to hold B's profile through a session")
        for live, other in ((a, b), (b, a)):
            session = live.service.peers.sessions[other.node.node_id]
            assert isinstance(session.transport, MemoryTransport)
    finally:
        await b.stop()
        await a.stop()


async def test_the_switchboard_reaches_the_same_handshake_as_a_websocket(
    tmp_path: Path,
) -> None:
    """A school that is not a partner is refused in the same words either way; a
    stopped node is left to a WebSocket (the dial fails as the real one does)."""
    target = await LiveNode.start(tmp_path / "target", "Target School")
    board = Switchboard()
    board.join(target.service.peers, target.address)
    stranger = key(70)
    assert target.address is not None
    try:
        async with aiohttp.ClientSession() as client:
            refusals = []
            for connect in (board.connect, None):
                with pytest.raises(HandshakeError) as refused:
                    await dial(client, stranger, target.address, expected=None, connect=connect)
                refusals.append((refused.value.code, str(refused.value)))
            assert refusals[0] == refusals[1]
            assert refusals[0][0] == "not-a-partner"
            await target.stop()
            assert await board.connect(target.address) is None
            with pytest.raises(aiohttp.ClientError):
                await dial(client, stranger, target.address, expected=None, connect=board.connect)
    finally:
        await target.stop()
