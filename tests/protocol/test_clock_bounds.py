"""What a peer's clocks may make us compare in one session (docs/protocol.md, "Limits
of a session"): pairs with ids counted, each frame with ids at least
MIN_ID_CLOCK_PAIRS, against MAX_ID_PAIRS; pure, with the module's real bounds."""

from collections.abc import Iterator
from functools import cache

import pytest

from protocol import frames
from protocol.errors import SessionLimit
from protocol.keys import NodeId
from protocol.replication import (
    MAX_ID_CLOCKS,
    MAX_ID_PAIRS,
    MAX_VIEW_AUTHORS,
    MIN_ID_CLOCK_PAIRS,
    Replication,
    clock_frames,
    id_clock_cost,
)

ID = b"i" * 32


def author(n: int) -> bytes:
    return n.to_bytes(32, "big")


def clock(pairs: int, *, first: int = 0, ids: bool = True, final: bool = False) -> frames.Clock:
    """A clock frame of ``pairs`` different authors from ``first`` on, with ids or not."""
    tail = [ID] if ids else []
    return frames.Clock([[author(first + i), 1, *tail] for i in range(pairs)], final=final)


@cache
def same_clock(pairs: int) -> frames.Clock:
    return clock(pairs)


def taken(sync: Replication, sizes: list[int]) -> int:
    """How many of the frames of these sizes (pairs with ids) the session takes before
    one ends it; ``len(sizes)``: all of them. The frames name the same authors again
    (built once: the count does not look at who they name)."""
    accepted, codes = 0, []
    for size in sizes:
        try:
            sync.receive_clock(same_clock(size))
        except SessionLimit as exc:
            codes.append(exc.code)
            break
        accepted += 1
    assert codes == ([] if accepted == len(sizes) else ["too-many-clocks"])
    return accepted


@pytest.mark.parametrize(
    ("heads", "cost"),
    [
        ([], 0),  # an empty frame: no trip to the database
        ([[b"a" * 32, 1]], 0),  # asking again, without ids: not counted
        ([[b"a" * 32, 1]] * 4096, 0),
        ([[b"a" * 32, 1, ID]], MIN_ID_CLOCK_PAIRS),  # one pair costs a trip all the same
        ([[b"a" * 32, 1, ID], [b"b" * 32, 1]], MIN_ID_CLOCK_PAIRS),
        ([[b"a" * 32, 1, ID]] * MIN_ID_CLOCK_PAIRS, MIN_ID_CLOCK_PAIRS),
        ([[b"a" * 32, 1, ID]] * (MIN_ID_CLOCK_PAIRS + 1), MIN_ID_CLOCK_PAIRS + 1),
        # pairs without ids in the frame are not compared: only those with ids count
        ([[b"a" * 32, 1, ID]] * 100 + [[b"b" * 32, 1]] * 100, 100),
        # one author named again and again is compared once, but counted as sent
        ([[b"a" * 32, 1, ID]] * 4096, 4096),
    ],
)
def test_what_a_clock_frame_counts(heads: list[list[object]], cost: int) -> None:
    assert id_clock_cost(frames.Clock(heads)) == cost


@pytest.mark.parametrize(
    ("sizes", "accepted"),
    [
        # the reference's opening clock of twice the view's bound: 512 full frames
        ([frames.MAX_CLOCK_PAIRS] * 512, 512),
        ([frames.MAX_CLOCK_PAIRS] * 512 + [1], 512),  # and not one pair more
        ([frames.MAX_CLOCK_PAIRS] * 511 + [4095, 1], 512),  # the pair past the bound
        ([frames.MAX_CLOCK_PAIRS] * 511 + [4032, 1], 513),  # 64 left: a one-pair frame fits
        ([frames.MAX_CLOCK_PAIRS] * 511 + [4033, 1], 512),  # 63 left: it does not
        # a clock cut smaller, down to 64 pairs a frame, is charged what it carries
        ([MIN_ID_CLOCK_PAIRS] * MAX_ID_CLOCKS, MAX_ID_CLOCKS),
        ([MIN_ID_CLOCK_PAIRS] * MAX_ID_CLOCKS + [1], MAX_ID_CLOCKS),
        ([1000] * 2097 + [152], 2098),  # 2,097,152 pairs in odd frames
    ],
)
def test_a_session_takes_pairs_with_ids_up_to_the_bound(sizes: list[int], accepted: int) -> None:
    sync = Replication(max_view=0)  # the view's own bound is not what is tested here
    assert taken(sync, sizes) == accepted


def test_a_hostile_peer_sending_one_pair_frames_gets_a_trip_per_64_pairs_of_budget() -> None:
    """One pair a frame, each a trip to the database: before, 512 such frames ended the
    session; counted by pairs alone, 2,097,152 would have been taken, 4,096 times the
    trips of a full clock. Each costs 64 pairs: 32,768 trips, then the session ends."""
    sync = Replication(max_view=0)
    assert taken(sync, [1] * (MAX_ID_CLOCKS + 10)) == MAX_ID_CLOCKS == 32_768
    assert sync.id_pairs == MAX_ID_PAIRS
    with pytest.raises(SessionLimit):  # and so on, for as long as the session would last
        sync.receive_clock(clock(1))
    assert sync.receive_clock(clock(3, ids=False)) == []  # asking again still goes


def test_the_frame_past_the_bound_is_refused_whole() -> None:
    sync = Replication(max_id_pairs=100, min_id_clock_pairs=10)
    sync.receive_clock(clock(95, first=0))
    with pytest.raises(SessionLimit):
        sync.receive_clock(clock(2, first=1000))  # 10 at least: 105
    assert sync.id_pairs == 95
    assert NodeId(author(1000)) not in sync.view  # nothing of it merged


def honest_clock(authors: int, pairs_per_frame: int) -> Iterator[frames.Clock]:
    """An honest opening clock of ``authors`` authors cut in frames of
    ``pairs_per_frame``, each frame built when it is sent (a generator: 2**20 pairs
    at once would hold some 300 MB)."""
    for first in range(0, authors, pairs_per_frame):
        size = min(pairs_per_frame, authors - first)
        yield clock(size, first=first, final=first + size == authors)


@pytest.mark.parametrize("pairs_per_frame", [MIN_ID_CLOCK_PAIRS, 100])
def test_an_honest_clock_of_the_views_bound_in_small_frames_is_taken(
    pairs_per_frame: int,
) -> None:
    """An implementation may cut its opening clock in frames as small as it likes; of
    2**20 authors (the view's bound) in frames of 64 pairs (16,384 frames, 32 times the
    old bound of 512 frames), every one is taken and the session goes on."""
    sync = Replication()
    frames_sent = 0
    for frame in honest_clock(MAX_VIEW_AUTHORS, pairs_per_frame):
        compared = sync.receive_clock(frame)
        assert len(compared) == len(frame.heads)
        frames_sent += 1
    assert frames_sent == -(-MAX_VIEW_AUTHORS // pairs_per_frame)
    assert len(sync.view) == MAX_VIEW_AUTHORS
    assert sync.id_pairs <= MAX_ID_PAIRS // 2 + MIN_ID_CLOCK_PAIRS  # half the budget: room
    assert sync.to_complete() is None  # the opening clock: every head is read


def test_an_honest_clock_in_frames_of_half_the_minimum_fits_exactly() -> None:
    """Frames of 32 pairs are each charged 64: a clock of 2**20 authors uses the
    session's whole budget, and a clock one frame longer would not fit."""
    sync = Replication(max_view=0)
    for frame in honest_clock(MAX_VIEW_AUTHORS, MIN_ID_CLOCK_PAIRS // 2):
        sync.receive_clock(frame)
    assert sync.id_pairs == MAX_ID_PAIRS
    with pytest.raises(SessionLimit):
        sync.receive_clock(clock(1, first=MAX_VIEW_AUTHORS))


def test_the_reference_cuts_its_clock_in_full_frames() -> None:
    """Our own clock of N authors costs a peer's bound N pairs (plus at most 63 for its
    last frame): the reference never sends a small frame but the last."""
    heads = [(NodeId(author(i)), 1, ID) for i in range(3 * frames.MAX_CLOCK_PAIRS + 5)]
    sent = clock_frames(heads)
    assert [id_clock_cost(f) for f in sent] == [4096, 4096, 4096, MIN_ID_CLOCK_PAIRS]


@pytest.mark.parametrize(
    ("counted", "pairs", "accepted"),
    [
        # docs/protocol.md, "Limits of a session": the worked examples
        (2_097_100, 40, False),  # 64 at least: 2,097,164
        (2_097_100, 1, False),
        (2_097_088, 1, True),  # 2,097,152: the bound exactly
        (2_097_088, 64, True),
        (2_097_088, 65, False),
        (MAX_ID_PAIRS, 1, False),  # once full, any frame with ids is refused
    ],
)
def test_the_documented_examples(counted: int, pairs: int, accepted: bool) -> None:
    sync = Replication()
    sync.id_pairs = counted
    if accepted:
        sync.receive_clock(clock(pairs))
        assert sync.id_pairs == counted + max(pairs, MIN_ID_CLOCK_PAIRS)
    else:
        with pytest.raises(SessionLimit):
            sync.receive_clock(clock(pairs))
        assert sync.id_pairs == counted
    sync.receive_clock(clock(pairs, ids=False))  # without ids: never refused, never counted
    assert sync.id_pairs == counted + (max(pairs, MIN_ID_CLOCK_PAIRS) if accepted else 0)
