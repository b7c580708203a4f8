"""Catching up loose entries at session start (protocol/catchup.py): what a holder
offers for a declared interest, the window, the pace, the order of sending, and the
two sides of the reconciliation wired together in memory."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from protocol import catchup, codec, frames
from protocol.catchup import Answer, Candidate, Item, Offer
from protocol.errors import DecodeError, ProtocolError
from protocol.horizon import Filter, Interest
from protocol.rules.holding import Named
from tests.vectors.generate_catchup import crossing

TODAY = date(2026, 12, 7)
ME, PARTNER, FAR = b"me", b"partner", b"far"
NORTH = Filter(countries=frozenset({"GB"}), regions=frozenset({"North"}))
DECLARED = Interest(frozenset({ME, PARTNER}), (NORTH,))
NORTH_OFFER = {"activity": "observation", "title": "T", "country": "GB", "region": "North"}
SOUTH_OFFER = {"activity": "observation", "title": "T", "country": "GB", "region": "South"}
NORTH_PROFILE = {"name": "Far", "country": "GB", "region": "North"}
SOUTH_PROFILE = {"name": "Far", "country": "GB", "region": "South"}
#: A withdrawal signed a week before TODAY (a tombstone is kept 90 days).
WITHDRAWAL = {
    "kind": "withdraw",
    "content": {"target": b"\x09" * 32},
    "timestamp": 1_796_000_000_000,
}


def ident(n: int) -> bytes:
    return hashlib.blake2b(n.to_bytes(4, "big"), digest_size=32).digest()


def candidate(n: int, **changes: Any) -> Candidate[bytes]:
    fields: dict[str, Any] = {
        "author": FAR,
        "id": ident(n),
        "kind": "offer",
        "timestamp": 1000 + n,
        "content": NORTH_OFFER,
    }
    fields.update(changes)
    return Candidate(**fields)


@pytest.mark.parametrize(
    ("changes", "offered"),
    [
        ({}, True),  # matches a declared filter
        ({"content": SOUTH_OFFER}, False),
        ({"author": PARTNER}, False),  # in its horizon: comes whole, by Sync
        ({"content": None}, False),  # erased
        ({"kind": "profile", "content": {"name": "Far"}}, True),  # network-wide
        ({"kind": "profile", "content": {"name": "Far"}, "superseded": True}, False),
        # A withdrawal: offered when the wanter keeps it as a tombstone if it lacks the
        # target (its author's profile matches a filter), and not past keeping.
        ({**WITHDRAWAL}, False),  # no profile held: nothing says where it is
        ({**WITHDRAWAL, "profile": NORTH_PROFILE}, True),
        ({**WITHDRAWAL, "profile": SOUTH_PROFILE}, False),
        (
            {
                "kind": "withdraw",
                "content": {"target": ident(9)},
                "profile": NORTH_PROFILE,
                "timestamp": 1_780_000_000_000,  # 2026-05-28: more than 90 days ago
            },
            False,
        ),
        ({"kind": "withdraw", "content": None, "profile": NORTH_PROFILE}, False),  # withdrawn
        ({"kind": "continue", "content": {"fork": 1, "keep": ident(9)}}, False),
        ({"content": {**NORTH_OFFER, "to": "2026-01-01"}}, False),  # past keeping
        ({"content": {**NORTH_OFFER, "to": "2026-11-01"}}, True),  # within 90 days
        ({"content": {"activity": "observation", "title": "T"}}, False),  # no profile
        (
            {
                "content": {"activity": "observation", "title": "T"},
                "profile": {"country": "GB", "region": "North"},
            },
            True,  # its author's profile says where
        ),
        ({"id": b"short"}, False),  # not an entry id
    ],
)
def test_what_a_holder_offers(changes: dict[str, Any], offered: bool) -> None:
    found = catchup.wanted([candidate(1, **changes)], DECLARED, TODAY)
    assert bool(found) is offered


def test_a_wanter_that_declared_no_filter_is_offered_profiles_only() -> None:
    bare = Interest(frozenset({ME}))
    profile = candidate(2, kind="profile", content={"name": "Far"})
    found = catchup.wanted([candidate(1), profile], bare, TODAY)
    assert [i.id for i in found] == [ident(2)]
    assert found[0].profile


QUESTION_OF_ME = Named(ME, "question")
QUESTION_OF_PARTNER = Named(PARTNER, "question")
QUESTION_OF_FAR = Named(FAR, "question")
ANSWERED = {"question": ident(9), "text": "Like this"}  # matches no filter
MARKED = {"answer": ident(9)}


@pytest.mark.parametrize(
    ("named", "offered"),
    [
        (None, True),  # not held here: the wanter keeps it as a tombstone
        (Named(FAR, "offer", withdrawn=True), True),  # erased here by it
        (Named(FAR, "question", withdrawn=True), True),
        (Named(ME, "question"), False),  # another school's entry: withdraws nothing
        (Named(FAR, "continue"), False),  # a continuation is never withdrawn
    ],
)
def test_what_a_holder_offers_of_withdrawals(named: Named[bytes] | None, offered: bool) -> None:
    withdrawal = candidate(1, **WITHDRAWAL, named=named, profile=NORTH_PROFILE)
    assert bool(catchup.wanted([withdrawal], DECLARED, TODAY)) is offered


@pytest.mark.parametrize(
    ("kind", "content", "named", "offered"),
    [
        # An answer to the wanter's own question, or to one of its horizon: it holds
        # the question whole, so it keeps the answer whatever its filters.
        ("answer", ANSWERED, QUESTION_OF_ME, True),
        ("answer", ANSWERED, QUESTION_OF_PARTNER, True),
        # A question the holder does not hold, or one of a far school: the holder
        # cannot tell that the wanter holds it (by its filters): not offered.
        ("answer", ANSWERED, None, False),
        ("answer", ANSWERED, QUESTION_OF_FAR, False),
        # A withdrawn question takes no answers; an answer naming no question, none.
        ("answer", ANSWERED, Named(ME, "question", withdrawn=True), False),
        ("answer", ANSWERED, Named(ME, "offer"), False),
        # The asking school's mark on an answer by the wanter (whose log it holds).
        ("helpful", MARKED, Named(ME, "answer", question=QUESTION_OF_FAR), True),
        # On an answer of a far school to a question of the wanter's horizon.
        ("helpful", MARKED, Named(b"far2", "answer", question=Named(FAR, "question")), False),
        # Not the asking school's mark: it has no effect, so it travels with nothing.
        ("helpful", MARKED, Named(ME, "answer", question=Named(b"far2", "question")), False),
        ("helpful", MARKED, Named(ME, "answer", withdrawn=True, question=QUESTION_OF_FAR), False),
        ("helpful", MARKED, None, False),
        # A withdrawal of the author's own entry, erased here: offered when the wanter
        # keeps it whether it holds the target or not (its author's profile matches a
        # filter); this candidate's author has no profile held.
        ("withdraw", {"target": ident(9)}, Named(FAR, "offer", withdrawn=True), False),
    ],
)
def test_what_a_holder_offers_by_what_it_names(
    kind: str, content: dict[str, Any], named: Named[bytes] | None, offered: bool
) -> None:
    found = catchup.wanted([candidate(1, kind=kind, content=content, named=named)], DECLARED, TODAY)
    assert bool(found) is offered


@pytest.mark.parametrize(
    ("named", "offered"),
    [
        # A withdrawn answer of a far school (no profile held: no filter keeps its
        # entries) to a question of the wanter or of its horizon: the wanter kept the
        # answer with the question, so it keeps its withdrawal too (issue 23).
        (Named(FAR, "answer", withdrawn=True, question=QUESTION_OF_ME), True),
        (Named(FAR, "answer", withdrawn=True, question=QUESTION_OF_PARTNER), True),
        (Named(FAR, "answer", question=QUESTION_OF_ME), True),  # not erased here yet
        # Its question unknown (erased before this version), a far school's, or
        # withdrawn (the answer was not kept with it): judged by the filters alone.
        (Named(FAR, "answer", withdrawn=True), False),
        (Named(FAR, "answer", withdrawn=True, question=QUESTION_OF_FAR), False),
        (Named(FAR, "answer", withdrawn=True, question=Named(ME, "question", True)), False),
        # Another school's answer: the withdrawal withdraws nothing.
        (Named(b"far2", "answer", withdrawn=True, question=QUESTION_OF_ME), False),
    ],
)
def test_what_a_holder_offers_of_withdrawals_of_answers(named: Named[bytes], offered: bool) -> None:
    withdrawal = candidate(1, **WITHDRAWAL, named=named)
    assert bool(catchup.wanted([withdrawal], DECLARED, TODAY)) is offered


@pytest.mark.parametrize(
    ("named", "held"),
    [
        (None, False),
        (QUESTION_OF_ME, True),
        (QUESTION_OF_PARTNER, True),
        (QUESTION_OF_FAR, False),
        (Named(FAR, "answer", question=QUESTION_OF_ME), True),  # kept with my question
        (Named(FAR, "answer", question=Named(ME, "question", withdrawn=True)), False),
        (Named(FAR, "answer", withdrawn=True, question=QUESTION_OF_ME), False),
        (Named(FAR, "answer", question=QUESTION_OF_FAR), False),
        (Named(FAR, "offer", question=QUESTION_OF_ME), False),
    ],
)
def test_what_a_wanter_holds_for_certain(named: Named[bytes] | None, held: bool) -> None:
    assert catchup.held_by(named, DECLARED) is held


@pytest.mark.parametrize(
    ("times", "since", "most", "kept", "since_after"),
    [
        ([5, 1, 3], 0, 10, [5, 3, 1], 0),  # newest first
        ([5, 1, 3], 2, 10, [5, 3], 2),  # from since on
        ([5, 4, 3, 2, 1], 0, 3, [5, 4, 3], 3),  # more than most: since moves up
        ([5, 4, 3, 3, 1], 0, 3, [5, 4, 3], 3),  # ties at the edge: at most ``most``
        ([], 7, 3, [], 7),
    ],
)
def test_window(times: list[int], since: int, most: int, kept: list[int], since_after: int) -> None:
    items = [Item(t, ident(n)) for n, t in enumerate(times)]
    chosen, moved = catchup.window(items, since, most)
    assert [i.timestamp for i in chosen] == kept
    assert moved == since_after


@pytest.mark.parametrize(
    ("last", "now", "wait"),
    [(None, 5, 0), (0, catchup.PACE_MS, 0), (1000, 1000, catchup.PACE_MS), (0, 60_000, 540_000)],
)
def test_pace(last: int | None, now: int, wait: int) -> None:
    assert catchup.due(last, now) == wait


@pytest.mark.parametrize(
    ("last", "now", "declined"),
    [
        (None, 5, False),
        (1000, 1000, True),
        (0, catchup.PACE_MS - catchup.PACE_SLACK_MS - 1, True),
        (0, catchup.PACE_MS - catchup.PACE_SLACK_MS, False),
        (0, catchup.PACE_MS - 5_000, False),  # the holder's turn, a little early here
    ],
)
def test_the_wanter_declines_only_well_before_the_holders_turn(
    last: int | None, now: int, declined: bool
) -> None:
    assert catchup.declines(last, now) is declined
    assert not catchup.declines(last, now, pace=0)  # tests that scale time


@pytest.mark.parametrize(
    ("completed", "since"),
    [(None, 0), (catchup.SKEW_MS + 5, 5), (10, 0)],
)
def test_since(completed: int | None, since: int) -> None:
    assert catchup.since_for(completed) == since


COAST = Filter(countries=frozenset({"GB"}), regions=frozenset({"Coast"}))


@pytest.mark.parametrize(
    ("before", "now", "counts"),
    [
        (Interest(frozenset({1}), (NORTH,)), Interest(frozenset({1}), (NORTH,)), True),
        (Interest(frozenset({1}), (NORTH, COAST)), Interest(frozenset({1}), (COAST, NORTH)), True),
        (Interest(frozenset({1}), (NORTH,)), Interest(frozenset({1, 2}), (NORTH,)), True),
        (Interest(frozenset({1}), (NORTH,)), Interest(frozenset({1}), (COAST,)), False),
        (Interest(frozenset({1}), (NORTH,)), Interest(frozenset({1}), (NORTH, COAST)), False),
        (Interest(frozenset({1, 2}), (NORTH,)), Interest(frozenset({1}), (NORTH,)), False),
    ],
)
def test_the_last_catchup_counts_only_while_the_peer_wants_no_more(
    before: Interest[bytes], now: Interest[bytes], counts: bool
) -> None:
    assert catchup.still_counts(before, now) is counts


def test_send_order_is_profiles_first_then_newest_first_in_chunks() -> None:
    items = [
        Item(1, ident(1)),
        Item(3, ident(3)),
        Item(2, ident(2), profile=True),
        Item(4, ident(4)),
    ]
    order = catchup.send_order(items, [ident(1), ident(2), ident(3)], chunk=2)
    assert order == [[ident(2)], [ident(3), ident(1)]]  # profiles never share a chunk


@pytest.mark.parametrize(
    ("holder", "wanter"),
    [
        (range(0), range(0)),
        (range(10), range(10)),
        (range(10), range(5)),  # it lacks five
        (range(5), range(10)),  # it holds more: nothing to send
        (range(3000), range(2990)),  # fingerprints, then lists
        (range(0, 400, 2), range(1, 400, 2)),  # disjoint
    ],
)
def test_the_holder_learns_exactly_what_the_wanter_lacks(holder: range, wanter: range) -> None:
    ours = [Item(1000 + n, ident(n)) for n in holder]
    theirs = [Item(1000 + n, ident(n)) for n in wanter]
    offer, answer = Offer(ours, 1000), Answer(theirs, 1000)
    crossing(offer, answer)
    assert offer.done
    assert answer.done
    assert offer.lacking == {ident(n) for n in set(holder) - set(wanter)}
    assert answer.offered == offer.lacking


@pytest.mark.parametrize(("holder", "wanter"), [(range(3000), range(2990)), (range(50), range(60))])
def test_with_short_ids_the_wanter_keeps_prefixes_and_the_holder_whole_ids(
    holder: range, wanter: range
) -> None:
    ours = [Item(1000 + n, ident(n)) for n in holder]
    theirs = [Item(1000 + n, ident(n)) for n in wanter]
    offer, answer = Offer(ours, 1000, id_bytes=16), Answer(theirs, 1000, id_bytes=16)
    crossing(offer, answer)
    assert offer.done
    assert offer.lacking == {ident(n) for n in set(holder) - set(wanter)}
    assert answer.offered == {i[:16] for i in offer.lacking}
    assert all(answer.was_offered(i) for i in offer.lacking)
    assert not answer.was_offered(ident(10**6))


@pytest.mark.parametrize("shift", [0, catchup.MAX_LISTED])  # it holds them all, or none
def test_a_wanter_listing_all_it_may_stays_within_the_holders_bounds(shift: int) -> None:
    ours = [Item(1000 + n, ident(n)) for n in range(catchup.MAX_ITEMS)]
    theirs = [Item(1000 + n, ident(n + shift)) for n in range(catchup.MAX_LISTED)]
    offer, answer = Offer(ours, 1000), Answer(theirs, 1000)
    crossing(offer, answer)
    assert offer.done
    assert not offer.failed
    assert offer.lacking == ({i.id for i in ours} if shift else set())


def test_a_reply_out_of_turn_is_refused() -> None:
    offer = Offer([Item(1, ident(1))], 0)
    with pytest.raises(ProtocolError) as caught:
        offer.receive(frames.CatchupReply(b"x"))  # before the first message
    assert caught.value.code == catchup.BAD


def test_a_message_after_the_end_or_from_another_since_is_refused() -> None:
    offer, answer = Offer([Item(5, ident(1))], 0), Answer([], 0)
    crossing(offer, answer)
    with pytest.raises(ProtocolError) as caught:
        answer.receive(frames.Catchup(0, b"again"))
    assert caught.value.code == catchup.BAD
    other = Answer([], 0)
    with pytest.raises(ProtocolError) as caught:
        other.receive(frames.Catchup(7, Offer([], 7).first().msg))
    assert caught.value.code == catchup.BAD
    with pytest.raises(ProtocolError):
        Answer.declined(0).receive(frames.Catchup(0, b""))


def test_garbage_is_a_reconciliation_error_and_ends_it() -> None:
    answer = Answer([Item(1, ident(1))], 0)
    with pytest.raises(ProtocolError) as caught:
        answer.receive(frames.Catchup(0, b"\x93garbage"))
    assert caught.value.code == "malformed"  # protocol/codec.py
    assert answer.done
    offer = Offer([Item(1, ident(1))], 0)
    offer.first()
    with pytest.raises(ProtocolError):
        offer.receive(frames.CatchupReply(b"\x93garbage"))
    assert offer.failed
    assert not offer.lacking


@pytest.mark.parametrize(
    "body",
    [
        {"t": "catchup", "v": 1, "since": -1, "msg": b""},
        {"t": "catchup", "v": 1, "since": 2**53, "msg": b""},
        {"t": "catchup", "v": 1, "since": 0, "msg": "text"},
        {"t": "catchup", "v": 1, "since": 0, "msg": b"x" * (frames.MAX_RECONCILE_BYTES + 1)},
        {"t": "catchup", "v": 1, "msg": b""},
        {"t": "catchup-reply", "v": 1, "msg": 3},
        {"t": "catchup-reply", "v": 1},
    ],
)
def test_malformed_frames_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        frames.decode(codec.encode(body))


@pytest.mark.parametrize(("lacking", "most_bytes"), [(0, 1024), (5, 4096)])
def test_the_cost_follows_what_is_missing_not_what_is_held(lacking: int, most_bytes: int) -> None:
    """docs/performance.md, "Catching up loose entries": 10,000 offered."""
    ours = [Item(1_000_000 + n * 1000, ident(n)) for n in range(10_000)]
    offer = Offer(ours, 0)
    crossed = crossing(offer, Answer(ours[lacking:], 0))
    assert sum(len(frames.encode(f)) for f in crossed) < most_bytes
    assert len(offer.lacking) == lacking
