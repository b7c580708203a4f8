"""Replication with one peer as a pure state machine (docs/protocol.md, "Sync").

One :class:`Replication` per peer session holds what the sync rules decide on:

* the **view**: for each author, the sequence number up to which we believe the
  peer holds the author's log (0 if absent);
* the **dirty** authors: whose entries we may hold and the peer may lack;
* the **batches in flight**: for each unacknowledged batch, the last sequence
  number sent of each of its authors;
* the **authors being stored**: of the batch the peer just sent us. Batches
  leave them out until the view is raised for what was stored, because the
  commit marks them dirty in every session first (without this, every entry went
  straight back to its sender: docs/performance.md, "Redundancy").

It reads no store and touches no network, so the session (node/net/session.py) and
the simulator (bench/simulate.py) drive the same rules. Building a batch is a
short dialogue, because only the caller can read entries::

    batch = replication.start_batch()
    while (read := batch.next_read()) is not None:
        batch.add(store_rows(read.author, read.after, read.limit))
    frame = batch.finish()  # an Entries frame, or None when there was nothing to send

A node's session reads several authors in one trip instead (``next_reads`` and
``add_all``, the same rules: the store stops once it has read a batch's worth).

The caller keeps the window: it starts a batch only while fewer than
:data:`WINDOW` are in flight, and a slot frees when :meth:`Replication.acknowledged`
says so.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

from protocol import frames
from protocol.errors import ProtocolError, SessionLimit
from protocol.keys import NodeId
from protocol.reconcile import (
    ID_BYTES,
    LIST_BELOW,
    MAX_MESSAGE_BYTES,
    SHORT_ID_BYTES,
    ItemSet,
    Key,
    OverBudget,
    Reconciler,
)


def id_bytes(shared: Collection[str]) -> int:
    """What a reconciliation lists per id with a peer: 16-byte prefixes when both sides
    announced ``short-ids``, whole ids otherwise (today's nodes)."""
    return SHORT_ID_BYTES if frames.SHORT_IDS in shared else ID_BYTES


WINDOW = 4  # batches in flight before the sender waits for an ack
BATCH_BYTES = 768 * 1024  # entries' bytes per batch: stays well under frames.MAX_FRAME_BYTES
MAX_RETRIES = 2  # shortfalls per author and session that are retried; the third declines it
#: Authors a peer's clock frames can make us remember in one session. A clock may come
#: in any number of frames, so without a bound a hostile peer could fill our memory
#: with made-up authors (about 35 MB a second at its receive budget). Five times the
#: largest network measured (200,000 schools: docs/performance.md, "The session clock").
MAX_VIEW_AUTHORS = 2**20
#: (author, head id) pairs a peer's clock frames carrying ids may name in one session.
#: Each pair is compared with what we hold (a read of the database), so without a
#: bound a peer could keep our database busy for as long as the session lasts. A node
#: sends ids only in the clock that opens a session (docs/protocol.md, "Sync"): this
#: is such a clock naming twice MAX_VIEW_AUTHORS authors, however it is cut in frames.
MAX_ID_PAIRS = 2 * MAX_VIEW_AUTHORS
#: What a clock frame carrying ids counts against MAX_ID_PAIRS at least, however few
#: pairs it carries: each frame is a trip to the database of its own, which costs as
#: much as comparing about 16 pairs (26 us for a frame of one pair, 1.65 us a pair in
#: frames of 4,096: docs/decisions.md, "Bounds of a hostile peer across sessions").
#: Charged 64, frames of one pair cost the database less than full frames could; and
#: an honest clock in frames of 64 pairs or more is charged what it carries.
MIN_ID_CLOCK_PAIRS = 64
#: The clock frames carrying ids that fit in a session at most (all of one pair): the
#: frame bound MIN_ID_CLOCK_PAIRS implies, for the docs and the tests.
MAX_ID_CLOCKS = MAX_ID_PAIRS // MIN_ID_CLOCK_PAIRS
#: Entries a peer's clocks may make us send as evidence of a fork, in one session.
#: Each is sent once per session whatever the clocks repeat, outside the window (no
#: ack paces it), so a peer naming wrong ids could otherwise have our whole store sent
#: to it as fast as it can write the ids. A fork is a rare incident, each ended by
#: ``schoolmesh recover``; a session showing thousands is not an honest one.
MAX_EVIDENCE = 4096


def id_clock_cost(clock: frames.Clock, min_pairs: int = MIN_ID_CLOCK_PAIRS) -> int:
    """What a clock frame counts against a session's MAX_ID_PAIRS: its pairs carrying a
    head id, and at least ``min_pairs`` if it carries any (each such frame is a trip to
    the database); 0 for a frame without ids (asking again: not counted)."""
    with_ids = sum(len(pair) == 3 for pair in clock.heads)
    return max(with_ids, min_pairs) if with_ids else 0


@dataclass(frozen=True, slots=True)
class Read:
    """What to read next for a batch: the author's entries above ``after``, at most ``limit``."""

    author: NodeId
    after: int
    limit: int


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """What an ack changed: whether a window slot freed, and which authors to send again."""

    window: bool
    resend: tuple[NodeId, ...] = ()


class Replication:
    """Our side of the sync with one peer: the view of it, dirty authors, batches in flight."""

    def __init__(
        self,
        *,
        max_view: int = MAX_VIEW_AUTHORS,
        max_id_pairs: int | None = None,
        min_id_clock_pairs: int | None = None,
        max_evidence: int | None = None,
    ) -> None:
        self.max_view = max_view
        #: The bounds of what the peer's clocks may make us do (None: the module's,
        #: read when the session starts).
        self.max_id_pairs = MAX_ID_PAIRS if max_id_pairs is None else max_id_pairs
        self.min_id_clock_pairs = (
            MIN_ID_CLOCK_PAIRS if min_id_clock_pairs is None else min_id_clock_pairs
        )
        self.max_evidence = MAX_EVIDENCE if max_evidence is None else max_evidence
        #: Pairs with ids counted so far in the session (:func:`id_clock_cost` of each frame).
        self.id_pairs = 0
        #: ``(author, seq)`` under which we showed the peer our entry (a fork), this session.
        self.shown: set[tuple[NodeId, int]] = set()
        #: Forks shown to the same peer in its sessions that ended just before this one
        #: (the caller's to remember), counted against ``max_evidence`` too: a peer that
        #: ends its own session one short of the bound and dials again gets no fresh one.
        self.shown_before = 0
        self.view: dict[NodeId, int] = {}
        self.dirty: set[NodeId] = set()
        self.declined: set[NodeId] = set()  # given up on for this session (refused repeatedly)
        #: Authors given up on that a clock named since its last final frame (asking
        #: again), and whether the peer's first clock is complete: :meth:`to_complete`.
        self._asked: set[NodeId] = set()
        self._complete = False
        self.in_flight: dict[int, dict[NodeId, int]] = {}  # batch -> author -> last seq sent
        self.receiving: set[NodeId] = set()  # authors of the batch being stored
        #: Authors handed out to be read for the batch being filled (BatchBuilder), until
        #: it takes what was read: neither dirty nor in flight meanwhile, yet not idle.
        self.reading: set[NodeId] = set()
        self.waiting: set[NodeId] = set()  # dirty authors set aside until it is stored
        #: Our head of each author marked dirty while being received, as the commits
        #: that grew it told (:meth:`mark_dirty`); None where one did not tell.
        self._grown_to: dict[NodeId, int | None] = {}
        self._retries: dict[NodeId, int] = {}
        #: The peer's head in its last shortfall of each author, and the head at which a
        #: growth of the author's log last renewed its retries (:meth:`renew`); apart,
        #: the head at which a continuation of it last did.
        self._short_at: dict[NodeId, int] = {}
        self._renewed_at: dict[NodeId, int] = {}
        self._continued_at: dict[NodeId, int] = {}
        #: The first batch number after the peer's head of each author last fell (it
        #: dropped a branch), or after the author's log grew with a continuation: the
        #: acks of batches sent before it are no tries (they could not hold what the
        #: peer lacked, or were planned from the old head).
        self._fresh_from: dict[NodeId, int] = {}
        #: The head the peer last told of, for each author (clock, session start, acks):
        #: an ack below it shows that the peer dropped a branch.
        self._told: dict[NodeId, int] = {}
        self._evidence: set[int] = set()  # batches showing a fork, outside the window
        self._next_batch = 1
        #: The authors whose logs the peer wants, when it declared them (``interest``:
        #: docs/protocol.md); None: every author, as a peer that declared nothing.
        self.wants_log: Callable[[NodeId], bool] | None = None

    @property
    def idle(self) -> bool:
        """Nothing left to send and nothing unacknowledged."""
        return (
            not self.in_flight
            and not self._evidence
            and not self.reading
            and (self.dirty | self.waiting) <= self.declined
        )

    def mark_dirty(
        self, authors: Iterable[NodeId], heads: Mapping[NodeId, int] | None = None
    ) -> None:
        """Look again at these authors: we may hold entries the peer lacks.

        ``heads``: our head of some of them after the commit that grew them. An author
        whose peer holds that head already (the view says so: it sent us those entries,
        or we sent them) has nothing to send and is left out, as reading its log would
        find nothing: on a hub catching up many schools that read was one trip to the
        database per entry stored (docs/performance.md, "A hub catching up many
        schools"). While an author is being received its view moves only when storing
        is over, so its head is kept for :meth:`stored` to judge."""
        wants = self.wants_log
        for author in authors:
            if wants is not None and not wants(author):
                continue
            head = None if heads is None else heads.get(author)
            if author in self.receiving:
                known = self._grown_to.get(author, 0)
                self._grown_to[author] = None if head is None or known is None else max(known, head)
            elif head is not None and self.view.get(author, 0) >= head:
                continue
            self.dirty.add(author)

    def declared(self, wants_log: Callable[[NodeId], bool]) -> None:
        """The peer declared the authors whose logs it wants: only those are sent as
        logs from now on (the others it may get alone: node/net/interest.py)."""
        self.wants_log = wants_log
        self.dirty = {a for a in self.dirty if wants_log(a)}
        self.waiting = {a for a in self.waiting if wants_log(a)}

    def renew(
        self,
        authors: Iterable[NodeId],
        *,
        continued: bool = False,
        heads: Mapping[NodeId, int] | None = None,
    ) -> None:
        """These authors' logs grew here: mark them dirty, and try them again even if the
        peer fell short on them earlier in the session (the new entries may be what it
        lacked: a continuation after a fork, node/forks.py), with their retries afresh.

        Afresh once per head the peer stopped at: if it stops there again, growth is not
        what it lacks. A school signing past its budget grows its log with every entry
        while the peer holds them back (and asks again itself when their time comes);
        renewing at each entry sent the whole held-back log again, every time
        (docs/decisions.md, "Flood budget regression").

        ``continued``: the growth holds a continuation of the author's log, which a peer
        holding the branch it drops needs (it refuses everything else after its own
        branch). Once more per head, apart from other growth: an entry signed between
        the two steps of ``schoolmesh recover`` grows the log first and uses the renewal
        up; and the acks of batches sent before it are no tries, so that those still on
        their way cannot give the author up before the continuation goes
        (docs/decisions.md, "A continuation after other growth").

        ``heads``: our new heads, where the commit told them (:meth:`mark_dirty`)."""
        grown = set(authors)
        renewed = self._continued_at if continued else self._renewed_at
        for author in grown:
            short_at = self._short_at.get(author)
            if short_at is not None and renewed.get(author) == short_at:
                continue
            if continued:
                self._fresh_from[author] = self._fresh_batch(author)
            if short_at is None:
                continue
            renewed[author] = short_at
            self.declined.discard(author)
            self._retries.pop(author, None)
        self.mark_dirty(grown, heads)

    def _fresh_batch(self, author: NodeId) -> int:
        """The first batch planned from now on for ``author``: the next one, or the one
        after if the batch being filled is reading it (planned before, as if sent; an
        evidence batch numbered during that read would take its number, and the ack
        of the batch read would then count, as all did before ``reading``)."""
        return self._next_batch + (author in self.reading)

    def wanted(self, authors: Iterable[NodeId]) -> None:
        """The peer wants these authors' logs now (it added them to its interest): look
        at them again, even those it was given up on, with their retries afresh, as when
        it asks again by clock (:meth:`receive_clock`). Not counted as growth: growth may
        still be tried once at the head where the peer stops (:meth:`renew`)."""
        wanted = set(authors)
        for author in wanted:
            self.declined.discard(author)
            self._retries.pop(author, None)
        self.mark_dirty(wanted)

    # -- the peer's clock -----------------------------------------------------------

    def receive_clock(self, clock: frames.Clock) -> list[tuple[NodeId, int, bytes]]:
        """Merge a clock frame into the view (never lowering it).

        A peer may send another clock later in the session, to ask again for the
        authors it names: those given up on are looked at again. Returns the pairs
        that carry a head id, as ``(author, seq, id)``, one per author (of its pairs
        with an id, the first at the highest number among them): the
        caller compares each with the entry it holds there and, if it holds a
        different one (a fork), sends it with :meth:`evidence` once :meth:`to_show`
        allows it. Pairs of new authors past ``max_view`` are ignored: at worst we
        send the peer entries it holds.

        Raises SessionLimit, changing nothing, for the clock frame that takes the pairs
        with head ids counted in the session (:func:`id_clock_cost`) past
        ``max_id_pairs``.
        """
        cost = id_clock_cost(clock, self.min_id_clock_pairs)
        if cost:
            if self.id_pairs + cost > self.max_id_pairs:
                raise SessionLimit(
                    f"clock frames naming more than {self.max_id_pairs:,} heads with ids "
                    f"in one session (a frame with ids counts as {self.min_id_clock_pairs} "
                    "at least): a node sends ids only in the clock that opens a session",
                    code="too-many-clocks",
                )
            self.id_pairs += cost
        with_ids: dict[NodeId, tuple[NodeId, int, bytes]] = {}
        for raw, seq, *head_id in clock.heads:
            author = NodeId(raw)  # 32 bytes: checked by frames.Clock
            if author not in self.view and len(self.view) >= self.max_view:
                continue
            if author in self.declined:
                # Asked again (a receiver that held entries back past their author's
                # budget, once their time has come: docs/protocol.md, "Budget").
                self.declined.discard(author)
                self._retries.pop(author, None)
                self._asked.add(author)
            self.view[author] = max(seq, self.view.get(author, 0))
            self._told[author] = max(seq, self._told.get(author, 0))
            if head_id:
                named = with_ids.get(author)
                if named is None or seq > named[1]:
                    with_ids[author] = (author, seq, head_id[0])
        return list(with_ids.values())

    def to_show(self, forks: Iterable[tuple[NodeId, int]]) -> list[tuple[NodeId, int]]:
        """Of the ``(author, seq)`` under which we hold another entry than the peer's
        clock named, those to show it now: each once per session.

        Raises SessionLimit, showing none of them, when they would take the entries
        shown in the session (and ``shown_before``) past ``max_evidence``."""
        new = list(dict.fromkeys(f for f in forks if f not in self.shown))
        if self.shown_before + len(self.shown) + len(new) > self.max_evidence:
            before = f" and the sessions just before it ({self.shown_before:,} shown)"
            raise SessionLimit(
                f"clocks naming more than {self.max_evidence} heads we hold otherwise "
                f"(forks) in one session{before if self.shown_before else ''}",
                code="too-many-forks",
            )
        self.shown.update(new)
        return new

    def level(self, heads: Iterable[tuple[NodeId, int]]) -> None:
        """The peer holds these authors' logs up to these numbers (a session start by
        reconciliation found its heads equal to ours): raise the view, never lower it."""
        for author, seq in heads:
            if author in self.view or len(self.view) < self.max_view:
                self.view[author] = max(seq, self.view.get(author, 0))
                self._told[author] = max(seq, self._told.get(author, 0))

    def to_complete(self) -> set[NodeId] | None:
        """On the peer's final clock frame: the authors whose heads :meth:`clock_complete`
        needs. None for the clock that opens the session: every head held (or those a
        reconciliation left to compare). After it, only those the later clock asked
        again for (given up on, and named): for every other author the session keeps
        the dirty marks up to date, and a clock only raises the view, which never
        gives us more to send. Reading every head held for each later clock cost a
        hub about a second (docs/performance.md), for a frame of a few bytes."""
        if not self._complete:
            return None
        asked, self._asked = self._asked, set()
        return asked

    def clock_complete(self, heads: Mapping[NodeId, int]) -> None:
        """After the peer's final clock frame: every author of ``heads`` we hold beyond
        the view is dirty (:meth:`to_complete` says whose heads to give)."""
        self._complete = True
        self.mark_dirty(a for a, seq in heads.items() if seq > self.view.get(a, 0))

    def behind(self, heads: Mapping[NodeId, int], blocked: Collection[NodeId]) -> int:
        """Entries the peer has told us of that we do not hold (blocked authors aside)."""
        return sum(
            max(0, seq - heads.get(a, 0)) for a, seq in self.view.items() if a not in blocked
        )

    # -- sending ------------------------------------------------------------------

    def start_batch(self) -> BatchBuilder:
        return BatchBuilder(self)

    def evidence(self, wire: bytes) -> frames.Entries:
        """A batch of one entry showing a fork: numbered like others, outside the window."""
        batch = self._take_number()
        self._evidence.add(batch)
        return frames.Entries(batch, [wire])

    def alone(self, wires: list[bytes]) -> frames.Entries:
        """A batch of entries sent alone, outside any log (docs/protocol.md, "Loose
        entries"): numbered like others, outside the window, its ack moving nothing."""
        batch = self._take_number()
        self._evidence.add(batch)
        return frames.Entries(batch, wires)

    def _take_number(self) -> int:
        batch = self._next_batch
        self._next_batch += 1
        return batch

    # -- receiving ----------------------------------------------------------------

    def storing(self, authors: Iterable[NodeId]) -> None:
        """The peer sent us entries of these authors and we are storing them.

        Until :meth:`stored`, batches leave these authors out: the commit marks them
        dirty in every session before this one knows what it stored and can raise
        its view, and a batch built in between sent every entry straight back.
        """
        self.receiving = set(authors)

    def stored(self, held: Iterable[tuple[NodeId, int]]) -> None:
        """Storing is over: raise the view for what was stored or held, then let the
        authors set aside meanwhile be sent again, from the view, as if they had been
        marked dirty after it moved (so a refused entry or our side of a fork still goes).
        """
        for author, seq in held:
            self.held(author, seq)
        self.receiving = set()
        self.dirty |= self.waiting
        self.waiting = set()
        grown, self._grown_to = self._grown_to, {}
        for author, head in grown.items():  # nothing to send where the peer holds our head
            if head is not None and self.view.get(author, 0) >= head:
                self.dirty.discard(author)

    def held(self, author: NodeId, seq: int) -> None:
        """The peer sent us this entry and we stored it or held it: never send it back."""
        self.view[author] = max(seq, self.view.get(author, 0))

    def acknowledged(self, ack: frames.Ack) -> Acknowledged:
        """Apply the peer's ack; raise ProtocolError for a batch that is not in flight."""
        if ack.batch in self._evidence:
            self._evidence.discard(ack.batch)
            return Acknowledged(window=False)
        sent = self.in_flight.pop(ack.batch, None)
        if sent is None:
            raise ProtocolError(f"ack for unknown batch {ack.batch}", code="bad-frame")
        acked = {NodeId(a): s for a, s in ack.heads}  # 32 bytes: checked by frames.Ack
        resend = []
        for author, last_sent in sent.items():
            if author not in acked:
                continue  # the peer said nothing of it: keep our view
            held = acked[author]
            if held >= last_sent:
                # Later batches may already be on their way: never move the view back.
                self.view[author] = max(held, self.view.get(author, 0))
                self._told[author] = max(held, self._told.get(author, 0))
                continue
            # The peer did not take everything (it blocked the author, or it lacked
            # earlier entries): re-plan from its real head, but give up on this
            # author for the session after a few tries so a refusal cannot loop.
            told = self._told.get(author)
            self._told[author] = held
            if told is not None and held < told:
                # It stopped lower than before: it dropped its branch on receiving a
                # continuation and needs the kept one from there (node/forks.py). A
                # refusal did not make it: its tries start afresh, and the acks of the
                # batches sent before, from the old view, show the same and are none.
                self._retries.pop(author, None)
                self.declined.discard(author)
                self._fresh_from[author] = self._fresh_batch(author)
            elif ack.batch < (fresh := self._fresh_from.get(author, 0)):
                # Sent before: no try. A batch sent since covers it; if none did (the
                # view had moved past what grew: a continuation numbered below the
                # entries sent), re-plan from the peer's head, still without a try.
                if not any(b >= fresh and author in later for b, later in self.in_flight.items()):
                    self.view[author] = held
                    self.dirty.add(author)
                    resend.append(author)
                continue
            self.view[author] = held
            self._short_at[author] = held
            self._retries[author] = self._retries.get(author, 0) + 1
            if self._retries[author] > MAX_RETRIES:
                self.declined.add(author)
            else:
                self.dirty.add(author)
                resend.append(author)
        return Acknowledged(window=True, resend=tuple(resend))


class BatchBuilder:
    """One batch being filled from the dirty authors (see the module docstring)."""

    def __init__(self, replication: Replication) -> None:
        self._sync = replication
        self._entries: list[bytes] = []
        self._last: dict[NodeId, int] = {}  # author -> last seq in this batch
        self._size = 0
        self._full = False
        self._pending: Read | None = None
        self._reads: list[Read] = []  # handed out by next_reads, for add_all

    def next_read(self) -> Read | None:
        """The next author to read entries of, or None when the batch is complete."""
        sync = self._sync
        while sync.dirty and not self._full and len(self._entries) < frames.MAX_BATCH_ENTRIES:
            author = sync.dirty.pop()
            if author in sync.declined:
                continue
            if author in sync.receiving:
                sync.waiting.add(author)
                continue
            room = frames.MAX_BATCH_ENTRIES - len(self._entries)
            self._pending = Read(author, sync.view.get(author, 0), room)
            sync.reading.add(author)
            return self._pending
        return None

    def next_reads(self, most: int) -> list[Read]:
        """The next authors to read, up to ``most`` at once, each up to the room the batch
        has now: a store reads them in one trip, stopping once it has read enough to fill
        the batch, and :meth:`add_all` takes what it read. A batch of many schools' few
        newest entries (a hub catching up another) then costs one trip to the store, not
        one per author. Empty when the batch is complete."""
        reads: list[Read] = []
        while len(reads) < most and (read := self.next_read()) is not None:
            reads.append(read)
        self._pending = None
        self._reads = reads
        return reads

    def add_all(self, rows_per_read: Sequence[Sequence[tuple[int, bytes]]]) -> None:
        """What was read for :meth:`next_reads`'s reads, in order, for as many of them as
        the store read: each is taken as :meth:`add` takes it while the batch has room;
        an author not read, or not reached once the batch is full, is looked at again
        for the next batch.

        Each author is looked at again first, as :meth:`next_read` would look at it now:
        the caller awaited the store, and acks, commits, storing and declared interest
        went on meanwhile. One given up on or no longer wanted is dropped; one being
        received waits for its storing; one whose view moved (an ack lowered it, the
        peer sent us entries) is read again, from its view, as the rows read no longer
        start where the peer stands."""
        reads, self._reads = self._reads, []
        sync = self._sync
        sync.reading.difference_update(read.author for read in reads)
        for i, read in enumerate(reads):
            author = read.author
            if author in sync.declined or (
                sync.wants_log is not None and not sync.wants_log(author)
            ):
                continue
            if author in sync.receiving:
                sync.waiting.add(author)
                continue
            room = frames.MAX_BATCH_ENTRIES - len(self._entries)
            if (
                i >= len(rows_per_read)
                or self._full
                or room <= 0
                or sync.view.get(author, 0) != read.after
            ):
                sync.dirty.add(author)
                continue
            limit = min(read.limit, room)
            self._pending = Read(read.author, read.after, limit)
            self.add(rows_per_read[i][:limit])

    def add(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """The ``(seq, wire bytes)`` read for the last :meth:`next_read`, in ascending order."""
        read, self._pending = self._pending, None
        if read is None:
            raise RuntimeError("add() without a next_read() before it")
        author = read.author
        self._sync.reading.discard(author)
        for seq, wire in rows:
            if self._size + len(wire) > BATCH_BYTES and self._entries:
                self._full = True  # the rest goes in the next batch
                break
            self._entries.append(wire)
            self._size += len(wire)
            self._last[author] = seq
        if author in self._last:
            self._sync.view[author] = self._last[author]  # optimistic; the ack corrects it
        if len(rows) == read.limit or (rows and self._last.get(author) != rows[-1][0]):
            self._sync.dirty.add(author)  # more to send after this batch

    def finish(self) -> frames.Entries | None:
        """The batch as a frame, now in flight; None if there was nothing to send."""
        if not self._entries:
            return None
        batch = self._sync._take_number()
        self._sync.in_flight[batch] = self._last
        return frames.Entries(batch, self._entries)


def clock_frames(heads: Iterable[tuple[NodeId, int, bytes]]) -> list[frames.Clock]:
    """Our clock as sent at the start of a session: ``(author, seq, head id)`` for every
    author held, at most MAX_CLOCK_PAIRS per frame, the last one final.

    It grows with the authors held, about 72 bytes each (docs/performance.md, "Clock").
    """
    pairs = [[bytes(author), seq, head_id] for author, seq, head_id in heads]
    step = frames.MAX_CLOCK_PAIRS
    chunks = [pairs[i : i + step] for i in range(0, len(pairs), step)] or [[]]
    return [frames.Clock(chunk, final=i == len(chunks) - 1) for i, chunk in enumerate(chunks)]


def ack_for(batch: int, heads: Mapping[NodeId, int]) -> frames.Ack:
    """The ack of a stored batch: our head (0 if none) of each of its authors, sorted
    by their bytes (the wire's order)."""
    return frames.Ack(batch, [[bytes(a), heads[a]] for a in sorted(heads, key=bytes)])


# -- session start by reconciliation of heads (docs/protocol.md, "Session start") ----


def head_item(author: NodeId, head_id: bytes, timestamp: int) -> tuple[int, bytes]:
    """An author's head as a reconciliation item: the head entry's timestamp, and
    BLAKE2b-256(author || head id). Two nodes hold the same item exactly when they
    hold the same newest entry of the author."""
    return timestamp, hashlib.blake2b(author.key + head_id, digest_size=32).digest()


@dataclass(frozen=True, slots=True)
class Head:
    """The newest entry held of an author's log: its number, id and timestamp."""

    author: NodeId
    seq: int
    id: bytes
    timestamp: int


class HeadSet:
    """A node's heads as reconciliation items, sorted, for every session to share.

    Immutable: :class:`HeadItems` makes a new one when heads have moved."""

    __slots__ = ("by_item", "items")

    def __init__(self, by_item: Mapping[bytes, Head], items: ItemSet) -> None:
        """``by_item``: each head under its item id (:func:`head_item`); ``items``: the
        same items sorted. :meth:`of` makes both from heads."""
        self.by_item = by_item
        self.items = items

    @classmethod
    def of(cls, heads: Iterable[Head]) -> HeadSet:
        by_item = {head_item(h.author, h.id, h.timestamp)[1]: h for h in heads}
        return cls(by_item, ItemSet((h.timestamp, i) for i, h in by_item.items()))

    def __len__(self) -> int:
        return len(self.by_item)


class HeadItems:
    """The heads a node holds, kept up to date as they move (one per node).

    The node tells it of each head that moved (:meth:`put`, :meth:`drop`): the head's
    item is hashed once and moved in the sorted order (a binary search and a shift),
    and the prefix sums are marked stale from there. A session start takes
    :meth:`snapshot`: the same object while nothing moved; after a change, the sums are
    recomputed from the lowest position changed (a new head is recent, near the end of
    the order; the head it replaces may be anywhere) and the lists handed over, copied
    only when they change again (docs/performance.md, "Session start between real
    nodes")."""

    def __init__(self) -> None:
        self._items: dict[NodeId, Key] = {}  # author -> (timestamp, item id); never shared
        self._heads: dict[bytes, Head] = {}  # item id -> head
        self._keys: list[Key] = []  # sorted
        self._sums: list[int] = [0]  # prefix sums of the ids, valid up to _valid
        self._valid = 0
        self._shared = False  # the lists belong to the last snapshot: copy before a change
        self._snapshot: HeadSet | None = None

    def __len__(self) -> int:
        return len(self._heads)

    def _changing(self, at: int) -> None:
        if self._shared:
            self._keys, self._sums = list(self._keys), list(self._sums)
            self._heads, self._shared = dict(self._heads), False
        self._valid = min(self._valid, at)
        self._snapshot = None

    def put(self, head: Head) -> None:
        key = head_item(head.author, head.id, head.timestamp)
        old = self._items.get(head.author)
        if old == key:
            return
        if old is not None:
            self._remove(old)
        at = bisect_left(self._keys, key)
        self._changing(at)
        self._keys.insert(at, key)
        self._items[head.author] = key
        self._heads[key[1]] = head

    def drop(self, author: NodeId) -> None:
        old = self._items.pop(author, None)
        if old is not None:
            self._remove(old)

    def _remove(self, key: Key) -> None:
        at = bisect_left(self._keys, key)
        self._changing(at)
        del self._keys[at]
        del self._heads[key[1]]

    def replace(self, heads: Iterable[Head]) -> None:
        """Every head held, afresh (loaded from the database)."""
        self._items, self._heads = {}, {}
        for head in heads:
            key = head_item(head.author, head.id, head.timestamp)
            old = self._items.get(head.author)
            if old is not None:  # an author given twice: the last counts
                del self._heads[old[1]]
            self._items[head.author] = key
            self._heads[key[1]] = head
        self._keys = sorted(self._items.values())
        self._sums, self._valid, self._shared, self._snapshot = [0], 0, False, None

    def snapshot(self) -> HeadSet:
        if self._snapshot is None:
            keys, sums = self._keys, self._sums
            del sums[self._valid + 1 :]
            sums.extend(
                accumulate(
                    (int.from_bytes(i, "little") for _, i in keys[self._valid :]),
                    initial=sums[self._valid],
                )
            )
            del sums[self._valid + 1]  # the initial value, already there
            self._valid = len(keys)
            self._shared = True
            self._snapshot = HeadSet(self._heads, ItemSet.presorted(keys, sums))
        return self._snapshot


#: Heads below which a side gives up the reconciliation for its full clock (a list of
#: fewer than this many ids is how the reconciliation itself describes a small range).
SMALL = LIST_BELOW
#: What a session start by reconciliation reads of the peer's messages at most, in all:
#: ``START_BYTES + START_BYTES_PER_HEAD * heads held`` bytes, and
#: ``START_IDS + START_IDS_PER_HEAD * heads held`` ids in IdLists and Diffs. Past either,
#: this side gives up for its full clock (docs/protocol.md, "Session start"): a peer
#: that lists far more ids than we hold heads costs more by reconciliation than by
#: clocks, and a hostile one cannot make us read 128 messages of made-up ids. Between
#: two nodes of 101,000 heads, 1,000 of them different on each side, one side reads
#: 0.9 MB and 26,307 ids (measured in memory), well within.
START_BYTES = 1024 * 1024
START_BYTES_PER_HEAD = 64
START_IDS = 4096
START_IDS_PER_HEAD = 4


class HeadsStart:
    """One side of a session start by reconciliation of heads.

    The dialler starts (:meth:`first`); each ``reconcile`` frame received is answered
    by :meth:`receive`. When the reconciliation is over (:attr:`done`), the answer
    ends with this side's ``clock`` frames for the authors whose heads differ, and
    :meth:`equal` gives the heads the peer holds exactly as we do, which the caller
    puts in the view (:meth:`Replication.level`). The rest of the session is Sync as
    with a full clock. A ProtocolError from :meth:`receive` ends it (:attr:`failed`):
    the caller then sends its full clock, as to a node without the feature.

    A side that holds fewer than :data:`SMALL` heads (``give_up_below``) gives up at once
    (:attr:`gave_up`: the dialler instead of :meth:`first`, the listener on the first
    frame) and the caller sends its full clock: such a side lacks nearly every head of
    the other, whose clock pairs must then cross anyway, so the ids a reconciliation
    would list first are only extra bytes (a node that holds nothing, meeting one that
    holds 100,000 heads, would take 87 messages and 4 MB before the same 7 MB of pairs).
    """

    def __init__(
        self,
        heads: HeadSet,
        *,
        initiator: bool,
        frame_limit: int = MAX_MESSAGE_BYTES,
        give_up_below: int = SMALL,
        id_bytes: int = ID_BYTES,
    ) -> None:
        self.heads = heads
        self.initiator = initiator
        self.id_bytes = id_bytes  # what a list carries per id (``short-ids``: 16)
        self.give_up_below = give_up_below
        held = len(heads)
        # The peer's ids are never kept (``keep_need``): the start uses only which of
        # ours the peer lacks, so memory follows our heads, whatever the peer sends.
        self._reconciler: Reconciler | None = Reconciler(
            heads.items,
            frame_limit=frame_limit,
            keep_need=False,
            max_bytes=START_BYTES + START_BYTES_PER_HEAD * held,
            max_ids=START_IDS + START_IDS_PER_HEAD * held,
            id_bytes=id_bytes,
        )
        self._expecting = not initiator  # a reconcile frame from the peer is due
        self._started = False
        self._have: frozenset[bytes] = frozenset()  # our items the peer lacks, once done
        self._messages = 0
        self.done = False
        self.failed = False
        self.gave_up = False

    @property
    def running(self) -> bool:
        return not (self.done or self.failed or self.gave_up)

    @property
    def small(self) -> bool:
        """Too few heads for a reconciliation to pay: send the full clock instead."""
        return len(self.heads) < self.give_up_below

    def give_up(self) -> None:
        """This side sends its full clock instead (before it said anything)."""
        if self._started and self.initiator:
            raise RuntimeError("giving up after the start")
        self._stop()
        self.gave_up = True

    def peer_gave_up(self) -> None:
        """The peer sent a clock before the end: full clocks both ways from here on."""
        self._stop()
        self.failed = True

    def first(self) -> frames.Reconcile:
        """The dialler's first frame: the whole of its heads, fingerprinted or listed."""
        if not self.initiator or self._started or self._reconciler is None:
            raise RuntimeError("only the initiator starts, once")
        self._started = self._expecting = True
        return frames.Reconcile(frames.HEADS_SET, self._reconciler.initiate())

    def receive(self, frame: frames.Reconcile) -> list[frames.Frame]:
        """The frames to send in answer: the next reconcile message, or, once it is
        over, an empty one if this side ends it, then the clock of differing heads.
        An empty list with :attr:`gave_up` set: this side sends its full clock instead
        (too few heads, or the peer's messages went past the bounds of a start)."""
        reconciler = self._reconciler
        if not self.running or not self._expecting or reconciler is None:
            raise ProtocolError(
                "a reconcile frame out of turn: the reconciliation of heads is not waiting for one",
                code="bad-frame",
            )
        self._expecting = False  # until this side has answered
        if not self._started and self.small and frame.set == frames.HEADS_SET and frame.msg:
            self.give_up()  # the listener's answer is its full clock
            return []
        if frame.set != frames.HEADS_SET:
            self._fail()
            raise ProtocolError(
                f"a reconciliation of the set {frame.set!r}, which this node did not offer",
                code="bad-reconcile",
            )
        if not frame.msg:
            if not self._started:  # ending before anything was said
                self._fail()
                raise ProtocolError(
                    "the reconciliation of heads was ended before it began", code="bad-reconcile"
                )
            return self._finish([])
        self._started = True
        try:
            answer = reconciler.receive(frame.msg)
        except ProtocolError:
            self._fail()
            raise
        except OverBudget:
            self._stop()
            self.gave_up = True
            return []
        if answer is None:
            return self._finish([frames.Reconcile(frames.HEADS_SET, b"")])
        self._expecting = True  # the peer answers this one
        return [frames.Reconcile(frames.HEADS_SET, answer)]

    def _fail(self) -> None:
        self._stop()
        self.failed = True

    def _stop(self) -> None:
        """Keep what is needed after the start, and let the reconciler go: nothing the
        peer sent stays for the rest of the session."""
        if self._reconciler is not None:
            self._messages = self._reconciler.rounds + self._reconciler.sent
            self._have = frozenset(self._reconciler.have)
            self._reconciler = None
        self._expecting = False

    def _finish(self, out: list[frames.Frame]) -> list[frames.Frame]:
        self._stop()
        self.done = True
        differing = self.differing()
        out.extend(clock_frames((h.author, h.seq, h.id) for h in differing))
        return out

    def differing(self) -> list[Head]:
        """Our heads that the peer does not hold as they are (once :attr:`done`)."""
        by_item = self.heads.by_item
        return [by_item[i] for i in sorted(self._have)]

    def equal(self) -> Iterator[tuple[NodeId, int]]:
        """``(author, seq)`` of our heads the peer holds too (once :attr:`done`)."""
        have = self._have
        return ((h.author, h.seq) for i, h in self.heads.by_item.items() if i not in have)

    @property
    def messages(self) -> int:
        """Reconcile messages received and written, for status and tests."""
        if self._reconciler is not None:
            return self._reconciler.rounds + self._reconciler.sent
        return self._messages
