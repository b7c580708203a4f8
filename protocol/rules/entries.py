"""Public entries: what an entry of one school may do to what we hold.

Every entry is signed by its author and says things about its author only: a
``profile`` introduces the author, an ``offer``, ``request`` or ``event`` is the
author's own, and the two kinds that name another entry act only on the author's
own entries (docs/protocol.md, "Withdrawal" and "``event``"):

* a ``withdraw`` erases its target only if the target has the same author;
* an ``event`` whose ``replaces`` names an entry is a new version of it only if that
  entry is an ``event`` by the same author; otherwise it stands alone;
* a ``continue`` entry (protocol/log.py) is never erased by a withdrawal.

These two are rules about an entry's *effect*, not about storing it: the entry
stays in its author's log, because a node may receive the named entry before or
after it (over different paths), and every node must end with the same logs
whatever the order. Refusing the entry itself would break the author's log at
this node only, and then only when the target happened to arrive first.

Values are bounded when the entry is stored (:func:`bounds`): a value that every
node of this version refuses, whatever else it holds, is refused like a schema
error (code ``bad-field``), because a page or a calendar export could not show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from protocol import kinds
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused

#: The earliest and latest day an event may start or end on, as written. Python's
#: datetime, and many calendar programs, stop at the end of year 9999, and an instant
#: past it broke every calendar export. A written time is within a day of UTC (its
#: offset is under 24 hours), and UTC within a day of any zone a calendar shows it
#: in, so a whole year of margin is plenty and easy to state; the first day keeps
#: times after the Unix epoch in every zone.
FIRST_EVENT_DAY = date(1970, 1, 2)
LAST_EVENT_DAY = date(9998, 12, 31)


@dataclass(frozen=True, slots=True)
class Held:
    """What we hold of an entry that another entry names: its author and kind."""

    author: bytes
    kind: str


def withdrawal(author: bytes, target: Held | None) -> Verdict:
    """Whether a ``withdraw`` by ``author`` erases ``target``.

    A target we do not hold yet is allowed: the node remembers the pair (target id,
    author) and erases the target when it arrives, only if it has the same author.
    """
    if target is not None and target.author != author:
        return refused("a withdrawal names another school's entry: only the author may")
    if target is not None and target.kind == kinds.CONTINUE:
        # Its content is the fork it settled: erased, it could be reopened (protocol/log.py).
        return refused("a continuation after a fork cannot be withdrawn")
    return None


def erasable(kind: str) -> bool:
    """Whether a remembered withdrawal may erase an entry of ``kind`` when it arrives
    (never a continuation: see :func:`withdrawal`)."""
    return kind != kinds.CONTINUE


def revision(author: bytes, replaced: Held | None) -> Verdict:
    """Whether an ``event`` by ``author`` whose ``replaces`` names ``replaced`` is a
    new version of it (otherwise it is an event of its own)."""
    if replaced is None:
        return refused("the event it replaces is not held")
    if replaced.author != author:
        return refused("an event names another school's event as its earlier version")
    if replaced.kind != kinds.EVENT:
        return refused("an event names an entry that is not an event as its earlier version")
    return None


def bounds(kind: str, content: Mapping[str, Any] | None) -> Verdict:
    """Refuse values within their schema that no page or export could show."""
    if kind != kinds.EVENT or content is None:
        return None
    for name in ("start", "end"):
        value = content.get(name)
        if not isinstance(value, str):
            continue  # the schema says what is wrong
        try:
            day = datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            continue
        if not FIRST_EVENT_DAY <= day <= LAST_EVENT_DAY:
            return Refusal(
                OUT_OF_BOUNDS,
                f"field {name!r}: must be a day from {FIRST_EVENT_DAY} to {LAST_EVENT_DAY}",
            )
    return None
