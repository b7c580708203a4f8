"""A partner gone rogue: a node id our target school has partnered with, whose key the
test holds, so that it can send the target any frame it likes over a real session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

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


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
