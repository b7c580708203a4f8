"""Pupil teams for conferences and debates: numbers and roles, never names.

A conference or debate is an event whose ``format`` says so (node/events/service.py).
Each school that brings pupils says how many come and in which roles (speaker,
researcher, audience), in a ``team`` letter sealed to the organiser alone; a later
answer replaces the earlier one, and a withdrawal is an answer too. The organiser
keeps one row per school in ``event_teams`` (its own team too: the host school's
pupils take part), and after each change seals the whole table (``teams``) to every
school that sent a team, so each sees the others' teams by numbers and roles.
Attending schools keep their own team in ``event_teams`` and the organiser's
newest table in ``event_team_tables``. Who may send what is
protocol/rules/teams.py's to judge.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from node.events.private import Details
from node.mail.mailroom import Mailroom
from node.store.database import Store
from node.store.reads import get_now, holds_profile_now, newest_version_now
from protocol import kinds, letters
from protocol.contents.entries import EventContent
from protocol.contents.letters import TeamLetter, TeamRow, TeamsLetter
from protocol.errors import UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import teams as rules
from protocol.sealed import Letter

if TYPE_CHECKING:
    from node.events.service import EventView

FORMATS = rules.FORMATS
ROLES = rules.ROLES
MAX_PUPILS = rules.MAX_PUPILS


@dataclass(frozen=True, slots=True)
class Team:
    """One school's team for one event."""

    school_id: NodeId
    school: str
    pupils: int
    roles: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "node_id": str(self.school_id),
            "name": self.school,
            "pupils": self.pupils,
            "roles": {role: self.roles.get(role, 0) for role in ROLES},
        }


def checked(pupils: int, roles: Mapping[str, int]) -> dict[str, int]:
    """The roles of a team of ``pupils`` as they will be sent, or the words of what is wrong."""
    found = rules.problem(pupils, dict(roles))
    if found is not None:
        raise UserInputError(
            f"{found}: give --pupils 1 to {MAX_PUPILS} and --role ROLE:N with ROLE one of "
            f"{', '.join(ROLES)}, the numbers adding up to at most the pupils",
            page=said(
                "Give 1 to %(most)s pupils, and for each role a number of pupils; together "
                "they may not be more than the team.",
                most=MAX_PUPILS,
            ),
        )
    return {role: int(count) for role, count in roles.items() if count}


class Teams:
    """Our teams for other schools' conferences, and theirs for ours; ``node.teams``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom) -> None:
        self.store = store
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False

    async def send(
        self,
        event: EventView,
        pupils: int | None,
        roles: Mapping[str, int],
        *,
        now: int,
        today: date,
    ) -> None:
        """Send our school's team for ``event`` (``pupils`` None: withdraw it), and keep it.

        To our own event, the team is kept and the table shared at once."""
        if not rules.has_teams(event.format):
            raise UserInputError(
                "that event is not a conference or debate: only those take teams",
                page=said("Only a conference or a debate takes teams of pupils."),
            )
        event.refuse_if_closed(today)
        kept = {} if pupils is None else checked(pupils, roles)
        if pupils is None:
            team = TeamLetter(event.id, now, withdrawn=True)
        else:
            team = TeamLetter(event.id, now, pupils=pupils, roles=kept)
        content = team.to_content()

        def write(conn: sqlite3.Connection) -> None:
            new_here = (
                event.author == self.me and _held_team(conn, bytes(event.id), self.me) is None
            )
            if new_here and _schools(conn, bytes(event.id)) >= rules.MAX_TEAMS:
                raise UserInputError(
                    f"this event lists teams from {rules.MAX_TEAMS} schools already, the "
                    "most one table of teams can go to: no other team can be added",
                    page=said(
                        "This event already lists teams from %(most)s schools, the most "
                        "it can take.",
                        most=rules.MAX_TEAMS,
                    ),
                )
            if event.author != self.me:
                self.mail.send_now(
                    conn, letters.TEAM, content, [event.author], about=str(event.id), now=now
                )
            _keep(conn, bytes(event.id), self.me, pupils or 0, kept, now)
            if event.author == self.me:
                self._share_now(conn, bytes(event.id), now)

        await self.store.write(write)  # one trip

    def _share_now(self, conn: sqlite3.Connection, event: bytes, now: int) -> None:
        """Inside a transaction: the table of ``event`` changed. Keep it (with its time,
        later than the last table's), and seal it to every other school that sent a
        team (those that withdrew too, so they see they are no longer listed), except
        those that have not yet confirmed the table sent before: they are sent the
        newest when they do (:meth:`confirmed`), so at most one table of an event waits
        in the outbox for each school however often the teams change."""
        rows = conn.execute(
            "SELECT school, pupils, roles FROM event_teams WHERE event = ? ORDER BY school",
            (event,),
        ).fetchall()
        table = [[str(NodeId(s)), int(p), json.loads(r)] for s, p, r in rows if p > 0]
        last = conn.execute(
            "SELECT at FROM event_team_tables WHERE event = ? AND organiser = ?",
            (event, bytes(self.me)),
        ).fetchone()
        at = now if last is None else max(now, int(last[0]) + 1)
        kept = json.dumps(table)
        conn.execute(
            "INSERT INTO event_team_tables (event, organiser, teams, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (event) DO UPDATE SET teams = excluded.teams, at = excluded.at",
            (event, bytes(self.me), kept, at),
        )
        # The table just written, handed on rather than read again.
        self._send_table_now(conn, event, {NodeId(s) for s, _p, _r in rows}, now, (kept, at))

    def _send_table_now(
        self,
        conn: sqlite3.Connection,
        event: bytes,
        schools: set[NodeId],
        now: int,
        kept: tuple[str, int] | None = None,
    ) -> None:
        """Inside a transaction: seal our kept table of ``event`` (``kept``: its teams and
        time, when the caller just wrote them; else read) to those of ``schools`` (listed
        in it) that have no table of it waiting in the outbox."""
        if kept is None:
            kept = conn.execute(
                "SELECT teams, at FROM event_team_tables WHERE event = ? AND organiser = ?",
                (event, bytes(self.me)),
            ).fetchone()
            if kept is None:
                return
        waiting = {
            NodeId(row[0])
            for row in conn.execute(
                "SELECT DISTINCT s.recipient FROM letters_sent s JOIN mail m "
                "ON m.sender = ? AND m.recipient = s.recipient AND m.seq = s.seq "
                "WHERE s.about = ? AND s.kind = ?",
                (bytes(self.me), event.hex(), letters.TEAMS),
            )
        }
        to = sorted((schools - waiting) - {self.me}, key=bytes)
        if not to:
            return
        rows = tuple(TeamRow(NodeId.parse(s), p, r) for s, p, r in json.loads(kept[0]))
        content = TeamsLetter(EntryId(event), int(kept[1]), rows).to_content()
        self.mail.send_now(conn, letters.TEAMS, content, to, about=event.hex(), now=now)

    async def confirmed(self, schools: set[NodeId], now: int) -> None:
        """Inside the mail room's transaction: ``schools`` confirmed letters of ours. Those
        sent a table of one of our events before it changed again are sent the newest
        (one trip: ``store.within``)."""

        def run(conn: sqlite3.Connection) -> None:
            for school in sorted(schools, key=bytes):
                due = conn.execute(
                    "SELECT t.event FROM event_team_tables t JOIN event_teams e "
                    "ON e.event = t.event AND e.school = ? WHERE t.organiser = ? AND t.at > "
                    "COALESCE((SELECT max(s.sent_at) FROM letters_sent s WHERE s.about = "
                    "lower(hex(t.event)) AND s.kind = ? AND s.recipient = ?), 0)",
                    (bytes(school), bytes(self.me), letters.TEAMS, bytes(school)),
                ).fetchall()
                for (event,) in due:
                    self._send_table_now(conn, bytes(event), {school}, now)

        await self.store.within(run)

    async def receive(self, letter: Letter, now: int) -> None:
        """A team for one of our events, or an organiser's table (in the mail room's
        transaction, in one trip: ``store.within``); a refused letter changes
        nothing."""
        await self.store.within(lambda conn: self._receive_now(conn, letter, now))

    def _receive_now(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        if letter.kind == letters.TEAM:
            team = TeamLetter.of(letter)
            self._take_team_now(conn, letter, team, self._event_now(conn, team.event, self.me), now)
            return
        table = TeamsLetter.of(letter)
        event = self._event_now(conn, table.event, letter.author)
        verdict = rules.table(letter.author, self.me, event, table, now)
        if verdict is not None:
            raise verdict.error()
        rows = [[str(row.school), row.pupils, dict(row.roles)] for row in table.teams]
        conn.execute(
            "INSERT INTO event_team_tables (event, organiser, teams, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (event) DO UPDATE SET teams = excluded.teams, at = excluded.at "
            "WHERE excluded.at > at",
            (bytes(table.event), bytes(letter.author), json.dumps(rows), table.at),
        )

    def _take_team_now(
        self,
        conn: sqlite3.Connection,
        letter: Letter,
        team: TeamLetter,
        event: rules.TeamEvent | None,
        now: int,
    ) -> None:
        """A team for one of our events, judged against what we hold, kept, and the
        table shared if it changed (inside the mail room's transaction)."""
        eid = bytes(team.event)
        before = _held_team(conn, eid, letter.author)
        sender = rules.Sender(
            profile_held=holds_profile_now(conn, letter.author),
            listed=before is not None,
            schools=_schools(conn, eid),
        )
        verdict = rules.team(letter.author, self.me, letter.recipients, event, team, now, sender)
        if verdict is not None:
            raise verdict.error()
        pupils = 0 if team.withdrawn or team.pupils is None else team.pupils
        roles = (
            {} if pupils == 0 or team.roles is None else {r: n for r, n in team.roles.items() if n}
        )
        kept = _keep(conn, eid, letter.author, pupils, roles, team.at)
        # The same team again changes no table: nothing is sent on (a school that repeats
        # its team cannot make us write to every other school each time).
        same = before is not None and (before[0], json.loads(before[1])) == (pupils, roles)
        if kept and not same:
            self._share_now(conn, eid, now)

    def _event_now(
        self, conn: sqlite3.Connection, event: EntryId, organiser: NodeId
    ) -> rules.TeamEvent | None:
        """The conference a letter names, with its newest version's format and end; None
        if we do not hold it or it was cancelled. Only ``organiser``'s events are read
        through (any other is refused by the rules whatever its format): the versions
        are that school's own event entries from the first version on, found by the
        (author, seq) index, not by decoding every event held."""
        entry = get_now(conn, event)
        if entry is not None:
            if entry.kind != kinds.EVENT:
                return None
            if entry.author != organiser:
                return rules.TeamEvent(entry.author, None, None)
            version = newest_version_now(conn, entry)
            if version is None:
                return None
            if version.content is None:  # erased
                return rules.TeamEvent(entry.author, None, None, None)
            newest = EventContent.of(version)
            return rules.TeamEvent(entry.author, None, newest.format, newest.end)
        row = conn.execute(
            "SELECT author, recipients, content, cancelled FROM private_events WHERE id = ?",
            (bytes(event),),
        ).fetchone()
        if row is None or row[3]:
            return None
        invited = {NodeId.parse(t) for t in json.loads(row[1])}
        details = Details.of(json.loads(row[2]))
        return rules.TeamEvent(NodeId(row[0]), invited, details.format, details.end)

    async def ours(self, event: EntryId) -> Team | None:
        """Our school's team for ``event``, if we sent one and did not withdraw it."""
        row = await self.store.fetch_one(
            "SELECT pupils, roles FROM event_teams WHERE event = ? AND school = ? AND pupils > 0",
            (bytes(event), bytes(self.me)),
        )
        if row is None:
            return None
        return Team(self.me, "", int(row[0]), json.loads(row[1]))

    async def teams(self, event: EntryId, organiser: NodeId) -> list[Team]:
        """Every school's team for ``event``: as we hold them if we organise it, else the
        organiser's newest table. By school name."""
        if organiser == self.me:
            rows = await self.store.fetch_all(
                "SELECT school, pupils, roles FROM event_teams WHERE event = ? AND pupils > 0",
                (bytes(event),),
            )
            found = [(NodeId(s), int(p), json.loads(r)) for s, p, r in rows]
        else:
            row = await self.store.fetch_one(
                "SELECT teams FROM event_team_tables WHERE event = ? AND organiser = ?",
                (bytes(event), bytes(organiser)),
            )
            table = [] if row is None else json.loads(row[0])
            found = [(NodeId.parse(s), int(p), dict(r)) for s, p, r in table]
        names = await self.store.schools({school for school, _p, _r in found})
        teams = [
            Team(school, names.get(school, ("unknown school", ""))[0], pupils, roles)
            for school, pupils, roles in found
        ]
        return sorted(teams, key=lambda t: (t.school.casefold(), bytes(t.school_id)))

    async def attending(self) -> set[EntryId]:
        """The events our school sends a team to (pupils see these)."""
        rows = await self.store.fetch_all(
            "SELECT event FROM event_teams WHERE school = ? AND pupils > 0", (bytes(self.me),)
        )
        return {EntryId(row[0]) for row in rows}

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget ``school``'s teams and the tables it sent (we block it)."""
        await self.store.execute("DELETE FROM event_teams WHERE school = ?", (bytes(school),))
        await self.store.execute(
            "DELETE FROM event_team_tables WHERE organiser = ?", (bytes(school),)
        )
        # Our own teams for its events: its entries and private events are erased first
        # (the blocking transaction), so these are the rows whose event we no longer hold.
        await self.store.execute(
            "DELETE FROM event_teams WHERE school = ? AND event NOT IN (SELECT id FROM entries) "
            "AND event NOT IN (SELECT id FROM private_events)",
            (bytes(self.me),),
        )


def _keep(
    conn: sqlite3.Connection,
    event: bytes,
    school: NodeId,
    pupils: int,
    roles: Mapping[str, int],
    at: int,
) -> bool:
    """Keep a school's team unless a later one is held; True if kept."""
    changed = conn.execute(
        "INSERT INTO event_teams (event, school, pupils, roles, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (event, school) DO UPDATE SET pupils = excluded.pupils, "
        "roles = excluded.roles, at = excluded.at WHERE excluded.at > at",
        (event, bytes(school), pupils, json.dumps(dict(roles), sort_keys=True), at),
    ).rowcount
    return changed > 0


def _held_team(conn: sqlite3.Connection, event: bytes, school: NodeId) -> tuple[int, str] | None:
    """``school``'s row in ``event``'s table (pupils, roles), if any (a team, or its
    withdrawal): whether it is listed, and what it was before a new one."""
    row = conn.execute(
        "SELECT pupils, roles FROM event_teams WHERE event = ? AND school = ?",
        (event, bytes(school)),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def _schools(conn: sqlite3.Connection, event: bytes) -> int:
    """The schools ``event``'s table lists, withdrawn ones included (each is sent it)."""
    row = conn.execute("SELECT count(*) FROM event_teams WHERE event = ?", (event,)).fetchone()
    return int(row[0])
