"""Who may send which project letter about what (docs/security.md, "Projects").

A project belongs to the school that started it (its *owner*): only the owner
changes who is in it, and each school's standing is its own to change (a school
joins or leaves by its own letter; an owner can invite, never enrol). Posts,
comments and photos come only from current members, into the project they
name, under ids no other school or project already holds. A post or comment is
taken down only by the school that wrote it or by the owner of *its own*
project, whatever project the takedown letter names.

Each function takes the letter's author and the fields it needs, and small
views of what our node holds, and returns ``None`` (allowed) or a
:class:`~protocol.rules.Refusal`. A repeat of something we hold is allowed (it
changes nothing): letters are resent to schools that join late.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.keys import NodeId
from protocol.letters import MAX_IMAGES
from protocol.rules import OUT_OF_BOUNDS, Refusal, Verdict, refused

#: 2020-01-01T00:00:00Z in milliseconds: no project post or comment is older (the
#: network did not exist), and a time before it is a wrong or hostile value.
EARLIEST_MS = 1_577_836_800_000

POST = "post"
COMMENT = "comment"


class PostState(enum.StrEnum):
    """Where a post or comment stands at this school (stored as its value)."""

    DRAFT = "draft"  # written by a pupil, waits for a teacher of the same school
    RETURNED = "returned"  # a teacher sent it back with a note; the pupil may change it
    APPROVED = "approved"  # sealed and sent to the members (or received from one)
    REMOVED = "removed"  # taken down: words and photos erased, a tombstone kept


class Move(enum.Enum):
    """What a teacher, a pupil or a partner's letter does to a post or comment."""

    REVISE = "revise"  # the pupil changes a draft
    RETURN = "return"  # a teacher sends a draft back
    APPROVE = "approve"  # a teacher approves it: it is sealed and sent
    TAKE_DOWN = "take-down"  # its school, or the project's owner, takes it down


_S = PostState
#: Every move a post may make, from each state; a move not listed is refused.
POST_MOVES: Mapping[tuple[PostState, Move], PostState] = {
    (_S.DRAFT, Move.REVISE): _S.DRAFT,
    (_S.RETURNED, Move.REVISE): _S.DRAFT,
    (_S.DRAFT, Move.RETURN): _S.RETURNED,
    (_S.DRAFT, Move.APPROVE): _S.APPROVED,
    (_S.RETURNED, Move.APPROVE): _S.APPROVED,
    (_S.DRAFT, Move.TAKE_DOWN): _S.REMOVED,
    (_S.RETURNED, Move.TAKE_DOWN): _S.REMOVED,
    (_S.APPROVED, Move.TAKE_DOWN): _S.REMOVED,
}
#: A comment is never returned or revised: a teacher approves it or it stays a draft.
COMMENT_MOVES: Mapping[tuple[PostState, Move], PostState] = {
    (_S.DRAFT, Move.APPROVE): _S.APPROVED,
    (_S.DRAFT, Move.TAKE_DOWN): _S.REMOVED,
    (_S.APPROVED, Move.TAKE_DOWN): _S.REMOVED,
}
#: A post in these states waits for a teacher of its own school (and its pupil may change it).
WAITING: frozenset[PostState] = frozenset({_S.DRAFT, _S.RETURNED})
#: A comment in these states waits for a teacher of its own school: never sent, so
#: deleting it here (its pupil, or a teacher declining it) tells no other school anything.
COMMENT_WAITING: frozenset[PostState] = frozenset({_S.DRAFT})


def post_after(state: PostState, move: Move) -> PostState | None:
    """The state a post moves to, or None if this move is not allowed from ``state``."""
    return POST_MOVES.get((state, move))


def comment_after(state: PostState, move: Move) -> PostState | None:
    """The state a comment moves to, or None if this move is not allowed from ``state``."""
    return COMMENT_MOVES.get((state, move))


@dataclass(frozen=True, slots=True)
class HeldProject:
    """A project as our node holds it."""

    owner: NodeId
    rev: int
    standing: str  # our own: 'invited', 'member' or 'left'
    members: Mapping[NodeId, str]

    def state_of(self, school: NodeId) -> str | None:
        return self.members.get(school)


@dataclass(frozen=True, slots=True)
class HeldItem:
    """A post or comment our node holds (perhaps taken down: only its row stays)."""

    kind: str  # POST or COMMENT
    project: str
    origin: NodeId  # the school that wrote it
    owner: NodeId | None  # the owner of its project
    post: str | None = None  # for a comment: the post it is on


@dataclass(frozen=True, slots=True)
class Tombstone:
    """What stays of a post or comment taken down."""

    project: str
    by: NodeId
    asked: frozenset[NodeId] | None  # whom we asked for receipts, when we took it down


def at_in_bounds(at: int, now: int) -> Verdict:
    """A post's or comment's time: not before 2020, not ahead of our clock past the skew."""
    if at < EARLIEST_MS:
        return Refusal(OUT_OF_BOUNDS, f"'at' {at} is before 2020-01-01")
    if at > now + MAX_CLOCK_SKEW_MS:
        return Refusal(
            OUT_OF_BOUNDS,
            f"'at' {at} is more than {MAX_CLOCK_SKEW_MS // 60_000} minutes ahead of our clock",
        )
    return None


def _as_member(author: NodeId, kind: str, held: HeldProject | None) -> Verdict:
    """Posts, comments and photos: into a project we are in, from a current member."""
    if held is None:
        return refused(f"a {kind} letter about a project we do not hold")
    if held.standing != "member":
        return refused(f"a {kind} letter about a project we are not a member of")
    if held.state_of(author) != "member":
        return refused(f"a {kind} letter from a school that is not a member of the project")
    return None


# -- membership ---------------------------------------------------------------------


def project_letter(
    author: NodeId,
    me: NodeId,
    *,
    listed: Mapping[NodeId, str],
    rev: int,
    held: HeldProject | None,
    partner: bool,
) -> Verdict:
    """A project's member list: from its owner, only forward, never enrolling us.

    A project we do not hold arrives only as an invitation (we are listed
    ``invited``) from one of our partner schools, which becomes its owner here: an
    id is bound to the first owner we hear it from. An invitation again after we
    left also needs the owner to be our partner still.
    """
    if held is not None and author != held.owner:
        return refused("a project letter from a school that does not own the project")
    if held is not None and rev <= held.rev:
        return refused(f"an old revision {rev} of a project we hold at revision {held.rev}")
    if listed.get(author) != "member":
        return refused("a project letter that does not list its owner as a member")
    mine = listed.get(me)
    if mine is None:
        return refused("a project letter that does not list us")
    if held is None:
        if mine != "invited":
            return refused(f"a project we never joined lists us as {mine!r}, not invited")
        if not partner:
            return refused("an invitation to a project from a school that is not our partner")
    elif held.standing == "left" and mine == "invited" and not partner:
        return refused("an invitation to a project from a school that is not our partner")
    return None


def standing_after(current: str | None, listed: str) -> str:
    """Our own standing after an owner's revision that lists us as ``listed``.

    Only our staff make us a member (by joining) or leave; the owner can only
    invite us, or withdraw an invitation we did not take up. So a revision never
    makes us a member, and never takes membership away.
    """
    if current == "member":
        return "member"
    if listed == "invited":
        return "invited"
    if current == "invited" and listed == "left":
        return "left"
    return current or "invited"


def join_letter(author: NodeId, me: NodeId, held: HeldProject | None) -> Verdict:
    """A join: to the owner (us), from a school it invited."""
    if held is None:
        return refused("a project-join letter about a project we do not hold")
    if held.owner != me:
        return refused("a project-join letter about a project we do not own")
    if held.state_of(author) != "invited":
        return refused("a project-join letter from a school that is not invited")
    return None


def leave_letter(author: NodeId, held: HeldProject | None) -> Verdict:
    """A leave: from a school listed in the project, never its owner.

    One that left already may say so again: its letter can reach a member after
    the owner's revision that says it left."""
    if held is None:
        return refused("a project-leave letter about a project we do not hold")
    if author == held.owner:
        return refused("a project-leave letter from the project's owner")
    if held.state_of(author) is None:
        return refused("a project-leave letter from a school that is not in the project")
    return None


# -- posts, comments, photos --------------------------------------------------------------


def post_letter(
    author: NodeId,
    project: str,
    *,
    at: int,
    held: HeldProject | None,
    existing: HeldItem | None,
    now: int,
) -> Verdict:
    """A post: from a member, in bounds, under an id no other school or project holds."""
    verdict = _as_member(author, POST, held) or at_in_bounds(at, now)
    if verdict is not None:
        return verdict
    if existing is not None and (
        existing.kind != POST or existing.origin != author or existing.project != project
    ):
        return refused(f"a post whose id we hold as another school's or project's {existing.kind}")
    return None


def comment_letter(
    author: NodeId,
    project: str,
    *,
    post: str,
    at: int,
    held: HeldProject | None,
    existing: HeldItem | None,
    on: HeldItem | None,
    now: int,
) -> Verdict:
    """A comment: from a member, in bounds, on a post of the same project.

    A comment on a post we do not hold yet is allowed: a school that joins late
    gets each member's work from that member, in no set order. It shows only once
    the post arrives in the same project (the node drops it otherwise).
    """
    verdict = _as_member(author, COMMENT, held) or at_in_bounds(at, now)
    if verdict is not None:
        return verdict
    if on is not None and (on.kind != POST or on.project != project):
        return refused("a comment on a post of another project")
    if existing is not None and (
        existing.kind != COMMENT
        or existing.origin != author
        or existing.project != project
        or existing.post != post
    ):
        return refused(
            f"a comment whose id we hold as another school's or project's {existing.kind}"
        )
    return None


def image_letter(
    author: NodeId,
    project: str,
    *,
    digest: bytes,
    held: HeldProject | None,
    post: HeldItem | None,
    hashes: frozenset[bytes],
) -> Verdict:
    """A photo: from a member, for its own post in the same project.

    ``hashes`` are the photos we hold or expect for that post id. Photos are sealed
    before their post, so a photo for a post we do not hold yet is kept, up to
    the most a post can have; once the post arrives, only the photos it lists stay.
    """
    verdict = _as_member(author, "image", held)
    if verdict is not None:
        return verdict
    if post is not None:
        if post.kind != POST or post.origin != author or post.project != project:
            return refused("a photo for another school's or another project's post")
        if digest not in hashes:
            return refused("a photo that its post does not list")
    elif digest not in hashes and len(hashes) >= MAX_IMAGES:
        return Refusal(OUT_OF_BOUNDS, f"more than {MAX_IMAGES} photos for one post")
    return None


# -- takedowns and receipts -------------------------------------------------------------


def takedown_letter(
    author: NodeId,
    project: str,
    *,
    target: HeldItem | None,
    named: HeldProject | None,
) -> Verdict:
    """A takedown, judged against the target's own project and school.

    Only the school that wrote the post or comment, or the owner of the project it
    is in, may take it down, and the letter must name that project. For a target
    we do not hold (the owner's takedown can overtake the member's post), only the
    owner of the named project may leave a tombstone, so that a late copy in that
    project does not come back; such a tombstone erases nothing, and does not hold
    back a post or comment of another project.
    """
    if target is None:
        if named is None or named.owner != author:
            return refused(
                "a takedown of something we do not hold, from a school that "
                "does not own the project it names"
            )
        return None
    if target.project != project:
        return refused("a takedown naming another project than the target's own")
    if author not in (target.origin, target.owner):
        return refused("a takedown from a school that neither wrote it nor owns the project")
    return None


def receipt_letter(author: NodeId, me: NodeId, project: str, tomb: Tombstone | None) -> Verdict:
    """A receipt: for a takedown of ours, in that project, from a school we asked."""
    if tomb is None or tomb.by != me:
        return refused("a receipt for something we did not take down")
    if tomb.project != project:
        return refused("a receipt naming another project than the takedown's")
    if tomb.asked is None or author not in tomb.asked:
        return refused("a receipt from a school we did not ask")
    return None
