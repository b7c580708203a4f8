"""Memory: resident size of a node holding 100,000 entries, idle and serving a catch-up.

Node A's data folder is filled first (100,000 offers from 200 schools, built as
bench/sync_throughput.py builds them). Then A runs as its own ``schoolmesh run``
process, so the figures are that process's own, read from /proc/PID/status:

* **idle**: the largest VmRSS over a few seconds once A is up and quiet;
* **serving**: VmHWM (the kernel's peak resident size of the process) after an
  empty node B, running in this process, has caught up on everything from A;
* **floor**: the resident size of a Python process that only imports what
  ``schoolmesh run`` imports, for comparison.

Last line: ``RESULT {json}``. Usage: python bench/memory.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sync_throughput import corpus
from node.clock import now_ms
from node.datadir import DataDir
from node.net.server import NodeService
from node.node import Node
from node.partners.peerbook import PeerBook
from node.store.database import Store
from node.store.holding import EVERYTHING_MODE, choose
from protocol.keys import NodeId

REPO = Path(__file__).resolve().parents[1]
IDLE_SECONDS = 5.0  # watch the idle node this long
START_TIMEOUT = 60.0  # seconds for `schoolmesh run` to listen
CATCH_UP_TIMEOUT = 900.0  # seconds for B to hold everything
LISTENING = re.compile(r"Listening on (http://127\.0\.0\.1:\d+)")


def status_kb(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS: now, VmHWM: peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def command() -> list[str]:
    """The installed ``schoolmesh`` beside this Python, or the module from this checkout."""
    script = Path(sys.executable).with_name("schoolmesh")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def floor_kb() -> int:
    """VmRSS of this Python after importing the node's modules, and nothing else."""
    code = (
        "import cli.main, cli.commands.run, node.server, node.peers, node.store\n"
        "from pathlib import Path\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "print(next(line.split()[1] for line in status if line.startswith('VmRSS:')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return int(out.stdout)


def log_file(path: Path) -> BinaryIO:
    """Where the node's log goes (a pipe nobody read could fill up and stall it)."""
    return path.open("wb")


async def fill(folder: Path, count: int, authors: int) -> NodeId:
    print(f"building {count:,} signed entries from {authors} schools...", flush=True)
    entries = corpus(count, authors)
    node = await Node.create(folder, name="A", country="GB")
    # Made-up schools' logs, whole: as measured before issue 23.
    await choose(node.store, EVERYTHING_MODE, (), ())
    for i in range(0, len(entries), 1000):
        await node.store.ingest(entries[i : i + 1000], now_ms())
    node_id = node.node_id
    await node.close()
    return node_id


async def watch_rss(pid: int, seconds: float) -> int:
    """The largest VmRSS (kB) seen over ``seconds``, read ten times a second."""
    peak = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        peak = max(peak, status_kb(pid, "VmRSS"))
        await asyncio.sleep(0.1)
    return peak


async def measure(count: int, authors: int, folder: Path) -> dict[str, float]:
    a_id = await fill(folder / "a", count, authors)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLMESH")}
    with log_file(folder / "a-stderr.log") as errors:
        proc = await asyncio.create_subprocess_exec(
            *command(),
            "run",
            "--data",
            str(folder / "a"),
            "--port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            env=env,
            cwd=REPO,
        )
    assert proc.stdout is not None
    b: Node | None = None
    service: NodeService | None = None
    try:
        address = None
        async with asyncio.timeout(START_TIMEOUT):
            while address is None:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"schoolmesh run exited: see {folder / 'a-stderr.log'}")
                if match := LISTENING.search(line):
                    address = match.group(1)
        idle = await watch_rss(proc.pid, IDLE_SECONDS)
        print(f"A idle with {count:,} entries: {idle / 1024:.1f} MB resident", flush=True)

        b = await Node.create(folder / "b", name="B", country="FR")
        await choose(b.store, EVERYTHING_MODE, (), ())
        service = NodeService(b)
        await service.start()
        store = await Store.open(DataDir(folder / "a").database, create=False)
        try:  # A's watcher notices the new partner in its database and dials B
            await PeerBook(store).add(b.node_id, service.address, now_ms())
        finally:
            await store.close()
        started = time.perf_counter()
        await PeerBook(b.store).add(a_id, address, now_ms())
        seen = 0
        async with asyncio.timeout(CATCH_UP_TIMEOUT):
            while await b.store.count_entries() < count + 2:  # + both profiles
                seen = max(seen, status_kb(proc.pid, "VmRSS"))
                await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        peak = status_kb(proc.pid, "VmHWM")
        print(
            f"A serving a catch-up of {count:,} entries ({elapsed:.1f} s): peak "
            f"{peak / 1024:.1f} MB resident (largest sample {seen / 1024:.1f} MB)",
            flush=True,
        )
        after = await watch_rss(proc.pid, IDLE_SECONDS)
        print(f"A idle again: {after / 1024:.1f} MB resident", flush=True)
    finally:
        if service is not None:
            await service.stop()
        if b is not None:
            await b.close()
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
    floor = floor_kb()
    print(f"Python with the node's modules imported: {floor / 1024:.1f} MB resident")
    return {
        "entries": count,
        "serving_mb": round(peak / 1024, 1),
        "idle_mb": round(idle / 1024, 1),
        "idle_after_mb": round(after / 1024, 1),
        "floor_mb": round(floor / 1024, 1),
        "catch_up_s": round(elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 entries (under a minute)")
    args = parser.parse_args()
    count, authors = (10_000, 50) if args.quick else (100_000, 200)
    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        result = asyncio.run(measure(count, authors, Path(tmp)))
    print(
        f"serving: {result['serving_mb']} MB (target < 200); idle: {result['idle_mb']} MB "
        "(target < 80)"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
