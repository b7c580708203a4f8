"""Property 7 for sealed mail: a recipient killed (SIGKILL) while hundreds of letters
arrive loses nothing it acknowledged, opens nothing twice and half-writes nothing.

A is a running ``schoolmesh run`` with many approved posts queued for its project
member B; B is started, killed part way through taking them, and started again. At
every kill, B's mark for the pair (A, B) must say exactly what B holds: every post
that A sealed for B with a number up to the mark is there, whole, and no other.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from PIL import Image

from node.clock import now_ms
from node.node import Node
from protocol.keys import NodeId
from tests.cli.test_network import (
    Network,
    School,
    eventually,
    network,  # noqa: F401 (the fixture)
    ok,
    partner_by_invite,
    sql,
)

TOTAL = 400
PHOTO_EVERY = 40
BODY = "We walked along the river and counted the bridges. " * 60  # ~3 KB a post


def photo(i: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (i % 256, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def fill(a: School, project: str) -> list[str]:
    """Draft and approve TOTAL posts at A with the Python API, beside its running node."""

    async def run() -> list[str]:
        made = []
        async with await Node.open(a.path) as node:
            for i in range(TOTAL):
                images = [(f"p{i}.png", photo(i), False)] if i % PHOTO_EVERY == 0 else []
                draft = await node.projects.draft(
                    project, "Ms Patel", f"Post {i}", f"{i}: {BODY}", theme=None,
                    images=images, now=now_ms(),
                )  # fmt: skip
                await node.projects.approve(draft.id, "Ms Patel", now_ms())
                made.append(draft.id)
        return made

    return asyncio.run(run())


def read(database: Path, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read a stopped node's database as the node would on starting (recovering the log)."""
    with closing(sqlite3.connect(database, timeout=10)) as db:
        return list(db.execute(query, params).fetchall())


def check_consistent(a: School, b: School) -> int:
    """B (stopped) holds exactly the posts A sealed for it up to B's mark, each whole."""
    a_id, b_id = bytes(_node_id(a)), bytes(_node_id(b))
    [(mark,)] = read(
        b.database, "SELECT seq FROM mail_marks WHERE sender = ? AND recipient = ?", (a_id, b_id)
    )
    expected = {
        about
        for (about,) in sql(
            a.database,
            "SELECT about FROM letters_sent WHERE recipient = ? AND kind = 'post' AND seq <= ?",
            [b_id, mark],
        )
    }
    held = read(b.database, "SELECT id, title, body FROM posts WHERE origin = ?", (a_id,))
    assert {row[0] for row in held} == expected, f"mark {mark} does not match the posts held"
    for _id, title, body in held:
        number = str(title).removeprefix("Post ")
        assert body == f"{number}: {BODY}", f"post {title} is not whole"
    missing = read(
        b.database,
        "SELECT COUNT(*) FROM images WHERE data IS NULL OR length(data) = 0",
    )
    assert missing == [(0,)], "a photo was listed without its bytes"
    assert read(b.database, "PRAGMA integrity_check") == [("ok",)]
    return len(held)


def _node_id(school: School) -> bytes:
    return bytes(NodeId.parse(school.node_id))


def test_killed_while_mail_arrives_resumes_with_every_letter_once(network: Network) -> None:  # noqa: F811
    a, b = network.init("A", "B")
    network.start(a, b)
    partner_by_invite(a, b)
    ok("user", "add", "--role", "staff", "--name", "Ms Patel", "--data", a.data)
    project = json.loads(ok("project", "create", "--title", "Rivers", "--json", "--data", a.data))[
        "id"
    ]
    ok("project", "invite", project, b.node_id, "--data", a.data)
    eventually(
        lambda: sql(b.database, "SELECT 1 FROM projects WHERE id = ?", [project]),
        within=15,
        what="the invitation at B",
    )
    ok("project", "join", project, "--data", b.data)
    b_id = _node_id(b)
    eventually(
        lambda: sql(
            a.database,
            "SELECT 1 FROM project_members WHERE project = ? AND node = ? AND state = 'member'",
            [project, b_id],
        ),
        within=15,
        what="B's join at A",
    )
    network.stop(b)
    posts = fill(a, project)
    a_id = _node_id(a)

    def count() -> int:
        return int(sql(b.database, "SELECT COUNT(*) FROM posts WHERE origin = ?", [a_id])[0][0])

    kills: list[int] = []
    held = 0
    # Killed just after a batch committed, then at moments likelier to fall inside one.
    for delay in (0.0, 0.1, 0.25):
        network.start(b)
        deadline = time.monotonic() + 30
        while count() <= held and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        network.kill(b)
        now_held = check_consistent(a, b)
        assert now_held >= held, "letters acknowledged before the kill were lost"
        held = now_held
        if held == TOTAL:
            break
        kills.append(held)
    assert kills, "B took every letter before it could be killed: make TOTAL larger"

    network.start(b)
    eventually(lambda: count() == TOTAL, within=60, what=f"B to hold all {TOTAL} posts")
    [(last,)] = sql(
        a.database, "SELECT seq FROM mail_marks WHERE sender = ? AND recipient = ?", [a_id, b_id]
    )

    def a_confirmed() -> bool:
        rows = sql(a.database, "SELECT seq FROM mail_acked WHERE recipient = ?", [b_id])
        return bool(rows) and rows[0][0] == last

    eventually(a_confirmed, within=15, what="A to learn B has every letter")
    eventually(
        lambda: sql(a.database, "SELECT COUNT(*) FROM mail WHERE recipient = ?", [b_id]) == [(0,)],
        within=15,
        what="A's outbox to B to empty",
    )
    network.stop(b)
    assert check_consistent(a, b) == TOTAL
    assert read(b.database, "SELECT seq FROM mail_marks WHERE sender = ?", (a_id,)) == [(last,)]
    assert read(b.database, "SELECT COUNT(DISTINCT id) FROM posts WHERE origin = ?", (a_id,)) == [
        (TOTAL,)
    ]
    assert {
        r[0] for r in read(b.database, "SELECT id FROM posts WHERE origin = ?", (a_id,))
    } == set(posts)
    photos = read(b.database, "SELECT COUNT(*) FROM images WHERE data IS NOT NULL")
    assert photos == [(TOTAL // PHOTO_EVERY,)]
