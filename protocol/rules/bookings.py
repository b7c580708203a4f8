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

What is kept of an interest's proposals is bounded (:func:`place`): the other school's
proposals are kept only while open or agreed (a newer one, from either school,
supersedes the open one and the superseded one is deleted), and ours, which an
acceptance may still name after we replaced them, only the newest
:data:`OWN_KEPT`. So a school cannot fill our database by proposing date after date.
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


#: How many of our own proposals of one interest are kept (the newest): an acceptance
#: may name one we have since replaced, but not one we replaced this many times over.
OWN_KEPT = 10


@dataclass(frozen=True, slots=True)
class Held:
    """A proposal of one interest as held, with its state: open, superseded or agreed."""

    id: str
    proposer: NodeId
    order: Order
    state: str


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a proposal goes among those held of its interest."""

    store: bool  # keep the new proposal
    open: bool  # as the open one (else superseded)
    supersede: tuple[str, ...]  # held proposals that were open until now
    delete: tuple[str, ...]  # held proposals not kept any more


def place(me: NodeId, held: tuple[Held, ...], new: Held) -> Placement:
    """Place an accepted proposal (ours or the other school's) among the ``held`` ones of
    its interest: the newest by (time, id) is open, the others superseded; superseded
    proposals of the other school are deleted (the new one too, then not stored), and of
    ours only the newest :data:`OWN_KEPT` are kept."""
    opened = [h for h in held if h.state == "open"]
    is_open = all(new.order > h.order for h in opened)
    replaced = tuple(h.id for h in opened) if is_open else ()
    after = [
        Held(h.id, h.proposer, h.order, "superseded" if h.id in replaced else h.state) for h in held
    ]
    after.append(Held(new.id, new.proposer, new.order, "open" if is_open else "superseded"))
    drop = {h.id for h in after if h.proposer != me and h.state == "superseded"}
    ours = sorted(
        (h for h in after if h.proposer == me and h.state == "superseded"),
        key=lambda h: h.order,
        reverse=True,
    )
    own_open_or_agreed = sum(1 for h in after if h.proposer == me and h.state != "superseded")
    drop.update(h.id for h in ours[max(0, OWN_KEPT - own_open_or_agreed) :])
    return Placement(
        store=new.id not in drop,
        open=is_open,
        supersede=tuple(i for i in replaced if i not in drop),
        delete=tuple(h.id for h in held if h.id in drop),
    )


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
