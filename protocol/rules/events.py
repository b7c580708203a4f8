"""Who may send an event for partners or a project, and who may answer an event.

A private event belongs to the school that organises it: only that school sends
its revisions, to the audience fixed when it was made (its partners, or one
project's members), and the audience never changes. An answer (``rsvp``) goes
to the organiser alone: for a public event from any school (public events reach
every school), for a private one only from a school it was sent to.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, datetime

from protocol.contents.letters import PrivateEventLetter
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.mail import FIRST_YEAR, LAST_YEAR, in_years, timestamp, to_us_alone


@dataclass(frozen=True, slots=True)
class EventView:
    """An event an answer names, as we hold it."""

    organiser: NodeId
    #: The schools a private event was sent to; None for a public event (everyone).
    invited: Set[NodeId] | None


@dataclass(frozen=True, slots=True)
class HeldEvent:
    """A private event we hold under the letter's id."""

    author: NodeId
    audience: str  # partners or project
    project: str | None
    rev: int


def rsvp(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    event: EventView | None,
    at: int,
    now: int,
) -> Verdict:
    """An answer to one of our events, from a school the event was for."""
    verdict = to_us_alone("rsvp", recipients, me)
    if verdict is not None:
        return verdict
    if event is None or event.organiser != me:
        return refused("an answer to an event this school does not organise")
    if event.invited is not None and author not in event.invited:
        return refused("an answer to an event that was not sent to that school")
    return timestamp(at, now, "the answer's time (at)")


def event(
    author: NodeId,
    content: PrivateEventLetter,
    held: HeldEvent | None,
    *,
    partner: bool,
    member: bool,
) -> Verdict:
    """A private event or a later revision of it (``content`` read from a letter its
    schema accepted).

    ``partner``: the author is our partner now; ``member``: the author is a member
    of the project ``p`` as we hold it. A cancellation of an event we hold is taken
    from its organiser even when it is no longer our partner or in the project, so
    that no calendar keeps an event that will not happen.
    """
    audience, project = content.audience, content.p
    if held is not None and held.author != author:
        return refused("an event letter changing another school's event")
    if (audience == "project") != (project is not None):
        return Refusal(OUT_OF_BOUNDS, "an event names a project (p) if and only if it is for one")
    if held is not None and (held.audience, held.project) != (audience, project):
        return refused("an event letter moving an event to another audience")
    if not (held is not None and content.cancelled):
        if audience == "partners" and not partner:
            return refused("an event for partners from a school that is not our partner")
        if audience == "project" and not member:
            return refused("an event for a project from a school that is not a member of it")
    if not (in_years(content.start) and in_years(content.end)):
        return Refusal(OUT_OF_BOUNDS, f"an event outside the years {FIRST_YEAR} to {LAST_YEAR}")
    if _instant(content.end) < _instant(content.start):
        return Refusal(OUT_OF_BOUNDS, "an event that ends before it starts")
    return None


def _instant(text: str) -> datetime:
    # The schema has checked it: a real date and time with its offset.
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def over(end: str, now: int) -> bool:
    """Whether an event that ends at ``end`` (its ISO 8601 date and time, with its offset)
    is over at ``now`` (ms): its last day, where it takes place, is before today's date
    in UTC, as the pages judge it (node/events/service.py, ``EventView.ended``)."""
    try:
        last = _instant(end).date()
    except ValueError:
        return False  # the schema checked it: never met
    return last < datetime.fromtimestamp(now / 1000, UTC).date()
