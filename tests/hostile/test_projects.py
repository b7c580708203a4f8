"""Hostile schools and project letters: each test is a school signing, with its own valid
key, a letter that follows docs/protocol.md to the byte but breaks a rule of
protocol/rules/projects.py; the receiver refuses it and nothing changes.

The schools of tests/node/test_projects.py: A (the owner of project P) is partnered
with B, C and D; B and C are members of P, D is not; B and C are not partners of each
other and reach each other through A.
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any

import pytest
from PIL import Image

from node.clock import now_ms
from protocol import letters
from protocol.keys import content_hash
from tests.hostile.harness import judged, send_as
from tests.network import LiveNode, wait_for
from tests.node.test_project_membership import approved_post, post_arrives
from tests.node.test_projects import (
    photo,
    schools,  # noqa: F401 (the fixture)
    start_project,
)
from tests.web.web import add_user, client, http_sign_in

Schools = dict[str, LiveNode]


def new_id() -> str:
    return os.urandom(16).hex()


def refusals(caplog: pytest.LogCaptureFixture, reason: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "node.mail.mailroom"
        and "was refused" in r.getMessage()
        and reason in r.getMessage()
    ]


async def project_of(school: LiveNode, owner: LiveNode, invited: LiveNode, *, join: bool) -> str:
    """A second project, started by ``owner`` with ``invited`` invited (and joined)."""
    project = await owner.node.projects.create("Kitchens of Europe", ["food"], now_ms())
    await owner.node.projects.invite(project.id, invited.node.node_id, now_ms())

    async def there() -> bool:
        return any(p.id == project.id for p in await invited.node.projects.all())

    await wait_for(there, what="the second project's invitation")
    if join:
        await invited.node.projects.join(project.id, now_ms())

        async def joined() -> bool:
            got = await owner.node.projects.get(project.id)
            return got.members.get(invited.node.node_id) == "member"

        await wait_for(joined, what="the second project's member")
    return project.id


async def held_projects(school: LiveNode) -> dict[str, str]:
    """Project id -> our standing, at ``school``."""
    return {p.id: p.standing for p in await school.node.projects.all()}


async def names_relay(sender: LiveNode, school: LiveNode, relay: LiveNode) -> None:
    """Wait until ``sender`` holds ``school``'s profile naming ``relay`` (so mail can go)."""

    async def known() -> bool:
        return relay.node.node_id in await sender.node.mail.relays_of(school.node.node_id)

    await wait_for(known, what="the relay named in the profile")


def post_letter(project: str, post: str, **extra: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "p": project,
        "id": post,
        "title": "Notre fleuve",
        "body": "La Loire",
        "by": "Mr Roux",
        "at": now_ms(),
    }
    content.update(extra)
    return content


def comment_letter(project: str, post: str, **extra: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "p": project,
        "post": post,
        "id": new_id(),
        "by": "Mr Roux",
        "body": "Forged words",
        "at": now_ms(),
    }
    content.update(extra)
    return content


async def intact(school: LiveNode, post: str, body: str) -> None:
    got = await school.node.projects.post(post)
    assert (got.state, got.body) == ("approved", body)
    assert await school.node.store.fetch_all("SELECT * FROM takedowns") == []


# -- takedowns ----------------------------------------------------------------------------


async def test_a_member_cannot_take_down_another_projects_post_by_naming_a_project_it_owns(
    schools: Schools,  # noqa: F811
) -> None:
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    own = await project_of(c, c, a, join=False)  # C owns a project A is invited to
    post = await approved_post(b, project, "Mr Roux", "Notre marché", "Le marché de Lyon")
    await post_arrives(a, project, post)

    numbers = await send_as(c, letters.TAKEDOWN, {"p": own, "target": post, "reason": "x"}, [a])
    await judged(c, numbers)
    await intact(a, post, "Le marché de Lyon")
    assert await c.node.store.fetch_all("SELECT * FROM receipts") == []


async def test_a_member_cannot_take_down_another_projects_comment_by_naming_a_project_it_owns(
    schools: Schools,  # noqa: F811
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "BC")
    own = await project_of(b, b, a, join=True)
    post = await approved_post(a, project, "Ms Patel", "Welcome", "Say hello")
    comment = await a.node.projects.comment(post, "Ms Patel", "Hello from London", now_ms())

    numbers = await send_as(b, letters.TAKEDOWN, {"p": own, "target": comment.id}, [a])
    await judged(b, numbers)
    assert [c.body for c in await a.node.projects.comments(post)] == ["Hello from London"]
    assert await a.node.store.fetch_all("SELECT * FROM takedowns") == []


async def test_a_takedown_that_overtakes_a_post_cannot_hold_back_a_post_of_another_project(
    schools: Schools,  # noqa: F811
) -> None:
    """C owns another project that A is in; it names B's coming post as taken down there."""
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    own = await project_of(c, c, a, join=True)
    draft = await b.node.projects.draft(
        project, "Mr Roux", "Notre fleuve", "La Loire", theme=None, images=[], now=now_ms()
    )
    numbers = await send_as(c, letters.TAKEDOWN, {"p": own, "target": draft.id}, [a])
    await judged(c, numbers)
    await b.node.projects.approve(draft.id, "Mr Roux", now_ms())
    await post_arrives(a, project, draft.id)
    await intact(a, draft.id, "La Loire")


async def test_a_receipt_from_a_school_we_did_not_ask_is_refused(
    schools: Schools,  # noqa: F811
) -> None:
    a, d = schools["A"], schools["D"]
    project = await start_project(schools, "BC")
    post = await approved_post(a, project, "Ms Patel", "Welcome", "Say hello")
    await a.node.projects.takedown(post, now_ms())

    numbers = await send_as(d, letters.RECEIPT, {"p": project, "target": post}, [a])
    await judged(d, numbers)
    status = await a.node.projects.status(post)
    assert str(d.node.node_id) not in status["takedown"]["confirmed"]
    assert (
        await a.node.store.fetch_all(
            "SELECT 1 FROM receipts WHERE node = ?", (bytes(d.node.node_id),)
        )
        == []
    )


# -- membership ---------------------------------------------------------------------------


async def test_a_school_that_is_not_our_partner_cannot_invite_us(
    schools: Schools,  # noqa: F811
) -> None:
    """D reaches B only through A, B's relay: a letter from a stranger, signed and sealed."""
    a, b, d = schools["A"], schools["B"], schools["D"]
    await start_project(schools, "B")
    await names_relay(d, b, a)
    before = await held_projects(b)
    content = {
        "p": new_id(),
        "title": "Trust us",
        "members": [[bytes(d.node.node_id), "member"], [bytes(b.node.node_id), "invited"]],
        "rev": 1,
    }
    numbers = await send_as(d, letters.PROJECT, content, [b])
    await judged(d, numbers)
    assert await held_projects(b) == before


async def test_a_school_that_is_not_our_partner_cannot_make_us_a_member(
    schools: Schools,  # noqa: F811
) -> None:
    a, b, d = schools["A"], schools["B"], schools["D"]
    await start_project(schools, "B")
    await names_relay(d, b, a)
    before = await held_projects(b)
    pid = new_id()
    members = sorted([[bytes(d.node.node_id), "member"], [bytes(b.node.node_id), "member"]])
    content = {"p": pid, "title": "Trust us", "members": members, "rev": 1}
    numbers = await send_as(d, letters.PROJECT, content, [b])
    await judged(d, numbers)
    assert await held_projects(b) == before


async def test_a_partner_cannot_make_us_a_member_of_a_project_we_never_joined(
    schools: Schools,  # noqa: F811
) -> None:
    a, d = schools["A"], schools["D"]
    members = [[bytes(a.node.node_id), "member"], [bytes(d.node.node_id), "member"]]
    content = {"p": new_id(), "title": "Enrolled", "members": members, "rev": 1}
    numbers = await send_as(a, letters.PROJECT, content, [d])
    await judged(a, numbers)
    assert await held_projects(d) == {}


async def test_the_owners_revision_cannot_make_an_invited_school_a_member(
    schools: Schools,  # noqa: F811
) -> None:
    a, d = schools["A"], schools["D"]
    project = await project_of(a, a, d, join=False)
    held = await a.node.projects.get(project)
    members = [[bytes(a.node.node_id), "member"], [bytes(d.node.node_id), "member"]]
    content = {"p": project, "title": held.title, "members": members, "rev": held.rev + 1}
    numbers = await send_as(a, letters.PROJECT, content, [d])
    await judged(a, numbers)
    got = await d.node.projects.get(project)
    assert got.standing == "invited"
    assert got.members[d.node.node_id] == "invited"


async def test_a_school_that_is_not_the_owner_cannot_change_a_projects_membership(
    schools: Schools,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    a, b, c, d = schools["A"], schools["B"], schools["C"], schools["D"]
    project = await start_project(schools, "BC")

    async def settled() -> bool:
        got = await b.node.projects.get(project)
        return got.members.get(c.node.node_id) == "member"

    await wait_for(settled, what="B to see C join")
    before = await b.node.projects.get(project)
    members = [[bytes(n.node.node_id), "member" if n is not a else "left"] for n in (a, b, c, d)]
    content = {"p": project, "title": "Ours now", "members": members, "rev": 2**40}
    numbers = await send_as(c, letters.PROJECT, content, [b])
    await judged(c, numbers)
    assert await b.node.projects.get(project) == before
    assert refusals(caplog, "does not own the project")


async def test_a_school_that_is_not_in_a_project_cannot_leave_it_and_learn_who_is(
    schools: Schools,  # noqa: F811
) -> None:
    a, d = schools["A"], schools["D"]
    project = await start_project(schools, "BC")
    before = await a.node.projects.get(project)
    numbers = await send_as(d, letters.PROJECT_LEAVE, {"p": project}, [a])
    await judged(d, numbers)
    assert await a.node.projects.get(project) == before
    assert await held_projects(d) == {}


# -- posts, comments, photos ------------------------------------------------------------------


async def test_no_post_reaches_a_school_that_has_not_joined(
    schools: Schools,  # noqa: F811
) -> None:
    a, d = schools["A"], schools["D"]
    project = await project_of(a, a, d, join=False)
    numbers = await send_as(a, letters.POST, post_letter(project, new_id()), [d])
    await judged(a, numbers)
    assert await d.node.store.fetch_all("SELECT * FROM posts") == []


async def test_a_member_cannot_reuse_another_schools_post_or_comment_id(
    schools: Schools,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    post = await approved_post(a, project, "Ms Patel", "Welcome", "Say hello")
    comment = await a.node.projects.comment(post, "Ms Patel", "Hello from London", now_ms())

    async def comment_at_b() -> bool:
        return bool(await b.node.projects.comments(post))

    await wait_for(comment_at_b, what="A's comment at B")
    for reused in (post, comment.id):
        numbers = await send_as(c, letters.POST, post_letter(project, reused), [b])
        await judged(c, numbers)
    await intact(b, post, "Say hello")
    assert [x.body for x in await b.node.projects.comments(post)] == ["Hello from London"]
    assert await b.node.store.fetch_all("SELECT 1 FROM posts WHERE id = ?", (comment.id,)) == []
    assert len(refusals(caplog, "whose id we hold")) == 2


async def test_a_member_cannot_comment_into_another_project(
    schools: Schools,  # noqa: F811
) -> None:
    """C owns another project that A is in, and files a comment there on B's post in P."""
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    own = await project_of(c, c, a, join=True)
    post = await approved_post(b, project, "Mr Roux", "Notre marché", "Le marché de Lyon")
    await post_arrives(a, project, post)
    numbers = await send_as(c, letters.COMMENT, comment_letter(own, post), [a])
    await judged(c, numbers)
    assert await a.node.projects.comments(post) == []
    assert await a.node.store.fetch_all("SELECT * FROM comments") == []


async def test_a_post_or_comment_dated_out_of_bounds_is_refused_and_the_blog_still_shows(
    schools: Schools,  # noqa: F811
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "B")
    post = await approved_post(a, project, "Ms Patel", "Welcome", "Say hello")
    await post_arrives(b, project, post)
    far, early = 2**53 - 1, 1_000_000_000_000  # 2001: before any project
    for letter_kind, content in (
        (letters.POST, post_letter(project, new_id(), at=far)),
        (letters.POST, post_letter(project, new_id(), at=early)),
        (letters.COMMENT, comment_letter(project, post, at=far)),
    ):
        numbers = await send_as(b, letter_kind, content, [a])
        await judged(b, numbers)
    assert [p.id for p in await a.node.projects.posts(project)] == [post]
    assert await a.node.projects.comments(post) == []
    await add_user(a, "Mrs Hale", "staff")
    async with client(a) as http:
        await http_sign_in(http, "Mrs Hale")
        for page in (f"/projects/{project}", f"/posts/{post}"):
            async with http.get(page) as response:
                assert response.status == 200, page


async def test_a_partners_photo_arrives_without_its_gps_position_and_camera_details(
    schools: Schools,  # noqa: F811
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "B")
    raw = photo(gps=True)
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the GPS is there
    digest, post = content_hash(raw), new_id()
    image = {"p": project, "post": post, "hash": digest, "type": "image/jpeg", "data": raw}
    await judged(b, await send_as(b, letters.IMAGE, image, [a]))
    listed = post_letter(project, post, images=[[digest, "image/jpeg"]])
    await judged(b, await send_as(b, letters.POST, listed, [a]))

    stored = await a.node.projects.image(post, digest)  # as the post's page asks for it
    assert stored is not None
    cleaned = Image.open(io.BytesIO(stored))
    assert cleaned.format == "JPEG"
    assert cleaned.size == (64, 48)
    assert not cleaned.getexif()
    assert b"PhoneMaker" not in stored
    assert b"Camera app" not in stored


async def test_a_photo_that_cannot_be_decoded_is_refused(
    schools: Schools,  # noqa: F811
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "B")
    junk = b"\xff\xd8\xff\xe0 not really a photo " * 20
    image = {
        "p": project,
        "post": new_id(),
        "hash": content_hash(junk),
        "type": "image/jpeg",
        "data": junk,
    }
    await judged(b, await send_as(b, letters.IMAGE, image, [a]))
    assert await a.node.store.fetch_all("SELECT * FROM images") == []


async def test_a_member_cannot_slip_a_photo_into_another_schools_post(
    schools: Schools,  # noqa: F811
) -> None:
    """C sends a photo for B's post before the post itself reaches A."""
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    draft = await b.node.projects.draft(
        project, "Mr Roux", "Notre fleuve", "La Loire", theme=None, images=[], now=now_ms()
    )
    raw = photo(gps=False, colour=(0, 0, 0))
    image = {
        "p": project,
        "post": draft.id,
        "hash": content_hash(raw),
        "type": "image/jpeg",
        "data": raw,
    }
    await judged(c, await send_as(c, letters.IMAGE, image, [a]))
    await b.node.projects.approve(draft.id, "Mr Roux", now_ms())
    await post_arrives(a, project, draft.id)
    assert (await a.node.projects.post(draft.id)).images == []
    assert await a.node.store.fetch_all("SELECT * FROM images") == []


async def test_a_photo_larger_than_any_node_sends_is_refused_before_it_is_decoded(
    schools: Schools,  # noqa: F811
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "B")
    out = io.BytesIO()
    Image.new("RGB", (4000, 16), (90, 90, 90)).save(out, format="JPEG")  # small file, wide
    data = out.getvalue()
    image = {
        "p": project,
        "post": new_id(),
        "hash": content_hash(data),
        "type": "image/jpeg",
        "data": data,
    }
    await judged(b, await send_as(b, letters.IMAGE, image, [a]))
    assert await a.node.store.fetch_all("SELECT * FROM images") == []
