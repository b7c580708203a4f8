"""Who may share a peer observation with us, and who may take it back.

An observation shared across two schools belongs to the observed teacher's
school: it sends the record to one partner school, and only it may take its copy
back. A copy names its school of origin; an id we hold for our own record, or
for another school's, is never overwritten or deleted by a letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused
from protocol.rules.mail import FIRST_YEAR, LAST_YEAR, in_years, to_us_alone


@dataclass(frozen=True, slots=True)
class HeldObservation:
    """The observation we hold under the letter's id."""

    origin: NodeId | None  # the school that shared it; None for our own record


def observation(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    held: HeldObservation | None,
    *,
    partner: bool,
    day: str,
    follow_up: str,
) -> Verdict:
    """A partner school shares one of its observations with us."""
    verdict = to_us_alone("observation", recipients, me)
    if verdict is not None:
        return verdict
    if held is not None and held.origin != author:
        return refused("an observation letter about another school's record")
    if not partner:
        return refused("an observation from a school that is not our partner")
    if not (in_years(day) and in_years(follow_up)):
        return Refusal(
            OUT_OF_BOUNDS, f"an observation dated outside the years {FIRST_YEAR} to {LAST_YEAR}"
        )
    if follow_up < day:  # ISO dates, checked by the schema, compare as text
        return Refusal(OUT_OF_BOUNDS, "an observation followed up before it took place")
    return None


def unshare(
    author: NodeId, me: NodeId, recipients: tuple[NodeId, ...], held: HeldObservation | None
) -> Verdict:
    """The school that shared an observation takes it back (even if no longer a partner)."""
    verdict = to_us_alone("observation-unshare", recipients, me)
    if verdict is not None:
        return verdict
    if held is not None and held.origin != author:
        return refused("an observation letter about another school's record")
    return None
