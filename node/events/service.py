"""Events: shared training days, TeachMeets, pupil conferences.

A public event is an entry of kind ``event``. Changing it publishes a new version
whose ``replaces`` names the first version, so every version shares one identity
(and one calendar UID); only the author's own versions count. Withdrawing it
withdraws every version; the times and title are kept (store.py), and the reason
is the withdrawal's, so its page and exports can say what was cancelled and why.
An event for partner schools or one project only travels as letters instead
(node/events/private.py) and is listed here beside the public ones.

A school's answer (yes, no, maybe) to another school's event is sealed to the
organiser only (node/events/rsvps.py); the organiser sees who answered what.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.clock import iso_ms, now_ms
from node.events import slots
from node.events.private import PrivateEvent, PrivateEvents, private_events_now
from node.events.rsvps import Answer, Rsvps, all_answers_now, counts
from node.offers.interests import clean_name
from node.store.database import Store
from node.store.reads import current_now, get_now, schools_now
from node.store.withdrawals import withdrawn_now
from protocol import kinds
from protocol.contents.base import raw
from protocol.contents.entries import EventContent, WithdrawContent
from protocol.entry import Entry
from protocol.errors import NotFoundError, SchemaError, UserInputError, said
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.rules import entries as rules

if TYPE_CHECKING:
    from node.node import Identity

ANSWERS = ("yes", "no", "maybe")
#: Fields a new version may change, as the command line names them.
CHANGEABLE = ("title", "start", "end", "tz", "where", "text", "capacity")


@dataclass(slots=True)
class EventView:
    """One event as staff see it: its newest version, or its cancellation."""

    id: EntryId  # the first version's id: the event's identity
    author: NodeId
    school: str = ""
    country: str = ""
    #: The newest version as signed or sent, fields a newer version added included: for
    #: scripts (:meth:`as_json`) and for the next version, which keeps them; pages and
    #: services read the typed fields below. Once cancelled, only its title.
    content: dict[str, Any] = field(default_factory=dict)
    #: The newest version of a public event that stands, read typed; None for a
    #: cancelled event and for a private one (its content is a letter's).
    public: EventContent | None = None
    #: Its title; "" for a cancelled event whose title never reached us.
    title: str = ""
    where: str | None = None
    text: str | None = None
    capacity: int | None = None
    #: "public", "partners", "project:ID", or "booking" (a date two schools agreed for
    #: an arrangement: node/offers/interests.py).
    audience: str = "public"
    format: str | None = None  # a TeachMeet's or pupil conference's (protocol/kinds.py)
    #: For an agreed date (``booking``): the other school's name, whether it is a planned
    #: peer observation, and whether it is online.
    with_school: str | None = None
    observation: bool = False
    online: bool = False
    start: str = ""
    end: str = ""
    tz: str | None = None
    versions: list[EntryId] = field(default_factory=list)  # current ones, oldest first
    newest_seq: int = 0
    count: int = 0  # versions known, current or withdrawn
    created_ms: int = 0
    modified_ms: int = 0
    cancelled: bool = False
    reason: str | None = None  # why the organiser cancelled it, if they said
    answer: str | None = None  # this school's RSVP
    answered_by: str | None = None  # who answered for this school, if they gave their name
    private: bool = False  # for partners or a project only, sent as letters
    answers: list[Answer] = field(default_factory=list)  # other schools', for our events

    @property
    def slots(self) -> tuple[tuple[int, int], ...]:
        """A TeachMeet's speaker slots, (how many, minutes each); none once cancelled,
        and none for a private event (only public events have them)."""
        return () if self.public is None else self.public.slots

    @property
    def sequence(self) -> int:
        """Changes since the first version: updates, and a cancellation."""
        return self.count - 1 + (1 if self.cancelled else 0)

    def ended(self, today: date) -> bool:
        return _moment(self.end).date() < today

    def refuse_if_closed(self, today: date) -> None:
        """Refuse what another school may only do while the event stands: answer it,
        offer a talk, send a team. Cancelled, or over by ``today``, it takes none."""
        if self.cancelled:
            raise UserInputError(
                "that event was cancelled by its organiser",
                page=said("This event was cancelled by the school that organised it."),
            )
        if self.ended(today):
            raise UserInputError("that event is over", page=said("This event is over."))

    def as_json(self) -> dict[str, Any]:
        """The event for scripts. The content's fields come between who and when, and
        never replace ours: another school's event may carry any field."""
        who = {
            "id": str(self.id),
            "school_id": str(self.author),
            "school": self.school,
            "country": self.country,
        }
        when = {
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
            "status": "cancelled" if self.cancelled else "confirmed",
            "cancelled_at": iso_ms(self.modified_ms) if self.cancelled else None,
            "reason": self.reason,
            "sequence": self.sequence,
            "updated_at": iso_ms(self.modified_ms),
            "rsvp": self.answer,
            "rsvp_by": self.answered_by,
            "audience": self.audience,
            "counts": counts(self.answers),
            "answers": [answer.as_json() for answer in self.answers],
        }
        content = {
            k: v
            for k, v in self.content.items()
            if k != "replaces" and k not in who and k not in when
        }
        return {**who, **content, **when}


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def moment(text: str, tz: str | None, flag: str) -> str:
    """A date-time as entries write it, with its offset; the zone ``tz`` when none is given."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UserInputError(
            f"{flag} {text!r}: write the date and time like 2027-03-04T09:00+01:00",
            page=said("Give the date and time like 2027-03-04 16:00."),
        ) from exc
    if parsed.tzinfo is None:
        if tz is None:
            raise UserInputError(
                f"{flag} {text!r} has no time zone: add its offset (2027-03-04T09:00+01:00, "
                "or Z for UTC) or give --tz, such as --tz Europe/London",
                page=said("Give the time zone too, such as Europe/London."),
            )
        parsed = parsed.replace(tzinfo=time_zone(tz))
    spec = "seconds" if parsed.second else "minutes"
    return parsed.isoformat(timespec=spec).replace("+00:00", "Z")


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserInputError(
            f"--tz {name!r} is not a time zone this computer knows: give a name such as "
            "Europe/London, Europe/Paris or Asia/Tokyo",
            page=said("This is not a time zone name: write one such as Europe/London."),
        ) from exc


def _refuse_if_invalid(content: dict[str, Any]) -> None:
    """Refuse a private event's content that the schema refuses, before it is sent, in
    words for staff (made with :meth:`Events.create_for`, or changed)."""
    try:
        kinds.validate_content(kinds.EVENT, content)
    except SchemaError as exc:
        raise UserInputError(
            str(exc), page=said("Check the event's details: one of them cannot be accepted.")
        ) from exc


class Events:
    """Public events and those for partners or a project, as staff see them; ``node.events``.

    A public event is published here; an event for partners or a project goes as
    letters (``private_events``); answers (``rsvps``) are sealed to organisers."""

    def __init__(
        self,
        store: Store,
        key: NodeKey,
        private_events: PrivateEvents,
        rsvps: Rsvps,
        identity: Callable[[], Awaitable[Identity]],
    ) -> None:
        self.store = store
        self.key = key
        self.me = key.node_id
        self.private_events = private_events
        self.rsvps = rsvps
        self.identity = identity

    async def _publish(self, kind: str, content: dict[str, Any]) -> Entry:
        """Sign ``content`` as the next entry of this school's log and store it."""
        return await self.store.append_local(self.key, kind, content, now_ms())

    async def create(self, content: dict[str, Any]) -> Entry:
        """Publish a new event from this school."""
        if content.get("tz") is not None:
            time_zone(content["tz"])
        return await self._publish(kinds.EVENT, content)

    async def create_for(self, content: dict[str, Any], audience: str) -> EntryId:
        """Make a new event for ``audience``: public, partners, or project:ID; return its id.

        A public event is an entry (:func:`create`); the others are letters to the
        partner schools, or to the project's member schools, as they are now.
        """
        slots.not_for_teams(content)
        if audience == "public":
            return (await self.create({**content, "audience": "public"})).id
        if "slots" in content:
            raise UserInputError(
                "speaker slots are for public events (TeachMeets anyone may come to): "
                "leave out --audience, or --slots",
                page=said("Speaker slots are for public events: make the TeachMeet public."),
            )
        if content.get("tz") is not None:
            time_zone(content["tz"])
        _refuse_if_invalid(content)
        made = await self.private_events.create(content, audience, now_ms())
        return EntryId(made.id)

    async def update(self, id_text: str, changes: dict[str, Any]) -> Entry:
        """Publish a new version of one of this school's public events, changing only ``changes``.

        For any event, public or private, :func:`change` does the same.
        """
        event = await self._own(id_text, "change")
        if event.private:
            raise UserInputError(
                "that event is for partners or a project: change it with `change`",
                page=said("This event is for partner schools or a project: change it on its page."),
            )
        if changes.get("tz") is not None:
            time_zone(changes["tz"])
        content = {**event.content, **changes, "replaces": bytes(event.id)}
        return await self._publish(kinds.EVENT, content)

    async def change(self, id_text: str, changes: dict[str, Any]) -> EventView:
        """A new version of one of this school's events, public or private; the event after it."""
        event = await self._own(id_text, "change")
        if not event.private:
            await self.update(id_text, changes)
            return await self.find(str(event.id))
        if changes.get("tz") is not None:
            time_zone(changes["tz"])
        content = {k: v for k, v in {**event.content, **changes}.items() if k != "audience"}
        _refuse_if_invalid(content)
        await self.private_events.update(bytes(event.id), changes, now_ms())
        return await self.find(str(event.id))

    async def withdraw(self, id_text: str, reason: str = "") -> list[Entry]:
        """Cancel one of this school's events: every version is withdrawn, everywhere.

        A private event is cancelled by a last letter to its schools (no entries).
        """
        event = await self._own(id_text, "withdraw")
        if event.private:
            await self.private_events.cancel(bytes(event.id), now_ms(), reason)
            return []
        # One transaction: every version is withdrawn, or none (the budget with room
        # for some of them only refuses them all).
        items: list[tuple[str, dict[str, Any]]] = []
        for version in event.versions:
            content = WithdrawContent(version, reason or None).to_content()
            items.append((kinds.WITHDRAW, content))
        return await self.store.append_local_all(self.key, items, now_ms())

    async def rsvp(
        self, id_text: str, answer: str, *, by: str | None = None, today: date | None = None
    ) -> EventView:
        """Answer another school's event; the answer is sealed to the organiser only."""
        if answer not in ANSWERS:
            raise UserInputError(
                f"answer {answer!r}: choose yes, no or maybe", page=said("Choose yes, no or maybe.")
            )
        by = clean_name(by)
        event = await self.find(id_text)
        if event.author == self.me:
            raise UserInputError(
                "that is your own school's event: answer other schools' events",
                page=said("This is our own school's event: answer other schools' events."),
            )
        event.refuse_if_closed(today or datetime.now(UTC).date())
        await self.rsvps.answer(event.id, event.author, answer, by=by, now=now_ms())
        event.answer, event.answered_by = answer, by
        return event

    async def find(self, id_text: str) -> EventView:
        """The event that ``id_text`` (its id, a version's id, or a prefix) names."""
        wanted = await self._private_id(id_text) or await self.store.resolve(id_text)
        for event in await self.every():
            if wanted == event.id or wanted in event.versions:
                return event
        raise NotFoundError(
            f"no event with id {id_text}: see `schoolmesh event list`",
            page=said("There is no such event."),
        )

    async def _private_id(self, id_text: str) -> EntryId | None:
        """The private event whose id starts with ``id_text`` (8 or more hex characters)."""
        text = id_text.strip().lower()
        if len(text) < 8 or any(c not in "0123456789abcdef" for c in text):
            return None  # store.resolve says what is wrong
        rows = await self.store.fetch_all(
            "SELECT id FROM private_events WHERE hex(id) LIKE ? LIMIT 2", (text.upper() + "%",)
        )
        if len(rows) > 1:
            raise UserInputError(
                f"more than one event starts with {text}: give more characters",
                page=said("More than one event matches %(id)s.", id=text),
            )
        return EntryId(rows[0][0]) if rows else None

    async def _own(self, id_text: str, verb: str) -> EventView:
        event = await self.find(id_text)
        if event.author != self.me:
            raise UserInputError(
                f"that event was posted by another school; only its organiser can {verb} it",
                page=said("Only the school that organises an event can change or cancel it."),
            )
        if event.cancelled:
            raise UserInputError(
                "that event is already withdrawn", page=said("This event is already cancelled.")
            )
        return event

    async def listing(
        self, *, today: date | None = None, everything: bool = False
    ) -> list[EventView]:
        """Events not cancelled and not over, soonest first; with ``everything``, all."""
        day = today or datetime.now(UTC).date()
        events = await self.every()
        if everything:
            return events
        return [e for e in events if not e.cancelled and not e.ended(day)]

    async def every(self) -> list[EventView]:
        """Every event this node knows of, cancelled ones included, soonest first (one
        trip to the database thread)."""
        return await self.store.read(self._every_now)

    def _every_now(self, conn: sqlite3.Connection) -> list[EventView]:
        roots: dict[bytes, Entry | None] = {}

        def root_of(author: NodeId, claimed: bytes | None, own_id: bytes) -> bytes:
            """The first version's id, if ``claimed`` is truly an earlier event by ``author``."""
            if claimed is None:
                return own_id
            if claimed not in roots:
                roots[claimed] = get_now(conn, EntryId(claimed))
            root = roots[claimed]
            held = None if root is None else rules.Held(bytes(root.author), root.kind)
            return own_id if rules.revision(bytes(author), held) is not None else claimed

        events: dict[tuple[bytes, bytes], EventView] = {}

        def view(author: NodeId, root: bytes) -> EventView:
            return events.setdefault((bytes(author), root), EventView(EntryId(root), author))

        for entry in sorted(current_now(conn, kinds.EVENT), key=lambda e: e.seq):
            typed = EventContent.of(entry)
            root = root_of(entry.author, raw(typed.replaces), bytes(entry.id))
            event = view(entry.author, root)
            event.count += 1
            event.versions.append(entry.id)
            if entry.seq > event.newest_seq:
                event.newest_seq = entry.seq
                # the map as signed, so that scripts see a newer version's fields too
                event.content = dict(entry.content or {})
                _show_public(event, typed)
                event.modified_ms = entry.payload.timestamp
                event.cancelled = False
        cancelled = conn.execute(
            "SELECT id, author, root, seq, starts, ends, tz, withdrawn_at FROM cancelled_events"
        ).fetchall()
        for version, author_bytes, claimed, seq, starts, ends, tz, withdrawn_at in cancelled:
            author = NodeId(author_bytes)
            event = view(author, root_of(author, claimed, version))
            event.count += 1
            if seq > event.newest_seq:
                event.newest_seq = seq
                record = withdrawn_now(conn, EntryId(version), author)
                title = None if record is None else record.title
                event.content = {} if title is None else {"title": title}
                _show_cancelled(event, title)
                event.reason = None if record is None else record.reason
                event.start, event.end, event.tz = starts, ends, tz
                event.cancelled = True
            if event.cancelled:
                event.modified_ms = max(event.modified_ms, int(withdrawn_at))
        for private in private_events_now(conn):
            events[(bytes(private.author), private.id)] = _private_view(private)
        names = schools_now(conn, {e.author for e in events.values()})
        answers = {
            e: (a, by)
            for e, a, by in conn.execute("SELECT event, answer, by_name FROM event_rsvps")
        }
        theirs = all_answers_now(conn)
        for event in events.values():
            event.school, event.country = names.get(event.author, ("unknown school", ""))
            if not event.private:
                first = roots.get(bytes(event.id)) or get_now(conn, event.id)
                event.created_ms = first.payload.timestamp if first else event.modified_ms
            event.answer, event.answered_by = answers.get(bytes(event.id), (None, None))
            event.answers = theirs.get(event.id, []) if event.author == self.me else []
        return sorted(events.values(), key=lambda e: (_moment(e.start), bytes(e.id)))

    async def ics(self) -> bytes:
        """Every event this node knows, cancelled ones included, as an iCalendar file."""
        from node.events import (
            ics as calendar,  # icalendar takes ~0.1 s to import: only when needed
        )

        identity = await self.identity()
        items = [
            calendar.CalendarItem(
                uid=str(event.id),
                start=event.start,
                end=event.end,
                tz=event.tz,
                sequence=event.sequence,
                created_ms=event.created_ms,
                modified_ms=event.modified_ms,
                organiser=f"{event.school} ({event.country})" if event.country else event.school,
                cancelled=event.cancelled,
                reason=event.reason,
                title=event.title or None,
                where=event.where,
                text=event.text,
                capacity=event.capacity,
                running_order=await slots.order_lines(self.store, event),
            )
            for event in await self.every()
        ]
        return calendar.calendar(items, f"schoolmesh events ({identity.name})")


def _private_view(event: PrivateEvent) -> EventView:
    content = {**event.content, "audience": event.audience}
    kept = {k: v for k, v in content.items() if k == "title"}
    content.pop("reason", None)
    details = event.details
    view = EventView(
        EntryId(event.id),
        event.author,
        content=kept if event.cancelled else content,
        reason=details.reason if event.cancelled else None,
        start=details.start,
        end=details.end,
        tz=details.tz,
        versions=[EntryId(event.id)],
        newest_seq=event.rev,
        count=event.rev - (1 if event.cancelled else 0),
        created_ms=event.created_at,
        modified_ms=event.updated_at,
        cancelled=event.cancelled,
        private=True,
    )
    if event.cancelled:
        _show_cancelled(view, details.title or None)
        view.audience = event.audience  # cancelled, it was still for these schools only
        return view
    view.title, view.where, view.text = details.title, details.where, details.text
    view.capacity, view.audience, view.format = details.capacity, event.audience, details.format
    view.with_school, view.observation = details.with_school, details.observation
    view.online = details.online
    return view


def _show_public(view: EventView, event: EventContent) -> None:
    """``view`` shows ``event``, the newest version of a public event that stands."""
    view.public = event
    view.start, view.end, view.tz = event.start, event.end, event.tz
    view.title, view.where, view.text = event.title, event.where, event.text
    view.capacity, view.format = event.capacity, event.format
    view.audience = event.audience or "public"
    view.with_school, view.observation, view.online = None, False, False


def _show_cancelled(view: EventView, title: str | None) -> None:
    """``view`` shows a cancelled event: only its title (if it reached us) is left."""
    view.public = None
    view.title, view.where, view.text, view.capacity = title or "", None, None, None
    # A private event's caller sets its audience again: cancelled, it was not public.
    view.audience, view.format = "public", None
    view.with_school, view.observation, view.online = None, False, False
