"""Clock size: what each side sends at the start of every session, by authors held.

A session opens with each side's full clock (docs/protocol.md, "Sync", step 1):
one ``[author, seq, head id]`` pair per author held, built by the same
``protocol.replication.clock_frames`` that node/session.py sends. So it grows
linearly with the number of schools in the network, whatever changed since the
two partners last met. Prints, for 10 to 10,000 known authors (and 200,000, about
every school in Europe, as one figure), the bytes of the clock frames, bytes per
author, and the time to encode and decode them on this machine.
Last line: ``RESULT {json}``. Usage: python bench/clock_size.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import frames
from protocol.keys import NodeId
from protocol.replication import clock_frames

EUROPE = 200_000
SEED = 7


def heads(authors: int, rng: random.Random) -> list[tuple[NodeId, int, bytes]]:
    """``authors`` heads with log lengths spread like a network a few years old (1 to 5,000)."""
    return [
        (
            NodeId(hashlib.blake2b(i.to_bytes(4, "big"), digest_size=32).digest()),
            int(rng.paretovariate(1.2)) if rng.random() < 0.9 else rng.randint(1, 5000),
            hashlib.blake2b(i.to_bytes(4, "big"), digest_size=32, person=b"id").digest(),
        )
        for i in range(authors)
    ]


def measure(authors: int, rng: random.Random) -> dict[str, float]:
    """Bytes and seconds of one side's clock with ``authors`` heads."""
    held = heads(authors, rng)
    start = time.perf_counter()
    wires = [frames.encode(f) for f in clock_frames(held)]
    encoded = time.perf_counter() - start
    start = time.perf_counter()
    for wire in wires:
        frames.decode(wire)
    decoded = time.perf_counter() - start
    size = sum(len(w) for w in wires)
    return {
        "authors": authors,
        "frames": len(wires),
        "bytes": size,
        "bytes_per_author": round(size / max(authors, 1), 1),
        "encode_ms": round(encoded * 1000, 2),
        "decode_ms": round(decoded * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="up to 10,000 authors (a second)")
    args = parser.parse_args()
    rng = random.Random(SEED)
    sizes = [10, 100, 1000, 10_000] + ([] if args.quick else [EUROPE])
    result = {str(n): measure(n, rng) for n in sizes}
    columns = ("authors", "frames", "bytes", "per author", "encode", "decode")
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (8, 6, 11, 10, 9, 9), strict=True)))
    for r in result.values():
        print(
            f"{r['authors']:>8,} {r['frames']:>6} {r['bytes']:>11,} {r['bytes_per_author']:>10} "
            f"{r['encode_ms']:>7} ms {r['decode_ms']:>6} ms"
        )
    print("RESULT " + json.dumps({"sizes": result}))


if __name__ == "__main__":
    main()
