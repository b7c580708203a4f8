"""Approving a pupil's post, and a project's page: milliseconds and trips to the database.

A real node (its own SQLite file in a temporary folder, no network) runs a project
with 8 member schools. Each round a pupil writes a draft with one photo and a
teacher approves it: the approval is sealed to the 8 members (a photo letter and a
post letter). Only ``Projects.approve`` is timed. Then the project page's service
calls (node/web/pages/projects.py, ``project_page``, as a teacher sees it) are timed
over the project's posts, 2 comments on each.

A *trip* is one call on aiosqlite's thread (each ``execute``, each fetch), counted
at aiosqlite's own queue. The floor is measured in the same run: one trip that
does nothing (``SELECT 1``), and the same statement on a plain sqlite3 connection
opened as ../shared/bench/limits.py opens its own, so the ratios say how much of
the time is the trips themselves.

Usage: python bench/approve.py [--quick]
Last line: ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from node.node import Node
from protocol.keys import NodeKey

LIMITS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "limits.py"
PASSWORD = "bench-password-1"
MEMBERS = 8


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


class Trips:
    """Counts the calls queued on aiosqlite's thread of one connection."""

    def __init__(self, node: Node) -> None:
        self.count = 0
        db: Any = node.store._db
        real = db._execute

        async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await real(fn, *args, **kwargs)

        db._execute = counted


async def timed(fn: Callable[[], Awaitable[Any]], trips: Trips) -> tuple[float, int]:
    before = trips.count
    t0 = time.perf_counter()
    await fn()
    return (time.perf_counter() - t0) * 1000, trips.count - before


def approver(node: Node, post_id: str, now: int) -> Callable[[], Awaitable[Any]]:
    return lambda: node.projects.approve(post_id, "Ms Patel", now)


async def floor_trip_ms(node: Node) -> float:
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        await node.store.fetch_one("SELECT 1")
    return (time.perf_counter() - t0) * 1000 / n


def plain_sqlite_ms(folder: Path) -> float | None:
    """One ``SELECT 1`` on a sqlite3 connection opened as limits.py opens its own."""
    if not LIMITS.exists():
        return None
    spec = importlib.util.spec_from_file_location("limits", LIMITS)
    assert spec is not None
    assert spec.loader is not None
    limits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(limits)
    con = limits.open_db(str(folder / "limits.db"))
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        con.execute("SELECT 1").fetchall()
    con.close()
    return (time.perf_counter() - t0) * 1000 / n


async def run(rounds: int, folder: Path) -> dict[str, Any]:
    node = await Node.create(folder / "a", name="Bench School", country="GB")
    try:
        now = int(time.time() * 1000)
        await node.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=now)
        await node.accounts.add("Amélie Rose", "pupil", PASSWORD, klass="5B", now=now)
        project = await node.projects.create("Rivers of Europe", ["rivers"], now)
        await node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=now)
        async with node.store.write():
            for _ in range(MEMBERS):
                await node.store.execute(
                    "INSERT INTO project_members (project, node, state) VALUES (?, ?, 'member')",
                    (project.id, bytes(NodeKey(os.urandom(32)).node_id)),
                )
        picture = photo()
        trips = Trips(node)
        approve_ms: list[float] = []
        approve_trips: list[int] = []
        for i in range(rounds):
            draft = await node.projects.draft(
                project.id,
                "Amélie Rose",
                f"The river at our school, week {i}",
                "We measured how fast the water runs. " * 20,
                theme="rivers",
                images=[("image/jpeg", picture, False)],
                now=now + i,
            )
            ms, n = await timed(approver(node, draft.id, now + i), trips)
            approve_ms.append(ms)
            approve_trips.append(n)
            for j in range(2):
                await node.projects.comment(draft.id, "Ms Patel", f"Well done {j}", now + i)

        async def project_page() -> None:  # what project_page asks, as a teacher
            p = await node.projects.get(project.id)
            posts = await node.projects.posts(p.id, for_pupils=False)
            await node.projects.posts(p.id, states=("draft", "returned"))
            await node.projects.waiting_comments(p.id)
            for post in posts:
                await node.projects.comments(post.id)

        page_ms: list[float] = []
        page_trips = 0
        for _ in range(5):
            ms, page_trips = await timed(project_page, trips)
            page_ms.append(ms)
        trip = await floor_trip_ms(node)
    finally:
        await node.close()
    plain = plain_sqlite_ms(folder)
    approve = statistics.median(approve_ms)
    page = statistics.median(page_ms)
    return {
        "rounds": rounds,
        "members": MEMBERS,
        "approve_ms": round(approve, 2),
        "approve_trips": statistics.median(approve_trips),
        "page_posts": rounds,
        "page_ms": round(page, 2),
        "page_trips": page_trips,
        "trip_ms": round(trip, 4),
        "plain_select_ms": None if plain is None else round(plain, 4),
        "approve_in_trips": round(approve / trip, 1),
        "page_in_trips": round(page / trip, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds instead of 60")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(10 if args.quick else 60, Path(tmp)))
    print(f"approve: {result['approve_ms']} ms, {result['approve_trips']} trips (median)")
    print(
        f"project page ({result['page_posts']} posts, 2 comments each): "
        f"{result['page_ms']} ms, {result['page_trips']} trips"
    )
    print(f"one empty trip to aiosqlite's thread: {result['trip_ms']} ms", end="")
    if result["plain_select_ms"] is not None:
        ratio = result["trip_ms"] / result["plain_select_ms"]
        print(f" ({ratio:.0f}x the same SELECT on sqlite3 opened as limits.py opens it)")
    else:
        print()
    print(
        f"approve = {result['approve_in_trips']} empty trips; "
        f"project page = {result['page_in_trips']} empty trips"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
