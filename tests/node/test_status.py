"""The status report shared by ``schoolmesh status`` and the status page."""

from pathlib import Path

import pytest

from node.clock import now_ms
from node.node import Node
from node.partners.peerbook import (
    ADDRESS_SETTING,
    HEARTBEAT_MS,
    HEARTBEAT_SETTING,
    PeerBook,
)
from node.status import report, trouble
from tests.helpers import Trips, key


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (None, None),
        ("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed]", "unreachable"),
        ("no answer in time", "timeout"),
        ("the connection closed during the handshake", "unreachable"),
        ("the node at that address is x, not the expected y", "identity"),
        ("the other node refused: this school has blocked your node", "refused"),
        ("the hello is too old ...: check both computers' clocks", "clock"),
        ("storage-full: the disk of this node is full: it takes nothing for now", "storage"),
        ("something new", "other"),
    ],
)
def test_a_peers_last_error_is_sorted_into_plain_kinds(error: str | None, kind: str) -> None:
    assert trouble(error) == kind


async def test_the_report_keeps_its_fields(tmp_path: Path) -> None:
    async with await Node.create(tmp_path / "a", name="Oakfield", country="GB") as node:
        other = key(7).node_id
        book = PeerBook(node.store)
        await book.add(other, "http://127.0.0.1:9", now_ms())
        await book.set_status(other, connected=False, behind=3, error="timed out", now_ms=1)
        got = await report(node)
    assert list(got) == [
        "node_id",
        "name",
        "running",
        "address",
        "entries",
        "authors",
        "partners",
        "peers",
        "equivocations",
        "restored",
        "forks",
        "fork_recovery",
        "storage",
        "tasks",
    ]
    assert got["running"] is False
    assert got["storage"]["state"] == "ok"
    assert got["tasks"] == []  # the node is not running
    assert got["peers"] == [
        {
            "node_id": str(other),
            "name": "",
            "address": "http://127.0.0.1:9",
            "connected": False,
            "last_seen": None,
            "behind": 3,
            "last_error": "timed out",
        }
    ]


async def test_the_partner_book_is_read_in_one_trip(tmp_path: Path) -> None:
    """Partners, names, sessions and whether the node runs: one trip (issue 21, item 2)."""
    async with await Node.create(tmp_path / "a", name="Oakfield", country="GB") as node:
        other, blocked = key(7).node_id, key(8).node_id
        await node.peerbook.add(other, "http://127.0.0.1:9", now_ms())
        await node.peerbook.block(blocked, node.node_id, now_ms())
        await node.peerbook.set_status(other, connected=True, behind=2, error=None, now_ms=5)
        with Trips(node.store) as trips:
            stopped = await node.peerbook.overview()
        assert trips.count == 1
        assert [(p.node_id, p.state) for p in stopped.partners] == [
            (other, "partner"),
            (blocked, "blocked"),
        ]
        assert stopped.names == {other: ("", ""), blocked: ("", "")}
        assert stopped.statuses[other].behind == 2
        assert (stopped.running, stopped.address) == (False, None)
        await node.store.set_setting(ADDRESS_SETTING, b"http://127.0.0.1:8443")
        assert await node.peerbook.running_address() is None  # no heartbeat: not running
        await node.store.set_setting(HEARTBEAT_SETTING, str(now_ms()).encode())
        running = await node.peerbook.overview()
        assert (running.running, running.address) == (True, "http://127.0.0.1:8443")
        assert await node.peerbook.is_running()
        stale = now_ms() - 3 * HEARTBEAT_MS - 1_000
        await node.store.set_setting(HEARTBEAT_SETTING, str(stale).encode())
        assert not await node.peerbook.is_running()
