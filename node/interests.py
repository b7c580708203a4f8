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

import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from node.clock import iso_ms
from node.mail import Mailroom
from node.partners import PeerBook
from node.store import Store, Withdrawn
from protocol import kinds, letters
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import interests as rules
from protocol.sealed import Letter

#: An interest may be named by the first characters of its id, as projects are.
MIN_PREFIX = 6
MAX_MESSAGE = 2_000
STATES = ("open", "accepted", "declined")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_COLUMNS = (
    "id, entry, sender, poster, title, message, sender_by, state, answer, poster_by, "
    "starts, ends, sent_at, answered_at"
)


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
    state: str  # open, accepted or declined
    answer: str | None  # the posting school's message with its answer
    answered_by: str | None
    sent_at: int  # milliseconds since 1970
    answered_at: int | None
    arrangement: Arrangement | None
    #: The posting school withdrew the offer or request: the interest, and any
    #: arrangement, no longer stands (its state is kept as it was answered).
    withdrawn: Withdrawn | None = None

    @property
    def active(self) -> bool:
        """Still something to act on: the offer or request it is about stands."""
        return self.withdrawn is None

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
            "answer": self.answer,
            "answered_by": self.answered_by,
            "sent_at": iso_ms(self.sent_at),
            "answered_at": None if self.answered_at is None else iso_ms(self.answered_at),
            "arrangement": None if self.arrangement is None else self.arrangement.as_json(),
            "withdrawn": self.withdrawn is not None,
            "withdrawn_at": None if self.withdrawn is None else iso_ms(self.withdrawn.at),
            "reason": None if self.withdrawn is None else self.withdrawn.reason,
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


def expired(content: dict[str, Any], today: date) -> bool:
    """Past its closing date, or its last date: no longer open to answers."""
    last = content.get("closes") or content.get("to")
    return isinstance(last, str) and last < today.isoformat()


class Interests:
    """Interests this school sent and received; ``node.interests``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom) -> None:
        self.store = store
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
        if expired(entry.content, _day(now)):
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
        title = str(entry.content.get("title", ""))
        content: dict[str, Any] = {
            "id": iid,
            "entry": bytes(entry.id),
            "title": title,
            "message": message,
        }
        if by is not None:
            content["by"] = by
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
                    entry.content.get("from"),
                    entry.content.get("to"),
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
        if interest.state != "open":
            raise UserInputError(
                f"that interest was already {interest.state}",
                page=said("It was already answered."),
            )
        if interest.withdrawn is not None:
            raise UserInputError(
                "we withdrew that offer or request: there is nothing left to answer",
                page=said("We withdrew this offer or request: there is nothing left to answer."),
            )
        content: dict[str, Any] = {"id": interest.id, "answer": answer}
        if message:
            content["message"] = message
        if by is not None:
            content["by"] = by
        row = await self.store.fetch_one(
            "SELECT starts, ends FROM interests WHERE id = ?", (interest.id,)
        )
        for name, value in zip(("from", "to"), row, strict=True):
            if value is not None:
                content[name] = value
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

    # -- reading ---------------------------------------------------------------------

    async def get(self, text: str) -> Interest:
        """The interest whose id is ``text``, or starts with it (6 characters or more)."""
        wanted = text.strip().lower()
        rows = await self.store.fetch_all(
            f"SELECT {_COLUMNS} FROM interests "
            "WHERE id = ? OR (length(?) >= ? AND substr(id, 1, length(?)) = ?) LIMIT 2",
            (wanted, wanted, MIN_PREFIX, wanted, wanted),
        )
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
        return (await self._views(rows[:1]))[0]

    async def all(self) -> list[Interest]:
        """Every interest sent or received, newest first."""
        rows = await self.store.fetch_all(
            f"SELECT {_COLUMNS} FROM interests ORDER BY sent_at DESC, id"
        )
        return await self._views(rows)

    async def _withdrawn_pairs(self, entries: set[bytes]) -> set[tuple[bytes, bytes]]:
        """(entry, author) of those ``entries`` their author withdrew, in one read: most
        offers stand, so a withdrawal's details are read only for the few that do not."""
        if not entries:
            return set()
        marks = ", ".join("?" * len(entries))
        rows = await self.store.fetch_all(
            f"SELECT target, author FROM withdrawals WHERE target IN ({marks})", tuple(entries)
        )
        return {(bytes(target), bytes(author)) for target, author in rows}

    async def _views(self, rows: list[Any]) -> list[Interest]:
        schools = await self.store.schools(
            {NodeId(r[2]) for r in rows} | {NodeId(r[3]) for r in rows}
        )
        book = PeerBook(self.store)
        withdrawn_pairs = await self._withdrawn_pairs({bytes(r[1]) for r in rows})
        found: list[Interest] = []
        for row in rows:
            iid, entry, sender, poster, title, message, sender_by = row[:7]
            state, answer, poster_by, starts, ends, sent_at, answered_at = row[7:]
            sent = NodeId(sender) == self.me
            other = NodeId(poster if sent else sender)
            partner = await book.get(other)

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
                    withdrawn=await self.store.withdrawn(EntryId(entry), NodeId(poster))
                    if (bytes(entry), bytes(poster)) in withdrawn_pairs
                    else None,
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

    async def _held(self, iid: str) -> rules.InterestView | None:
        row = await self.store.fetch_one(
            "SELECT sender, poster, state FROM interests WHERE id = ?", (iid,)
        )
        return None if row is None else rules.InterestView(NodeId(row[0]), NodeId(row[1]), row[2])

    async def _on_interest(self, letter: Letter) -> None:
        content = letter.content
        entry = await self.store.get(EntryId(content["entry"]))
        view = (
            None
            if entry is None
            else rules.EntryView(entry.author, entry.kind, withdrawn=entry.content is None)
        )
        held = await self._held(content["id"])
        verdict = rules.interest(letter.author, self.me, letter.recipients, view, held)
        if verdict is not None:
            raise verdict.error()
        if held is not None or entry is None:
            return  # the same interest again
        held_content = entry.content or {}
        await self.store.execute(
            f"INSERT INTO interests ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', NULL, NULL, ?, ?, ?, NULL)",
            (
                content["id"],
                bytes(entry.id),
                bytes(letter.author),
                bytes(self.me),
                held_content.get("title") or content.get("title") or "(withdrawn)",
                content["message"],
                content.get("by"),
                held_content.get("from"),
                held_content.get("to"),
                letter.timestamp,
            ),
        )

    async def _on_answer(self, letter: Letter) -> None:
        content = letter.content
        held = await self._held(content["id"])
        verdict = rules.answer(
            letter.author,
            self.me,
            letter.recipients,
            held,
            content["answer"],
            content.get("from"),
            content.get("to"),
        )
        if verdict is not None:
            raise verdict.error()
        if held is None or held.state == content["answer"]:
            return  # the same answer again
        await self.store.execute(
            "UPDATE interests SET state = ?, answer = ?, poster_by = ?, answered_at = ?, "
            "starts = COALESCE(?, starts), ends = COALESCE(?, ends) WHERE id = ?",
            (
                content["answer"],
                content.get("message") or None,
                content.get("by"),
                letter.timestamp,
                content.get("from"),
                content.get("to"),
                content["id"],
            ),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget every interest with ``school``, when we block it.

        Both directions go: its interest in our entries with its message, and ours in
        its entries with its answer (its entries are dropped with it, so nothing
        could come of them)."""
        await self.store.execute(
            "DELETE FROM interests WHERE sender = ? OR poster = ?", (bytes(school), bytes(school))
        )


def _day(now: int) -> date:
    return datetime.fromtimestamp(now / 1000, UTC).date()
