"""Which of our pupils take part in each project: by whole class, or one by one.

A pupil reads a project's blog, writes drafts and comments for it only if they are
in it (docs/safeguarding.md). Staff are in every project of the school. A class
stands for whoever is in it now, so a pupil who joins 5B later is in 5B's
projects. Nothing here leaves the school: partner schools never learn which
pupils take part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from node.accounts.service import Accounts, User, account_key
from node.store.database import Store
from protocol.errors import NotAllowedError, UserInputError, said


@dataclass(frozen=True, slots=True)
class ProjectPupils:
    """Who takes part in one project: whole classes, and pupils named one by one."""

    classes: tuple[str, ...]
    pupils: tuple[str, ...]

    def includes(self, user: User) -> bool:
        return user.is_staff or user.name in self.pupils or user.klass in self.classes

    def as_json(self) -> dict[str, list[str]]:
        return {"classes": list(self.classes), "pupils": list(self.pupils)}


class Rosters:
    """The ``project_pupils`` table: read it, and change it as a whole for one project."""

    def __init__(self, store: Store, accounts: Accounts) -> None:
        self.store = store
        self.accounts = accounts

    async def of(self, project_id: str) -> ProjectPupils:
        rows = await self.store.fetch_all(
            "SELECT kind, name FROM project_pupils WHERE project = ? ORDER BY name",
            (project_id,),
        )
        return ProjectPupils(
            tuple(name for kind, name in rows if kind == "class"),
            tuple(name for kind, name in rows if kind == "pupil"),
        )

    async def includes(self, project_id: str, user: User) -> bool:
        if user.is_staff:
            return True
        row = await self.store.fetch_one(
            "SELECT 1 FROM project_pupils WHERE project = ? AND "
            "((kind = 'pupil' AND name = ?) OR (kind = 'class' AND name = ?))",
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
        self, project_id: str, *, classes: Iterable[str], pupils: Iterable[str], now: int
    ) -> ProjectPupils:
        """Make exactly these classes and pupils take part (one transaction)."""
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
        async with self.store.write():
            await self.store.execute("DELETE FROM project_pupils WHERE project = ?", (project_id,))
            for kind, names in (("class", wanted_classes), ("pupil", wanted_pupils)):
                for name in sorted(names):
                    await self.store.execute(
                        "INSERT INTO project_pupils (project, kind, name, added_at) "
                        "VALUES (?, ?, ?, ?)",
                        (project_id, kind, name, now),
                    )
        return await self.of(project_id)

    async def projects_of(self, user: User) -> set[str]:
        """The ids of the projects a pupil is in (by name or by class)."""
        rows = await self.store.fetch_all(
            "SELECT DISTINCT project FROM project_pupils WHERE "
            "(kind = 'pupil' AND name = ?) OR (kind = 'class' AND name = ?)",
            (user.name, user.klass),
        )
        return {r[0] for r in rows}
