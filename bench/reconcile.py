"""Session start by set reconciliation: bytes and rounds by set size and differences.

Two sides hold 1,000 to 1,000,000 ids (10,000 to 100,000 with ``--quick``), the
same but for 0, 10 or 1,000 differences (half held only by one side, half only by
the other). They reconcile with ``protocol.reconcile`` in memory; the bench prints
the bytes both ways, the messages (rounds), the largest message and the CPU time
of both sides, next to today's session start for as many authors: each side's
full clock, measured by bench/clock_size.py's ``measure`` (the frames
node/session.py sends), both ways. The ratios say how many times fewer bytes and
less CPU reconciliation takes (``bytes_ratio``, ``cpu_ratio``).

An id here stands for one author's head (docs/scale.md, "Session start"): the
set of (timestamp, BLAKE2b(author, head id)) items replaces the clock, so N ids
compare with a clock of N authors.

Limit of this machine, measured in the same run as ../shared/bench/limits.py does
(``rate``: a warm-up, then about a second of calls): BLAKE2b-256 of 32 bytes with
hashlib. ``build_vs_hash`` is the speed of building a side's sorted set with its
prefix sums (done once per change of the store, shared by every session) as a
share of hashing every id once at that rate: at 1.0 a build costs one hash per id.
Last line: ``RESULT {json}``. Usage: python bench/reconcile.py [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.clock_size import measure as clock_measure
from protocol.reconcile import ItemSet, Reconciler, reconcile

SEED = 23
T0 = 1_733_529_600_000  # 2024-12-07, ms
DAY = 86_400_000
YEARS = 3 * 365 * DAY  # items spread over three years of a network's life


def rate(fn: Callable[[], None], inner: int, target: float = 1.0, warm: float = 0.15) -> float:
    """``fn()`` does ``inner`` operations; operations per second (as limits.py measures)."""
    end = time.perf_counter() + warm
    while time.perf_counter() < end:
        fn()
    done, start = 0, time.perf_counter()
    while True:
        fn()
        done += inner
        elapsed = time.perf_counter() - start
        if elapsed >= target:
            return done / elapsed


def hash_limit() -> float:
    """BLAKE2b-256 of a 32-byte input per second, one core."""
    data = bytes(32)
    blake = hashlib.blake2b

    def hundred() -> None:
        for _ in range(100):
            blake(data, digest_size=32).digest()

    return rate(hundred, 100)


def pool(count: int, rng: random.Random) -> list[tuple[int, bytes]]:
    return [(T0 + rng.randrange(YEARS), rng.randbytes(32)) for _ in range(count)]


def run(
    size: int,
    differences: int,
    common: list[tuple[int, bytes]],
    rng: random.Random,
    recent: bool = False,
) -> dict[str, float]:
    """One reconciliation; ``recent``: what differs was posted in the last day."""
    extra = pool(differences, rng)
    if recent:
        extra = [(T0 + YEARS + rng.randrange(DAY), i) for _, i in extra]
    half = differences // 2
    start = time.process_time()
    side_a = ItemSet(common[: size - half] + extra[:half])
    built = time.process_time() - start
    side_b = ItemSet(common[: size - (differences - half)] + extra[half:])
    # Both sides hold ``size`` ids: ``size - differences/2`` in common, and each half of
    # the differences on one side only.
    alice, bob = Reconciler(side_a), Reconciler(side_b)
    start = time.process_time()
    messages = reconcile(alice, bob)
    cpu = time.process_time() - start
    missing = len(alice.need) + len(alice.have)
    if alice.need != bob.have or alice.have != bob.need:
        raise SystemExit(f"reconciliation of {size:,} ids went wrong: the two sides disagree")
    return {
        "ids": size,
        "differences": missing,
        "recent": recent,
        "bytes": sum(len(m) for m in messages),
        "rounds": len(messages),
        "largest_message": max(len(m) for m in messages),
        "cpu_ms": round(cpu * 1000, 2),
        "build_ms": round(built * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 ids only")
    args = parser.parse_args()
    rng = random.Random(SEED)
    sizes = [10_000, 100_000] if args.quick else [1000, 10_000, 100_000, 1_000_000]
    limit = hash_limit()
    print(f"limit: BLAKE2b-256 of 32 bytes, {limit:,.0f} a second on one core")
    columns = (
        "ids",
        "differ",
        "bytes",
        "rounds",
        "largest",
        "cpu ms",
        "clock bytes",
        "bytes x",
        "cpu x",
        "build",
    )
    widths = (9, 7, 10, 6, 9, 8, 12, 8, 7, 7)
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    print("(r: the differences were all posted in the last day, as at a real session start)")
    results = []
    for size in sizes:
        clock = clock_measure(size, random.Random(SEED))
        clock_bytes = 2 * clock["bytes"]  # each side sends its clock
        clock_cpu = 2 * (clock["encode_ms"] + clock["decode_ms"])
        common = pool(size, rng)
        for differences, recent in ((0, False), (10, False), (1000, False), (1000, True)):
            r = run(size, differences, common, rng, recent)
            r["clock_bytes"] = clock_bytes
            r["clock_cpu_ms"] = round(clock_cpu, 2)
            r["bytes_ratio"] = round(clock_bytes / r["bytes"], 1)
            r["cpu_ratio"] = round(clock_cpu / max(r["cpu_ms"], 0.01), 1)
            r["build_vs_hash"] = round((size / (r["build_ms"] / 1000)) / limit, 3)
            results.append(r)
            print(
                f"{size:>9,} {r['differences']:>6,}{'r' if recent else ' '} "
                f"{r['bytes']:>10,} {r['rounds']:>6} "
                f"{r['largest_message']:>9,} {r['cpu_ms']:>8} {clock_bytes:>12,} "
                f"{r['bytes_ratio']:>8} {r['cpu_ratio']:>7} {r['build_vs_hash']:>7}"
            )
    print(
        "RESULT "
        + json.dumps({"limit_blake2b_per_s": round(limit), "cases": results}, separators=(",", ":"))
    )


if __name__ == "__main__":
    main()
