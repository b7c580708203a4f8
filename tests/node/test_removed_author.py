"""What a pupil whose account was removed wrote: never approved or sent any more, and
deleted by a teacher if the school wishes (docs/decisions.md, "Posts of a removed
account"). Table tests of the rules, then real nodes and their real databases."""

from __future__ import annotations

import pytest

from node.clock import now_ms
from node.projects import approval
from node.projects.approval import Deletion
from protocol.errors import AuthorRemovedError, NotAllowedError, NotFoundError, UserInputError
from protocol.rules.projects import PostState
from tests.network import LiveNode, wait_for
from tests.node.test_project_drafts import PASSWORD, photo
from tests.node.test_project_membership import sealed_for
from tests.node.test_projects import schools, start_project  # noqa: F401 (the fixture)

S = PostState
#: (ours, state, by, by_staff, author, author_exists) -> verdict
DELETIONS = [
    (True, S.DRAFT, "Amira", False, "Amira", True, Deletion.BY_AUTHOR),
    (True, S.RETURNED, "Amira", False, "Amira", True, Deletion.BY_AUTHOR),
    (True, S.APPROVED, "Amira", False, "Amira", True, Deletion.NOT_WAITING),
    (True, S.DRAFT, "Ms Patel", True, "Ms Patel", True, Deletion.BY_AUTHOR),  # a teacher's
    # The author's account as found by name: in other capitals (added again so), the
    # same account; beyond the ASCII capitals, as the users table, another one.
    (True, S.DRAFT, "AMIRA", False, "Amira", True, Deletion.BY_AUTHOR),
    (True, S.DRAFT, "émile", False, "Émile", True, Deletion.REFUSED),
    # Another teacher: not while the writer's account exists, only once it is removed.
    (True, S.DRAFT, "Ms Patel", True, "Amira", True, Deletion.REFUSED),
    (True, S.DRAFT, "Ms Patel", True, "Amira", False, Deletion.BY_STAFF),
    (True, S.RETURNED, "Ms Patel", True, "Amira", False, Deletion.BY_STAFF),
    (True, S.DRAFT, "Ms Patel", True, "Mr Jones", False, Deletion.BY_STAFF),
    (True, S.DRAFT, "Ms Patel", True, None, False, Deletion.BY_STAFF),
    # Sent, or taken down: only a takedown recalls it, whoever asks.
    (True, S.APPROVED, "Ms Patel", True, "Amira", False, Deletion.NOT_WAITING),
    (True, S.REMOVED, "Ms Patel", True, "Amira", False, Deletion.NOT_WAITING),
    # A pupil never deletes another's draft, account or none.
    (True, S.DRAFT, "Ben", False, "Amira", True, Deletion.REFUSED),
    (True, S.DRAFT, "Ben", False, "Amira", False, Deletion.REFUSED),
    # A partner school's post is never ours to delete (its writer has no account here).
    (False, S.APPROVED, "Ms Patel", True, "Pierre", False, Deletion.REFUSED),
    (False, S.DRAFT, "Ms Patel", True, "Pierre", False, Deletion.REFUSED),
    (False, S.DRAFT, "Pierre", False, "Pierre", False, Deletion.REFUSED),
]


@pytest.mark.parametrize(
    ("ours", "state", "by", "by_staff", "author", "author_exists", "verdict"), DELETIONS
)
def test_who_may_delete_a_post_that_never_left(
    ours: bool,
    state: PostState,
    by: str,
    by_staff: bool,
    author: str | None,
    author_exists: bool,
    verdict: Deletion,
) -> None:
    assert (
        approval.may_delete(
            ours=ours,
            state=state,
            by=by,
            by_staff=by_staff,
            author=author,
            author_exists=author_exists,
            author_takes_part=author_exists,  # (a pupil taken off: tests/node/test_taken_off.py)
        )
        is verdict
    )


def test_only_what_an_existing_account_wrote_may_be_approved() -> None:
    assert approval.may_approve(None) is False
    refused = approval.gone("0" * 32, "Amira")
    assert isinstance(refused, AuthorRemovedError)
    words = str(refused)
    assert words.startswith("Amira's account was removed, so the post 00000000 cannot")
    assert "nothing was sent" in words
    assert "schoolmesh post delete 00000000 --by NAME" in words
    assert "add it again with the same name" in words
    comment = str(approval.gone("1" * 32, "Amira", what="comment"))
    assert comment.startswith("Amira's account was removed, so the comment 11111111 cannot")
    # A teacher may decline and delete it (docs/decisions.md, "Deleting a waiting comment").
    assert "schoolmesh post delete 11111111 --by NAME" in comment


async def test_a_removed_pupil_s_post_is_not_approved_with_or_without_a_version(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """Before, an approval without --version sent the post (name "?", photos held
    back), and one with the version read after the removal too. Now both are refused
    and nothing is sealed to the members; the account added again makes it approvable."""
    a = schools["A"].node
    project = await start_project(schools, "BC")
    draft = await a.projects.draft(
        project, "Amélie Rose", "Walk", "We saw a heron.", theme=None, images=[photo(9)],
        now=now_ms(),
    )  # fmt: skip
    await a.accounts.remove("Amélie Rose")
    read_after = await a.projects.version(await a.projects.post(draft.id))
    assert read_after is not None
    for version in (None, read_after):
        with pytest.raises(AuthorRemovedError) as refused:
            await a.projects.approve(draft.id, "Ms Patel", now_ms(), version=version)
        assert str(refused.value).startswith("Amélie Rose's account was removed, so the post")
    post = await a.projects.post(draft.id)
    assert (post.state, post.approved_by, post.by_name) == ("draft", None, None)
    assert await sealed_for(schools["A"], draft.id) == set()

    await a.accounts.add("Amélie Rose", "pupil", PASSWORD, klass="5B", now=now_ms())
    await a.projects.approve(draft.id, "Ms Patel", now_ms())
    assert (await a.projects.post(draft.id)).state == "approved"
    members = {bytes(schools[n].node.node_id) for n in "BC"}
    assert await sealed_for(schools["A"], draft.id) == members


async def test_a_removed_pupil_s_comment_is_not_approved_and_sent_posts_stay(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a = schools["A"].node
    project = await start_project(schools, "BC")
    draft = await a.projects.draft(
        project, "Amélie Rose", "Walk", "A heron.", theme=None, images=[], now=now_ms()
    )
    await a.projects.approve(draft.id, "Ms Patel", now_ms())
    comment = await a.projects.comment(draft.id, "Amélie Rose", "It was tall!", now_ms())
    assert comment.state == "draft"
    await a.accounts.remove("Amélie Rose")
    with pytest.raises(AuthorRemovedError) as refused:
        await a.projects.approve(comment.id, "Ms Patel", now_ms())
    assert str(refused.value).startswith("Amélie Rose's account was removed, so the comment")
    (held,) = await a.projects.comments(draft.id, states=("draft", "approved"))
    assert (held.id, held.state) == (comment.id, "draft")
    assert await sealed_for(schools["A"], comment.id) == set()
    # What was approved and sent before the removal is not touched.
    assert (await a.projects.post(draft.id)).state == "approved"

    async def arrived() -> bool:
        try:
            return (await schools["B"].node.projects.post(draft.id)).state == "approved"
        except NotFoundError:
            return False

    await wait_for(arrived, what="the post approved before, at B")


async def test_a_teacher_deletes_a_removed_pupil_s_draft_and_nobody_else_may(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a, b = schools["A"].node, schools["B"].node
    project = await start_project(schools, "BC")
    await a.accounts.add("Ben", "pupil", PASSWORD, klass="5B", now=now_ms())
    draft = await a.projects.draft(
        project, "Amélie Rose", "Walk", "A heron.", theme=None, images=[photo(9)], now=now_ms()
    )
    returned = await a.projects.draft(
        project, "Amélie Rose", "Pond", "Frogs.", theme=None, images=[], now=now_ms()
    )
    await a.projects.return_(returned.id, "Ms Patel", "Which pond?")
    sent = await a.projects.draft(
        project, "Amélie Rose", "Sent", "Ducks.", theme=None, images=[], now=now_ms()
    )
    await a.projects.approve(sent.id, "Ms Patel", now_ms())
    # While the pupil's account exists, the draft is hers alone.
    with pytest.raises(NotAllowedError, match="only the pupil who wrote a draft"):
        await a.projects.discard(draft.id, "Ms Patel")
    await a.accounts.remove("Amélie Rose")
    with pytest.raises(NotAllowedError):
        await a.projects.discard(draft.id, "Ben")  # a pupil, even in the project
    with pytest.raises(NotFoundError):
        await b.projects.discard(draft.id, "Mr Roux")  # drafts never leave the school
    with pytest.raises(UserInputError, match="no longer a draft"):
        await a.projects.discard(sent.id, "Ms Patel")  # sent: only a takedown recalls it

    for post in (draft, returned):
        await a.projects.discard(post.id, "Ms Patel")
        with pytest.raises(NotFoundError):
            await a.projects.post(post.id)
    images = await a.store.fetch_all("SELECT 1 FROM images WHERE post = ?", (draft.id,))
    assert images == []
    assert (await a.projects.post(sent.id)).state == "approved"


async def test_a_partner_s_post_is_not_deleted_by_our_teacher(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a, b = schools["A"].node, schools["B"].node
    project = await start_project(schools, "BC")
    theirs = await b.projects.draft(
        project, "Mr Roux", "Bonjour", "Salut.", theme=None, images=[], now=now_ms()
    )
    await b.projects.approve(theirs.id, "Mr Roux", now_ms())

    async def arrived() -> bool:
        try:
            await a.projects.post(theirs.id)
        except NotFoundError:
            return False
        return True

    await wait_for(arrived, what="B's post at A")
    with pytest.raises(NotAllowedError):
        await a.projects.discard(theirs.id, "Ms Patel")
    assert (await a.projects.post(theirs.id)).state == "approved"


async def test_a_school_that_joins_later_gets_nothing_a_removed_pupil_wrote(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """A school that joins is sent our approved work (received.py, _send_own_work).
    Before, that sealed a removed pupil's approved post and comment for it afresh: what
    they wrote left the school again, to a school that had never had it."""
    a, d = schools["A"], schools["D"]
    project = await start_project(schools, "B")
    post = await a.node.projects.draft(
        project, "Amélie Rose", "Walk", "A heron.", theme=None, images=[photo(9)], now=now_ms()
    )
    await a.node.projects.approve(post.id, "Ms Patel", now_ms())
    kept = await a.node.projects.draft(
        project, "Ms Patel", "Trip", "The bus leaves at 9.", theme=None, images=[], now=now_ms()
    )
    await a.node.projects.approve(kept.id, "Ms Patel", now_ms())
    comment = await a.node.projects.comment(kept.id, "Amélie Rose", "Yay!", now_ms())
    await a.node.projects.approve(comment.id, "Ms Patel", now_ms())
    last = await a.node.projects.comment(kept.id, "Ms Patel", "See you there.", now_ms())
    assert last.state == "approved"  # a teacher's goes at once, after the pupil's
    b_id = bytes(schools["B"].node.node_id)
    assert b_id in await sealed_for(a, post.id)
    assert b_id in await sealed_for(a, comment.id)
    await a.node.accounts.remove("Amélie Rose")

    await a.node.projects.invite(project, d.node.node_id, now_ms())

    async def invited() -> bool:
        return any(p.id == project for p in await d.node.projects.all())

    await wait_for(invited, what="D to get the invitation")
    await d.node.projects.join(project, now_ms())
    d_id = bytes(d.node.node_id)

    async def teacher_s_work_sealed_for_d() -> bool:
        return d_id in await sealed_for(a, kept.id) and d_id in await sealed_for(a, last.id)

    # Sealed in the write that seals all our work for D, the teacher's comment last.
    await wait_for(teacher_s_work_sealed_for_d, what="A's teacher's post and comment for D")
    assert d_id not in await sealed_for(a, post.id)
    assert d_id not in await sealed_for(a, comment.id)


async def test_a_removed_pupil_s_draft_is_not_returned_to_nobody(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """Without --version a return went through and said "Returned to ..." with no account
    to return it to (with the version read it was refused): both are refused now, the
    draft unchanged, and the account added again makes it returnable."""
    a = schools["A"].node
    project = await start_project(schools, "BC")
    draft = await a.projects.draft(
        project, "Amélie Rose", "Walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    await a.accounts.remove("Amélie Rose")
    read_after = await a.projects.version(await a.projects.post(draft.id))
    for version in (None, read_after):
        with pytest.raises(AuthorRemovedError) as refused:
            await a.projects.return_(draft.id, "Ms Patel", "Which pond?", version=version)
        assert "cannot be returned" in str(refused.value) or "not returned" in str(refused.value)
    post = await a.projects.post(draft.id)
    assert (post.state, post.note) == ("draft", None)

    await a.accounts.add("Amélie Rose", "pupil", PASSWORD, klass="5B", now=now_ms())
    await a.projects.return_(draft.id, "Ms Patel", "Which pond?")
    assert (await a.projects.post(draft.id)).state == "returned"
