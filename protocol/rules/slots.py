"""Who may offer a talk for a TeachMeet's speaker slot, withdraw it, and publish the order.

A TeachMeet is a public event whose content lists its speaker slots
(``slots``: [[count, minutes], ...], numbered from 1 in that order). A teacher at
any school offers a talk for one slot in a ``talk`` letter sealed to the organiser
alone; the first school to ask for a free slot holds it (first come, first
served) until the organiser accepts, moves or frees the talk. A school withdraws
only its own talk (``talk-cancel``). The running order (``talks``) is published
by the organiser as a new version of its own event: a version from any other
school is another event (protocol/rules/entries.py, ``revision``), never a change
to this one's order.

The slots cannot be taken by keys made for the purpose: a talk is taken only from a
school whose profile we hold (it is in our directory, as for partnership requests),
at most ``MAX_OFFERED`` talks of one event wait for the organiser at once, and none
is taken for an event that is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.events import over
from protocol.rules.mail import timestamp, to_us_alone

#: Talks one school may hold (offered or accepted) in one TeachMeet: a school with a
#: valid key cannot fill every slot by sending letters.
MAX_TALKS_PER_SCHOOL = 3
#: Talks offered for one TeachMeet and not yet accepted, from all schools together: the
#: organiser answers them; the other slots stay free for talks to come.
MAX_OFFERED = 20


def minutes(groups: Any) -> list[int]:
    """The length of each slot, numbered from 1: [[2, 2], [1, 7]] gives [2, 2, 7].

    ``groups`` as the event's schema checked it (protocol/kinds.py), or as
    ``EventContent.slots`` reads it (a tuple of pairs), or absent (None)."""
    if not isinstance(groups, list | tuple):
        return []
    return [length for count, length in groups for _ in range(count)]


@dataclass(frozen=True, slots=True)
class TeachMeet:
    """The event a talk names, as we hold it (its newest version, or its cancellation)."""

    organiser: NodeId
    slots: int  # how many speaker slots it has: 0 for an event without any
    cancelled: bool = False
    #: When its newest version ends (ISO 8601 with its offset); None: not known.
    end: str | None = None


@dataclass(frozen=True, slots=True)
class Speaker:
    """What the organiser holds of the school a talk comes from, and of the event's talks."""

    profile_held: bool  # the school's profile has reached us (it is in our directory)
    held: int  # how many slots of this event the school's talks hold now
    offered: int  # the event's talks offered and not yet accepted, from every school


def talk(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    event: TeachMeet | None,
    slot: int,
    holder: NodeId | None,
    speaker: Speaker,
    at: int,
    now: int,
) -> Verdict:
    """A talk offered for slot ``slot`` of one of our TeachMeets.

    ``holder``: the school whose talk is in that slot now, if any."""
    verdict = to_us_alone("talk", recipients, me)
    if verdict is not None:
        return verdict
    if event is None or event.organiser != me:
        return refused("a talk for an event this school does not organise")
    if author == me:
        return refused("a talk letter from this school itself")
    if event.cancelled:
        return refused("a talk for an event that was cancelled")
    if event.slots == 0:
        return refused("a talk for an event without speaker slots")
    if not 1 <= slot <= event.slots:
        return Refusal(OUT_OF_BOUNDS, f"a talk for slot {slot} of an event with {event.slots}")
    if event.end is not None and over(event.end, now):
        return refused("a talk for an event that is over")
    if not speaker.profile_held:
        return refused(
            "a talk from a school whose profile has not reached this school "
            "(it is not in the directory)"
        )
    if holder is not None and holder != author:
        return refused(f"a talk for slot {slot}, which another school's talk holds")
    if holder is None and speaker.held >= MAX_TALKS_PER_SCHOOL:
        return refused(f"a talk from a school that holds {MAX_TALKS_PER_SCHOOL} slots already")
    if holder is None and speaker.offered >= MAX_OFFERED:
        return refused(
            f"a talk for an event with {MAX_OFFERED} talks already waiting for the organiser"
        )
    return timestamp(at, now, "the talk's time (at)")


def cancel(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    event: TeachMeet | None,
    holder: NodeId | None,
    at: int,
    now: int,
) -> Verdict:
    """A talk withdrawn from a slot of one of our TeachMeets: only by the school whose
    talk it is. A slot already free (the organiser freed it first) changes nothing."""
    verdict = to_us_alone("talk-cancel", recipients, me)
    if verdict is not None:
        return verdict
    if event is None or event.organiser != me:
        return refused("a talk withdrawn from an event this school does not organise")
    if holder is not None and holder != author:
        return refused("a talk withdrawn by a school that did not offer it")
    return timestamp(at, now, "the withdrawal's time (at)")
