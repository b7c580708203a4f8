"""Projects over time, across real nodes: leaving and rejoining, two-key publication,
forged takedowns, and consent withdrawn from comments.

The same four schools as tests/node/test_projects.py: A (the owner) partnered with B,
C and D; B and C are not partners of each other and reach each other through A.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from node.clock import now_ms
from protocol import letters
from protocol.errors import NotAllowedError, UserInputError
from tests.helpers import run_cli
from tests.network import LiveNode, files_contain, wait_for
from tests.node.test_projects import (
    PASSWORD,
    has_post,
    schools,  # noqa: F401 (the fixture)
    start_project,
)


async def approved_post(node: LiveNode, project: str, author: str, title: str, body: str) -> str:
    """A post drafted by ``author`` and approved by the school's teacher (as in the fixture)."""
    draft = await node.node.projects.draft(
        project, author, title, body, theme=None, images=[], now=now_ms()
    )
    teacher = next(u for u in await node.node.accounts.all() if u.is_staff)
    await node.node.projects.approve(draft.id, teacher.name, now_ms())
    return draft.id


async def post_arrives(node: LiveNode, project: str, post: str) -> None:
    async def there() -> bool:
        return await has_post(node, project, post)

    await wait_for(there, what=f"post {post[:8]} at {node.node.data.path.name}")


async def sealed_for(node: LiveNode, about: str) -> set[bytes]:
    """The schools ``node`` ever sealed a letter about ``about`` for."""
    rows = await node.node.store.fetch_all(
        "SELECT recipient FROM letters_sent WHERE about = ?", (about,)
    )
    return {bytes(r[0]) for r in rows}


async def test_a_member_leaves_and_rejoins(schools: dict[str, LiveNode]) -> None:  # noqa: F811
    a, b, c = schools["A"], schools["B"], schools["C"]
    b_id = b.node.node_id
    project = await start_project(schools, "BC")
    first = await approved_post(a, project, "Ms Patel", "Before", "Posted before B left")
    c_first = await approved_post(c, project, "Mr Roux", "From C", "Hola from C")
    for post in (first, c_first):
        await post_arrives(b, project, post)

    await b.node.projects.leave(project, now_ms())

    async def left_everywhere() -> bool:
        for node in (a, c):
            got = await node.node.projects.get(project)
            if got.members.get(b_id) != "left":
                return False
        return True

    await wait_for(left_everywhere, what="A and C to see B leave")
    with pytest.raises(UserInputError, match="already left"):
        await b.node.projects.leave(project, now_ms())
    with pytest.raises(UserInputError, match="not a member"):
        await b.node.projects.draft(project, "Mr Roux", "T", "B", theme=None, images=[], now=1)
    # While away: new posts from A and C are not even sealed for B.
    away = await approved_post(a, project, "Ms Patel", "While away", "B is not here")
    c_away = await approved_post(c, project, "Mr Roux", "C while away", "Still not for B")
    await post_arrives(c, project, away)
    await post_arrives(a, project, c_away)
    assert bytes(b_id) not in await sealed_for(a, away)
    assert bytes(b_id) not in await sealed_for(c, c_away)
    assert not await has_post(b, project, away)
    # B keeps what it had, until it is taken down; takedowns still reach a school that
    # left, from C too, through A: so B keeps A as its relay (docs/decisions.md).
    assert await has_post(b, project, first)
    relays = (await b.node.store.latest_profile(b_id) or {}).get("relays")
    assert relays == [str(a.node.node_id)]
    await c.node.projects.takedown(c_first, now_ms())

    async def receipt_from_b() -> bool:
        status = await c.node.projects.status(c_first)
        return str(b_id) in status["takedown"]["confirmed"]

    await wait_for(receipt_from_b, what="B's receipt for C's takedown")
    assert (await b.node.projects.post(c_first)).body is None

    # Invited again, B joins again and gets what was posted while it was away.
    await a.node.projects.invite(project, b_id, now_ms())

    async def reinvited() -> bool:
        return (await b.node.projects.get(project)).standing == "invited"

    await wait_for(reinvited, what="the new invitation at B")
    await b.node.projects.join(project, now_ms())
    for post in (away, c_away):
        await post_arrives(b, project, post)
    assert (await b.node.projects.post(c_first)).state == "removed"  # stays down
    later = await approved_post(a, project, "Ms Patel", "After", "Welcome back")
    await post_arrives(b, project, later)
    titles = sorted(p.title or "" for p in await b.node.projects.posts(project))
    assert titles == ["After", "Before", "C while away", "While away"]


async def test_two_key_publication_holds_partners_posts_from_pupils(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    await b.node.accounts.add("Léa", "pupil", PASSWORD, klass="CM2", now=now_ms())
    await b.node.projects.rosters.replace(project, classes=[], pupils=["Léa"], now=now_ms())
    await b.node.projects.set_review(project, True)
    post = await approved_post(a, project, "Amélie Rose", "Our river walk", "We walked")
    own = await approved_post(b, project, "Mr Roux", "Notre rivière", "La Seine")
    for school in (b, c):
        await post_arrives(school, project, post)

    def ids(posts: list) -> set[str]:  # type: ignore[type-arg]
        return {p.id for p in posts}

    # B's staff see it; B's pupils do not until a B teacher accepts it. B's own post shows.
    assert post in ids(await b.node.projects.posts(project))
    assert ids(await b.node.projects.posts(project, for_pupils=True)) == {own}
    pupil_view = run_cli(
        "post", "list", "--project", project, "--pupils", "--json", "--data", str(b.node.data.path)
    )
    assert pupil_view.returncode == 0, pupil_view.stderr
    assert [p["id"] for p in json.loads(pupil_view.stdout)] == [own]
    # C did not ask for review: its pupils see it at once.
    assert post in ids(await c.node.projects.posts(project, for_pupils=True))

    with pytest.raises(NotAllowedError, match="only staff"):
        await b.node.projects.accept(post, "Léa")
    with pytest.raises(UserInputError, match="partner school can be accepted"):
        await b.node.projects.accept(own, "Mr Roux")
    with pytest.raises(UserInputError, match="use `post accept`"):
        await b.node.projects.approve(post, "Mr Roux", now_ms())
    assert ids(await b.node.projects.posts(project, for_pupils=True)) == {own}

    accepted = await b.node.projects.accept(post[:8], "Mr Roux")
    assert accepted.accepted_by == "Mr Roux"
    assert ids(await b.node.projects.posts(project, for_pupils=True)) == {own, post}
    # The acceptance is B's own business: A's copy says nothing of it.
    assert (await a.node.projects.post(post)).accepted_by is None
    await b.node.projects.set_review(project, False)
    assert ids(await b.node.projects.posts(project, for_pupils=True)) == {own, post}


async def test_a_forged_takedown_is_refused_and_logged(
    schools: dict[str, LiveNode],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """C is a member, but it neither wrote B's post nor owns the project."""
    caplog.set_level(logging.WARNING)
    a, b, c = schools["A"], schools["B"], schools["C"]
    project = await start_project(schools, "BC")
    post = await approved_post(b, project, "Mr Roux", "Notre marché", "Le marché de Lyon")
    for school in (a, c):
        await post_arrives(school, project, post)
    with pytest.raises(NotAllowedError, match="only the school whose pupil wrote it"):
        await c.node.projects.takedown(post, now_ms())

    # A hostile C goes round its own checks and seals a takedown letter by hand.
    c_id, targets = c.node.node_id, (a, b)
    await c.node.mail.send(
        letters.TAKEDOWN,
        {"p": project, "target": post, "reason": "forged"},
        [school.node.node_id for school in targets],
        about=post,
        now=now_ms(),
    )
    numbers = {school: await c.node.mail._mark((c_id, school.node.node_id)) for school in targets}

    async def opened_everywhere() -> bool:
        for school, seq in numbers.items():
            if await school.node.mail._mark((c_id, school.node.node_id)) < seq:
                return False
        return True

    await wait_for(opened_everywhere, what="A and B to open the forged takedown")
    for school in (a, b, c):
        got = await school.node.projects.post(post)
        assert (got.state, got.body) == ("approved", "Le marché de Lyon")
        assert await school.node.store.fetch_all("SELECT * FROM takedowns") == []
    refusals = [
        r.getMessage()
        for r in caplog.records
        if r.name == "node.mail.mailroom"
        and "neither wrote it nor owns the project" in r.getMessage()
    ]
    assert len(refusals) == 2, caplog.text  # one at A, one at B (they share this log)
    # A only carried the letter to B, sealed: B does not hold that against A.
    a_id = str(a.node.node_id)
    assert not [r for r in caplog.records if f"refused from {a_id}" in r.getMessage()]
    assert await c.node.store.fetch_all("SELECT * FROM receipts") == []

    # The pair is not stuck behind the refused letter: B's own takedown goes through.
    await b.node.projects.takedown(post, now_ms())

    async def all_confirmed() -> bool:
        return not (await b.node.projects.status(post))["takedown"]["waiting"]

    await wait_for(all_confirmed, what="receipts for B's takedown")
    assert (await c.node.projects.post(post)).state == "removed"


async def test_withdrawn_name_consent_takes_comments_down_too(
    schools: dict[str, LiveNode],  # noqa: F811
    tmp_path: Path,
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "B")
    pupil = "Amélie Rose"
    await a.node.accounts.set_consent(pupil, show_name="full", work_photos=None, face_photos=None)
    teacher_post = await approved_post(a, project, "Ms Patel", "Welcome", "Say hello")
    own_post = await approved_post(a, project, pupil, "My walk", "Walking by the Thames")
    partner_post = await approved_post(b, project, "Mr Roux", "Bonjour", "De Lyon")
    await post_arrives(a, project, partner_post)
    comments = []
    for on, words in (
        (teacher_post, "Hello from Amélie Rose-Comment-1"),
        (partner_post, "Merci from Amélie Rose-Comment-2"),
        (own_post, "My own walk again-Comment-3"),
    ):
        draft = await a.node.projects.comment(on, pupil, words, now_ms())
        assert draft.state == "draft"
        await a.node.projects.approve(draft.id, "Ms Patel", now_ms())
        comments.append(draft.id)

    async def comments_at_b() -> bool:
        got = [await b.node.projects.comments(p) for p in (teacher_post, partner_post, own_post)]
        return sum(len(x) for x in got) == 3

    await wait_for(comments_at_b, what="the comments at B")
    assert {c.by_name for c in await b.node.projects.comments(partner_post)} == {pupil}

    # Consent for photos changes nothing sent without photos; the name does.
    _, after = await a.node.accounts.set_consent(
        pupil, show_name=None, work_photos=True, face_photos=None
    )
    assert await a.node.projects.enforce_consent(after, now_ms()) == []
    _, after = await a.node.accounts.set_consent(
        pupil, show_name="initials", work_photos=None, face_photos=None
    )
    taken = await a.node.projects.enforce_consent(after, now_ms())
    assert taken == [own_post, *comments]
    assert await a.node.projects.enforce_consent(after, now_ms()) == []  # nothing left to do

    async def confirmed() -> bool:
        for target in (own_post, comments[0], comments[1]):
            status = await a.node.projects.status(target)
            if status["takedown"]["waiting"] != []:
                return False
        return True

    await wait_for(confirmed, what="B's receipts")
    for cid in comments:
        for school in (a, b):
            row = await school.node.store.fetch_one(
                "SELECT state, body, by_name FROM comments WHERE id = ?", (cid,)
            )
            assert tuple(row) == ("removed", None, None)
    # The teacher's post and B's post stay; only the pupil's words went.
    assert await has_post(b, project, teacher_post)
    assert await has_post(a, project, partner_post)
    for name in ("A", "B"):
        for needle in (b"Comment-1", b"Comment-2", b"Comment-3", b"Thames"):
            assert files_contain(tmp_path / name, needle) == [], (name, needle)
