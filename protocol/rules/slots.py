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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.mail import timestamp, to_us_alone

#: Talks one school may hold (offered or accepted) in one TeachMeet: a school with a
#: valid key cannot fill every slot by sending letters.
MAX_TALKS_PER_SCHOOL = 3


def minutes(groups: Any) -> list[int]:
    """The length of each slot, numbered from 1: [[2, 2], [1, 7]] gives [2, 2, 7].

    ``groups`` as the event's schema checked it (protocol/kinds.py), or absent (None)."""
    if not isinstance(groups, list):
        return []
    return [length for count, length in groups for _ in range(count)]


@dataclass(frozen=True, slots=True)
class TeachMeet:
    """The event a talk names, as we hold it (its newest version, or its cancellation)."""

    organiser: NodeId
    slots: int  # how many speaker slots it has: 0 for an event without any
    cancelled: bool = False


def talk(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    event: TeachMeet | None,
    slot: int,
    holder: NodeId | None,
    held_by_author: int,
    at: int,
    now: int,
) -> Verdict:
    """A talk offered for slot ``slot`` of one of our TeachMeets.

    ``holder``: the school whose talk is in that slot now, if any; ``held_by_author``:
    how many slots of this event the author's talks hold now."""
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
    if holder is not None and holder != author:
        return refused(f"a talk for slot {slot}, which another school's talk holds")
    if holder is None and held_by_author >= MAX_TALKS_PER_SCHOOL:
        return refused(f"a talk from a school that holds {MAX_TALKS_PER_SCHOOL} slots already")
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
