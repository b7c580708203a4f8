"""When a sender tries again an author its peer fell short on (protocol/replication.py,
``Replication.renew`` and the retries), against a model peer, in every order hypothesis
finds: a peer holding another branch of the author's log gets the continuation and then
the whole log, and a peer holding a flood back past its budget is not sent it again
and again (docs/decisions.md, "Flood budget regression" and "A continuation after
other growth")."""

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import frames
from protocol.replication import MAX_RETRIES, WINDOW, Replication
from tests.protocol.test_replication import A, fill

FORK = 2  # the first number at which the peer's branch differs from ours


def seq_of(wire: bytes) -> int:
    return int.from_bytes(wire[1:5], "big")


@dataclass
class Peer:
    """A receiver of A's log. ``forked``: it holds another branch from FORK to ``head``
    and refuses everything of ours until the continuation, which makes it drop that
    branch (its head falls to FORK - 1: node/store/placement.py, ``_place_continuation``);
    then it takes our log in order. Otherwise (a flood past its budget) it holds back
    everything above ``head`` and takes one more only when it asks again (``asked``)."""

    head: int
    forked: bool
    continuation: int | None = None
    asked: bool = False

    def take(self, frame: frames.Entries) -> frames.Ack:
        for seq in (seq_of(w) for w in frame.entries):
            if self.forked:
                if seq == self.continuation:
                    self.forked = False
                    self.head = FORK - 1
                    break
            elif seq == self.head + 1 and self.continuation is not None:
                self.head = seq
            elif seq == self.head + 1 and self.asked:
                self.head = seq  # its budget lets one more through
                self.asked = False
        self.asked = False
        return frames.Ack(frame.batch, [[A.key, self.head]])


@dataclass
class Sender:
    sync: Replication
    peer: Peer
    ours: int
    queue: list[frames.Entries] = field(default_factory=list)
    sent: int = 0  # batches
    entries: int = 0  # entries in them

    def send(self) -> None:
        if len(self.sync.in_flight) < WINDOW:
            frame = fill(self.sync, {A: self.ours})
            if frame is not None:
                self.queue.append(frame)
                self.sent += 1
                self.entries += len(frame.entries)

    def deliver(self) -> None:
        if self.queue:
            self.sync.acknowledged(self.peer.take(self.queue.pop(0)))

    def drain(self) -> None:
        for _ in range(1000):
            if not self.queue and self.sync.idle:
                return
            while len(self.sync.in_flight) < WINDOW:
                before = self.sent
                self.send()
                if self.sent == before:
                    break
            self.deliver()
        raise AssertionError("the session never settled")


def start(peer_head: int, ours: int, peer: Peer) -> Sender:
    sync = Replication()
    sync.receive_clock(frames.Clock([[A.key, peer_head]]))
    sync.clock_complete({A: ours})
    return Sender(sync, peer, ours)


STEPS = st.lists(st.sampled_from(["post", "send", "deliver"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    before=STEPS,
    after=STEPS,
    peer_head=st.integers(FORK, FORK + 3),
    kept=st.integers(FORK, FORK + 3),
)
def test_a_peer_holding_another_branch_gets_the_whole_log_after_the_continuation(
    before: list[str], after: list[str], peer_head: int, kept: int
) -> None:
    # The peer holds its own branch up to peer_head; we hold the kept one up to kept,
    # and more is posted, sent and acknowledged in any order before and after the
    # continuation (above both branches, as node/forks.py signs it).
    peer = Peer(head=peer_head, forked=True)
    sender = start(peer_head, kept, peer)
    for step in before:
        run(sender, step)
    sender.ours = max(sender.ours, peer_head) + 1
    peer.continuation = sender.ours
    sender.sync.renew([A], continued=True)
    for step in after:
        run(sender, step)
    sender.drain()
    assert not peer.forked
    assert peer.head == sender.ours


def run(sender: Sender, step: str) -> None:
    if step == "post":
        sender.ours += 1
        sender.sync.renew([A])
    elif step == "send":
        sender.send()
    else:
        sender.deliver()


@settings(max_examples=400, deadline=None)
@given(
    steps=st.lists(st.sampled_from(["post", "send", "deliver"]), max_size=200),
    continuations=st.booleans(),
)
def test_a_flood_held_back_is_not_sent_again_and_again(
    steps: list[str], continuations: bool
) -> None:
    # The peer holds everything back (its head stays at 2) and does not ask again
    # meanwhile; the author signs entries, in any order with sending and acks, all of
    # them continuations or none (a school may sign continuations that name its own
    # entries as kept: nothing in the rules stops it). Each entry goes a bounded
    # number of times, however long the flood: the first time, then again after the
    # shortfalls of the first tries, once more after growth and once more after a
    # continuation (each up to MAX_RETRIES + 1, and a window's worth of batches on
    # their way). Trying again at every growth sent the whole log each time.
    peer = Peer(head=2, forked=False, continuation=None)
    sender = start(2, 2, peer)
    for step in steps:
        if step == "post" and continuations:
            sender.ours += 1
            sender.sync.renew([A], continued=True)
        else:
            run(sender, step)
    sender.drain()
    assert peer.head == 2
    signed = sender.ours - 2
    assert sender.entries <= 3 * (MAX_RETRIES + 1 + WINDOW) * signed, (sender.entries, signed)
    if not continuations:
        assert sender.sent <= 3 * (MAX_RETRIES + 1 + WINDOW), sender.sent
    if signed:  # asked again (its time came): sent at once, and taken
        peer.asked = True
        sender.sync.receive_clock(frames.Clock([[A.key, 2]]))
        sender.sync.clock_complete({A: sender.ours})
        sender.send()
        assert sender.queue
        sender.deliver()
        assert peer.head == 3
