"""What the fault tests share: two partner schools whose reconnect waits are short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import tests.network
from node.net.backoff import Backoff
from tests.network import LiveNode, introduced, partner

SCALE = 0.02  # backoff in fiftieths: the 38-50 s hold-off becomes about a second


@pytest.fixture(autouse=True)
def real_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """End-to-end: partners' sessions on real WebSockets, whose faults these are."""
    monkeypatch.setattr(tests.network, "IN_MEMORY", False)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary")
    b = await LiveNode.start(tmp_path / "b", "Lycée Jean Moulin", country="FR")
    for live in (a, b):
        live.service.peers.new_backoff = lambda: Backoff.scaled(SCALE)
    try:
        await partner(a, b)
        await introduced([a, b])
        yield a, b
    finally:
        await b.stop()
        await a.stop()
