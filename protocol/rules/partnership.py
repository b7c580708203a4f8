"""Who may ask this school to partner, and who may answer a request it sent.

A partnership request goes from the asking school to one school it holds a
profile of and is not partnered with; the answer (accepted or declined) comes
back from that school only, while the request is open and not expired. Both
letters name the other school alone. A school may ask us at most once in
:data:`MONTH_MS` (counted by our clock, so a back-dated letter gains nothing),
and an acceptance partners us only with a school we asked: one for a request we
did not send, sent to another school, already answered or expired, is refused.

Against throwaway keys filling the admin's list: a request is taken only from a
school whose profile we hold (it is in our directory, so the admin can see who
asks), only while fewer than :data:`MAX_OPEN_RECEIVED` received requests are open
(a new one beyond is refused, so what the admin already sees never disappears), and
only if the asking school signed it less than :data:`EXPIRY_MS` ago (it had expired
at the asker). Received requests that expired unanswered are deleted
(:func:`purgeable`). An answer signed after the request expired is refused, even if
it reaches us in time by our clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import letters
from protocol.keys import NodeId
from protocol.rules import Verdict, refused
from protocol.rules.mail import to_us_alone

DAY_MS = 86_400_000
#: A request not answered within this time expires (both ends see it expired).
EXPIRY_MS = 30 * DAY_MS
#: At most one request from the same school in this time (no spam).
MONTH_MS = 30 * DAY_MS
#: At most this many received requests open at once (unanswered, not expired).
MAX_OPEN_RECEIVED = 50


@dataclass(frozen=True, slots=True)
class RequestView:
    """A partnership request we hold under the letter's id, sent or received."""

    school: NodeId  # the other school
    direction: str  # "sent" or "received"
    state: str  # open, accepted or declined
    at: int  # when we sent it, or received it (our clock), ms since 1970


def expired(view: RequestView, now: int) -> bool:
    """Open, and older than :data:`EXPIRY_MS`: nobody can answer it any more."""
    return view.state == "open" and now - view.at > EXPIRY_MS


def purgeable(view: RequestView, now: int) -> bool:
    """A received request that expired unanswered: deleted (nobody can answer it, and
    kept it would fill the admin's list)."""
    return view.direction == "received" and expired(view, now)


def request(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    held: RequestView | None,
    last_from_author: int | None,
    partner_state: str | None,
    now: int,
    *,
    profile_held: bool,
    open_received: int,
    signed_at: int,
) -> Verdict:
    """A request to partner with us from ``author``.

    ``held``: the request we hold under the letter's id; ``last_from_author``: when
    we received the newest other request from ``author``; ``partner_state``: our
    record of ``author`` ("partner", "blocked" or None); ``profile_held``: whether we
    hold a profile of ``author``; ``open_received``: how many received requests are
    open and not expired here; ``signed_at``: the letter's signed time."""
    verdict = to_us_alone(letters.PARTNER_REQUEST, recipients, me)
    if verdict is not None:
        return verdict
    if author == me:
        return refused("a partnership request from this school itself")
    if held is not None:
        if held.school != author or held.direction != "received":
            return refused("a partnership request reusing another request's id")
        return None  # the same request again: changes nothing
    if partner_state == "blocked":
        return refused("a partnership request from a school this school blocked")
    if partner_state == "partner":
        return refused("a partnership request from a school that is already a partner")
    if not profile_held:
        return refused(
            "a partnership request from a school whose profile has not reached this "
            "school (it is not in the directory)"
        )
    if last_from_author is not None and now - last_from_author < MONTH_MS:
        return refused("a second partnership request from the same school within a month")
    if now - signed_at > EXPIRY_MS:
        return refused("a partnership request signed more than 30 days ago: it has expired")
    if open_received >= MAX_OPEN_RECEIVED:
        return refused(
            f"a partnership request while {MAX_OPEN_RECEIVED} received requests are "
            "waiting for an answer here (the most kept at once)"
        )
    return None


def answer(
    author: NodeId,
    me: NodeId,
    recipients: tuple[NodeId, ...],
    held: RequestView | None,
    now: int,
    *,
    signed_at: int,
) -> Verdict:
    """An answer to a request we sent, from the school we sent it to, while it is open:
    neither received nor signed (``signed_at``, the letter's time) after it expired."""
    verdict = to_us_alone(letters.PARTNER_ANSWER, recipients, me)
    if verdict is not None:
        return verdict
    if held is None or held.direction != "sent" or held.school != author:
        return refused("an answer to a partnership request this school did not send to that school")
    if held.state != "open":
        return refused(f"an answer to a partnership request already {held.state}")
    if expired(held, now) or expired(held, signed_at):
        return refused("an answer to a partnership request that has expired")
    return None
