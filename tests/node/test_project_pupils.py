"""Which pupils take part in a project: only they read its blog and write for it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from node.node import Node
from node.projects.rosters import ProjectPupils, merged
from node.store.database import Store
from node.store.migrations import MIGRATIONS
from protocol.errors import NotAllowedError, UserInputError

PASSWORD = "correct horse battery"


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[Node]:
    node = await Node.create(tmp_path / "a", name="School A", country="GB")
    await node.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=1)
    for name, klass in (("Amira", "5B"), ("Ben", "5B"), ("Chloé", "6A")):
        await node.accounts.add(name, "pupil", PASSWORD, klass=klass, now=1)
    try:
        yield node
    finally:
        await node.close()


async def test_only_pupils_in_the_project_read_write_and_comment(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    post = await school.projects.draft(project.id, "Ms Patel", "Hello", "Hi", theme=None,
                                       images=[], now=2)  # fmt: skip
    await school.projects.approve(post.id, "Ms Patel", 3)
    amira, chloe = await school.accounts.get("Amira"), await school.accounts.get("Chloé")
    approved = await school.projects.post(post.id)

    assert not await school.projects.may_see(amira, approved)
    with pytest.raises(NotAllowedError, match="Amira is not in this project"):
        await school.projects.draft(project.id, "Amira", "Mine", "text", theme=None,
                                    images=[], now=4)  # fmt: skip
    with pytest.raises(NotAllowedError):
        await school.projects.comment(post.id, "Amira", "Nice", 4)

    roster = await school.projects.rosters.replace(
        project.id, classes=["5b"], pupils=["chloé"], now=5
    )
    assert (roster.classes, roster.pupils) == (("5B",), ("Chloé",))  # as the school spells them
    assert await school.projects.may_see(amira, approved)
    assert await school.projects.may_see(chloe, approved)
    draft = await school.projects.draft(project.id, "Amira", "Mine", "text", theme=None,
                                        images=[], now=6)  # fmt: skip
    comment = await school.projects.comment(post.id, "Chloé", "Nice", 6)
    assert comment.state == "draft"
    assert await school.projects.rosters.projects_of(amira) == {project.id}

    # Taken out again: the blog is closed to her, but her own draft stays hers to read.
    await school.projects.rosters.replace(project.id, classes=[], pupils=["Chloé"], now=7)
    assert not await school.projects.may_see(amira, approved)
    assert await school.projects.may_see(amira, await school.projects.post(draft.id))
    with pytest.raises(NotAllowedError):
        await school.projects.revise(draft.id, "Amira", "Mine", "more", theme=None)
    assert await school.projects.rosters.projects_of(amira) == set()


async def test_a_class_includes_pupils_who_join_it_later(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    await school.projects.rosters.replace(project.id, classes=["6A"], pupils=[], now=2)
    await school.accounts.add("Dara", "pupil", PASSWORD, klass="6A", now=3)
    dara = await school.accounts.get("Dara")
    assert await school.projects.rosters.includes(project.id, dara)


async def test_unknown_classes_and_names_are_refused_and_change_nothing(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    await school.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=2)
    with pytest.raises(UserInputError, match="no pupil of this school is in class '5C'"):
        await school.projects.rosters.replace(project.id, classes=["6A", "5C"], pupils=[], now=3)
    with pytest.raises(UserInputError, match="'Ms Patel' is not a pupil"):
        await school.projects.rosters.replace(project.id, classes=[], pupils=["Ms Patel"], now=3)
    roster = await school.projects.rosters.of(project.id)
    assert (roster.classes, roster.pupils) == (("5B",), ())


async def test_staff_are_in_every_project(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    teacher = await school.accounts.get("Ms Patel")
    assert await school.projects.rosters.includes(project.id, teacher)


async def test_a_removed_pupil_leaves_no_trace_in_projects(school: Node) -> None:
    project = await school.projects.create("Rivers", [], 1)
    await school.projects.rosters.replace(project.id, classes=[], pupils=["Ben"], now=2)
    await school.accounts.remove("Ben")
    assert (await school.projects.rosters.of(project.id)).pupils == ()


async def test_upgrading_keeps_what_pupils_could_read(tmp_path: Path) -> None:
    """Before per-pupil membership every pupil read every member project: keep that."""
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (8)")
        for migration in MIGRATIONS[:8]:
            for statement in migration.split(";"):
                db.execute(statement)
        for pid, standing in (("a" * 32, "member"), ("b" * 32, "invited")):
            db.execute(
                "INSERT INTO projects (id, title, themes, owner, rev, standing, created_at) "
                "VALUES (?, 'P', '[]', x'00', 1, ?, 0)",
                (pid, standing),
            )
        people = [("Amira", "pupil", "5B"), ("Chloé", "pupil", "6A"), ("Ms Patel", "staff", None)]
        for name, role, klass in people:
            db.execute(
                "INSERT INTO users (name, role, class, password, show_name, work_photos, "
                "face_photos, created_at) VALUES (?, ?, ?, 'x', 'full', 0, 0, 0)",
                (name, role, klass),
            )
    store = await Store.open(path)
    try:
        rows = await store.fetch_all("SELECT project, kind, name FROM project_pupils ORDER BY 3")
    finally:
        await store.close()
    assert [tuple(r) for r in rows] == [("a" * 32, "class", "5B"), ("a" * 32, "class", "6A")]


def pp(classes: str = "", pupils: str = "") -> ProjectPupils:
    return ProjectPupils(tuple(classes.split()), tuple(pupils.split()))


#: (who takes part in the write, what the teacher was shown, what they chose) -> made
MERGES = [
    (pp("5B", "Amira"), pp("5B", "Amira"), pp("5B", "Amira Ben"), pp("5B", "Amira Ben")),
    (pp("5B", "Amira"), pp("5B", "Amira"), pp("", "Amira"), pp("", "Amira")),  # unticked
    # Another teacher took Amira off after the page was read: she stays off.
    (pp("5B"), pp("5B", "Amira"), pp("5B", "Amira Ben"), pp("5B", "Ben")),
    (pp(), pp("5B"), pp("5B 6A"), pp("6A")),  # nor does her class come back
    # Another teacher added Chloé meanwhile: she stays in.
    (pp("", "Amira Chloé"), pp("", "Amira"), pp(), pp("", "Chloé")),
    # Taken off meanwhile, and ticked by this teacher too (not shown): added.
    (pp(), pp(), pp("", "Amira"), pp("", "Amira")),
    (pp("5B", "Amira"), pp("5B", "Amira"), pp("5B", "Amira"), pp("5B", "Amira")),
]


@pytest.mark.parametrize(("now", "shown", "wanted", "made"), MERGES)
def test_a_form_changes_only_what_its_teacher_changed(
    now: ProjectPupils, shown: ProjectPupils, wanted: ProjectPupils, made: ProjectPupils
) -> None:
    assert merged(now, shown, wanted) == made


async def test_a_choice_made_from_an_older_read_keeps_a_pupil_taken_off_since(
    school: Node,
) -> None:
    """Before, the pupils read before were saved whole: another teacher's taking
    Amira off meanwhile was undone."""
    project = await school.projects.create("Rivers", [], 1)
    rosters = school.projects.rosters
    read = await rosters.replace(project.id, classes=[], pupils=["Amira"], now=1)
    await rosters.replace(project.id, classes=[], pupils=[], now=2)  # another teacher
    made = await rosters.replace(project.id, classes=[], pupils=["amira", "Ben"], now=3, shown=read)
    assert (made.classes, made.pupils) == ((), ("Ben",))
    assert await rosters.of(project.id) == made
