"""Staff profiles: strengths and development areas, private to the school.

They live in the node's database in a table of their own, never in an entry, so no
other node ever receives them (docs/matching.md, "Staff profiles"). :class:`Staff`
is ``node.staff``: each of its operations is one trip to the database thread.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

from node.accounts.service import account_key
from node.clock import now_ms
from node.observations import pairs as pairing
from node.offers.matching import tag
from node.store.database import Store
from protocol import kinds
from protocol.errors import NotFoundError, UserInputError, said

_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,100}")


@dataclass(frozen=True, slots=True)
class StaffMember:
    name: str
    strengths: tuple[str, ...] = ()
    develops: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    phase: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strengths": list(self.strengths),
            "develops": list(self.develops),
            "subjects": list(self.subjects),
            "phase": self.phase,
        }

    def profile(self) -> pairing.Profile:
        return pairing.Profile(
            self.name,
            frozenset(self.strengths),
            frozenset(self.develops),
            frozenset(self.subjects),
            self.phase,
        )


def _tags(values: list[str], flag: str) -> tuple[str, ...]:
    cleaned: list[str] = []
    for value in values:
        one = tag(value)
        if not one or len(one) > 64:
            raise UserInputError(
                f"{flag} {value!r}: give a word or two, such as questioning",
                page=said(
                    "Give each strength, development area or subject as a word or two, up to "
                    "64 characters, such as questioning."
                ),
            )
        if one not in cleaned:
            cleaned.append(one)
    return tuple(cleaned)


def member(
    name: str,
    *,
    strengths: list[str],
    develops: list[str],
    subjects: list[str],
    phase: str | None,
) -> StaffMember:
    """A checked profile, with focus areas and subjects in one spelling."""
    name = " ".join(name.split())
    if not _NAME.fullmatch(name):
        raise UserInputError(
            "NAME: give the colleague's name, up to 100 characters",
            page=said("Give the colleague's name, up to 100 characters."),
        )
    if phase is not None and phase not in kinds.PHASES:
        raise UserInputError(
            f"--phase: choose one of {', '.join(kinds.PHASES)}", page=said("Choose a phase.")
        )
    made = StaffMember(
        name,
        _tags(strengths, "--strength"),
        _tags(develops, "--develop"),
        _tags(subjects, "--subject"),
        phase,
    )
    if not made.strengths and not made.develops:
        raise UserInputError(
            "give at least one --strength or --develop, so that colleagues can be paired",
            page=said(
                "Give at least one strength or development area, so that colleagues can be paired."
            ),
        )
    both = sorted(set(made.strengths) & set(made.develops))
    if both:
        raise UserInputError(
            f"{', '.join(both)} is given both as a strength and as a development area: "
            "keep it in one of the two",
            page=said(
                "%(focus)s is given both as a strength and as a development area: keep it in "
                "one of the two.",
                focus=", ".join(both),
            ),
        )
    return made


class Staff:
    """This school's private staff profiles; ``node.staff``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, person: StaffMember, *, replace: bool = False) -> None:
        """Save a profile; an existing one with the same name only when ``replace``."""
        row = (
            person.name,
            json.dumps(person.strengths),
            json.dumps(person.develops),
            json.dumps(person.subjects),
            person.phase,
            now_ms(),
        )

        def write(conn: sqlite3.Connection) -> None:
            exists = conn.execute(
                "SELECT name FROM staff WHERE name = ?", (person.name,)
            ).fetchone()
            if exists and not replace:
                raise UserInputError(
                    f"{exists[0]} already has a profile: add --replace to replace it, or see "
                    "it with `schoolmesh staff list`",
                    page=said("%(name)s already has a profile.", name=exists[0]),
                )
            conn.execute("DELETE FROM staff WHERE name = ?", (person.name,))
            conn.execute("INSERT INTO staff VALUES (?, ?, ?, ?, ?, ?)", row)

        await self.store.write(write)

    async def listing(self) -> list[StaffMember]:
        return await self.store.read(listing_now)

    async def get(self, name: str) -> StaffMember | None:
        return await self.store.read(lambda conn: get_now(conn, name))

    async def remove(self, name: str) -> None:
        def write(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM staff WHERE name = ?", (" ".join(name.split()),)
            ).rowcount

        if not await self.store.write(write):
            raise NotFoundError(
                f"no staff profile named {name!r}: see `schoolmesh staff list`",
                page=said("There is no staff profile with that name."),
            )

    async def suggestions(
        self, limit: int
    ) -> tuple[list[pairing.Suggestion], list[pairing.Suggestion]]:
        """The best ``limit`` peer-observation pairs and triads among this school's staff."""
        profiles = [m.profile() for m in await self.listing()]
        return pairing.pairs(profiles)[:limit], pairing.triads(profiles)[:limit]


def listing_now(conn: sqlite3.Connection) -> list[StaffMember]:
    """Every profile, by name, on the database thread (inside ``store.read(fn)``)."""
    rows = conn.execute(
        "SELECT name, strengths, develops, subjects, phase FROM staff ORDER BY name"
    ).fetchall()
    return [
        StaffMember(name, tuple(json.loads(s)), tuple(json.loads(d)), tuple(json.loads(j)), p)
        for name, s, d, j, p in rows
    ]


def get_now(conn: sqlite3.Connection, name: str) -> StaffMember | None:
    """The profile of ``name`` (in any ASCII capitals or spacing, as the table compares
    names: 'Ms Émile' and 'Ms émile' are two profiles), on the database thread."""
    wanted = account_key(name)
    return next((m for m in listing_now(conn) if account_key(m.name) == wanted), None)
