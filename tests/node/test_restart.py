"""A node stopped and started again (``LiveNode.restart``) is reached by its partners:
on its port, held for it meanwhile, or on a new one when another program took it
(docs/architecture.md, tests/)."""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path

import pytest

from tests.helpers import offer_content
from tests.network import LYCEE, OAK, LiveNode, network, sessions_open, wait_for


def port(live: LiveNode) -> int:
    assert live.address is not None
    return int(live.address.rsplit(":", 1)[1])


@pytest.mark.skipif(sys.platform != "linux", reason="Linux's SO_REUSEADDR holds the port")
async def test_a_stopped_node_keeps_its_port_from_other_sockets(tmp_path: Path) -> None:
    async with network(tmp_path, [OAK, LYCEE], [("oak", "lycee")]) as schools:
        oak = schools["oak"]
        address = oak.address
        await oak.stop()
        with socket.socket() as other, pytest.raises(OSError, match="in use") as refused:
            other.bind(("127.0.0.1", port(oak)))
        assert refused.value.errno == errno.EADDRINUSE
        await oak.restart()
        assert oak.address == address
        await sessions_open(oak, schools["lycee"])


@pytest.mark.parametrize("moved", [["oak"], ["oak", "lycee"]])
async def test_a_node_whose_port_another_program_took_is_reached_on_a_new_one(
    tmp_path: Path, moved: list[str]
) -> None:
    """One school moves while its partner runs (the partner is told), or both move
    while both are stopped (each is told when it starts again)."""
    async with network(tmp_path, [OAK, LYCEE], [("oak", "lycee")]) as schools:
        oak, lycee = schools["oak"], schools["lycee"]
        old = {key: schools[key].address for key in moved}
        for key in moved:
            await schools[key].stop()
        takers = []
        try:
            for key in moved:  # a server of another program, where the node listened
                taker = socket.socket()
                takers.append(taker)
                taker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                taker.bind(("127.0.0.1", port(schools[key])))
                taker.listen()
            for key in moved:
                await schools[key].restart()
            for key in moved:
                assert schools[key].address != old[key]
            await sessions_open(oak, lycee)
            for here, there in ((oak, lycee), (lycee, oak)):
                known = await there.node.peerbook.get(here.node.node_id)
                assert known is not None
                assert known.address == here.address
            posted = await oak.node.offers.post("offer", offer_content("After the move"))

            async def arrived() -> bool:
                return await lycee.holds(posted.id)

            await wait_for(arrived, what="oak's offer at the lycée")
        finally:
            for taker in takers:
                taker.close()
