"""Real nodes in this test process: real SQLite files, real loopback ports."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from node.clock import now_ms
from node.net.server import NodeService
from node.node import Node
from node.partners.peerbook import PeerBook
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
    await PeerBook(a.node.store).add(b.node.node_id, b.address, now_ms())
    await PeerBook(b.node.store).add(a.node.node_id, a.address, now_ms())


def files_contain(folder: Path, needle: bytes) -> list[str]:
    """Names of the files under ``folder`` whose bytes contain ``needle``."""
    return [p.name for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


#: Schools of the letter tests: (key, name, country).
OAK = ("oak", "Oakfield Primary", "GB")
LYCEE = ("lycee", "Lycée Jean Moulin", "FR")
COLEGIO = ("colegio", "Colegio San Marcos", "ES")
GESAMT = ("gesamt", "Gesamtschule Nord", "DE")


@asynccontextmanager
async def network(
    folder: Path,
    schools: Iterable[tuple[str, str, str]],
    partnerships: Iterable[tuple[str, str]],
) -> AsyncIterator[dict[str, LiveNode]]:
    """Schools started, partnered as given and holding each other's profiles; stopped after."""
    nodes = {
        key: await LiveNode.start(folder / key, name, country=country)
        for key, name, country in schools
    }
    try:
        for a, b in partnerships:
            await partner(nodes[a], nodes[b])
        await introduced(list(nodes.values()))
        yield nodes
    finally:
        for live in nodes.values():
            await live.stop()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, within: float = 15.0, what: str = "condition"
) -> float:
    """Poll until ``condition`` holds; return the seconds it took. Bounded by ``within``."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if await condition():
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


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


async def introduced(nodes: list[LiveNode]) -> None:
    """Wait until every node holds every other node's profile (names show, not ids)."""
    profiles = [await live.profile_id() for live in nodes]

    async def all_held() -> bool:
        return all([await live.holds(p) for live in nodes for p in profiles])

    await wait_for(all_held, what="every school's profile everywhere")
