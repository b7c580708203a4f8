"""Set reconciliation with 16-byte id prefixes (``short-ids``; protocol/reconcile.py,
docs/decisions.md "Issue 23: id prefixes in reconciliation"): exact both ways, with
prefixes shared by different items made on purpose, and hostile messages refused."""

import random

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.reconcile import (
    DIFF,
    FINGERPRINT,
    FULL_IDLIST,
    ID_BYTES,
    IDLIST,
    LIST_BELOW,
    MAX_ROUNDS,
    MIN_FRAME_LIMIT,
    SHORT_ID_BYTES,
    ItemSet,
    Reconciler,
    fingerprint_of,
    reconcile,
)

Item = tuple[int, bytes]
T0 = 1_733_529_600_000
SHORT = SHORT_ID_BYTES


def items(rng: random.Random, count: int, spread: int = 10**9) -> list[Item]:
    return [(T0 + rng.randrange(spread), rng.randbytes(32)) for _ in range(count)]


def twin(item: Item, rng: random.Random) -> Item:
    """Another item with the same timestamp and the same first 16 bytes of id."""
    return item[0], item[1][:SHORT] + rng.randbytes(ID_BYTES - SHORT)


def run(
    a_items: list[Item],
    b_items: list[Item],
    *,
    frame_limit: int = 256 * 1024,
    b_limit: int | None = None,
) -> tuple[Reconciler, Reconciler, list[bytes]]:
    a = Reconciler(ItemSet(a_items), frame_limit=frame_limit, id_bytes=SHORT)
    b_frame_limit = frame_limit if b_limit is None else b_limit
    b = Reconciler(ItemSet(b_items), frame_limit=b_frame_limit, id_bytes=SHORT)
    return a, b, list(reconcile(a, b))


def exact(a: Reconciler, b: Reconciler, a_items: list[Item], b_items: list[Item]) -> None:
    """Each side knows exactly which of its items the other lacks (``have``, whole ids),
    and what it lacks, by prefix at least (``need``)."""
    ids_a, ids_b = {i for _, i in a_items}, {i for _, i in b_items}
    assert a.have == ids_a - ids_b
    assert b.have == ids_b - ids_a
    assert {n[:SHORT] for n in a.need} == {i[:SHORT] for i in ids_b - ids_a}
    assert {n[:SHORT] for n in b.need} == {i[:SHORT] for i in ids_a - ids_b}


@pytest.mark.parametrize(
    ("common", "only_a", "only_b"),
    [(0, 0, 0), (0, 1, 0), (0, 0, 5000), (31, 0, 1), (100, 10, 10), (1000, 0, 1000),
     (10_000, 5, 5), (10_000, 300, 300), (5000, 5000, 0)],
)  # fmt: skip
def test_prefixes_give_the_same_answer_as_whole_ids(common: int, only_a: int, only_b: int) -> None:
    rng = random.Random(common * 7 + only_a * 3 + only_b)
    shared, a_only, b_only = items(rng, common), items(rng, only_a), items(rng, only_b)
    for first in (True, False):
        if first:
            a, b, _ = run(shared + a_only, shared + b_only)
        else:
            b, a, _ = run(shared + b_only, shared + a_only)
        exact(a, b, shared + a_only, shared + b_only)
        assert max(a.rounds, b.rounds) <= MAX_ROUNDS


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    common=st.integers(0, 400),
    only_a=st.integers(0, 80),
    only_b=st.integers(0, 80),
    twins=st.integers(0, 6),
    spread=st.sampled_from([1, 1000, 10**9]),
    limits=st.sampled_from(
        [
            (MIN_FRAME_LIMIT, MIN_FRAME_LIMIT),
            (256 * 1024, 256 * 1024),
            (MIN_FRAME_LIMIT, 256 * 1024),
        ]
    ),
    b_starts=st.booleans(),
)
def test_forced_prefix_collisions_cost_rounds_never_items(
    seed: int,
    common: int,
    only_a: int,
    only_b: int,
    twins: int,
    spread: int,
    limits: tuple[int, int],
    b_starts: bool,
) -> None:
    """Items of A and B that share a prefix but differ (made directly, as no hash
    collision is at hand), and twins within one side, among ordinary differences: every
    way two or three items sharing a prefix can lie between the sides, at the same
    timestamp or not, either side starting, with frame limits alike or not."""
    rng = random.Random(seed)
    shared = items(rng, common, spread)
    a_only, b_only = items(rng, only_a, spread), items(rng, only_b, spread)

    def other(item: Item) -> Item:
        made = twin(item, rng)
        return made if rng.random() < 0.7 else (T0 + rng.randrange(spread), made[1])

    for _ in range(twins):
        base = items(rng, 1, spread)[0]
        one, two = other(base), other(base)
        where = rng.randrange(9)
        if where == 0:  # A holds one, B its twin
            a_only.append(base)
            b_only.append(one)
        elif where == 1:  # both hold one, A also its twin
            shared.append(base)
            a_only.append(one)
        elif where == 2:  # both hold one, B also its twin
            shared.append(base)
            b_only.append(one)
        elif where == 3:  # B holds both, A neither
            b_only += [base, one]
        elif where == 4:  # A holds both, B neither
            a_only += [base, one]
        elif where == 5:  # both hold both
            shared += [base, one]
        elif where == 6:  # A holds two, B a third
            a_only += [base, one]
            b_only.append(two)
        elif where == 7:  # B holds two, A a third
            b_only += [base, one]
            a_only.append(two)
        else:  # both hold one, each also a twin of its own
            shared.append(base)
            a_only.append(one)
            b_only.append(two)
    a_items, b_items = shared + a_only, shared + b_only
    if b_starts:
        b, a, messages = run(b_items, a_items, frame_limit=limits[1], b_limit=limits[0])
    else:
        a, b, messages = run(a_items, b_items, frame_limit=limits[0], b_limit=limits[1])
    exact(a, b, a_items, b_items)
    assert all(len(m) <= max(limits) for m in messages)


@pytest.mark.parametrize(("count", "limit"), [(1000, MIN_FRAME_LIMIT), (3000, 64 * 1024)])
def test_collisions_in_more_ranges_than_whole_lists_fit_in_a_message(
    count: int, limit: int
) -> None:
    """Every item of A has a twin at B: the lister's whole-id lists of the ranges
    answered by Diffs of prefixes take twice the bytes of its lists of prefixes, and
    run past its frame limit. What does not fit is folded into a fingerprint of the
    rest, which the other side takes (it was refused: the reconciliation failed)."""
    rng = random.Random(count)
    a_items = items(rng, count)
    b_items = [twin(i, rng) for i in a_items]
    a, b, messages = run(a_items, b_items, frame_limit=limit)
    exact(a, b, a_items, b_items)
    assert all(len(m) <= limit for m in messages)
    assert max(a.rounds, b.rounds) <= MAX_ROUNDS


def test_a_collision_across_the_sides_costs_one_round_trip() -> None:
    rng = random.Random(1)
    shared = items(rng, 20)
    x = items(rng, 1)[0]
    y = twin(x, rng)
    plain = run([*shared, x], [*shared, items(rng, 1)[0]])[2]
    a, b, messages = run([*shared, x], [*shared, y])
    exact(a, b, [*shared, x], [*shared, y])
    assert a.have == {x[1]}
    assert b.have == {y[1]}
    assert len(messages) == len(plain) + 2
    full = msgpack.unpackb(messages[2])[1]
    assert [r[2] for r in full] == [FULL_IDLIST]


def test_a_side_lists_whole_ids_where_two_of_its_own_share_a_prefix() -> None:
    rng = random.Random(2)
    x = items(rng, 1)[0]
    a_items = [x, twin(x, rng), *items(rng, 3)]
    a = Reconciler(ItemSet(a_items), id_bytes=SHORT)
    first = msgpack.unpackb(a.initiate())[1]
    assert [r[2] for r in first] == [FULL_IDLIST]
    assert len(first[0][3]) == 5 * ID_BYTES
    b_items = [x]
    b = Reconciler(ItemSet(b_items), id_bytes=SHORT)
    a, b = Reconciler(ItemSet(a_items), id_bytes=SHORT), b
    reconcile(a, b)
    exact(a, b, a_items, b_items)


@pytest.mark.parametrize("a_count", [0, 3, 40])
def test_two_items_the_other_lacks_that_share_a_prefix_are_named_once(a_count: int) -> None:
    rng = random.Random(12)
    shared = items(rng, a_count, spread=1)
    x = (T0, rng.randbytes(32))
    b_items = [*shared, x, twin(x, rng)]
    for first in (True, False):
        if first:
            a, b, _ = run(shared, b_items)
        else:
            b, a, _ = run(b_items, shared)
        exact(a, b, shared, b_items)
        assert b.have == {x[1], b_items[-1][1]}


def test_prefixes_halve_a_session_start_of_new_items() -> None:
    """A day apart: ranges of new ids listed, each id in 16 bytes instead of 32."""
    rng = random.Random(3)
    shared, new = items(rng, 3000), items(rng, 800)
    whole = reconcile(Reconciler(ItemSet(shared)), Reconciler(ItemSet(shared + new)))
    short = run(shared, shared + new)[2]
    assert sum(map(len, short)) < 0.62 * sum(map(len, whole))


def test_fingerprints_stay_over_whole_ids() -> None:
    rng = random.Random(4)
    many = items(rng, 100)
    message = msgpack.unpackb(Reconciler(ItemSet(many), id_bytes=SHORT).initiate())[1]
    assert {r[2] for r in message} == {FINGERPRINT}
    ordered = sorted(many)
    assert message[0][3] == fingerprint_of(i for _, i in ordered[:7])


# -- without the feature --------------------------------------------------------------


def test_whole_id_sides_refuse_what_only_prefixes_allow() -> None:
    """Without ``short-ids`` a side refuses whole-id lists in mode 4 and Diffs with a
    fingerprint, so a side that sends prefixes to an old node is cut off, not misread."""
    rng = random.Random(5)
    x = items(rng, 1)[0]
    old = Reconciler(ItemSet([x]))
    for message in (
        [1, [[None, b"", FULL_IDLIST, x[1]]]],
        [1, [[None, b"", DIFF, b"", b"\x00", bytes(16)]]],
    ):
        with pytest.raises(ProtocolError, match="unknown mode or the wrong number") as e:
            Reconciler(ItemSet([x])).receive(msgpack.packb(message))
        assert e.value.code == "bad-reconcile"
    assert old.initiate() == Reconciler(ItemSet([x]), id_bytes=ID_BYTES).initiate()


def test_id_bytes_is_checked() -> None:
    with pytest.raises(ValueError, match="id_bytes"):
        Reconciler(ItemSet([]), id_bytes=8)


# -- hostile peers (a school with a valid key misusing the reconciliation) -------------


def short_side(rng: random.Random, count: int = 3) -> tuple[Reconciler, list[Item]]:
    mine = items(rng, count)
    return Reconciler(ItemSet(mine), id_bytes=SHORT), mine


@pytest.mark.parametrize(
    ("ranges", "match"),
    [
        ([[None, b"", IDLIST, bytes(17)]], "whole number of 16-byte ids"),
        ([[None, b"", IDLIST, bytes(32)]], "names one id twice"),
        ([[None, b"", IDLIST, bytes(32 * 17)]], "fewer than 32 ids"),  # 17 whole ids
        ([[None, b"", IDLIST, bytes(LIST_BELOW * SHORT)]], "fewer than 32 ids"),
        ([[None, b"", FULL_IDLIST, bytes(LIST_BELOW * ID_BYTES)]], "fewer than 32 ids"),
        ([[None, b"", FULL_IDLIST, bytes(48)]], "whole number of 32-byte ids"),
        ([[None, b"", DIFF, b"", b"", bytes(15)]], "a fingerprint is 16 bytes"),
        ([[None, b"", DIFF, b"", b"", bytes(16), b""]], "wrong number of fields"),
        ([[None, b"", 5, b""]], "unknown mode"),
    ],
)
def test_hostile_prefix_messages_are_refused(ranges: list[object], match: str) -> None:
    side, _ = short_side(random.Random(6))
    side.initiate()
    with pytest.raises(ProtocolError, match=match) as e:
        side.receive(msgpack.packb([1, ranges]))
    assert e.value.code == "bad-reconcile"


def test_a_diff_must_have_the_width_of_the_list_it_answers() -> None:
    rng = random.Random(7)
    side, mine = short_side(rng)
    side.initiate()  # a list of 3 prefixes
    whole = msgpack.packb([1, [[None, b"", DIFF, rng.randbytes(32), b"\x00"]]])
    with pytest.raises(ProtocolError, match="two fields, of prefixes three"):
        side.receive(whole)
    side, mine = short_side(rng)
    side.initiate()
    # 48 bytes: three prefixes the peer says we lack; one is ours.
    ours = sorted(mine)[0][1][:SHORT]
    lying = msgpack.packb([1, [[None, b"", DIFF, rng.randbytes(32) + ours, b"\x00", bytes(16)]]])
    with pytest.raises(ProtocolError, match="lacks an id that it listed"):
        side.receive(lying)


def test_a_diff_of_too_many_prefixes_is_refused() -> None:
    side, _ = short_side(random.Random(8))
    side.initiate()
    many = random.Random(9).randbytes(257 * SHORT)
    with pytest.raises(ProtocolError, match="at most 256 ids"):
        side.receive(msgpack.packb([1, [[None, b"", DIFF, many, b"\x00", bytes(16)]]]))


def test_after_only_prefix_diffs_only_whole_lists_of_those_ranges_may_follow() -> None:
    rng = random.Random(10)
    a, a_items = short_side(rng)
    b = Reconciler(ItemSet(a_items[:2]), id_bytes=SHORT)
    diff = b.receive(a.initiate())
    assert diff is not None  # a Diff of prefixes: it asks nothing but may be checked
    for answer in (
        [[None, b"", IDLIST, b""]],
        [[None, b"", FINGERPRINT, bytes(16)]],
        [[(T0 + 5), b"", FULL_IDLIST, b""]],  # not the range answered
    ):
        fresh = Reconciler(ItemSet(a_items[:2]), id_bytes=SHORT)
        assert fresh.receive(_opening(a_items)) is not None
        with pytest.raises(ProtocolError, match="only whole-id lists"):
            fresh.receive(msgpack.packb([1, answer]))
    # The whole list of the range answered is taken, and answered in whole ids.
    again = b.receive(msgpack.packb([1, [[None, b"", FULL_IDLIST, _whole(a_items)]]]))
    assert again is not None
    (answer,) = msgpack.unpackb(again)[1]
    assert answer[2] == DIFF
    assert len(answer) == 5  # [ts, prefix, mode, ids, bitmap]: whole ids, no fingerprint


def _opening(mine: list[Item]) -> bytes:
    return Reconciler(ItemSet(mine), id_bytes=SHORT).initiate()


def _whole(mine: list[Item]) -> bytes:
    return b"".join(i for _, i in sorted(mine))


def test_a_peer_that_always_claims_a_collision_is_bounded() -> None:
    """A peer that answers every list of prefixes with a wrong fingerprint gets the
    range in whole ids once; a Diff of prefixes cannot answer that."""
    rng = random.Random(11)
    a, _ = short_side(rng)
    opening = msgpack.unpackb(a.initiate())[1]
    wrong = msgpack.packb([1, [[None, b"", DIFF, b"", b"\x00", bytes(16)]]])
    full = a.receive(wrong)
    assert full is not None
    assert [r[2] for r in msgpack.unpackb(full)[1]] == [FULL_IDLIST]
    assert opening[0][2] == IDLIST
    with pytest.raises(ProtocolError, match="two fields, of prefixes three"):
        a.receive(wrong)


def _checked_twice(rng: random.Random) -> tuple[Reconciler, list[Item], list[bytes]]:
    """B answers two lists of prefixes (split at ``T0 + 500``) with Diffs of prefixes
    only: its message asks nothing. Returns B, its items and the made-up whole ids."""
    mine = [(T0 + 100, rng.randbytes(32)), (T0 + 900, rng.randbytes(32))]
    made_up = [rng.randbytes(32), rng.randbytes(32)]
    b = Reconciler(ItemSet(mine), id_bytes=SHORT)
    lists = [
        [T0 + 500, b"", IDLIST, mine[0][1][:SHORT] + made_up[0][:SHORT]],
        [None, b"", IDLIST, mine[1][1][:SHORT] + made_up[1][:SHORT]],
    ]
    answer = b.receive(msgpack.packb([1, lists]))
    assert answer is not None
    assert {r[2] for r in msgpack.unpackb(answer)[1]} == {DIFF}
    return b, mine, made_up


def _full(mine: Item, made_up: bytes) -> bytes:
    return b"".join(sorted([mine[1], made_up], key=lambda i: (mine[0], i)))


@pytest.mark.parametrize(
    ("answer", "taken"),
    [
        # What a lister writes when its whole-id lists do not all fit: the lists that
        # fit, then one fingerprint of the rest from where the next range answered starts.
        ("full first, then the rest", True),
        ("a fingerprint of the rest alone", False),
        ("a fingerprint from where no range answered starts", False),
        ("a fingerprint that is not of the rest", False),
    ],
)
def test_after_prefix_diffs_the_rest_may_be_folded_only_behind_whole_lists(
    answer: str, taken: bool
) -> None:
    b, mine, made_up = _checked_twice(random.Random(13))
    full = [T0 + 500, b"", FULL_IDLIST, _full(mine[0], made_up[0])]
    fold = [None, b"", FINGERPRINT, bytes(16)]
    ranges = {
        "full first, then the rest": [full, fold],
        "a fingerprint of the rest alone": [[T0 + 500, b"", 0], fold],
        "a fingerprint from where no range answered starts": [full, [300, b"", 0], fold],
        "a fingerprint that is not of the rest": [full, [300, b"", FINGERPRINT, bytes(16)]],
    }[answer]
    message = msgpack.packb([1, ranges])
    if taken:
        reply = b.receive(message)
        assert reply is not None
        modes = [r[2] for r in msgpack.unpackb(reply)[1]]
        assert modes[0] == DIFF  # the whole list answered in whole ids
        assert IDLIST in modes  # and the rest listed again
    else:
        with pytest.raises(ProtocolError, match="only whole-id lists") as e:
            b.receive(message)
        assert e.value.code == "bad-reconcile"


def test_whole_ids_in_a_diff_count_once_against_max_ids() -> None:
    """With prefixes, the Diff answering a FullIdList names whole ids: each counts as one
    id against ``max_ids`` (it counted as two 16-byte prefixes)."""
    rng = random.Random(14)
    x = items(rng, 1)[0]
    mine = [x, twin(x, rng), items(rng, 1)[0]]
    side = Reconciler(ItemSet(mine), id_bytes=SHORT, max_ids=3)
    assert [r[2] for r in msgpack.unpackb(side.initiate())[1]] == [FULL_IDLIST]
    lacking = b"".join(sorted(rng.randbytes(32) for _ in range(3)))
    assert side.receive(msgpack.packb([1, [[None, b"", DIFF, lacking, b"\x00"]]])) is None
    assert side.ids_received == 3
    assert len(side.need) == 3
