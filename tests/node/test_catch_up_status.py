"""The status of a peer after a catch-up (node/net/peers.py, ``progress``): how far
behind it we are is counted only when a report is written, at most twice a second per
peer, and the last state is always written, if half a second late."""

from pathlib import Path

from node.clock import now_ms
from tests.helpers import history, key
from tests.network import LiveNode, partner, wait_for


async def test_the_status_says_caught_up_once_the_catch_up_ends(tmp_path: Path) -> None:
    a = await LiveNode.start(tmp_path / "a", "A")
    b = await LiveNode.start(tmp_path / "b", "B")
    try:
        missed = history(key(9), 3000)
        await a.node.store.ingest(missed, now_ms())
        await partner(a, b)
        await wait_for(lambda: b.holds(missed[-1].id), within=60, what="B to catch up")
        # Reports were asked for after each of the 12 batches, most of them within
        # half a second of the one before: the last is written all the same.

        async def caught_up() -> bool:
            status = (await b.node.peerbook.statuses()).get(a.node.node_id)
            return status is not None and status.connected and status.behind == 0

        await wait_for(caught_up, what="B's status of A to say it is caught up")
    finally:
        await b.stop()
        await a.stop()
