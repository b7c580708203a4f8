"""A pupil's draft on one node: who may read it, and changing it after it was returned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.node import Node
from protocol.errors import NotAllowedError, UserInputError

PASSWORD = "correct horse battery"


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[Node]:
    node = await Node.create(tmp_path / "a", name="School A", country="GB")
    await node.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=1)
    await node.accounts.add("Amira", "pupil", PASSWORD, klass="5B", now=1)
    await node.accounts.add("Ben", "pupil", PASSWORD, klass="5B", now=1)
    try:
        yield node
    finally:
        await node.close()


async def test_a_returned_draft_can_be_changed_by_its_author_only(school: Node) -> None:
    project = await school.projects.create("Rivers", ["rivers", "food"], 1)
    await school.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=1)
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "Too short", theme="rivers", images=[], now=2
    )
    await school.projects.return_(draft.id, "Ms Patel", "Say what you saw")
    with pytest.raises(NotAllowedError):
        await school.projects.revise(draft.id, "Ben", "Mine now", "text", theme=None)
    with pytest.raises(UserInputError):
        await school.projects.revise(draft.id, "Amira", "Our walk", "text", theme="space")
    revised = await school.projects.revise(
        draft.id, "Amira", "Our river walk", "We saw a heron.", theme="food"
    )
    assert (revised.state, revised.title, revised.body, revised.theme) == (
        "draft",
        "Our river walk",
        "We saw a heron.",
        "food",
    )
    await school.projects.approve(draft.id, "Ms Patel", 3)
    with pytest.raises(UserInputError):
        await school.projects.revise(draft.id, "Amira", "Again", "text", theme=None)


async def test_pupils_see_their_own_drafts_and_approved_posts(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    await school.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=1)
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "A heron", theme=None, images=[], now=2
    )
    amira, ben, teacher = [await school.accounts.get(n) for n in ("Amira", "Ben", "Ms Patel")]
    assert await school.projects.may_see(amira, draft)
    assert not await school.projects.may_see(ben, draft)
    assert await school.projects.may_see(teacher, draft)
    await school.projects.approve(draft.id, "Ms Patel", 3)
    approved = await school.projects.post(draft.id)
    assert await school.projects.may_see(ben, approved)
    await school.projects.takedown(draft.id, 4)
    removed = await school.projects.post(draft.id)
    assert not await school.projects.may_see(amira, removed)
    assert not await school.projects.may_see(ben, removed)


async def test_pupils_comments_wait_for_a_teacher(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    await school.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=1)
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "A heron", theme=None, images=[], now=2
    )
    await school.projects.approve(draft.id, "Ms Patel", 3)
    pupils = await school.projects.comment(draft.id, "Ben", "Lovely!", 4)
    await school.projects.comment(draft.id, "Ms Patel", "Well done", 5)
    assert [c.id for c in await school.projects.waiting_comments(project.id)] == [pupils.id]
    await school.projects.approve(pupils.id, "Ms Patel", 6)
    assert await school.projects.waiting_comments(project.id) == []
