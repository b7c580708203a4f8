"""Log rules: each author's public entries form one numbered, hash-chained log.

The sequence starts at 1 and rises by one; ``prev`` is the id of the author's
entry just before. A receiver holds every author's log as an unbroken prefix, so
its high-water mark per author (its vector clock) says exactly what it holds.

:func:`judge` is the whole rule set as a pure function: given what the receiver
holds for the author, it says what to do with an incoming, already verified entry.

A school whose log forked (a copy restored from an old backup signed entries the
partners already held others under) ends the fork with a ``continue`` entry
(docs/protocol.md, "Continuation after a fork"): :func:`judge_continuation` says
what a receiver does with one, and :func:`superseded` which entries of the dropped
branch are then ignored rather than kept as evidence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol import kinds
from protocol.contents.entries import ContinueContent
from protocol.entry import Entry
from protocol.errors import LogOrderError
from protocol.keys import EntryId, NodeId

#: How far back a continuation may reach: its own sequence number minus its fork
#: point. It bounds what a school can take back of its own log at once (a restored
#: copy posts a few entries before the fork is seen, not a thousand), and with it the
#: numbers a continuation may skip.
MAX_FORK_DEPTH = 1000


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


# -- continuation after a fork ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fork:
    """What a ``continue`` entry says: the branches differ from ``seq`` on, and the kept
    branch's entry there is ``keep``."""

    seq: int
    keep: EntryId


class Continuation(enum.Enum):
    APPEND = "append"  # the receiver holds the kept branch up to ``prev``: store it
    TRUNCATE = "truncate"  # the receiver holds the dropped branch: drop it from the fork


def fork_of(entry: Entry) -> Fork | None:
    """The fork a ``continue`` entry names (None for other kinds or erased content)."""
    if entry.kind != kinds.CONTINUE or entry.content is None:
        return None
    settled = ContinueContent.of(entry)
    return Fork(settled.fork, settled.keep)


def judge_continuation(
    entry: Entry,
    head: Head | None,
    held_at_fork: EntryId | None,
    earlier: Fork | None,
    earlier_seq: int = 0,
    taken_back: int = 0,
) -> Continuation:
    """Decide what to do with a ``continue`` entry that no held entry shares a number with.

    ``head`` is the receiver's newest entry of the author, ``held_at_fork`` the id of
    the one it holds at the fork's number, ``earlier`` the fork named by the newest
    continuation it holds of this author, numbered ``earlier_seq``, and ``taken_back``
    the reaches (number minus fork point) of the other continuations of this author
    that truncated the receiver's copy of its log after that one, summed. A
    continuation never reaches further back than :data:`MAX_FORK_DEPTH` entries, nor
    do all truncations since the author's newest held continuation together, nor
    before an earlier continuation; it acts on its author's log only. Raises LogOrderError
    when it cannot be placed yet (``gap``: the kept branch has not arrived) or never
    can (``bad-continuation``, ``fork-too-deep``, ``fork-before-continuation``).
    """
    fork = fork_of(entry)
    if fork is None:
        raise LogOrderError("a continuation without its content", code="bad-continuation")
    if not fork.seq < entry.seq:
        raise LogOrderError(
            f"the continuation {entry.seq} of {entry.author} names fork point "
            f"{fork.seq}, which is not before it",
            code="bad-continuation",
        )
    if entry.seq - fork.seq > MAX_FORK_DEPTH:
        raise LogOrderError(
            f"the continuation {entry.seq} of {entry.author} reaches back to entry "
            f"{fork.seq}: at most {MAX_FORK_DEPTH} entries may be taken back",
            code="fork-too-deep",
        )
    if taken_back + entry.seq - fork.seq > MAX_FORK_DEPTH:
        raise LogOrderError(
            f"the continuation {entry.seq} of {entry.author} reaches back to entry "
            f"{fork.seq}, after continuations that took back {taken_back} entries: at "
            f"most {MAX_FORK_DEPTH} entries may be taken back in all before a continuation "
            "is kept",
            code="fork-too-deep",
        )
    if earlier is not None and fork.seq <= earlier_seq:
        raise LogOrderError(
            f"the continuation {entry.seq} of {entry.author} would take back entries "
            f"before its continuation {earlier_seq}",
            code="fork-before-continuation",
        )
    if head is not None and head.seq >= entry.seq:
        raise LogOrderError(
            f"the continuation {entry.seq} of {entry.author} is not above the entries "
            "held of its log",
            code="bad-continuation",
        )
    if head is not None and entry.payload.prev == head.id:
        if held_at_fork != fork.keep:
            raise LogOrderError(
                f"the continuation {entry.seq} of {entry.author} follows this log but "
                f"names another entry {fork.seq} as kept",
                code="bad-continuation",
            )
        return Continuation.APPEND
    if held_at_fork is None or held_at_fork == fork.keep:
        raise LogOrderError(
            f"continuation {entry.seq} of {entry.author} arrived before the entries it continues",
            code="gap",
        )
    return Continuation.TRUNCATE


def on_dropped_branch(entry: Entry, head: Head | None, dropped_at: dict[int, EntryId]) -> bool:
    """Whether ``entry`` would start again a branch that a continuation dropped here.

    ``dropped_at`` maps each fork point where a continuation of the author truncated
    the receiver's copy of its log to the id of the entry it keeps there. Until that
    continuation is stored, the next entry appended at such a point must be the kept
    one: otherwise a sender still holding the dropped branch would bring it back at
    once (and a hostile author could truncate and restore it for ever).
    """
    keep = dropped_at.get(entry.seq)
    next_seq = 1 if head is None else head.seq + 1
    return keep is not None and entry.seq == next_seq and keep != entry.id


def superseded(entry: Entry, earlier: Fork | None, earlier_seq: int) -> bool:
    """Whether ``entry`` is one its author took back: numbered from the fork point of a
    held continuation up to that continuation. It is then neither stored nor evidence."""
    return earlier is not None and earlier.seq <= entry.seq < earlier_seq


# -- loose entries (docs/scale.md, Decision 1) ------------------------------------------


def judge_loose(entry: Entry, held_at_seq: Entry | None) -> Verdict:
    """Decide what to do with a verified ``entry`` kept loose: without its author's
    earlier entries, so neither the gap rule nor ``prev`` applies. ``held_at_seq`` is
    the entry held with the same author and number, if any (loose or in a whole log):
    the same one is a duplicate, another one an equivocation, as in :func:`judge`;
    otherwise APPEND means "store it, alone"."""
    if held_at_seq is None:
        return Verdict.APPEND
    return Verdict.DUPLICATE if held_at_seq.id == entry.id else Verdict.EQUIVOCATION


def joins_log(entry: Entry, head: Head | None) -> bool:
    """Whether a loose entry already held is the next entry of its author's log, now
    held whole (the author entered the horizon): it then joins the log as it is, with
    no need to fetch it again (it has the same id)."""
    expected = 1 if head is None else head.seq + 1
    return entry.seq == expected and (head is None or entry.payload.prev == head.id)
