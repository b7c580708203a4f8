"""Flood: one school posts as fast as it can; how long do the other schools' offers take?

Four real schools (real SQLite files, real sessions over loopback WebSockets),
every one partnered with every other. Three of them run in this process; the
flooding school runs in a process of its own, so that its signing does not take
the others' event loop: its node lets it sign without limit, as a changed node
could (every school's own node refuses to sign past the budget: protocol/budget.py).

Each run posts ``rounds`` offers, one at a time, from one of the three schools
chosen at random, and times each until both other schools have committed it
(their stores say when), after five not counted: first in a quiet network (the
baseline), then while the
flooder posts without pause. It is done twice, on two fresh networks: with the
budget every node applies (200 public entries a day per school), and with it
lifted (what the issue measured: 8.3 times slower at 5,000 entries). The figure
is the ratio of the medians, flood over quiet (target <= 2 with the budget). A third
network, where the flooder is partnered with no one, shows what running it on the
same cores costs by itself (on separate machines, nothing).

For comparison with this machine's limits (../shared/bench/limits.py), the run
also measures that script's single-core ingest pipeline on the same machine in
the same run and prints the flooder's signing rate against it.
Last line: ``RESULT {json}``. Usage: python bench/flood.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live import LiveNode
from node.partners.peerbook import PeerBook
from node.store.holding import EVERYTHING_MODE
from protocol import budget
from protocol.keys import NodeId

SEED = 20
DELIVERY_TIMEOUT = 60.0  # seconds for one offer to reach both other schools
WARM_UP = 5  # offers posted and not counted before the quiet phase
FLOOD_START = 3.0  # seconds of flood before measuring: the burst of a day's budget is taken by then
TEXT = "Thirty-minute observation slots on Tuesday mornings, with time to talk afterwards."
#: No budget to speak of: a day's worth of entries a millisecond.
UNLIMITED = budget.Rule(count=budget.DAY_MS, window_ms=budget.DAY_MS)
LIMITS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "limits.py"


async def until(condition: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.perf_counter() + within
    while not await condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# -- the flooding school, in a process of its own -------------------------------------


def flooder(folder: str, conn: Connection) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_flood(Path(folder), conn))


async def _flood(folder: Path, conn: Connection) -> None:
    live = await LiveNode.start(folder, "Flood Academy", holding=EVERYTHING_MODE)
    live.node.store.budgets.rule = UNLIMITED  # a changed node: signs without limit
    loop = asyncio.get_running_loop()
    conn.send((bytes(live.node.node_id), live.address))
    partners: list[tuple[bytes, str]] = await loop.run_in_executor(None, conn.recv)
    for node_id, address in partners:
        await PeerBook(live.node.store).add(NodeId(node_id), address, 0)
    await loop.run_in_executor(None, conn.recv)  # "go"
    stop = asyncio.Event()
    loop.run_in_executor(None, lambda: (conn.recv(), loop.call_soon_threadsafe(stop.set)))
    posted, started = 0, time.perf_counter()
    while not stop.is_set():
        await live.node.offers.post(
            "offer", {"activity": "visit", "title": f"Flood {posted}", "text": TEXT}
        )
        posted += 1
        if posted % 20 == 0:
            await asyncio.sleep(0)  # let its sessions send
    elapsed = time.perf_counter() - started
    conn.send((posted, elapsed))
    await live.stop()


# -- the three other schools ----------------------------------------------------------


class Watch:
    """When each school committed the newest entry of the author being watched."""

    def __init__(self) -> None:
        self.author: NodeId | None = None
        self.waiting: set[int] = set()
        self.last = 0.0
        self.done = asyncio.Event()

    def listener(self, index: int) -> Callable[[set[NodeId]], None]:
        def heard(authors: set[NodeId]) -> None:
            if self.author in authors and index in self.waiting:
                self.waiting.discard(index)
                self.last = time.perf_counter()
                if not self.waiting:
                    self.done.set()

        return heard

    def expect(self, author: NodeId, receivers: set[int]) -> None:
        self.author, self.waiting, self.last = author, set(receivers), 0.0
        self.done.clear()


async def deliveries(
    nodes: list[LiveNode], watch: Watch, rounds: int, rng: random.Random
) -> list[float]:
    """Seconds for each of ``rounds`` offers to reach both other schools."""
    seconds = []
    for n in range(rounds):
        origin = rng.randrange(len(nodes))
        watch.expect(nodes[origin].node.node_id, set(range(len(nodes))) - {origin})
        posted = time.perf_counter()
        await nodes[origin].node.offers.post(
            "offer",
            {"activity": "observation", "title": f"Year 5 maths lessons ({n})", "text": TEXT},
        )
        await asyncio.wait_for(watch.done.wait(), DELIVERY_TIMEOUT)
        seconds.append(watch.last - posted)
        await asyncio.sleep(0.1)
    return seconds


async def measure(
    folder: Path, rule: budget.Rule, rounds: int, *, partnered: bool = True
) -> dict[str, Any]:
    """Quiet, then flooded, deliveries on a fresh network whose schools apply ``rule``
    (with ``partnered`` false, the flooder posts alone: what sharing this machine costs)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=flooder, args=(str(folder / "flood"), theirs), daemon=True)
    process.start()
    nodes: list[LiveNode] = []
    watch = Watch()
    rng = random.Random(SEED)
    loop = asyncio.get_running_loop()
    try:
        # Read into a NodeId at the pipe, as the node reads frames: the store's heads are
        # keyed by NodeId, and a bytes key there misses silently (taken read as 0).
        raw_id, flood_address = await loop.run_in_executor(None, ours.recv)
        flood_id = NodeId(raw_id)
        for i in range(3):
            live = await LiveNode.start(
                folder / f"school{i}", f"School {i}", holding=EVERYTHING_MODE
            )
            live.node.store.budgets.rule = rule
            live.node.store.add_listener(watch.listener(i))
            nodes.append(live)
        ours.send([(bytes(live.node.node_id), live.address) for live in nodes if partnered])
        for i, live in enumerate(nodes):
            if partnered:
                await PeerBook(live.node.store).add(flood_id, flood_address, 0)
            for other in nodes[i + 1 :]:
                await PeerBook(live.node.store).add(other.node.node_id, other.address, 0)
                await PeerBook(other.node.store).add(live.node.node_id, live.address, 0)

        async def settled() -> bool:
            for live in nodes:
                if len(live.service.peers.sessions) != 2 + partnered:
                    return False
                if await live.node.store.count_entries() != 3 + partnered:  # every profile
                    return False
            return True

        await until(settled, 120, "every school's profile everywhere")
        await deliveries(nodes, watch, WARM_UP, rng)  # not counted: first sessions, caches
        quiet = await deliveries(nodes, watch, rounds, rng)
        ours.send("go")
        await asyncio.sleep(FLOOD_START)  # the flood under way, past its first day's burst
        flooded = await deliveries(nodes, watch, rounds, rng)
        held = sum(s.held_back for live in nodes for s in live.service.peers.sessions.values())
        ours.send("stop")
        posted, elapsed = await loop.run_in_executor(None, ours.recv)
        taken = [
            max(0, (await live.node.store.heads_of([flood_id]))[flood_id] - 1) for live in nodes
        ]  # the flooder's entries each school holds, its profile aside
    finally:
        for live in reversed(nodes):
            await live.stop()
        await loop.run_in_executor(None, process.join, 30)
        if process.is_alive():
            process.kill()
    return {
        "quiet_median_s": round(statistics.median(quiet), 4),
        "flood_median_s": round(statistics.median(flooded), 4),
        "ratio": round(statistics.median(flooded) / statistics.median(quiet), 2),
        "flood_posted": posted,
        "flood_per_s": round(posted / elapsed),
        "flood_taken": taken,
        "held_back": held,
    }


def pipeline_limit() -> float | None:
    """Entries per second of ../shared/bench/limits.py's ingest pipeline (unpack, verify,
    hash, batched insert: one core, no network), measured here and now."""
    if not LIMITS.exists():
        return None
    spec = importlib.util.spec_from_file_location("limits", LIMITS)
    assert spec is not None
    assert spec.loader is not None
    limits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(limits)
    wires, _flat = limits.make_signed_corpus(5000)
    with tempfile.TemporaryDirectory(prefix="sm-limits-") as tmp:
        limits.pipeline_envelope(tmp, "warm.db", wires[:1000], "pynacl")
        return float(limits.pipeline_envelope(tmp, "pipe.db", wires, "pynacl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 offers per phase (a minute)")
    args = parser.parse_args()
    rounds = 8 if args.quick else 20
    # Partnering both sides one after the other makes the first dials meet a node that
    # does not know the dialler yet: refused once, retried. Not worth a warning here.
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        folder = Path(tmp)
        with_budget = asyncio.run(measure(folder / "budget", budget.RULE, rounds))
        without = asyncio.run(measure(folder / "none", UNLIMITED, rounds))
        alone = asyncio.run(measure(folder / "alone", budget.RULE, rounds, partnered=False))
    limit = pipeline_limit()  # last: run first, it slowed the quiet phase after it
    runs = (
        ("with the budget", with_budget),
        ("without a budget", without),
        ("flooder partnered with no one", alone),
    )
    for name, run in runs:
        print(
            f"{name}: others' offers in median {run['quiet_median_s'] * 1000:.0f} ms quiet, "
            f"{run['flood_median_s'] * 1000:.0f} ms flooded = {run['ratio']:.2f}x; the flooder "
            f"signed {run['flood_posted']:,} ({run['flood_per_s']:,}/s), the others took "
            f"{run['flood_taken']} of them"
        )
    result: dict[str, Any] = {
        "rounds": rounds,
        "ratio": with_budget["ratio"],
        "ratio_without_budget": without["ratio"],
        "with_budget": with_budget,
        "without_budget": without,
        "ratio_machine": alone["ratio"],
        "flooder_alone": alone,
        "limit_pipeline_per_s": None if limit is None else round(limit),
    }
    if limit is not None:
        result["flood_vs_limit"] = round(with_budget["flood_per_s"] / limit, 3)
        print(
            f"limits.py ingest pipeline on this machine: {limit:,.0f} entries/s; the flooder "
            f"signed at {result['flood_vs_limit']:.2f} of it"
        )
    print(
        f"ratio flooded / quiet with the budget: {with_budget['ratio']:.2f} (target <= 2; "
        f"{alone['ratio']:.2f} with the flooder partnered with no one: this machine shared)"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
