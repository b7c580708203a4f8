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

from bench.live import LiveNode as LiveNode
from bench.live import partner as record_partners
from bench.live import sparse_graph as sparse_graph
from node.net.memory import Switchboard
from node.store.database import Store

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
    """Check ``condition`` until it holds; return the seconds it took. Bounded by ``within``.

    It is checked only on committed states: while it runs, it holds the write lock of
    every store open on this loop, taken when none is held or awaited (so no
    transaction is half done when it reads: a read on a node's connection during
    another task's transaction would see that transaction's first statements). It is
    checked again after each commit on this loop, and at least every 50 ms for what no
    commit here shows (sessions, other processes). A check must only read: one that
    writes would wait for the locks it runs under, and time out here."""
    loop = asyncio.get_running_loop()
    bell = asyncio.Event()
    with _WATCH:
        _BELLS.setdefault(loop, set()).add(bell)
    start = time.monotonic()
    try:
        while (left := within - (time.monotonic() - start)) > 0:
            bell.clear()
            locks = await _take_write_locks(loop)
            if locks is not None:
                check = asyncio.ensure_future(condition())
                try:
                    await asyncio.wait([check], timeout=left)
                    if not check.done():
                        stuck = any(lock._waiters for lock in locks)
                        check.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await check
                        if stuck:
                            raise AssertionError(
                                f"timed out waiting for {what}: the check did not finish, "
                                "and a write lock it runs under is awaited (a check must "
                                "only read)"
                            )
                        break
                    if check.result():
                        return time.monotonic() - start
                finally:
                    check.cancel()  # done already, unless this wait was cancelled
                    for lock in locks:
                        lock.release()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(0.05, max(left, 0))):
                    await bell.wait()
    finally:
        with _WATCH:
            _BELLS[loop].discard(bell)
            if not _BELLS[loop]:
                del _BELLS[loop]
    raise AssertionError(f"timed out after {within}s waiting for {what}")


# -- the stores wait_for watches: every one this process opens (Store.opened) --------

_WATCH = threading.Lock()  # commands run in this process open stores on their own thread
_STORES: weakref.WeakKeyDictionary[Store, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()
_BELLS: dict[asyncio.AbstractEventLoop, set[asyncio.Event]] = {}


def _watch(store: Store) -> None:
    loop = asyncio.get_running_loop()
    with _WATCH:
        _STORES[store] = loop
    store.add_listener(lambda _authors: _ring(loop))


def _ring(loop: asyncio.AbstractEventLoop) -> None:
    """A store on ``loop`` committed (called on that loop): check the conditions again."""
    with _WATCH:
        bells = list(_BELLS.get(loop, ()))
    for bell in bells:
        bell.set()


async def _take_write_locks(loop: asyncio.AbstractEventLoop) -> list[asyncio.Lock] | None:
    """The write locks of the stores open on ``loop``, all taken without waiting (a
    free lock no task awaits is taken at once: no other task runs in between), or None
    (and none taken) when one is held or awaited."""
    with _WATCH:
        stores = [store for store, on in _STORES.items() if on is loop]
    locks = [store._write_lock for store in stores]
    if any(lock.locked() or lock._waiters for lock in locks):
        return None
    for lock in locks:
        await lock.acquire()
    return locks


Store.opened.append(_watch)


async def introduced(nodes: list[LiveNode]) -> None:
    """Wait until every node holds every other node's profile (names show, not ids)."""
    profiles = [await live.profile_id() for live in nodes]

    async def all_held() -> bool:
        return all([await live.holds(p) for live in nodes for p in profiles])

    await wait_for(all_held, what="every school's profile everywhere")
