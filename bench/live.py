"""Real nodes in one process on loopback ports, for the benchmarks and the tests.

tests/network.py builds its networks of schools on these.
"""

from __future__ import annotations

import random
from pathlib import Path

from node.clock import now_ms
from node.net.server import NodeService
from node.node import Node
from protocol.keys import EntryId


class LiveNode:
    def __init__(self, node: Node, service: NodeService) -> None:
        self.node = node
        self.service = service
        self.stopped = False

    @classmethod
    async def start(
        cls, path: Path, name: str, *, country: str = "GB", listen: bool = True
    ) -> LiveNode:
        node = await Node.create(path, name=name, country=country)
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
