"""A partner gone rogue: a node id our target school has partnered with, whose key the
test holds, so that it can send the target any frame it likes over a real session."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest

from node.partners.peerbook import PeerBook
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
