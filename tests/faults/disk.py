"""A full disk for real SQLite files, without privileges (issue 20, item 1).

``PRAGMA max_page_count`` caps how far one connection may grow its database: past
it, SQLite refuses the write with a genuine SQLITE_FULL ("database or disk is
full"), as it does when the disk itself is full, and rolls the transaction back.
Raising the cap again is the disk getting room back. tests/faults/test_full_disk.py
also fills a real small filesystem (tmpfs in a user namespace) where the system
allows it.
"""

from __future__ import annotations

from node.node import Node
from protocol.errors import DiskFullError

#: Long enough that each offer needs pages of its own (an overflow chain).
LONG_TEXT = "We would welcome two teachers for a morning of phonics lessons. " * 90
NO_LIMIT = 1_073_741_823  # SQLite's default max_page_count


async def cap(node: Node) -> int:
    """Let the database grow no further than it is now; return its size in pages."""
    pages = int((await node.store.fetch_one("PRAGMA page_count"))[0])
    await node.store.fetch_one(f"PRAGMA max_page_count = {pages}")
    return pages


async def fill(node: Node) -> DiskFullError:
    """Cap the database, then post long offers until the "disk" is full; return the
    refusal. Afterwards no offer as long as these fits in what is left."""
    await cap(node)
    for i in range(200):
        try:
            await node.offers.post("offer", long_offer(f"Filler {i}"))
        except DiskFullError as exc:
            return exc
    raise AssertionError("the capped database never filled up")


async def make_room(node: Node) -> None:
    """The disk has room again."""
    await node.store.fetch_one(f"PRAGMA max_page_count = {NO_LIMIT}")


def long_offer(title: str) -> dict[str, str]:
    return {"activity": "observation", "title": title, "text": LONG_TEXT}
