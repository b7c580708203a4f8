"""Catch-up speed: an empty node B syncs every entry node A holds, over loopback.

Prints entries per second, this machine's single-core ingest limit measured in the
same run on the same entries (decode, verify, hash, batched insert in one plain
loop, as ../shared/bench/limits.py does), their ratio, and wire efficiency: the
bytes of A's frames per byte of entry (``wire_ratio``), and everything both ways
(A's frames, B's clock and acks, and WebSocket framing counted at its largest, 14
bytes a message) per entry and per byte of entry (``wire_bytes_per_entry``,
``wire_ratio_both_ways``; TCP/IP headers are left out: loopback has a 64 KiB MTU).
CPU time per entry of both (``cpu_us_per_entry``, ``limit_cpu_us_per_entry``) says
how much work each does even when other programs share the cores and the
wall-clock ratio mostly says how much of the second core was free. B indexes the
offers for search after storing them (node/store/indexer.py): ``searchable_s`` is
when the last of them was indexed too, and ``cpu_us_per_entry_searchable`` the CPU
time per entry until then (``ratio_searchable``: the rate to that point, to the limit).
Last line: ``RESULT {json}``. Usage: python bench/sync_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import nacl.signing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.clock import now_ms
from node.net.server import NodeService
from node.node import Node
from node.partners.peerbook import PeerBook
from protocol import budget
from protocol.entry import Entry, create_entry
from protocol.keys import NodeKey


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


def single_core_limit(wires: list[bytes], folder: Path) -> tuple[float, float]:
    """Entries per second for decode + verify + hash + batched insert, in one loop, and
    the CPU seconds it took."""
    db = sqlite3.connect(folder / "limit.db")
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


WS_HEADER = 14  # the largest WebSocket frame header: 8-byte length and a mask


async def sync(entries: list[Entry], folder: Path) -> tuple[float, float, float, float, int, int]:
    """Seconds for B to hold all of A's entries, the CPU seconds of this process (both
    nodes, every thread) meanwhile, the same two until they were all indexed for
    search too, bytes of A's frames, and bytes both ways."""
    a = await Node.create(folder / "a", name="A", country="GB")
    for i in range(0, len(entries), 1000):
        await a.store.ingest(entries[i : i + 1000], now_ms())
    await a.store.index_all()  # A holds them as a node does: searchable before B asks
    total = await a.store.count_entries()
    b = await Node.create(folder / "b", name="B", country="FR")
    service_a, service_b = NodeService(a), NodeService(b)
    await service_a.start()
    await service_b.start()
    start, cpu = time.perf_counter(), time.process_time()
    await PeerBook(b.store).add(a.node_id, service_a.address, 0)
    await PeerBook(a.store).add(b.node_id, service_b.address, 0)
    for _ in range(12_000):  # at most ten minutes
        if await b.store.count_entries() >= total + 1:  # + B's own profile
            break
        await asyncio.sleep(0.05)
    elapsed, cpu_stored = time.perf_counter() - start, time.process_time() - cpu
    for _ in range(12_000):
        if not (await b.store.fetch_one("SELECT EXISTS (SELECT 1 FROM unindexed)"))[0]:
            break
        await asyncio.sleep(0.05)
    searchable, cpu = time.perf_counter() - start, time.process_time() - cpu
    sessions = [*service_a.peers.sessions.values(), *service_b.peers.sessions.values()]
    sent = sum(s.bytes_sent for s in service_a.peers.sessions.values())
    both = sum(s.bytes_sent + WS_HEADER * s.frames_sent for s in sessions)
    for service in (service_a, service_b):
        await service.stop()
        await service.node.close()
    return elapsed, cpu_stored, searchable, cpu, sent, both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 entries (under a minute)")
    args = parser.parse_args()
    count, authors = (10_000, 50) if args.quick else (100_000, 200)
    print(f"building {count:,} signed entries from {authors} schools...", flush=True)
    entries = corpus(count, authors)
    wires = [e.encode() for e in entries]
    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        folder = Path(tmp)
        limit, limit_cpu = single_core_limit(wires, folder)
        print(f"single-core ingest limit: {limit:,.0f} entries/s", flush=True)
        elapsed, cpu, searchable, cpu_all, sent, both = asyncio.run(sync(entries, folder))
    rate = count / elapsed
    entry_bytes = sum(len(w) for w in wires)
    wire_ratio = sent / entry_bytes
    print(f"catch-up: {count:,} entries in {elapsed:.1f} s = {rate:,.0f} entries/s")
    print(f"ratio to the limit: {rate / limit:.2f}")
    print(
        f"CPU time per entry: {cpu / count * 1e6:.0f} us (both nodes, all threads) against "
        f"{limit_cpu / count * 1e6:.0f} us for the limit's loop"
    )
    print(
        f"all searchable after {searchable:.1f} s = {count / searchable:,.0f} entries/s "
        f"(ratio {count / searchable / limit:.2f}), {cpu_all / count * 1e6:.0f} us of CPU per entry"
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
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
