"""Interest in another school's offer or request, its answer, and the arrangement.

An interest is a restricted letter to the posting school only: no other school,
partner or relay, can read what one school says to another about working
together. The posting school accepts or declines it; the answer travels back
the same way. An accepted interest is an *arrangement* that both schools see:
the entry's dates and a contact at each school.

Both ends keep the interest in the ``interests`` table, one row per interest,
under the id the sending school chose; a letter that does not come from the
school the interest names is refused (the mail room logs it), and a repeated
one changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from node.clock import iso_ms
from node.mail.mailroom import Mailroom
from node.partners.peerbook import PeerBook
from node.store.database import Store
from node.store.reads import schools_now
from node.store.withdrawals import Withdrawn, withdrawn_now
from protocol import kinds, letters
from protocol.contents.entries import OfferContent
from protocol.contents.letters import (
    BookingAcceptLetter,
    BookingLetter,
    InterestAnswerLetter,
    InterestLetter,
)
from protocol.entry import Entry
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import bookings as booking_rules
from protocol.rules import interests as rules
from protocol.sealed import Letter

#: An interest may be named by the first characters of its id, as projects are.
MIN_PREFIX = 6
MAX_MESSAGE = 2_000
STATES = ("open", "accepted", "declined")
#: What an interest reads as, derived when read: an open one whose offer or request
#: was withdrawn before an answer is ended by it, no longer waiting (docs/decisions.md,
#: "An unanswered interest ends with its offer's withdrawal").
READ_STATES = (*STATES, "withdrawn")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_COLUMNS = (
    "id, entry, sender, poster, title, message, sender_by, state, answer, poster_by, "
    "starts, ends, sent_at, answered_at"
)
_BOOKING_COLUMNS = (
    "id, interest, proposer, starts, ends, tz, place, online, note, by_name, state, "
    "proposed_at, agreed_at, agreed_by"
)
MAX_PLACE = 500


@dataclass(frozen=True, slots=True)
class Contact:
    """Who to talk to at one school of an arrangement."""

    school_id: NodeId
    school: str
    staff: str | None

    def as_json(self) -> dict[str, Any]:
        return {"school_id": str(self.school_id), "school": self.school, "staff": self.staff}


@dataclass(frozen=True, slots=True)
class Arrangement:
    """An accepted interest: what both schools agreed to do, when, and with whom."""

    entry: EntryId
    title: str
    starts: str | None  # the entry's first and last dates, YYYY-MM-DD, if it gave them
    ends: str | None
    interested: Contact  # the school that sent the interest
    posting: Contact  # the school that posted the offer or request

    def as_json(self) -> dict[str, Any]:
        return {
            "entry": str(self.entry),
            "title": self.title,
            "from": self.starts,
            "to": self.ends,
            "interested": self.interested.as_json(),
            "posting": self.posting.as_json(),
        }


@dataclass(frozen=True, slots=True)
class Booking:
    """A date proposed for an arrangement by one of its two schools, or the agreed one."""

    id: str
    interest: str
    proposer: NodeId
    ours: bool  # this school proposed it
    start: str  # with its offset
    end: str
    tz: str | None
    where: str | None
    online: bool
    note: str | None
    by: str | None
    state: str  # open (waiting for the other school), superseded, or agreed
    proposed_at: int
    agreed_at: int | None
    agreed_by: str | None

    @property
    def event_id(self) -> bytes:
        """The private event the agreed date becomes: the same id at both schools."""
        return booking_event_id(self.id)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "proposed_by": "us" if self.ours else "them",
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
            "where": self.where,
            "online": self.online,
            "note": self.note,
            "by": self.by,
            "state": self.state,
            "proposed_at": iso_ms(self.proposed_at),
            "agreed_at": None if self.agreed_at is None else iso_ms(self.agreed_at),
            "agreed_by": self.agreed_by,
            "event": self.event_id.hex() if self.state == "agreed" else None,
        }


def booking_event_id(proposal: str) -> bytes:
    return hashlib.sha256(b"schoolmesh booking " + proposal.encode()).digest()


@dataclass(frozen=True, slots=True)
class Interest:
    """One interest as this school sees it, sent or received."""

    id: str
    direction: Literal["sent", "received"]
    entry: EntryId
    title: str
    school_id: NodeId  # the other school
    school: str
    partner: bool  # the other school is our partner, so letters go straight to it
    message: str
    by: str | None  # the interested school's contact
    state: str  # open, accepted, declined, or withdrawn (open when the offer went: READ_STATES)
    answer: str | None  # the posting school's message with its answer
    answered_by: str | None
    sent_at: int  # milliseconds since 1970
    answered_at: int | None
    arrangement: Arrangement | None
    #: The posting school withdrew the offer or request: the interest, and any
    #: arrangement, no longer stands (its state is kept as it was answered).
    withdrawn: Withdrawn | None = None
    #: Dates proposed for the arrangement, oldest first, and the agreed one.
    bookings: tuple[Booking, ...] = ()

    @property
    def active(self) -> bool:
        """Still something to act on: the offer or request it is about stands."""
        return self.withdrawn is None

    @property
    def agreed(self) -> Booking | None:
        """The date both schools agreed, if they have."""
        return next((b for b in self.bookings if b.state == "agreed"), None)

    @property
    def proposed(self) -> Booking | None:
        """The proposal waiting for an answer, if any (the newest replaces the others)."""
        if self.agreed is not None:
            return None
        return next((b for b in reversed(self.bookings) if b.state == "open"), None)

    @property
    def bookable(self) -> bool:
        """A date can still be proposed: accepted, standing, and none agreed yet."""
        return self.state == "accepted" and self.active and self.agreed is None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": self.direction,
            "entry": str(self.entry),
            "title": self.title,
            "school_id": str(self.school_id),
            "school": self.school,
            "partner": self.partner,
            "message": self.message,
            "by": self.by,
            "state": self.state,
            "waiting": self.state == "open",
            "answer": self.answer,
            "answered_by": self.answered_by,
            "sent_at": iso_ms(self.sent_at),
            "answered_at": None if self.answered_at is None else iso_ms(self.answered_at),
            "arrangement": None if self.arrangement is None else self.arrangement.as_json(),
            "withdrawn": self.withdrawn is not None,
            "withdrawn_at": None if self.withdrawn is None else iso_ms(self.withdrawn.at),
            "reason": None if self.withdrawn is None else self.withdrawn.reason,
            "bookings": [b.as_json() for b in self.bookings],
            "agreed": None if self.agreed is None else self.agreed.as_json(),
        }


def clean_message(value: str, flag: str = "--message", *, required: bool = True) -> str:
    """A message as letters carry it: trimmed, 1 to 2,000 characters, no control characters."""
    message = value.strip()
    if required and not message:
        raise UserInputError(
            f"{flag}: write a short message to the other school",
            page=said("Write a short message to the other school."),
        )
    if len(message) > MAX_MESSAGE:
        raise UserInputError(
            f"{flag}: keep it to {MAX_MESSAGE:,} characters ({len(message):,})",
            page=said("Keep the message to 2,000 characters at most."),
        )
    if _CONTROL.search(message):
        raise UserInputError(
            f"{flag}: remove the control characters (tabs and new lines are fine)",
            page=said(
                "The message has invisible characters that cannot be sent: type it again "
                "instead of pasting it."
            ),
        )
    return message


def clean_name(value: str | None, flag: str = "--by") -> str | None:
    """A member of staff's name as a contact, or None when not given."""
    if value is None:
        return None
    name = " ".join(value.split())
    if not 1 <= len(name) <= 100 or _CONTROL.search(name):
        raise UserInputError(
            f"{flag}: give the name of a member of staff, up to 100 characters",
            page=said("Give the name of a member of staff, up to 100 characters."),
        )
    return name


def expired(entry: Entry, today: date) -> bool:
    """An offer or request past its closing date, or its last date: no longer open to
    answers (a withdrawn one has no dates left, and is not said to be expired)."""
    if entry.content is None:
        return False
    offer = OfferContent.of(entry)
    last = offer.closes or offer.end
    return last is not None and last < today.isoformat()


class Interests:
    """Interests this school sent and received; ``node.interests``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom, peerbook: PeerBook) -> None:
        self.store = store
        self.peerbook = peerbook
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False  # nothing here erases content

    # -- what staff do -----------------------------------------------------------------

    async def send(self, entry_text: str, message: str, *, by: str | None, now: int) -> Interest:
        """Tell the school that posted an offer or request that we are interested.

        The letter goes to that school only. Refused for our own entries, and for
        withdrawn or expired ones (nobody would answer).
        """
        message, by = clean_message(message), clean_name(by)
        entry = await self.store.get(await self.store.resolve(entry_text))
        if entry is None or entry.kind not in (kinds.OFFER, kinds.REQUEST):
            raise NotFoundError(
                f"{entry_text} is not an offer or request: find one with `schoolmesh search` "
                "or `schoolmesh match`, and give its id",
                page=said("There is no such offer or request."),
            )
        if entry.author == self.me:
            raise UserInputError(
                f"that {entry.kind} is your own school's: send interest in other schools' "
                "offers and requests",
                page=said(
                    "This is our own school's: show interest in other schools' offers and requests."
                ),
            )
        if entry.content is None:
            raise UserInputError(
                f"that {entry.kind} was withdrawn by its school: look for another with "
                "`schoolmesh search`",
                page=said("Its school has withdrawn it: search for another."),
            )
        if expired(entry, _day(now)):
            raise UserInputError(
                f"that {entry.kind} has closed (its closing or last date has passed): look "
                "for another with `schoolmesh search`",
                page=said("It has closed: its closing date or last date has passed."),
            )
        earlier = await self.store.fetch_one(
            "SELECT id FROM interests WHERE entry = ? AND sender = ? AND state = 'open'",
            (bytes(entry.id), bytes(self.me)),
        )
        if earlier is not None:
            raise UserInputError(
                f"you already sent interest in that {entry.kind} ({earlier[0][:8]}), still "
                "unanswered: see `schoolmesh interest list`",
                page=said(
                    "Our school already sent interest in this, and it is still waiting for an "
                    "answer."
                ),
            )
        iid = os.urandom(16).hex()
        offer = OfferContent.of(entry)
        title = offer.title
        content = InterestLetter(iid, entry.id, message, title, by).to_content()
        async with self.store.write():
            letter = await self.mail.send_in_transaction(
                letters.INTEREST, content, [entry.author], about=iid, now=now
            )
            await self.store.execute(
                f"INSERT INTO interests ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', NULL, NULL, ?, ?, ?, NULL)",
                (
                    iid,
                    bytes(entry.id),
                    bytes(self.me),
                    bytes(entry.author),
                    title,
                    message,
                    by,
                    offer.start,
                    offer.end,
                    letter.timestamp,
                ),
            )
        return await self.get(iid)

    async def accept(
        self, text: str, *, message: str = "", by: str | None = None, now: int
    ) -> Interest:
        """Accept an interest in one of our entries: it becomes an arrangement at both ends."""
        return await self._answer(text, "accepted", message, by, now)

    async def decline(
        self, text: str, *, message: str = "", by: str | None = None, now: int
    ) -> Interest:
        """Decline an interest in one of our entries; the other school is told."""
        return await self._answer(text, "declined", message, by, now)

    async def _answer(
        self, text: str, answer: str, message: str, by: str | None, now: int
    ) -> Interest:
        message, by = clean_message(message, required=False), clean_name(by)
        interest = await self.get(text)
        if interest.direction != "received":
            raise NotAllowedError(
                "your school sent that interest: only the school that posted the offer or "
                "request can accept or decline it",
                page=said(
                    "Only the school that posted the offer or request can accept or decline "
                    "interest in it."
                ),
            )
        if interest.withdrawn is not None:
            raise UserInputError(
                "we withdrew that offer or request: there is nothing left to answer",
                page=said("We withdrew this offer or request: there is nothing left to answer."),
            )
        if interest.state != "open":
            raise UserInputError(
                f"that interest was already {interest.state}",
                page=said("It was already answered."),
            )
        row = await self.store.fetch_one(
            "SELECT starts, ends FROM interests WHERE id = ?", (interest.id,)
        )
        starts, ends = row
        content = InterestAnswerLetter(
            interest.id, answer, message or None, by, starts, ends
        ).to_content()
        async with self.store.write():
            letter = await self.mail.send_in_transaction(
                letters.INTEREST_ANSWER, content, [interest.school_id], about=interest.id, now=now
            )
            await self.store.execute(
                "UPDATE interests SET state = ?, answer = ?, poster_by = ?, answered_at = ? "
                "WHERE id = ?",
                (answer, message or None, by, letter.timestamp, interest.id),
            )
        return await self.get(interest.id)

    # -- bookings: agreeing a date for an arrangement ----------------------------------

    async def propose(
        self,
        text: str,
        *,
        start: str,
        end: str,
        tz: str | None,
        where: str = "",
        online: bool = False,
        note: str = "",
        by: str | None = None,
        now: int,
    ) -> Interest:
        """Propose a date for an arrangement to the other school (it replaces any earlier
        proposal). ``start`` and ``end`` carry their offsets (node/events.py ``moment``)."""
        note = clean_message(note, "--note", required=False)
        by = clean_name(by)
        where = " ".join(where.split())
        if len(where) > MAX_PLACE or _CONTROL.search(where):
            raise UserInputError(
                f"--where: keep the place to {MAX_PLACE} characters on one line",
                page=said("Keep the place to 500 characters."),
            )
        first, last = _instant(start, "--start"), _instant(end, "--end")
        if last <= first:
            raise UserInputError(
                "--end: the end is not after the start",
                page=said("The end is not after the start."),
            )
        interest = await self.get(text)
        self._bookable(interest)
        bid = os.urandom(16).hex()
        booking = BookingLetter(
            interest.id,
            bid,
            start,
            end,
            tz=tz or None,
            where=where or None,
            online=online,
            note=note or None,
            by=by or None,
        )
        async with self.store.write():
            letter = await self.mail.send_in_transaction(
                letters.BOOKING,
                booking.to_content(),
                [interest.school_id],
                about=interest.id,
                now=now,
            )
            await self._store_proposal(booking, self.me, letter.timestamp)
        return await self.get(interest.id)

    async def accept_date(
        self, text: str, proposal: str | None = None, *, by: str | None = None, now: int
    ) -> Interest:
        """Accept the date the other school proposed: it becomes a private event at both
        schools. ``proposal`` (its id) guards against accepting a newer one unseen."""
        by = clean_name(by)
        interest = await self.get(text)
        self._bookable(interest)
        waiting = interest.proposed
        if waiting is None or waiting.ours:
            raise UserInputError(
                "there is no date from the other school to accept: propose one with "
                "`schoolmesh interest propose`",
                page=said("There is no date from the other school to accept."),
            )
        if proposal is not None and not waiting.id.startswith(proposal.strip().lower()):
            raise UserInputError(
                "the other school has proposed another date since: look again with "
                "`schoolmesh interest list`",
                page=said("The other school has proposed another date since: look again."),
            )
        content = BookingAcceptLetter(interest.id, waiting.id, by).to_content()
        async with self.store.write():
            letter = await self.mail.send_in_transaction(
                letters.BOOKING_ACCEPT, content, [interest.school_id], about=interest.id, now=now
            )
            await self._agree(interest, waiting.id, by, letter.timestamp)
        return await self.get(interest.id)

    def _bookable(self, interest: Interest) -> None:
        if interest.withdrawn is not None:
            raise UserInputError(
                "that offer or request was withdrawn: the arrangement no longer stands",
                page=said("The offer or request was withdrawn: the arrangement no longer stands."),
            )
        if interest.state != "accepted":
            raise UserInputError(
                f"that interest is {interest.state}: dates are agreed only for accepted ones",
                page=said("Dates are agreed only once the interest is accepted."),
            )
        if interest.agreed is not None:
            raise UserInputError(
                "a date is already agreed for that arrangement: see `schoolmesh event list`",
                page=said("A date is already agreed for this arrangement."),
            )

    async def _store_proposal(self, booking: BookingLetter, proposer: NodeId, at: int) -> None:
        """Keep a proposal; the newest (time, then id) of an interest's is the open one, at
        both schools alike, so that two proposals crossing leave the same one open. What
        is kept of the others is bounded (protocol/rules/bookings.py, ``place``)."""
        iid, bid = booking.id, booking.b
        rows = await self.store.fetch_all(
            "SELECT id, proposer, proposed_at, state FROM bookings WHERE interest = ?", (iid,)
        )
        held = tuple(booking_rules.Held(r[0], NodeId(r[1]), (int(r[2]), r[0]), r[3]) for r in rows)
        placed = booking_rules.place(
            self.me, held, booking_rules.Held(bid, proposer, (at, bid), "open")
        )
        for old in placed.delete:
            await self.store.execute("DELETE FROM bookings WHERE id = ?", (old,))
        for old in placed.supersede:
            await self.store.execute(
                "UPDATE bookings SET state = 'superseded' WHERE id = ?", (old,)
            )
        if not placed.store:
            return
        state = "open" if placed.open else "superseded"
        await self.store.execute(
            f"INSERT INTO bookings ({_BOOKING_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (
                bid,
                iid,
                bytes(proposer),
                booking.start,
                booking.end,
                booking.tz,
                booking.where,
                int(booking.online),
                booking.note,
                booking.by,
                state,
                at,
            ),
        )

    async def _agree(self, interest: Interest, bid: str, by: str | None, at: int) -> None:
        """Inside a transaction: ``bid`` is the agreed date; it becomes a private event
        at this school (the other school makes the same one, under the same id)."""
        for earlier in interest.bookings:
            if earlier.state == "agreed" and earlier.id != bid:
                await self.store.execute(
                    "DELETE FROM private_events WHERE id = ?", (earlier.event_id,)
                )
        await self.store.execute(
            "UPDATE bookings SET state = 'superseded' WHERE interest = ? AND id != ?",
            (interest.id, bid),
        )
        await self.store.execute(
            "UPDATE bookings SET state = 'agreed', agreed_at = ?, agreed_by = ? WHERE id = ?",
            (at, by, bid),
        )
        booking = next(b for b in (await self.get(interest.id)).bookings if b.id == bid)
        entry = await self.store.get(interest.entry)
        offer = None if entry is None or entry.content is None else OfferContent.of(entry)
        activity = None if offer is None else offer.activity
        content: dict[str, Any] = {
            "title": interest.title,
            "start": booking.start,
            "end": booking.end,
            "audience": "booking",
            "interest": interest.id,
            "with": interest.school,
        }
        if activity == "observation":
            content["observation"] = True  # a planned peer observation
        optional = {"tz": booking.tz, "where": booking.where, "text": booking.note}
        content.update({k: v for k, v in optional.items() if v})
        if booking.online:
            content["online"] = True
        await self.store.execute(
            "INSERT INTO private_events (id, author, audience, project, rev, content, "
            "recipients, created_at, updated_at) VALUES (?, ?, 'booking', NULL, 1, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET author = excluded.author, audience = 'booking', "
            "project = NULL, rev = 1, content = excluded.content, cancelled = 0, "
            "recipients = excluded.recipients, updated_at = excluded.updated_at",
            (
                booking.event_id,
                bytes(booking.proposer),
                json.dumps(content),
                json.dumps([str(interest.school_id)]),
                at,
                at,
            ),
        )

    # -- reading ---------------------------------------------------------------------

    async def get(self, text: str) -> Interest:
        """The interest whose id is ``text``, or starts with it (6 characters or more),
        in one trip."""
        return await self.store.read(lambda conn: self.get_now(conn, text))

    def get_now(self, conn: sqlite3.Connection, text: str) -> Interest:
        """:meth:`get` in a function run by ``store.read(fn)`` or ``write(fn)``."""
        wanted = text.strip().lower()
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM interests "
            "WHERE id = ? OR (length(?) >= ? AND substr(id, 1, length(?)) = ?) LIMIT 2",
            (wanted, wanted, MIN_PREFIX, wanted, wanted),
        ).fetchall()
        if not rows:
            raise NotFoundError(
                f"no interest {text!r} at this school: see `schoolmesh interest list`",
                page=said("There is no such expression of interest."),
            )
        if len(rows) > 1:
            raise UserInputError(
                f"more than one interest starts with {text!r}: give more characters",
                page=said("More than one expression of interest matches %(id)s.", id=text),
            )
        return self._views_now(conn, rows[:1])[0]

    async def all(self) -> list[Interest]:
        """Every interest sent or received, newest first, in one trip."""

        def read(conn: sqlite3.Connection) -> list[Interest]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM interests ORDER BY sent_at DESC, id"
            ).fetchall()
            return self._views_now(conn, rows)

        return await self.store.read(read)

    @staticmethod
    def _withdrawn_pairs_now(
        conn: sqlite3.Connection, entries: set[bytes]
    ) -> set[tuple[bytes, bytes]]:
        """(entry, author) of those ``entries`` their author withdrew, in one read: most
        offers stand, so a withdrawal's details are read only for the few that do not."""
        if not entries:
            return set()
        marks = ", ".join("?" * len(entries))
        rows = conn.execute(
            f"SELECT target, author FROM withdrawals WHERE target IN ({marks})", tuple(entries)
        ).fetchall()
        return {(bytes(target), bytes(author)) for target, author in rows}

    def _views_now(self, conn: sqlite3.Connection, rows: list[Any]) -> list[Interest]:
        schools = schools_now(conn, {NodeId(r[2]) for r in rows} | {NodeId(r[3]) for r in rows})
        book = self.peerbook
        withdrawn_pairs = self._withdrawn_pairs_now(conn, {bytes(r[1]) for r in rows})
        bookings = self._bookings_now(conn, {r[0] for r in rows})
        found: list[Interest] = []
        for row in rows:
            iid, entry, sender, poster, title, message, sender_by = row[:7]
            state, answer, poster_by, starts, ends, sent_at, answered_at = row[7:]
            sent = NodeId(sender) == self.me
            other = NodeId(poster if sent else sender)
            partner = book.get_now(conn, other)

            def contact(school: bytes, staff: str | None) -> Contact:
                name = schools.get(NodeId(school), ("unknown school", ""))[0]
                return Contact(NodeId(school), name, staff)

            arrangement = None
            if state == "accepted":
                arrangement = Arrangement(
                    EntryId(entry),
                    title,
                    starts,
                    ends,
                    contact(sender, sender_by),
                    contact(poster, poster_by),
                )
            withdrawn = (
                withdrawn_now(conn, EntryId(entry), NodeId(poster))
                if (bytes(entry), bytes(poster)) in withdrawn_pairs
                else None
            )
            if state == "open" and withdrawn is not None:
                state = "withdrawn"  # never answered: the withdrawal ended it
            found.append(
                Interest(
                    id=iid,
                    direction="sent" if sent else "received",
                    entry=EntryId(entry),
                    title=title,
                    school_id=other,
                    school=schools.get(other, ("unknown school", ""))[0],
                    partner=partner is not None and partner.state == "partner",
                    message=message,
                    by=sender_by,
                    state=state,
                    answer=answer,
                    answered_by=poster_by,
                    sent_at=int(sent_at),
                    answered_at=None if answered_at is None else int(answered_at),
                    arrangement=arrangement,
                    withdrawn=withdrawn,
                    bookings=tuple(bookings.get(iid, ())),
                )
            )
        return found

    def _bookings_now(self, conn: sqlite3.Connection, iids: set[str]) -> dict[str, list[Booking]]:
        """The proposals of those interests, oldest first, in one read."""
        if not iids:
            return {}
        marks = ", ".join("?" * len(iids))
        rows = conn.execute(
            f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE interest IN ({marks}) "
            "ORDER BY proposed_at, id",
            tuple(iids),
        ).fetchall()
        found: dict[str, list[Booking]] = {}
        for row in rows:
            bid, iid, proposer, start, end, tz, place, online, note, by, state = row[:11]
            proposed_at, agreed_at, agreed_by = row[11:]
            found.setdefault(iid, []).append(
                Booking(
                    bid,
                    iid,
                    NodeId(proposer),
                    NodeId(proposer) == self.me,
                    start,
                    end,
                    tz,
                    place,
                    bool(online),
                    note,
                    by,
                    state,
                    int(proposed_at),
                    None if agreed_at is None else int(agreed_at),
                    agreed_by,
                )
            )
        return found

    # -- letters from other schools ------------------------------------------------------

    async def receive(self, letter: Letter, now: int) -> None:
        """Act on an interest or an answer (inside the mail room's transaction).

        Who may send which is decided by protocol/rules/interests.py; a refused
        letter changes nothing."""
        if letter.kind == letters.INTEREST:
            await self._on_interest(letter)
        elif letter.kind == letters.INTEREST_ANSWER:
            await self._on_answer(letter)
        elif letter.kind == letters.BOOKING:
            await self._on_booking(letter)
        elif letter.kind == letters.BOOKING_ACCEPT:
            await self._on_booking_accept(letter)

    async def _arrangement(
        self, iid: str
    ) -> tuple[Interest | None, booking_rules.Arrangement | None]:
        try:
            interest = await self.get(iid) if len(iid) == 32 else None
        except (NotFoundError, UserInputError):
            interest = None
        if interest is None or interest.id != iid:
            return None, None
        agreed = interest.agreed
        return interest, booking_rules.Arrangement(
            interest.school_id if interest.direction == "received" else self.me,
            self.me if interest.direction == "received" else interest.school_id,
            interest.state,
            withdrawn=interest.withdrawn is not None,
            agreed=None if agreed is None else (agreed.proposed_at, agreed.id),
        )

    async def _proposal(self, bid: str) -> booking_rules.Proposal | None:
        row = await self.store.fetch_one(
            "SELECT interest, proposer, proposed_at FROM bookings WHERE id = ?", (bid,)
        )
        if row is None:
            return None
        return booking_rules.Proposal(row[0], NodeId(row[1]), (int(row[2]), bid))

    async def _on_booking(self, letter: Letter) -> None:
        booking = BookingLetter.of(letter)
        interest, held = await self._arrangement(booking.id)
        existing = await self._proposal(booking.b)
        verdict = booking_rules.proposal(
            letter.author,
            self.me,
            letter.recipients,
            booking.id,
            held,
            existing,
            booking.start,
            booking.end,
        )
        if verdict is not None:
            raise verdict.error()
        if existing is not None or interest is None:
            return  # the same proposal again
        await self._store_proposal(booking, letter.author, letter.timestamp)

    async def _on_booking_accept(self, letter: Letter) -> None:
        accepted = BookingAcceptLetter.of(letter)
        interest, held = await self._arrangement(accepted.id)
        proposed = await self._proposal(accepted.b)
        verdict = booking_rules.acceptance(
            letter.author, self.me, letter.recipients, accepted.id, held, proposed
        )
        if verdict is not None:
            raise verdict.error()
        if interest is None or proposed is None or held is None or held.agreed == proposed.order:
            return  # the same acceptance again
        await self._agree(interest, accepted.b, accepted.by, letter.timestamp)

    async def _held(self, iid: str) -> rules.InterestView | None:
        row = await self.store.fetch_one(
            "SELECT sender, poster, state FROM interests WHERE id = ?", (iid,)
        )
        return None if row is None else rules.InterestView(NodeId(row[0]), NodeId(row[1]), row[2])

    async def _on_interest(self, letter: Letter) -> None:
        shown = InterestLetter.of(letter)
        entry = await self.store.get(shown.entry)
        view = (
            None
            if entry is None
            else rules.EntryView(entry.author, entry.kind, withdrawn=entry.content is None)
        )
        held = await self._held(shown.id)
        verdict = rules.interest(letter.author, self.me, letter.recipients, view, held)
        if verdict is not None:
            raise verdict.error()
        if held is not None or entry is None:
            return  # the same interest again
        offer = None if entry.content is None else OfferContent.of(entry)
        await self.store.execute(
            f"INSERT INTO interests ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', NULL, NULL, ?, ?, ?, NULL)",
            (
                shown.id,
                bytes(entry.id),
                bytes(letter.author),
                bytes(self.me),
                (shown.title or "(withdrawn)") if offer is None else offer.title,
                shown.message,
                shown.by,
                None if offer is None else offer.start,
                None if offer is None else offer.end,
                letter.timestamp,
            ),
        )

    async def _on_answer(self, letter: Letter) -> None:
        answer = InterestAnswerLetter.of(letter)
        held = await self._held(answer.id)
        verdict = rules.answer(
            letter.author,
            self.me,
            letter.recipients,
            held,
            answer.answer,
            answer.start,
            answer.end,
        )
        if verdict is not None:
            raise verdict.error()
        if held is None or held.state == answer.answer:
            return  # the same answer again
        await self.store.execute(
            "UPDATE interests SET state = ?, answer = ?, poster_by = ?, answered_at = ?, "
            "starts = COALESCE(?, starts), ends = COALESCE(?, ends) WHERE id = ?",
            (
                answer.answer,
                answer.message or None,
                answer.by,
                letter.timestamp,
                answer.start,
                answer.end,
                answer.id,
            ),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget every interest with ``school``, when we block it.

        Both directions go: its interest in our entries with its message, and ours in
        its entries with its answer (its entries are dropped with it, so nothing
        could come of them), with the dates proposed for them and the events agreed."""
        rows = await self.store.fetch_all(
            "SELECT b.id FROM bookings b JOIN interests i ON i.id = b.interest "
            "WHERE i.sender = ? OR i.poster = ?",
            (bytes(school), bytes(school)),
        )
        for (bid,) in rows:
            await self.store.execute(
                "DELETE FROM private_events WHERE id = ?", (booking_event_id(bid),)
            )
            await self.store.execute("DELETE FROM bookings WHERE id = ?", (bid,))
        await self.store.execute(
            "DELETE FROM interests WHERE sender = ? OR poster = ?", (bytes(school), bytes(school))
        )


def _day(now: int) -> date:
    return datetime.fromtimestamp(now / 1000, UTC).date()


def _instant(text: str, flag: str) -> datetime:
    """A date and time with its offset, as node/events.py ``moment`` writes it."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise UserInputError(
            f"{flag} {text!r}: write the date and time like 2027-03-04T09:00+01:00",
            page=said("Give the date and time like 2027-03-04 16:00."),
        )
    return parsed
