"""The rogue's client (tests/rogue.py) leaves nothing open for a later test to trip on."""

from __future__ import annotations

from tests.network import LiveNode
from tests.rogue import rogue_client


async def test_its_websockets_leave_no_connection_holding_a_socket(target: LiveNode) -> None:
    assert target.address is not None
    async with rogue_client() as client:
        ws = await client.ws_connect(target.address + "/peer")  # never closed by the test
    connection = ws._response.connection
    # A connection still holding its protocol warns "Unclosed connection" when collected.
    assert connection is None or connection.protocol is None
