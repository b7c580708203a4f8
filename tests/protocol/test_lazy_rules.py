"""Table tests of protocol/rules/lazy.py: what a node does with a peer's ``have``,
``want`` and ``prune`` (docs/protocol.md, "Eager push and lazy announcements")."""

from __future__ import annotations

import pytest

from protocol.horizon import FETCH_AFTER_MS, Relay
from protocol.keys import NodeId
from protocol.rules.lazy import Fetches, fetch_due, serve

A, B, C = NodeId(b"a" * 32), NodeId(b"b" * 32), NodeId(b"c" * 32)


@pytest.mark.parametrize(
    ("announced", "held", "blocked", "asked", "expected"),
    [
        (5, 4, False, 0, 1000 + FETCH_AFTER_MS),  # lacking: fetch 2 s later
        (5, 5, False, 0, None),  # held already
        (5, 9, False, 0, None),  # held, and more
        (5, 0, True, 0, None),  # a blocked school's entries are never fetched
        (5, 0, False, 5, None),  # asked this peer for it already: once
        (5, 0, False, 7, None),  # asked for later ones already
        (6, 0, False, 5, 1000 + FETCH_AFTER_MS),  # a later number: asked again
        (0, 0, False, 0, None),  # announcing nothing
    ],
)
def test_fetch_due(
    announced: int, held: int, blocked: bool, asked: int, expected: int | None
) -> None:
    got = fetch_due(announced=announced, held=held, blocked=blocked, asked=asked, now_ms=1000)
    assert got == expected


@pytest.mark.parametrize(
    ("their_head", "our_head", "blocked", "expected"),
    [
        (0, 3, False, True),
        (2, 3, False, True),
        (3, 3, False, False),  # nothing to send: no graft either
        (9, 3, False, False),  # it claims more than we hold
        (0, 0, False, False),  # an author we do not hold
        (0, 3, True, False),  # a blocked school's entries are never served
    ],
)
def test_serve(their_head: int, our_head: int, blocked: bool, expected: bool) -> None:
    assert serve(their_head=their_head, our_head=our_head, blocked=blocked) is expected


def test_fetches_wait_then_ask_once_for_what_is_still_lacking() -> None:
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 3), (B, 2), (C, 1)], {A: 1, B: 2}, {C}, now_ms=1000)
    assert set(fetches.waiting) == {A}  # B held, C blocked
    assert fetches.due(1000 + FETCH_AFTER_MS - 1) == {}
    fetches.announce("p1", [(A, 4)], {A: 1}, set(), now_ms=1500)  # a later number: same time
    assert fetches.next_due() == 1000 + FETCH_AFTER_MS
    ready = fetches.due(1000 + FETCH_AFTER_MS)
    assert set(ready) == {A}
    assert fetches.wants(ready, {A: 2}, set(), 3000) == {"p1": [(A, 2)]}
    assert fetches.waiting == {}  # nobody else announced it: done
    # Announced again by the same peer, the same number: never asked twice.
    fetches.announce("p1", [(A, 4)], {A: 2}, set(), now_ms=5000)
    assert fetches.waiting == {}
    assert fetches.next_due() is None


def test_an_entry_announced_by_several_is_asked_of_one_then_the_next() -> None:
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 3)], {}, set(), now_ms=0)
    fetches.announce("p2", [(A, 3)], {}, set(), now_ms=100)
    fetches.announce("p3", [(A, 3)], {}, set(), now_ms=200)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), FETCH_AFTER_MS) == {
        "p1": [(A, 0)]  # the first announcer
    }
    assert fetches.due(FETCH_AFTER_MS) == {}  # waits for p1's answer
    later = 2 * FETCH_AFTER_MS
    assert fetches.wants(fetches.due(later), {}, set(), later) == {"p2": [(A, 0)]}
    # The third time it arrived meanwhile: nobody is asked, nothing waits.
    assert fetches.wants(fetches.due(3 * FETCH_AFTER_MS), {A: 3}, set(), 0) == {}
    assert fetches.waiting == {}


def test_the_peer_asked_last_time_is_asked_after_the_others() -> None:
    """We fetched an author's entry from p1 and are still only announced the next: p1's
    eager set had no room for us, so the next fetch (and graft) goes to another."""
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 1)], {}, set(), now_ms=0)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), 0) == {"p1": [(A, 0)]}
    fetches.announce("p1", [(A, 2)], {A: 1}, set(), now_ms=10_000)
    fetches.announce("p2", [(A, 2)], {A: 1}, set(), now_ms=10_001)
    ready = fetches.due(10_000 + FETCH_AFTER_MS)
    assert fetches.wants(ready, {A: 1}, set(), 0) == {"p2": [(A, 1)]}


def test_what_arrived_meanwhile_is_not_asked_for() -> None:
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 3), (B, 2)], {}, set(), now_ms=0)
    ready = fetches.due(FETCH_AFTER_MS)
    assert fetches.wants(ready, {A: 3, B: 1}, set(), 0) == {"p1": [(B, 1)]}
    fetches.announce("p1", [(C, 1)], {}, set(), now_ms=0)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, {C}, 0) == {}  # blocked meanwhile
    assert fetches.counts == {}


def test_what_waits_on_one_peer_is_bounded_and_crowds_out_no_other() -> None:
    """Past the bound, an announcement is asked for at once (once), not dropped."""
    fetches: Fetches[str] = Fetches(limit=2)
    now = fetches.announce("rogue", [(A, 1), (B, 1), (C, 1)], {C: 0}, set(), now_ms=0)
    assert (now, len(fetches.waiting)) == ([(C, 0)], 2)
    assert fetches.announce("rogue", [(A, 2)], {}, set(), now_ms=0) == []  # already waiting
    assert fetches.announce("rogue", [(C, 1)], {}, set(), now_ms=0) == []  # asked already
    assert fetches.announce("honest", [(C, 1)], {}, set(), now_ms=0) == []
    assert set(fetches.waiting) == {A, B, C}


def test_a_peer_gone_is_not_asked() -> None:
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 1), (B, 1)], {}, set(), now_ms=0)
    fetches.announce("p2", [(B, 1)], {}, set(), now_ms=0)
    fetches.forget("p1")
    assert set(fetches.waiting) == {B}
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), 0) == {"p2": [(B, 0)]}
    assert fetches.counts == {}


def test_the_numbers_asked_are_bounded() -> None:
    fetches: Fetches[str] = Fetches(limit=1)
    for n in range(10):
        author = NodeId(n.to_bytes(32, "big"))
        fetches.announce("p1", [(author, 1)], {}, set(), now_ms=0)
        fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), 0)
    assert len(fetches.asked) <= 4


def test_a_prune_for_an_author_never_relayed_creates_nothing() -> None:
    relay: Relay[str] = Relay()
    relay.prune("never", "p1")
    assert relay.eager == {}
    assert relay.known == {}


def test_a_peer_is_recorded_as_asked_for_what_it_announced_not_what_another_claimed() -> None:
    """A rogue announcing a huge number for an author cannot stop us fetching it from an
    honest peer: the honest peer is asked (and recorded as asked) for its own number,
    and its next announcement is asked for again."""
    fetches: Fetches[str] = Fetches()
    fetches.announce("honest", [(A, 6)], {}, set(), now_ms=0)
    fetches.announce("rogue", [(A, 2**53 - 1)], {}, set(), now_ms=1)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), FETCH_AFTER_MS) == {
        "honest": [(A, 0)]
    }
    assert fetches.asked[("honest", A)] == 6
    later = 2 * FETCH_AFTER_MS
    assert fetches.wants(fetches.due(later), {A: 6}, set(), later) == {"rogue": [(A, 6)]}
    assert fetches.waiting == {}
    fetches.announce("honest", [(A, 7)], {A: 6}, set(), now_ms=10_000)
    ready = fetches.due(10_000 + FETCH_AFTER_MS)
    assert fetches.wants(ready, {A: 6}, set(), 0) == {"honest": [(A, 6)]}


def test_a_peer_that_announced_less_than_we_hold_is_not_asked() -> None:
    """Two announcers: the one whose number we hold already is not asked for more."""
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 3)], {}, set(), now_ms=0)
    fetches.announce("p2", [(A, 5)], {}, set(), now_ms=1)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {A: 3}, set(), 0) == {"p2": [(A, 3)]}
    assert fetches.waiting == {}


def test_a_peer_announcing_more_while_waiting_may_be_asked_again() -> None:
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 3)], {}, set(), now_ms=0)
    fetches.announce("p2", [(A, 3)], {}, set(), now_ms=1)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), 0) == {"p1": [(A, 0)]}
    fetches.announce("p1", [(A, 4)], {A: 3}, set(), now_ms=10)  # it sent 3, has 4 now
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {A: 3}, set(), 0) == {"p1": [(A, 3)]}
    assert fetches.asked[("p1", A)] == 4


def test_a_session_ended_clears_what_its_peer_was_asked() -> None:
    """The next session's announcements are asked for afresh (a session's end is the
    only time we know the peer may have forgotten what it was asked)."""
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 3)], {}, set(), now_ms=0)
    assert fetches.wants(fetches.due(FETCH_AFTER_MS), {}, set(), 0) == {"p1": [(A, 0)]}
    fetches.forget("p1")
    assert fetches.asked == {}
    assert fetches.last == {}
    fetches.announce("p1", [(A, 3)], {}, set(), now_ms=10)
    assert set(fetches.waiting) == {A}


def test_a_want_not_sent_is_not_recorded_as_asked() -> None:
    fetches: Fetches[str] = Fetches(limit=0)
    assert fetches.announce("p1", [(A, 1)], {}, set(), now_ms=0) == [(A, 0)]
    fetches.unask("p1", [A])  # the queue to p1 was full
    assert fetches.announce("p1", [(A, 1)], {}, set(), now_ms=0) == [(A, 0)]


def test_fetches_that_could_not_be_made_are_put_off() -> None:
    fetches: Fetches[str] = Fetches()
    fetches.announce("p1", [(A, 1)], {}, set(), now_ms=0)
    fetches.announce("p1", [(B, 1)], {}, set(), now_ms=10_000)
    fetches.postpone(5_000, FETCH_AFTER_MS)
    assert {a: w.due for a, w in fetches.waiting.items()} == {
        A: 5_000 + FETCH_AFTER_MS,  # was due: put off
        B: 10_000 + FETCH_AFTER_MS,  # not due yet: unchanged
    }
