"""Peer observations: supportive, on one development point, with one or two action points.

Shaped by how schools describe them (../shared/seeds): a short observation with a
focus linked to a development priority, what went well, "one or two action points
to take forward", and "minimal paperwork". The record belongs to the observed
teacher, who decides whether it is shared; it stays in this school's database and
is never replicated. Shared with one partner school (an observer from there), it
is sealed to that school only, which can be asked to delete its copy again
(node/observations/sharing.py); such copies are listed here with their school.
Once the follow-up conversation has taken place, the observed colleague records it
(when, by whom, an optional short note): its action points are then no longer due.

:class:`Observations` is ``node.observations``: each operation is one trip to the
database thread (``store.read(fn)`` or ``store.write(fn)``), sharing with another
school aside (its letter is sealed by :class:`SharedObservations`).
"""

from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from node.accounts.service import account_key, same_name
from node.clock import iso, iso_ms, now_ms
from node.observations.sharing import SharedObservations
from node.observations.staff import Staff, get_now
from node.offers.matching import tag, words
from node.store.database import Store
from protocol import kinds
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import NodeId

MAX_ACTIONS = 2
#: Follow up after about half a term unless told otherwise.
DEFAULT_FOLLOW_UP = timedelta(weeks=6)
#: ``due`` lists action points whose follow-up date is this close, or past.
DUE_WITHIN = 7
#: A note on how the follow-up went: a few lines, as a post's return note (2,000).
MAX_NOTE = 2_000
# Tabs and line breaks (LF; CR and CRLF become LF) are kept, other controls refused
# (protocol.kinds.text, as for every text field of an entry).

_COLUMNS = (
    "id, observer, observed, focus, priority, day, strengths, actions, follow_up, shared, "
    "origin, shared_to, followed_up_at, followed_up_by, follow_up_note"
)


@dataclass(frozen=True, slots=True)
class Observation:
    id: int
    observer: str
    observed: str
    focus: str
    priority: str
    day: date
    strengths: tuple[str, ...]
    actions: tuple[str, ...]
    follow_up: date
    shared: bool
    origin: NodeId | None = None  # the partner school it came from; None if ours
    shared_with: NodeId | None = None  # the partner school we shared it with
    school: str | None = None  # the name of that school (origin, or shared with)
    followed_up_at: int | None = None  # when the follow-up was recorded (ms); None: to do
    followed_up_by: str | None = None
    follow_up_note: str | None = None

    @property
    def followed_up(self) -> bool:
        """The follow-up conversation took place: its action points are no longer due."""
        return self.followed_up_at is not None

    @classmethod
    def from_row(cls, row: Any, names: dict[NodeId, tuple[str, str]] | None = None) -> Observation:
        n, observer, observed, focus, priority, day, strengths, actions, follow_up, shared = row[
            :10
        ]
        origin, shared_to = (NodeId(v) if v is not None else None for v in row[10:12])
        followed_up_at, followed_up_by, note = row[12:15]
        other = origin or shared_to
        return cls(
            int(n),
            observer,
            observed,
            focus,
            priority,
            date.fromisoformat(day),
            tuple(json.loads(strengths)),
            tuple(json.loads(actions)),
            date.fromisoformat(follow_up),
            bool(shared),
            origin,
            shared_to,
            None if other is None else (names or {}).get(other, ("unknown school", ""))[0],
            None if followed_up_at is None else int(followed_up_at),
            followed_up_by,
            note,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "observer": self.observer,
            "observed": self.observed,
            "owner": self.observed,
            "focus": self.focus,
            "priority": self.priority,
            "date": self.day.isoformat(),
            "strengths": list(self.strengths),
            "actions": list(self.actions),
            "follow_up": self.follow_up.isoformat(),
            "shared": self.shared,
            "from_school_id": None if self.origin is None else str(self.origin),
            "shared_with_id": None if self.shared_with is None else str(self.shared_with),
            "school": self.school,
            "followed_up": self.followed_up,
            "followed_up_at": iso(self.followed_up_at),
            "followed_up_by": self.followed_up_by,
            "follow_up_note": self.follow_up_note,
        }


def _sentences(values: list[str], flag: str) -> tuple[str, ...]:
    cleaned = tuple(" ".join(v.split()) for v in values)
    for value in cleaned:
        if not 1 <= len(value) <= 1000:
            raise UserInputError(
                f"{flag}: write 1 to 1,000 characters",
                page=said("Keep each point to 1,000 characters at most."),
            )
    return cleaned


def follow_up_note(text: str | None) -> str | None:
    """A note on how the follow-up went, kept as typed (accents, several lines), with
    each line break as LF (a browser sends CRLF); None when empty."""
    if text is None:
        return None
    note = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(note) > MAX_NOTE:
        raise UserInputError(
            f"--note: keep it to {MAX_NOTE:,} characters ({len(note):,})",
            page=said("Keep the note to 2,000 characters at most."),
        )
    if kinds.text(MAX_NOTE, min_len=0)(note) is not None:  # control characters: length is above
        raise UserInputError(
            "--note: remove the control characters (tabs and new lines are fine)",
            page=said(
                "The note has invisible characters that cannot be kept: type it again "
                "instead of pasting it."
            ),
        )
    return note or None


def _name(value: str, flag: str) -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= 100:
        raise UserInputError(
            f"{flag}: give the colleague's name, up to 100 characters",
            page=said("Give the colleague's name, up to 100 characters."),
        )
    return name


@dataclass(frozen=True, slots=True)
class DueAction:
    observation: Observation
    action: str
    days: int  # until the follow-up date; negative once it has passed

    def as_json(self) -> dict[str, Any]:
        o = self.observation
        return {
            "observation": o.id,
            "observed": o.observed,
            "observer": o.observer,
            "focus": o.focus,
            "action": self.action,
            "follow_up": o.follow_up.isoformat(),
            "days": self.days,
        }


class Observations:
    """Peer observations kept in this school, and copies from partner schools;
    ``node.observations``."""

    def __init__(self, store: Store, staff: Staff, shared: SharedObservations) -> None:
        self.store = store
        self.staff = staff
        self.shared = shared

    async def add(
        self,
        *,
        observer: str,
        observed: str,
        focus: str,
        priority: str | None,
        day: date,
        strengths: list[str],
        actions: list[str],
        follow_up: date | None,
        shared: bool = False,
    ) -> Observation:
        """Record an observation; its focus must serve a development priority."""
        observer, observed = _name(observer, "--observer"), _name(observed, "--observed")
        if same_person(observer, observed):
            raise UserInputError(
                "--observer and --observed are the same person: name two colleagues",
                page=said("The observer and the observed colleague must be two people."),
            )
        focus = tag(focus)
        if not focus:
            raise UserInputError(
                "--focus: give the one thing the observation looks at",
                page=said("Choose the one thing the observation looks at."),
            )
        if not 1 <= len(actions) <= MAX_ACTIONS:
            raise UserInputError(
                f"agree one or two action points to take forward (--action), not "
                f"{len(actions)}: a short list is one that gets done",
                page=said("Agree one or two action points to take forward."),
            )
        follow_up = follow_up or day + DEFAULT_FOLLOW_UP
        if follow_up < day:
            raise UserInputError(
                "--follow-up must not be before the observation's --date",
                page=said("The follow-up date is before the observation."),
            )
        given = None if priority is None or not priority.strip() else " ".join(priority.split())

        def write(conn: sqlite3.Connection) -> Observation:
            why = given if given is not None else _priority_now(conn, observed, focus)
            strengths_json = json.dumps(_sentences(strengths, "--strength"))
            actions_json = json.dumps(_sentences(actions, "--action"))
            row = (observer, observed, focus, why, day.isoformat(), strengths_json)
            cursor = conn.execute(
                "INSERT INTO observations (observer, observed, focus, priority, day, strengths, "
                "actions, follow_up, shared, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, actions_json, follow_up.isoformat(), int(shared), now_ms()),
            )
            assert cursor.lastrowid is not None
            return _get_now(conn, cursor.lastrowid)

        return await self.store.write(write)

    async def get(self, number: int) -> Observation:
        return await self.store.read(lambda conn: _get_now(conn, number))

    async def listing(self, *, teacher: str | None = None) -> list[Observation]:
        """Observations, newest first; with ``teacher``, those they observed or were
        observed in."""

        def read(conn: sqlite3.Connection) -> list[Observation]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM observations ORDER BY day DESC, id DESC"
            ).fetchall()
            return _with_schools_now(conn, rows)

        found = await self.store.read(read)
        if teacher is not None:
            wanted = account_key(teacher)
            found = [
                o for o in found if wanted in (account_key(o.observer), account_key(o.observed))
            ]
        return found

    async def share(self, number: int, shared: bool, *, to: NodeId | None = None) -> Observation:
        """The observed teacher's choice: shared or kept to the two of them.

        With ``to``, shared with that partner school (sent to it alone); unsharing one
        that was sent asks that school to delete its copy.
        """
        now = now_ms()

        def write(conn: sqlite3.Connection) -> Observation:  # one trip
            found = _get_now(conn, number)
            if found.origin is not None or to is not None or (not shared and found.shared_with):
                if to is not None and not shared:
                    raise UserInputError(
                        "--to and --off together: give one of them",
                        page=said(
                            "Choose either to send it to a partner school or to make it private."
                        ),
                    )
                if to is not None:
                    self.shared.send_now(conn, number, to, now)
                else:
                    self.shared.take_back_now(conn, number, now)
            else:
                conn.execute(
                    "UPDATE observations SET shared = ? WHERE id = ?", (int(shared), number)
                )
            return _get_now(conn, number)

        return await self.store.write(write)

    async def follow_up(
        self,
        number: int,
        *,
        by: str,
        note: str | None = None,
        done: bool = True,
        only_if_open: bool = False,
    ) -> Observation:
        """Record that the follow-up took place (now, by ``by``, with ``note``), or with
        ``done=False`` reopen it; :func:`may_follow_up` says who may. One trip: read,
        checked, changed and read back. ``only_if_open``: refuse to record it again
        (a page opened before it was recorded would replace its note and date; the
        command replaces them, as documented)."""
        by = _name(by, "--by")
        if not done and note is not None and note.strip():
            raise UserInputError(
                "--note and --off together: a reopened follow-up keeps no note",
                page=said("A follow-up that is reopened keeps no note."),
            )
        kept = follow_up_note(note) if done else None
        now = now_ms()

        def write(conn: sqlite3.Connection) -> Observation:
            found = _get_now(conn, number)
            refused = may_follow_up(found, by)
            if refused is not None:
                raise refused.error()
            if done and only_if_open and found.followed_up_at is not None:
                when = iso_ms(found.followed_up_at)[:10]
                raise UserInputError(
                    f"the follow-up of observation {number} was already recorded on {when} "
                    f"by {found.followed_up_by}: nothing was changed; to change its note, "
                    "reopen it first",
                    page=said(
                        "This follow-up was already recorded on %(date)s by %(name)s, so "
                        "nothing was changed. To change its note, reopen it first.",
                        date=when,
                        name=found.followed_up_by or "?",
                    ),
                )
            conn.execute(
                "UPDATE observations SET followed_up_at = ?, followed_up_by = ?, "
                "follow_up_note = ? WHERE id = ?",
                (now, by, kept, number) if done else (None, None, None, number),
            )
            return _get_now(conn, number)

        return await self.store.write(write)

    async def due(self, today: date, within: int = DUE_WITHIN) -> list[DueAction]:
        """Action points whose follow-up date has passed or is within ``within`` days,
        of observations whose follow-up has not taken place yet."""

        def read(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM observations WHERE follow_up <= ? AND origin IS NULL "
                "AND followed_up_at IS NULL ORDER BY follow_up, id",
                ((today + timedelta(days=within)).isoformat(),),
            ).fetchall()

        found: list[DueAction] = []
        for row in await self.store.read(read):
            observation = Observation.from_row(row)
            days = (observation.follow_up - today).days
            found.extend(DueAction(observation, action, days) for action in observation.actions)
        return found


def _priority_now(conn: sqlite3.Connection, observed: str, focus: str) -> str:
    """The observed colleague's development area the focus serves, from their profile."""
    profile = get_now(conn, observed)
    if profile is None or focus not in profile.develops:
        raise UserInputError(
            f"link the focus to a development priority: give --priority (such as a school "
            f"development plan priority), or add {focus} to {observed}'s development areas "
            f'with `schoolmesh staff add "{observed}" --develop {focus} ... --replace`',
            page=said(
                "Link the focus to a development priority: name the priority (such as one "
                "from the school development plan), or choose a focus that is one of the "
                "observed colleague's development areas in their staff profile."
            ),
        )
    return f"{profile.name}'s development area: {words(focus)}"


def _get_now(conn: sqlite3.Connection, number: int) -> Observation:
    row = conn.execute(f"SELECT {_COLUMNS} FROM observations WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise NotFoundError(
            f"no observation {number}: see `schoolmesh observation list`",
            page=said("There is no observation %(number)s.", number=str(number)),
        )
    return _with_schools_now(conn, [row])[0]


def _with_schools_now(conn: sqlite3.Connection, rows: list[Any]) -> list[Observation]:
    schools = sorted({bytes(v) for row in rows for v in row[10:12] if v is not None})
    names: dict[NodeId, tuple[str, str]] = {}
    if schools:
        found = conn.execute(
            f"SELECT author, name, country FROM schools WHERE author IN "
            f"({','.join('?' * len(schools))})",
            schools,
        ).fetchall()
        names = {NodeId(a): (name, country) for a, name, country in found}
    return [Observation.from_row(row, names) for row in rows]


# --- who may see and change an observation ------------------------------------
# People are named by their names as written (a staff profile's name, or the name
# a colleague signs in with); the same name in other ASCII capitals or spacing is the
# same person, as for accounts (node.accounts.service.same_name): 'Ms Émile' and
# 'Ms émile' are two accounts, and one must not read or share the other's records.


def same_person(one: str, other: str) -> bool:
    return same_name(one, other)


def owned_by(observation: Observation, name: str) -> bool:
    """The observed colleague owns the record and decides whether it is shared."""
    return same_person(observation.observed, name)


def visible_to(observation: Observation, name: str) -> bool:
    """The two colleagues always see it; other staff only once it is shared."""
    return (
        observation.shared or owned_by(observation, name) or same_person(observation.observer, name)
    )


class NotYours(enum.Enum):
    """Why someone may not record an observation's follow-up (:func:`may_follow_up`)."""

    PARTNERS_COPY = "a partner school's copy"
    NOT_OBSERVED = "not the observed colleague"

    def error(self) -> NotAllowedError:
        if self is NotYours.PARTNERS_COPY:
            return NotAllowedError(
                "that observation came from a partner school: its follow-up is recorded "
                "there, by the observed colleague, not in this copy",
                page=said(
                    "This observation came from a partner school: its follow-up is recorded "
                    "there, by the observed colleague."
                ),
            )
        return NotAllowedError(
            "only the observed colleague records the follow-up of their observation: give "
            "their name with --by",
            page=said("Only the observed colleague records the follow-up of their observation."),
        )


def may_follow_up(observation: Observation, name: str) -> NotYours | None:
    """Who may record that the follow-up took place, or reopen it: as for sharing, the
    observed colleague, who owns the record, and only in the school that holds it (a
    copy a partner school sent is theirs: nothing of ours reaches them)."""
    if observation.origin is not None:
        return NotYours.PARTNERS_COPY
    if not owned_by(observation, name):
        return NotYours.NOT_OBSERVED
    return None
