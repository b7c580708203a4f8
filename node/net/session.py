"""One authenticated peer session: exchange clocks, then send what the other lacks.

The "queue" to a peer is not a list of messages but the difference between our
heads and the peer's clock as we know it, kept as a set of authors to look at.
So a slow or absent peer costs a few bytes per author, never a backlog, and each
entry goes to each peer at most once per session however many paths it came by.
Entries are read from the database as they are sent, at most ``WINDOW`` batches
ahead of the peer's acknowledgements (backpressure). What to send and how the
peer's answers move our view are decided by the pure ``protocol.replication``;
this module does the reading, storing and talking around it.

With a peer that announced the ``reconcile`` feature, a session starts by reconciling
the two sides' heads (protocol.replication.HeadsStart, from the node's shared
:class:`node.net.heads.HeadCache`), so that clock pairs cross only for the authors
whose heads differ; with any other peer, by the full clock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Protocol

from node.clock import now_ms
from node.mail.mailroom import Mailroom
from node.mail.session import MailExchange
from node.net.heads import HeadCache
from node.net.logs import PeerLog, quoted
from node.net.ratelimit import TokenBucket
from node.net.relay import LazyLink
from node.net.verify import Decoded, Verifier
from node.store.database import RESTORED_SETTING, Store
from node.store.holding import read_policy
from node.store.placement import Outcome
from protocol import budget, frames
from protocol.entry import Entry
from protocol.errors import DiskFullError, ProtocolError, SessionLimit, StorageError
from protocol.keys import EntryId, NodeId
from protocol.replication import (
    BATCH_BYTES,
    WINDOW,
    HeadsStart,
    Replication,
    ack_for,
    clock_frames,
    id_bytes,
)
from protocol.rules import sessions as session_rules

log = logging.getLogger(__name__)

MAX_STRIKES = 10  # refused frames or entries before we close the session
#: Authors whose heads a session start by reconciliation reads one by one at most; more
#: (nearly everything differs) and it reads every head, as a full clock does.
MAX_CHECKED = 4096
_HEADS_CHUNK = 500  # authors per query
# Batches received and being verified (on the node's verify thread) while the one
# before them is stored; the storer then commits all that have arrived in one
# transaction, as a durable commit costs an fsync (docs/performance.md, catch-up).
PIPELINE = 4
BYTES_PER_S = 16 * 1024 * 1024  # per-peer receive budget
FRAMES_PER_S = 2000
#: The errors that tell a peer we cannot store what it sends for now, because our disk
#: is full or our database damaged: it must hold off (docs/protocol.md, Reconnecting).
STORAGE_FULL = "storage-full"
STORAGE_DAMAGED = "storage-damaged"
#: Codes after which both sides wait before dialling again: the peer cannot store, or
#: one side went past what a session allows (a redial at once meets the same refusal).
HOLD_OFF_CODES = frozenset({STORAGE_FULL, STORAGE_DAMAGED, "too-many-clocks", "too-many-forks"})


Arrived = tuple[frames.Entries, "asyncio.Future[Decoded]"]


class Transport(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def receive(self) -> bytes | None:
        """The next message, or None once the connection is closed."""

    async def close(self) -> None: ...


class SessionHost(Protocol):
    """What a session needs from the node around it (the PeerManager)."""

    store: Store
    mail: Mailroom
    logs: PeerLog  # every line about a peer goes through it: bounded and escaped
    verify: Verifier  # where batches of entries are decoded and their signatures checked
    heads: HeadCache  # every head held as reconciliation items, shared by the sessions

    def progress(self, session: PeerSession) -> None: ...

    def stored_alone(
        self, stored: list[Entry], held_loose: list[Entry], source: PeerSession
    ) -> None: ...


class PeerSession:
    def __init__(
        self,
        host: SessionHost,
        transport: Transport,
        peer: NodeId,
        dialler: NodeId,
        *,
        features: frozenset[str] = frozenset(),
    ) -> None:
        self.host = host
        self.transport = transport
        self.peer = peer
        self.dialler = dialler  # who opened it: breaks ties between duplicate sessions
        self.sync = Replication()  # the view of the peer, dirty authors, batches in flight
        self.features = features  # what both sides announced in the handshake
        #: The session start by reconciliation of heads, when both announced it.
        self.start: HeadsStart | None = None
        #: Authors to compare with the peer's final clock after a reconciliation: ours
        #: that differ, and those its clock names.
        self._checked: set[NodeId] = set()
        self._wake = asyncio.Event()
        self._clock_received = asyncio.Event()
        self._window = asyncio.Semaphore(WINDOW)
        self._strikes = 0
        self._strike_codes: set[str] = set()  # the codes of the strikes counted
        self._bytes = TokenBucket(BYTES_PER_S, 2 * BYTES_PER_S)
        self._frames = TokenBucket(FRAMES_PER_S, 2 * FRAMES_PER_S)
        self.received = 0  # entries stored from this peer
        self.sent = 0  # entries sent to this peer
        #: Whether "connected" was written for this session (PeerManager.progress).
        self.shown_connected = False
        self.bytes_sent = 0  # every frame, for measuring wire efficiency
        self.bytes_received = 0
        #: Bytes sent when this side had said what it holds (its last clock frame).
        self.start_bytes: int | None = None
        self.frames_sent = 0
        self.closed = asyncio.Event()
        self._closing = False
        self.last_error: str | None = None
        self.mail = MailExchange(host.mail, peer, self._send, self._refuse, host.logs)
        self._arrived: asyncio.Queue[Arrived] = asyncio.Queue(PIPELINE)
        self._restore_checked = False  # see _caught_up_after_restore
        self._mail_clock_taken = False
        #: Authors whose entries from this peer we hold back (past their budget:
        #: protocol/budget.py), with the time the first of them may be taken.
        self._held: dict[NodeId, int] = {}
        self._budget_wake = asyncio.Event()
        self.held_back = 0  # entries of this peer's batches held back, for status and tests
        #: Seconds the store loop spent storing batches, and waiting for the oldest batch
        #: to be checked while others were in hand (bench/sync_throughput.py: which of the
        #: two holds a catch-up back).
        self.storing_s = 0.0
        self.awaiting_checks_s = 0.0
        #: Ended by a full disk or damage, ours or the peer's, or by the peer going past
        #: what a session allows (too many strikes, a SessionLimit): the dial loop waits
        #: its cool-down before redialling, rather than call it again at once.
        self.hold_off = False
        #: Why we ended the session for what the peer did (a SessionLimit's code, or too
        #: many strikes), None otherwise: the node then refuses the peer's own dials for
        #: a while too (PeerManager.answer), not only waits before dialling it.
        self.ended_for: str | None = None
        #: Announcements, fetches and prunes, when both sides announced ``lazy``
        #: (node/net/relay.py); None: every new entry goes whole, as to today's nodes.
        relay = getattr(host, "relay", None)
        self.lazy = LazyLink(self, relay) if relay and frames.LAZY in features else None

    # -- public ---------------------------------------------------------------------

    def mark_dirty(
        self, authors: Iterable[NodeId], heads: Mapping[NodeId, int] | None = None
    ) -> None:
        """Look again at these authors: we may hold entries the peer lacks (``heads``:
        our new head of each, where the commit told it: protocol/replication.py).

        Their logs grew here, so an author the peer kept refusing earlier in the session
        is tried again, once per head the peer stopped at: the new entries may be what it
        was missing (a continuation after a fork: node/forks.py), but not when it holds
        them back past their budget (it asks again itself: :meth:`_ask_again_loop`)."""
        self.sync.renew(authors, heads=heads)
        self._wake.set()

    def wanted(self, authors: Iterable[NodeId]) -> None:
        """The peer now wants these authors' logs (its interest grew): send what it lacks,
        even of authors given up on earlier in the session (node/net/interest.py)."""
        self.sync.wanted(authors)
        self._wake.set()

    def continued(self, authors: Iterable[NodeId]) -> None:
        """These authors' logs grew with a continuation (node/forks.py): try them again
        even if this peer kept refusing them, once more per head it stopped at (a peer
        holding the branch the continuation drops refuses all else until it has it)."""
        self.sync.renew(authors, continued=True)
        self._wake.set()

    async def run(self) -> None:
        """Sync until the connection closes or :meth:`close` is called."""
        sender = asyncio.create_task(self._send_loop(), name=f"send to {self.peer}")
        sender.add_done_callback(self._sender_done)
        mailer = asyncio.create_task(self.mail.run(), name=f"send mail to {self.peer}")
        mailer.add_done_callback(self._sender_done)
        storer = asyncio.create_task(self._store_loop(), name=f"store from {self.peer}")
        storer.add_done_callback(self._sender_done)
        budgets = self.host.store.budgets
        budgets.add_listener(self._budget_wake.set)
        asker = asyncio.create_task(self._ask_again_loop(), name=f"ask {self.peer} again")
        asker.add_done_callback(self._sender_done)
        tasks = [sender, mailer, storer, asker]
        if self.lazy is not None:
            tasks.append(asyncio.create_task(self.lazy.run(), name=f"announce to {self.peer}"))
            tasks[-1].add_done_callback(self._sender_done)
        try:
            interests = getattr(self.host, "interests", None)
            if interests is not None:  # what we want, before what we hold
                await interests.start(self)
            await self._open()
            await self.mail.send_clock()
            await self._receive_loop()
        except StorageError as exc:  # storing a letter: our disk is full, or damage
            await self._cannot_store(exc)
        except ConnectionError as exc:  # the peer or the network went away
            self.last_error = f"connection lost: {exc}"
            self.host.logs.info(self.peer, "session with %s lost: %s", self.peer, exc, logger=log)
        finally:
            self._closing = True
            # A batch being stored is shielded and commits; those queued behind it
            # were never acknowledged, so the peer sends them again next time.
            budgets.remove_listener(self._budget_wake.set)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.transport.close()
            self.closed.set()

    async def close(self) -> None:
        self._closing = True
        await self.transport.close()

    @property
    def opened(self) -> bool:
        """Both sides have said what they hold: we sent our clock (or the clock of the
        heads that differ) and have the peer's final one."""
        return self.start_bytes is not None and self._clock_received.is_set()

    @property
    def clock_received(self) -> asyncio.Event:
        """Set once the peer's final clock is in: sending may begin."""
        return self._clock_received

    @property
    def closing(self) -> bool:
        """Closed, or on its way: it no longer counts as the session with its peer.

        It may still be finishing the batch it stores, or waiting (up to a second)
        for the peer to answer the WebSocket close, while the peer redials."""
        return self._closing or self.closed.is_set()

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        """If sending or storing fails, end the whole session so the dial loop can start
        afresh."""
        if not task.cancelled() and task.exception() is not None and not self.hold_off:
            # (after a hold-off, the send in flight fails on the closed connection: the
            # storage error stays the reason shown)
            what = "storing" if task.get_name().startswith("store") else "sending"
            self.last_error = f"{what} failed: {task.exception()}"
            self.host.logs.info(
                self.peer, "session with %s: %s", self.peer, self.last_error, logger=log
            )
            self._closing = True
            asyncio.get_running_loop().create_task(self.transport.close())

    async def behind(self) -> int:
        """Entries the peer has told us of that we do not hold yet (of the logs we hold
        whole: holding by horizon, a far school's log is not wanted, so not behind)."""
        store = self.host.store
        mine = await store.head_seqs()
        skipped = set(await store.blocked_authors())  # never fetched: not "behind"
        policy = await read_policy(store, mine)
        if not policy.everything:
            skipped.update(a for a in self.sync.view if not policy.whole(a))
        return self.sync.behind(mine, skipped)

    # -- sending --------------------------------------------------------------------

    async def _open(self) -> None:
        """Say what we hold: by reconciliation of heads with a peer that speaks it (the
        dialler begins), otherwise by our full clock, as to today's nodes."""
        if frames.RECONCILE not in self.features:
            await self._send_clock()
            return
        heads = await self.host.heads.snapshot()
        self.start = HeadsStart(
            heads, initiator=self.dialler != self.peer, id_bytes=id_bytes(self.features)
        )
        if self.start.initiator and self.start.small:
            self.start.give_up()  # a few pairs cost less: the peer answers with its clock
            await self._send_clock()
        elif self.start.initiator:
            await self._send(self.start.first())

    async def _send_clock(self) -> None:
        heads = await self.host.store.heads()
        for frame in clock_frames((a, h.seq, bytes(h.id)) for a, h in heads.items()):
            await self._send(frame)
        self.start_bytes = self.bytes_sent

    async def _reconcile(self, frame: frames.Reconcile) -> None:
        start = self.start
        if start is None:
            raise ProtocolError(
                "a reconcile frame in a session that did not agree to reconcile", code="bad-frame"
            )
        running = start.running
        try:
            out = start.receive(frame)
        except ProtocolError as exc:
            if not running or not start.failed:
                # Out of turn, or after the start is over, failed or given up (the
                # peer, waiting for our answer, sends none after our clock): a strike,
                # nothing changes.
                raise
            # A strike, then our full clock: the peer, seeing a clock before the
            # reconciliation ended, sends its own (a node without the feature would).
            await self._refuse(exc)
            await self._send_clock()
            return
        if start.gave_up:  # too few heads for it to pay, or past the bounds of a start
            await self._send_clock()
            return
        if start.done:
            self.sync.level(start.equal())
            self._checked = {head.author for head in start.differing()}
        for answer in out:
            await self._send(answer)
        if start.done:
            self.start_bytes = self.bytes_sent

    async def _held_heads(self) -> dict[NodeId, int]:
        """Our heads to compare with the peer's final clock: after a reconciliation only
        those of the authors that differ (the rest are level), otherwise every head."""
        if self.start is None or not self.start.done or len(self._checked) > MAX_CHECKED:
            heads = await self.host.store.heads()
            return {a: h.seq for a, h in heads.items()}
        return await self._heads_of(self._checked)

    async def _heads_of(self, authors: Iterable[NodeId]) -> dict[NodeId, int]:
        wanted = sorted(authors, key=bytes)
        held: dict[NodeId, int] = {}
        for i in range(0, len(wanted), _HEADS_CHUNK):
            held.update(await self.host.store.heads_of(wanted[i : i + _HEADS_CHUNK]))
        return held

    async def send(self, frame: frames.Frame) -> None:
        """Send one frame to the peer (node/net/search.py's queries and answers)."""
        await self._send(frame)

    async def _send(self, frame: frames.Frame) -> None:
        data = frames.encode(frame)
        self.bytes_sent += len(data)
        self.frames_sent += 1
        await self.transport.send(data)

    async def _send_loop(self) -> None:
        await self._clock_received.wait()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.sync.dirty:
                await self._window.acquire()
                sent = await self._send_batch()
                if not sent:
                    self._window.release()

    async def _send_batch(self) -> bool:
        """Send one batch from the dirty authors; False if there was nothing to send."""
        batch = self.sync.start_batch()
        while reads := batch.next_reads(frames.MAX_BATCH_ENTRIES):
            batch.add_all(
                await self.host.store.wire_after_each(
                    reads, enough=reads[0].limit, enough_bytes=BATCH_BYTES
                )
            )
        frame = batch.finish()
        if frame is None:
            return False
        carried = self.sync.in_flight[frame.batch]  # before it goes: its ack may come first
        await self._send(frame)
        self.sent += len(frame.entries)
        if self.lazy is not None:  # whole to this peer: it joins these authors' eager sets
            self.lazy.pushed(carried)
        return True

    # -- receiving ------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            data = await self.transport.receive()
            if data is None:
                return
            self.bytes_received += len(data)
            delay = max(self._bytes.delay_for(len(data)), self._frames.delay_for(1))
            if delay:
                await asyncio.sleep(delay)  # read slower: TCP pushes back on this peer only
            try:
                frame = frames.decode(data)
                await self._handle(frame)
            except SessionLimit as exc:
                await self._over_limit(exc)
                return
            except ProtocolError as exc:
                await self._refuse(exc)
            if self._too_many_strikes() or self.hold_off:
                return

    async def _cannot_store(self, exc: StorageError) -> None:
        """Our disk is full or our database damaged: tell the peer to hold off, and end
        the session. What we did not store was not acknowledged: the peer sends it
        again next time."""
        self.hold_off = True
        self._closing = True
        if isinstance(exc, DiskFullError):
            code, why = STORAGE_FULL, "the disk of this node is full"
        else:
            code, why = STORAGE_DAMAGED, "the database of this node needs repair"
        self.last_error = f"{code}: {why}"
        self.host.logs.warning(
            self.peer,
            "%s: refused what %s sent; it will try again later",
            why,
            self.peer,
            logger=log,
        )
        try:
            await self._send(frames.Error.about(code, f"{why}: it takes nothing for now"))
        except ConnectionError:
            pass  # gone already: it holds off all the same once it redials and is told
        finally:
            await self.transport.close()

    async def _over_limit(self, exc: SessionLimit) -> None:
        """The peer went past what a session lets it make us do (protocol/replication.py:
        its clocks): tell it why and end the session. It may dial again, with a fresh
        session; no other session is touched, and we hold off before dialling it."""
        self._closing = True
        self.hold_off = True
        self._ended_for(exc.code)
        self.last_error = f"{exc.code}: {exc}"
        self.host.logs.warning(
            self.peer, "closing the session with %s: %s (%s)", self.peer, exc, exc.code, logger=log
        )
        with contextlib.suppress(ConnectionError):
            await self._send(frames.Error.about(exc.code, str(exc)))

    def _too_many_strikes(self) -> bool:
        if self._strikes < MAX_STRIKES:
            return False
        if self.last_error != session_rules.STRUCK_OUT:
            self.host.logs.warning(
                self.peer,
                "closing the session with %s: too many refused messages",
                self.peer,
                logger=log,
            )
            self.last_error = session_rules.STRUCK_OUT
        self._closing = True
        self.hold_off = True  # dialled again at once, it would be refused the same way
        self._ended_for(session_rules.STRUCK_OUT)
        return True

    def _ended_for(self, why: str) -> None:
        """We end the session for what the peer did: :attr:`ended_for` if the peer is
        then refused when it dials straight back (protocol/rules/sessions.py)."""
        if session_rules.refused_after(why, self._strike_codes):
            self.ended_for = why

    async def _refuse(self, exc: ProtocolError) -> None:
        """A strike: tell the peer why, up to the last strike; past it, say nothing more
        (the session is closing, but a batch in hand is still judged to the end)."""
        self._strikes += 1
        if self._strikes > MAX_STRIKES:
            return
        self._strike_codes.add(exc.code)
        self.last_error = f"{exc.code}: {exc}"
        self.host.logs.warning(
            self.peer, "refused from %s: %s (%s)", self.peer, exc, exc.code, logger=log
        )
        await self._send(frames.Error.about(exc.code, str(exc)))

    async def _handle(self, frame: frames.Frame) -> None:
        if isinstance(frame, frames.Clock):
            if self.start is not None and self.start.running:
                # The peer gave up reconciling (it refused a message of ours, or holds
                # too few heads for it to pay): full clocks both ways, as between
                # nodes without the feature.
                self.start.peer_gave_up()
                await self._send_clock()
            if (
                self.start is not None
                and self.start.done
                and not self._clock_received.is_set()  # a later clock: only those asked
                and len(self._checked) <= MAX_CHECKED
            ):
                self._checked.update(NodeId(pair[0]) for pair in frame.heads)
            await self._compare_heads(self.sync.receive_clock(frame))
            if frame.final:
                asked = self.sync.to_complete()
                if asked is None:  # the clock that opens the session
                    self.sync.clock_complete(await self._held_heads())
                else:  # a later one, asking again: a few bytes must not read every head
                    self.sync.clock_complete(await self._heads_of(asked))
                self._wake.set()
                self._clock_received.set()
                self.host.progress(self)
                await self._caught_up_after_restore()
        elif isinstance(frame, frames.Entries):
            # Verified on another thread or process while earlier batches are stored;
            # the queue's bound stops us reading (TCP pushes back) when the store lags.
            await self._arrived.put((frame, self.host.verify.decode(frame.entries, now_ms())))
        elif isinstance(frame, frames.Ack):
            self._acknowledged(frame)
        elif isinstance(frame, frames.Reconcile):
            await self._reconcile(frame)
        elif isinstance(frame, (frames.Query, frames.Answers)):
            search = getattr(self.host, "search", None)
            if search is None or frames.SEARCH not in self.features:
                raise ProtocolError(
                    f"a {frame.TYPE} frame in a session that did not agree to search",
                    code="bad-frame",
                )
            for problem in await search.handle(self, frame):  # node/net/search.py
                await self._refuse(problem)
        elif isinstance(frame, (frames.Have, frames.Want, frames.Prune)):
            if self.lazy is None:
                raise ProtocolError(
                    f"a {frame.TYPE} frame in a session that did not agree to lazy relaying",
                    code="bad-frame",
                )
            await self.lazy.handle(frame)  # node/net/relay.py
        elif isinstance(frame, (frames.Interest, frames.InterestAsk)):
            interests = getattr(self.host, "interests", None)  # node/net/interest.py
            if interests is None:
                raise ProtocolError(f"unexpected {frame.TYPE} frame", code="bad-frame")
            await interests.handle(self, frame)  # then a catch-up (node/net/catchup.py)
        elif isinstance(frame, (frames.Catchup, frames.CatchupReply)):
            catchups = getattr(self.host, "catchups", None)
            if catchups is None:
                raise ProtocolError(f"unexpected {frame.TYPE} frame", code="bad-frame")
            await catchups.handle(self, frame)
        elif isinstance(frame, (frames.MailClock, frames.Mail, frames.MailAck)):
            await self.mail.handle(frame)
            if isinstance(frame, frames.MailClock) and frame.final:
                self._mail_clock_taken = True
                await self._caught_up_after_restore()
        elif isinstance(frame, frames.Error):
            if frame.code in HOLD_OFF_CODES:  # the peer cannot store, or ended it: hold off
                self.hold_off = True
                self._closing = True
                self.last_error = f"{frame.code}: {frame.message}"
            self.host.logs.warning(
                self.peer,
                "%s refused something we sent: %s (%s)",
                self.peer,
                quoted(frame.message),
                frame.code,
                logger=log,
            )
        else:
            raise ProtocolError(f"unexpected {frame.TYPE} frame in a session", code="bad-frame")

    async def _compare_heads(self, heads: list[tuple[NodeId, int, bytes]]) -> None:
        """Where we hold another entry under the peer's newest number of an author (its
        clock's ``(author, seq, id)``), show it to the peer.

        Both nodes then hold both entries' evidence: the peer detects the fork when
        it stores ours, and we when it sends its own back the same way. The clock's
        heads are compared in one trip to the database (a clock names up to thousands
        of schools); only a fork's entry is read whole, and shown once per session,
        up to a bound (``Replication.to_show``: a clock repeating a wrong id is no
        reason to send our entry again).
        """
        if not heads:
            return
        forks = await self.host.store.read(partial(_others_under, heads))
        for author, seq in self.sync.to_show(forks):  # once each; bounded per session
            mine = await self.host.store.entry_at(author, seq)
            if mine is not None:
                await self._send(self.sync.evidence(mine.encode()))

    async def _store_loop(self) -> None:
        """Store the batches received, in order, each acknowledged once committed.

        The oldest batch is stored as soon as it is verified, with those after it that
        are verified already (one transaction, one sync to disk): not waiting for the
        ones still being verified keeps the sender's window moving, so verifying the
        next batches overlaps storing these (docs/performance.md, catch-up)."""
        waiting: collections.deque[Arrived] = collections.deque()
        while True:
            if not waiting:
                waiting.append(await self._arrived.get())
            while not self._arrived.empty() and len(waiting) < PIPELINE:
                waiting.append(self._arrived.get_nowait())
            began = time.perf_counter()
            await asyncio.wait([waiting[0][1]])
            checked = time.perf_counter()
            self.awaiting_checks_s += checked - began
            ready = [waiting.popleft()]
            while waiting and waiting[0][1].done():
                ready.append(waiting.popleft())
            try:
                await self._store([(frame, decoding.result()) for frame, decoding in ready])
            except StorageError as exc:
                await self._cannot_store(exc)
                return
            finally:
                self.storing_s += time.perf_counter() - checked
            if self._too_many_strikes():
                await self.transport.close()
                return

    async def _store(self, batches: list[tuple[frames.Entries, Decoded]]) -> None:
        """Refuse what failed to verify, store the rest in one transaction, ack each batch."""
        verified: list[Entry] = []
        for _, decoded in batches:
            for item in decoded:
                if isinstance(item, ProtocolError):
                    await self._refuse(item)
                else:
                    verified.append(item)
        authors = {e.author for e in verified}  # acked, with those held back
        verified, planned = await self._within_budget(verified)
        budgets = self.host.store.budgets
        held: list[tuple[NodeId, int]] = []
        duplicates: set[NodeId] = set()  # a prune, with a peer that relays lazily
        not_kept: list[bytes] = []  # outside what we hold: offered at catch-up?
        loose: list[Entry] = []  # stored loose: relayed alone (node/net/loose.py)
        stored: list[Entry] = []  # stored in logs: alone to peers that want them so
        self.sync.storing(e.author for e in verified)  # nothing goes back meanwhile
        try:
            # Shielded: a shutdown waits for the batches in hand to commit, not half.
            results = await asyncio.shield(self.host.store.ingest(verified, now_ms()))
            for entry, result in zip(verified, results, strict=True):
                if result.outcome in (Outcome.STORED, Outcome.LOOSE):
                    self.received += 1
                if result.outcome is Outcome.LOOSE:
                    loose.append(entry)
                elif result.outcome is Outcome.STORED:
                    stored.append(entry)
                if result.outcome in (Outcome.STORED, Outcome.DUPLICATE):
                    held.append((entry.author, entry.seq))
                    tat = planned.get(entry.id)
                    if tat is not None:  # held: the log up to it is the one planned with
                        budgets.remember(entry.author, entry.seq, tat)
                if result.outcome is Outcome.DUPLICATE:
                    duplicates.add(entry.author)
                elif result.outcome is Outcome.NOT_KEPT:
                    not_kept.append(bytes(entry.id))
                if result.first_seen is not None:  # a fork: the sender gets our side too
                    await self._send(self.sync.evidence(result.first_seen.encode()))
                elif result.error is not None and result.error.code != "blocked":
                    self.host.logs.info(
                        self.peer, "not stored from %s: %s", self.peer, result.error, logger=log
                    )
        finally:
            self.sync.stored(held)
            self._wake.set()
        if self.lazy is not None:
            self.lazy.duplicates(duplicates)
        catchups = getattr(self.host, "catchups", None)
        if not_kept and catchups is not None:
            catchups.judged(self, not_kept)
        heads = await self.host.store.heads_of(authors)
        for frame, decoded in batches:
            authors = {e.author for e in decoded if isinstance(e, Entry)}
            await self._send(ack_for(frame.batch, {a: heads[a] for a in authors}))
        # Relaying to the other peers follows from the commit (Store listeners).
        if loose or stored:
            self.host.stored_alone(stored, loose, self)
        self.host.progress(self)
        await self._caught_up_after_restore()

    async def _within_budget(self, entries: list[Entry]) -> tuple[list[Entry], dict[EntryId, int]]:
        """The entries to store now: each author's log up to its first entry past the
        author's budget (protocol/budget.py). The rest are held back: not stored and no
        strike; the ack shows our real head, and :meth:`_ask_again_loop` asks the peer
        for them again when their time comes.

        Also, for the last entry taken of each author, the budget state after it: once
        it is held, the next batch's check starts from there instead of reading the
        author's timestamps again (entries are chained, so the log up to it is the one
        planned with).
        """
        planned: dict[EntryId, int] = {}
        if not entries:
            return entries, planned
        budgets = self.host.store.budgets
        by_author: dict[NodeId, list[Entry]] = {}
        for entry in entries:
            by_author.setdefault(entry.author, []).append(entry)
        heads = await self.host.store.heads_of(by_author)
        now = budgets.clock()
        held_from: dict[NodeId, int] = {}  # author -> first sequence number held back
        for author, theirs in by_author.items():
            head = heads[author]
            if self._held.get(author, now) > now:
                # Its log already waits at head + 1 (an earlier batch): what comes after
                # waits too, as when both batches were judged together.
                held_from[author] = head + 1
                continue
            run: list[Entry] = []  # the entries that would extend the log, in order
            for entry in sorted(theirs, key=lambda e: e.seq):
                if entry.seq == head + 1 + len(run):
                    run.append(entry)
                elif entry.seq > head + len(run):
                    break  # a gap or a second entry under one number: the store judges it
            if not run:
                continue
            tat = await budgets.tat(self.host.store, author, head)
            plan = budget.plan(budgets.rule, tat, [e.payload.timestamp for e in run], now)
            if plan.take:
                planned[run[plan.take - 1].id] = plan.tat
            if plan.held_until is None:
                continue
            held_from[author] = run[plan.take].seq
            if author not in self._held:  # one line per author until it is asked again
                self.host.logs.info(
                    self.peer,
                    "holding back entries of %s from %s: past its budget of %d a day",
                    author,
                    self.peer,
                    budgets.rule.count,
                    logger=log,
                )
            self._held[author] = plan.held_until
            self._budget_wake.set()
        if not held_from:
            return entries, planned
        kept = [e for e in entries if e.seq < held_from.get(e.author, e.seq + 1)]
        self.held_back += len(entries) - len(kept)
        return kept, planned

    async def _ask_again_loop(self) -> None:
        """When the time of entries held back comes, ask the peer for them again: a
        clock frame with our head of each such author (docs/protocol.md, "Budget")."""
        budgets = self.host.store.budgets
        await self._clock_received.wait()
        while True:
            timeout: float | None = None
            if self._held:
                now = budgets.clock()
                ready = sorted((a for a, when in self._held.items() if when <= now), key=bytes)
                if ready:
                    for author in ready:
                        del self._held[author]
                    heads = await self.host.store.heads_of(ready)
                    pairs = [[bytes(author), heads[author]] for author in ready]
                    step = frames.MAX_CLOCK_PAIRS
                    for i in range(0, len(pairs), step):
                        final = i + step >= len(pairs)
                        await self._send(frames.Clock(pairs[i : i + step], final=final))
                    continue
                timeout = min(3600.0, (min(self._held.values()) - now) / 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._budget_wake.wait(), timeout)
            self._budget_wake.clear()

    async def _caught_up_after_restore(self) -> None:
        """After a restore (node/backup.py): once this peer's complete clock shows
        nothing of our own log newer than what we hold, and its mail clock has been
        taken in, we may sign again.

        Read once the peer's clock is complete, then after each batch stored while
        the node still waits; a node that was not restored pays one query per session.
        """
        if self._restore_checked or not self._clock_received.is_set():
            return
        if not self._mail_clock_taken:
            return  # its mail clock moves our letter numbers on past the lost copy's
        me = self.host.mail.me
        waiting = await self.host.store.get_setting(RESTORED_SETTING)
        if waiting is None:
            self._restore_checked = True
            return
        head = await self.host.store.head(me)
        if self.sync.view.get(me, 0) > (0 if head is None else head.seq):
            return  # the peer holds newer entries of ours: they are on their way
        await self.host.store.set_setting(RESTORED_SETTING, None)
        self._restore_checked = True
        self.host.logs.info(
            self.peer,
            "restored from a backup: %s holds nothing of ours newer than our entry %s; "
            "new entries may be saved again",
            self.peer,
            0 if head is None else head.seq,
            logger=log,
        )

    def _acknowledged(self, ack: frames.Ack) -> None:
        result = self.sync.acknowledged(ack)
        if result.window:
            self._window.release()
        if result.resend:
            self._wake.set()


def _others_under(
    heads: list[tuple[NodeId, int, bytes]], conn: sqlite3.Connection
) -> list[tuple[NodeId, int]]:
    """Of the peer's heads ``(author, seq, id)``, those under which we hold another entry."""
    others = []
    for author, seq, head_id in heads:
        row = conn.execute(
            "SELECT id FROM entries WHERE author = ? AND seq = ?", (author, seq)
        ).fetchone()
        if row is not None and row[0] != head_id:
            others.append((author, seq))
    return others
