"""One authenticated peer session: exchange clocks, then send what the other lacks.

The "queue" to a peer is not a list of messages but the difference between our
heads and the peer's clock as we know it, kept as a set of authors to look at.
So a slow or absent peer costs a few bytes per author, never a backlog, and each
entry goes to each peer at most once per session however many paths it came by.
Entries are read from the database as they are sent, at most ``WINDOW`` batches
ahead of the peer's acknowledgements (backpressure).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from node.clock import now_ms
from node.mail import Mailroom
from node.mail_session import MailExchange
from node.ratelimit import TokenBucket
from node.store import Outcome, Store
from protocol import frames
from protocol.entry import Entry, decode_entry
from protocol.errors import ProtocolError
from protocol.keys import NodeId

log = logging.getLogger(__name__)

WINDOW = 4  # batches in flight before we wait for an ack
BATCH_BYTES = 768 * 1024  # stay well under frames.MAX_FRAME_BYTES
MAX_STRIKES = 10  # refused frames or entries before we close the session
BYTES_PER_S = 16 * 1024 * 1024  # per-peer receive budget
FRAMES_PER_S = 2000


class Transport(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def receive(self) -> bytes | None:
        """The next message, or None once the connection is closed."""

    async def close(self) -> None: ...


class SessionHost(Protocol):
    """What a session needs from the node around it (the PeerManager)."""

    store: Store
    mail: Mailroom

    def progress(self, session: PeerSession) -> None: ...


class PeerSession:
    def __init__(
        self, host: SessionHost, transport: Transport, peer: NodeId, dialler: NodeId
    ) -> None:
        self.host = host
        self.transport = transport
        self.peer = peer
        self.dialler = dialler  # who opened it: breaks ties between duplicate sessions
        self.peer_clock: dict[bytes, int] = {}
        self._dirty: set[bytes] = set()
        self._declined: set[bytes] = set()
        self._retries: dict[bytes, int] = {}
        self._wake = asyncio.Event()
        self._clock_received = asyncio.Event()
        self._window = asyncio.Semaphore(WINDOW)
        self._in_flight: dict[int, dict[bytes, int]] = {}  # batch -> author -> last seq sent
        self._next_batch = 1
        self._evidence: set[int] = set()  # batches showing a fork, outside the window
        self._strikes = 0
        self._bytes = TokenBucket(BYTES_PER_S, 2 * BYTES_PER_S)
        self._frames = TokenBucket(FRAMES_PER_S, 2 * FRAMES_PER_S)
        self.received = 0  # entries stored from this peer
        self.sent = 0  # entries sent to this peer
        self.bytes_sent = 0  # every frame, for measuring wire efficiency
        self.closed = asyncio.Event()
        self.last_error: str | None = None
        self.mail = MailExchange(host.mail, bytes(peer), self._send, self._refuse)

    # -- public ---------------------------------------------------------------------

    def mark_dirty(self, authors: Iterable[bytes]) -> None:
        """Look again at these authors: we may hold entries the peer lacks."""
        self._dirty.update(authors)
        self._wake.set()

    async def run(self) -> None:
        """Sync until the connection closes or :meth:`close` is called."""
        sender = asyncio.create_task(self._send_loop(), name=f"send to {self.peer}")
        sender.add_done_callback(self._sender_done)
        mailer = asyncio.create_task(self.mail.run(), name=f"send mail to {self.peer}")
        mailer.add_done_callback(self._sender_done)
        try:
            await self._send_clock()
            await self.mail.send_clock()
            await self._receive_loop()
        except ConnectionError as exc:  # the peer or the network went away
            self.last_error = f"connection lost: {exc}"
            log.info("session with %s lost: %s", self.peer, exc)
        finally:
            sender.cancel()
            mailer.cancel()
            await asyncio.gather(sender, mailer, return_exceptions=True)
            await self.transport.close()
            self.closed.set()

    async def close(self) -> None:
        await self.transport.close()

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        """If sending fails, end the whole session so the dial loop can start afresh."""
        if not task.cancelled() and task.exception() is not None:
            self.last_error = f"sending failed: {task.exception()}"
            log.info("session with %s: %s", self.peer, self.last_error)
            asyncio.get_running_loop().create_task(self.transport.close())

    async def behind(self) -> int:
        """Entries the peer has told us of that we do not hold yet."""
        heads = await self.host.store.heads()
        mine = {bytes(a): h.seq for a, h in heads.items()}
        blocked = await self.host.store.blocked_authors()  # never fetched: not "behind"
        return sum(
            max(0, seq - mine.get(a, 0)) for a, seq in self.peer_clock.items() if a not in blocked
        )

    # -- sending --------------------------------------------------------------------

    async def _send_clock(self) -> None:
        heads = await self.host.store.heads()
        pairs = [[bytes(a), h.seq, bytes(h.id)] for a, h in heads.items()]
        step = frames.MAX_CLOCK_PAIRS
        chunks = [pairs[i : i + step] for i in range(0, len(pairs), step)] or [[]]
        for i, chunk in enumerate(chunks):
            await self._send(frames.Clock(chunk, final=i == len(chunks) - 1))

    async def _send(self, frame: frames.Frame) -> None:
        data = frames.encode(frame)
        self.bytes_sent += len(data)
        await self.transport.send(data)

    async def _send_loop(self) -> None:
        await self._clock_received.wait()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                await self._window.acquire()
                sent = await self._send_batch()
                if not sent:
                    self._window.release()

    async def _send_batch(self) -> bool:
        """Send one batch from the dirty authors; False if there was nothing to send."""
        entries: list[bytes] = []
        last: dict[bytes, int] = {}
        size = 0
        full = False
        store = self.host.store
        while self._dirty and not full and len(entries) < frames.MAX_BATCH_ENTRIES:
            author = self._dirty.pop()
            if author in self._declined:
                continue
            known = self.peer_clock.get(author, 0)
            room = frames.MAX_BATCH_ENTRIES - len(entries)
            rows = await store.wire_after(author, known, room)
            for seq, wire in rows:
                if size + len(wire) > BATCH_BYTES and entries:
                    full = True  # the rest goes in the next batch
                    break
                entries.append(wire)
                size += len(wire)
                last[author] = seq
            if author in last:
                self.peer_clock[author] = last[author]  # optimistic; the ack corrects it
            if len(rows) == room or (rows and last.get(author) != rows[-1][0]):
                self._dirty.add(author)  # more to send after this batch
        if not entries:
            return False
        batch = self._next_batch
        self._next_batch += 1
        self._in_flight[batch] = last
        await self._send(frames.Entries(batch, entries))
        self.sent += len(entries)
        return True

    # -- receiving ------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            data = await self.transport.receive()
            if data is None:
                return
            delay = max(self._bytes.delay_for(len(data)), self._frames.delay_for(1))
            if delay:
                await asyncio.sleep(delay)  # read slower: TCP pushes back on this peer only
            try:
                frame = frames.decode(data)
                await self._handle(frame)
            except ProtocolError as exc:
                await self._refuse(exc)
            if self._strikes >= MAX_STRIKES:
                log.warning("closing the session with %s: too many refused messages", self.peer)
                self.last_error = "too many refused messages"
                return

    async def _refuse(self, exc: ProtocolError) -> None:
        self._strikes += 1
        self.last_error = f"{exc.code}: {exc}"
        log.warning("refused from %s: %s (%s)", self.peer, exc, exc.code)
        await self._send(frames.Error(exc.code, str(exc)[:500]))

    async def _handle(self, frame: frames.Frame) -> None:
        if isinstance(frame, frames.Clock):
            for author, seq, *head_id in frame.heads:
                self.peer_clock[author] = max(seq, self.peer_clock.get(author, 0))
                if head_id:
                    await self._compare_heads(author, seq, head_id[0])
            if frame.final:
                heads = await self.host.store.heads()
                self.mark_dirty(
                    bytes(a) for a, h in heads.items() if h.seq > self.peer_clock.get(bytes(a), 0)
                )
                self._clock_received.set()
                self.host.progress(self)
        elif isinstance(frame, frames.Entries):
            await self._receive_entries(frame)
        elif isinstance(frame, frames.Ack):
            self._acknowledged(frame)
        elif isinstance(frame, (frames.MailClock, frames.Mail, frames.MailAck)):
            await self.mail.handle(frame)
        elif isinstance(frame, frames.Error):
            log.warning(
                "%s refused something we sent: %s (%s)", self.peer, frame.message, frame.code
            )
        else:
            raise ProtocolError(f"unexpected {frame.TYPE} frame in a session", code="bad-frame")

    async def _compare_heads(self, author: bytes, seq: int, head_id: bytes) -> None:
        """If we hold another entry under the peer's newest number, show it to the peer.

        Both nodes then hold both entries' evidence: the peer detects the fork when
        it stores ours, and we when it sends its own back the same way.
        """
        mine = await self.host.store.entry_at(NodeId(author), seq)
        if mine is None or bytes(mine.id) == head_id:
            return
        batch = self._next_batch
        self._next_batch += 1
        self._evidence.add(batch)
        await self._send(frames.Entries(batch, [mine.encode()]))

    async def _receive_entries(self, frame: frames.Entries) -> None:
        now = now_ms()
        verified: list[Entry] = []
        for wire in frame.entries:
            try:
                verified.append(decode_entry(wire, now_ms=now))
            except ProtocolError as exc:
                await self._refuse(exc)
        # Shielded: a shutdown waits for the batch in hand to commit, not half of it.
        results = await asyncio.shield(self.host.store.ingest(verified, now))
        for entry, result in zip(verified, results, strict=True):
            author = bytes(entry.author)
            if result.outcome is Outcome.STORED:
                self.received += 1
            if result.outcome in (Outcome.STORED, Outcome.DUPLICATE):
                self.peer_clock[author] = max(entry.seq, self.peer_clock.get(author, 0))
            elif result.error is not None and result.error.code != "blocked":
                log.info("not stored from %s: %s", self.peer, result.error)
        authors = {bytes(e.author) for e in verified}
        heads = await self.host.store.heads_of(authors)
        await self._send(frames.Ack(frame.batch, [[a, heads.get(a, 0)] for a in sorted(authors)]))
        # Relaying to the other peers follows from the commit (Store listeners).
        self.host.progress(self)

    def _acknowledged(self, ack: frames.Ack) -> None:
        if ack.batch in self._evidence:
            self._evidence.discard(ack.batch)  # sent outside the window
            return
        sent = self._in_flight.pop(ack.batch, None)
        if sent is None:
            raise ProtocolError(f"ack for unknown batch {ack.batch}", code="bad-frame")
        self._window.release()
        acked = {a: s for a, s in ack.heads}
        for author, last_sent in sent.items():
            if author not in acked:
                continue  # the peer said nothing of it: keep our view
            held = acked[author]
            if held >= last_sent:
                # Later batches may already be on their way: never move the view back.
                self.peer_clock[author] = max(held, self.peer_clock.get(author, 0))
                continue
            # The peer did not take everything (it blocked the author, or it lacked
            # earlier entries): re-plan from its real head, but give up on this
            # author for the session after a few tries so a refusal cannot loop.
            self.peer_clock[author] = held
            self._retries[author] = self._retries.get(author, 0) + 1
            if self._retries[author] > 2:
                self._declined.add(author)
            else:
                self.mark_dirty([author])
