"""Session start bytes between two real nodes on loopback, by authors held.

Two nodes hold the same ``n`` schools' heads (100, 1,000, 10,000; 100,000 without
``--quick``), and differ by three: the dialler holds a newer offer of one school and
a school the other lacks, the listener a school the dialler lacks (each also holds
its own profile, which the other lacks: five heads differ in all). They are
partnered, and the bench waits until both hold everything. It prints, for the
session start by reconciliation of heads (both announce ``reconcile``) and for the
full clock (one node's features switched off, as a node that predates them), the
bytes each side sent until it had said what it holds (``start``: reconcile frames
and the clock of the heads that differ, or the full clock), and all the session's
bytes once level. It also times the node's shared head cache (node/net/heads.py):
loading every head from the database once, taking a snapshot after a new school's
head came, after the head of a school in the middle of the order moved, and when
nothing moved, on an idle node, against a bare sqlite3 read of
the same rows on one core (the kind of figure /work/shared/bench/limits.py measures).
Last line: ``RESULT {json}``. Usage: python bench/session_start.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live import LiveNode, hold, partner, school_key, schools_offers
from node.clock import now_ms
from node.net.heads import HEADS_QUERY
from node.store.holding import EVERYTHING_MODE
from protocol.entry import Entry, create_entry

WITHIN_S = 120.0


async def level(a: LiveNode, b: LiveNode, entries: list[Entry]) -> None:
    start = time.monotonic()
    while time.monotonic() - start < WITHIN_S:
        sessions = [*a.service.peers.sessions.values(), *b.service.peers.sessions.values()]
        if len(sessions) == 2 and all(s.sync.idle and s.opened for s in sessions):
            held = [await live.holds(e.id) for live in (a, b) for e in entries]
            if all(held):
                return
        await asyncio.sleep(0.05)
    raise TimeoutError("the two nodes did not level")


def next_offer(first: Entry, n: int) -> Entry:
    """School ``n``'s second offer, after ``first`` (bench.live.schools_offers)."""
    return create_entry(
        school_key(n),
        seq=2,
        prev=first.id,
        timestamp=first.payload.timestamp + 1000,
        kind="offer",
        content={"activity": "observation", "title": "A second open day"},
    )


async def pair(folder: Path, schools: list[Entry], *, reconcile: bool) -> dict[str, float]:
    n = len(schools) - 2
    common, only_a, only_b = schools[:n], schools[n], schools[n + 1]
    newer = next_offer(common[7], 7)
    a = await LiveNode.start(folder / "a", "Oakfield Primary", holding=EVERYTHING_MODE)
    b = await LiveNode.start(
        folder / "b", "Lycée Jean Moulin", country="FR", holding=EVERYTHING_MODE
    )
    try:
        if not reconcile:
            b.service.peers.features = frozenset()
        await hold(a.node, [*common, only_a])
        await hold(b.node, [*common, only_b])
        await a.node.store.ingest([newer], now_ms())
        cache: dict[str, float] = {}
        if reconcile:
            cache, extra = await time_cache(a, common)
            await hold(b.node, extra[0])  # held by both: they add no difference
            await b.node.store.ingest(extra[1], now_ms())
        await partner(a, b)
        await level(a, b, [newer, only_a, only_b])
        (sa,) = a.service.peers.sessions.values()
        (sb,) = b.service.peers.sessions.values()
        if reconcile:
            assert sa.start is not None, "the session did not reconcile"
            assert sa.start.done, "the reconciliation did not finish"
        else:
            assert sa.start is None, "the session reconciled with a node without the feature"
        return {
            "start_bytes": (sa.start_bytes or 0) + (sb.start_bytes or 0),
            "session_bytes": sa.bytes_sent + sb.bytes_sent,
            "messages": 0 if sa.start is None else sa.start.messages,
            **{k: round(v, 2) for k, v in cache.items()},
        }
    finally:
        await b.stop()
        await a.stop()


async def time_cache(
    live: LiveNode, held: list[Entry]
) -> tuple[dict[str, float], tuple[list[Entry], list[Entry]]]:
    """The head cache's snapshot, timed on an idle node: the first (every head loaded),
    one when nothing moved, one after a new school's head came, one after the head of
    a school in the middle of the order moved (medians of 5); and, as the floor, a
    bare sqlite3 read of the same rows on one core (the figures of limits.py are of the
    same kind: sqlite3, one thread). Returns the figures and what it added (new
    schools' offers, second offers), for the other node to hold too."""
    heads = live.service.peers.heads
    t = time.perf_counter()
    await heads.snapshot()
    figures = {"load_ms": (time.perf_counter() - t) * 1000}
    unchanged, new, moved = [], [], []
    extra: list[Entry] = []
    seconds: list[Entry] = []
    for i in range(5):
        t = time.perf_counter()
        await heads.snapshot()
        unchanged.append(time.perf_counter() - t)
        extra += schools_offers(1, first=10**9 + i)
        await hold(live.node, extra[-1:])
        t = time.perf_counter()
        await heads.snapshot()
        new.append(time.perf_counter() - t)
        n = len(held) // 2 + 1 + i  # schools_offers signs them in order of time
        seconds.append(next_offer(held[n], n))
        await live.node.store.ingest(seconds[-1:], now_ms())
        t = time.perf_counter()
        await heads.snapshot()
        moved.append(time.perf_counter() - t)
    figures["unchanged_ms"] = statistics.median(unchanged) * 1000
    figures["one_new_ms"] = statistics.median(new) * 1000
    figures["one_moved_ms"] = statistics.median(moved) * 1000
    with sqlite3.connect(live.node.store.path) as conn:
        t = time.perf_counter()
        conn.execute(HEADS_QUERY).fetchall()
        figures["bare_read_ms"] = (time.perf_counter() - t) * 1000
    return figures, (extra, seconds)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="up to 10,000 authors")
    args = parser.parse_args()
    sizes = [100, 1000, 10_000] + ([] if args.quick else [100_000])
    signed = schools_offers(max(sizes) + 2)
    result: dict[str, dict[str, dict[str, float]]] = {}
    print(
        f"{'authors':>8} {'start, reconcile':>17} {'start, full clock':>18} {'ratio':>7} "
        f"{'session, reconcile':>19} {'msgs':>5} {'load':>9} {'one new':>9} {'one moved':>10} "
        f"{'unchanged':>10}"
    )
    for n in sizes:
        schools = signed[:n] + signed[-2:]
        with tempfile.TemporaryDirectory() as folder:
            new = await pair(Path(folder) / "new", schools, reconcile=True)
            old = await pair(Path(folder) / "old", schools, reconcile=False)
        result[str(n)] = {"reconcile": new, "clock": old}
        ratio = old["start_bytes"] / max(new["start_bytes"], 1)
        print(
            f"{n:>8,} {new['start_bytes']:>17,.0f} {old['start_bytes']:>18,.0f} {ratio:>7.1f} "
            f"{new['session_bytes']:>19,.0f} {new['messages']:>5.0f} {new['load_ms']:>6.1f} ms "
            f"{new['one_new_ms']:>6.1f} ms {new['one_moved_ms']:>7.1f} ms "
            f"{new['unchanged_ms']:>7.1f} ms",
            flush=True,
        )
    largest = result[str(sizes[-1])]["reconcile"]
    print(
        f"loading {sizes[-1]:,} heads once: {largest['load_ms']:.1f} ms, "
        f"{largest['load_ms'] / largest['bare_read_ms']:.1f} x a bare sqlite3 read of the same "
        f"rows ({largest['bare_read_ms']:.1f} ms); a session start then reads only what moved"
    )
    print("RESULT " + json.dumps({"sizes": result}))


if __name__ == "__main__":
    asyncio.run(main())
