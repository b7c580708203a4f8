"""Set reconciliation (protocol/reconcile.py, docs/scale.md): exact, bounded, and hostile input."""

import hashlib
import random
import subprocess
import sys

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import codec
from protocol.errors import DecodeError, ProtocolError
from protocol.reconcile import (
    DIFF,
    FINGERPRINT,
    IDLIST,
    MAX_MESSAGE_BYTES,
    MAX_ROUNDS,
    MIN_FRAME_LIMIT,
    SKIP,
    ItemSet,
    OverBudget,
    Reconciler,
    fingerprint_of,
    reconcile,
)

Item = tuple[int, bytes]
T0 = 1_733_529_600_000  # 2024-12-07 00:00 UTC, in ms


def h(text: bytes) -> bytes:
    return hashlib.blake2b(text, digest_size=32).digest()


def items(rng: random.Random, count: int, spread: int = 10**9) -> list[Item]:
    return [(T0 + rng.randrange(spread), rng.randbytes(32)) for _ in range(count)]


def check(
    common: list[Item], only_a: list[Item], only_b: list[Item], frame_limit: int
) -> list[bytes]:
    """Reconcile, both ways round, and check both sides' answers and every bound."""
    record: list[bytes] = []
    for first in (True, False):
        a = Reconciler(ItemSet(common + only_a), frame_limit=frame_limit)
        b = Reconciler(ItemSet(common + only_b), frame_limit=frame_limit)
        messages = reconcile(a, b) if first else reconcile(b, a)
        ids_a, ids_b = {i for _, i in only_a}, {i for _, i in only_b}
        assert (a.have, a.need) == (ids_a, ids_b)
        assert (b.have, b.need) == (ids_b, ids_a)
        assert all(len(m) <= frame_limit for m in messages)
        assert max(a.rounds, b.rounds) <= MAX_ROUNDS
        record = list(messages)
    return record


@pytest.mark.parametrize(
    ("common", "only_a", "only_b"),
    [
        (0, 0, 0),
        (0, 1, 0),
        (0, 0, 10_000),
        (1, 0, 0),
        (31, 0, 1),
        (32, 1, 0),
        (100, 10, 10),
        (1000, 0, 0),
        (1000, 1, 0),
        (1000, 0, 1000),
        (10_000, 0, 0),
        (10_000, 5, 5),
        (10_000, 0, 1000),
        (10_000, 300, 300),
        (5000, 5000, 0),
    ],
)
def test_each_side_learns_exactly_what_it_and_the_other_lack(
    common: int, only_a: int, only_b: int
) -> None:
    rng = random.Random(common * 7 + only_a * 3 + only_b)
    pool = items(rng, common + only_a + only_b)
    check(pool[:common], pool[common : common + only_a], pool[common + only_a :], 256 * 1024)


def test_identical_sets_take_one_message_whatever_their_size() -> None:
    pool = items(random.Random(1), 10_000)
    messages = check(pool, [], [], MAX_MESSAGE_BYTES)
    assert len(messages) == 1
    assert len(messages[0]) < 600  # 16 fingerprints, not 10,000 ids


def test_bytes_follow_the_differences_not_the_set() -> None:
    rng = random.Random(2)
    small = check(*_split(items(rng, 1010), 1000, 10), MAX_MESSAGE_BYTES)
    large = check(*_split(items(rng, 10_010), 10_000, 10), MAX_MESSAGE_BYTES)
    # Ten times the items cost one more level of buckets, far from ten times the bytes.
    assert sum(map(len, large)) < 3 * sum(map(len, small))


def _split(pool: list[Item], common: int, differ: int) -> tuple[list[Item], list[Item], list[Item]]:
    half = differ // 2
    return pool[:common], pool[common : common + half], pool[common + half :]


def test_a_small_frame_limit_splits_the_work_over_more_rounds() -> None:
    rng = random.Random(3)
    pool = items(rng, 13_000)
    messages = check(pool[:10_000], pool[10_000:11_500], pool[11_500:], MIN_FRAME_LIMIT)
    assert len(messages) > 6
    assert max(map(len, messages)) <= MIN_FRAME_LIMIT


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(range(3)), st.binary(min_size=1, max_size=3)),
        max_size=200,
        unique_by=lambda t: t[2].ljust(3, b"\0"),  # unique ids, as padded below
    )
)
def test_equal_timestamps_and_near_ids_are_told_apart(
    raw: list[tuple[int, int, bytes]],
) -> None:
    """Many items share a timestamp and an id prefix: bounds need id prefixes."""
    pool = [(ts, b"\x07" * 29 + tail.ljust(3, b"\0"), where) for ts, where, tail in raw]
    common = [(ts, i) for ts, i, w in pool if w == 0]
    only_a = [(ts, i) for ts, i, w in pool if w == 1]
    only_b = [(ts, i) for ts, i, w in pool if w == 2]
    check(common, only_a, only_b, MIN_FRAME_LIMIT)


def test_random_sets_up_to_ten_thousand_items() -> None:
    rng = random.Random(4)
    for _ in range(12):
        total = rng.randrange(10_001)
        differ = rng.choice([0, 1, 10, 100, 1000])
        pool = items(rng, total + differ, spread=rng.choice([10, 10**6, 10**12]))
        pool = sorted(set(pool))
        rng.shuffle(pool)
        common, rest = pool[:total], pool[total:]
        side = [rng.random() < 0.5 for _ in rest]
        check(
            common,
            [x for x, s in zip(rest, side, strict=True) if s],
            [x for x, s in zip(rest, side, strict=True) if not s],
            rng.choice([MIN_FRAME_LIMIT, MAX_MESSAGE_BYTES]),
        )


# ---------------------------------------------------------------- the test vector

VECTOR_A = [(T0, h(b"oakfield-1")), (T0, h(b"oakfield-2")), (T0 + 3_600_000, h(b"lycee-1"))]
VECTOR_B = [VECTOR_A[0], VECTOR_A[2], (T0 + 1_800_000, h(b"colegio-1"))]
VECTOR_FIRST = (
    "92019194c0c40002c4604d976b506f135e74a013631f80e46992b11bb5646e53e757005485c4d848b373"
    "dddf082253d020a18280c2969605a36f1262ea67d32d692e7127bf91f15e7b4c22c31e0ed8b2ebe26e27"
    "c0df3ad34e1e93e8cc747afbd0c6ef484d3a45f1adac"
)
VECTOR_REPLY = (
    "92019195c0c40003c420219aebe03f0081535747f74e0236d6fb233a85e3971d4ce7b5694736f6d22424c40102"
)


def test_vector_of_docs_scale_md() -> None:
    a, b = Reconciler(ItemSet(VECTOR_A)), Reconciler(ItemSet(VECTOR_B))
    first = a.initiate()
    assert first.hex() == VECTOR_FIRST
    reply = b.receive(first)
    assert reply is not None
    assert reply.hex() == VECTOR_REPLY
    assert a.receive(reply) is None
    assert a.have == b.need == {h(b"oakfield-2")}
    assert a.need == b.have == {h(b"colegio-1")}


def test_empty_fingerprint_vector() -> None:
    assert fingerprint_of([]).hex() == "ec0bf845df823a7a5ff3ecf651dc09c0"


def test_messages_are_canonical_msgpack() -> None:
    rng = random.Random(5)
    pool = items(rng, 3000)
    for message in check(pool[:2000], pool[2000:2500], pool[2500:], MAX_MESSAGE_BYTES):
        value = codec.decode(message, codec.Limits(max_bytes=MAX_MESSAGE_BYTES, max_items=99_999))
        assert codec.encode(value) == message


def test_range_fingerprints_are_the_fingerprint_of_their_ids() -> None:
    rng = random.Random(6)
    held = ItemSet(items(rng, 500))
    ids = [i for _, i in held.items]
    for lower, upper in [(0, 0), (0, 500), (17, 18), (100, 433)]:
        assert held.fingerprint(lower, upper) == fingerprint_of(ids[lower:upper])


# ---------------------------------------------------------------- hostile and bad input


def pack(*ranges: list[object], version: int = 1) -> bytes:
    return codec.encode([version, list(ranges)])


def side(count: int = 100, seed: int = 7) -> Reconciler:
    return Reconciler(ItemSet(items(random.Random(seed), count)))


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (b"\xc1", "malformed"),
        (b"\x92\x01", "malformed"),
        (msgpack.packb({"v": 1}), "malformed"),  # no str anywhere in a message
        (codec.encode([1]), "bad-reconcile"),
        (codec.encode([1, [[None, b"", SKIP]], 3]), "bad-reconcile"),
        (pack([None, b"", SKIP], version=2), "unsupported-version"),
        (pack([None, b"", 9]), "bad-reconcile"),
        (pack([None, b"", SKIP, b"x"]), "bad-reconcile"),
        (pack([None, b"", FINGERPRINT]), "bad-reconcile"),
        (pack([None, b"", FINGERPRINT, b"short"]), "bad-reconcile"),
        (pack([None, "text", SKIP]), "malformed"),
        (pack([None, None, SKIP]), "bad-reconcile"),
        (pack([None, b"\x01", SKIP]), "bad-reconcile"),
        (pack([5, b"\x00" * 33, SKIP]), "bad-reconcile"),
        (pack([-1, b"", SKIP]), "bad-reconcile"),
        (pack([True, b"", SKIP]), "bad-reconcile"),
        (pack([2**64 - 1, b"", SKIP], [1, b"", SKIP]), "bad-reconcile"),
        (pack([10, b"", SKIP], [0, b"", SKIP]), "bad-reconcile"),  # not above the last
        (pack([None, b"", SKIP], [None, b"", SKIP]), "bad-reconcile"),
        (pack([None, b"", IDLIST, b"\x01" * 33]), "bad-reconcile"),
        (pack([None, b"", IDLIST, b"\x01" * 64]), "bad-reconcile"),  # one id twice
        (pack([None, b"", IDLIST, b"\x01" * 32 * 32]), "bad-reconcile"),  # 32 ids: too many
        (pack([None, b"", DIFF, b"", b""]), "bad-reconcile"),  # we listed nothing
        (pack([None, b"", DIFF, bytes(range(32)) * 257, b""]), "bad-reconcile"),  # too many
    ],
)
def test_bad_messages_are_refused_with_a_code(message: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        side().receive(message)
    assert caught.value.code == code


def test_non_canonical_and_oversized_messages_are_refused() -> None:
    with pytest.raises(DecodeError) as caught:
        side().receive(b"\x92\xcc\x01\x90")  # 1 as a uint8: not its shortest form
    assert caught.value.code == "non-canonical"
    huge = pack([None, b"", SKIP]) + b"\x00" * MAX_MESSAGE_BYTES
    with pytest.raises(DecodeError) as caught:
        side().receive(huge)
    assert caught.value.code == "too-large"


def _listing_pair() -> tuple[Reconciler, bytes]:
    """A side that listed its 3 ids, and its message."""
    a = Reconciler(ItemSet(VECTOR_A))
    return a, a.initiate()


def test_a_diff_must_answer_exactly_the_range_listed() -> None:
    a, _ = _listing_pair()
    with pytest.raises(ProtocolError, match="did not list"):
        a.receive(pack([T0, b"", SKIP], [None, b"", DIFF, b"", b"\x01"]))


def test_a_diff_bitmap_must_have_one_bit_per_id_listed() -> None:
    for bits in (b"", b"\x01\x00", b"\x08"):  # too short, too long, a bit past the third
        a, _ = _listing_pair()
        with pytest.raises(ProtocolError, match="bitmap"):
            a.receive(pack([None, b"", DIFF, b"", bits]))


def test_a_diff_cannot_say_we_lack_an_id_we_listed() -> None:
    a, _ = _listing_pair()
    with pytest.raises(ProtocolError, match="lacks an id that it listed"):
        a.receive(pack([None, b"", DIFF, VECTOR_A[1][1], b"\x00"]))


def test_a_diff_is_taken_once() -> None:
    a, _ = _listing_pair()
    diff = pack([None, b"", DIFF, h(b"new"), b"\x00"])
    assert a.receive(diff) is None  # nothing left to say: this side ended
    with pytest.raises(ProtocolError, match="ended the reconciliation"):
        a.receive(diff)


def test_a_peer_that_never_agrees_is_cut_off_after_max_rounds() -> None:
    """A peer with a valid key that answers every range with a wrong fingerprint."""
    ours = side(2000)
    message = ours.initiate()
    for _ in range(MAX_ROUNDS):
        value = codec.decode(message, codec.Limits(max_bytes=MAX_MESSAGE_BYTES, max_items=99_999))
        lies = [[r[0], r[1], FINGERPRINT, b"\xee" * 16] for r in value[1] if r[2] != SKIP]
        answer = ours.receive(codec.encode([1, lies]))
        assert answer is not None
        message = answer
    with pytest.raises(ProtocolError) as caught:
        ours.receive(pack([None, b"", FINGERPRINT, b"\xee" * 16]))
    assert caught.value.code == "reconcile-too-long"


def test_the_whole_range_asked_again_and_again_is_cut_off() -> None:
    ours = side(100_000)
    ask = pack([None, b"", FINGERPRINT, b"\x00" * 16])
    for _ in range(MAX_ROUNDS):
        assert ours.receive(ask) is not None
    with pytest.raises(ProtocolError, match=f"within {MAX_ROUNDS} messages"):
        ours.receive(ask)


def test_many_tiny_ranges_give_an_answer_within_the_frame_limit() -> None:
    """A peer sends as many one-timestamp ranges as a message holds, all mismatching."""
    ours = Reconciler(ItemSet(items(random.Random(8), 50_000, spread=50_000)), frame_limit=20_000)
    ranges = [[1, b"", FINGERPRINT, b"\x01" * 16] for _ in range(10_000)]
    answer = ours.receive(codec.encode([1, ranges]))
    assert answer is not None
    assert len(answer) <= 20_000


@pytest.mark.parametrize(
    "bad",
    [
        [(-1, b"\x00" * 32)],
        [(2**64, b"\x00" * 32)],
        [(1, b"\x00" * 31)],
        [(1, "a" * 32)],
        [(1, b"\x00" * 32), (1, b"\x00" * 32)],
        [(1, b"\x00" * 32), (2, b"\x00" * 32)],
    ],
)
def test_local_items_are_checked(bad: list[Item]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        ItemSet(bad)


@pytest.mark.parametrize("limit", [MIN_FRAME_LIMIT - 1, MAX_MESSAGE_BYTES + 1])
def test_frame_limit_is_checked(limit: int) -> None:
    with pytest.raises(ValueError, match="frame_limit"):
        Reconciler(ItemSet([]), frame_limit=limit)


def test_reconcile_module_is_pure() -> None:
    code = (
        "import sys, protocol.reconcile\n"
        "print(','.join(m for m in ('aiohttp', 'aiosqlite', 'sqlite3', 'asyncio', 'socket')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tampered_messages_raise_only_protocol_errors() -> None:
    """Honest exchanges with fields or bytes of messages changed on the way: each either
    still ends or raises ProtocolError, never another exception and never a loop."""
    rng = random.Random(9)
    limits = codec.Limits(max_bytes=MAX_MESSAGE_BYTES, max_items=99_999)
    junk: list[object] = [None, 0, 1, 2, 3, 2**64 - 1, b"", b"\x01" * 16, b"\x02" * 33, True]
    for _ in range(300):
        base = items(rng, rng.choice([0, 5, 40, 600]), spread=1000)
        a = Reconciler(ItemSet(base + items(rng, rng.randrange(30), 1000)), frame_limit=16_384)
        b = Reconciler(ItemSet(base + items(rng, rng.randrange(30), 1000)), frame_limit=16_384)
        message: bytes | None = a.initiate()
        turn = 0
        try:
            while message is not None:
                if rng.random() < 0.3:
                    value = codec.decode(message, limits)
                    if value[1]:
                        target = rng.choice(value[1])
                        target[rng.randrange(len(target))] = rng.choice(junk)
                    message = codec.encode(value)
                elif rng.random() < 0.2:
                    at = rng.randrange(len(message))
                    message = message[:at] + bytes([rng.randrange(256)]) + message[at + 1 :]
                message = (b, a)[turn % 2].receive(message)
                turn += 1
        except ProtocolError:
            pass
        assert turn <= 2 * MAX_ROUNDS


def test_without_keep_need_nothing_of_the_peer_is_kept() -> None:
    rng = random.Random(7)
    common = items(rng, 500)
    a = Reconciler(ItemSet(common + items(rng, 40)), keep_need=False)
    b = Reconciler(ItemSet(common + items(rng, 60)))
    reconcile(a, b)
    assert a.need == set()
    assert len(a.have) == 40  # what this side holds and the peer lacks: still exact
    assert len(b.need) == 40


def test_the_whole_reconciliation_can_be_bounded() -> None:
    """Past max_ids or max_bytes the message is not read: OverBudget, not an error."""
    many = pack(*([T0 + n, b"", IDLIST, h(b"%d" % n)] for n in range(1, 11)))
    by_ids = Reconciler(ItemSet([]), max_ids=9)
    with pytest.raises(OverBudget):
        by_ids.receive(many)
    assert by_ids.need == set()
    by_bytes = Reconciler(ItemSet([]), max_bytes=len(many) - 1)
    with pytest.raises(OverBudget):
        by_bytes.receive(many)
    assert Reconciler(ItemSet([]), max_ids=10, max_bytes=len(many)).receive(many) is not None


def test_after_a_message_of_only_differences_only_the_end_may_follow() -> None:
    a, opening = _listing_pair()
    b = Reconciler(ItemSet(VECTOR_A[:1]))
    diff = b.receive(opening)  # a Diff only: it asks nothing
    assert diff is not None
    with pytest.raises(ProtocolError, match="only the end"):
        b.receive(opening)
    assert a.receive(diff) is None
