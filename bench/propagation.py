"""Propagation: how fast a new offer reaches every school, and how many copies it costs.

Thirty real nodes (real SQLite files, real sessions over loopback WebSockets) run in
this process, as in tests/network.py, partnered in a sparse random graph (a random
spanning tree plus random edges up to an average degree of 3, seeded). Once they
have exchanged profiles and gone quiet, one school at a time, chosen at random,
posts an offer. Each node's store says, at its commit, when the node holds the
offer: the time from posting to the last node is the figure (median and max over
the entries). When every session is quiet again, the entries the sessions sent are
the copies: redundancy is copies per receiving node per entry. A spanning tree
would be 1.

The nodes relay lazily (docs/protocol.md, "Eager push and lazy announcements"): a new
entry goes whole to at most 2 partners per author and is announced (``have``) to the
others, which fetch it (``want``) if it has not reached them 2 seconds later; a
duplicate prunes its sender. The run is made twice: with the feature, and with every
node announcing no ``lazy``, as before it, where an entry crosses every partnership
at least once (partnerships / (nodes - 1) is then the floor) and a node relays as soon
as it stores, so a partner that got the entry elsewhere meanwhile receives it again
(docs/performance.md, "Redundancy"). Announcements and fetches are counted apart: they
are ids (about 40 bytes a pair), not copies.

All nodes share one event loop, so one core for their Python work: a node's
processing waits behind the others', which makes the times an upper bound of
what separate machines on a fast network would see. For comparison the run ends
by timing the same posts between two nodes alone: the cost of one hop.
The same 20 schools (chosen at random, seeded) post twice: a first round while each
author's tree of eager pushes forms, a second once formed; figures are given for both
rounds and together. Last line: ``RESULT {json}``. Usage: python bench/propagation.py
[--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.live import LiveNode, partner, sparse_graph
from node.net.peers import FEATURES
from node.store.holding import EVERYTHING_MODE
from protocol import frames
from protocol.keys import NodeId

DEGREE = 3
SEED = 7
DELIVERY_TIMEOUT = 60.0  # seconds for one entry to reach every node
QUIET_TIMEOUT = 30.0  # seconds for every session to have sent everything and been acknowledged
TEXT = "Thirty-minute observation slots on Tuesday mornings, with time to talk afterwards."


class Watch:
    """When each node committed the newest entry of the author being watched."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.author: NodeId | None = None
        self.times: dict[int, float] = {}
        self.done = asyncio.Event()

    def listener(self, index: int) -> Callable[[set[NodeId]], None]:
        def heard(authors: set[NodeId]) -> None:
            if self.author in authors and index not in self.times:
                self.times[index] = time.perf_counter()
                if len(self.times) == self.count:
                    self.done.set()

        return heard

    def expect(self, author: NodeId) -> None:
        self.author = author
        self.times = {}
        self.done.clear()


async def until(condition: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll ``condition`` every 10 ms for at most ``within`` seconds."""
    deadline = time.perf_counter() + within
    while not await condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no {what} within {within:.0f} s")
        await asyncio.sleep(0.01)


def farthest(edges: set[tuple[int, int]], count: int, start: int) -> int:
    """Partnerships between ``start`` and the node farthest from it."""
    neighbours: dict[int, list[int]] = {i: [] for i in range(count)}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    distance = {start: 0}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for there in neighbours[here]:
            if there not in distance:
                distance[there] = distance[here] + 1
                queue.append(there)
    return max(distance.values())


async def measure(
    count: int,
    edges: set[tuple[int, int]],
    posts: int,
    folder: Path,
    *,
    show: bool = True,
    lazy: bool = True,
    rounds: int = 2,
) -> dict[str, float]:
    """Post ``posts`` entries one at a time among ``count`` nodes partnered along ``edges``
    (``lazy``: the nodes announce the feature; else none does, as before it)."""
    rng = random.Random(SEED)
    nodes: list[LiveNode] = []
    watch = Watch(count)
    try:
        for i in range(count):
            nodes.append(
                await LiveNode.start(folder / f"n{i}", f"School {i}", holding=EVERYTHING_MODE)
            )
            if not lazy:
                nodes[-1].service.peers.features = FEATURES - {frames.LAZY}
        for i, live in enumerate(nodes):
            live.node.store.add_listener(watch.listener(i))
        for a, b in sorted(edges):
            await partner(nodes[a], nodes[b])
        partners = {i: sum(i in e for e in edges) for i in range(count)}

        async def settled() -> bool:
            for i, live in enumerate(nodes):
                if len(live.service.peers.sessions) != partners[i]:
                    return False
                if await live.node.store.count_entries() != count:  # every profile
                    return False
            return await quiet()

        async def quiet() -> bool:
            for live in nodes:
                for s in live.service.peers.sessions.values():
                    if not s.sync.idle:
                        return False
                    if s.lazy is not None and not s.lazy.idle:
                        return False
            return True

        def copies_sent() -> int:
            return sum(s.sent for live in nodes for s in live.service.peers.sessions.values())

        def ids_sent() -> tuple[int, int]:
            """Authors announced and asked for, by every node so far."""
            relays = [live.service.peers.relay for live in nodes]
            return sum(r.announced for r in relays), sum(r.wanted for r in relays)

        started = time.perf_counter()
        await until(settled, 120, "exchange of profiles")
        if show:
            print(
                f"{count} nodes, {len(edges)} partnerships: profiles exchanged in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
        seconds, copies, per_hop, haves, wants = [], [], [], [], []
        # The same schools post twice: a first round while each author's tree of eager
        # pushes is forming (a node that no partner pushes the author to yet fetches it
        # 2 s after the announcement, and is grafted), a second once it has formed.
        origins = [rng.randrange(count) for _ in range(posts)]
        for n, origin in enumerate(origins * rounds):
            watch.expect(nodes[origin].node.node_id)
            sessions = {id(s) for live in nodes for s in live.service.peers.sessions.values()}
            before = copies_sent()
            ids_before = ids_sent()
            posted = time.perf_counter()
            await nodes[origin].node.offers.post(
                "offer",
                {"activity": "observation", "title": f"Year 5 maths lessons ({n})", "text": TEXT},
            )
            await asyncio.wait_for(watch.done.wait(), DELIVERY_TIMEOUT)
            elapsed = max(watch.times.values()) - posted
            await until(quiet, QUIET_TIMEOUT, "quiet after the entry")
            now = {id(s) for live in nodes for s in live.service.peers.sessions.values()}
            if now != sessions:
                raise RuntimeError("a session closed or opened during the measurement")
            sent = copies_sent() - before
            announced, wanted = (b - a for a, b in zip(ids_before, ids_sent(), strict=True))
            haves.append(announced)
            wants.append(wanted)
            seconds.append(elapsed)
            copies.append(sent / (count - 1))
            per_hop.append(elapsed / farthest(edges, count, origin))
            if show:
                print(
                    f"entry {n + 1:>2} from school {origin:>2}: everyone in "
                    f"{elapsed * 1000:6.0f} ms, {sent} copies ({sent / (count - 1):.2f} per node), "
                    f"{announced} announced, {wanted} fetched",
                    flush=True,
                )
    finally:
        for live in reversed(nodes):
            await live.stop()
    first, second = slice(0, posts), slice(posts, 2 * posts)
    return {
        "nodes": count,
        "entries": rounds * posts,
        "partnerships": len(edges),
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "redundancy": round(statistics.mean(copies), 3),
        "redundancy_max": round(max(copies), 3),
        "redundancy_floor": round(len(edges) / (count - 1), 3),
        "s_per_hop": round(statistics.median(per_hop), 3),
        "haves_per_entry": round(statistics.mean(haves), 2),
        "wants_per_entry": round(statistics.mean(wants), 2),
        "redundancy_first": round(statistics.mean(copies[first]), 3),
        "redundancy_second": round(statistics.mean(copies[second]), 3),
        "median_s_first": round(statistics.median(seconds[first]), 3),
        "median_s_second": round(statistics.median(seconds[second]), 3),
        "max_s_second": round(max(seconds[second]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="12 nodes, 5 schools posting twice (seconds)"
    )
    args = parser.parse_args()
    count, posts = (12, 5) if args.quick else (30, 20)
    # Partnering both sides one after the other makes the first dials meet a node that
    # does not know the dialler yet: refused once, retried. Not worth a warning here.
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        folder = Path(tmp)
        graph = sparse_graph(count, DEGREE, seed=SEED)
        result = asyncio.run(measure(count, graph, posts, folder / "network"))
        print("the same without lazy relaying (every entry whole to every partner lacking it):")
        eager = asyncio.run(measure(count, graph, posts, folder / "eager", lazy=False))
        # The same work for one hop between two nodes alone: what a hop costs when
        # a node's work does not wait behind 29 others' on this one event loop.
        pair = asyncio.run(measure(2, {(0, 1)}, posts, folder / "pair", show=False))
    result["pair_hop_s"] = pair["median_s"]
    for key in ("redundancy", "redundancy_max", "median_s", "max_s"):
        result[f"eager_{key}"] = eager[key]
    print(
        f"with lazy relaying, first round (trees forming): {result['redundancy_first']:.2f} "
        f"copies per node, median {result['median_s_first']:.3f} s; second round: "
        f"{result['redundancy_second']:.2f} copies per node, median "
        f"{result['median_s_second']:.3f} s, max {result['max_s_second']:.3f} s"
    )
    print(
        f"time to every node: median {result['median_s']:.3f} s, max {result['max_s']:.3f} s "
        f"({result['s_per_hop']:.3f} s per hop; two nodes alone: {pair['median_s']:.3f} s); "
        f"without lazy: median {eager['median_s']:.3f} s, max {eager['max_s']:.3f} s"
    )
    print(
        f"redundancy: {result['redundancy']:.2f} copies per node per entry (max "
        f"{result['redundancy_max']:.2f}; target <= 1.2), with "
        f"{result['haves_per_entry']:.1f} announcements and {result['wants_per_entry']:.1f} "
        f"fetches per entry; without lazy: {eager['redundancy']:.2f} (floor for this graph "
        f"{eager['redundancy_floor']:.2f})"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
