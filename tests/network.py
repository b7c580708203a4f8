"""Real nodes in this test process: real SQLite files, real loopback ports.

`LiveNode`, `partner` and `sparse_graph` are bench/live.py's (the benchmarks use them too);
they are named here so that tests import them from one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from bench.live import LiveNode as LiveNode
from bench.live import partner as partner
from bench.live import sparse_graph as sparse_graph
from node.node import Node
from node.store.database import Store
from node.store.holding import EVERYTHING_MODE, SETTING, Choice

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


async def introduced(nodes: list[LiveNode]) -> None:
    """Wait until every node holds every other node's profile (names show, not ids)."""
    profiles = [await live.profile_id() for live in nodes]

    async def all_held() -> bool:
        return all([await live.holds(p) for live in nodes for p in profiles])

    await wait_for(all_held, what="every school's profile everywhere")
