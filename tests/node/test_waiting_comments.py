"""A comment waiting for a teacher: its pupil deletes it, a teacher declines it (deletes
it), and `post takedown` of one deletes it here and sends nothing, as nothing was sent
(docs/decisions.md, "Deleting a waiting comment"). A table test of the rule, then real
nodes and their real databases."""

from __future__ import annotations

import pytest

from node.clock import now_ms
from node.projects import approval
from node.projects.approval import Deletion
from protocol.errors import NotAllowedError, NotFoundError, UserInputError
from protocol.rules.projects import PostState
from tests.helpers import run_before_the_write
from tests.network import LiveNode, wait_for
from tests.node.test_project_drafts import PASSWORD
from tests.node.test_project_membership import sealed_for
from tests.node.test_projects import schools, start_project  # noqa: F401 (the fixture)

PUPIL = "Amélie Rose"
S = PostState
#: (ours, state, by, by_staff, author) -> verdict
COMMENT_DELETIONS = [
    (True, S.DRAFT, "Amira", False, "Amira", Deletion.BY_AUTHOR),  # her own, waiting
    (True, S.DRAFT, "Ms Patel", True, "Amira", Deletion.BY_STAFF),  # a teacher declines
    (True, S.DRAFT, "Mr Jones", True, None, Deletion.BY_STAFF),  # writer's account gone
    (True, S.DRAFT, "Ms Patel", True, "Ms Patel", Deletion.BY_AUTHOR),
    # Her account as the users table finds it (same_name): ASCII capitals alike, not é/É.
    (True, S.DRAFT, "AMIRA", False, "Amira", Deletion.BY_AUTHOR),
    (True, S.DRAFT, "émile", False, "Émile", Deletion.REFUSED),
    # Hostile rows: another pupil, whatever the state; a partner's comment, whoever asks.
    (True, S.DRAFT, "Ben", False, "Amira", Deletion.REFUSED),
    (True, S.DRAFT, "Ben", False, None, Deletion.REFUSED),
    (True, S.APPROVED, "Ben", False, "Amira", Deletion.REFUSED),  # not even told it was sent
    (False, S.APPROVED, "Ms Patel", True, "Pierre", Deletion.REFUSED),
    (False, S.DRAFT, "Ms Patel", True, "Pierre", Deletion.REFUSED),
    (False, S.APPROVED, "Pierre", False, "Pierre", Deletion.REFUSED),  # same name here
    # Sent, or taken down: only a takedown recalls it, said to whoever could have deleted it.
    (True, S.APPROVED, "Amira", False, "Amira", Deletion.NOT_WAITING),
    (True, S.APPROVED, "Ms Patel", True, "Amira", Deletion.NOT_WAITING),
    (True, S.REMOVED, "Ms Patel", True, "Amira", Deletion.NOT_WAITING),
    (True, S.RETURNED, "Amira", False, "Amira", Deletion.NOT_WAITING),  # comments never are
]


@pytest.mark.parametrize(
    ("ours", "state", "by", "by_staff", "author", "verdict"), COMMENT_DELETIONS
)
def test_who_may_delete_a_comment(
    ours: bool, state: PostState, by: str, by_staff: bool, author: str | None, verdict: Deletion
) -> None:
    found = approval.may_delete_comment(
        ours=ours, state=state, by=by, by_staff=by_staff, author=author
    )
    assert found is verdict


def test_the_refusal_of_a_sent_comment_points_to_takedown() -> None:
    words = approval.comment_not_waiting("1" * 32, "approved")
    assert "`schoolmesh post takedown 11111111 --reason REASON`" in str(words)
    assert "it was not deleted" in str(words)
    assert words.page is not None
    removed = approval.comment_not_waiting("1" * 32, "removed")
    assert "takedown" not in str(removed).replace("post status", "")


async def teacher_s_post(a: LiveNode, project: str) -> str:
    post = await a.node.projects.draft(
        project, "Ms Patel", "Trip", "The bus leaves at 9.", theme=None, images=[], now=now_ms()
    )
    await a.node.projects.approve(post.id, "Ms Patel", now_ms())
    return post.id


async def waiting_ids(a: LiveNode, post: str) -> set[str]:
    return {c.id for c in await a.node.projects.comments(post, states=("draft",))}


async def test_a_pupil_deletes_her_waiting_comment_and_a_teacher_declines_any(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a = schools["A"]
    project = await start_project(schools, "BC")
    await a.node.accounts.add("Ben", "pupil", PASSWORD, klass="5B", now=now_ms())
    post = await teacher_s_post(a, project)
    mine, declined, sent, off = [
        await a.node.projects.comment(post, PUPIL, body, now_ms())
        for body in ("Yay!", "My address is 1 High St.", "See you!", "Bye")
    ]
    # Another pupil may not, and nothing is deleted.
    with pytest.raises(NotAllowedError, match="only the pupil who wrote a comment"):
        await a.node.projects.discard_comment(mine.id, "Ben")
    assert mine.id in await waiting_ids(a, post)

    gone, who = await a.node.projects.discard_comment(mine.id[:8], PUPIL)
    assert (gone.id, who) == (mine.id, Deletion.BY_AUTHOR)
    _gone, who = await a.node.projects.discard_comment(declined.id, "Ms Patel")
    assert who is Deletion.BY_STAFF
    assert await waiting_ids(a, post) == {sent.id, off.id}
    with pytest.raises(NotFoundError):
        await a.node.projects.discard_comment(mine.id, PUPIL)

    # Approved: sent to the members, so only a takedown recalls it; nothing deleted.
    await a.node.projects.approve(sent.id, "Ms Patel", now_ms())
    for by in (PUPIL, "Ms Patel"):
        with pytest.raises(UserInputError, match="post takedown") as refused:
            await a.node.projects.discard_comment(sent.id, by)
        assert not isinstance(refused.value, NotAllowedError)
    (kept,) = await a.node.projects.comments(post)
    assert (kept.id, kept.state) == (sent.id, "approved")

    # The case that had no way out: its pupil taken off, it can never be approved.
    await a.node.projects.rosters.replace(project, classes=[], pupils=["Ben"], now=now_ms())
    await a.node.projects.discard_comment(off.id, "Ms Patel")
    assert await waiting_ids(a, post) == set()
    for comment in (mine, declined, off):  # nothing about them ever left the school
        assert await sealed_for(a, comment.id) == set()
    rows = await a.node.store.fetch_all("SELECT target FROM takedowns")
    assert rows == []


async def test_a_partner_s_comment_is_not_ours_to_delete(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "BC")
    post = await teacher_s_post(a, project)

    async def post_at_b() -> bool:
        try:
            return (await b.node.projects.post(post)).state == "approved"
        except NotFoundError:
            return False

    await wait_for(post_at_b, what="the post at B")
    theirs = await b.node.projects.comment(post, "Mr Roux", "Bonjour !", now_ms())

    async def comment_at_a() -> bool:
        return any(c.id == theirs.id for c in await a.node.projects.comments(post))

    await wait_for(comment_at_a, what="B's comment at A")
    for by in ("Ms Patel", PUPIL):
        with pytest.raises(NotAllowedError, match="a partner school's comment is theirs"):
            await a.node.projects.discard_comment(theirs.id, by)
    assert any(c.id == theirs.id for c in await a.node.projects.comments(post))


async def test_takedown_of_a_waiting_comment_deletes_it_and_sends_nothing(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """Before, it erased the comment and sealed a takedown letter, with its reason, to
    every member school, about a comment none of them had received."""
    a, b = schools["A"], schools["B"]
    project = await start_project(schools, "BC")
    post = await teacher_s_post(a, project)
    waiting = await a.node.projects.comment(post, PUPIL, "My address is 1 High St.", now_ms())
    approved = await a.node.projects.comment(post, PUPIL, "See you!", now_ms())
    await a.node.projects.approve(approved.id, "Ms Patel", now_ms())

    done = await a.node.projects.take_down(waiting.id[:8], now_ms(), reason="an address")
    assert (done.target, done.sent) == (waiting.id, False)
    assert waiting.id not in await waiting_ids(a, post)
    assert await sealed_for(a, waiting.id) == set()
    assert await a.node.store.fetch_all("SELECT 1 FROM takedowns") == []
    with pytest.raises(NotFoundError):
        await a.node.projects.status(waiting.id)

    # An approved comment is taken down as ever: erased, a tombstone, letters to all.
    async def approved_at_b() -> bool:
        return any(c.id == approved.id for c in await b.node.projects.comments(post))

    await wait_for(approved_at_b, what="the approved comment at B")
    done = await a.node.projects.take_down(approved.id, now_ms(), reason="too personal")
    assert done.sent
    members = {bytes(schools[n].node.node_id) for n in "BC"}
    assert members <= await sealed_for(a, approved.id)
    status = await a.node.projects.status(approved.id)
    assert status["state"] == "removed"
    assert status["takedown"]["reason"] == "too personal"

    # B gets that takedown, sealed after the other one would have been: and nothing else.
    async def tombstone_at_b() -> bool:
        row = await b.node.store.fetch_one(
            "SELECT 1 FROM takedowns WHERE target = ?", (approved.id,)
        )
        return row is not None

    await wait_for(tombstone_at_b, what="the takedown at B")
    rows = await b.node.store.fetch_all("SELECT target FROM takedowns")
    assert [r[0] for r in rows] == [approved.id]


async def test_approved_between_the_read_and_the_write_is_not_deleted(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """The delete reads the comment and judges, then writes: a teacher approving it in
    between (made to happen there) is seen by the write, which deletes nothing; one
    deleted in between (another teacher declined it) is gone, as asked."""
    a = schools["A"]
    project = await start_project(schools, "BC")
    post = await teacher_s_post(a, project)
    raced, twice, taken = [
        await a.node.projects.comment(post, PUPIL, body, now_ms())
        for body in ("Yay!", "Hello", "Bye")
    ]
    store = a.node.projects.store

    async def approve_it() -> None:
        await a.node.projects.approve(raced.id, "Ms Patel", now_ms())

    write = run_before_the_write(store, approve_it, of="Comments.discard_comment")
    try:
        with pytest.raises(UserInputError, match="approved and sent") as refused:
            await a.node.projects.discard_comment(raced.id, PUPIL)
    finally:
        store.write = write  # type: ignore[method-assign]
    assert "post takedown" in str(refused.value)
    (kept,) = await a.node.projects.comments(post)
    assert (kept.id, kept.state) == (raced.id, "approved")  # it did happen, and stays
    members = {bytes(schools[n].node.node_id) for n in "BC"}
    assert await sealed_for(a, raced.id) == members

    async def declined_by_another() -> None:
        await a.node.projects.discard_comment(twice.id, "Ms Patel")

    write = run_before_the_write(store, declined_by_another, of="Comments.discard_comment")
    try:
        await a.node.projects.discard_comment(twice.id, PUPIL)  # as asked: no error
    finally:
        store.write = write  # type: ignore[method-assign]
    assert twice.id not in await waiting_ids(a, post)

    # A takedown of a waiting comment approved meanwhile is a takedown, as for any
    # approved comment: the members had it, so they are asked to delete it.
    async def approve_taken() -> None:
        await a.node.projects.approve(taken.id, "Ms Patel", now_ms())

    write = run_before_the_write(store, approve_taken, of="Takedowns.take_down")
    try:
        done = await a.node.projects.take_down(taken.id, now_ms())
    finally:
        store.write = write  # type: ignore[method-assign]
    assert done.sent
    status = await a.node.projects.status(taken.id)
    assert status["state"] == "removed"
    assert set(status["takedown"]["waiting"]) | set(status["takedown"]["confirmed"]) == {
        str(schools[n].node.node_id) for n in "BC"
    }
