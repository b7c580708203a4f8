"""Project letters that arrive out of order, as honest schools send them: the rules of
protocol/rules/projects.py must let them through (tests/hostile/test_projects.py has
the letters they must not)."""

from __future__ import annotations

import os
from typing import Any

from node.clock import now_ms
from protocol import letters
from tests.hostile.harness import judged, send_as
from tests.network import LiveNode
from tests.node.test_projects import (
    photo,
    schools,  # noqa: F401 (the fixture)
    start_project,
)

Schools = dict[str, LiveNode]


async def test_the_owners_takedown_that_overtakes_a_post_keeps_it_down(
    schools: Schools,  # noqa: F811
) -> None:
    """A takes down B's post; its letter reaches C before B's post does.

    (A seals it by hand, as it does not hold the draft here; so C's receipt is refused
    at A, which never took it down.)"""
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    await b.node.accounts.set_consent(
        "Mr Roux", show_name="full", work_photos=True, face_photos=None
    )
    draft = await b.node.projects.draft(
        project,
        "Mr Roux",
        "Notre fleuve",
        "La Loire",
        theme=None,
        images=[("loire.jpg", photo(), False)],
        now=now_ms(),
    )
    numbers = await send_as(a, letters.TAKEDOWN, {"p": project, "target": draft.id}, [c])
    await judged(a, numbers)
    await b.node.projects.approve(draft.id, "Mr Roux", now_ms())
    seq = await b.node.mail._mark((b.node.node_id, c.node.node_id))
    await judged(b, {c: seq})
    assert await c.node.store.fetch_all("SELECT * FROM posts") == []
    assert await c.node.store.fetch_all("SELECT * FROM images") == []
    tomb = await c.node.store.fetch_all("SELECT target, project, by_node FROM takedowns")
    assert [tuple(t) for t in tomb] == [(draft.id, project, bytes(a.node.node_id))]


async def test_a_comment_that_arrives_before_its_post_shows_once_the_post_does(
    schools: Schools,  # noqa: F811
) -> None:
    """A school that joins late gets each member's work from that member, in any order."""
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    post, at = os.urandom(16).hex(), now_ms()
    comment: dict[str, Any] = {
        "p": project,
        "post": post,
        "id": os.urandom(16).hex(),
        "by": "Mr Roux",
    }
    comment.update({"body": "¡Qué bonito!", "at": at})
    await judged(c, await send_as(c, letters.COMMENT, comment, [a]))
    content: dict[str, Any] = {
        "p": project,
        "id": post,
        "title": "Notre marché",
        "body": "Lyon",
        "by": "B",
    }
    content["at"] = at
    await judged(b, await send_as(b, letters.POST, content, [a]))
    assert [x.body for x in await a.node.projects.comments(post)] == ["¡Qué bonito!"]
