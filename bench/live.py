"""Real nodes in one process on loopback ports, for the benchmarks and the tests.

tests/network.py builds its networks of schools on these.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import sqlite3
import weakref
from pathlib import Path
from typing import ClassVar

from node.clock import now_ms
from node.net.server import NodeService
from node.node import Node
from node.store.holding import choose
from protocol.entry import Entry, create_entry
from protocol.keys import EntryId, NodeKey

#: Where live nodes listen.
HOST = "127.0.0.1"


def reserve_port() -> socket.socket:
    """A socket bound to a free loopback port that never listens: the port's reservation.

    While it is open, Linux gives that port to no socket that asks for any free one (a
    listener on port 0, an outgoing connection), in this process or another (the other
    pytest-xdist workers, another run on the machine), so a node stopped and started
    again finds its port free; yet a listener that sets SO_REUSEADDR, as asyncio's
    servers do on POSIX, may bind it beside the reservation, which does not listen."""
    reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.bind((HOST, 0))
    return reservation


def port_of(reservation: socket.socket) -> int:
    port: int = reservation.getsockname()[1]
    return port


def _can_listen(port: int) -> bool:
    """Whether a server could listen on ``port`` now (beside its reservation)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
            probe.listen()
        except OSError:
            return False
    return True


def listening_port(held: socket.socket | None) -> socket.socket | None:
    """The reservation of the port to listen on: ``held`` if a server can listen on its
    port, else a new one; None where no server may bind beside a reservation (a system
    whose SO_REUSEADDR is not Linux's): then any free port, unreserved."""
    if held is not None and _can_listen(port_of(held)):
        return held
    fresh = reserve_port()
    if _can_listen(port_of(fresh)):
        return fresh
    fresh.close()
    return None


class LiveNode:
    #: Every node started in this process and not stopped: told by a node that had to
    #: move to a new port (:meth:`restart`).
    running: ClassVar[weakref.WeakSet[LiveNode]] = weakref.WeakSet()
    #: Old address to new, of every node that moved: a node started again later finds
    #: its partners' new addresses here, as a school's IT would be told by theirs.
    moved: ClassVar[dict[str, str]] = {}

    def __init__(self, node: Node, service: NodeService, port: socket.socket | None = None) -> None:
        self.node = node
        self.service = service
        self.stopped = False
        self._loop = asyncio.get_running_loop()  # whose partners it may tell (restart)
        self._port: socket.socket | None = None
        self._hold(port)
        LiveNode.running.add(self)
        if service.address is not None:
            LiveNode.moved.pop(service.address, None)  # a new node there: no one's old one

    def _hold(self, port: socket.socket | None) -> None:
        """Keep ``port`` reserved (and the reservation held before released) until this
        node is dropped: stopped, it is this node's still, for :meth:`restart`."""
        if port is self._port:
            return
        if self._port is not None:
            self._port.close()
        self._port = port
        if port is not None:
            weakref.finalize(self, port.close)

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
        port = listening_port(None) if listen else None
        service = NodeService(node)
        await service.start(listen=listen, host=HOST, port=0 if port is None else port_of(port))
        return cls(node, service, port)

    @property
    def address(self) -> str | None:
        return self.service.address

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            LiveNode.running.discard(self)
            await self.service.stop()
            await self.node.close()

    async def restart(self) -> None:
        """Start again on the same data folder and port (reserved meanwhile).

        If a server of another program listens on that port by now, the node moves to a
        new one, and its partners (running, or started again later) are given the new
        address, as a school that moved tells its partners: it is not a test's point
        that a node stopped keeps its port, but every test that stops a node expects its
        partners to reach it again (docs/architecture.md, tests/)."""
        old = self.service.address
        self.node = await Node.open(self.node.data.path)
        for partner in await self.node.peerbook.list():
            if partner.address in LiveNode.moved:
                await self.node.peerbook.add(
                    partner.node_id, LiveNode.moved[partner.address], now_ms()
                )
        port = listening_port(self._port) if old is not None else None
        self._hold(port)
        self.service = NodeService(self.node)
        await self.service.start(
            listen=old is not None, host=HOST, port=0 if port is None else port_of(port)
        )
        self.stopped = False
        self._loop = asyncio.get_running_loop()
        LiveNode.running.add(self)
        new = self.service.address
        if old is not None and new is not None and new != old:
            LiveNode.moved.pop(new, None)
            LiveNode.moved[old] = new
            for other in list(LiveNode.running):
                if other is not self and other._loop is self._loop:
                    known = await other.node.peerbook.get(self.node.node_id)
                    if known is not None and known.address == old:
                        await other.node.peerbook.add(self.node.node_id, new, now_ms())

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
