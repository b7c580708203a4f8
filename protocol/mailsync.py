"""Letter sync with one peer as a pure state machine (docs/protocol.md, "Mail").

The letter half of a session, as :mod:`protocol.replication` is the entry half.
Everything here takes what the store holds as plain values and returns what to do:
the node (node/mail/mailroom.py, node/mail/session.py) reads before and writes after,
and the simulator (bench/simulate.py) drives the same rules with no database at all.

A **pair** is ``(sender, recipient)`` and a **mark** is ``Mark(sender, recipient, seq)``,
node ids as :class:`~protocol.keys.NodeId` throughout. On the wire, in ``mail-clock``
and ``mail-ack`` frames, a mark is the list ``[sender, recipient, seq]`` with the ids
as bytes: :meth:`ClockMarks.of` and :meth:`AckMarks.of` read a frame's marks once, where
it is received, and :func:`clock_frames` and :meth:`AcceptPlan.ack` write them.

One :class:`MailSync` per peer session holds:

* the **view**: for each pair, the mark up to which we believe the peer holds it
  (missing: 0), raised by its mail clock and by its acks;
* the **batch in flight**: for each unacknowledged ``mail`` batch, the last number
  sent of each of its pairs (a session waits for each ack; :meth:`MailSync.timed_out`
  forgets a batch never acknowledged, so sending starts again from the view);
* the **declined** pairs: the peer left them out of an ack (it neither holds nor
  relays them), or kept a gap after :data:`MAX_RETRIES` resends; not offered again
  in this session;
* the **delivered marks told**: what of the peer's own letters we (as a relay of
  the recipient) have already passed back to it.

The pure functions below it decide the rest: which envelopes a batch carries
(:func:`plan_batch`), which slots of a received batch are opened, held for a
recipient or ignored, and the marks of the ``mail-ack`` (:func:`plan_accept`), and
which marks of a peer's clock we believe (:func:`confirmations`, :func:`skips`,
:func:`relayed_verdict`).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from protocol import frames
from protocol.errors import ProtocolError
from protocol.keys import NodeId, from_b64url
from protocol.rules import mail as rules

Pair = tuple[NodeId, NodeId]  # (sender, recipient)

#: Times a pair is re-sent in one session when the peer keeps a gap before it.
MAX_RETRIES = 2
#: Pairs a peer's mail clocks can make us remember in one session (as
#: replication.MAX_VIEW_AUTHORS): marks of further pairs are not remembered, and
#: at worst we offer the peer letters it holds, which it ignores as repeats.
MAX_VIEW_PAIRS = 2**18
#: A mail frame's envelopes stay under this many bytes (frames are at most 1 MiB).
MAIL_BATCH_BYTES = 1_000_000
#: A view mark above any real number: a declined pair is never offered.
_NEVER = 2**63


# -- marks, and the frames that carry them ----------------------------------------------------


class Mark(NamedTuple):
    """A pair's letters 1 to ``seq`` are held; ``[sender, recipient, seq]`` on the wire."""

    sender: NodeId
    recipient: NodeId
    seq: int

    @property
    def pair(self) -> Pair:
        return (self.sender, self.recipient)

    @classmethod
    def of(cls, wire: Sequence[Any]) -> Mark:
        """A mark of a frame, whose check (protocol/frames.py) found two 32-byte ids and a
        number."""
        return cls(NodeId(wire[0]), NodeId(wire[1]), wire[2])

    def wire(self) -> list[Any]:
        return [bytes(self.sender), bytes(self.recipient), self.seq]


def read_marks(wire: Iterable[Sequence[Any]]) -> tuple[Mark, ...]:
    return tuple(Mark.of(mark) for mark in wire)


@dataclass(frozen=True, slots=True)
class ClockMarks:
    """A ``mail-clock`` frame as received: its marks and the delivered marks it passes back."""

    marks: tuple[Mark, ...]
    final: bool = True
    delivered: tuple[Mark, ...] = ()

    @classmethod
    def of(cls, frame: frames.MailClock) -> ClockMarks:
        return cls(read_marks(frame.marks), frame.final, read_marks(frame.delivered or ()))


@dataclass(frozen=True, slots=True)
class AckMarks:
    """A ``mail-ack`` frame as received: the batch it answers and the peer's marks."""

    batch: int
    marks: tuple[Mark, ...]

    @classmethod
    def of(cls, frame: frames.MailAck) -> AckMarks:
        return cls(frame.batch, read_marks(frame.marks))


# -- what the store holds, as plain values ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """An envelope we hold for one pair: its number in the pair, its id and its size."""

    sender: NodeId
    recipient: NodeId
    seq: int
    envelope: bytes  # the envelope id, to read its bytes once chosen
    size: int  # bytes of the envelope

    @property
    def pair(self) -> Pair:
        return (self.sender, self.recipient)


@dataclass(frozen=True, slots=True)
class Received:
    """A valid envelope of a ``mail`` batch: its sender and its slots ``(recipient, seq)``."""

    sender: NodeId
    slots: tuple[tuple[NodeId, int], ...]


def relays_named(profile: Mapping[str, Any] | None) -> set[NodeId]:
    """The relays a school names in its profile; anything malformed is skipped."""
    named: set[NodeId] = set()
    listed = (profile or {}).get("relays", [])
    for text in listed if isinstance(listed, list) else []:
        try:
            named.add(NodeId(from_b64url(text)))
        except (ValueError, AttributeError, TypeError):
            continue
    return named


def may_give(peer: NodeId, recipient: NodeId, relays: Mapping[NodeId, Collection[NodeId]]) -> bool:
    """Rule 1: an envelope of ``recipient``'s pair goes to ``peer`` only if the peer is the
    recipient or a relay the recipient names (``relays``: recipient -> the relays it names)."""
    return recipient == peer or peer in relays.get(recipient, ())


# -- one session ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """What a ``mail-ack`` changed: pairs no longer offered in this session, and why."""

    not_taken: tuple[Pair, ...] = ()  # left out of the ack: the peer does not take them
    gave_up: tuple[Pair, ...] = ()  # a gap kept after MAX_RETRIES resends


@dataclass
class MailSync:
    """Our side of the letter sync with one peer (see the module docstring)."""

    max_view: int = MAX_VIEW_PAIRS
    view: dict[Pair, int] = field(default_factory=dict)
    in_flight: dict[int, dict[Pair, int]] = field(default_factory=dict)
    declined: set[Pair] = field(default_factory=set)
    told: dict[Pair, int] = field(default_factory=dict)
    clock_received: bool = False  # the peer's final mail-clock came: we may send
    _retries: dict[Pair, int] = field(default_factory=dict)
    _next_batch: int = 1

    # -- the peer's mail clock -----------------------------------------------------

    def receive_clock(self, clock: ClockMarks) -> None:
        """Set the view of each pair listed to the mark received (step 2 of the exchange).

        Marks of new pairs past ``max_view`` are not remembered (a clock may come in
        any number of frames); a pair already known still moves."""
        for sender, recipient, seq in clock.marks:
            pair = (sender, recipient)
            if pair in self.view or len(self.view) < self.max_view:
                self.view[pair] = seq
        if clock.final:
            self.clock_received = True

    def fresh_delivered(self, delivered: Iterable[Mark]) -> list[Mark]:
        """Of the delivered marks we hold for the peer's letters, those not yet passed back
        in this session (and note them as passed back)."""
        fresh = []
        for mark in delivered:
            if mark.seq > self.told.get(mark.pair, 0):
                self.told[mark.pair] = mark.seq
                fresh.append(mark)
        return fresh

    # -- sending -------------------------------------------------------------------

    @property
    def may_send(self) -> bool:
        """A batch may go: the peer's clock is complete and no batch awaits its ack."""
        return self.clock_received and not self.in_flight

    def offer_view(self) -> dict[Pair, int]:
        """The view to choose a batch by: declined pairs count as held in full."""
        view = dict(self.view)
        for pair in self.declined:
            view[pair] = _NEVER
        return view

    def sent(self, chosen: Iterable[tuple[NodeId, NodeId, int]]) -> int:
        """Envelopes ``(sender, recipient, seq)`` go in a batch: its number (now in flight).

        The view moves to each pair's last number at once (optimistic; the ack corrects it)."""
        number = self._next_batch
        self._next_batch += 1
        last: dict[Pair, int] = {}
        for sender, recipient, seq in chosen:
            last[(sender, recipient)] = seq
            self.view[(sender, recipient)] = seq
        self.in_flight[number] = last
        return number

    def batch(self, chosen: Sequence[tuple[NodeId, NodeId, int, bytes]]) -> frames.Mail:
        """The ``mail`` frame of envelopes ``(sender, recipient, seq, wire)``, now in flight."""
        number = self.sent((s, r, q) for s, r, q, _ in chosen)
        return frames.Mail(number, [wire for *_, wire in chosen])

    def timed_out(self) -> None:
        """No ack came in time: forget the batches in flight, so sending goes on from the
        view. The optimistic moves stay: a letter lost with the batch is sent again once
        a later ack of its pair shows the gap, or in the next session (its clock)."""
        self.in_flight.clear()

    def acknowledged(self, ack: AckMarks) -> Acknowledged:
        """Step 5: apply the peer's ack; ProtocolError for a batch that is not in flight."""
        sent = self.in_flight.pop(ack.batch, None)
        if sent is None:
            raise ProtocolError(f"mail ack for unknown batch {ack.batch}", code="bad-frame")
        held = {mark.pair: mark.seq for mark in ack.marks}
        not_taken, gave_up = [], []
        for pair, last in sent.items():
            if pair not in held:
                # The peer neither holds nor relays this pair (it may have changed its
                # relays): do not offer it again in this session.
                self.declined.add(pair)
                not_taken.append(pair)
                continue
            if held[pair] >= last:
                self.view[pair] = max(held[pair], self.view.get(pair, 0))
                continue
            self.view[pair] = held[pair]  # it has a gap before ours: resend from its mark
            self._retries[pair] = self._retries.get(pair, 0) + 1
            if self._retries[pair] > MAX_RETRIES:
                self.declined.add(pair)
                gave_up.append(pair)
        return Acknowledged(tuple(not_taken), tuple(gave_up))


def plan_batch(
    held: Iterable[Held],
    peer: NodeId,
    view: Mapping[Pair, int],
    relays: Mapping[NodeId, Collection[NodeId]],
    *,
    max_bytes: int = MAIL_BATCH_BYTES,
    max_envelopes: int = frames.MAX_MAIL_ENVELOPES,
) -> list[Held]:
    """The envelopes of the next batch to ``peer``: those it lacks by ``view`` and may be
    given (rule 1), in the order given (by sender, recipient, number), until one would
    not fit (``max_bytes``, ``max_envelopes``). The first always goes, whatever its size.

    ``held`` is every envelope we hold whose sender is not the peer; ``relays`` the
    relays named by each recipient of them other than the peer."""
    batch: list[Held] = []
    size = 0
    for item in held:
        if item.sender == peer or item.seq <= view.get(item.pair, 0):
            continue
        if not may_give(peer, item.recipient, relays):
            continue
        if batch and (size + item.size > max_bytes or len(batch) >= max_envelopes):
            break
        batch.append(item)
        size += item.size
    return batch


def lacking_recipients(held: Iterable[Held], peer: NodeId, view: Mapping[Pair, int]) -> set[NodeId]:
    """Recipients (other than ``peer``) of envelopes the peer lacks by ``view``: whose
    relays :func:`plan_batch` needs to know."""
    return {
        h.recipient
        for h in held
        if h.sender != peer and h.recipient != peer and h.seq > view.get(h.pair, 0)
    }


def clock_frames(marks: Sequence[Mark], delivered: Sequence[Mark]) -> list[frames.MailClock]:
    """Our mail clock at the start of a session (step 1): the marks, and the delivered
    marks for the peer, at most MAX_CLOCK_PAIRS of each per frame, the last one final."""
    step = frames.MAX_CLOCK_PAIRS
    count = max(1, -(-len(marks) // step), -(-len(delivered) // step))
    return [
        frames.MailClock(
            [m.wire() for m in marks[i * step : (i + 1) * step]],
            i == count - 1,
            [m.wire() for m in delivered[i * step : (i + 1) * step]] or None,
        )
        for i in range(count)
    ]


def delivered_frames(delivered: Sequence[Mark]) -> list[frames.MailClock]:
    """Delivered marks recorded while the session is open: mail clocks with no marks,
    which change nothing else at the peer (Delivered marks, step 2)."""
    step = frames.MAX_CLOCK_PAIRS
    return [
        frames.MailClock([], True, [m.wire() for m in delivered[i : i + step]])
        for i in range(0, len(delivered), step)
    ]


# -- receiving ---------------------------------------------------------------------------


class Action(enum.Enum):
    OPEN = "open"  # a letter to us: open it (a refused one uses its number all the same)
    HOLD = "hold"  # as a relay: keep the envelope for its recipient


@dataclass(frozen=True, slots=True)
class Take:
    """One slot of a received batch taken: what to do, for which pair, at which number."""

    action: Action
    index: int  # of the envelope among those given to plan_accept
    sender: NodeId
    recipient: NodeId
    seq: int
    blame: bool = False  # OPEN: a refusal counts against the peer (it is the sender)


@dataclass(frozen=True, slots=True)
class AcceptPlan:
    takes: tuple[Take, ...]
    marks: list[Mark]  # for the mail-ack: each pair taken, its mark after the batch, sorted

    def ack(self, batch: int) -> frames.MailAck:
        """The ``mail-ack`` answering the batch (step 4)."""
        return frames.MailAck(batch, [mark.wire() for mark in self.marks])

    @property
    def holds(self) -> bool:
        """Some envelope is kept for another school: wake the sessions."""
        return any(t.action is Action.HOLD for t in self.takes)


def taken_pairs(
    envelopes: Iterable[Received],
    *,
    me: NodeId,
    blocked: Set[NodeId],
    relays: Mapping[NodeId, Collection[NodeId]],
) -> list[Pair]:
    """Rule 2: the pairs of these envelopes we take, in the order met (each once).

    Our own letters coming back through a relay are ignored; a slot for another school
    is taken only if it names us as its relay and the sender is not a school we blocked."""
    pairs: dict[Pair, None] = {}
    for envelope in envelopes:
        if envelope.sender == me:
            continue
        holds_others = rules.hold_for_others(envelope.sender, blocked)
        for recipient, _ in envelope.slots:
            if recipient == me or (holds_others and me in relays.get(recipient, ())):
                pairs[(envelope.sender, recipient)] = None
    return list(pairs)


def recipients_to_check(envelopes: Iterable[Received], me: NodeId) -> set[NodeId]:
    """Recipients of slots other than ours: whose relays :func:`plan_accept` needs."""
    return {r for e in envelopes if e.sender != me for r, _ in e.slots if r != me}


def plan_accept(
    envelopes: Sequence[Received],
    *,
    me: NodeId,
    peer: NodeId,
    blocked: Set[NodeId],
    relays: Mapping[NodeId, Collection[NodeId]],
    marks: Mapping[Pair, int],
) -> AcceptPlan:
    """Rules 2 to 4 over a batch of valid envelopes, in order: what to take, and the ack.

    ``relays``: the relays named by each recipient of :func:`recipients_to_check`;
    ``marks``: our mark of each pair of :func:`taken_pairs` before the batch."""
    marks = dict(marks)
    takes: list[Take] = []
    taken = set(taken_pairs(envelopes, me=me, blocked=blocked, relays=relays))
    touched: set[Pair] = set()
    for index, envelope in enumerate(envelopes):
        for recipient, seq in envelope.slots:
            pair = (envelope.sender, recipient)
            if pair not in taken:
                continue  # not ours, and not ours to hold: ignore the slot
            touched.add(pair)
            if seq != marks.get(pair, 0) + 1:
                continue  # a repeat, or a gap that a resend will fill
            marks[pair] = seq
            if recipient == me:
                # A relay could not read the letter: it is not to blame.
                action, blame = Action.OPEN, envelope.sender == peer
            else:
                action, blame = Action.HOLD, False
            takes.append(Take(action, index, envelope.sender, recipient, seq, blame))
    # Sorted as the wire wants them (frames.MailAck): by the ids' bytes.
    ack = [Mark(s, r, marks.get((s, r), 0)) for s, r in sorted(touched, key=_wire_order)]
    return AcceptPlan(tuple(takes), ack)


def _wire_order(pair: Pair) -> tuple[bytes, bytes]:
    return (pair[0].key, pair[1].key)


# -- marks a peer tells us ------------------------------------------------------------------


def confirmations(marks: Iterable[Mark], peer: NodeId) -> list[Mark]:
    """Marks of pairs whose recipient is the peer itself: final (the recipient has those
    letters), so the sender or a relay may drop what it holds of the pair up to them."""
    return [m for m in marks if m.recipient == peer]


def to_record_delivered(
    confirmed: Iterable[Mark], me: NodeId, relay_for_peer: bool, held: Collection[Pair]
) -> list[Mark]:
    """Of the peer's confirmations, those to record as delivered marks (step 1): only
    when we are a relay the peer names, not of our own letters, and only for pairs
    we hold or have held letters of (``held``: pairs we have a mark for). A peer
    naming us could otherwise make up any number of senders, each a row kept for
    ever; this way the rows are bounded by the mail we took as a relay."""
    if not relay_for_peer:
        return []
    return [m for m in confirmed if m.sender != me and m.pair in held]


def skips(marks: Iterable[Mark], me: NodeId, peer: NodeId) -> list[Mark]:
    """Confirmed marks from the sender itself, for a recipient that is neither of us:
    a relay of that recipient may move its mark on to them."""
    return [m for m in marks if m.sender == peer and m.recipient not in (me, peer)]


def skip_to(seq: int, our_mark: int, relay_for_recipient: bool) -> bool:
    """Whether a relay moves its mark for a pair to the sender's confirmed ``seq``."""
    return seq > our_mark and relay_for_recipient


def relayed(marks: Iterable[Mark], me: NodeId, peer: NodeId) -> list[Mark]:
    """Delivered marks a peer passes back that are about our own letters to a third school."""
    return [m for m in marks if m.sender == me and m.recipient not in (me, peer)]


class Relayed(enum.Enum):
    BELIEVED = "believed"
    NOT_NAMED = "not-named"  # the recipient does not name the peer as its relay
    NEVER_SEALED = "never-sealed"  # above the last number we gave out to the recipient


def relayed_verdict(seq: int, our_mark: int, peer_named: bool) -> Relayed:
    """Step 3 of delivered marks: whether to believe one passed back by the peer."""
    if not peer_named:
        return Relayed.NOT_NAMED
    if seq > our_mark:
        return Relayed.NEVER_SEALED
    return Relayed.BELIEVED
