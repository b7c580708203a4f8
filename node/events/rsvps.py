"""Answers to events (yes, no, maybe), sent as letters to the organising school only.

Our own answer is kept in ``event_rsvps`` and sealed to the organiser in the same
transaction, so it is never recorded without being sent. The organiser keeps one
answer per school and event in ``event_answers``; a school that changes its mind
sends a newer answer, and an older one arriving late is ignored (``at``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from node.clock import iso_ms
from node.mail.mailroom import Mailroom
from node.store.database import Store
from node.store.reads import get_now, schools_now
from protocol import kinds, letters
from protocol.contents.letters import RsvpLetter
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import events as rules
from protocol.sealed import Letter

ANSWERS = letters.RSVP_ANSWERS


@dataclass(frozen=True, slots=True)
class Answer:
    """One school's answer to one of our events, as the organiser sees it."""

    school_id: NodeId
    school: str
    answer: str
    by: str | None  # the member of staff who answered, if they gave their name
    answered_at: int

    def as_json(self) -> dict[str, Any]:
        return {
            "school_id": str(self.school_id),
            "school": self.school,
            "answer": self.answer,
            "by": self.by,
            "answered_at": iso_ms(self.answered_at),
        }


def counts(answers: list[Answer]) -> dict[str, int]:
    """How many schools said yes, no and maybe."""
    return {a: sum(1 for x in answers if x.answer == a) for a in ANSWERS}


class Rsvps:
    """This school's answers to other schools' events, and theirs to ours; ``node.events.rsvps``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom) -> None:
        self.store = store
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False

    async def answer(
        self, event: EntryId, organiser: NodeId, answer: str, *, by: str | None, now: int
    ) -> None:
        """Keep our answer and seal it to the organiser, both or neither.

        Call :func:`node.events.service.rsvp`, which checks the event first.
        """
        content = RsvpLetter(event, answer, now, by).to_content()

        def write(conn: sqlite3.Connection) -> None:  # one trip
            self.mail.send_now(conn, letters.RSVP, content, [organiser], about=str(event), now=now)
            conn.execute(
                "INSERT INTO event_rsvps (event, answer, answered_at, sent_at, by_name) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event) DO UPDATE SET "
                "answer = excluded.answer, answered_at = excluded.answered_at, "
                "sent_at = excluded.sent_at, by_name = excluded.by_name",
                (bytes(event), answer, now, now, by),
            )

        await self.store.write(write)

    async def answers(self, event: EntryId) -> list[Answer]:
        """Other schools' answers to one of our events, earliest first."""
        return (await self.all_answers()).get(event, [])

    async def all_answers(self) -> dict[EntryId, list[Answer]]:
        """Other schools' answers to each of our events, earliest first."""
        return await self.store.read(all_answers_now)

    async def receive(self, letter: Letter, now: int) -> None:
        """An answer to one of our events (inside the mail room's transaction).

        protocol/rules/events.py says who may answer; a refused answer changes nothing."""
        await self.store.within(lambda conn: self._receive_now(conn, letter, now))

    def _receive_now(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        """:meth:`receive` on the database thread, in the mail room's transaction."""
        rsvp = RsvpLetter.of(letter)
        verdict = rules.rsvp(
            letter.author,
            self.me,
            letter.recipients,
            _event_now(conn, rsvp.event),
            rsvp.at,
            now,
        )
        if verdict is not None:
            raise verdict.error()
        conn.execute(
            "INSERT INTO event_answers (event, school, answer, by_name, answered_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event, school) DO UPDATE SET "
            "answer = excluded.answer, by_name = excluded.by_name, "
            "answered_at = excluded.answered_at WHERE excluded.answered_at > answered_at",
            (bytes(rsvp.event), bytes(letter.author), rsvp.answer, rsvp.by, rsvp.at),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget ``school``'s answers to our events, when we block it,
        and ours to its private events (which go with it)."""
        await self.store.execute("DELETE FROM event_answers WHERE school = ?", (bytes(school),))
        await self.store.execute(
            "DELETE FROM event_rsvps WHERE event IN "
            "(SELECT id FROM private_events WHERE author = ?)",
            (bytes(school),),
        )


def all_answers_now(conn: sqlite3.Connection) -> dict[EntryId, list[Answer]]:
    """:meth:`Rsvps.all_answers` in a function run by ``store.read(fn)``."""
    rows = conn.execute(
        "SELECT event, school, answer, by_name, answered_at FROM event_answers "
        "ORDER BY answered_at, school"
    ).fetchall()
    names = schools_now(conn, {NodeId(r[1]) for r in rows})
    found: dict[EntryId, list[Answer]] = {}
    for event, school, answer, by, at in rows:
        name = names.get(NodeId(school), ("unknown school", ""))[0]
        found.setdefault(EntryId(event), []).append(
            Answer(NodeId(school), name, answer, by, int(at))
        )
    return found


def _event_now(conn: sqlite3.Connection, event: EntryId) -> rules.EventView | None:
    """The event an answer names: a public event entry, or a private event we hold."""
    entry = get_now(conn, event)
    if entry is not None:
        return rules.EventView(entry.author, None) if entry.kind == kinds.EVENT else None
    row = conn.execute(
        "SELECT author, recipients FROM private_events WHERE id = ?", (bytes(event),)
    ).fetchone()
    if row is None:
        return None
    return rules.EventView(NodeId(row[0]), {NodeId.parse(t) for t in json.loads(row[1])})
