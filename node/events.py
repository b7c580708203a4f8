"""Events: shared training days, TeachMeets, pupil conferences, as public entries.

An event is an entry of kind ``event``. Changing it publishes a new version whose
``replaces`` names the first version, so every version shares one identity (and
one calendar UID); only the author's own versions count. Withdrawing it withdraws
every version; the times are kept (store.py) so exports can mark it cancelled.

A school's answer (yes, no, maybe) is kept in this node's database for now:
carrying it to the organiser needs the restricted messages being built in the
projects issue, and ``sent_at`` stays empty until they can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.clock import now_ms
from node.node import Node
from protocol import kinds
from protocol.entry import Entry
from protocol.errors import NotFoundError, UserInputError
from protocol.keys import EntryId, NodeId

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
    content: dict[str, Any] = field(default_factory=dict)  # newest version; {} if cancelled
    start: str = ""
    end: str = ""
    tz: str | None = None
    versions: list[EntryId] = field(default_factory=list)  # current ones, oldest first
    newest_seq: int = 0
    count: int = 0  # versions known, current or withdrawn
    created_ms: int = 0
    modified_ms: int = 0
    cancelled: bool = False
    answer: str | None = None  # this school's RSVP

    @property
    def sequence(self) -> int:
        """Changes since the first version: updates, and a cancellation."""
        return self.count - 1 + (1 if self.cancelled else 0)

    def ended(self, today: date) -> bool:
        return _moment(self.end).date() < today

    def as_json(self) -> dict[str, Any]:
        content = {k: v for k, v in self.content.items() if k != "replaces"}
        return {
            "id": str(self.id),
            "school_id": str(self.author),
            "school": self.school,
            "country": self.country,
            **content,
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
            "status": "cancelled" if self.cancelled else "confirmed",
            "sequence": self.sequence,
            "updated_at": _iso_ms(self.modified_ms),
            "rsvp": self.answer,
        }


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def moment(text: str, tz: str | None, flag: str) -> str:
    """A date-time as entries write it, with its offset; the zone ``tz`` when none is given."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UserInputError(
            f"{flag} {text!r}: write the date and time like 2027-03-04T09:00+01:00"
        ) from exc
    if parsed.tzinfo is None:
        if tz is None:
            raise UserInputError(
                f"{flag} {text!r} has no time zone: add its offset (2027-03-04T09:00+01:00, "
                "or Z for UTC) or give --tz, such as --tz Europe/London"
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
            "Europe/London, Europe/Paris or Asia/Tokyo"
        ) from exc


async def create(node: Node, content: dict[str, Any]) -> Entry:
    """Publish a new event from this school."""
    if content.get("tz") is not None:
        time_zone(content["tz"])
    return await node.publish(kinds.EVENT, content)


async def update(node: Node, id_text: str, changes: dict[str, Any]) -> Entry:
    """Publish a new version of one of this school's events, changing only ``changes``."""
    event = await _own(node, id_text, "change")
    if changes.get("tz") is not None:
        time_zone(changes["tz"])
    content = {**event.content, **changes, "replaces": bytes(event.id)}
    return await node.publish(kinds.EVENT, content)


async def withdraw(node: Node, id_text: str, reason: str = "") -> list[Entry]:
    """Cancel one of this school's events: every version is withdrawn, everywhere."""
    event = await _own(node, id_text, "withdraw")
    withdrawals = []
    for version in event.versions:
        content: dict[str, Any] = {"target": bytes(version)}
        if reason:
            content["reason"] = reason
        withdrawals.append(await node.publish(kinds.WITHDRAW, content))
    return withdrawals


async def rsvp(node: Node, id_text: str, answer: str, *, today: date | None = None) -> EventView:
    """Record this school's answer to another school's event, to be sent later."""
    if answer not in ANSWERS:
        raise UserInputError(f"answer {answer!r}: choose yes, no or maybe")
    event = await find(node, id_text)
    if event.author == node.node_id:
        raise UserInputError("that is your own school's event: answer other schools' events")
    if event.cancelled:
        raise UserInputError("that event was cancelled by its organiser")
    if event.ended(today or datetime.now(UTC).date()):
        raise UserInputError("that event is over")
    async with node.store.write():
        await node.store.execute(
            "INSERT INTO event_rsvps (event, answer, answered_at) VALUES (?, ?, ?) "
            "ON CONFLICT (event) DO UPDATE SET answer = excluded.answer, "
            "answered_at = excluded.answered_at, sent_at = NULL",
            (bytes(event.id), answer, now_ms()),
        )
    event.answer = answer
    return event


async def find(node: Node, id_text: str) -> EventView:
    """The event that ``id_text`` (its id, a version's id, or a prefix) names."""
    wanted = await node.store.resolve(id_text)
    for event in await every(node):
        if wanted == event.id or wanted in event.versions:
            return event
    raise NotFoundError(f"no event with id {id_text}: see `schoolmesh event list`")


async def _own(node: Node, id_text: str, verb: str) -> EventView:
    event = await find(node, id_text)
    if event.author != node.node_id:
        raise UserInputError(
            f"that event was posted by another school; only its organiser can {verb} it"
        )
    if event.cancelled:
        raise UserInputError("that event is already withdrawn")
    return event


async def listing(
    node: Node, *, today: date | None = None, everything: bool = False
) -> list[EventView]:
    """Events not cancelled and not over, soonest first; with ``everything``, all."""
    day = today or datetime.now(UTC).date()
    events = await every(node)
    if everything:
        return events
    return [e for e in events if not e.cancelled and not e.ended(day)]


async def every(node: Node) -> list[EventView]:
    """Every event this node knows of, cancelled ones included, soonest first."""
    store = node.store
    roots: dict[bytes, Entry | None] = {}

    async def root_of(author: NodeId, claimed: Any, own_id: bytes) -> bytes:
        """The first version's id, if ``claimed`` is truly an earlier event by ``author``."""
        if not isinstance(claimed, bytes):
            return own_id
        if claimed not in roots:
            roots[claimed] = await store.get(EntryId(claimed))
        root = roots[claimed]
        if root is None or root.author != author or root.kind != kinds.EVENT:
            return own_id
        return claimed

    events: dict[tuple[bytes, bytes], EventView] = {}

    def view(author: NodeId, root: bytes) -> EventView:
        return events.setdefault((bytes(author), root), EventView(EntryId(root), author))

    for entry in sorted(await store.current(kinds.EVENT), key=lambda e: e.seq):
        content = entry.content or {}
        root = await root_of(entry.author, content.get("replaces"), bytes(entry.id))
        event = view(entry.author, root)
        event.count += 1
        event.versions.append(entry.id)
        if entry.seq > event.newest_seq:
            event.newest_seq = entry.seq
            event.content = dict(content)
            event.start, event.end, event.tz = content["start"], content["end"], content.get("tz")
            event.modified_ms = entry.payload.timestamp
            event.cancelled = False
    cancelled = await store.fetch_all(
        "SELECT id, author, root, seq, starts, ends, tz, withdrawn_at FROM cancelled_events"
    )
    for version, author_bytes, claimed, seq, starts, ends, tz, withdrawn_at in cancelled:
        author = NodeId(author_bytes)
        event = view(author, await root_of(author, claimed, version))
        event.count += 1
        if seq > event.newest_seq:
            event.newest_seq = seq
            event.content = {}
            event.start, event.end, event.tz = starts, ends, tz
            event.cancelled = True
        if event.cancelled:
            event.modified_ms = max(event.modified_ms, int(withdrawn_at))
    names = await store.schools({e.author for e in events.values()})
    answers = dict(await store.fetch_all("SELECT event, answer FROM event_rsvps"))
    for event in events.values():
        event.school, event.country = names.get(event.author, ("unknown school", ""))
        first = roots.get(bytes(event.id)) or await store.get(event.id)
        event.created_ms = first.payload.timestamp if first else event.modified_ms
        event.answer = answers.get(bytes(event.id))
    return sorted(events.values(), key=lambda e: (_moment(e.start), bytes(e.id)))


async def ics(node: Node) -> bytes:
    """Every event this node knows, cancelled ones included, as an iCalendar file."""
    from node import ics as calendar  # icalendar takes ~0.1 s to import: only when needed

    identity = await node.identity()
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
            title=event.content.get("title"),
            where=event.content.get("where"),
            text=event.content.get("text"),
            capacity=event.content.get("capacity"),
        )
        for event in await every(node)
    ]
    return calendar.calendar(items, f"schoolmesh events ({identity.name})")
