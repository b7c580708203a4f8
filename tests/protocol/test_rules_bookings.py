"""Bookings (a date proposed for an arrangement, its acceptance): every row of the rule table."""

from __future__ import annotations

import pytest

from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import bookings as rules
from protocol.rules.bookings import Arrangement, Proposal

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
IID, OTHER_IID = "a" * 32, "b" * 32
OURS = Arrangement(ME, THEM, "accepted", withdrawn=False, agreed=None)  # we sent the interest
THEIRS = Arrangement(THEM, ME, "accepted", withdrawn=False, agreed=None)  # they did
START, END = "2027-03-04T09:00+01:00", "2027-03-04T12:00+01:00"


@pytest.mark.parametrize(
    ("author", "recipients", "held", "existing", "times", "code"),
    [
        (THEM, (ME,), OURS, None, (START, END), None),
        (THEM, (ME,), THEIRS, None, (START, END), None),  # either school may propose
        (THEM, (ME,), OURS, Proposal(IID, THEM, (1, "c" * 32)), (START, END), None),  # again
        (THEM, (ME, OTHER), OURS, None, (START, END), REFUSED),  # copied to a third school
        (OTHER, (ME,), OURS, None, (START, END), REFUSED),  # not a party to the interest
        (ME, (ME,), OURS, None, (START, END), REFUSED),  # our own key, from elsewhere
        (THEM, (ME,), None, None, (START, END), REFUSED),  # no such interest
        (THEM, (ME,), Arrangement(ME, OTHER, "accepted", False, None), None, (START, END), REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "open", False, None), None, (START, END), REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "declined", False, None), None, (START, END), REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", True, None), None, (START, END), REFUSED),
        (
            THEM,
            (ME,),
            Arrangement(ME, THEM, "accepted", False, (1, "c" * 32)),
            None,
            (START, END),
            REFUSED,
        ),
        (THEM, (ME,), OURS, Proposal(OTHER_IID, THEM, (1, "c" * 32)), (START, END), REFUSED),
        (THEM, (ME,), OURS, Proposal(IID, ME, (1, "c" * 32)), (START, END), REFUSED),  # our id
        (THEM, (ME,), OURS, None, (END, START), OUT_OF_BOUNDS),  # ends before it starts
        (THEM, (ME,), OURS, None, (START, START), OUT_OF_BOUNDS),
        (THEM, (ME,), OURS, None, ("9999-03-04T09:00Z", "9999-03-04T10:00Z"), OUT_OF_BOUNDS),
    ],
)
def test_proposal(
    author: NodeId,
    recipients: tuple[NodeId, ...],
    held: Arrangement | None,
    existing: Proposal | None,
    times: tuple[str, str],
    code: str | None,
) -> None:
    verdict = rules.proposal(author, ME, recipients, IID, held, existing, *times)
    assert (verdict and verdict.code) == code


MINE = Proposal(IID, ME, (5, "c" * 32))


@pytest.mark.parametrize(
    ("author", "recipients", "held", "proposed", "code"),
    [
        (THEM, (ME,), OURS, MINE, None),
        (THEM, (ME,), THEIRS, MINE, None),
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", False, (5, "c" * 32)), MINE, None),  # again
        (
            THEM,
            (ME,),
            Arrangement(ME, THEM, "accepted", False, (4, "d" * 32)),
            MINE,
            None,
        ),  # crossed, ours newer
        (THEM, (ME, OTHER), OURS, MINE, REFUSED),
        (OTHER, (ME,), OURS, MINE, REFUSED),  # not a party
        (THEM, (ME,), OURS, None, REFUSED),  # no such proposal
        (THEM, (ME,), OURS, Proposal(OTHER_IID, ME, (5, "c" * 32)), REFUSED),  # another interest's
        (THEM, (ME,), OURS, Proposal(IID, THEM, (5, "c" * 32)), REFUSED),  # accepting its own
        (THEM, (ME,), Arrangement(ME, THEM, "declined", False, None), MINE, REFUSED),
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", True, None), MINE, REFUSED),  # withdrawn
        (THEM, (ME,), Arrangement(ME, THEM, "accepted", False, (6, "d" * 32)), MINE, REFUSED),
    ],
)
def test_acceptance(
    author: NodeId,
    recipients: tuple[NodeId, ...],
    held: Arrangement | None,
    proposed: Proposal | None,
    code: str | None,
) -> None:
    verdict = rules.acceptance(author, ME, recipients, IID, held, proposed)
    assert (verdict and verdict.code) == code


def _h(n: int, who: NodeId, state: str) -> rules.Held:
    return rules.Held(f"{n:032x}", who, (n, f"{n:032x}"), state)


@pytest.mark.parametrize(
    ("held", "new", "store", "is_open", "supersede", "delete"),
    [
        ((), _h(1, THEM, "open"), True, True, (), ()),  # the first
        ((_h(1, THEM, "open"),), _h(2, THEM, "open"), True, True, (), (1,)),  # replaced: gone
        ((_h(1, ME, "open"),), _h(2, THEM, "open"), True, True, (1,), ()),  # ours is kept
        ((_h(2, ME, "open"),), _h(1, THEM, "open"), False, False, (), ()),  # older: not kept
        ((_h(1, THEM, "open"),), _h(2, ME, "open"), True, True, (), (1,)),  # we replace theirs
        ((_h(2, THEM, "open"),), _h(1, ME, "open"), True, False, (), ()),  # ours, older: kept
        ((_h(1, THEM, "agreed"),), _h(2, THEM, "open"), True, True, (), ()),  # agreed stays
        (  # ours beyond OWN_KEPT: the oldest goes
            (*(_h(n, ME, "superseded") for n in range(1, rules.OWN_KEPT)), _h(20, ME, "open")),
            _h(21, ME, "open"),
            True,
            True,
            (20,),
            (1,),
        ),
    ],
)
def test_place(
    held: tuple[rules.Held, ...],
    new: rules.Held,
    store: bool,
    is_open: bool,
    supersede: tuple[int, ...],
    delete: tuple[int, ...],
) -> None:
    placed = rules.place(ME, held, new)
    assert placed.store is store
    assert placed.open is is_open
    assert placed.supersede == tuple(f"{n:032x}" for n in supersede)
    assert placed.delete == tuple(f"{n:032x}" for n in delete)


def test_place_bounds_what_is_kept() -> None:
    held: tuple[rules.Held, ...] = ()
    for n in range(1, 200):
        who = THEM if n % 3 else ME
        new = _h(n, who, "open")
        placed = rules.place(ME, held, new)
        states = {h.id: h.state for h in held if h.id not in placed.delete}
        states.update({i: "superseded" for i in placed.supersede})
        if placed.store:
            states[new.id] = "open" if placed.open else "superseded"
        held = tuple(
            _h(int(i, 16), ME if int(i, 16) % 3 == 0 else THEM, s) for i, s in states.items()
        )
        assert len(held) <= rules.OWN_KEPT + 1
        assert sum(h.state == "open" for h in held) == 1
