"""The project rules, row by row: who may send which project letter about what."""

from __future__ import annotations

import itertools

import pytest

from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.keys import NodeId
from protocol.letters import MAX_IMAGES, MEMBER_STATES
from protocol.rules import OUT_OF_BOUNDS, REFUSED, Verdict
from protocol.rules import projects as rules
from protocol.rules.projects import EARLIEST_MS, HeldItem, HeldProject, Tombstone

ME, OWNER, MEMBER, OTHER, STRANGER = (NodeId(bytes([n]) * 32) for n in range(1, 6))
P, Q = "a" * 32, "b" * 32
NOW = 1_800_000_000_000


def project(
    *, owner: NodeId = OWNER, standing: str = "member", rev: int = 5, **states: str
) -> HeldProject:
    members = {owner: "member", ME: standing, MEMBER: "member", OTHER: "member"}
    names = {"me": ME, "member": MEMBER, "other": OTHER}
    members.update({names[k]: v for k, v in states.items()})
    return HeldProject(owner, rev, standing, members)


def code(verdict: Verdict) -> str | None:
    return None if verdict is None else verdict.code


# -- times ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (EARLIEST_MS, None),
        (EARLIEST_MS - 1, OUT_OF_BOUNDS),
        (0, OUT_OF_BOUNDS),
        (NOW, None),
        (NOW + MAX_CLOCK_SKEW_MS, None),
        (NOW + MAX_CLOCK_SKEW_MS + 1, OUT_OF_BOUNDS),
        (2**53 - 1, OUT_OF_BOUNDS),
    ],
)
def test_times_are_bounded(at: int, expected: str | None) -> None:
    assert code(rules.at_in_bounds(at, NOW)) == expected


# -- project letters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed_me", "partner", "owner_listed", "expected"),
    [
        ("invited", True, "member", None),
        ("invited", False, "member", REFUSED),  # only a partner invites us
        ("member", True, "member", REFUSED),  # never enrolled without our own join
        ("left", True, "member", REFUSED),
        (None, True, "member", REFUSED),  # a letter that does not list us
        ("invited", True, "invited", REFUSED),  # its owner is not a member of it
        ("invited", True, None, REFUSED),
    ],
)
def test_a_project_we_do_not_hold_arrives_only_as_an_invitation(
    listed_me: str | None, partner: bool, owner_listed: str | None, expected: str | None
) -> None:
    listed = {MEMBER: "member"}
    if owner_listed is not None:
        listed[STRANGER] = owner_listed
    if listed_me is not None:
        listed[ME] = listed_me
    verdict = rules.project_letter(STRANGER, ME, listed=listed, rev=1, held=None, partner=partner)
    assert code(verdict) == expected


@pytest.mark.parametrize(
    ("author", "rev", "standing", "listed_me", "partner", "expected"),
    [
        (OWNER, 6, "member", "member", False, None),
        (OWNER, 6, "member", "invited", False, None),  # stays a member (standing_after)
        (OWNER, 5, "member", "member", True, REFUSED),  # not forward
        (OWNER, 1, "member", "member", True, REFUSED),
        (MEMBER, 6, "member", "member", True, REFUSED),  # only the owner revises
        (STRANGER, 6, "member", "member", True, REFUSED),
        (ME, 6, "member", "member", True, REFUSED),
        (OWNER, 6, "left", "invited", True, None),  # invited again
        (OWNER, 6, "left", "invited", False, REFUSED),  # ... by a partner only
        (OWNER, 6, "left", "member", False, None),  # allowed, but we stay 'left'
        (OWNER, 6, "invited", "member", False, None),  # allowed, but we stay 'invited'
        (OWNER, 6, "member", None, True, REFUSED),
    ],
)
def test_only_the_owner_revises_a_project_and_only_forward(
    author: NodeId,
    rev: int,
    standing: str,
    listed_me: str | None,
    partner: bool,
    expected: str | None,
) -> None:
    listed = {OWNER: "member", MEMBER: "member"}
    if listed_me is not None:
        listed[ME] = listed_me
    held = project(standing=standing)
    verdict = rules.project_letter(author, ME, listed=listed, rev=rev, held=held, partner=partner)
    assert code(verdict) == expected


@pytest.mark.parametrize(
    ("current", "listed"), list(itertools.product([None, *MEMBER_STATES], MEMBER_STATES))
)
def test_a_revision_never_makes_us_a_member_nor_takes_membership_away(
    current: str | None, listed: str
) -> None:
    after = rules.standing_after(current, listed)
    assert after in MEMBER_STATES
    assert (after == "member") == (current == "member")
    if current != "member" and listed == "invited":
        assert after == "invited"


@pytest.mark.parametrize(
    ("author", "held", "expected"),
    [
        (MEMBER, project(owner=ME, member="invited"), None),
        (MEMBER, project(owner=ME, member="member"), REFUSED),
        (MEMBER, project(owner=ME, member="left"), REFUSED),
        (STRANGER, project(owner=ME), REFUSED),
        (MEMBER, project(member="invited"), REFUSED),  # we do not own it
        (MEMBER, None, REFUSED),
    ],
)
def test_a_join_goes_to_the_owner_from_an_invited_school(
    author: NodeId, held: HeldProject | None, expected: str | None
) -> None:
    assert code(rules.join_letter(author, ME, held)) == expected


@pytest.mark.parametrize(
    ("author", "held", "expected"),
    [
        (MEMBER, project(), None),
        (MEMBER, project(member="invited"), None),
        (MEMBER, project(member="left"), None),  # again: it can overtake the revision
        (STRANGER, project(), REFUSED),
        (OWNER, project(), REFUSED),
        (MEMBER, None, REFUSED),
    ],
)
def test_a_leave_comes_from_a_school_in_the_project(
    author: NodeId, held: HeldProject | None, expected: str | None
) -> None:
    assert code(rules.leave_letter(author, held)) == expected


# -- posts, comments, photos ------------------------------------------------------------

MEMBERSHIP = [
    (MEMBER, project(), None),
    (OWNER, project(), None),
    (STRANGER, project(), REFUSED),
    (MEMBER, project(member="invited"), REFUSED),
    (MEMBER, project(member="left"), REFUSED),
    (MEMBER, project(standing="left"), REFUSED),  # we left it
    (MEMBER, project(standing="invited"), REFUSED),  # we have not joined
    (MEMBER, None, REFUSED),
]


def post_of(origin: NodeId = MEMBER, pid: str = P) -> HeldItem:
    return HeldItem(rules.POST, pid, origin, OWNER)


def comment_of(origin: NodeId = MEMBER, pid: str = P, on: str = "c" * 32) -> HeldItem:
    return HeldItem(rules.COMMENT, pid, origin, OWNER, on)


@pytest.mark.parametrize(("author", "held", "expected"), MEMBERSHIP)
def test_posts_come_from_current_members_of_a_project_we_are_in(
    author: NodeId, held: HeldProject | None, expected: str | None
) -> None:
    verdict = rules.post_letter(author, P, at=NOW, held=held, existing=None, now=NOW)
    assert code(verdict) == expected


@pytest.mark.parametrize(
    ("existing", "at", "expected"),
    [
        (None, NOW, None),
        (post_of(), NOW, None),  # the same post again
        (post_of(origin=OTHER), NOW, REFUSED),  # another school's id
        (post_of(pid=Q), NOW, REFUSED),  # held in another project
        (comment_of(), NOW, REFUSED),  # a comment's id
        (None, 2**53 - 1, OUT_OF_BOUNDS),
        (None, 0, OUT_OF_BOUNDS),
    ],
)
def test_a_post_takes_no_id_held_elsewhere_and_no_time_out_of_bounds(
    existing: HeldItem | None, at: int, expected: str | None
) -> None:
    verdict = rules.post_letter(MEMBER, P, at=at, held=project(), existing=existing, now=NOW)
    assert code(verdict) == expected


@pytest.mark.parametrize(("author", "held", "expected"), MEMBERSHIP)
def test_comments_come_from_current_members_of_a_project_we_are_in(
    author: NodeId, held: HeldProject | None, expected: str | None
) -> None:
    verdict = rules.comment_letter(
        author, P, post="c" * 32, at=NOW, held=held, existing=None, on=None, now=NOW
    )
    assert code(verdict) == expected


ON = "c" * 32


@pytest.mark.parametrize(
    ("existing", "on", "at", "expected"),
    [
        (None, post_of(origin=OTHER), NOW, None),  # on another member's post
        (None, None, NOW, None),  # the post has not reached us yet
        (None, post_of(pid=Q), NOW, REFUSED),  # a post of another project
        (None, comment_of(), NOW, REFUSED),  # "post" names a comment
        (comment_of(on=ON), post_of(), NOW, None),  # the same comment again
        (comment_of(origin=OTHER, on=ON), post_of(), NOW, REFUSED),
        (comment_of(pid=Q, on=ON), None, NOW, REFUSED),
        (comment_of(on="d" * 32), post_of(), NOW, REFUSED),  # moved to another post
        (post_of(), post_of(), NOW, REFUSED),  # a post's id
        (None, post_of(), 2**53 - 1, OUT_OF_BOUNDS),
        (None, post_of(), EARLIEST_MS - 1, OUT_OF_BOUNDS),
    ],
)
def test_a_comment_goes_on_a_post_of_its_own_project(
    existing: HeldItem | None, on: HeldItem | None, at: int, expected: str | None
) -> None:
    verdict = rules.comment_letter(
        MEMBER, P, post=ON, at=at, held=project(), existing=existing, on=on, now=NOW
    )
    assert code(verdict) == expected


H1, H2 = b"\x01" * 32, b"\x02" * 32


@pytest.mark.parametrize(("author", "held", "expected"), MEMBERSHIP)
def test_photos_come_from_current_members_of_a_project_we_are_in(
    author: NodeId, held: HeldProject | None, expected: str | None
) -> None:
    verdict = rules.image_letter(author, P, digest=H1, held=held, post=None, hashes=frozenset())
    assert code(verdict) == expected


@pytest.mark.parametrize(
    ("post", "hashes", "expected"),
    [
        (None, frozenset(), None),  # ahead of its post, as sealed
        (None, frozenset({H1}), None),
        (None, frozenset(bytes([n]) * 32 for n in range(10, 10 + MAX_IMAGES)), OUT_OF_BOUNDS),
        (post_of(), frozenset({H1, H2}), None),  # a listed photo again
        (post_of(), frozenset({H2}), REFUSED),  # not listed by the post
        (post_of(origin=OTHER), frozenset({H1}), REFUSED),  # another school's post
        (post_of(pid=Q), frozenset({H1}), REFUSED),  # a post of another project
        (comment_of(), frozenset({H1}), REFUSED),
    ],
)
def test_a_photo_goes_with_its_authors_own_post(
    post: HeldItem | None, hashes: frozenset[bytes], expected: str | None
) -> None:
    verdict = rules.image_letter(MEMBER, P, digest=H1, held=project(), post=post, hashes=hashes)
    assert code(verdict) == expected


# -- takedowns and receipts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "named", "target", "expected"),
    [
        (MEMBER, P, post_of(), None),  # its own school
        (OWNER, P, post_of(), None),  # the owner of its project
        (OWNER, P, comment_of(), None),
        (MEMBER, P, comment_of(), None),
        (OTHER, P, post_of(), REFUSED),  # a member that neither wrote it nor owns it
        (OTHER, P, comment_of(), REFUSED),
        (STRANGER, P, post_of(), REFUSED),
        # Owning the project it names gives no power over a target of another project.
        (OTHER, Q, post_of(), REFUSED),
        (OWNER, Q, post_of(), REFUSED),
        (MEMBER, Q, post_of(), REFUSED),  # even its writer names its own project
        (OWNER, P, None, None),  # not here yet: a tombstone, in the named project
        (MEMBER, P, None, REFUSED),
        (OTHER, Q, None, None),  # OTHER owns Q (below): a tombstone in Q, erasing nothing
        (STRANGER, "e" * 32, None, REFUSED),  # a project we do not hold
    ],
)
def test_a_takedown_is_judged_by_the_targets_own_project_and_school(
    author: NodeId, named: str, target: HeldItem | None, expected: str | None
) -> None:
    held = {P: project(), Q: project(owner=OTHER)}
    verdict = rules.takedown_letter(author, named, target=target, named=held.get(named))
    assert code(verdict) == expected


@pytest.mark.parametrize(
    ("author", "named", "tomb", "expected"),
    [
        (MEMBER, P, Tombstone(P, ME, frozenset({MEMBER, OTHER})), None),
        (STRANGER, P, Tombstone(P, ME, frozenset({MEMBER, OTHER})), REFUSED),
        (MEMBER, Q, Tombstone(P, ME, frozenset({MEMBER})), REFUSED),
        (MEMBER, P, Tombstone(P, OWNER, None), REFUSED),  # taken down by another school
        (MEMBER, P, Tombstone(P, ME, None), REFUSED),
        (MEMBER, P, None, REFUSED),
    ],
)
def test_a_receipt_comes_from_a_school_we_asked(
    author: NodeId, named: str, tomb: Tombstone | None, expected: str | None
) -> None:
    assert code(rules.receipt_letter(author, ME, named, tomb)) == expected


# -- the states of a post or comment, and the moves between them (issue 21, item 1) ----

S = rules.PostState
M = rules.Move

#: Every (state, move) pair with what the table must say: the state after, or None.
POST_TABLE = [
    (S.DRAFT, M.REVISE, S.DRAFT),
    (S.DRAFT, M.RETURN, S.RETURNED),
    (S.DRAFT, M.APPROVE, S.APPROVED),
    (S.DRAFT, M.TAKE_DOWN, S.REMOVED),
    (S.RETURNED, M.REVISE, S.DRAFT),
    (S.RETURNED, M.RETURN, None),  # already with the pupil
    (S.RETURNED, M.APPROVE, S.APPROVED),
    (S.RETURNED, M.TAKE_DOWN, S.REMOVED),
    (S.APPROVED, M.REVISE, None),  # sent to partners: it cannot change any more
    (S.APPROVED, M.RETURN, None),
    (S.APPROVED, M.APPROVE, None),  # approved twice would be sent twice
    (S.APPROVED, M.TAKE_DOWN, S.REMOVED),
    (S.REMOVED, M.REVISE, None),  # nothing comes back from a takedown
    (S.REMOVED, M.RETURN, None),
    (S.REMOVED, M.APPROVE, None),
    (S.REMOVED, M.TAKE_DOWN, None),
]
COMMENT_TABLE = [
    (S.DRAFT, M.APPROVE, S.APPROVED),
    (S.DRAFT, M.TAKE_DOWN, S.REMOVED),
    (S.DRAFT, M.RETURN, None),  # comments are never returned
    (S.DRAFT, M.REVISE, None),
    (S.RETURNED, M.APPROVE, None),  # no comment is ever returned
    (S.APPROVED, M.APPROVE, None),
    (S.APPROVED, M.TAKE_DOWN, S.REMOVED),
    (S.REMOVED, M.APPROVE, None),
    (S.REMOVED, M.TAKE_DOWN, None),
]


@pytest.mark.parametrize(("state", "move", "after"), POST_TABLE)
def test_post_moves(state: rules.PostState, move: rules.Move, after: S | None) -> None:
    assert rules.post_after(state, move) == after


@pytest.mark.parametrize(("state", "move", "after"), COMMENT_TABLE)
def test_comment_moves(state: rules.PostState, move: rules.Move, after: S | None) -> None:
    assert rules.comment_after(state, move) == after


def test_the_post_table_covers_every_state_and_move() -> None:
    assert {(s, m) for s, m, _ in POST_TABLE} == set(itertools.product(S, M))


def test_states_are_stored_as_the_words_the_database_holds() -> None:
    assert [str(s) for s in S] == ["draft", "returned", "approved", "removed"]
    assert S("returned") is S.RETURNED
    assert frozenset(s for s in S if rules.post_after(s, M.APPROVE)) == rules.WAITING
