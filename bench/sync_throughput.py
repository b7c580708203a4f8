"""Catch-up speed: an empty node B syncs every entry node A holds, over loopback.

Prints entries per second, this machine's single-core ingest limit measured in the
same run on the same entries (decode, verify, hash, batched insert in one plain
loop, as ../shared/bench/limits.py does) just before the catch-up and just after it
(the faster of the two counts: ``limit_runs_entries_per_s`` gives both), their ratio,
and wire efficiency: the
bytes of A's frames per byte of entry (``wire_ratio``), and everything both ways
(A's frames, B's clock and acks, and WebSocket framing counted at its largest, 14
bytes a message) per entry and per byte of entry (``wire_bytes_per_entry``,
``wire_ratio_both_ways``; TCP/IP headers are left out: loopback has a 64 KiB MTU).
Node A, the sender, runs in a process of its own (this script with ``--serve-a``), as
the schools and hubs a hub catches up from run on other machines: every CPU figure
below is B's (its process, every thread, and its verify process) unless it says
otherwise; A's own is ``sender_cpu_us_per_entry``, and ``both_nodes_cpu_us_per_entry``
and ``both_nodes_two_core_ratio`` are both nodes together on the same two cores, as
this benchmark measured before (docs/performance.md says which the target is judged on).
CPU time per entry (``cpu_us_per_entry``, ``limit_cpu_us_per_entry``) says
how much work each does even when other programs share the cores and the
wall-clock ratio mostly says how much of the second core was free. B indexes the
offers for search after storing them (node/store/indexer.py): ``searchable_s`` is
when the last of them was indexed too, and ``cpu_us_per_entry_searchable`` the CPU
time per entry until then (``ratio_searchable``: the rate to that point, to the limit).
``collector_us_per_entry``: of B's CPU, what Python's garbage collector took (B's
process collects as ``schoolmesh run`` does: node/collector.py).

B checks signatures in a verify process as a hub of three cores or more does
(node/net/verify.py; ``--threads``: on its verify threads only, as a school's node
does). Since the machine may be shared, the wall-clock ratio says little about two
idle cores: the CPU time per entry of each thread and of the verify process
(``cpu_us_by_part``, read from ``/proc``) does, and ``two_core_ratio`` is the limit's
CPU per entry over the larger of half the catch-up's CPU per entry and its busiest
single part (a thread or the process: one core at most each): the best two idle
cores could do, if the work spread over both as it can (docs/performance.md).

``store_busy`` and ``store_awaiting_checks``: the share of the catch-up B's store loop
spent storing batches (its trips to the database, the ack) and waiting for the oldest
batch to be checked: when the first is near 1, storing, not checking, sets the pace.

Last line: ``RESULT {json}``. Usage: python bench/sync_throughput.py [--quick] [--threads]
[--schools N] (the entries from N schools: a hub catching up many short logs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import nacl.signing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node import collector
from node.clock import now_ms
from node.net import verify
from node.net.server import NodeService
from node.node import Node
from node.partners.peerbook import PeerBook
from node.store.holding import EVERYTHING_MODE, choose
from protocol import budget
from protocol.entry import Entry, create_entry
from protocol.keys import NodeId, NodeKey


def corpus(entries: int, authors: int) -> list[Entry]:
    """``entries`` offers spread over ``authors`` logs, each log in order, signed within
    each school's budget (protocol/budget.py) so that all are taken at once."""
    result = []
    per_author = entries // authors
    step = budget.RULE.interval_ms
    start = now_ms() - 3_600_000 - per_author * step
    for a in range(authors):
        key = NodeKey(a.to_bytes(4, "big") * 8)
        prev = None
        for seq in range(1, per_author + 1):
            entry = create_entry(
                key,
                seq=seq,
                prev=prev,
                timestamp=start + seq * step,
                kind="offer",
                content={
                    "activity": "observation",
                    "title": f"Offer {seq} of school {a}",
                    "text": "Thirty-minute observation slots, Tuesday mornings.",
                },
            )
            result.append(entry)
            prev = entry.id
    return result


def single_core_limit(wires: list[bytes], path: Path) -> tuple[float, float]:
    """Entries per second for decode + verify + hash + batched insert, in one loop into a
    new database at ``path``, and the CPU seconds it took."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE e (id BLOB PRIMARY KEY, author BLOB, seq INTEGER, wire BLOB)")
    keys: dict[bytes, nacl.signing.VerifyKey] = {}
    batch = []
    start, cpu = time.perf_counter(), time.process_time()
    for wire in wires:
        payload, sig, _content = msgpack.unpackb(wire)
        fields = msgpack.unpackb(payload)
        author = fields["a"]
        verify = keys.get(author) or keys.setdefault(author, nacl.signing.VerifyKey(author))
        verify.verify(payload, sig)
        batch.append((hashlib.blake2b(payload, digest_size=32).digest(), author, fields["s"], wire))
        if len(batch) >= 1000:
            db.executemany("INSERT INTO e VALUES (?, ?, ?, ?)", batch)
            db.commit()
            batch = []
    db.executemany("INSERT INTO e VALUES (?, ?, ?, ?)", batch)
    db.commit()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.close()
    return len(wires) / elapsed, cpu


TICK = os.sysconf("SC_CLK_TCK")
WS_HEADER = 14  # the largest WebSocket frame header: 8-byte length and a mask


def cpu_of(stat: Path) -> float:
    """CPU seconds (user and system) of a thread or process, from its ``stat`` file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def threads_cpu() -> dict[int, float]:
    """CPU seconds of each thread of this process, by its id."""
    result = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError, ValueError):  # ended meanwhile
            result[int(task.name)] = cpu_of(task / "stat")
    return result


def parts(b: Node, before: dict[int, float]) -> dict[str, float]:
    """CPU seconds since ``before`` of each part of this process (node B's): its event
    loop, its SQLite thread, each of its verify threads, and the rest."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    sqlite = b.store._db._thread.native_id
    main = threading.main_thread().native_id
    result: dict[str, float] = {}
    for tid, seconds in threads_cpu().items():
        spent = seconds - before.get(tid, 0.0)
        if tid == main:
            part = "B's event loop"
        elif tid == sqlite:
            part = "B's SQLite"
        elif names.get(tid, "").startswith("verify"):
            part = f"B's verify thread {names[tid].rsplit('_', 1)[-1]}"
        else:
            part = "other threads"
        result[part] = result.get(part, 0.0) + spent
    return result


class CollectorTime:
    """CPU time B's process spends in Python's garbage collector (``gc.callbacks``), on
    whichever thread each collection runs (node/collector.py)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started

    def __enter__(self) -> CollectorTime:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


def serve_a(folder: Path, b_id: str, b_address: str) -> None:
    """Node A in a process of its own (``--serve-a``): open it, know B, serve; print its
    address, then on a closed stdin stop and print its bytes sent and its CPU seconds."""

    async def serve() -> None:
        a = await Node.open(folder)
        await PeerBook(a.store).add(NodeId(bytes.fromhex(b_id)), b_address, 0)
        service = NodeService(a)
        await service.start()
        collector.settle()  # as `schoolmesh run` does
        print(f"ADDRESS {bytes(a.node_id).hex()} {service.address}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        sessions = list(service.peers.sessions.values())
        sent = sum(s.bytes_sent for s in sessions)
        framed = sum(s.bytes_sent + WS_HEADER * s.frames_sent for s in sessions)
        await service.stop()
        await a.close()
        print("DONE " + json.dumps({"sent": sent, "framed": framed}), flush=True)

    asyncio.run(serve())


async def sync(entries: list[Entry], folder: Path, *, process: bool) -> tuple[Any, ...]:
    """Seconds for B to hold all of A's entries, B's CPU seconds meanwhile (its process,
    every thread, and its verify process), the same two until they were all indexed for
    search too, A's CPU seconds (its own process) until all were stored, bytes of A's
    frames, bytes both ways, the CPU seconds of each part of B until all were stored,
    Python's collector's seconds, and the share of that time B's store loop spent storing
    and waiting for the oldest batch to be checked (``store_loop``).

    A runs in a process of its own, as the hubs and schools a hub catches up from run on
    other machines: what A spends reading and sending is not B's (docs/performance.md)."""
    a = await Node.create(folder / "a", name="A", country="GB")
    # Made-up schools' logs, whole: as measured before issue 23.
    await choose(a.store, EVERYTHING_MODE, (), ())
    for i in range(0, len(entries), 1000):
        await a.store.ingest(entries[i : i + 1000], now_ms())
    await a.store.index_all()  # A holds them as a node does: searchable before B asks
    total = await a.store.count_entries()
    await a.close()
    b = await Node.create(folder / "b", name="B", country="FR")
    await choose(b.store, EVERYTHING_MODE, (), ())
    await verify.set_setting(b.store, "on" if process else "off")
    service_b = NodeService(b)
    await service_b.start()
    collector.settle()  # as `schoolmesh run` does (the corpus in hand is frozen with it)
    assert service_b.address is not None
    sender = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-a",
        str(folder / "a"),
        bytes(b.node_id).hex(),
        service_b.address,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert sender.stdin is not None
    assert sender.stdout is not None
    line = (await sender.stdout.readline()).decode().split()
    if not line or line[0] != "ADDRESS":
        raise SystemExit(f"node A did not start: {line}")
    a_id, a_address = NodeId(bytes.fromhex(line[1])), line[2]
    checker = service_b.peers.verify
    await checker.started()  # the verify process ready, as on a hub that runs already
    pids = checker.pids
    a_stat = Path(f"/proc/{sender.pid}/stat")

    def process_cpu() -> float:
        return sum(cpu_of(Path(f"/proc/{pid}/stat")) for pid in pids)

    before, process_before, a_before = threads_cpu(), process_cpu(), cpu_of(a_stat)
    start, cpu = time.perf_counter(), time.process_time() + process_before
    await PeerBook(b.store).add(a_id, a_address, 0)
    with CollectorTime() as collector_time:
        for _ in range(12_000):  # at most ten minutes
            if await b.store.count_entries() >= total + 1:  # + B's own profile
                break
            await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    cpu_stored = time.process_time() + process_cpu() - cpu
    a_cpu = cpu_of(a_stat) - a_before
    by_part = parts(b, before)
    sessions = list(service_b.peers.sessions.values())
    store_loop = {  # the share of the catch-up B's store loops spent storing, and waiting
        "store_busy": sum(s.storing_s for s in sessions) / elapsed,
        "store_awaiting_checks": sum(s.awaiting_checks_s for s in sessions) / elapsed,
    }
    if pids:
        by_part["B's verify process"] = process_cpu() - process_before
    for _ in range(12_000):
        if not (await b.store.fetch_one("SELECT EXISTS (SELECT 1 FROM unindexed)"))[0]:
            break
        await asyncio.sleep(0.05)
    searchable, cpu = time.perf_counter() - start, time.process_time() + process_cpu() - cpu
    both = sum(s.bytes_sent + WS_HEADER * s.frames_sent for s in service_b.peers.sessions.values())
    sender.stdin.close()
    done = (await sender.stdout.readline()).decode().split(" ", 1)
    await sender.wait()
    if done[0] != "DONE":
        raise SystemExit(f"node A did not stop cleanly: {done}")
    a_bytes = json.loads(done[1])
    await service_b.stop()
    await b.close()
    sent, both = a_bytes["sent"], both + a_bytes["framed"]
    return (
        elapsed,
        cpu_stored,
        searchable,
        cpu,
        a_cpu,
        sent,
        both,
        by_part,
        collector_time.seconds,
        store_loop,
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve-a"]:  # node A, started by sync() below
        serve_a(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 entries (under a minute)")
    parser.add_argument(
        "--threads", action="store_true", help="B checks on its threads only (no verify process)"
    )
    parser.add_argument(
        "--schools",
        type=int,
        metavar="N",
        help="the entries from N schools (default: 200, or 50 with --quick); as many schools "
        "as entries is a hub catching up a network of schools that each posted once",
    )
    args = parser.parse_args()
    count, authors = (10_000, 50) if args.quick else (100_000, 200)
    if args.schools is not None:
        if not 1 <= args.schools <= count or count % args.schools:
            # corpus() gives each school count // N entries: figures per entry are per
            # `count`, so N must divide it (N past it would send nothing at all).
            parser.error(f"--schools must divide the {count:,} entries (1 to {count:,})")
        authors = args.schools
    print(f"building {count:,} signed entries from {authors} schools...", flush=True)
    entries = corpus(count, authors)
    wires = [e.encode() for e in entries]
    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        folder = Path(tmp)
        before = single_core_limit(wires, folder / "before.db")
        print(f"single-core ingest limit: {before[0]:,.0f} entries/s", flush=True)
        elapsed, cpu, searchable, cpu_all, a_cpu, sent, both, by_part, collected, store_loop = (
            asyncio.run(sync(entries, folder, process=not args.threads))
        )
        after = single_core_limit(wires, folder / "after.db")
        print(f"single-core ingest limit, again: {after[0]:,.0f} entries/s", flush=True)
    # The faster of the two: a moment when the machine ran slowly (another program on the
    # host) during one of them must not flatter the ratio (docs/performance.md).
    limit, limit_cpu = max(before, after)
    rate = count / elapsed
    entry_bytes = sum(len(w) for w in wires)
    wire_ratio = sent / entry_bytes
    print(f"catch-up: {count:,} entries in {elapsed:.1f} s = {rate:,.0f} entries/s")
    print(f"ratio to the limit: {rate / limit:.2f}")
    print(
        f"CPU time per entry: {cpu / count * 1e6:.0f} us (B, all threads and its verify "
        f"process) against {limit_cpu / count * 1e6:.0f} us for the limit's loop; "
        f"A (its own process) {a_cpu / count * 1e6:.0f} us"
    )
    print(
        f"all searchable after {searchable:.1f} s = {count / searchable:,.0f} entries/s "
        f"(ratio {count / searchable / limit:.2f}), {cpu_all / count * 1e6:.0f} us of CPU per entry"
    )
    us = {part: round(seconds / count * 1e6, 1) for part, seconds in sorted(by_part.items())}
    for part, value in us.items():
        print(f"  {part}: {value:.0f} us of CPU per entry")
    print(f"  of which Python's garbage collector: {collected / count * 1e6:.1f} us per entry")
    total_us = cpu / count * 1e6
    two_core_us = max(total_us / 2, *us.values())
    two_core_ratio = limit_cpu / count * 1e6 / two_core_us
    print(
        f"on two idle cores: {two_core_us:.0f} us per entry (the larger of half of "
        f"{total_us:.0f} us and the busiest part), ratio {two_core_ratio:.2f}"
    )
    # Both nodes on one machine's two cores, as measured before A had a process of its
    # own (docs/performance.md): kept to compare with earlier figures, not the target.
    both_us = (cpu + a_cpu) / count * 1e6
    both_two_core_us = max(both_us / 2, *us.values())
    both_two_core_ratio = limit_cpu / count * 1e6 / both_two_core_us
    print(f"both nodes on the same two cores: {both_us:.0f} us, ratio {both_two_core_ratio:.2f}")
    print(
        f"B's store loop: storing {store_loop['store_busy']:.0%} of the catch-up, waiting "
        f"for the oldest batch to be checked {store_loop['store_awaiting_checks']:.0%}"
    )
    print(f"bytes on the wire per byte of entry: {wire_ratio:.2f} (A's frames)")
    print(
        f"both ways with WebSocket framing: {both / count:.0f} bytes per entry of "
        f"{entry_bytes / count:.0f} bytes = {both / entry_bytes:.3f}"
    )
    result = {
        "entries": count,
        "entries_per_s": round(rate),
        "limit_entries_per_s": round(limit),
        "limit_runs_entries_per_s": [round(before[0]), round(after[0])],
        "ratio": round(rate / limit, 3),
        "wire_ratio": round(wire_ratio, 3),
        "entry_bytes": round(entry_bytes / count, 1),
        "wire_bytes_per_entry": round(both / count, 1),
        "wire_ratio_both_ways": round(both / entry_bytes, 3),
        "limit_cpu_us_per_entry": round(limit_cpu / count * 1e6, 1),
        "cpu_us_per_entry": round(cpu / count * 1e6, 1),
        "searchable_s": round(searchable, 2),
        "ratio_searchable": round(count / searchable / limit, 3),
        "cpu_us_per_entry_searchable": round(cpu_all / count * 1e6, 1),
        "verify_process": not args.threads,
        "cpu_us_by_part": us,
        "collector_us_per_entry": round(collected / count * 1e6, 2),
        "two_core_us_per_entry": round(two_core_us, 1),
        "two_core_ratio": round(two_core_ratio, 3),
        "sender_cpu_us_per_entry": round(a_cpu / count * 1e6, 1),
        "both_nodes_cpu_us_per_entry": round(both_us, 1),
        "both_nodes_two_core_ratio": round(both_two_core_ratio, 3),
        **{key: round(value, 3) for key, value in store_loop.items()},
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
