"""A hub's storing alone: the CPU per entry of ``Store.ingest`` and of the search
indexing after it, without the network or the signature checks.

Stores the entries of ``bench/sync_throughput.py`` (offers from many schools, each log
in order) into a new node's database in batches of 256, as a catch-up session hands
them over, each rebuilt first as the verify process's answer is
(``entry_from_checked``); once all are stored, they are indexed for search, as the
indexer does when storing pauses (``Store.index_pending`` until none wait).
Prints the CPU time per entry of the database thread (aiosqlite's, where every
statement runs) and of the event loop (this thread), each split into storing and
indexing. These are the parts of ``cpu_us_by_part`` in ``bench/sync_throughput.py``
that this code decides, measured here without the noise of the rest
(docs/performance.md, issue 23 item 6, fifth step).

Last line: ``RESULT {json}``. Usage:
python bench/store_ingest.py [--quick] [--entries N] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sync_throughput import corpus
from node.clock import now_ms
from node.node import Node
from node.store.holding import EVERYTHING_MODE, choose
from protocol.entry import Entry, entry_from_checked

BATCH = 256


def thread_clock(ident: int) -> int:
    """The CPU clock of a thread of this process, by its ``threading`` ident."""
    return time.pthread_getcpuclockid(ident)


async def store_all(entries: list[Entry], folder: Path) -> dict[str, float]:
    """CPU seconds of the database thread and of the event loop, storing and indexing."""
    node = await Node.create(folder / "hub", name="Hub", country="FR")
    store = node.store
    await choose(store, EVERYTHING_MODE, (), ())
    db_clock = thread_clock(store._db._thread.ident)  # type: ignore[arg-type]
    loop_clock = time.CLOCK_THREAD_CPUTIME_ID
    spent = dict.fromkeys(("db_store", "db_index", "loop_store", "loop_index", "wall"), 0.0)

    async def timed(phase: str, work: Awaitable[object]) -> None:
        db, loop = time.clock_gettime(db_clock), time.clock_gettime(loop_clock)
        await work
        spent[f"db_{phase}"] += time.clock_gettime(db_clock) - db
        spent[f"loop_{phase}"] += time.clock_gettime(loop_clock) - loop

    # As the verify process hands them back: decoded again from checked bytes.
    wires = [e.encode() for e in entries]
    start = time.perf_counter()
    for i in range(0, len(wires), BATCH):
        batch = [entry_from_checked(w) for w in wires[i : i + BATCH]]
        await timed("store", store.ingest(batch, now_ms()))
    await timed("index", store.index_all())
    spent["wall"] = time.perf_counter() - start
    stored = await store.count_entries()
    await node.close()
    if stored != len(entries) + 1:  # and the hub's own profile
        raise SystemExit(f"stored {stored - 1} of {len(entries)} entries")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 entries (a few seconds)")
    parser.add_argument("--entries", type=int, help="how many (default 100,000 from 200 schools)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="store them this many times, each into a new "
        "database, and keep each part's least CPU (a shared machine adds, never takes away)",
    )
    args = parser.parse_args()
    count = args.entries or (10_000 if args.quick else 100_000)
    authors = 50 if count <= 10_000 else 200
    print(f"building {count:,} signed entries from {authors} schools...", flush=True)
    entries = corpus(count, authors)
    spent: dict[str, float] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
            run = asyncio.run(store_all(entries, Path(tmp)))
        spent = {part: min(run[part], spent.get(part, run[part])) for part in run}
    us = {part: round(seconds / count * 1e6, 1) for part, seconds in spent.items()}
    db, loop = us["db_store"] + us["db_index"], us["loop_store"] + us["loop_index"]
    print(
        f"database thread: {db:.1f} us of CPU per entry (storing {us['db_store']:.1f}, "
        f"indexing {us['db_index']:.1f})"
    )
    print(
        f"event loop: {loop:.1f} us of CPU per entry (storing {us['loop_store']:.1f}, "
        f"indexing {us['loop_index']:.1f})"
    )
    print(f"{count / spent['wall']:,.0f} entries/s by the wall clock")
    result = {
        "entries": count,
        "db_us_per_entry": round(db, 1),
        "db_store_us": us["db_store"],
        "db_index_us": us["db_index"],
        "loop_us_per_entry": round(loop, 1),
        "loop_store_us": us["loop_store"],
        "loop_index_us": us["loop_index"],
        "entries_per_s": round(count / spent["wall"]),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
