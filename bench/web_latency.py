"""Web page latency: the offers search page over 100,000 offers, 16 teachers at once.

A real node (``schoolmesh run``, its own process) holds 100,000 offers from 200
schools; 16 concurrent clients, signed in as a teacher, load the search page
(``GET /offers?q=WORD``) with words drawn from the offers' own vocabulary. The
machine's floor is measured in the same run: the same 16 clients against a bare
aiohttp handler in the same kind of process, so the ratio says how much of the time
is schoolmesh's own. Last line: ``RESULT {json}`` with ``p50_ms``, ``p95_ms``.

Usage: python bench/web_latency.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.clock import now_ms
from node.node import Node
from node.store.holding import EVERYTHING_MODE, choose
from protocol.entry import Entry, create_entry
from protocol.keys import NodeKey

CLIENTS = 16
PASSWORD = "bench-password-1"
SUBJECTS = ["maths", "science", "history", "geography", "music", "art", "français", "español"]
FOCUS = ["phonics", "reading", "maths-mastery", "behaviour", "send", "leadership", "eal", "oracy"]
WORDS = [
    "observation",
    "lesson",
    "mastery",
    "fractions",
    "débat",
    "écriture",
    "lecture",
    "visit",
    "moderation",
    "writing",
    "questioning",
    "feedback",
    "retrieval",
    "vocabulary",
    "inclusion",
    "outdoor",
    "forest",
    "coding",
    "robotics",
    "choir",
    "orchestra",
    "poetry",
    "drama",
    "physics",
    "biology",
    "chemistry",
    "algebra",
    "geometry",
    "statistics",
    "phonics",
    "oracy",
    "wellbeing",
]
ACTIVITIES = ["observation", "shadowing", "training-day", "moderation", "teachmeet", "visit"]
BARE_SERVER = """
import sys
from aiohttp import web
async def page(request):
    return web.Response(text="<!doctype html><title>floor</title>" + "x" * 4000,
                        content_type="text/html")
app = web.Application()
app.router.add_get("/", page)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
            print=lambda *a: print("Listening", flush=True))
"""


def offers(count: int, authors: int, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    result = []
    start = now_ms() - 3_600_000
    for a in range(authors):
        key = NodeKey((a + 1000).to_bytes(4, "big") * 8)
        prev = None
        for seq in range(1, count // authors + 1):
            words = rng.sample(WORDS, 6)
            entry = create_entry(
                key,
                seq=seq,
                prev=prev,
                timestamp=start + seq,
                kind="offer",
                content={
                    "activity": rng.choice(ACTIVITIES),
                    "title": f"{words[0].capitalize()} and {words[1]} in {rng.choice(SUBJECTS)}",
                    "text": " ".join(words) + ": an afternoon with our department.",
                    "focus": rng.sample(FOCUS, 2),
                    "subjects": rng.sample(SUBJECTS, 1),
                    "phases": [rng.choice(["primary", "secondary"])],
                    "languages": [rng.choice(["en", "fr", "es"])],
                },
            )
            result.append(entry)
            prev = entry.id
    return result


async def prepare(folder: Path, count: int, authors: int) -> None:
    node = await Node.create(folder, name="Bench School", country="GB")
    # Made-up schools' logs, whole: as measured before issue 23.
    await choose(node.store, EVERYTHING_MODE, (), ())
    entries = offers(count, authors)
    for i in range(0, len(entries), 1000):
        await node.store.ingest(entries[i : i + 1000], now_ms())
    await node.accounts.add("Bench Teacher", "staff", PASSWORD, klass=None, now=0)
    await node.close()


def start(command: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "Listening" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"could not start {command}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sign_in(base: str) -> dict[str, str]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as http:
        async with http.get("/signin") as response:
            found = re.search(r'name="csrf" value="([^"]+)"', await response.text())
        assert found, "no sign-in form"
        data = {"csrf": found[1], "name": "Bench Teacher", "password": PASSWORD}
        async with http.post("/signin", data=data, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        return {c.key: c.value for c in jar}


async def load(base: str, paths: list[str], cookies: dict[str, str]) -> list[float]:
    """Each of CLIENTS workers takes the next path until none are left; latencies in ms."""
    queue = list(reversed(paths))
    latencies: list[float] = []

    async def worker(http: aiohttp.ClientSession) -> None:
        while queue:
            path = queue.pop()
            began = time.perf_counter()
            async with http.get(path) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"{path}: HTTP {response.status}")
            latencies.append((time.perf_counter() - began) * 1000)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(base_url=base, cookies=cookies, connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(CLIENTS)))
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 offers, 400 requests")
    args = parser.parse_args()
    count, authors, requests = (10_000, 50, 400) if args.quick else (100_000, 200, 3_000)
    rng = random.Random(11)
    paths = [f"/offers?q={rng.choice(WORDS)}" for _ in range(requests)]
    with tempfile.TemporaryDirectory(prefix="sm-web-bench-") as tmp:
        folder = Path(tmp) / "school"
        print(f"storing {count:,} offers from {authors} schools...", flush=True)
        asyncio.run(prepare(folder, count, authors))
        port = free_port()
        schoolmesh = str(Path(sys.executable).with_name("schoolmesh"))
        node = start([schoolmesh, "run", "--data", str(folder), "--port", str(port)])
        try:
            base = f"http://127.0.0.1:{port}"
            cookies = asyncio.run(sign_in(base))
            asyncio.run(load(base, paths[: CLIENTS * 4], cookies))  # warm up
            latencies = asyncio.run(load(base, paths, cookies))
        finally:
            node.terminate()
            node.wait(timeout=20)
    floor_port = free_port()
    bare = start([sys.executable, "-c", BARE_SERVER, str(floor_port)])
    try:
        floor = asyncio.run(load(f"http://127.0.0.1:{floor_port}", ["/"] * requests, {}))
    finally:
        bare.terminate()
        bare.wait(timeout=20)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    floor_p50 = statistics.median(floor)
    print(f"search page, {CLIENTS} clients, {len(latencies)} requests over {count:,} offers:")
    print(f"  p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 < 100 ms)")
    print(f"  bare aiohttp page, same clients: p50 {floor_p50:.1f} ms")
    print(f"  ratio p50 / floor p50: {p50 / floor_p50:.1f}")
    result = {
        "offers": count,
        "clients": CLIENTS,
        "requests": len(latencies),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "floor_p50_ms": round(floor_p50, 2),
        "ratio_to_floor": round(p50 / floor_p50, 1),
        "cpus": os.cpu_count(),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
