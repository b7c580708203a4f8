"""Real nodes in one process on loopback ports, for the benchmarks and the tests.

tests/network.py builds its networks of schools on these.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

from node.clock import now_ms
from node.net.server import NodeService
from node.node import Node
from node.store.holding import choose
from protocol.entry import Entry, create_entry
from protocol.keys import EntryId, NodeKey


class LiveNode:
    def __init__(self, node: Node, service: NodeService) -> None:
        self.node = node
        self.service = service
        self.stopped = False

    @classmethod
    async def start(
        cls,
        path: Path,
        name: str,
        *,
        country: str = "GB",
        listen: bool = True,
        holding: str | None = None,
    ) -> LiveNode:
        """A node started; ``holding``: what it holds if not the default (``everything``
        for a test of replication, where holding by horizon is not the point)."""
        node = await Node.create(path, name=name, country=country)
        if holding is not None:
            await choose(node.store, holding, (), ())
        service = NodeService(node)
        await service.start(listen=listen)
        return cls(node, service)

    @property
    def address(self) -> str | None:
        return self.service.address

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.service.stop()
            await self.node.close()

    async def restart(self) -> None:
        """Start again on the same data folder and port."""
        listen = self.service.address is not None
        port = int(self.service.address.rsplit(":", 1)[1]) if self.service.address else 0
        self.node = await Node.open(self.node.data.path)
        self.service = NodeService(self.node)
        await self.service.start(listen=listen, port=port)
        self.stopped = False

    async def profile_id(self) -> EntryId:
        head = await self.node.store.entries_after(self.node.node_id, 0, 1)
        return head[0].id

    async def holds(self, entry_id: EntryId) -> bool:
        return await self.node.store.get(entry_id) is not None


async def partner(a: LiveNode, b: LiveNode) -> None:
    """Record the partnership on both sides, as a redeemed invite does."""
    await a.node.peerbook.add(b.node.node_id, b.address, now_ms())
    await b.node.peerbook.add(a.node.node_id, a.address, now_ms())


def sparse_graph(count: int, degree: int, seed: int) -> set[tuple[int, int]]:
    """A connected random graph: a random spanning tree plus extra edges up to ~degree."""
    rng = random.Random(seed)
    order = list(range(count))
    rng.shuffle(order)
    edges = {tuple(sorted((order[i], rng.choice(order[:i])))) for i in range(1, count)}
    while len(edges) < count * degree // 2:
        a, b = rng.sample(range(count), 2)
        edges.add(tuple(sorted((a, b))))
    return edges  # type: ignore[return-value]


def schools_offers(count: int, *, first: int = 0, at_ms: int | None = None) -> list[Entry]:
    """One offer each of ``count`` made-up schools (keys from their numbers, from
    ``first``), signed a second apart ending at ``at_ms`` (an hour ago by default):
    for holding many authors' heads at once (:func:`hold`)."""
    end = now_ms() - 3_600_000 if at_ms is None else at_ms
    return [
        create_entry(
            school_key(n),
            seq=1,
            prev=None,
            timestamp=end - (count - i) * 1000,
            kind="offer",
            content={"activity": "observation", "title": f"Open lessons at school {n}"},
        )
        for i, n in enumerate(range(first, first + count))
    ]


def school_key(n: int) -> NodeKey:
    """The key of made-up school number ``n`` (:func:`schools_offers`)."""
    return NodeKey(hashlib.blake2b(n.to_bytes(8, "big"), digest_size=32).digest())


async def hold(node: Node, entries: list[Entry], *, loose: bool = False) -> None:
    """Store each author's first entries directly, as if they had arrived, in one
    transaction: without a session's verification, budget or batching, and not indexed
    for search, so that a test or a bench gives a node thousands of authors in a second.
    ``entries``: each author's log from 1, in order, of authors the node does not hold;
    or, ``loose``, entries held alone (as if they had passed by): no head moves."""
    received = now_ms()
    rows = [
        (
            bytes(e.id),
            bytes(e.author),
            e.seq,
            e.kind,
            e.payload.timestamp,
            e.payload_bytes,
            e.signature,
            e.content_bytes,
            received,
        )
        for e in entries
    ]
    newest = {bytes(e.author): e for e in entries}
    heads = [(a, e.seq, bytes(e.id)) for a, e in newest.items()]

    def insert(conn: sqlite3.Connection) -> None:
        conn.executemany(
            "INSERT INTO entries (id, author, seq, kind, ts, payload, sig, content, received_at,"
            " loose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, int(loose)) for row in rows],
        )
        if not loose:
            conn.executemany("INSERT INTO heads (author, seq, id) VALUES (?, ?, ?)", heads)
            node.store.touched(e.author for e in newest.values())

    await node.store.write(insert)
