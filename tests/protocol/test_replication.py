"""The sync rules as a pure state machine (docs/protocol.md, "Sync"), with no node around it."""

from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import frames
from protocol.errors import ProtocolError, SessionLimit
from protocol.keys import NodeId
from protocol.replication import (
    BATCH_BYTES,
    MAX_EVIDENCE,
    MAX_ID_CLOCKS,
    MAX_ID_PAIRS,
    MAX_RETRIES,
    MAX_VIEW_AUTHORS,
    MIN_ID_CLOCK_PAIRS,
    WINDOW,
    Replication,
    ack_for,
)

A, B, C = NodeId(b"a" * 32), NodeId(b"b" * 32), NodeId(b"c" * 32)
ID = b"i" * 32


def wire(author: NodeId, seq: int, size: int = 10) -> bytes:
    """Stand-in entry bytes: the state machine never looks inside them."""
    return (author.key[:1] + seq.to_bytes(4, "big")).ljust(size, b".")


def rows(author: NodeId, after: int, upto: int, size: int = 10) -> list[tuple[int, bytes]]:
    return [(seq, wire(author, seq, size)) for seq in range(after + 1, upto + 1)]


def fill(sync: Replication, logs: dict[NodeId, int], size: int = 10) -> frames.Entries | None:
    """Build one batch the way a session does, reading from ``logs`` (author -> head)."""
    batch = sync.start_batch()
    while (read := batch.next_read()) is not None:
        batch.add(
            rows(read.author, read.after, min(logs[read.author], read.after + read.limit), size)
        )
    return batch.finish()


def test_clock_raises_the_view_and_never_lowers_it() -> None:
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 5], [B.key, 2]]))
    sync.receive_clock(frames.Clock([[A.key, 3], [C.key, 1]]))
    assert sync.view == {A: 5, B: 2, C: 1}


def test_clock_returns_the_pairs_with_head_ids_to_compare() -> None:
    sync = Replication()
    assert sync.receive_clock(frames.Clock([[A.key, 5, ID], [B.key, 2]])) == [(A, 5, ID)]


def test_final_clock_marks_dirty_what_we_hold_beyond_the_view() -> None:
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 5], [B.key, 7]]))
    sync.clock_complete({A: 6, B: 7, C: 1})
    assert sync.dirty == {A, C}


def test_a_batch_sends_what_the_peer_lacks_and_moves_the_view_ahead() -> None:
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 4, B: 1})
    frame = fill(sync, {A: 4, B: 1})
    assert frame is not None
    assert frame.batch == 1
    assert sorted(frame.entries) == sorted([wire(A, 3), wire(A, 4), wire(B, 1)])
    assert sync.view == {A: 4, B: 1}  # optimistic: the ack corrects it
    assert sync.in_flight == {1: {A: 4, B: 1}}
    assert not sync.dirty
    assert fill(sync, {A: 4, B: 1}) is None  # nothing more: no batch, no number used


def test_the_read_starts_after_the_view_with_the_room_left() -> None:
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 10]]))
    sync.mark_dirty([A])
    batch = sync.start_batch()
    read = batch.next_read()
    assert read is not None
    assert (read.author, read.after, read.limit) == (A, 10, frames.MAX_BATCH_ENTRIES)


def test_a_long_log_takes_several_batches_of_at_most_256() -> None:
    sync = Replication()
    sync.mark_dirty([A])
    sizes = []
    while (frame := fill(sync, {A: 600})) is not None:
        sizes.append(len(frame.entries))
    assert sizes == [256, 256, 88]
    assert sync.view[A] == 600
    assert list(sync.in_flight) == [1, 2, 3]


def test_a_batch_stops_before_its_bytes_pass_the_limit() -> None:
    sync = Replication()
    sync.mark_dirty([A])
    size = 100_000
    frame = fill(sync, {A: 20}, size)
    assert frame is not None
    assert len(frame.entries) == BATCH_BYTES // size
    assert sync.dirty == {A}  # the rest in the next batch
    assert sync.view[A] == len(frame.entries)


def test_one_entry_larger_than_the_limit_still_goes_alone() -> None:
    sync = Replication()
    sync.mark_dirty([A])
    frame = fill(sync, {A: 2}, BATCH_BYTES + 1)
    assert frame is not None
    assert len(frame.entries) == 1


def test_an_ack_that_covers_everything_never_moves_the_view_back() -> None:
    sync = Replication()
    sync.mark_dirty([A])
    fill(sync, {A: 300})  # batch 1: 1..256
    fill(sync, {A: 300})  # batch 2: 257..300
    result = sync.acknowledged(frames.Ack(1, [[A.key, 256]]))
    assert result.window
    assert result.resend == ()
    assert sync.view[A] == 300  # batch 2 is on its way


def test_a_shortfall_resends_from_the_peers_head_then_gives_up() -> None:
    sync = Replication()
    for attempt in range(MAX_RETRIES + 1):
        sync.mark_dirty([A])
        frame = fill(sync, {A: 5})
        assert frame is not None
        result = sync.acknowledged(frames.Ack(frame.batch, [[A.key, 0]]))  # refused (blocked)
        assert sync.view[A] == 0
        if attempt < MAX_RETRIES:
            assert result.resend == (A,)
            assert A in sync.dirty
        else:
            assert result.resend == ()
            assert A in sync.declined
    sync.mark_dirty([A])
    assert fill(sync, {A: 5}) is None  # declined for the rest of the session
    assert sync.idle


def test_an_author_missing_from_the_ack_keeps_its_view() -> None:
    sync = Replication()
    sync.mark_dirty([A])
    frame = fill(sync, {A: 3})
    assert frame is not None
    sync.acknowledged(frames.Ack(frame.batch, []))
    assert sync.view[A] == 3


def test_an_ack_for_an_unknown_batch_is_refused() -> None:
    sync = Replication()
    with pytest.raises(ProtocolError) as caught:
        sync.acknowledged(frames.Ack(7, []))
    assert caught.value.code == "bad-frame"


def test_evidence_is_numbered_like_batches_but_outside_the_window() -> None:
    sync = Replication()
    evidence = sync.evidence(b"fork")
    sync.mark_dirty([A])
    frame = fill(sync, {A: 1})
    assert frame is not None
    assert (evidence.batch, frame.batch) == (1, 2)
    assert not sync.idle
    assert not sync.acknowledged(frames.Ack(1, [[A.key, 1]])).window
    assert sync.acknowledged(frames.Ack(2, [[A.key, 1]])).window
    assert sync.idle


def test_what_the_peer_sent_us_is_never_sent_back() -> None:
    sync = Replication()
    sync.held(A, 4)
    sync.held(A, 2)
    sync.mark_dirty([A])
    assert sync.view[A] == 4
    assert fill(sync, {A: 4}) is None


def test_authors_being_stored_wait_until_the_view_covers_what_was_stored() -> None:
    """The commit marks the batch's authors dirty before the session knows what it
    stored: nothing of them is sent meanwhile, and afterwards only what the view lacks."""
    sync = Replication()
    sync.storing([A, B])
    sync.mark_dirty([A, B, C])  # the commit's listener, in every session
    frame = fill(sync, {A: 5, B: 3, C: 2})
    assert frame is not None
    assert frame.entries == [wire(C, 1), wire(C, 2)]
    assert not sync.dirty
    assert not sync.idle
    sync.stored([(A, 5), (B, 2)])  # B's entry 3 was refused: ours still goes
    assert fill(sync, {A: 5, B: 3, C: 2}) == frames.Entries(2, [wire(B, 3)])
    sync.acknowledged(frames.Ack(1, [[C.key, 2]]))
    sync.acknowledged(frames.Ack(2, [[B.key, 3]]))
    assert sync.idle


def test_behind_counts_what_the_peer_holds_beyond_us_except_blocked() -> None:
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 10], [B.key, 3], [C.key, 8]]))
    assert sync.behind({A: 4, B: 5}, blocked={C}) == 6


def test_ack_for_lists_each_author_sorted() -> None:
    assert ack_for(3, {B: 2, A: 0}) == frames.Ack(3, [[A.key, 0], [B.key, 2]])


class Side:
    """One end of a session over an in-memory store of logs (author -> entries)."""

    def __init__(self, logs: dict[NodeId, list[bytes]]) -> None:
        self.logs = logs
        self.sync = Replication()
        self.received = 0

    def heads(self) -> dict[NodeId, int]:
        return {a: len(log) for a, log in self.logs.items()}

    def clock(self) -> frames.Clock:
        return frames.Clock([[a.key, seq] for a, seq in self.heads().items()])

    def batches(self) -> list[frames.Entries]:
        out = []
        while len(self.sync.in_flight) < 4 and (frame := self._one()) is not None:
            out.append(frame)
        return out

    def _one(self) -> frames.Entries | None:
        batch = self.sync.start_batch()
        while (read := batch.next_read()) is not None:
            log = self.logs.get(read.author, [])
            chosen = log[read.after : read.after + read.limit]
            batch.add([(read.after + 1 + i, w) for i, w in enumerate(chosen)])
        return batch.finish()

    def receive(self, frame: frames.Entries) -> frames.Ack:
        authors = set()
        for entry in frame.entries:
            author, seq = NodeId(entry[:1] * 32), int.from_bytes(entry[1:5], "big")
            log = self.logs.setdefault(author, [])
            if seq == len(log) + 1:
                log.append(entry)
                self.received += 1
            if seq <= len(log):
                self.sync.held(author, seq)
            authors.add(author)
        heads = self.heads()
        return ack_for(frame.batch, {a: heads.get(a, 0) for a in authors})


def exchange(one: Side, two: Side, frames_in_order: Sequence[frames.Entries]) -> None:
    for frame in frames_in_order:
        ack = two.receive(frame)
        one.sync.acknowledged(ack)


def test_two_sides_wired_in_memory_converge_without_sending_anything_twice() -> None:
    left = Side({A: [wire(A, s) for s in range(1, 701)], B: [wire(B, 1)]})
    right = Side({B: [wire(B, 1), wire(B, 2)], C: [wire(C, s) for s in range(1, 41)]})
    for me, other in ((left, right), (right, left)):
        me.sync.receive_clock(other.clock())
    for me in (left, right):
        me.sync.clock_complete(me.heads())
    for _ in range(10):
        sent_left, sent_right = left.batches(), right.batches()
        if not sent_left and not sent_right:
            break
        exchange(left, right, sent_left)
        exchange(right, left, sent_right)
    assert left.logs == right.logs
    assert (right.received, left.received) == (700, 41)  # exactly what each lacked
    assert left.sync.idle
    assert right.sync.idle


def test_a_peers_clocks_cannot_make_us_remember_more_authors_than_the_bound() -> None:
    sync = Replication(max_view=3)
    authors = [NodeId(bytes([i]) * 32) for i in range(6)]
    for author in authors:  # one clock frame each: a clock may come in any number
        sync.receive_clock(frames.Clock([[author.key, 5]], final=False))
    assert set(sync.view) == set(authors[:3])
    sync.receive_clock(frames.Clock([[authors[0].key, 9], [authors[5].key, 9]]))
    assert sync.view == {authors[0]: 9, authors[1]: 5, authors[2]: 5}  # known ones still move


def test_a_clock_later_in_the_session_asks_again_for_an_author_given_up_on() -> None:
    # A receiver holding entries back past their author's budget asks again when
    # their time comes (docs/protocol.md, "Budget").
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 0]]))
    for _ in range(MAX_RETRIES + 1):
        sync.mark_dirty([A])
        frame = fill(sync, {A: 5})
        assert frame is not None
        sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2]]))  # took 2, held the rest
    assert A in sync.declined
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 5})
    frame = fill(sync, {A: 5})
    assert frame is not None
    assert frame.entries == [wire(A, 3), wire(A, 4), wire(A, 5)]
    # and it has its retries again
    result = sync.acknowledged(frames.Ack(frame.batch, [[A.key, 3]]))
    assert result.resend == (A,)


def test_a_log_growing_while_the_peer_holds_it_back_is_not_sent_again_and_again() -> None:
    # A flood: the author signs without pause while the peer holds its entries back past
    # their budget, its head stuck at 2. Each new entry marks the author dirty here; the
    # log is tried again once after the peer fell short at that head, then the author
    # waits for the peer to ask again (docs/decisions.md, "Flood budget regression").
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 2})
    batches = 0
    for head in range(3, 103):  # a hundred new entries, each acked before the next
        sync.renew([A])
        frame = fill(sync, {A: head})
        if frame is not None:
            batches += 1
            sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2]]))
    assert batches == MAX_RETRIES + 2  # three shortfalls, and once more as it grew
    assert A in sync.declined
    assert sync.idle
    # The peer asks again when the time of its first held entry comes: sent at once.
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 102})
    frame = fill(sync, {A: 102})
    assert frame is not None
    assert frame.entries[0] == wire(A, 3)
    sync.acknowledged(frames.Ack(frame.batch, [[A.key, 3]]))  # took one, holds the rest
    # Stopped at another head: growth may be tried once more there.
    for head in range(103, 110):
        sync.renew([A])
        if (frame := fill(sync, {A: head})) is not None:
            batches += 1
            sync.acknowledged(frames.Ack(frame.batch, [[A.key, 3]]))
    assert batches == 2 * (MAX_RETRIES + 2) - 1
    assert A in sync.declined


def test_a_log_grown_by_a_continuation_is_tried_again_after_being_given_up_on() -> None:
    # Fork recovery (node/forks.py): the peer holds the dropped branch's entry 2 and
    # refuses the kept branch after it; once a continuation is signed here, the peer
    # drops its branch (its head falls to 1) and takes the kept one.
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 5})
    for _ in range(MAX_RETRIES + 1):
        frame = fill(sync, {A: 5})
        assert frame is not None
        sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2]]))
        sync.mark_dirty([A])
    assert A in sync.declined
    assert fill(sync, {A: 5}) is None
    sync.renew([A])  # the continuation (6) and a repost (7)
    frame = fill(sync, {A: 7})
    assert frame is not None
    assert frame.entries == [wire(A, s) for s in range(3, 8)]
    result = sync.acknowledged(frames.Ack(frame.batch, [[A.key, 1]]))  # dropped its branch
    assert result.resend == (A,)
    frame = fill(sync, {A: 7})
    assert frame is not None
    assert frame.entries == [wire(A, s) for s in range(2, 8)]
    sync.acknowledged(frames.Ack(frame.batch, [[A.key, 7]]))
    assert sync.view[A] == 7
    assert sync.idle


def test_a_continuation_after_other_growth_is_tried_again_when_that_was_not() -> None:
    # Between the two steps of `schoolmesh recover`, the school posts: its log grows,
    # the peer holding the dropped branch refuses that too and is given up on again.
    # The continuation signed then must still go (node/forks.py): it is what the peer
    # lacks, and growth of another kind used up the renewal at that head.
    sync = given_up_twice()
    assert fill(sync, {A: 6}) is None  # a second post: not tried again at that head
    sync.renew([A], continued=True)  # the continuation (7)
    frame = fill(sync, {A: 7})
    assert frame is not None
    assert frame.entries[-1] == wire(A, 7)
    sync.acknowledged(frames.Ack(frame.batch, [[A.key, 1]]))  # dropped its branch
    frame = fill(sync, {A: 7})
    assert frame is not None
    assert frame.entries == [wire(A, s) for s in range(2, 8)]
    sync.acknowledged(frames.Ack(frame.batch, [[A.key, 7]]))
    assert sync.idle


def test_continuations_are_tried_again_once_per_head_too() -> None:
    # A school may sign continuations naming its own entries as kept: a flood of them
    # held back is not sent again with each one (docs/decisions.md, "Flood budget
    # regression").
    sync = given_up_twice()
    sync.renew([A], continued=True)
    for _ in range(MAX_RETRIES + 1):
        frame = fill(sync, {A: 7})
        assert frame is not None
        sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2]]))  # held back, as all else
    assert A in sync.declined
    sync.renew([A], continued=True)
    assert fill(sync, {A: 8}) is None


def test_an_author_the_peer_now_wants_is_tried_again_after_growth_was_tried() -> None:
    # Given up on at head 2, and growth already tried again there once; then the peer
    # adds the author to its interest (node/net/interest.py): it is tried again, as when
    # the peer asks by clock, whatever growth used up.
    sync = given_up_twice()
    assert fill(sync, {A: 6}) is None
    sync.wanted([A])
    frame = fill(sync, {A: 6})
    assert frame is not None
    assert frame.entries[0] == wire(A, 3)
    sync.acknowledged(frames.Ack(frame.batch, [[A.key, 6]]))
    assert sync.idle


def test_an_ack_from_before_a_continuation_re_plans_when_nothing_was_sent_since() -> None:
    # The peer dropped its branch (its head fell from 4 to 3) and was sent 4 to 7 again;
    # then a continuation numbered below 7 (a hostile or odd log: tests/hostile/
    # test_continue.py) is signed here: the view is already past it, so nothing goes.
    # The ack of that batch, short at 3, is no try, but must re-plan from 3: no batch
    # sent since covers the author, and the peer would never get the continuation.
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 4]]))
    sync.clock_complete({A: 7})
    first = fill(sync, {A: 7})
    assert first is not None
    sync.acknowledged(frames.Ack(first.batch, [[A.key, 3]]))  # dropped its branch
    again = fill(sync, {A: 7})
    assert again is not None
    assert again.entries[0] == wire(A, 4)
    sync.renew([A], continued=True)
    assert fill(sync, {A: 7}) is None  # the view is at 7 already
    result = sync.acknowledged(frames.Ack(again.batch, [[A.key, 3]]))
    assert result.resend == (A,)
    frame = fill(sync, {A: 7})
    assert frame is not None
    assert frame.entries == [wire(A, s) for s in range(4, 8)]
    assert A not in sync.declined


def given_up_twice() -> Replication:
    """A peer at 2 that refused the kept branch up to 5, then a post (6) after it."""
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 5})
    for head in (5, 6):
        for _ in range(MAX_RETRIES + 1):
            frame = fill(sync, {A: head})
            assert frame is not None
            sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2]]))
        assert A in sync.declined
        sync.renew([A])
    return sync


def test_acks_of_batches_sent_before_the_peer_dropped_its_branch_are_not_tries() -> None:
    # Four batches on their way when the peer, on the continuation in the second,
    # drops its branch: the acks of the third and fourth (sent from the old view)
    # show its new head, and must not use up the tries of the kept branch's sending.
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 3})
    sent = []
    for head in (3, 4, 5, 6):  # the continuation is 4
        sync.mark_dirty([A])
        frame = fill(sync, {A: head})
        assert frame is not None
        sent.append(frame.batch)
    sync.acknowledged(frames.Ack(sent[0], [[A.key, 2]]))  # refused: not its branch
    sync.acknowledged(frames.Ack(sent[1], [[A.key, 1]]))  # the continuation: dropped
    sync.acknowledged(frames.Ack(sent[2], [[A.key, 1]]))
    sync.acknowledged(frames.Ack(sent[3], [[A.key, 1]]))
    assert A not in sync.declined
    frame = fill(sync, {A: 6})
    assert frame is not None
    assert frame.entries == [wire(A, s) for s in range(2, 7)]
    sync.acknowledged(frames.Ack(frame.batch, [[A.key, 6]]))
    assert sync.idle


def test_acks_of_batches_sent_before_the_continuation_are_not_tries() -> None:
    # Three posts on their way to a peer holding another entry 2 when the
    # continuation is signed: their acks, refused, must not give the author up
    # before the continuation goes.
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 2})
    sent = []
    for head in (3, 4, 5):
        sync.renew([A])
        frame = fill(sync, {A: head})
        assert frame is not None
        sent.append(frame.batch)
    sync.renew([A], continued=True)  # 6
    for batch in sent:
        sync.acknowledged(frames.Ack(batch, [[A.key, 2]]))
    assert A not in sync.declined
    frame = fill(sync, {A: 6})
    assert frame is not None
    assert frame.entries[-1] == wire(A, 6)


def test_the_ack_of_a_batch_read_while_the_continuation_was_signed_is_no_try() -> None:
    # A post (3) is being read for a batch, the store's trip awaited, when the
    # continuation (4) is signed and committed: the batch was planned before it and
    # carries only 3. Its ack, refused by a peer holding another entry 2, is no try:
    # every try is left for the batches that carry the continuation.
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2]]))
    sync.clock_complete({A: 2})
    sync.renew([A])  # the post, 3
    batch = sync.start_batch()
    reads = batch.next_reads(256)
    sync.renew([A], continued=True)  # 4, signed during the trip
    batch.add_all([rows(A, reads[0].after, 3)])
    before = batch.finish()
    assert before is not None
    sync.acknowledged(frames.Ack(before.batch, [[A.key, 2]]))
    tries = 0
    while (frame := fill(sync, {A: 4})) is not None:
        assert frame.entries[-1] == wire(A, 4)
        tries += 1
        sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2]]))
    assert tries == MAX_RETRIES + 1


# -- our new heads, told by the commit that grew them (a hub catching up many schools) --


def read_while_filling(sync: Replication, logs: dict[NodeId, int]) -> list[NodeId]:
    """The authors whose log a session would read to build the next batch."""
    batch, read_from = sync.start_batch(), []
    while (read := batch.next_read()) is not None:
        read_from.append(read.author)
        batch.add(rows(read.author, read.after, min(logs[read.author], read.after + read.limit)))
    batch.finish()
    return read_from


def test_a_head_the_peer_holds_already_is_not_read_again() -> None:
    sync = Replication()
    sync.held(A, 4)  # the peer sent us A's log up to 4
    sync.mark_dirty([A], heads={A: 4})
    assert not sync.dirty
    sync.mark_dirty([A, B], heads={A: 5})  # A grew past it; B's head untold
    assert read_while_filling(sync, {A: 5, B: 1}) in ([A, B], [B, A])


def test_authors_stored_from_the_peer_are_not_read_back_once_stored() -> None:
    sync = Replication()
    sync.storing([A, B])
    sync.mark_dirty([A, B], heads={A: 5, B: 3})  # our commit's listener
    assert read_while_filling(sync, {A: 5, B: 3}) == []  # set aside while storing
    sync.stored([(A, 5), (B, 2)])  # B's entry 3 was refused: ours still goes
    assert sync.dirty == {B}
    assert fill(sync, {A: 5, B: 3}) == frames.Entries(1, [wire(B, 3)])


def test_growth_told_by_another_commit_while_storing_is_still_sent() -> None:
    sync = Replication()
    sync.storing([A])
    sync.mark_dirty([A], heads={A: 5})  # ours: the peer sent up to 5
    sync.mark_dirty([A], heads={A: 7})  # another session's, in between
    sync.stored([(A, 5)])
    assert fill(sync, {A: 7}) == frames.Entries(1, [wire(A, 6), wire(A, 7)])


def test_growth_untold_while_storing_is_looked_at_as_before() -> None:
    """A commit by another process (the command line) tells no head."""
    sync = Replication()
    sync.storing([A])
    sync.mark_dirty([A], heads={A: 5})
    sync.mark_dirty([A])
    sync.stored([(A, 5)])
    assert read_while_filling(sync, {A: 6}) == [A]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("gsf"), st.sampled_from([A, B, C]), st.integers(1, 3), st.integers(0, 2)
        )
    )
)
def test_told_heads_change_which_logs_are_read_never_what_is_sent(
    steps: list[tuple[str, NodeId, int, int]],
) -> None:
    """Two sessions side by side, one told our new heads and one not, through the same
    growth, receipts and batches: the same entries go to the peer, with no more reads."""
    logs = {A: 0, B: 0, C: 0}
    told, untold = Replication(), Replication()
    sent: dict[bool, list[bytes]] = {True: [], False: []}
    reads = {True: 0, False: 0}

    def drain() -> None:
        for sync, has_heads in ((told, True), (untold, False)):
            while True:
                batch = sync.start_batch()
                while (read := batch.next_read()) is not None:
                    reads[has_heads] += 1
                    upto = min(logs[read.author], read.after + read.limit)
                    batch.add(rows(read.author, read.after, upto))
                frame = batch.finish()
                if frame is None:
                    break
                sent[has_heads].extend(frame.entries)
                sync.acknowledged(ack_for(frame.batch, dict(logs)))

    def grow(author: NodeId, n: int) -> None:  # we post, or store from another peer
        logs[author] += n
        told.mark_dirty([author], heads={author: logs[author]})
        untold.mark_dirty([author])

    for step, author, n, meanwhile in steps:
        if step == "g":
            grow(author, n)
        elif step == "s":  # the peer sends us its entries of the author, up to a head
            upto = logs[author] + n
            for sync in (told, untold):
                sync.storing([author])
            logs[author] = upto
            told.mark_dirty([author], heads={author: upto})
            untold.mark_dirty([author])
            drain()  # batches built while storing leave the author out
            if meanwhile:  # another session stores more of it before this one is done
                grow(author, meanwhile)
            for sync in (told, untold):
                sync.stored([(author, upto)])
        else:
            drain()
    drain()
    assert sorted(sent[True]) == sorted(sent[False])
    assert reads[True] <= reads[False]


def _entry_of(wire_bytes: bytes) -> tuple[NodeId, int]:
    author = next(a for a in (A, B, C) if a.key[:1] == wire_bytes[:1])
    return author, int.from_bytes(wire_bytes[1:5], "big")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("gsfacknudp"),
            st.sampled_from([A, B, C]),
            st.integers(0, 6),
            st.integers(0, 4),
        ),
        max_size=40,
    )
)
def test_told_heads_send_the_same_with_refusals_late_acks_and_dropped_branches(
    steps: list[tuple[str, NodeId, int, int]],
) -> None:
    """As above, with a peer that takes each entry only after the one before it and
    refuses past a cap (so authors are retried and given up), acks that come late
    (the view stays optimistic meanwhile), clocks, interest, untold growth, a commit
    whose head a dropped branch then lowered, and a peer that drops a branch."""
    logs = {A: 0, B: 0, C: 0}
    cap: dict[NodeId, int | None] = {A: None, B: None, C: None}
    syncs = {True: Replication(), False: Replication()}
    peer = {told: {A: 0, B: 0, C: 0} for told in (True, False)}
    acks: dict[bool, deque[frames.Ack]] = {True: deque(), False: deque()}
    sent: dict[bool, list[bytes]] = {True: [], False: []}

    def send(told: bool) -> None:
        sync = syncs[told]
        while len(sync.in_flight) < WINDOW and (frame := fill(sync, logs)) is not None:
            sent[told].extend(frame.entries)
            for author, seq in map(_entry_of, frame.entries):
                limit = cap[author]
                if seq == peer[told][author] + 1 and (limit is None or seq <= limit):
                    peer[told][author] = seq
            authors = {_entry_of(w)[0] for w in frame.entries}
            acks[told].append(ack_for(frame.batch, {a: peer[told][a] for a in authors}))

    def ack(told: bool) -> None:
        if acks[told]:
            syncs[told].acknowledged(acks[told].popleft())

    def grown(author: NodeId, head: int | None) -> None:
        syncs[True].renew([author], heads=None if head is None else {author: head})
        syncs[False].renew([author])

    for step, author, n, m in steps:
        if step == "g":  # we post, or store from another peer
            logs[author] += n
            grown(author, logs[author])
        elif step == "s":  # the peer sends us its entries up to a head
            upto = logs[author] + n
            logs[author] = upto
            for told in (True, False):
                peer[told][author] = max(peer[told][author], upto)
                syncs[told].storing([author])
            grown(author, upto)
            for told in (True, False):
                send(told)
                if m % 2:
                    ack(told)
                    send(told)
            if m > 1:  # another session stores more of it before this one is done
                logs[author] += m - 1
                grown(author, logs[author])
            for told in (True, False):
                syncs[told].stored([(author, upto)])
        elif step == "f":
            for told in (True, False):
                send(told)
        elif step == "a":
            for told in (True, False):
                ack(told)
        elif step == "c":  # the peer takes the author's entries up to n, or all
            cap[author] = None if m > 2 else n
        elif step == "k":  # the peer asks again by clock
            for told in (True, False):
                pairs = [[a.key, seq] for a, seq in peer[told].items()]
                syncs[told].receive_clock(frames.Clock(pairs))
                syncs[told].clock_complete(logs)
        elif step == "n":  # the peer adds the author to its interest
            for told in (True, False):
                syncs[told].wanted([author])
        elif step == "u":  # growth no commit told (another process's)
            grown(author, None)
        elif step == "d":  # a commit grows the log by n, then drops a branch of m
            head = logs[author] + n
            logs[author] = max(0, head - m)
            grown(author, head if n else None)
        else:  # the peer drops a branch
            for told in (True, False):
                peer[told][author] = min(peer[told][author], n)
    for _ in range(MAX_RETRIES + 3):
        for told in (True, False):
            send(told)
            while acks[told]:
                ack(told)
    assert peer[True] == peer[False]
    assert sorted(sent[True]) == sorted(sent[False])


# -- several authors read in one trip (next_reads / add_all) --


def fill_in_trips(
    sync: Replication, logs: dict[NodeId, int], size: int = 10, most: int = 256
) -> frames.Entries | None:
    """Build one batch as a session does: the reads of each trip made by a store that
    stops once it has read a batch's worth (Store.wire_after_each)."""
    batch = sync.start_batch()
    while reads := batch.next_reads(most):
        read_so_far, count, total = [], 0, 0
        for read in reads:
            got = rows(
                read.author, read.after, min(logs[read.author], read.after + read.limit), size
            )
            read_so_far.append(got)
            count += len(got)
            total += sum(len(w) for _, w in got)
            if count >= reads[0].limit or total >= BATCH_BYTES:
                break
        batch.add_all(read_so_far)
    return batch.finish()


def test_many_schools_newest_entries_are_read_in_one_trip() -> None:
    authors = [NodeId(i.to_bytes(2, "big") * 16) for i in range(300)]
    sync = Replication()
    sync.clock_complete({a: 1 for a in authors})
    trips = []
    batch = sync.start_batch()
    while reads := batch.next_reads(256):
        trips.append(len(reads))
        batch.add_all([rows(r.author, r.after, 1) for r in reads])
    frame = batch.finish()
    assert frame is not None
    assert len(frame.entries) == 256
    assert trips == [256]
    # The rest wait for the next batch, and so does the last author read: it filled the
    # batch's last place exactly, so it may have more (as when read alone).
    assert len(sync.dirty) == 300 - 256 + 1


def test_a_read_not_made_leaves_its_author_for_the_next_batch() -> None:
    sync = Replication()
    sync.clock_complete({A: 300, B: 300})
    batch = sync.start_batch()
    reads = batch.next_reads(256)
    assert {r.author for r in reads} == {A, B}
    batch.add_all([rows(reads[0].author, 0, 256)])  # the first fills the batch alone
    frame = batch.finish()
    assert frame is not None
    assert len(frame.entries) == 256
    assert sync.dirty == {A, B}  # the first has more; the second was not read
    assert sync.view.get(reads[1].author, 0) == 0


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from([A, B, C]), st.integers(0, 600), min_size=1),
    st.integers(1, 600),
    st.sampled_from([1, 2, 256]),
)
def test_reading_in_trips_sends_what_reading_one_author_at_a_time_sends(
    logs: dict[NodeId, int], size: int, most: int
) -> None:
    one_at_a_time, in_trips = Replication(), Replication()
    for sync in (one_at_a_time, in_trips):
        sync.clock_complete(dict(logs))
    sent: dict[bool, list[bytes]] = {False: [], True: []}
    for sync, trips in ((one_at_a_time, False), (in_trips, True)):
        for _ in range(100):
            frame = fill_in_trips(sync, logs, size, most) if trips else fill(sync, logs, size)
            if frame is None:
                break
            assert len(frame.entries) <= frames.MAX_BATCH_ENTRIES
            assert sum(map(len, frame.entries)) <= max(BATCH_BYTES, size)
            sent[trips].extend(frame.entries)
            sync.acknowledged(ack_for(frame.batch, sync.in_flight[frame.batch]))
    assert sorted(sent[True]) == sorted(sent[False])
    assert len(sent[True]) == sum(logs.values())


# -- what changed during the trip to the store (the session awaits it) --


def trip(sync: Replication, logs: dict[NodeId, int]) -> Callable[[], frames.Entries | None]:
    """Start a batch and read for it as the store's one trip does; the returned step takes
    what was read and finishes the batch (what the test does before it, happened while
    the session awaited the store)."""
    batch = sync.start_batch()
    reads = batch.next_reads(256)
    read = [rows(r.author, r.after, min(logs[r.author], r.after + r.limit)) for r in reads]

    def take() -> frames.Entries | None:
        batch.add_all(read)
        return batch.finish()

    return take


def authors_in(frame: frames.Entries | None) -> list[NodeId]:
    by_byte = {a.key[:1]: a for a in (A, B, C)}
    return [] if frame is None else [by_byte[w[:1]] for w in frame.entries]


def test_an_author_whose_storing_began_during_the_trip_waits_for_it() -> None:
    sync, logs = Replication(), {A: 3, B: 3}
    sync.clock_complete(logs)
    take = trip(sync, logs)
    sync.storing([B])  # the peer's batch of B arrived while we read
    sent = authors_in(take())
    assert sync.waiting == {B}
    sync.stored([(B, 5)])
    logs[B] = 5
    sent += authors_in(fill(sync, logs))
    assert sent == [A, A, A]  # nothing of B: the peer holds all we do


def test_an_author_the_peer_stopped_wanting_during_the_trip_is_not_sent() -> None:
    for taken in (0, 1, 2):  # the store read none, one, or both of the reads
        sync, logs = Replication(), {A: 3, B: 3}
        sync.clock_complete(logs)
        batch = sync.start_batch()
        reads = batch.next_reads(256)
        sync.declared(lambda author: author == A)
        batch.add_all([rows(r.author, 0, 3) for r in reads][:taken])
        sent = authors_in(batch.finish()) + authors_in(fill(sync, logs))
        assert B not in sent
        assert B not in sync.dirty
        assert sent.count(A) == 3


def test_a_view_lowered_by_an_ack_during_the_trip_is_sent_from() -> None:
    sync, logs = Replication(), {A: 10}
    sync.clock_complete(logs)
    first = fill(sync, logs)
    assert first is not None
    logs[A] = 20
    sync.mark_dirty([A])
    take = trip(sync, logs)  # reads A after 10
    sync.acknowledged(frames.Ack(first.batch, [[A.key, 5]]))  # it took only 5
    assert take() is None  # 11 to 20 would only be refused: it lacks 6 to 10
    assert sync.view[A] == 5
    frame = fill(sync, logs)
    assert frame is not None
    assert frame.entries == [w for _, w in rows(A, 5, 20)]


def test_what_the_peer_came_to_hold_during_the_trip_is_not_sent() -> None:
    sync, logs = Replication(), {A: 10}
    sync.clock_complete(logs)
    take = trip(sync, logs)  # reads A after 0
    sync.held(A, 8)  # it sent us 8 of them meanwhile
    sent = list(getattr(take(), "entries", []))
    while (frame := fill(sync, logs)) is not None:
        sent.extend(frame.entries)
    assert sent == [w for _, w in rows(A, 8, 10)]


def test_a_session_reading_authors_for_a_batch_is_not_idle() -> None:
    """While the store reads the authors handed out (one trip, awaited by the session),
    they are in neither ``dirty`` nor a batch in flight: the session is still busy.
    Benchmarks and tests wait for every session to be idle before they count."""
    sync = Replication()
    sync.clock_complete({A: 3})
    batch = sync.start_batch()
    reads = batch.next_reads(256)
    assert [r.author for r in reads] == [A]
    assert not sync.idle  # reading A
    batch.add_all([rows(A, 0, 3)])
    frame = batch.finish()
    assert frame is not None
    assert not sync.idle  # in flight
    sync.acknowledged(ack_for(frame.batch, {A: 3}))
    assert sync.idle
    single = sync.start_batch()  # the same for one author read alone
    sync.mark_dirty([A])
    sync.clock_complete({A: 3})
    assert single.next_read() is not None
    assert not sync.idle
    single.add([])
    assert sync.idle


# -- what a peer's clocks can make us do (docs/protocol.md, "Limits of a session") ----


@pytest.mark.parametrize(
    ("heads", "compared"),
    [
        ([[A.key, 5, ID]] * 4096, [(A, 5, ID)]),  # one author named 4,096 times: once
        ([[A.key, 3, ID], [A.key, 5, b"j" * 32], [A.key, 5, ID]], [(A, 5, b"j" * 32)]),
        ([[A.key, 5, ID], [A.key, 7], [B.key, 1, ID]], [(A, 5, ID), (B, 1, ID)]),
        ([[B.key, 2, ID], [A.key, 1, ID], [B.key, 1, ID]], [(B, 2, ID), (A, 1, ID)]),
        ([[A.key, 5], [B.key, 2]], []),
    ],
)
def test_a_clock_frame_is_compared_once_per_author_at_its_highest_number(
    heads: list[list[object]], compared: list[tuple[NodeId, int, bytes]]
) -> None:
    sync = Replication()
    assert sync.receive_clock(frames.Clock(heads)) == compared


def test_a_fork_is_shown_once_per_session_whatever_the_clocks_repeat() -> None:
    sync = Replication()
    assert sync.to_show([(A, 1), (A, 1), (B, 2)]) == [(A, 1), (B, 2)]
    assert sync.to_show([(A, 1), (B, 2)]) == []
    assert sync.to_show([(A, 2), (B, 2)]) == [(A, 2)]


def test_forks_past_the_bound_end_the_session_and_none_is_shown() -> None:
    sync = Replication(max_evidence=3)
    assert sync.to_show([(A, 1), (B, 1)]) == [(A, 1), (B, 1)]
    assert sync.to_show([(A, 1), (B, 1)]) == []  # shown already: nothing counts again
    with pytest.raises(SessionLimit) as refused:
        sync.to_show([(C, 1), (C, 2)])
    assert refused.value.code == "too-many-forks"
    assert sync.shown == {(A, 1), (B, 1)}
    assert sync.to_show([(C, 1)]) == [(C, 1)]  # up to the bound exactly


@pytest.mark.parametrize(
    ("before", "forks", "shown"),
    [
        (0, [(A, 1), (B, 1), (C, 1)], 3),
        (1, [(A, 1), (B, 1)], 2),  # the bound exactly, with the sessions before
        (1, [(A, 1), (B, 1), (C, 1)], None),  # one past it: none shown
        (3, [(A, 1)], None),  # the bound spent before the session began
        (3, [], 0),  # nothing to show: no limit
    ],
)
def test_forks_shown_just_before_the_session_count_against_its_bound(
    before: int, forks: list[tuple[NodeId, int]], shown: int | None
) -> None:
    sync = Replication(max_evidence=3)
    sync.shown_before = before
    if shown is None:
        with pytest.raises(SessionLimit) as refused:
            sync.to_show(forks)
        assert refused.value.code == "too-many-forks"
        assert f"({before:,} shown)" in str(refused.value)
        assert sync.shown == set()
    else:
        assert len(sync.to_show(forks)) == shown


def test_clock_frames_with_head_ids_past_the_bound_end_the_session() -> None:
    sync = Replication(max_id_pairs=2, min_id_clock_pairs=1)
    sync.receive_clock(frames.Clock([[A.key, 1, ID]], final=False))
    sync.receive_clock(frames.Clock([[A.key, 2]], final=False))  # no ids: not counted
    sync.receive_clock(frames.Clock([[B.key, 1, ID]]))
    with pytest.raises(SessionLimit) as refused:
        sync.receive_clock(frames.Clock([[C.key, 4, ID]]))
    assert refused.value.code == "too-many-clocks"
    assert C not in sync.view  # refused whole: nothing merged
    sync.receive_clock(frames.Clock([[C.key, 4]]))  # asking again, without ids, goes on
    assert sync.view == {A: 2, B: 1, C: 4}


def test_the_bounds_let_an_opening_clock_name_twice_the_authors_a_view_holds() -> None:
    assert MAX_ID_PAIRS == 2 * MAX_VIEW_AUTHORS
    assert MAX_ID_PAIRS // frames.MAX_CLOCK_PAIRS == 512  # full frames, as the reference cuts
    assert MAX_ID_CLOCKS * MIN_ID_CLOCK_PAIRS == MAX_ID_PAIRS
    assert MAX_EVIDENCE == frames.MAX_CLOCK_PAIRS


def test_the_bounds_are_in_the_limits_of_a_session() -> None:
    # A compatible node must know them: docs/protocol.md, "Limits of a session".
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    rows = {
        line.rsplit("|", 2)[-2].strip(): line
        for line in doc.splitlines()
        if line.startswith("|") and line.count("|") >= 3
    }
    clocks = rows["`replication.MAX_ID_PAIRS`, `replication.MIN_ID_CLOCK_PAIRS`"]
    assert f"| {MAX_ID_PAIRS:,} (" in clocks
    assert f"counts as {MIN_ID_CLOCK_PAIRS} pairs at least" in clocks
    assert f"at most {MAX_ID_CLOCKS:,} frames" in clocks
    assert f"| {MAX_EVIDENCE:,}, " in rows["`replication.MAX_EVIDENCE`"]


def test_a_later_clock_needs_the_heads_only_of_the_authors_it_asks_again_for() -> None:
    # The opening clock needs every head held; a later one (the peer asking again for
    # what it held back past its budget) only those of the authors it names that were
    # given up on: before, each later final frame read every head held (a second on a
    # hub), and a peer could send such frames without end.
    other = NodeId(b"o" * 32)
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, 2], [C.key, 1]]))
    assert sync.to_complete() is None  # the opening clock: every head
    logs = {A: 5, B: 3, C: 1}
    sync.clock_complete(logs)
    for _ in range(MAX_RETRIES + 1):  # the peer holds A back: given up on
        frame = fill(sync, {A: 5, B: 3})
        assert frame is not None
        sync.acknowledged(frames.Ack(frame.batch, [[A.key, 2], [B.key, 3]]))
    assert A in sync.declined
    assert fill(sync, logs) is None
    sync.receive_clock(frames.Clock([[A.key, 2], [B.key, 1]], final=False))
    sync.receive_clock(frames.Clock([[C.key, 1], [other.key, 9]]))
    asked = sync.to_complete()
    assert asked == {A}
    sync.clock_complete({a: logs[a] for a in asked})
    dirty = set(sync.dirty)
    sync.clock_complete(logs)  # what reading every head would have added: nothing
    assert sync.dirty == dirty
    frame = fill(sync, logs)
    assert frame is not None
    assert frame.entries == [wire(A, s) for s in (3, 4, 5)]
    assert sync.to_complete() == set()  # nothing asked since
    assert other in sync.view  # its view raised all the same
