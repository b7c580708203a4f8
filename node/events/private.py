"""Events for partner schools only, or for one project's members only, sent as letters.

A public event is an entry that every node relays; these are not. The organiser
seals each version to the schools of its audience, fixed when the event is made
(its partners then, or the project's members then), with a revision number, so a
late or repeated letter never undoes a newer change. Cancelling sends a last
revision that keeps only the times, as a withdrawn public event does
(node/events/service.py lists both kinds together).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from node.mail.mailroom import Mailroom
from node.offers.interests import booking_event_id
from node.partners.peerbook import PeerBook
from node.projects.service import Projects
from node.store.database import Store
from node.store.withdrawals import withdrawn_now
from protocol import letters
from protocol.contents.letters import PrivateEventLetter
from protocol.errors import NotFoundError, SchemaError, UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import events as rules
from protocol.sealed import Letter

#: The fields of an event that a cancellation keeps, so calendars can cancel the right one.
TIMES = ("start", "end", "tz")
#: What a cancellation keeps: its times, and what it was and why, so that schools that
#: meant to come know what was cancelled (docs/decisions.md).
KEPT = (*TIMES, "audience", "title", "reason")


@dataclass(frozen=True, slots=True)
class Details:
    """A private event's stored map, read once where its row is read: the fields of its
    last letter (protocol/contents/letters.py, ``PrivateEventLetter``), or, for a date
    two schools agreed (node/offers/interests.py), those of the arrangement. Once
    cancelled, only :data:`KEPT` is left."""

    title: str
    start: str
    end: str
    tz: str | None = None
    where: str | None = None
    text: str | None = None
    capacity: int | None = None
    format: str | None = None
    reason: str | None = None  # why it was cancelled
    #: An agreed date's other school (its name), and whether it is a planned peer
    #: observation, or online.
    with_school: str | None = None
    observation: bool = False
    online: bool = False

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Details:
        return cls(
            title=stored.get("title", ""),
            start=stored["start"],
            end=stored["end"],
            tz=stored.get("tz"),
            where=stored.get("where"),
            text=stored.get("text"),
            capacity=stored.get("capacity"),
            format=stored.get("format"),
            reason=stored.get("reason"),
            with_school=stored.get("with"),
            observation=bool(stored.get("observation")),
            online=bool(stored.get("online")),
        )


@dataclass(frozen=True, slots=True)
class PrivateEvent:
    id: bytes
    author: NodeId
    audience: str  # "partners", "project:ID", or "booking" (a date agreed: offers/interests.py)
    rev: int
    #: The stored map, fields a newer version added included: shown to scripts, and
    #: sent on in the next revision. Read :attr:`details`.
    content: dict[str, Any]
    cancelled: bool
    created_at: int
    updated_at: int
    details: Details


class PrivateEvents:
    """Events for partners or a project; ``node.events.private``."""

    def __init__(
        self, store: Store, key: NodeKey, mail: Mailroom, projects: Projects, book: PeerBook
    ) -> None:
        self.store = store
        self.book = book
        self.me = key.node_id
        self.mail = mail
        self.projects = projects
        self.needs_checkpoint = False

    async def create(self, content: dict[str, Any], audience: str, now: int) -> PrivateEvent:
        """Send a new event to the schools of ``audience``: ``partners`` or ``project:ID``."""
        kind, _, project_text = audience.partition(":")
        project: str | None = None
        if kind == "partners" and not project_text:
            recipients = [p.node_id for p in await self.book.list() if p.state == "partner"]
            if not recipients:
                raise UserInputError(
                    "--audience partners: this school has no partners yet: make one with "
                    "`schoolmesh invite create`, or use --audience public",
                    page=said(
                        "Our school has no partner schools yet: choose everyone, or invite a "
                        "school on the Partners page first."
                    ),
                )
        elif kind == "project" and project_text:
            found = await self.projects.get(project_text)
            if found.standing != "member":
                raise UserInputError(
                    f"--audience {audience}: this school is not in that project",
                    page=said("Our school is not a member of that project."),
                )
            project = found.id
            recipients = [n for n in found.member_ids("member", "invited") if n != self.me]
            if not recipients:
                raise UserInputError(
                    f"--audience {audience}: no other school is in that project yet: invite "
                    "one with `schoolmesh project invite`",
                    page=said("No other school is in that project yet: invite one first."),
                )
        else:
            raise UserInputError(
                f"--audience {audience!r}: choose public, partners, or project:ID with the id "
                "shown by `schoolmesh project list`",
                page=said("Choose who the event is for."),
            )
        eid = os.urandom(32)
        body = {**content, "audience": kind}

        def write(conn: sqlite3.Connection) -> PrivateEvent:  # one trip
            conn.execute(
                "INSERT INTO private_events (id, author, audience, project, rev, content, "
                "recipients, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (
                    eid,
                    bytes(self.me),
                    kind,
                    project,
                    json.dumps(body),
                    json.dumps([str(r) for r in recipients]),
                    now,
                    now,
                ),
            )
            return self._send_now(conn, eid, now)

        return await self.store.write(write)

    async def update(self, eid: bytes, changes: dict[str, Any], now: int) -> PrivateEvent:
        """A new revision of one of our private events, to the same schools."""

        def write(conn: sqlite3.Connection) -> PrivateEvent:  # one trip
            event = _changeable(get_now(conn, eid))
            content = {**event.content, **changes}
            conn.execute(
                "UPDATE private_events SET rev = rev + 1, content = ?, updated_at = ? WHERE id = ?",
                (json.dumps(content), now, eid),
            )
            return self._send_now(conn, eid, now)

        return await self.store.write(write)

    async def cancel(self, eid: bytes, now: int, reason: str = "") -> PrivateEvent:
        """Cancel one of our private events: its details are dropped, its times and
        title kept, with the ``reason`` if one is given."""

        def write(conn: sqlite3.Connection) -> PrivateEvent:  # one trip
            event = _changeable(get_now(conn, eid))
            kept = {k: v for k, v in event.content.items() if k in KEPT and k != "reason"}
            if reason:
                kept["reason"] = reason
            conn.execute(
                "UPDATE private_events SET rev = rev + 1, content = ?, cancelled = 1, "
                "updated_at = ? WHERE id = ?",
                (json.dumps(kept), now, eid),
            )
            return self._send_now(conn, eid, now)

        return await self.store.write(write)

    def _send_now(self, conn: sqlite3.Connection, eid: bytes, now: int) -> PrivateEvent:
        """Inside a write: seal the event as it now stands to its schools; return it."""
        event = get_now(conn, eid)
        row = conn.execute(
            "SELECT project, recipients FROM private_events WHERE id = ?", (eid,)
        ).fetchone()
        # The stored map, not its details: a field a newer version added is sent on.
        content: dict[str, Any] = {
            "id": eid,
            "rev": event.rev,
            "audience": event.audience.partition(":")[0],  # "project", without its id
            "cancelled": event.cancelled,
            "title": event.details.title or "(cancelled)",
            **{k: v for k, v in event.content.items() if k not in ("audience", "title")},
        }
        if row[0] is not None:
            content["p"] = row[0]
        try:
            letters.validate(letters.EVENT, content)
        except SchemaError as exc:
            raise UserInputError(
                f"{exc}: check the event's details",
                page=said("Check the event's details: one of them cannot be accepted."),
            ) from exc
        recipients = [NodeId.parse(text) for text in json.loads(row[1])]
        self.mail.send_now(conn, letters.EVENT, content, recipients, about=eid.hex(), now=now)
        return event

    async def get(self, eid: bytes) -> PrivateEvent:
        return await self.store.read(lambda conn: get_now(conn, eid))

    async def all(self) -> list[PrivateEvent]:
        return await self.store.read(private_events_now)

    async def receive(self, letter: Letter, now: int) -> None:
        """A private event, or a new revision of one (inside the mail room's transaction).

        protocol/rules/events.py says who may send it; a refused letter changes nothing."""
        await self.store.within(lambda conn: self._receive_now(conn, letter))

    def _receive_now(self, conn: sqlite3.Connection, letter: Letter) -> None:
        """:meth:`receive` on the database thread, in the mail room's transaction."""
        event = PrivateEventLetter.of(letter)
        eid = event.id
        row = conn.execute(
            "SELECT author, audience, project, rev FROM private_events WHERE id = ?", (eid,)
        ).fetchone()
        held = None if row is None else rules.HeldEvent(NodeId(row[0]), row[1], row[2], row[3])
        partner = self.book.get_now(conn, letter.author)
        member = conn.execute(
            "SELECT 1 FROM project_members WHERE project = ? AND node = ? AND state = 'member'",
            (event.p, bytes(letter.author)),
        ).fetchone()
        verdict = rules.event(
            letter.author,
            event,
            held,
            partner=partner is not None and partner.state == "partner",
            member=member is not None,
        )
        if verdict is not None:
            raise verdict.error()
        if held is not None and event.rev <= held.rev:
            return  # a repeat, or older than what we hold
        # Kept as the letter said it, fields a newer version added included (they are
        # shown to scripts), without what has a column of its own.
        content = {
            k: v for k, v in letter.content.items() if k not in ("id", "rev", "cancelled", "p")
        }
        if event.cancelled:
            content = {k: v for k, v in content.items() if k in KEPT}
        conn.execute(
            "INSERT INTO private_events (id, author, audience, project, rev, content, cancelled, "
            "recipients, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, content = excluded.content, "
            "cancelled = excluded.cancelled, updated_at = excluded.updated_at",
            (
                eid,
                bytes(letter.author),
                event.audience,
                event.p,
                event.rev,
                json.dumps(content),
                int(event.cancelled),
                letter.timestamp,
                letter.timestamp,
            ),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget every private event ``school`` organised (we block it)."""
        await self.store.execute("DELETE FROM private_events WHERE author = ?", (bytes(school),))


def _withdrawn(event: PrivateEvent, gone: dict[bytes, tuple[int, str | None]]) -> PrivateEvent:
    """An agreed date whose offer or request was withdrawn, shown as cancelled then, with
    the withdrawal's reason (the row itself stays as the two schools agreed it)."""
    if event.id not in gone or event.cancelled:
        return event
    at, reason = gone[event.id]
    kept = {k: v for k, v in event.content.items() if k in KEPT and k != "reason"}
    if reason:
        kept["reason"] = reason
    return replace(
        event,
        content=kept,
        details=Details.of(kept),
        cancelled=True,
        updated_at=max(at, event.updated_at),
    )


def _changeable(event: PrivateEvent) -> PrivateEvent:
    """A date agreed for an arrangement (audience ``booking``, node/offers/interests.py) is the
    two schools' agreement: neither changes it alone with an event letter."""
    if event.audience == "booking":
        raise UserInputError(
            "that event is the date agreed with another school for an arrangement: it cannot "
            "be changed or cancelled on its own; write to the other school",
            page=said(
                "This is the date agreed with another school for an arrangement: it cannot be "
                "changed or cancelled here. Write to the other school."
            ),
        )
    return event


def _event(row: Any) -> PrivateEvent:
    eid, author, audience, project, rev, content, cancelled, created, updated = row
    stored = json.loads(content)
    return PrivateEvent(
        bytes(eid),
        NodeId(author),
        f"project:{project}" if audience == "project" and project else audience,
        int(rev),
        stored,
        bool(cancelled),
        int(created),
        int(updated),
        Details.of(stored),
    )


def get_now(conn: sqlite3.Connection, eid: bytes) -> PrivateEvent:
    """:meth:`PrivateEvents.get` in a function run by ``store.read(fn)`` or ``write(fn)``."""
    row = conn.execute(
        "SELECT id, author, audience, project, rev, content, cancelled, created_at, "
        "updated_at FROM private_events WHERE id = ?",
        (eid,),
    ).fetchone()
    if row is None:
        raise NotFoundError(
            "no such event: see `schoolmesh event list`", page=said("There is no such event.")
        )
    event = _event(row)
    if event.audience != "booking":
        return event
    return _withdrawn(event, _withdrawn_bookings_now(conn))


def private_events_now(conn: sqlite3.Connection) -> list[PrivateEvent]:
    """Every private event held, in a function run by ``store.read(fn)``."""
    rows = conn.execute(
        "SELECT id, author, audience, project, rev, content, cancelled, created_at, "
        "updated_at FROM private_events"
    ).fetchall()
    gone = _withdrawn_bookings_now(conn)
    return [_withdrawn(event, gone) for event in map(_event, rows)]


def _withdrawn_bookings_now(conn: sqlite3.Connection) -> dict[bytes, tuple[int, str | None]]:
    """The agreed dates whose offer or request was withdrawn since, by event id, with
    when and why: the arrangement no longer stands, so neither does its date."""
    rows = conn.execute(
        "SELECT b.id, i.entry, i.poster FROM bookings b JOIN interests i ON i.id = b.interest "
        "JOIN withdrawals w ON w.target = i.entry AND w.author = i.poster "
        "WHERE b.state = 'agreed'"
    ).fetchall()
    gone: dict[bytes, tuple[int, str | None]] = {}
    for bid, entry, poster in rows:
        record = withdrawn_now(conn, EntryId(entry), NodeId(poster))
        if record is not None:
            gone[booking_event_id(bid)] = (record.at, record.reason)
    return gone
