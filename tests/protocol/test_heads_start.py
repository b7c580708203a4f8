"""Session start by reconciliation of heads, as a pure state machine (protocol/replication.py,
docs/protocol.md "Session start"): two sides in memory, the frames carried by hand."""

from __future__ import annotations

import hashlib
import random
import tracemalloc

import pytest

from protocol import codec, frames
from protocol.errors import ProtocolError
from protocol.handshake import DiallerHandshake, ListenerHandshake
from protocol.keys import NodeId
from protocol.reconcile import FINGERPRINT, IDLIST, ItemSet, Reconciler
from protocol.replication import (
    START_BYTES,
    START_BYTES_PER_HEAD,
    START_IDS,
    START_IDS_PER_HEAD,
    Head,
    HeadItems,
    HeadSet,
    HeadsStart,
    Replication,
    head_item,
)
from tests.helpers import NOW, key

T = 1_790_000_000_000


def author(n: int) -> NodeId:
    return NodeId(hashlib.blake2b(n.to_bytes(4, "big"), digest_size=32, person=b"author").digest())


def head(n: int, seq: int = 1) -> Head:
    entry_id = hashlib.blake2b(author(n).key + seq.to_bytes(4, "big"), digest_size=32).digest()
    return Head(author(n), seq, entry_id, T + n * 1000 + seq)


Run = tuple[HeadsStart, HeadsStart, list[frames.Frame], list[int]]


def run(a: HeadSet, b: HeadSet, sent_by: dict[str, list[frames.Clock]] | None = None) -> Run:
    """Run a start between a (dialler) and b; return both sides, the clock frames they
    sent, and the sizes of the reconcile frames on the wire. ``sent_by`` gets each
    side's clock frames ("dialler", "listener")."""
    dialler = HeadsStart(a, initiator=True, give_up_below=0)
    listener = HeadsStart(b, initiator=False, give_up_below=0)
    clocks: list[frames.Frame] = []
    by = {} if sent_by is None else sent_by
    sizes: list[int] = []
    queue: list[tuple[HeadsStart, frames.Frame]] = [(listener, dialler.first())]
    while queue:
        side, frame = queue.pop(0)
        other = dialler if side is listener else listener
        if isinstance(frame, frames.Clock):
            clocks.append(frame)
            by.setdefault("listener" if side is dialler else "dialler", []).append(frame)
            continue
        assert isinstance(frame, frames.Reconcile)
        sizes.append(len(frames.encode(frame)))
        # Through the wire: the frame decodes to what was sent.
        assert frames.decode(frames.encode(frame)) == frame
        queue.extend((other, out) for out in side.receive(frame))
    assert dialler.done
    assert listener.done
    return dialler, listener, clocks, sizes


def pairs(clocks: list[frames.Frame]) -> list[NodeId]:
    return [NodeId(p[0]) for c in clocks if isinstance(c, frames.Clock) for p in c.heads]


def test_equal_heads_cost_one_message_each_way_and_an_empty_clock() -> None:
    heads = HeadSet.of(head(n) for n in range(1000))
    dialler, _listener, clocks, sizes = run(heads, HeadSet.of(head(n) for n in range(1000)))
    assert pairs(clocks) == []
    assert len(clocks) == 2
    assert all(isinstance(c, frames.Clock) and c.final for c in clocks)
    assert sum(sizes) < 1000  # 16 fingerprints, then "nothing more"
    assert set(dialler.equal()) == {(author(n), 1) for n in range(1000)}


def test_only_the_authors_whose_heads_differ_are_in_the_clocks() -> None:
    ours = [head(n) for n in range(10_000)]
    theirs = list(ours)
    theirs[5] = head(5, seq=2)  # the listener holds a newer entry of author 5
    ours[7] = head(7, seq=3)  # the dialler holds a newer entry of author 7
    ours.append(head(20_000))  # an author only the dialler holds
    dialler, listener, clocks, sizes = run(HeadSet.of(ours), HeadSet.of(theirs))
    named = sorted([author(5), author(7), author(7), author(5), author(20_000)], key=bytes)
    assert sorted(pairs(clocks), key=bytes) == named
    assert {h.author for h in dialler.differing()} == {author(5), author(7), author(20_000)}
    assert {h.author for h in listener.differing()} == {author(5), author(7)}
    equal = dict(listener.equal())
    assert len(equal) == 9998
    assert author(5) not in equal
    assert equal[author(0)] == 1
    assert sum(sizes) < 20_000


def test_the_view_from_a_start_sends_only_what_the_peer_lacks() -> None:
    """Equal heads go in the view (level), differing ones come by clock, as today."""
    ours = [head(n) for n in range(100)] + [head(100, seq=4)]
    theirs = [head(n) for n in range(100)] + [head(100, seq=2)]
    sent_by: dict[str, list[frames.Clock]] = {}
    dialler, _listener, _clocks, _ = run(HeadSet.of(ours), HeadSet.of(theirs), sent_by)
    sync = Replication()
    sync.level(dialler.equal())
    for clock in sent_by["listener"]:
        sync.receive_clock(clock)
    sync.clock_complete({h.author: h.seq for h in ours})
    assert sync.dirty == {author(100)}
    assert sync.view[author(100)] == 2
    assert sync.view[author(0)] == 1


def test_an_empty_side_lists_nothing_and_learns_every_author() -> None:
    dialler, _listener, clocks, _ = run(HeadSet.of([]), HeadSet.of(head(n) for n in range(50)))
    assert len(pairs(clocks)) == 50
    assert list(dialler.equal()) == []


def test_a_fork_shows_as_a_differing_head_with_its_id() -> None:
    ours, theirs = head(1, seq=3), Head(author(1), 3, b"f" * 32, T)
    _, _, clocks, _ = run(HeadSet.of([ours]), HeadSet.of([theirs]))
    sent = [p for c in clocks if isinstance(c, frames.Clock) for p in c.heads]
    assert sorted(sent) == sorted([[author(1).key, 3, ours.id], [author(1).key, 3, b"f" * 32]])


def test_the_item_of_a_head() -> None:
    ts, item = head_item(NodeId(b"a" * 32), b"i" * 32, 5)
    assert ts == 5
    assert item == hashlib.blake2b(b"a" * 32 + b"i" * 32, digest_size=32).digest()


def test_head_items_share_one_snapshot_until_a_head_moves() -> None:
    items = HeadItems()
    items.replace([head(1), head(2)])
    first = items.snapshot()
    assert items.snapshot() is first
    items.put(head(1))  # unchanged: still shared
    assert items.snapshot() is first
    items.put(head(1, seq=2))
    second = items.snapshot()
    assert second is not first
    assert len(second) == 2
    items.drop(author(2))
    assert len(items.snapshot()) == 1
    items.drop(author(2))  # not held: nothing to rebuild
    assert len(items.snapshot()) == 1


def test_a_side_with_few_heads_gives_up_for_its_full_clock() -> None:
    """Fewer than 32 heads: the other side's pairs must cross anyway, so its ids first
    would only add bytes. The dialler gives up before it starts, the listener on the
    opening; one with more heads reconciles."""
    few = HeadSet.of(head(n) for n in range(31))
    many = HeadSet.of(head(n) for n in range(32))
    assert HeadsStart(few, initiator=True).small
    assert not HeadsStart(many, initiator=True).small
    listener = HeadsStart(few, initiator=False)
    assert listener.receive(HeadsStart(many, initiator=True).first()) == []
    assert listener.gave_up
    assert not listener.running
    big = HeadsStart(many, initiator=False)
    assert big.receive(HeadsStart(few, initiator=True).first())  # it reconciles
    dialler = HeadsStart(few, initiator=True)
    dialler.give_up()
    assert not dialler.running


# -- what a peer with a valid key may send -----------------------------------------


def forty() -> HeadSet:
    """Enough heads that a side reconciles rather than give up."""
    return HeadSet.of(head(n) for n in range(40))


def test_a_frame_out_of_turn_is_refused() -> None:
    listener = HeadsStart(forty(), initiator=False)
    dialler = HeadsStart(forty(), initiator=True)
    with pytest.raises(ProtocolError) as caught:
        dialler.receive(frames.Reconcile(frames.HEADS_SET, b"\x92\x01\x90"))
    assert caught.value.code == "bad-frame"  # the dialler speaks first
    answer = listener.receive(dialler.first())
    with pytest.raises(ProtocolError):  # the listener answered and is done: nothing more
        listener.receive(frames.Reconcile(frames.HEADS_SET, b""))
    assert answer
    assert listener.done


def test_an_end_before_anything_was_said_fails_the_start() -> None:
    listener = HeadsStart(forty(), initiator=False)
    with pytest.raises(ProtocolError) as caught:
        listener.receive(frames.Reconcile(frames.HEADS_SET, b""))
    assert caught.value.code == "bad-reconcile"
    assert listener.failed


def test_another_set_fails_the_start() -> None:
    listener = HeadsStart(forty(), initiator=False)
    with pytest.raises(ProtocolError) as caught:
        listener.receive(frames.Reconcile("offers", b"\x92\x01\x90"))
    assert caught.value.code == "bad-reconcile"
    assert listener.failed


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        (b"\xc1", "malformed"),
        (b"\x92\x02\x90", "unsupported-version"),
        (b"\x92\x01\x91\x93\xc0\xc4\x00\x07", "bad-reconcile"),  # unknown mode
    ],
)
def test_a_bad_message_fails_the_start(msg: bytes, code: str) -> None:
    listener = HeadsStart(forty(), initiator=False)
    with pytest.raises(ProtocolError) as caught:
        listener.receive(frames.Reconcile(frames.HEADS_SET, msg))
    assert caught.value.code == code
    assert listener.failed
    assert not listener.running


def test_a_peer_that_never_agrees_is_cut_off() -> None:
    """A peer that keeps sending mismatching fingerprints: reconcile-too-long, not a loop."""
    listener = HeadsStart(HeadSet.of(head(n) for n in range(100)), initiator=False)
    liar = HeadsStart(HeadSet.of(head(n) for n in range(100, 200)), initiator=True)
    first = liar.first()

    def answer_for_ever() -> None:
        for _ in range(200):
            listener.receive(first)  # always the same opening: always a fresh split
            listener._expecting = True  # the liar pretends each answer was never sent

    with pytest.raises(ProtocolError) as caught:
        answer_for_ever()
    assert caught.value.code == "reconcile-too-long"


@pytest.mark.parametrize(
    "features",
    [
        ["reconcile", "reconcile"],
        ["Reconcile"],
        ["x" * 33],
        ["a"] * 33,
        "reconcile",
        [1],
    ],
)
def test_features_must_be_short_distinct_words(features: object) -> None:
    hello = {"t": "hello", "v": 1, "node": bytes(32), "nonce": bytes(32), "time": 1}
    from protocol import codec

    with pytest.raises(ProtocolError) as caught:
        frames.decode(codec.encode({**hello, "features": features}))
    assert caught.value.code == "bad-frame"


def test_unknown_features_are_kept_but_not_shared() -> None:
    hello = frames.Hello(bytes(32), bytes(32), 1, features=["reconcile", "teleport"])
    assert frames.decode(frames.encode(hello)) == hello


@pytest.mark.parametrize(
    "fields",
    [
        {"set": "Heads", "msg": b""},
        {"set": "heads", "msg": "text"},
        {"set": "heads", "msg": b"\x00" * (frames.MAX_RECONCILE_BYTES + 1)},
        {"set": "heads"},
    ],
)
def test_a_reconcile_frame_of_the_wrong_shape(fields: dict[str, object]) -> None:
    from protocol import codec

    with pytest.raises(ProtocolError) as caught:
        frames.decode(codec.encode({"t": "reconcile", "v": 1, **fields}))
    assert caught.value.code == "bad-frame"


# -- features in the handshake ---------------------------------------------------


@pytest.mark.parametrize(
    ("dialler", "listener", "shared"),
    [
        (["reconcile"], ["reconcile"], {"reconcile"}),
        (["reconcile", "search"], ["reconcile", "teleport"], {"reconcile"}),
        (["reconcile"], [], set()),  # a listener that predates features
        ([], ["reconcile"], set()),  # a dialler that predates them
    ],
)
def test_a_feature_is_used_only_when_both_announce_it(
    dialler: list[str], listener: list[str], shared: set[str]
) -> None:
    d = DiallerHandshake(key(1), nonce=bytes([7]) * 32, now_ms=NOW, expected=None, features=dialler)
    li = ListenerHandshake(key(2), nonce=bytes([8]) * 32, now_ms=NOW, features=listener)
    welcome = li.receive_hello(d.hello_bytes)
    li.receive_auth(d.receive_welcome(welcome))
    assert d.shared == li.shared == shared
    hello = frames.decode(d.hello_bytes)
    assert isinstance(hello, frames.Hello)
    assert hello.features == (sorted(dialler) or None)  # left out when there are none
    # A node that predates features reads the hello all the same: unknown keys are ignored.
    assert "features" not in frames.encode(frames.Welcome(bytes(32), bytes(32), bytes(64))).decode(
        "latin-1"
    )


def test_head_items_kept_up_to_date_match_a_set_built_afresh() -> None:
    """Moves, new authors and drops in any order: every snapshot equals HeadSet.of the
    heads held at that moment (same order, same fingerprints), and an earlier snapshot
    never changes under the sessions that use it."""
    rng = random.Random(5)
    held = {author(n): head(n) for n in range(300)}
    items = HeadItems()
    items.replace(held.values())
    kept: list[tuple[HeadSet, list[tuple[int, bytes]], bytes]] = []
    for step in range(400):
        n = rng.randrange(400)
        if rng.random() < 0.15:
            held.pop(author(n), None)
            items.drop(author(n))
        else:
            moved = head(n, seq=rng.randrange(1, 50))
            held[author(n)] = moved
            items.put(moved)
        if step % 7 == 0:
            snap, fresh = items.snapshot(), HeadSet.of(held.values())
            assert snap.items.items == fresh.items.items
            assert snap.by_item == fresh.by_item
            count = len(fresh)
            assert snap.items.fingerprint(0, count) == fresh.items.fingerprint(0, count)
            assert snap.items.fingerprint(count // 3, count) == fresh.items.fingerprint(
                count // 3, count
            )
            kept.append((snap, list(snap.items.items), snap.items.fingerprint(0, count)))
    for snap, order, print_ in kept:
        assert snap.items.items == order
        assert snap.items.fingerprint(0, len(order)) == print_


# -- the bounds of one start (issue 23, item 3) ---------------------------------------


def made_up_ids(ranges: int = 250) -> bytes:
    """A message of ``ranges`` lists of 31 made-up ids, then a wrong fingerprint of the
    rest, so that the answer always asks something and the peer may go on."""
    body: list[list[object]] = [[1, b"", IDLIST, random.randbytes(32 * 31)] for _ in range(ranges)]
    body.append([None, b"", FINGERPRINT, b"\xee" * 16])
    return codec.encode([1, body])


def test_a_peer_listing_made_up_ids_makes_the_start_give_up_with_little_memory() -> None:
    """128 messages of made-up ids once held a million of them (93 MB) for the whole
    session. The start keeps none of the peer's ids and gives up, for its full clock,
    once the peer has listed more than START_IDS + 4 ids per head held."""
    listener = HeadsStart(HeadSet.of(head(n) for n in range(2000)), initiator=False)
    budget = START_IDS + START_IDS_PER_HEAD * 2000
    tracemalloc.start()
    try:
        answered = 0
        while listener.running:
            out = listener.receive(frames.Reconcile(frames.HEADS_SET, made_up_ids()))
            answered += bool(out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert listener.gave_up
    assert not listener.failed  # no strike: clocks cost less than such a reconciliation
    assert answered == budget // (250 * 31)  # the message past the budget is not read
    assert peak < 4 * 2**20
    with pytest.raises(ProtocolError) as caught:  # and then nothing more is read
        listener.receive(frames.Reconcile(frames.HEADS_SET, made_up_ids()))
    assert caught.value.code == "bad-frame"


def test_the_bytes_a_start_reads_are_bounded() -> None:
    """Fingerprints only (no ids): the bytes bound stops it, long before 128 x 256 KiB."""
    listener = HeadsStart(HeadSet.of(head(n) for n in range(100)), initiator=False)
    wrong = [[1, b"", FINGERPRINT, random.randbytes(16)] for _ in range(10_000)]
    wrong.append([None, b"", FINGERPRINT, b"\xee" * 16])
    message = codec.encode([1, wrong])
    received = 0
    while listener.running:
        listener.receive(frames.Reconcile(frames.HEADS_SET, message))
        received += len(message)
    assert listener.gave_up
    assert received <= START_BYTES + START_BYTES_PER_HEAD * 100 + len(message)


def test_a_peer_holding_ten_times_our_heads_is_met_by_clocks() -> None:
    """An honest peer with far more heads lists more ids than we hold: we give up for
    our full clock, which the peer answers with its own (no strike either side)."""
    ours = HeadSet.of(head(n) for n in range(1000))
    theirs = HeadSet.of(head(n) for n in range(20_000))
    dialler = HeadsStart(ours, initiator=True)
    listener = HeadsStart(theirs, initiator=False)
    frame: frames.Frame = dialler.first()
    side, other = listener, dialler
    while dialler.running and listener.running:
        assert isinstance(frame, frames.Reconcile)
        out = side.receive(frame)
        if not out:
            break
        (frame,) = out
        side, other = other, side
    assert dialler.gave_up or listener.gave_up
    assert not dialler.failed
    assert not listener.failed


def test_two_large_sides_that_differ_a_little_stay_within_the_bounds() -> None:
    common = [head(n) for n in range(20_000)]
    dialler, listener, _clocks, _sizes = run(
        HeadSet.of(common + [head(n) for n in range(30_000, 30_500)]),
        HeadSet.of(common + [head(n) for n in range(40_000, 40_500)]),
    )
    assert len(dialler.differing()) == len(listener.differing()) == 500


def test_after_a_message_that_asks_nothing_only_the_end_may_follow() -> None:
    """A Diff answers; the peer must then end. Another message is out of turn."""
    listener = HeadsStart(forty(), initiator=False)
    peer = Reconciler(ItemSet([(T, random.randbytes(32)) for _ in range(10)]))
    opening = frames.Reconcile(frames.HEADS_SET, peer.initiate())  # a list of ten ids
    (answer,) = listener.receive(opening)  # a Diff: it asks nothing
    assert isinstance(answer, frames.Reconcile)
    assert answer.msg
    with pytest.raises(ProtocolError) as caught:
        listener.receive(opening)
    assert caught.value.code == "bad-reconcile"
    assert listener.failed
    with pytest.raises(ProtocolError) as again:  # after the failure: out of turn
        listener.receive(frames.Reconcile(frames.HEADS_SET, b""))
    assert again.value.code == "bad-frame"


def test_a_peer_that_gave_up_ends_the_start() -> None:
    listener = HeadsStart(forty(), initiator=False)
    listener.peer_gave_up()
    assert listener.failed
    with pytest.raises(ProtocolError) as caught:
        listener.receive(HeadsStart(forty(), initiator=True).first())
    assert caught.value.code == "bad-frame"
