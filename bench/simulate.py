"""Scale: thousands of virtual nodes running the real sync rules, with no sockets.

Each virtual node holds its logs in memory and one ``protocol.replication.Replication``
per partner, the same state machine a running node's sessions use. Frames are real
(``protocol.frames`` encode and decode every message), entries are real signed
entries (``protocol.entry``), and a receiver stores them by the real log rules
(``protocol.log.judge``). Time moves in rounds: a message sent in one round is
handled in the next, so a round is one hop (network latency plus the receiver's
work). As in a running node, a node relays what it stored at once, before it
handles the next message (``--deferred-relay``: only once it has handled all of the
round's messages, as a node that waited about one hop before relaying would).

The partner graph is sparse and random (a random spanning tree plus random edges up
to an average degree of 3, seeded). The nodes first exchange clocks, as sessions do
when they open; then entries are posted one at a time, each by another random node,
and the rounds run until no message is left. Reported per network size, per node
and per new entry: messages and bytes of frames sent, copies of the entry received,
and the rounds until every node held it. Then how these grow with size, extrapolated
to every school in Europe (about 200,000), against a school's connection.

Each size runs as docs/protocol.md specifies (the RESULT's ``sizes``) and, all but
the largest of a full run, as the reference node behaved until it was fixed, sending
every entry it stored back to the peer it came from (docs/performance.md, "Redundancy").

Each distinct entry is decoded and its signature checked once per run, not once
per copy (a cache keyed by its bytes), which keeps 10,000 nodes feasible and
changes no count; every frame is encoded and decoded for real. Last line: ``RESULT {json}``.
Usage: python bench/simulate.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import frames
from protocol.entry import Entry, create_entry, decode_entry
from protocol.errors import LogOrderError
from protocol.keys import NodeKey
from protocol.log import Head, Verdict, judge
from protocol.replication import WINDOW, Replication, ack_for

NOW = 1_795_000_000_000  # a fixed clock (2026-11-17): the run is reproducible
DEGREE = 3
EUROPE = 200_000  # schools in Europe, roughly (primary and secondary)
#: Bytes per message that the simulator does not see: TCP/IP (52), a TLS record (29)
#: and a WebSocket header (up to 14), rounded up. An upper estimate.
OVERHEAD_PER_MESSAGE = 100
SCHOOL_LINK_MBIT = 10  # a modest school connection; many have 100 Mbit/s or more
POSTS_PER_SCHOOL_PER_DAY = 1  # offers, requests, events, withdrawals: a generous guess
SCHOOL_HOURS = 8  # all of a day's posts made within school hours (peak = 24/8 x mean)
TEXT = (
    "Thirty-minute observation slots on Tuesday and Thursday mornings in Year 5, with "
    "time afterwards to talk to the class teacher and our maths lead about how we plan "
    "small steps, use manipulatives and check understanding. Up to three visitors a "
    "week; lunch provided. Please say which year groups you teach."
)


def sparse_graph(count: int, degree: int, rng: random.Random) -> list[list[int]]:
    """Neighbours of each node in a connected random graph of average degree ~``degree``."""
    order = list(range(count))
    rng.shuffle(order)
    edges = {tuple(sorted((order[i], order[rng.randrange(i)]))) for i in range(1, count)}
    while len(edges) < count * degree // 2:
        a, b = rng.sample(range(count), 2)
        edges.add(tuple(sorted((a, b))))
    neighbours: list[list[int]] = [[] for _ in range(count)]
    for a, b in sorted(edges):
        neighbours[a].append(b)
        neighbours[b].append(a)
    return neighbours


class Verified:
    """Every distinct entry of the run, decoded and verified once: wire bytes -> Entry."""

    def __init__(self) -> None:
        self._verified: dict[bytes, Entry] = {}

    def decode(self, wire: bytes) -> Entry:
        entry = self._verified.get(wire)
        if entry is None:
            entry = self._verified[wire] = decode_entry(wire, now_ms=NOW)
        return entry


@dataclass
class Stats:
    messages: int = 0
    bytes: int = 0
    copies: int = 0  # entries received in batches, duplicates included
    sent_by: list[int] = field(default_factory=list)  # bytes sent, per node


class VirtualNode:
    """A node's store (logs in memory) and one Replication per partner."""

    def __init__(self, index: int, partners: Iterable[int]) -> None:
        self.index = index
        self.logs: dict[bytes, list[tuple[Entry, bytes]]] = {}  # author -> (entry, wire)
        self.sessions = {p: Replication() for p in partners}

    def heads(self) -> dict[bytes, int]:
        return {a: len(log) for a, log in self.logs.items()}

    def clock(self) -> frames.Clock:
        return frames.Clock([[a, len(log), bytes(log[-1][0].id)] for a, log in self.logs.items()])

    def store(self, entry: Entry, wire: bytes) -> Verdict | None:
        """The log rules, as node/store.py applies them; None when refused."""
        log = self.logs.setdefault(bytes(entry.author), [])
        head = Head(len(log), log[-1][0].id) if log else None
        same = log[entry.seq - 1][0] if entry.seq <= len(log) else None
        try:
            verdict = judge(entry, head, same)
        except LogOrderError:
            return None
        if verdict is Verdict.APPEND:
            log.append((entry, wire))
        return verdict

    def rows(self, author: bytes, after: int, limit: int) -> list[tuple[int, bytes]]:
        log = self.logs.get(author, [])
        return [(after + 1 + i, wire) for i, (_, wire) in enumerate(log[after : after + limit])]


class Network:
    def __init__(self, count: int, rng: random.Random, *, echo: bool, deferred: bool) -> None:
        self.echo = echo
        self.deferred = deferred
        self.nodes = [VirtualNode(i, ns) for i, ns in enumerate(sparse_graph(count, DEGREE, rng))]
        self.verified = Verified()
        self.stats = Stats(sent_by=[0] * count)
        self.outbox: list[tuple[int, int, bytes]] = []  # (to, from, frame bytes) for next round
        self.stored_round: dict[bytes, list[int]] = {}  # entry id -> round each holder stored it
        self.round = 0

    def send(self, src: int, dst: int, frame: frames.Frame) -> None:
        data = frames.encode(frame)
        self.stats.messages += 1
        self.stats.bytes += len(data)
        self.stats.sent_by[src] += len(data)
        self.outbox.append((dst, src, data))

    def flush(self, node: VirtualNode, peers: Iterable[int]) -> None:
        """Each session's send loop: batches while there is something to send and room."""
        for peer in peers:
            sync = node.sessions[peer]
            while sync.dirty and len(sync.in_flight) < WINDOW:
                batch = sync.start_batch()
                while (read := batch.next_read()) is not None:
                    batch.add(node.rows(read.author, read.after, read.limit))
                frame = batch.finish()
                if frame is None:
                    break
                self.send(node.index, peer, frame)

    def open_sessions(self) -> None:
        """Every session starts with both sides sending their clock."""
        for node in self.nodes:
            clock = node.clock()
            for peer in node.sessions:
                self.send(node.index, peer, clock)
        self.run()

    def post(self, author: NodeKey, node: VirtualNode, content: dict[str, Any]) -> Entry:
        log = node.logs.get(bytes(author.node_id), [])
        entry = create_entry(
            author,
            seq=len(log) + 1,
            prev=log[-1][0].id if log else None,
            timestamp=NOW - 1000 + len(log),
            kind="offer",
            content=content,
        )
        self.stored_round[bytes(entry.id)] = [0]
        node.store(entry, entry.encode())
        for sync in node.sessions.values():
            sync.mark_dirty([bytes(entry.author)])
        self.flush(node, node.sessions)
        return entry

    def run(self) -> int:
        """Deliver rounds until no message is left; the number of rounds."""
        start = self.round
        while self.outbox:
            self.round += 1
            inbox, self.outbox = self.outbox, []
            woken: dict[int, set[int]] = {}
            for dst, src, data in inbox:
                peers = self.handle(self.nodes[dst], src, frames.decode(data))
                if self.deferred:
                    woken.setdefault(dst, set()).update(peers)
                else:
                    self.flush(self.nodes[dst], peers)
            for index, later in woken.items():
                self.flush(self.nodes[index], sorted(later))
        return self.round - start

    def handle(self, node: VirtualNode, src: int, frame: frames.Frame) -> list[int]:
        """One frame from ``src``, as node/session.py handles it; the sessions to wake."""
        sync = node.sessions[src]
        if isinstance(frame, frames.Clock):
            for author, seq, head_id in sync.receive_clock(frame):
                log = node.logs.get(author, [])
                if seq <= len(log) and bytes(log[seq - 1][0].id) != head_id:
                    self.send(node.index, src, sync.evidence(log[seq - 1][1]))
            if frame.final:
                sync.clock_complete(node.heads())
                return [src]
        elif isinstance(frame, frames.Entries):
            authors, stored, held = set(), set(), []
            for wire in frame.entries:
                entry = self.verified.decode(wire)
                author = bytes(entry.author)
                authors.add(author)
                verdict = node.store(entry, wire)
                if verdict is Verdict.APPEND:
                    stored.add(author)
                    self.stored_round.setdefault(bytes(entry.id), []).append(self.round)
                if verdict in (Verdict.APPEND, Verdict.DUPLICATE):
                    held.append((author, entry.seq))
            if stored and self.echo:
                # The reference node before the fix: the commit woke this session's
                # sender, which read before the session raised its view below.
                sync.mark_dirty(stored)
                self.flush(node, [src])
            for author, seq in held:
                sync.held(author, seq)
            self.stats.copies += len(frame.entries)
            heads = node.heads()
            self.send(node.index, src, ack_for(frame.batch, {a: heads.get(a, 0) for a in authors}))
            if stored:  # the commit marks the authors dirty in every session: relaying
                for other in node.sessions.values():
                    other.mark_dirty(stored)
                return list(node.sessions)
        elif isinstance(frame, frames.Ack):
            sync.acknowledged(frame)
            return [src]
        return []


def simulate(
    count: int, posts: int, seed: int, *, echo: bool = False, deferred: bool = False
) -> dict[str, Any]:
    """Post ``posts`` entries one at a time in a network of ``count`` nodes; the figures.

    ``echo``: as the reference node behaved before the fix, sending a stored entry
    back to the peer it came from (see docs/performance.md), instead of as specified.
    """
    rng = random.Random(seed)
    net = Network(count, rng, echo=echo, deferred=deferred)
    authors = rng.sample(range(count), posts)
    keys = {i: NodeKey(i.to_bytes(4, "big") * 8) for i in authors}
    # Every node already holds the posting schools' profiles, as in a running network.
    for i in authors:
        profile = create_entry(
            keys[i],
            seq=1,
            prev=None,
            timestamp=NOW - 86_400_000,
            kind="profile",
            content={"name": f"School {i}", "country": "FR"},
        )
        for node in net.nodes:
            node.store(profile, profile.encode())
    net.open_sessions()
    clock_messages, clock_bytes = net.stats.messages, net.stats.bytes
    net.stats = Stats(sent_by=[0] * count)
    rounds, last_rounds, sizes = [], [], []
    for n, i in enumerate(authors):
        content = {"activity": "observation", "title": f"Year 5 maths lessons ({n})", "text": TEXT}
        entry = net.post(keys[i], net.nodes[i], content)
        start = net.round
        last_rounds.append(net.run())
        held = net.stored_round[bytes(entry.id)]
        if len(held) != count:
            raise RuntimeError(f"entry {n} reached {len(held)} of {count} nodes")
        rounds.append(max(held) - start)
        sizes.append(len(entry.encode()))
    degrees = [len(node.sessions) for node in net.nodes]
    busiest = max(range(count), key=lambda k: net.stats.sent_by[k])
    per = count * posts
    return {
        "nodes": count,
        "entries": posts,
        "edges": sum(degrees) // 2,
        "entry_bytes": round(statistics.mean(sizes)),
        "messages_per_node_per_entry": round(net.stats.messages / per, 3),
        "bytes_per_node_per_entry": round(net.stats.bytes / per, 1),
        "copies_per_node_per_entry": round(net.stats.copies / (count - 1) / posts, 3),
        "rounds": max(rounds),
        "rounds_median": statistics.median(rounds),
        "rounds_until_quiet": max(last_rounds),
        "busiest_node_bytes_per_entry": round(net.stats.sent_by[busiest] / posts),
        "busiest_node_partners": degrees[busiest],
        "clock_bytes_per_session": round(clock_bytes / sum(degrees)),
        "clock_messages": clock_messages,
    }


def fit_log(sizes: list[int], values: list[float]) -> tuple[float, float]:
    """Least squares ``value = a + b * ln(size)``."""
    xs = [math.log(s) for s in sizes]
    if len(xs) < 2:
        return values[0], 0.0
    mx, my = statistics.mean(xs), statistics.mean(values)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - b * mx, b


def clock_bytes_per_author() -> float:
    """Bytes per author of a full clock frame (author, seq, head id), measured on real frames."""
    pairs = [[i.to_bytes(32, "big"), 1000 + i, bytes(32)] for i in range(frames.MAX_CLOCK_PAIRS)]
    return len(frames.encode(frames.Clock(pairs, final=False))) / frames.MAX_CLOCK_PAIRS


def extrapolate(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    sizes = sorted(results)
    out: dict[str, Any] = {"schools": EUROPE}
    for name in ("messages_per_node_per_entry", "bytes_per_node_per_entry", "rounds"):
        a, b = fit_log(sizes, [float(results[s][name]) for s in sizes])
        out[name] = round(max(a + b * math.log(EUROPE), float(results[sizes[-1]][name])), 2)
        out[name + "_growth_per_tenfold"] = round(b * math.log(10), 3)
    per_entry = out["bytes_per_node_per_entry"] + (
        out["messages_per_node_per_entry"] * OVERHEAD_PER_MESSAGE
    )
    per_day = EUROPE * POSTS_PER_SCHOOL_PER_DAY * per_entry
    peak_bit_s = per_day * 8 / (SCHOOL_HOURS * 3600)
    out["bytes_per_school_per_day"] = round(per_day)
    out["peak_kbit_s"] = round(peak_bit_s / 1000, 1)
    out["share_of_link"] = round(peak_bit_s / (SCHOOL_LINK_MBIT * 1e6), 4)
    out["clock_bytes_per_session_start"] = round(clock_bytes_per_author() * EUROPE)
    return out


def run_sizes(
    sizes: list[int], posts: int, seed: int, *, echo: bool, deferred: bool
) -> dict[int, dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    for size in sizes:
        started = time.perf_counter()
        r = results[size] = simulate(size, posts, seed, echo=echo, deferred=deferred)
        print(
            f"{size:>6,} nodes ({r['edges']:,} partnerships), {posts} entries of "
            f"{r['entry_bytes']} bytes: per node per entry "
            f"{r['messages_per_node_per_entry']:.2f} messages, "
            f"{r['bytes_per_node_per_entry']:,.0f} bytes, {r['copies_per_node_per_entry']:.2f} "
            f"copies; rounds to everyone {r['rounds_median']:g} median, {r['rounds']} max "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
    return results


def report(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Print how the figures grow and what they come to for Europe; return the extrapolation."""
    e = extrapolate(results)
    print(
        "growth per tenfold nodes: messages "
        f"{e['messages_per_node_per_entry_growth_per_tenfold']:+}, bytes "
        f"{e['bytes_per_node_per_entry_growth_per_tenfold']:+}, rounds "
        f"{e['rounds_growth_per_tenfold']:+}"
    )
    print(
        f"at {EUROPE:,} schools: {e['messages_per_node_per_entry']} messages and "
        f"{e['bytes_per_node_per_entry']:,.0f} bytes per school per entry, "
        f"{e['rounds']} rounds to everyone"
    )
    print(
        f"with {POSTS_PER_SCHOOL_PER_DAY} post per school per day, all in {SCHOOL_HOURS} "
        f"school hours, +{OVERHEAD_PER_MESSAGE} bytes of headers per message: "
        f"{e['bytes_per_school_per_day'] / 1e6:,.0f} MB per school per day, peak "
        f"{e['peak_kbit_s']:,} kbit/s = {e['share_of_link']:.1%} of a "
        f"{SCHOOL_LINK_MBIT} Mbit/s line",
        flush=True,
    )
    return e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 and 1,000 nodes (seconds)")
    parser.add_argument("--seed", type=int, default=7, help="graph and posters (default 7)")
    parser.add_argument(
        "--deferred-relay",
        action="store_true",
        help="relay only after handling all of a round's messages (a design to compare)",
    )
    args = parser.parse_args()
    if args.quick:
        sizes, echo_sizes, posts = [300, 1000], [300, 1000], 10
    else:
        sizes, echo_sizes, posts = [1000, 3000, 10_000, 30_000], [1000, 3000, 10_000], 20
    print("as specified in docs/protocol.md (protocol/replication.py):")
    results = run_sizes(sizes, posts, args.seed, echo=False, deferred=args.deferred_relay)
    spec = report(results)
    print("with the echo the reference node had (each stored entry sent back to its sender):")
    echoed = run_sizes(echo_sizes, posts, args.seed, echo=True, deferred=args.deferred_relay)
    echo = report(echoed)
    print(
        f"each session start (clock exchange) at {EUROPE:,} authors: "
        f"{spec['clock_bytes_per_session_start'] / 1e6:.1f} MB each way"
    )
    keys = ("messages_per_node_per_entry", "bytes_per_node_per_entry", "rounds")
    result = {
        "sizes": {str(s): {k: results[s][k] for k in keys} for s in sizes},
        "extrapolated": spec,
        "echo_sizes": {str(s): {k: echoed[s][k] for k in keys} for s in echo_sizes},
        "echo_extrapolated": echo,
        "details": {str(s): results[s] for s in sizes},
        "echo_details": {str(s): echoed[s] for s in echo_sizes},
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
