"""Who may send interest in an offer or request, and who may answer it.

An interest goes from the interested school to the school that posted the entry,
and the answer comes back from that school only; both letters name the other
school alone. Judged against what the receiver holds: the entry (ours, an offer
or request, not withdrawn) and the interest under the id the letter names.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import kinds
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.mail import FIRST_YEAR, LAST_YEAR, in_years, to_us_alone


@dataclass(frozen=True, slots=True)
class EntryView:
    """The public entry an interest names, as we hold it."""

    author: NodeId
    kind: str
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class InterestView:
    """An interest we hold under the letter's id, sent or received."""

    sender: NodeId  # the interested school
    poster: NodeId  # the school that posted the entry, and answers
    state: str  # open, accepted or declined


def interest(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    entry: EntryView | None,
    held: InterestView | None,
) -> Verdict:
    """An interest in one of our offers or requests, from the school that is interested."""
    verdict = to_us_alone("interest", recipients, me)
    if verdict is not None:
        return verdict
    if entry is None or entry.author != me or entry.kind not in (kinds.OFFER, kinds.REQUEST):
        return refused("an interest in an entry that is not one of ours")
    if entry.withdrawn:
        return refused("an interest in an offer or request this school withdrew")
    if held is not None and held.sender != author:
        return refused("an interest reusing another interest's id")
    return None


def answer(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    held: InterestView | None,
    given: str,
    starts: str | None,
    ends: str | None,
) -> Verdict:
    """An answer to an interest we sent, from the school we sent it to (the entry's own)."""
    verdict = to_us_alone("interest-answer", recipients, me)
    if verdict is not None:
        return verdict
    if held is None or held.sender != me or held.poster != author:
        return refused("an answer to an interest this school did not send to that school")
    if held.state not in ("open", given):
        return refused(f"an answer to an interest already {held.state}")
    if not all(in_years(day) for day in (starts, ends) if day is not None):
        return Refusal(
            OUT_OF_BOUNDS, f"an arrangement outside the years {FIRST_YEAR} to {LAST_YEAR}"
        )
    if starts is not None and ends is not None and ends < starts:
        # ISO dates compare as text; the schema has already checked they are real dates.
        return Refusal(OUT_OF_BOUNDS, "an arrangement whose last day is before its first")
    return None
