"""What a pupil wrote before being taken off a project (by name, or with their class):
never approved or sent afterwards, kept here, deleted by a teacher if the school wishes
(docs/decisions.md, "A pupil taken off a project"). Table tests of the rules, then real
nodes and their real databases."""

from __future__ import annotations

from typing import Any

import pytest

from node.accounts.service import User
from node.clock import now_ms
from node.projects import approval
from node.projects.approval import Deletion, Writer
from node.projects.rosters import ProjectPupils
from protocol.errors import AuthorTakenOffError, NotAllowedError, NotFoundError
from protocol.rules.projects import PostState
from tests.helpers import run_before_the_write
from tests.network import LiveNode, wait_for
from tests.node.test_project_drafts import PASSWORD
from tests.node.test_project_membership import sealed_for
from tests.node.test_projects import schools, start_project  # noqa: F401 (the fixture)

PUPIL = "Amélie Rose"


def user(name: str, role: str = "pupil", klass: str | None = "5B") -> User:
    return User(name, role, klass, "full", True, True, 1)


def taking_part(classes: tuple[str, ...] = (), pupils: tuple[str, ...] = ()) -> ProjectPupils:
    return ProjectPupils(classes, pupils)


#: (the writer's account now, who takes part now) -> where the writer stands
WRITERS = [
    (None, taking_part(("5B",), ("Amira",)), Writer.REMOVED),  # removed: said as such first
    (None, taking_part(), Writer.REMOVED),
    (user("Amira"), taking_part(("5B",)), Writer.TAKES_PART),  # in by class
    (user("Amira"), taking_part((), ("Amira",)), Writer.TAKES_PART),  # in by name
    (user("Amira"), taking_part(("5C",), ("Amira",)), Writer.TAKES_PART),  # by name, not class
    (user("Amira", klass=None), taking_part((), ("Amira",)), Writer.TAKES_PART),
    (user("Amira"), taking_part(), Writer.TAKEN_OFF),  # nobody takes part any more
    (user("Amira"), taking_part(("5C",), ("Ben",)), Writer.TAKEN_OFF),  # her class taken off
    (user("Amira", klass="5C"), taking_part(("5B",)), Writer.TAKEN_OFF),  # she changed class
    (user("Amira", klass=None), taking_part(("5B",)), Writer.TAKEN_OFF),  # no class now
    # Names and classes compare as the users table does (ASCII capitals ignored).
    (user("Amira", klass="5b"), taking_part(("5B",)), Writer.TAKES_PART),
    (user("amira"), taking_part((), ("Amira",)), Writer.TAKES_PART),
    (user("Émile", klass="5É"), taking_part(("5é",), ("émile",)), Writer.TAKEN_OFF),
    (user("Ms Patel", "staff", None), taking_part(), Writer.TAKES_PART),  # staff: every project
    (user("Mrs Hill", "admin", None), taking_part(("5B",)), Writer.TAKES_PART),
]


@pytest.mark.parametrize(("author", "pupils", "verdict"), WRITERS)
def test_whose_work_may_be_approved(
    author: User | None, pupils: ProjectPupils, verdict: Writer
) -> None:
    assert approval.writer(author, pupils) is verdict
    refused = approval.refusal(verdict, "0" * 32, "Amira", "f" * 32)
    assert (refused is None) == (verdict is Writer.TAKES_PART)
    assert isinstance(refused, AuthorTakenOffError) == (verdict is Writer.TAKEN_OFF)


S = PostState
#: (ours, state, by, by_staff, author) -> verdict, its writer's account existing but the
#: writer taken off the project.
DELETIONS_TAKEN_OFF = [
    (True, S.DRAFT, "Ms Patel", True, "Amira", Deletion.BY_STAFF),
    (True, S.RETURNED, "Ms Patel", True, "Amira", Deletion.BY_STAFF),
    (True, S.DRAFT, "Amira", False, "Amira", Deletion.BY_AUTHOR),  # hers to delete, as ever
    (True, S.DRAFT, "Ben", False, "Amira", Deletion.REFUSED),  # never another pupil
    (True, S.APPROVED, "Ms Patel", True, "Amira", Deletion.NOT_WAITING),  # only a takedown
    (False, S.DRAFT, "Ms Patel", True, "Pierre", Deletion.REFUSED),  # a partner's
]


@pytest.mark.parametrize(
    ("ours", "state", "by", "by_staff", "author", "verdict"), DELETIONS_TAKEN_OFF
)
def test_who_may_delete_what_a_pupil_taken_off_wrote(
    ours: bool, state: PostState, by: str, by_staff: bool, author: str, verdict: Deletion
) -> None:
    found = approval.may_delete(
        ours=ours,
        state=state,
        by=by,
        by_staff=by_staff,
        author=author,
        author_exists=True,
        author_takes_part=False,
    )
    assert found is verdict


def test_the_words_say_what_happened_and_what_to_do() -> None:
    words = str(approval.taken_off("0" * 32, "Amira", "f" * 32))
    assert words.startswith("Amira was taken off this project, so the post 00000000 cannot")
    assert "nothing was sent" in words
    assert "schoolmesh project pupils ffffffff --add 'Amira'" in words
    assert "schoolmesh post delete 00000000 --by NAME" in words
    comment = str(approval.taken_off("1" * 32, "Amira", "f" * 32, what="comment"))
    assert comment.startswith("Amira was taken off this project, so the comment 11111111 cannot")
    # It can be declined and deleted by a teacher (docs/decisions.md, "Deleting a
    # waiting comment"), which the words say.
    assert "schoolmesh post delete 11111111 --by NAME" in comment
    returned = approval.taken_off("0" * 32, "Amira", "f" * 32, action="return")
    assert "is not returned" in str(returned)
    assert returned.page is not None


async def by_name(a: Any, project: str) -> None:
    """The pupil in the project by name only (start_project puts in class 5B)."""
    await a.projects.rosters.replace(project, classes=[], pupils=[PUPIL], now=now_ms())


async def test_a_pupil_taken_off_by_name_has_nothing_approved_or_returned_until_added_back(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """Before, the draft and comment written while in the project were approved and
    sealed to every member school after the pupil was taken off."""
    a = schools["A"].node
    project = await start_project(schools, "BC")
    await by_name(a, project)
    draft = await a.projects.draft(
        project, PUPIL, "Walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    read = await a.projects.version(draft)
    teacher_s = await a.projects.draft(
        project, "Ms Patel", "Trip", "The bus leaves at 9.", theme=None, images=[], now=now_ms()
    )
    await a.projects.approve(teacher_s.id, "Ms Patel", now_ms())
    comment = await a.projects.comment(teacher_s.id, PUPIL, "Yay!", now_ms())
    assert comment.state == "draft"

    await a.projects.rosters.replace(project, classes=[], pupils=[], now=now_ms())
    for version in (None, read):
        with pytest.raises(AuthorTakenOffError) as refused:
            await a.projects.approve(draft.id, "Ms Patel", now_ms(), version=version)
        words = str(refused.value)
        assert words.startswith(f"{PUPIL} was taken off this project, so the post"), words
        assert f"schoolmesh project pupils {project[:8]} --add {PUPIL!r}" in words
    with pytest.raises(AuthorTakenOffError, match="so the comment"):
        await a.projects.approve(comment.id, "Ms Patel", now_ms())
    with pytest.raises(AuthorTakenOffError, match="is not returned"):
        await a.projects.return_(draft.id, "Ms Patel", "Which pond?", version=read)
    post = await a.projects.post(draft.id)
    assert (post.state, post.approved_by, post.by_name, post.note) == ("draft", None, None, None)
    (held,) = await a.projects.comments(teacher_s.id, states=("draft",))
    assert held.id == comment.id
    assert await sealed_for(schools["A"], draft.id) == set()
    assert await sealed_for(schools["A"], comment.id) == set()

    await by_name(a, project)  # added back: approvable again, the version read still good
    await a.projects.approve(draft.id, "Ms Patel", now_ms(), version=read)
    await a.projects.approve(comment.id, "Ms Patel", now_ms())
    members = {bytes(schools[n].node.node_id) for n in "BC"}
    assert await sealed_for(schools["A"], draft.id) == members
    assert await sealed_for(schools["A"], comment.id) == members


async def test_a_pupil_whose_class_was_taken_off_or_who_changed_class_has_nothing_approved(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a = schools["A"].node
    project = await start_project(schools, "BC")  # class 5B takes part
    draft = await a.projects.draft(
        project, PUPIL, "Walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    await a.projects.rosters.replace(project, classes=[], pupils=[], now=now_ms())
    with pytest.raises(AuthorTakenOffError):
        await a.projects.approve(draft.id, "Ms Patel", now_ms())
    # Class 5B back, but she is in 5C now (her account made again in another class).
    await a.accounts.add("Ben", "pupil", PASSWORD, klass="5B", now=now_ms())
    await a.projects.rosters.replace(project, classes=["5B"], pupils=[], now=now_ms())
    await a.accounts.remove(PUPIL)
    await a.accounts.add(PUPIL, "pupil", PASSWORD, klass="5C", now=now_ms())
    with pytest.raises(AuthorTakenOffError):
        await a.projects.approve(draft.id, "Ms Patel", now_ms())
    assert (await a.projects.post(draft.id)).state == "draft"
    assert await sealed_for(schools["A"], draft.id) == set()
    # Her new class added: approved and sent.
    await a.projects.rosters.replace(project, classes=["5B", "5C"], pupils=[], now=now_ms())
    await a.projects.approve(draft.id, "Ms Patel", now_ms())
    assert (await a.projects.post(draft.id)).state == "approved"


async def test_taken_off_between_the_approval_s_read_and_its_write_is_refused(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """The teacher's Approve reads the draft and its pupil, then writes: the pupil taken
    off in between (another teacher on the project's page) is seen by the write."""
    a = schools["A"].node
    project = await start_project(schools, "BC")
    draft = await a.projects.draft(
        project, PUPIL, "Walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    read = await a.projects.version(draft)
    teacher_s = await a.projects.draft(
        project, "Ms Patel", "Trip", "The bus leaves at 9.", theme=None, images=[], now=now_ms()
    )
    await a.projects.approve(teacher_s.id, "Ms Patel", now_ms())
    comment = await a.projects.comment(teacher_s.id, PUPIL, "Yay!", now_ms())
    store = a.projects.store
    for item, version, method in (
        (draft.id, read, "Moderation.approve"),
        (comment.id, None, "Moderation._approve_comment"),
    ):
        await a.projects.rosters.replace(project, classes=["5B"], pupils=[], now=now_ms())

        async def take_off() -> None:
            await a.projects.rosters.replace(project, classes=[], pupils=[], now=now_ms())

        write = run_before_the_write(store, take_off, of=method)
        try:
            with pytest.raises(AuthorTakenOffError):
                await a.projects.approve(item, "Ms Patel", now_ms(), version=version)
        finally:
            store.write = write  # type: ignore[method-assign]
        assert (await a.projects.rosters.of(project)).classes == ()  # it did happen
        assert await sealed_for(schools["A"], item) == set()
    assert (await a.projects.post(draft.id)).state == "draft"
    (held,) = await a.projects.comments(teacher_s.id, states=("draft",))
    assert held.id == comment.id


async def test_a_teacher_deletes_what_a_pupil_taken_off_wrote_and_the_pupil_still_may(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    a = schools["A"].node
    project = await start_project(schools, "BC")
    await a.accounts.add("Ben", "pupil", PASSWORD, klass="5B", now=now_ms())
    drafts = [
        await a.projects.draft(project, PUPIL, t, "x", theme=None, images=[], now=now_ms())
        for t in ("Walk", "Pond", "Mine", "Back")
    ]
    walk, pond, mine, back = drafts
    await a.projects.return_(pond.id, "Ms Patel", "Which pond?")
    # While she takes part the drafts are hers alone.
    with pytest.raises(NotAllowedError, match="only the pupil who wrote a draft"):
        await a.projects.discard(walk.id, "Ms Patel")
    await a.projects.rosters.replace(project, classes=[], pupils=["Ben"], now=now_ms())
    with pytest.raises(NotAllowedError):
        await a.projects.discard(walk.id, "Ben")
    for post in (walk, pond):
        await a.projects.discard(post.id, "Ms Patel")
        with pytest.raises(NotFoundError):
            await a.projects.post(post.id)
    # An approval of the draft read before the delete says who deleted it, and why.
    gone = await a.projects.deleted_meanwhile(walk, "approve")
    assert gone is not None
    said = f"({PUPIL} was taken off the project, and the draft was deleted by them or by a "
    assert said in str(gone), str(gone)
    await a.projects.discard(mine.id, PUPIL)  # hers to delete, as ever
    with pytest.raises(NotFoundError):
        await a.projects.post(mine.id)
    # She deleted it herself: an approval read before must not say a teacher did.
    hers = await a.projects.deleted_meanwhile(mine, "approve")
    assert hers is not None
    assert "a teacher deleted" not in str(hers), str(hers)
    assert said in str(hers), str(hers)

    # Added back between the teacher's read and the delete's write: hers again, kept.
    async def add_back() -> None:
        await a.projects.rosters.replace(project, classes=[], pupils=[PUPIL], now=now_ms())

    write = run_before_the_write(a.projects.store, add_back, of="Posts.discard")
    try:
        with pytest.raises(NotAllowedError, match="takes part in the project again"):
            await a.projects.discard(back.id, "Ms Patel")
    finally:
        a.projects.store.write = write  # type: ignore[method-assign]
    assert (await a.projects.post(back.id)).state == "draft"
    with pytest.raises(NotAllowedError, match="only the pupil who wrote a draft"):
        await a.projects.discard(back.id, "Ms Patel")  # hers again


async def test_a_school_that_joins_later_gets_nothing_a_pupil_taken_off_wrote(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """A school that joins is sent our approved work (received.py, _send_own_work): not
    what a pupil taken off the project wrote, as for a removed account."""
    a, d = schools["A"], schools["D"]
    project = await start_project(schools, "B")
    post = await a.node.projects.draft(
        project, PUPIL, "Walk", "A heron.", theme=None, images=[], now=now_ms()
    )
    await a.node.projects.approve(post.id, "Ms Patel", now_ms())
    kept = await a.node.projects.draft(
        project, "Ms Patel", "Trip", "The bus leaves at 9.", theme=None, images=[], now=now_ms()
    )
    await a.node.projects.approve(kept.id, "Ms Patel", now_ms())
    comment = await a.node.projects.comment(kept.id, PUPIL, "Yay!", now_ms())
    await a.node.projects.approve(comment.id, "Ms Patel", now_ms())
    last = await a.node.projects.comment(kept.id, "Ms Patel", "See you there.", now_ms())
    await a.node.projects.rosters.replace(project, classes=[], pupils=[], now=now_ms())

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
    assert bytes(schools["B"].node.node_id) in await sealed_for(a, post.id)  # sent before


async def test_a_pupil_in_class_5b_is_in_a_project_of_class_5B(
    schools: dict[str, LiveNode],  # noqa: F811
) -> None:
    """Two spellings of one class (typed by different teachers) are one class to the
    project: the pupil in '5b' reads, writes for it and has her work approved."""
    a = schools["A"].node
    project = await start_project(schools, "BC")  # class 5B takes part
    await a.accounts.add("Noor", "pupil", PASSWORD, klass="5b", now=now_ms())
    noor = await a.accounts.get("Noor")
    assert await a.projects.rosters.includes(project, noor)
    assert project in await a.projects.rosters.projects_of(noor)
    draft = await a.projects.draft(
        project, "Noor", "Pond", "Frogspawn by the bench.", theme=None, images=[], now=now_ms()
    )
    await a.projects.approve(draft.id, "Ms Patel", now_ms())
    assert (await a.projects.post(draft.id)).state == "approved"
