"""Staff profiles: strengths and development areas, private to the school.

They live in the node's database in a table of their own, never in an entry, so no
other node ever receives them (docs/matching.md, "Staff profiles").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from node.clock import now_ms
from node.node import Node
from node.observations import pairs as pairing
from node.offers.matching import tag
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


async def add(node: Node, person: StaffMember, *, replace: bool = False) -> None:
    """Save a profile; an existing one with the same name only when ``replace``."""
    row = (
        person.name,
        json.dumps(person.strengths),
        json.dumps(person.develops),
        json.dumps(person.subjects),
        person.phase,
        now_ms(),
    )
    async with node.store.write():
        exists = await node.store.fetch_one("SELECT name FROM staff WHERE name = ?", (person.name,))
        if exists and not replace:
            raise UserInputError(
                f"{exists[0]} already has a profile: add --replace to replace it, or see it "
                "with `schoolmesh staff list`",
                page=said("%(name)s already has a profile.", name=exists[0]),
            )
        await node.store.execute("DELETE FROM staff WHERE name = ?", (person.name,))
        await node.store.execute("INSERT INTO staff VALUES (?, ?, ?, ?, ?, ?)", row)


async def listing(node: Node) -> list[StaffMember]:
    rows = await node.store.fetch_all(
        "SELECT name, strengths, develops, subjects, phase FROM staff ORDER BY name"
    )
    return [
        StaffMember(name, tuple(json.loads(s)), tuple(json.loads(d)), tuple(json.loads(j)), p)
        for name, s, d, j, p in rows
    ]


async def get(node: Node, name: str) -> StaffMember | None:
    name = " ".join(name.split())
    return next((m for m in await listing(node) if m.name.casefold() == name.casefold()), None)


async def remove(node: Node, name: str) -> None:
    async with node.store.write():
        gone = await node.store.execute(
            "DELETE FROM staff WHERE name = ?", (" ".join(name.split()),)
        )
    if not gone:
        raise NotFoundError(
            f"no staff profile named {name!r}: see `schoolmesh staff list`",
            page=said("There is no staff profile with that name."),
        )


async def suggestions(
    node: Node, limit: int
) -> tuple[list[pairing.Suggestion], list[pairing.Suggestion]]:
    """The best ``limit`` peer-observation pairs and triads among this school's staff."""
    profiles = [m.profile() for m in await listing(node)]
    return pairing.pairs(profiles)[:limit], pairing.triads(profiles)[:limit]
