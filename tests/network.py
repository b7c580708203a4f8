"""Real nodes in this test process: real SQLite files, pages on real loopback ports.

`LiveNode` and `sparse_graph` are bench/live.py's (the benchmarks use them too); they
are named here so that tests import them from one place.

Partners' sessions run in memory (node/net/memory.py): :func:`partner` joins both nodes
to one :class:`~node.net.memory.Switchboard`, so that a dial between them takes no
socket, with the same handshake, authorisation, sessions and dial loops. Pages are
still served on the loopback port, and the tiers whose point is the socket (tests/web,
tests/faults) keep real WebSockets (:data:`IN_MEMORY`), as do the rogue peers of
tests/hostile, which dial on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from bench.live import LiveNode as LiveNode
from bench.live import partner as record_partners
from bench.live import sparse_graph as sparse_graph
from node.net.memory import Switchboard
from node.net.session import PeerSession
from node.node import Node
from node.store.database import Store
from node.store.holding import EVERYTHING_MODE, SETTING, Choice

#: Where the partners of this test process reach each other in memory.
SWITCHBOARD = Switchboard()
#: False in the tiers whose point is the socket: their conftest's ``real_sockets``.
IN_MEMORY = True


async def partner(a: LiveNode, b: LiveNode) -> None:
    """Record the partnership on both sides, as a redeemed invite does; the two dial
    each other in memory (unless :data:`IN_MEMORY` is off: by WebSockets)."""
    if IN_MEMORY:
        for live in (a, b):
            SWITCHBOARD.join(live.service.peers, live.address)
    await record_partners(a, b)


#: For a test whose point is not what a node holds: every public entry, whole, as
#: every node held before issue 23 (``LiveNode.start(..., holding=EVERYTHING)``).
EVERYTHING = EVERYTHING_MODE


async def holding_everything(held: Node | Store) -> None:
    """Make a node (or a bare store) hold every public entry it is given, whole: for
    tests of made-up schools' entries ingested where holding is not the point."""
    store = held.store if isinstance(held, Node) else held
    await store.set_setting(SETTING, Choice(EVERYTHING_MODE).encode())


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
    *,
    holding: str | None = None,
) -> AsyncIterator[dict[str, LiveNode]]:
    """Schools started, partnered as given and holding each other's profiles; stopped
    after. ``holding``: what they hold, when not the default (:data:`EVERYTHING`)."""
    nodes = {
        key: await LiveNode.start(folder / key, name, country=country, holding=holding)
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


@asynccontextmanager
async def started(folder: Path, names: Iterable[str]) -> AsyncIterator[dict[str, LiveNode]]:
    """A school for each of ``names`` (its name, titled, as the school's), started in
    ``folder`` and not partnered; every one started is stopped after."""
    nodes: dict[str, LiveNode] = {}
    try:
        for name in names:
            nodes[name] = await LiveNode.start(folder / name, name.title())
        yield nodes
    finally:
        for live in nodes.values():
            await live.stop()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, within: float = 15.0, what: str = "condition"
) -> float:
    """Check ``condition`` until it holds; return the seconds it took. Bounded by ``within``.

    It is checked after each commit on this loop, and at least every 50 ms for what no
    commit here shows (sessions, other processes); and it counts only when it read
    committed states: when no store open on this loop was in a write transaction
    while it ran (none held its write lock before, none took it meanwhile). A read on
    a node's connection during another task's transaction would see that
    transaction's first statements. A check must only read: one that writes never
    counts, and fails when the time is up, saying so."""
    loop = asyncio.get_running_loop()
    bell = asyncio.Event()
    with _WATCH:
        _BELLS.setdefault(loop, set()).add(bell)
    start = time.monotonic()
    checked = discarded = 0
    try:
        while (left := within - (time.monotonic() - start)) > 0:
            bell.clear()
            before = _writes(loop)
            if before is not None:
                holds = await condition()
                checked += 1
                if _writes(loop) != before:
                    discarded += 1  # a transaction began while it read: check again
                elif holds:
                    return time.monotonic() - start
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(0.05, left)):
                    await bell.wait()
    finally:
        with _WATCH:
            _BELLS[loop].discard(bell)
            if not _BELLS[loop]:
                del _BELLS[loop]
    if checked and discarded == checked:
        raise AssertionError(
            f"timed out after {within}s waiting for {what}: a write began during each "
            "check (a check must only read)"
        )
    raise AssertionError(f"timed out after {within}s waiting for {what}")


# -- the stores wait_for watches: every one this process opens (Store.opened) --------


class _CountedLock(asyncio.Lock):
    """A store's write lock that counts the times it is taken."""

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        # Counted once taken, not when asked: a task queued for the lock before a
        # check began may take it (and commit or roll back) while the check reads.
        self.taken += 1
        return True


_WATCH = threading.Lock()  # commands run in this process open stores on their own thread
_STORES: weakref.WeakKeyDictionary[Store, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()
_BELLS: dict[asyncio.AbstractEventLoop, set[asyncio.Event]] = {}


def _watch(store: Store) -> None:
    """A store was opened (it holds no lock now): count its writes, ring at its commits."""
    loop = asyncio.get_running_loop()
    store._write_lock = _CountedLock()
    with _WATCH:
        _STORES[store] = loop
    store.add_listener(lambda _authors: _ring(loop))


def _ring(loop: asyncio.AbstractEventLoop) -> None:
    """A store on ``loop`` committed (called on that loop): check the conditions again."""
    with _WATCH:
        bells = list(_BELLS.get(loop, ()))
    for bell in bells:
        bell.set()


def _writes(loop: asyncio.AbstractEventLoop) -> list[tuple[int, int]] | None:
    """Each store open on ``loop`` with the number of write transactions begun in it,
    or None while one is under way (or waiting to begin)."""
    with _WATCH:
        stores = [store for store, on in _STORES.items() if on is loop]
    counts = []
    for store in stores:
        lock = store._write_lock
        if lock.locked() or not isinstance(lock, _CountedLock):
            return None
        counts.append((id(store), lock.taken))
    return counts


Store.opened.append(_watch)


def session_of(school: LiveNode, peer: LiveNode) -> PeerSession:
    """``school``'s open session with ``peer`` (KeyError if there is none)."""
    return school.service.peers.sessions[peer.node.node_id]


async def sessions_open(a: LiveNode, b: LiveNode) -> None:
    """Wait until ``a`` and ``b`` each hold an opened session with the other."""

    async def opened() -> bool:
        mine = a.service.peers.sessions.get(b.node.node_id)
        theirs = b.service.peers.sessions.get(a.node.node_id)
        return mine is not None and mine.opened and theirs is not None and theirs.opened

    await wait_for(opened, what="a session opened at both ends")


async def introduced(nodes: list[LiveNode]) -> None:
    """Wait until every node holds every other node's profile (names show, not ids)."""
    profiles = [await live.profile_id() for live in nodes]

    async def all_held() -> bool:
        return all([await live.holds(p) for live in nodes for p in profiles])

    await wait_for(all_held, what="every school's profile everywhere")
