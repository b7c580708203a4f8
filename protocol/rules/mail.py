"""The rules every letter meets before its kind's own: blocked schools, and the letter's time.

A school we blocked is blocked for good: nothing it writes is taken, whether it
brings the envelope itself or a relay carries it, and we no longer hold its
envelopes for others (a relay that keeps a blocked school's letters would keep
its way into the network open). The refusal is the author's fault, not the
relay's: the mail room blames only a sender that brought its own envelope
(docs/protocol.md, "Mail", rule 4). The number is used all the same, so the
pair's mark moves on and the mail of that pair never stalls.

A letter's own time (``t``) is what the receiver stores as "sent at" or "answered
at"; like an envelope's, it may be at most :data:`MAX_CLOCK_SKEW_MS` ahead of our
clock, never refused for being old.
"""

from __future__ import annotations

from collections.abc import Set

from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.keys import NodeId
from protocol.rules import BLOCKED, OUT_OF_BOUNDS, Refusal, Verdict, refused

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_CLOCK_SKEW_MS",
    "hold_for_others",
    "in_years",
    "letter",
    "seal_for",
    "timestamp",
    "to_us_alone",
]

#: Dates and times in letters (events, arrangements, observations) must fall in these
#: years: no school plans beyond them, and year 9999 moved to a time zone east of UTC
#: overflows (a calendar export that fails at every school that holds the event).
FIRST_YEAR, LAST_YEAR = 1970, 2999


def letter(author: NodeId, blocked: Set[NodeId]) -> Verdict:
    """A letter to us, before it is opened: refused if its author (the sender) is blocked."""
    if author in blocked:
        return Refusal(BLOCKED, "its author is a school this school blocked")
    return None


def hold_for_others(sender: NodeId, blocked: Set[NodeId]) -> bool:
    """Whether we hold (as a relay) an envelope ``sender`` sealed for another school."""
    return sender not in blocked


def seal_for(recipient: NodeId, blocked: Set[NodeId]) -> bool:
    """Whether we seal our letters for ``recipient``: never for a school we blocked, whose
    key may be in the wrong hands (a relay would carry them to it all the same)."""
    return recipient not in blocked


def timestamp(at: int, now: int, what: str = "the letter's time") -> Verdict:
    """A time another school gives (milliseconds since 1970): not beyond our clock's skew."""
    if at > now + MAX_CLOCK_SKEW_MS:
        return Refusal(
            OUT_OF_BOUNDS,
            f"{what} is more than {MAX_CLOCK_SKEW_MS // 60_000} minutes ahead of this "
            "school's clock",
        )
    return None


def to_us_alone(kind: str, recipients: tuple[NodeId, ...], me: NodeId) -> Verdict:
    """Letters between two schools only (interest, answers, observations) name us alone.

    A copy to another school breaks the promise that only the two schools read it."""
    if recipients != (me,):
        return refused(f"a {kind} letter also sent to other schools")
    return None


def in_years(value: str) -> bool:
    """A date or date-time (checked by the schema: it starts YYYY-) in the allowed years."""
    return FIRST_YEAR <= int(value[:4]) <= LAST_YEAR
