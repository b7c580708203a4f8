"""A pupil's draft on one node: who may read it, and changing it after it was returned."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from node.node import Node
from node.projects.records import Project
from protocol import letters
from protocol.errors import NotAllowedError, NotFoundError, UserInputError

PASSWORD = "correct horse battery"


def photo(shade: int) -> tuple[str, bytes, bool]:
    """A small PNG of one colour, as uploaded: (name, bytes, shows faces)."""
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (shade, 90, 160)).save(out, format="PNG")
    return f"photo{shade}.png", out.getvalue(), False


async def rows(node: Node, post: str) -> list[tuple[bytes, int]]:
    return [
        (bytes(h), f)
        for h, f in await node.store.fetch_all(
            "SELECT hash, faces FROM images WHERE post = ? ORDER BY rowid", (post,)
        )
    ]


async def rivers(school: Node, themes: list[str]) -> Project:
    """A project with class 5B (Amira and Ben) in it."""
    project = await school.projects.create("Rivers", themes, 1)
    await school.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=1)
    return project


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
    project = await rivers(school, ["rivers", "food"])
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
    project = await rivers(school, [])
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
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "A heron", theme=None, images=[], now=2
    )
    await school.projects.approve(draft.id, "Ms Patel", 3)
    pupils = await school.projects.comment(draft.id, "Ben", "Lovely!", 4)
    await school.projects.comment(draft.id, "Ms Patel", "Well done", 5)
    assert [c.id for c in await school.projects.waiting_comments(project.id)] == [pupils.id]
    await school.projects.approve(pupils.id, "Ms Patel", 6)
    assert await school.projects.waiting_comments(project.id) == []


async def test_revising_a_draft_adds_and_removes_its_photos(school: Node) -> None:
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "A heron", theme=None,
        images=[photo(10), photo(60)], now=2,
    )  # fmt: skip
    first, second = (h for h, _faces, _held in draft.images)
    await school.projects.return_(draft.id, "Ms Patel", "One photo is blurred")
    faces = ("face.png", photo(110)[1], True)
    revised = await school.projects.revise(
        draft.id, "Amira", "Our walk", "A heron", theme=None,
        images=[faces, photo(160)], remove=[first.hex()[:8]],
    )  # fmt: skip
    assert revised.state == "draft"
    assert revised.images[0][0] == second
    assert [faces for _h, faces, _held in revised.images] == [False, True, False]
    assert not any(held for _h, _f, held in revised.images)
    assert first not in {h for h, _f in await rows(school, draft.id)}  # deleted, not hidden
    # Removing everything is allowed: a post needs no photo.
    bare = await school.projects.revise(
        draft.id, "Amira", "Our walk", "A heron", theme=None,
        remove=[h.hex() for h, _f, _d in revised.images],
    )  # fmt: skip
    assert bare.images == []


async def test_bad_photo_changes_leave_the_draft_as_it_was(school: Node) -> None:
    project = await rivers(school, [])
    full = [photo(30 * shade) for shade in range(letters.MAX_IMAGES)]
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "A heron", theme=None, images=full, now=2
    )
    assert len(draft.images) == letters.MAX_IMAGES
    before = await rows(school, draft.id)
    digest = draft.images[0][0].hex()
    attempts = [
        ([photo(220)], []),  # one too many
        ([photo(220), photo(250)], [digest]),  # still one too many
        ([("notes.png", b"not a photo", False)], [digest]),
        ([], ["ffffffffffff"]),  # no such photo on this post
        ([], [digest[:3]]),  # too short to name one
    ]
    other = await school.projects.draft(
        project.id, "Amira", "Another", "x", theme=None, images=[photo(99)], now=3
    )
    attempts.append(([], [other.images[0][0].hex()]))  # another post's photo
    for images, remove in attempts:
        with pytest.raises(UserInputError):
            await school.projects.revise(
                draft.id, "Amira", "Changed", "Changed", theme=None, images=images, remove=remove
            )
        unchanged = await school.projects.post(draft.id)
        assert (unchanged.title, await rows(school, draft.id)) == ("Our walk", before), remove
    # Swapping one for one at the limit is fine.
    swapped = await school.projects.revise(
        draft.id, "Amira", "Our walk", "A heron", theme=None,
        images=[photo(220)], remove=[digest],
    )  # fmt: skip
    assert len(swapped.images) == letters.MAX_IMAGES
    # Another pupil cannot change the photos either.
    with pytest.raises(NotAllowedError):
        await school.projects.revise(
            draft.id, "Ben", "Our walk", "A heron", theme=None, remove=[digest]
        )


async def test_a_sent_posts_photos_cannot_be_changed(school: Node) -> None:
    project = await rivers(school, [])
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "A heron", theme=None, images=[photo(10)], now=2
    )
    await school.projects.approve(draft.id, "Ms Patel", 3)
    before = await rows(school, draft.id)
    for images, remove in (([photo(60)], []), ([], [draft.images[0][0].hex()])):
        with pytest.raises(UserInputError, match="only drafts can be changed"):
            await school.projects.revise(
                draft.id, "Amira", "Our walk", "A heron", theme=None, images=images, remove=remove
            )
    assert await rows(school, draft.id) == before


async def test_ids_typed_with_wildcards_match_nothing(school: Node) -> None:
    """% and _ in a typed id are characters, not SQL wildcards."""
    project = await rivers(school, [])
    post = await school.projects.draft(project.id, "Amira", "Walk", "By the river",
                                       theme=None, images=[], now=2)  # fmt: skip
    for typed in (project.id[:6] + "%", "%" * 8, "_" * 32):
        with pytest.raises(NotFoundError):
            await school.projects.get(typed)
    for typed in (post.id[:6] + "%", "%" * 8):
        with pytest.raises(NotFoundError):
            await school.projects.post(typed)
    assert (await school.projects.get(project.id[:6].upper())).id == project.id


async def test_two_teachers_approving_at_once_approve_it_once(school: Node) -> None:
    """Both read the draft before either writes: the second is refused, not sent twice."""
    await school.accounts.add("Mr Roux", "staff", PASSWORD, klass=None, now=1)
    project = await rivers(school, ["rivers"])
    draft = await school.projects.draft(
        project.id, "Amira", "Our walk", "We saw a heron.", theme="rivers", images=[], now=2
    )
    results = await asyncio.gather(
        school.projects.approve(draft.id, "Ms Patel", 3),
        school.projects.approve(draft.id, "Mr Roux", 4),
        return_exceptions=True,
    )
    assert not isinstance(results[0], BaseException)
    assert results[0][0] == draft.id
    assert isinstance(results[1], UserInputError)
    assert "not waiting for approval: nothing was changed" in str(results[1])
    approved = await school.projects.post(draft.id)
    assert (approved.state, approved.approved_by) == ("approved", "Ms Patel")


async def test_a_photo_given_as_work_and_as_faces_is_kept_as_showing_faces(
    school: Node,
) -> None:
    """A photo is stored once per post (keyed by its hash): if it was also marked as
    showing faces, that marking must win, or it would leave under work-photo consent."""
    await school.accounts.set_consent("Amira", show_name="full", work_photos=True,
                                      face_photos=False)  # fmt: skip
    project = await rivers(school, [])
    name, data, _ = photo(10)
    draft = await school.projects.draft(
        project.id, "Amira", "Our class", "All of us", theme=None,
        images=[(name, data, False), (name, data, True)], now=2,
    )  # fmt: skip
    assert [faces for _h, faces, _held in draft.images] == [True]
    _, notes = await school.projects.approve(draft.id, "Ms Patel", 3)
    assert [held for _h, _f, held in (await school.projects.post(draft.id)).images] == [True]
    assert any("faces" in n for n in notes)


async def test_a_work_photo_added_again_as_faces_becomes_a_faces_photo(school: Node) -> None:
    project = await rivers(school, [])
    name, data, _ = photo(10)
    draft = await school.projects.draft(
        project.id, "Amira", "Our class", "All of us", theme=None,
        images=[(name, data, False)], now=2,
    )  # fmt: skip
    revised = await school.projects.revise(
        draft.id, "Amira", "Our class", "All of us", theme=None, images=[(name, data, True)]
    )
    assert [faces for _h, faces, _held in revised.images] == [True]
    # Added again as a photo of work, it still shows faces: the stricter marking stays.
    again = await school.projects.revise(
        draft.id, "Amira", "Our class", "All of us", theme=None, images=[(name, data, False)]
    )
    assert [faces for _h, faces, _held in again.images] == [True]


async def test_a_photo_marked_as_faces_while_a_teacher_approves_is_held_back(
    school: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pupil changes the draft between the teacher's read and the approval's write:
    a photo marked (again) as showing faces, or added, is judged by the consent as it
    stands when the post is sealed, not as it stood when the teacher's click was read."""
    await school.accounts.set_consent("Amira", show_name="full", work_photos=True,
                                      face_photos=False)  # fmt: skip
    project = await rivers(school, [])
    name, data, _ = photo(10)
    other, other_data, _ = photo(20)
    draft = await school.projects.draft(
        project.id, "Amira", "Our class", "All of us", theme=None,
        images=[(name, data, False)], now=2,
    )  # fmt: skip
    real_write = school.store.write
    revised: list[bool] = []

    def write(fn: Any = None, **kwargs: Any) -> Any:
        if fn is None or revised:
            return real_write(fn, **kwargs)

        async def after_a_revise() -> Any:
            revised.append(True)
            await school.projects.revise(
                draft.id, "Amira", "Our class", "All of us", theme=None,
                images=[(name, data, True), (other, other_data, True)],
            )  # fmt: skip
            return await real_write(fn, **kwargs)

        return after_a_revise()

    monkeypatch.setattr(school.store, "write", write)
    _, notes = await school.projects.approve(draft.id, "Ms Patel", 3)
    assert revised
    approved = await school.projects.post(draft.id)
    assert approved.state == "approved"
    assert [(faces, held) for _h, faces, held in approved.images] == [(True, True)] * 2
    assert sum("faces" in n for n in notes) == 2
