"""Log rules: each author's public entries form one numbered, hash-chained log.

The sequence starts at 1 and rises by one; ``prev`` is the id of the author's
entry just before. A receiver holds every author's log as an unbroken prefix, so
its high-water mark per author (its vector clock) says exactly what it holds.

:func:`judge` is the whole rule set as a pure function: given what the receiver
holds for the author, it says what to do with an incoming, already verified entry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.entry import Entry
from protocol.errors import LogOrderError
from protocol.keys import EntryId, NodeId


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry held of one author's log."""

    seq: int
    id: EntryId


class Verdict(enum.Enum):
    APPEND = "append"  # the next entry of the log: store it
    DUPLICATE = "duplicate"  # already held: nothing to do
    EQUIVOCATION = "equivocation"  # a second entry for a held sequence number


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Evidence that an author signed two different entries with one sequence number."""

    author: NodeId
    seq: int
    first: Entry
    second: Entry


def judge(entry: Entry, head: Head | None, held_at_seq: Entry | None) -> Verdict:
    """Decide what to do with ``entry`` given the receiver's state for its author.

    ``held_at_seq`` is the entry the receiver holds with the same author and
    sequence number, if any. Raises LogOrderError when the entry cannot be placed
    yet (a gap: earlier entries are missing) or breaks the chain (wrong prev).
    """
    if held_at_seq is not None:
        if held_at_seq.id == entry.id:
            return Verdict.DUPLICATE
        return Verdict.EQUIVOCATION
    expected = 1 if head is None else head.seq + 1
    if entry.seq != expected:
        raise LogOrderError(
            f"entry {entry.seq} of {entry.author} arrived before entry {expected}",
            code="gap",
        )
    if head is not None and entry.payload.prev != head.id:
        raise LogOrderError(
            f"entry {entry.seq} of {entry.author} does not point to the entry before it",
            code="wrong-prev",
        )
    return Verdict.APPEND


def equivocation(held: Entry, incoming: Entry) -> Equivocation | None:
    """Both entries as evidence when they share author and sequence but differ."""
    if held.author == incoming.author and held.seq == incoming.seq and held.id != incoming.id:
        return Equivocation(held.author, held.seq, held, incoming)
    return None
