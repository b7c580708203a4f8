"""The letter sync rules as a pure state machine (docs/protocol.md, "Mail"), no node around it."""

import itertools
import subprocess
import sys
from collections.abc import Sequence

import pytest

from protocol import frames, mailsync
from protocol.errors import ProtocolError
from protocol.keys import NodeId
from protocol.mailsync import (
    MAX_RETRIES,
    AckMarks,
    Action,
    ClockMarks,
    Held,
    MailSync,
    Mark,
    Pair,
    Received,
    Relayed,
    plan_accept,
    plan_batch,
)

A, B, C, ME, PEER, X = (NodeId(bytes([c]) * 32) for c in b"abcmpx")


def held(sender: NodeId, recipient: NodeId, seq: int, size: int = 100) -> Held:
    return Held(sender, recipient, seq, sender.key[:1] + recipient.key[:1] + bytes([seq]), size)


def outbox(sender: NodeId, recipient: NodeId, upto: int, size: int = 100) -> list[Held]:
    return [held(sender, recipient, q, size) for q in range(1, upto + 1)]


def seqs(batch: Sequence[Held]) -> list[tuple[NodeId, NodeId, int]]:
    return [(h.sender, h.recipient, h.seq) for h in batch]


def marks(*triples: tuple[NodeId, NodeId, int]) -> list[Mark]:
    return [Mark(*triple) for triple in triples]


def wire(*triples: tuple[NodeId, NodeId, int]) -> list[list[object]]:
    """Marks as a frame carries them: the ids as bytes."""
    return [[bytes(s), bytes(r), q] for s, r, q in triples]


def clock(*triples: tuple[NodeId, NodeId, int], final: bool = True) -> ClockMarks:
    """A mail-clock frame as it is received: built from the wire, read into marks."""
    return ClockMarks.of(frames.MailClock(wire(*triples), final))


def ack(batch: int, *triples: tuple[NodeId, NodeId, int]) -> AckMarks:
    return AckMarks.of(frames.MailAck(batch, wire(*triples)))


def test_protocol_mailsync_imports_no_io_library() -> None:
    code = (
        "import sys, protocol.mailsync\n"
        "print(','.join(m for m in ('aiohttp', 'aiosqlite', 'sqlite3', 'asyncio', 'socket')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- the peer's mail clock ------------------------------------------------------------------


def test_a_clock_sets_the_view_to_the_mark_received_and_only_the_final_one_opens_sending() -> None:
    sync = MailSync()
    sync.receive_clock(clock((A, PEER, 5), (B, PEER, 2), final=False))
    assert not sync.may_send
    sync.receive_clock(clock((A, PEER, 3), final=True))
    assert sync.view == {(A, PEER): 3, (B, PEER): 2}  # set, not raised: the peer says so
    assert sync.may_send


def test_new_pairs_past_the_bound_are_not_remembered_but_known_pairs_still_move() -> None:
    sync = MailSync(max_view=2)
    sync.receive_clock(clock((A, ME, 1), (B, ME, 1), (C, ME, 1), final=False))
    assert set(sync.view) == {(A, ME), (B, ME)}
    sync.receive_clock(clock((A, ME, 9)))
    assert sync.view[(A, ME)] == 9


def test_delivered_marks_are_passed_back_once_each_until_they_grow() -> None:
    sync = MailSync()
    assert sync.fresh_delivered(marks((PEER, A, 2), (PEER, B, 1))) == [(PEER, A, 2), (PEER, B, 1)]
    assert sync.fresh_delivered(marks((PEER, A, 2), (PEER, B, 1))) == []
    assert sync.fresh_delivered(marks((PEER, A, 3), (PEER, B, 1))) == [(PEER, A, 3)]


@pytest.mark.parametrize(
    ("marks", "delivered", "expected"),
    [
        (0, 0, [(0, 0, True)]),  # one empty final frame
        (1, 0, [(1, 0, True)]),
        (4096, 0, [(4096, 0, True)]),
        (4097, 0, [(4096, 0, False), (1, 0, True)]),
        (0, 4097, [(0, 4096, False), (0, 1, True)]),
        (5000, 10, [(4096, 10, False), (904, 0, True)]),
    ],
)
def test_our_mail_clock_is_cut_into_frames_of_at_most_4096_marks_the_last_final(
    marks: int, delivered: int, expected: list[tuple[int, int, bool]]
) -> None:
    ms = [Mark(A, NodeId(bytes(32 - 4) + i.to_bytes(4, "big")), 1) for i in range(marks)]
    ds = [Mark(PEER, NodeId(bytes(32 - 4) + i.to_bytes(4, "big")), 1) for i in range(delivered)]
    out = mailsync.clock_frames(ms, ds)
    assert [(len(f.marks), len(f.delivered or []), f.final) for f in out] == expected
    assert [m for f in out for m in f.marks] == wire(*ms)  # the wire's form: ids as bytes
    assert all(f.delivered is None for f in out if not f.delivered)


def test_delivered_marks_while_open_go_in_clock_frames_without_marks() -> None:
    ds = [Mark(PEER, NodeId(bytes(28) + i.to_bytes(4, "big")), 1) for i in range(4097)]
    out = mailsync.delivered_frames(ds)
    assert [(f.marks, len(f.delivered or []), f.final) for f in out] == [
        ([], 4096, True),
        ([], 1, True),
    ]
    assert mailsync.delivered_frames([]) == []


# -- choosing a batch -------------------------------------------------------------------------


def test_a_batch_holds_what_the_peer_lacks_by_the_view_in_order() -> None:
    store = outbox(ME, PEER, 4) + outbox(A, PEER, 2)
    batch = plan_batch(store, PEER, {(ME, PEER): 2}, {})
    assert seqs(batch) == [(ME, PEER, 3), (ME, PEER, 4), (A, PEER, 1), (A, PEER, 2)]


@pytest.mark.parametrize(
    ("recipient", "relays", "given"),
    [
        (PEER, {}, True),  # the recipient itself
        (C, {C: {PEER}}, True),  # a relay C names
        (C, {C: {X}}, False),  # C names another relay
        (C, {}, False),  # C names none: a partner is not given it (rule 1)
    ],
)
def test_rule_1_who_may_be_given_an_envelope(
    recipient: NodeId, relays: dict[NodeId, set[NodeId]], given: bool
) -> None:
    assert bool(plan_batch(outbox(ME, recipient, 1), PEER, {}, relays)) is given


def test_the_peers_own_letters_are_never_offered_back_to_it() -> None:
    assert plan_batch(outbox(PEER, C, 2), PEER, {}, {C: {PEER}}) == []


def test_a_batch_stops_at_the_first_envelope_that_would_not_fit_the_first_always_goes() -> None:
    assert len(plan_batch(outbox(ME, PEER, 5, size=400), PEER, {}, {}, max_bytes=1000)) == 2
    assert len(plan_batch(outbox(ME, PEER, 3, size=5000), PEER, {}, {}, max_bytes=1000)) == 1
    assert len(plan_batch(outbox(ME, PEER, 100, size=1), PEER, {}, {})) == 64


def test_the_recipients_whose_relays_are_needed_are_those_of_letters_the_peer_lacks() -> None:
    store = [*outbox(ME, A, 2), *outbox(ME, B, 1), *outbox(ME, PEER, 1), *outbox(PEER, C, 1)]
    assert mailsync.lacking_recipients(store, PEER, {(ME, A): 2}) == {B}


# -- sending and acks ---------------------------------------------------------------------------


def in_flight(sync: MailSync, *items: tuple[NodeId, NodeId, int]) -> int:
    return sync.sent(items)


def test_sending_moves_the_view_ahead_and_numbers_batches_from_1() -> None:
    sync = MailSync()
    assert in_flight(sync, (ME, PEER, 1), (ME, PEER, 2)) == 1
    assert sync.view == {(ME, PEER): 2}
    assert sync.in_flight == {1: {(ME, PEER): 2}}
    assert in_flight(sync, (A, PEER, 1)) == 2


def test_a_batch_frame_carries_the_envelopes_in_the_order_chosen() -> None:
    sync = MailSync()
    frame = sync.batch([(ME, PEER, 1, b"one"), (A, PEER, 4, b"four")])
    assert frame == frames.Mail(1, [b"one", b"four"])
    assert sync.in_flight == {1: {(ME, PEER): 1, (A, PEER): 4}}
    assert frames.decode(frames.encode(frame)) == frame


@pytest.mark.parametrize(
    ("ack_marks", "view", "declined"),
    [
        ([(ME, PEER, 2)], {(ME, PEER): 2}, set()),  # all taken
        ([(ME, PEER, 7)], {(ME, PEER): 7}, set()),  # it had more (from a relay)
        ([(ME, PEER, 1)], {(ME, PEER): 1}, set()),  # a gap before ours: resend from 1
        ([], {(ME, PEER): 2}, {(ME, PEER)}),  # not taken: not offered again
    ],
)
def test_an_ack_moves_the_view_as_rule_5_says(
    ack_marks: list[tuple[NodeId, NodeId, int]], view: dict[Pair, int], declined: set[object]
) -> None:
    sync = MailSync()
    batch = in_flight(sync, (ME, PEER, 1), (ME, PEER, 2))
    sync.acknowledged(ack(batch, *ack_marks))
    assert sync.view == view
    assert sync.declined == declined
    assert sync.in_flight == {}


def test_an_ack_never_lowers_the_view_below_a_later_batch() -> None:
    sync = MailSync()
    first = in_flight(sync, (ME, PEER, 1))
    in_flight(sync, (ME, PEER, 2))
    sync.acknowledged(ack(first, (ME, PEER, 1)))
    assert sync.view[(ME, PEER)] == 2


def test_a_gap_is_retried_max_retries_times_then_the_pair_waits_for_the_next_session() -> None:
    sync = MailSync()
    for attempt in range(MAX_RETRIES + 1):
        batch = in_flight(sync, (ME, PEER, 2))
        outcome = sync.acknowledged(ack(batch, (ME, PEER, 0)))
        assert outcome.gave_up == (((ME, PEER),) if attempt == MAX_RETRIES else ())
    assert (ME, PEER) in sync.declined
    assert sync.offer_view()[(ME, PEER)] > 2**53  # never offered again in this session
    assert plan_batch(outbox(ME, PEER, 3), PEER, sync.offer_view(), {}) == []


def test_an_ack_for_a_batch_not_in_flight_is_a_bad_frame() -> None:
    sync = MailSync()
    with pytest.raises(ProtocolError) as caught:
        sync.acknowledged(ack(1))
    assert caught.value.code == "bad-frame"
    batch = in_flight(sync, (ME, PEER, 1))
    sync.acknowledged(ack(batch, (ME, PEER, 1)))
    with pytest.raises(ProtocolError):
        sync.acknowledged(ack(batch, (ME, PEER, 1)))  # twice


def test_a_batch_never_acknowledged_is_forgotten_and_sending_may_start_again() -> None:
    sync = MailSync()
    sync.receive_clock(clock())
    in_flight(sync, (ME, PEER, 1))
    assert not sync.may_send
    sync.timed_out()
    assert sync.may_send


# -- receiving ------------------------------------------------------------------------------------


def env(sender: NodeId, *slots: tuple[NodeId, int]) -> Received:
    return Received(sender, tuple(sorted(slots, key=lambda slot: (slot[0].key, slot[1]))))


def accept(
    envelopes: Sequence[Received],
    marks: dict[Pair, int] | None = None,
    *,
    peer: NodeId = PEER,
    blocked: frozenset[NodeId] = frozenset(),
    relays: dict[NodeId, set[NodeId]] | None = None,
) -> mailsync.AcceptPlan:
    return plan_accept(
        envelopes,
        me=ME,
        peer=peer,
        blocked=blocked,
        relays=relays or {},
        marks=marks or {},
    )


def takes(plan: mailsync.AcceptPlan) -> list[tuple[str, int, NodeId, NodeId, int, bool]]:
    return [(t.action.value, t.index, t.sender, t.recipient, t.seq, t.blame) for t in plan.takes]


@pytest.mark.parametrize(
    ("slot_seq", "mark", "opened"),
    [(1, 0, True), (5, 4, True), (4, 4, False), (1, 4, False), (6, 4, False), (2, 0, False)],
)
def test_rule_3_a_letter_is_taken_only_at_one_more_than_the_mark(
    slot_seq: int, mark: int, opened: bool
) -> None:
    plan = accept([env(PEER, (ME, slot_seq))], {(PEER, ME): mark})
    assert bool(plan.takes) is opened
    assert plan.marks == [(PEER, ME, slot_seq if opened else mark)]


def test_a_batch_is_taken_in_order_repeats_and_gaps_ignored() -> None:
    batch = [env(PEER, (ME, q)) for q in (1, 2, 2, 4, 3, 4)]
    plan = accept(batch)
    assert [(t.index, t.seq) for t in plan.takes] == [(0, 1), (1, 2), (4, 3), (5, 4)]
    assert plan.marks == [(PEER, ME, 4)]
    assert plan.ack(9) == frames.MailAck(9, [[bytes(PEER), bytes(ME), 4]])  # ids as bytes


def test_exhaustively_the_mark_after_a_batch_is_the_longest_run_taken_in_order() -> None:
    for length in range(1, 6):
        for order in itertools.product(range(1, 5), repeat=length):
            plan = accept([env(PEER, (ME, q)) for q in order], {(PEER, ME): 0})
            mark = 0
            for q in order:
                mark += q == mark + 1
            assert plan.marks == [(PEER, ME, mark)], order
            assert [t.seq for t in plan.takes] == list(range(1, mark + 1)), order


def test_a_letter_from_its_sender_is_blamed_on_it_one_a_relay_carried_is_not() -> None:
    assert takes(accept([env(PEER, (ME, 1))])) == [("open", 0, PEER, ME, 1, True)]
    assert takes(accept([env(A, (ME, 1))])) == [("open", 0, A, ME, 1, False)]


@pytest.mark.parametrize(
    ("relays", "blocked", "held_for_c"),
    [
        ({C: {ME}}, frozenset(), True),  # C names us: we hold it (rule 2)
        ({C: {ME, X}}, frozenset(), True),
        ({C: {X}}, frozenset(), False),  # C names another relay
        ({}, frozenset(), False),
        ({C: {ME}}, frozenset({A}), False),  # we never hold a blocked school's letters
    ],
)
def test_rule_2_which_slots_a_relay_takes(
    relays: dict[NodeId, set[NodeId]], blocked: frozenset[NodeId], held_for_c: bool
) -> None:
    plan = accept([env(A, (C, 1), (ME, 1))], relays=relays, blocked=blocked)
    expected = [("open", 0, A, ME, 1, False)]
    if held_for_c:
        expected.append(("hold", 0, A, C, 1, False))
    assert sorted(takes(plan)) == sorted(expected)
    assert plan.holds is held_for_c
    # Pairs not taken are left out of the ack.
    assert [m.pair for m in plan.marks] == ([(A, C)] if held_for_c else []) + [(A, ME)]


def test_a_blocked_schools_letter_to_us_is_still_opened_where_the_rules_refuse_it() -> None:
    # The plan uses the number (rule 4); opening refuses it (protocol/rules/mail.py).
    plan = accept([env(A, (ME, 1))], blocked=frozenset({A}))
    assert takes(plan) == [("open", 0, A, ME, 1, False)]


def test_our_own_letters_coming_back_through_a_relay_are_ignored() -> None:
    plan = accept([env(ME, (A, 1), (C, 1))], relays={A: {ME}, C: {ME}})
    assert plan.takes == ()
    assert plan.marks == []


def test_ack_marks_are_sorted_by_sender_then_recipient_each_pair_once() -> None:
    batch = [env(B, (ME, 1)), env(A, (C, 1), (ME, 1)), env(A, (ME, 2)), env(B, (ME, 1))]
    plan = accept(batch, relays={C: {ME}})
    assert plan.marks == [(A, C, 1), (A, ME, 2), (B, ME, 1)]
    assert [t.action for t in plan.takes] == [Action.OPEN, Action.HOLD, Action.OPEN, Action.OPEN]


def test_the_pairs_and_recipients_the_node_reads_before_planning() -> None:
    batch = [env(A, (C, 1), (ME, 1)), env(ME, (B, 1)), env(A, (X, 1))]
    assert mailsync.recipients_to_check(batch, ME) == {C, X}
    pairs = mailsync.taken_pairs(batch, me=ME, blocked=set(), relays={C: {ME}})
    assert pairs == [(A, C), (A, ME)]


# -- marks the peer tells us ------------------------------------------------------------------


def test_only_marks_for_pairs_whose_recipient_is_the_peer_confirm_delivery() -> None:
    told = marks((ME, PEER, 3), (A, PEER, 2), (ME, C, 9), (A, ME, 1))
    confirmed = mailsync.confirmations(told, PEER)
    assert confirmed == [(ME, PEER, 3), (A, PEER, 2)]
    held = {(A, PEER), (ME, PEER)}
    assert mailsync.to_record_delivered(confirmed, ME, True, held) == [(A, PEER, 2)]
    assert mailsync.to_record_delivered(confirmed, ME, False, held) == []


def test_delivered_marks_are_recorded_only_for_pairs_we_hold_or_held_letters_of() -> None:
    """A peer naming us as its relay cannot make us keep a row per made-up sender."""
    made_up = [Mark(NodeId(bytes([n]) * 32), PEER, 1) for n in range(128, 228)]  # none is A
    assert mailsync.to_record_delivered([*made_up, Mark(A, PEER, 4)], ME, True, {(A, PEER)}) == [
        (A, PEER, 4)
    ]
    assert mailsync.to_record_delivered(made_up, ME, True, set()) == []


def test_skips_come_only_from_the_sender_for_a_third_school() -> None:
    told = marks((PEER, C, 4), (PEER, ME, 4), (PEER, PEER, 1), (A, C, 4))
    assert mailsync.skips(told, ME, PEER) == [(PEER, C, 4)]


@pytest.mark.parametrize(
    ("seq", "mark", "relay", "moved"),
    [(4, 2, True, True), (2, 2, True, False), (1, 2, True, False), (4, 2, False, False)],
)
def test_a_relay_moves_its_mark_only_forward_and_only_for_a_school_naming_it(
    seq: int, mark: int, relay: bool, moved: bool
) -> None:
    assert mailsync.skip_to(seq, mark, relay) is moved


def test_delivered_marks_passed_back_are_about_our_letters_to_a_third_school_only() -> None:
    told = marks((ME, C, 2), (ME, PEER, 2), (A, C, 2), (ME, ME, 1))
    assert mailsync.relayed(told, ME, PEER) == [(ME, C, 2)]


@pytest.mark.parametrize(
    ("seq", "mark", "named", "verdict"),
    [
        (2, 3, True, Relayed.BELIEVED),
        (3, 3, True, Relayed.BELIEVED),
        (4, 3, True, Relayed.NEVER_SEALED),
        (2, 3, False, Relayed.NOT_NAMED),
        (4, 3, False, Relayed.NOT_NAMED),
    ],
)
def test_step_3_whether_a_delivered_mark_is_believed(
    seq: int, mark: int, named: bool, verdict: Relayed
) -> None:
    assert mailsync.relayed_verdict(seq, mark, named) is verdict


@pytest.mark.parametrize(
    ("profile", "named"),
    [
        (None, set()),
        ({}, set()),
        ({"relays": [str(X), str(C)]}, {X, C}),
        ({"relays": [str(X), "not an id", 7]}, {X}),
        ({"relays": "x"}, set()),
    ],
)
def test_the_relays_a_profile_names(profile: dict[str, object] | None, named: set[NodeId]) -> None:
    assert mailsync.relays_named(profile) == named


# -- two ends wired together in memory ------------------------------------------------------------


def test_a_sender_and_a_recipient_wired_in_memory_deliver_every_letter_once_in_order() -> None:
    """Ten letters, a lost batch and a lost ack, in one session: every letter opened once,
    in order (the ack of the batch after the lost one shows the gap, and it is resent)."""
    letters = outbox(ME, PEER, 10, size=300_000)  # three to a batch
    sync = MailSync()
    sync.receive_clock(clock())
    their_marks: dict[Pair, int] = {}
    opened: list[int] = []
    lose = {2: "batch", 4: "ack"}
    rounds = 0
    while rounds < 50:
        rounds += 1
        chosen = plan_batch(letters, PEER, sync.offer_view(), {})
        if not chosen:
            break
        number = sync.sent((h.sender, h.recipient, h.seq) for h in chosen)
        if lose.get(number) == "batch":
            sync.timed_out()  # the next batch's ack shows the gap
            continue
        plan = plan_accept(
            [Received(h.sender, ((h.recipient, h.seq),)) for h in chosen],
            me=PEER,
            peer=ME,
            blocked=set(),
            relays={},
            marks=their_marks,
        )
        for take in plan.takes:
            opened.append(take.seq)
            their_marks[(take.sender, take.recipient)] = take.seq
        if lose.get(number) == "ack":
            sync.timed_out()
            continue
        sync.acknowledged(AckMarks.of(plan.ack(number)))  # through the wire's form
    assert opened == list(range(1, 11))
    assert rounds < 10
