"""The status report shared by ``schoolmesh status`` and the status page."""

from pathlib import Path

import pytest

from node.clock import now_ms
from node.node import Node
from node.partners.peerbook import PeerBook
from node.status import report, trouble
from tests.helpers import key


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
