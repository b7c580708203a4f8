"""A teacher approves the version of a pupil's post they read (docs/decisions.md,
"Approving what was read"): on one node, with its real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from node.clock import now_ms
from node.node import Node
from node.projects import approval
from protocol.errors import AuthorRemovedError, NotFoundError, PostChangedError, UserInputError
from tests.helpers import run_before_the_write
from tests.network import LiveNode
from tests.node.test_project_drafts import PASSWORD, photo, rivers
from tests.node.test_project_membership import sealed_for
from tests.node.test_projects import schools, start_project  # noqa: F401 (the fixture)

T = TypeVar("T")


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[Node]:
    node = await Node.create(tmp_path / "a", name="School A", country="GB")
    await node.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=1)
    await node.accounts.add("Amira", "pupil", PASSWORD, klass="5B", now=1)
    try:
        yield node
    finally:
        await node.close()


async def test_the_version_changes_with_what_the_teacher_reads_and_nothing_else(
    school: Node,
) -> None:
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "We saw a heron.", theme=None, images=[photo(10)], now=2
    )
    first = await school.projects.version(draft)
    assert first is not None
    assert len(first) == approval.VERSION_CHARS
    assert await school.projects.version(await school.projects.post(draft.id)) == first
    # (title, body, photos to add, photos to remove): each a change the teacher sees.
    changes: list[tuple[str, str, list[tuple[str, bytes, bool]], list[str]]] = [
        ("Walk", "We saw a heron!", [], []),
        ("Walks", "We saw a heron!", [], []),
        ("Walks", "We saw a heron!", [photo(20)], []),
    ]
    seen = {first}
    for title, body, add, remove in changes:
        post = await school.projects.revise(
            draft.id, "Amira", title, body, theme=None, images=add, remove=remove
        )
        now = await school.projects.version(post)
        assert now is not None
        assert now not in seen, (title, body)
        seen.add(now)
    # The photo marked as showing faces: a change too.
    first_photo = post.images[0][0].hex()
    before = await school.projects.version(post)
    faces = ("photo10.png", photo(10)[1], True)
    post = await school.projects.revise(draft.id, "Amira", "Walks", "We saw a heron!",
                                        theme=None, images=[faces])  # fmt: skip
    assert post.images[0][0].hex() == first_photo
    assert post.images[0][1]  # now marked as showing faces
    assert await school.projects.version(post) != before
    # Consent is part of it too: it decides what leaves.
    before = await school.projects.version(await school.projects.post(draft.id))
    await school.accounts.set_consent("Amira", show_name=None, work_photos=True, face_photos=None)
    assert await school.projects.version(await school.projects.post(draft.id)) != before


async def test_a_post_changed_after_it_was_read_is_not_approved(school: Node) -> None:
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "We saw a heron.", theme=None, images=[], now=2
    )
    read = await school.projects.version(draft)
    assert read is not None
    await school.projects.revise(draft.id, "Amira", "Walk", "I live at 1 High St.", theme=None)
    with pytest.raises(PostChangedError) as refused:
        await school.projects.approve(draft.id, "Ms Patel", 3, version=read)
    assert "Amira changed this post after you read it" in str(refused.value)
    assert f"post show {draft.id[:8]}" in str(refused.value)
    post = await school.projects.post(draft.id)
    assert (post.state, post.approved_by) == ("draft", None)
    # Read again, approved.
    now = await school.projects.version(post)
    assert now is not None
    await school.projects.approve(draft.id, "Ms Patel", 4, version=now)
    assert (await school.projects.post(draft.id)).state == "approved"


async def test_a_pupil_account_removed_after_reading_is_said_as_such(school: Node) -> None:
    """The pupil's account removed between the teacher's read and the approval: said as
    what happened (not "changed"), nothing approved, returned or sent; the account added
    again under its name (its consent as read) makes the version read good again."""
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "We saw a heron.", theme=None, images=[], now=2
    )
    read = await school.projects.version(draft)
    assert read is not None
    await school.accounts.remove("Amira")
    with pytest.raises(AuthorRemovedError) as refused:
        await school.projects.approve(draft.id, "Ms Patel", 3, version=read)
    assert str(refused.value).startswith("Amira's account was removed after you read this post"), (
        str(refused.value)
    )
    assert "nothing was sent" in str(refused.value)
    assert "schoolmesh user add --role pupil --name 'Amira'" in str(refused.value)
    with pytest.raises(AuthorRemovedError) as refused:
        await school.projects.return_(draft.id, "Ms Patel", "More", version=read)
    assert "it was not returned" in str(refused.value)
    post = await school.projects.post(draft.id)
    assert (post.state, post.approved_by, post.note) == ("draft", None, None)
    # A version that was never the post's is still said to be a change.
    with pytest.raises(PostChangedError) as changed:
        await school.projects.approve(draft.id, "Ms Patel", 3, version="0" * 16)
    assert not isinstance(changed.value, AuthorRemovedError)
    # The remedy for a removal by mistake: added again, the version read is good again.
    await school.accounts.add("Amira", "pupil", PASSWORD, klass="5B", now=4)
    await school.projects.approve(draft.id, "Ms Patel", 5, version=read)
    assert (await school.projects.post(draft.id)).state == "approved"


async def test_a_teacher_s_account_removed_after_reading_is_not_said_to_be_a_pupil_s(
    school: Node,
) -> None:
    """A teacher's draft (teachers write posts too) whose writer's account is removed
    after another teacher read it: the refusal's command to add the account again must
    not make that teacher a pupil (``--role pupil``), as the account's role is gone with
    it; both roles are named."""
    project = await rivers(school, [])
    await school.accounts.add("Mr Jones", "staff", PASSWORD, klass=None, now=1)
    draft = await school.projects.draft(
        project.id, "Mr Jones", "Our trip", "We went to the weir.", theme=None, images=[], now=2
    )
    read = await school.projects.version(draft)
    assert read is not None
    await school.accounts.remove("Mr Jones")
    with pytest.raises(AuthorRemovedError) as refused:
        await school.projects.approve(draft.id, "Ms Patel", 3, version=read)
    message = str(refused.value)
    assert message.startswith("Mr Jones's account was removed after you read this post"), message
    assert "--role staff" in message
    assert "pupil's" not in message


async def test_a_consent_changed_after_reading_is_said_as_such(school: Node) -> None:
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "Our model.", theme=None, images=[photo(10)], now=2
    )
    read = await school.projects.version(draft)
    assert read is not None
    await school.accounts.set_consent("Amira", show_name="full", work_photos=True, face_photos=None)
    with pytest.raises(PostChangedError, match="Amira's consent changed"):
        await school.projects.approve(draft.id, "Ms Patel", 3, version=read)
    assert (await school.projects.post(draft.id)).state == "draft"
    # Returning sends nothing: a consent change alone does not stop it.
    returned = await school.projects.return_(
        draft.id, "Ms Patel", "Say where it was.", version=read
    )
    assert returned.state == "returned"


async def test_return_refuses_a_changed_post_and_keeps_it_as_it_is(school: Node) -> None:
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "Short.", theme=None, images=[], now=2
    )
    read = await school.projects.version(draft)
    assert read is not None
    await school.projects.revise(draft.id, "Amira", "Walk", "Longer now.", theme=None)
    with pytest.raises(PostChangedError, match="Amira changed this post"):
        await school.projects.return_(draft.id, "Ms Patel", "More please", version=read)
    post = await school.projects.post(draft.id)
    assert (post.state, post.note) == ("draft", None)


async def test_without_a_version_approve_works_as_before(school: Node) -> None:
    """The command's contract: `post approve ID` with no --version still approves."""
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "Short.", theme=None, images=[], now=2
    )
    assert (await school.projects.approve(draft.id, "Ms Patel", 3))[0] == draft.id
    with pytest.raises(UserInputError) as again:
        await school.projects.approve(draft.id, "Ms Patel", 4)
    said = str(again.value)
    assert "not waiting for approval: nothing was changed" in said
    assert "Ms Patel already approved it on " in said
    assert f"`schoolmesh post takedown {draft.id[:8]}" in said


async def later(work: Awaitable[T], turns: int) -> T:
    """``work`` after ``turns`` turns of the event loop: to vary how two requests meet."""
    for _ in range(turns):
        await asyncio.sleep(0)
    return await work


async def test_a_pupil_racing_an_edit_against_the_approval_never_gets_it_unread(
    school: Node,
) -> None:
    """Hostile: the pupil's edit and the teacher's approval at once, meeting at every
    point of their trips to the database. Whatever wins, what is approved is what the
    teacher read; the loser is refused and changes nothing."""
    project = await rivers(school, [])
    outcomes = set()
    # None: one after the other, so that each outcome happens whatever the machine's
    # speed; the numbers: the second starts that many turns of the event loop later.
    for turns in [None, *range(12)]:
        for edit_first in (False, True):
            draft = await school.projects.draft(
                project.id, "Amira", "Walk", "We saw a heron.", theme=None, images=[], now=2
            )
            read = await school.projects.version(draft)
            assert read is not None
            edit = school.projects.revise(
                draft.id, "Amira", "Walk", "Now with my address.", theme=None
            )
            approve = school.projects.approve(draft.id, "Ms Patel", 3, version=read)
            if turns is None:
                first, second = (edit, approve) if edit_first else (approve, edit)
                done = [
                    await asyncio.gather(work, return_exceptions=True) for work in (first, second)
                ]
                (edited,), (approved,) = done if edit_first else done[::-1]
            elif edit_first:
                approved, edited = await asyncio.gather(
                    later(approve, turns), edit, return_exceptions=True
                )
            else:
                approved, edited = await asyncio.gather(
                    approve, later(edit, turns), return_exceptions=True
                )
            post = await school.projects.post(draft.id)
            if post.state == "approved":
                assert post.body == "We saw a heron."
                assert isinstance(edited, UserInputError), edited
                outcomes.add("approved as read")
            else:
                assert isinstance(approved, PostChangedError), approved
                assert not isinstance(edited, BaseException), edited
                assert (post.state, post.body) == ("draft", "Now with my address.")
                outcomes.add("changed, refused")
    assert outcomes == {"approved as read", "changed, refused"}


async def test_a_post_deleted_while_it_is_approved_says_so_and_sends_nothing(
    school: Node,
) -> None:
    """The pupil deletes the draft between the approval's read and its write (on main
    this was a TypeError: an internal error on the page)."""
    project = await rivers(school, [])
    said: set[str] = set()
    for turns in range(12):
        for action in ("approve", "return"):
            draft = await school.projects.draft(
                project.id, "Amira", "Walk", "x", theme=None, images=[], now=2
            )
            teacher = (
                school.projects.approve(draft.id, "Ms Patel", 3)
                if action == "approve"
                else school.projects.return_(draft.id, "Ms Patel", "More")
            )
            done, deleted = await asyncio.gather(
                later(teacher, turns), school.projects.discard(draft.id, "Amira"),
                return_exceptions=True,
            )  # fmt: skip
            if not isinstance(done, BaseException):  # the teacher was first
                # An approved post cannot be deleted; a returned one can, by its pupil.
                assert isinstance(deleted, UserInputError) == (action == "approve"), deleted
                continue
            assert not isinstance(deleted, BaseException), deleted
            assert isinstance(done, NotFoundError), repr(done)
            assert "nothing was sent" in str(done) or "or sent" in str(done), str(done)
            said.add(str(done).split(" ")[0])
    # And made to happen, however loaded the machine: the pupil's delete runs just
    # before the approval's write, after its read.
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "x", theme=None, images=[], now=2
    )
    store = school.projects.store

    async def deleted_first() -> None:
        await school.projects.discard(draft.id, "Amira")

    write = run_before_the_write(store, deleted_first, of="Moderation.approve")
    try:
        with pytest.raises(NotFoundError) as gone:
            await school.projects.approve(draft.id, "Ms Patel", 3)
    finally:
        store.write = write  # type: ignore[method-assign]
    assert "nothing was sent" in str(gone.value), str(gone.value)
    said.add(str(gone.value).split(" ")[0])
    # "Amira deleted the post ..." (gone between read and write) happened.
    assert "Amira" in said, said


async def test_a_draft_of_a_project_the_school_left_is_not_approved_or_sent(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """B's teacher drafted a post, then B left the project: approving it would have
    sealed it to the members still listed (A and C). Now it is refused, sent nowhere."""
    b = schools["B"]
    project = await start_project(schools, "BC")
    draft = await b.node.projects.draft(
        project, "Mr Roux", "Before leaving", "Hola", theme=None, images=[], now=now_ms()
    )
    read = await b.node.projects.version(draft)
    assert read is not None
    await b.node.projects.leave(project, now_ms())
    with pytest.raises(UserInputError, match="not a member of the project") as refused:
        await b.node.projects.approve(draft.id, "Mr Roux", now_ms(), version=read)
    assert "nothing was sent" in str(refused.value)
    assert (await b.node.projects.post(draft.id)).state == "draft"
    assert await sealed_for(b, draft.id) == set()


async def test_a_post_another_teacher_returned_after_it_was_read_is_not_approved(
    school: Node,
) -> None:
    """Two teachers have the draft open; one returns it with a note (a surname in the
    text, say). The other's Approve, with the version read before, must not override
    that return unseen: it would send the post and erase the note."""
    await school.accounts.add("Mr Jones", "staff", PASSWORD, klass=None, now=1)
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Walk", "Amira Haddad saw a heron.", theme=None, images=[], now=2
    )
    read = await school.projects.version(draft)
    assert read is not None
    await school.projects.return_(draft.id, "Mr Jones", "Leave out your surname", version=read)
    with pytest.raises(PostChangedError) as refused:
        await school.projects.approve(draft.id, "Ms Patel", 3, version=read)
    assert "Mr Jones returned this post to Amira with a note after you read it" in str(
        refused.value
    )
    assert refused.value.page is not None
    post = await school.projects.post(draft.id)
    assert (post.state, post.note) == ("returned", "Leave out your surname")
    # Read again, with the note: this teacher may still approve it as it is.
    now = await school.projects.version(post)
    assert now is not None
    assert now != read
    await school.projects.approve(draft.id, "Ms Patel", 4, version=now)
    assert (await school.projects.post(draft.id)).state == "approved"
