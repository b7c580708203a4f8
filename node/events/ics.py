"""Events as an iCalendar file (RFC 5545) that calendar programs can import or subscribe to.

What makes updates and cancellations work in calendar programs:

- UID is the event's first entry id, so every version and the cancellation of one
  event replace the same item in the calendar (RFC 5545, 3.8.4.7).
- SEQUENCE counts the versions (each update, and the cancellation, adds one), and
  LAST-MODIFIED and DTSTAMP are when the newest version was written, so the output
  for the same data is the same bytes every time (3.8.7.4, 3.8.7.2).
- A withdrawn event stays in the file with STATUS:CANCELLED (3.8.1.11), its times
  and its real SUMMARY, so a calendar shows which event was cancelled; its details
  were erased with the withdrawal, and its DESCRIPTION gives the organiser's reason.
- An event given with a time-zone name keeps it (TZID, with its VTIMEZONE);
  otherwise its times are written in UTC, which every program reads the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from node.bidi import closed

PRODID = "-//schoolmesh//schoolmesh events//EN"
UID_DOMAIN = "schoolmesh"


@dataclass(frozen=True, slots=True)
class CalendarItem:
    uid: str  # the first version's entry id, hex
    start: str  # ISO 8601 with offset, as in the entry
    end: str
    tz: str | None
    sequence: int
    created_ms: int
    modified_ms: int
    organiser: str
    cancelled: bool = False
    reason: str | None = None  # why it was cancelled, if the organiser said
    title: str | None = None
    where: str | None = None
    text: str | None = None
    capacity: int | None = None
    #: A TeachMeet's running order, one line per talk (node/events/slots.py).
    running_order: tuple[str, ...] = ()


def zone(name: str | None) -> ZoneInfo | None:
    """The named IANA time zone, or None when there is no name or this machine lacks it."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _moment(value: str, tz: ZoneInfo | None) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(tz or UTC)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC)


def calendar(items: Iterable[CalendarItem], name: str) -> bytes:
    """The iCalendar file holding ``items``, named ``name`` in calendar programs."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", closed(name))
    for item in items:
        cal.add_component(_event(item))
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data


def _event(item: CalendarItem) -> icalendar.Event:
    """One event; other schools' texts end their own bidi controls (node/bidi.py), or a
    calendar program shows what follows them reordered."""
    tz = zone(item.tz)
    organiser = closed(item.organiser)
    event = icalendar.Event()
    event.add("uid", f"{item.uid}@{UID_DOMAIN}")
    event.add("dtstamp", _utc(item.modified_ms))
    event.add("created", _utc(item.created_ms))
    event.add("last-modified", _utc(item.modified_ms))
    event.add("sequence", item.sequence)
    event.add("dtstart", _moment(item.start, tz))
    event.add("dtend", _moment(item.end, tz))
    event.add("class", "PUBLIC")
    if item.cancelled:
        event.add("status", "CANCELLED")
        # A title that never reached us (the event came already withdrawn) still says whose.
        event.add("summary", closed(item.title or "") or f"Cancelled event by {organiser}")
        said = f"{organiser} has cancelled this event."
        event.add("description", f"{said} Reason: {closed(item.reason)}" if item.reason else said)
        return event
    event.add("status", "CONFIRMED")
    event.add("summary", closed(item.title or ""))
    if item.where:
        event.add("location", closed(item.where))
    details = [closed(item.text)] if item.text else []
    if item.capacity:
        details.append(f"Places: {item.capacity}.")
    if item.running_order:
        details.append("Running order:\n" + "\n".join(map(closed, item.running_order)))
    details.append(f"Organised by {organiser}.")
    event.add("description", "\n\n".join(details))
    return event
