"""Table tests of protocol/rules/lazy.py: what a node does with a peer's ``have``,
``want`` and ``prune`` (docs/protocol.md, "Eager push and lazy announcements")."""

from __future__ import annotations

import pytest

from protocol.horizon import FETCH_AFTER_MS, Relay
from protocol.rules.lazy import Fetches, fetch_due, serve

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


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
    fetches = Fetches()
    fetches.announce([(A, 3), (B, 2), (C, 1)], {A: 1, B: 2}, {C}, now_ms=1000)
    assert set(fetches.waiting) == {A}  # B held, C blocked
    assert fetches.due(1000 + FETCH_AFTER_MS - 1) == {}
    fetches.announce([(A, 4)], {A: 1}, set(), now_ms=1500)  # a later number: same time
    assert fetches.next_due() == 1000 + FETCH_AFTER_MS
    ready = fetches.due(1000 + FETCH_AFTER_MS)
    assert ready == {A: 4}
    assert fetches.wants(ready, {A: 2}, set()) == [[A, 2]]
    # Announced again, the same number: never asked twice.
    fetches.announce([(A, 4)], {A: 2}, set(), now_ms=5000)
    assert fetches.waiting == {}
    assert fetches.next_due() is None


def test_what_arrived_meanwhile_is_not_asked_for() -> None:
    fetches = Fetches()
    fetches.announce([(A, 3), (B, 2)], {}, set(), now_ms=0)
    ready = fetches.due(FETCH_AFTER_MS)
    assert fetches.wants(ready, {A: 3, B: 1}, set()) == [[B, 1]]
    assert fetches.wants({A: 1}, {}, {A}) == []  # blocked meanwhile


def test_the_fetches_waiting_are_bounded() -> None:
    fetches = Fetches(limit=2)
    dropped = fetches.announce([(A, 1), (B, 1), (C, 1)], {}, set(), now_ms=0)
    assert (dropped, len(fetches.waiting)) == (1, 2)
    assert fetches.announce([(A, 2)], {}, set(), now_ms=0) == 0  # one already waiting


def test_the_numbers_asked_are_bounded() -> None:
    fetches = Fetches(limit=1)
    for n in range(10):
        author = n.to_bytes(32, "big")
        fetches.wants({author: 1}, {}, set())
    assert len(fetches.asked) <= 4


def test_a_prune_for_an_author_never_relayed_creates_nothing() -> None:
    relay: Relay[str] = Relay()
    relay.prune("never", "p1")
    assert relay.eager == {}
    assert relay.known == {}
