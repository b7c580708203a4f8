"""Which of our pupils take part in each project: by whole class, or one by one.

A pupil reads a project's blog, writes drafts and comments for it only if they are
in it (docs/safeguarding.md). Staff are in every project of the school. A class
stands for whoever is in it now, so a pupil who joins 5B later is in 5B's
projects. Nothing here leaves the school: partner schools never learn which
pupils take part.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from node.accounts.service import (
    USER_COLUMNS,
    Accounts,
    User,
    account_key,
    same_name,
    tidy_name,
    user_from_row,
)
from node.projects import approval
from node.store.database import Store
from protocol.errors import NotAllowedError, UserInputError, said


@dataclass(frozen=True, slots=True)
class ProjectPupils:
    """Who takes part in one project: whole classes, and pupils named one by one."""

    classes: tuple[str, ...]
    pupils: tuple[str, ...]

    def includes(self, user: User) -> bool:
        """Whether ``user`` takes part. Names and classes compare as the users table
        compares names (ASCII capitals ignored, :func:`account_key`), as the queries
        below do: a pupil in class 5b is in a project of class 5B."""
        if user.is_staff or any(same_name(user.name, p) for p in self.pupils):
            return True
        klass = user.klass
        return klass is not None and any(same_name(klass, c) for c in self.classes)

    def as_json(self) -> dict[str, list[str]]:
        return {"classes": list(self.classes), "pupils": list(self.pupils)}


class Rosters:
    """The ``project_pupils`` table: read it, and change it as a whole for one project."""

    def __init__(self, store: Store, accounts: Accounts) -> None:
        self.store = store
        self.accounts = accounts

    async def of(self, project_id: str) -> ProjectPupils:
        return await self.store.read(lambda conn: pupils_now(conn, project_id))

    async def includes(self, project_id: str, user: User) -> bool:
        if user.is_staff:
            return True
        row = await self.store.fetch_one(
            "SELECT 1 FROM project_pupils WHERE project = ? AND ((kind = 'pupil' AND "
            "name = ? COLLATE NOCASE) OR (kind = 'class' AND name = ? COLLATE NOCASE))",
            (project_id, user.name, user.klass),
        )
        return row is not None

    async def check(self, project_id: str, user: User) -> None:
        """Refuse a pupil who is not in the project (for writing and commenting)."""
        if not await self.includes(project_id, user):
            raise NotAllowedError(
                f"{user.name} is not in this project: a teacher can add them with "
                "`schoolmesh project pupils PROJECT_ID --add NAME` (or their class "
                "with --add-class)",
                page=said(
                    "You are not in this project. If you should be, ask your teacher to add you."
                ),
            )

    async def replace(
        self,
        project_id: str,
        *,
        classes: Iterable[str],
        pupils: Iterable[str],
        now: int,
        shown: ProjectPupils | None = None,
    ) -> ProjectPupils:
        """Make exactly these classes and pupils take part (one transaction).

        With ``shown``, the pupils the teacher chose from (a page's form, or what the
        command read), only what they changed from it is made, to the pupils as they
        are in the write (:func:`merged`): a pupil taken off meanwhile by another
        teacher is not put back by a form opened before.
        """
        known = [u for u in await self.accounts.all() if u.role == "pupil"]
        # Names and classes as the school spelt them, whatever case was typed.
        known_classes = {u.klass.casefold(): u.klass for u in known if u.klass}
        # A pupil is found as the accounts find her (not casefold: 'Émile' and 'émile'
        # are two pupils there).
        known_pupils = {account_key(u.name): u.name for u in known}
        wanted_classes, wanted_pupils = set(), set()
        for typed in {" ".join(c.split()) for c in classes} - {""}:
            if typed.casefold() not in known_classes:
                raise UserInputError(
                    f"no pupil of this school is in class {typed!r}: check the class "
                    "(see `schoolmesh user list`)",
                    page=said("No pupil of our school is in class %(name)s.", name=typed),
                )
            wanted_classes.add(known_classes[typed.casefold()])
        for typed in {" ".join(p.split()) for p in pupils} - {""}:
            if account_key(typed) not in known_pupils:
                raise UserInputError(
                    f"{typed!r} is not a pupil of this school (staff are in every project "
                    "already): see `schoolmesh user list`",
                    page=said(
                        "%(name)s is not a pupil of our school. "
                        "Staff are in every project already.",
                        name=typed,
                    ),
                )
            wanted_pupils.add(known_pupils[account_key(typed)])
        wanted = ProjectPupils(tuple(sorted(wanted_classes)), tuple(sorted(wanted_pupils)))

        def write(conn: sqlite3.Connection) -> ProjectPupils:
            made = wanted if shown is None else merged(pupils_now(conn, project_id), shown, wanted)
            conn.execute("DELETE FROM project_pupils WHERE project = ?", (project_id,))
            conn.executemany(
                "INSERT INTO project_pupils (project, kind, name, added_at) VALUES (?, ?, ?, ?)",
                [(project_id, "class", name, now) for name in made.classes]
                + [(project_id, "pupil", name, now) for name in made.pupils],
            )
            return pupils_now(conn, project_id)

        return await self.store.write(write)

    async def projects_of(self, user: User) -> set[str]:
        """The ids of the projects a pupil is in (by name or by class)."""
        rows = await self.store.fetch_all(
            "SELECT DISTINCT project FROM project_pupils WHERE (kind = 'pupil' AND "
            "name = ? COLLATE NOCASE) OR (kind = 'class' AND name = ? COLLATE NOCASE)",
            (user.name, user.klass),
        )
        return {r[0] for r in rows}


def merged(now: ProjectPupils, shown: ProjectPupils, wanted: ProjectPupils) -> ProjectPupils:
    """Who takes part after a teacher shown ``shown`` chose ``wanted``, while ``now``
    is who takes part in the write: what they ticked that was not shown is added,
    what they unticked is taken off, everyone else stays as ``now`` has them.

    A form sends the whole choice as its page showed it: applied whole, a page opened
    before another teacher took a pupil off would put that pupil back unseen, and
    what they wrote could be approved again (docs/decisions.md)."""

    def one(now: tuple[str, ...], shown: tuple[str, ...], wanted: tuple[str, ...]) -> list[str]:
        added, dropped = set(wanted) - set(shown), set(shown) - set(wanted)
        return sorted((set(now) - dropped) | added)

    return ProjectPupils(
        tuple(one(now.classes, shown.classes, wanted.classes)),
        tuple(one(now.pupils, shown.pupils, wanted.pupils)),
    )


def pupils_now(conn: sqlite3.Connection, project_id: str) -> ProjectPupils:
    """Who takes part in ``project_id``, as :meth:`Rosters.of`, inside a transaction."""
    rows = conn.execute(
        "SELECT kind, name FROM project_pupils WHERE project = ? ORDER BY name", (project_id,)
    ).fetchall()
    return ProjectPupils(
        tuple(name for kind, name in rows if kind == "class"),
        tuple(name for kind, name in rows if kind == "pupil"),
    )


def writer_now(
    conn: sqlite3.Connection, name: str | None, project_id: str
) -> tuple[User | None, approval.Writer]:
    """The account of the writer ``name`` of something for ``project_id`` (None if it
    was removed) and whether what they wrote may be approved (approval.writer), both
    read in the caller's transaction: the write that approves, returns or deletes."""
    row = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (tidy_name(name or ""),)
    ).fetchone()
    author = None if row is None else user_from_row(row)
    return author, approval.writer(author, pupils_now(conn, project_id))
