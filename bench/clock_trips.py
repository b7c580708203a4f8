"""What a peer's clock frame carrying head ids costs the receiver's database, by the
pairs it carries: the figures behind ``replication.MIN_ID_CLOCK_PAIRS``.

A node compares each pair with an id of a peer's clock frame with the entry it holds
there, in one trip to the database per frame (``_others_under`` in node/net/session.py,
run by ``Store.read``). This times that trip for frames of 1 to 4,096 pairs, naming
authors the node does not hold (what a hostile peer can name without end) and authors
it holds, under their right ids (an honest clock), in a store holding ``--authors``
schools' entries. Prints microseconds per frame and per pair; last line
``RESULT {json}``. Usage: python bench/clock_trips.py [--authors N] [--frames N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live import hold
from bench.sync_throughput import corpus
from node.net.session import _others_under
from node.node import Node
from protocol.keys import NodeId

SIZES = (1, 8, 32, 64, 128, 512, 4096)


async def measure(authors: int, trips: int) -> dict[str, dict[int, float]]:
    with tempfile.TemporaryDirectory() as folder:
        node = await Node.create(Path(folder) / "node", name="Node", country="FR")
        entries = corpus(authors * 4, authors)
        await hold(node, entries)
        held = [(e.author, e.seq, bytes(e.id)) for e in entries if e.seq == 4]
        results: dict[str, dict[int, float]] = {"unknown": {}, "held": {}}
        for size in SIZES:
            for what, heads in (
                ("unknown", [(NodeId(os.urandom(32)), 4, os.urandom(32)) for _ in range(size)]),
                ("held", [held[i % len(held)] for i in range(size)]),
            ):
                read = partial(_others_under, heads)
                await node.store.read(read)
                count = max(20, trips // size)
                start = time.perf_counter()
                for _ in range(count):
                    await node.store.read(read)
                results[what][size] = (time.perf_counter() - start) / count * 1e6
        await node.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", type=int, default=20_000)
    parser.add_argument("--frames", type=int, default=20_000, help="trips of one pair timed")
    args = parser.parse_args()
    results = asyncio.run(measure(args.authors, args.frames))
    for what, by_size in results.items():
        for size, us in by_size.items():
            print(f"{what:8} {size:5d} pairs: {us:8.1f} us a frame, {us / size:6.2f} us a pair")
    print("RESULT " + json.dumps({"authors": args.authors, "us_per_frame": results}))


if __name__ == "__main__":
    main()
