"""Who may propose a date for an arrangement, and who may accept it.

An arrangement is an accepted interest between two schools: the one that sent the
interest and the one that posted the offer or request. Either of the two may
propose a date (``booking``); only the other may accept it (``booking-accept``),
and both letters name the other school alone. Nothing is booked on an interest
that was not accepted, nor after the offer or request was withdrawn, nor (for a
proposal) once a date is agreed.

Proposals are ordered by (time, id): the newest replaces the others at both
schools. An acceptance of any proposal that the receiving school made stands,
even one it has since replaced, and of two acceptances that cross, the newer
proposal wins at both ends, so two letters crossing end in the same agreed date
(docs/decisions.md, "Bookings").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.mail import FIRST_YEAR, LAST_YEAR, in_years, to_us_alone

#: A proposal's place in the order: its letter's time, then its id.
Order = tuple[int, str]


@dataclass(frozen=True, slots=True)
class Arrangement:
    """The interest a booking letter names, as we hold it."""

    sender: NodeId  # the interested school
    poster: NodeId  # the school that posted the offer or request
    state: str  # open, accepted or declined
    withdrawn: bool  # the offer or request was withdrawn
    agreed: Order | None  # the agreed proposal, if a date is agreed


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal we hold under the letter's proposal id."""

    interest: str
    proposer: NodeId
    order: Order


def _party(author: NodeId, me: NodeId, held: Arrangement | None) -> Verdict:
    if held is None or author == me or {author, me} != {held.sender, held.poster}:
        return refused("a booking letter about an interest between other schools")
    if held.state != "accepted":
        return refused("a booking letter about an interest that was not accepted")
    if held.withdrawn:
        return refused("a booking letter about an offer or request that was withdrawn")
    return None


def proposal(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    interest: str,
    held: Arrangement | None,
    existing: Proposal | None,
    start: str,
    end: str,
) -> Verdict:
    """A date proposed by the other school of one of our arrangements."""
    verdict = to_us_alone("booking", recipients, me) or _party(author, me, held)
    if verdict is not None:
        return verdict
    if existing is not None:
        if existing.interest != interest or existing.proposer != author:
            return refused("a proposal reusing another proposal's id")
        return None  # the same proposal again
    if held is not None and held.agreed is not None:
        return refused("a date proposed after a date was agreed")
    if not (in_years(start) and in_years(end)):
        return Refusal(OUT_OF_BOUNDS, f"a date outside the years {FIRST_YEAR} to {LAST_YEAR}")
    if _instant(end) <= _instant(start):
        return Refusal(OUT_OF_BOUNDS, "a proposed date that ends before it starts")
    return None


def acceptance(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    interest: str,
    held: Arrangement | None,
    proposed: Proposal | None,
) -> Verdict:
    """The other school accepts a date that this school proposed."""
    verdict = to_us_alone("booking-accept", recipients, me) or _party(author, me, held)
    if verdict is not None:
        return verdict
    if proposed is None or proposed.interest != interest:
        return refused("an acceptance of a proposal this school does not hold for that interest")
    if proposed.proposer != me:
        return refused("an acceptance of a proposal this school did not make")
    if held is not None and held.agreed is not None and proposed.order < held.agreed:
        return refused("an acceptance of an older proposal after a newer date was agreed")
    return None


def _instant(text: str) -> datetime:
    # The schema has checked it: a real date and time with its offset.
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
