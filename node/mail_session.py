"""The sealed-mail half of a peer session: mail clocks, mail batches and their acks.

It rides on the same authenticated connection as the public log (node/session.py)
and follows the same pattern: each side says what it holds (a mail clock of
marks), then sends what the other lacks and may be given, one batch at a time,
and moves its view only as far as the peer's acknowledgement confirms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from node.clock import now_ms
from node.logs import PeerLog
from node.mail import Mailroom, Pair
from protocol import frames
from protocol.errors import ProtocolError
from protocol.keys import NodeId

log = logging.getLogger(__name__)

#: Seconds to wait for a mail acknowledgement before looking again from the start.
ACK_TIMEOUT = 60.0
#: Times a pair is re-sent in one session when the peer does not take it.
MAX_RETRIES = 2
#: Pairs a peer's mail clocks can make us remember in one session (as
#: replication.MAX_VIEW_AUTHORS): marks of further pairs are not remembered, and
#: at worst we offer the peer letters it holds, which it ignores as repeats.
MAX_VIEW_PAIRS = 2**18


class MailExchange:
    def __init__(
        self,
        mailroom: Mailroom,
        peer: bytes,
        send: Callable[[frames.Frame], Awaitable[None]],
        refuse: Callable[[ProtocolError], Awaitable[None]],
        logs: PeerLog | None = None,
    ) -> None:
        self.mailroom = mailroom
        self.peer = peer
        self._logs = logs or PeerLog(log)
        self._send = send
        self._refuse = refuse
        self.view: dict[Pair, int] = {}  # what the peer holds, as far as we know
        self._wake = asyncio.Event()
        self._clock_received = asyncio.Event()
        self._pending: dict[int, dict[Pair, int]] = {}  # batch -> pair -> last seq sent
        self._acked = asyncio.Event()
        self._next_batch = 1
        self._retries: dict[Pair, int] = {}
        self._declined: set[Pair] = set()
        self._told: dict[Pair, int] = {}  # delivered marks passed back to the peer
        self.sent = 0
        self.received = 0

    def wake(self) -> None:
        """Mail was queued or arrived for relaying: look again."""
        self._wake.set()

    async def send_clock(self) -> None:
        marks = await self.mailroom.marks()
        delivered = await self._new_delivered()
        step = frames.MAX_CLOCK_PAIRS
        count = max(1, -(-len(marks) // step), -(-len(delivered) // step))
        for i in range(count):
            part = delivered[i * step : (i + 1) * step] or None
            await self._send(
                frames.MailClock(marks[i * step : (i + 1) * step], i == count - 1, part)
            )

    async def _new_delivered(self) -> list[list[object]]:
        """Delivered marks of the peer's letters that we have not passed back yet."""
        fresh = []
        for sender, recipient, seq in await self.mailroom.delivered_marks(self.peer):
            if seq > self._told.get((sender, recipient), 0):
                self._told[(sender, recipient)] = seq
                fresh.append([sender, recipient, seq])
        return fresh

    async def _tell_delivered(self) -> None:
        """A recipient confirmed the peer's letters to us (as its relay): pass it back now.

        A mail clock without marks changes nothing else at the peer, so it may come
        at any time in the session."""
        step = frames.MAX_CLOCK_PAIRS
        delivered = await self._new_delivered()
        for i in range(0, len(delivered), step):
            await self._send(frames.MailClock([], True, delivered[i : i + step]))

    async def run(self) -> None:
        """Send what the peer lacks, a batch at a time, until cancelled."""
        await self._clock_received.wait()
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._tell_delivered()
            while await self._send_batch():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ACK_TIMEOUT):
                        await self._acked.wait()
                if self._pending:  # no ack in time: start again from the peer's clock
                    self._pending.clear()
                    break

    async def _send_batch(self) -> bool:
        view = {p: q for p, q in self.view.items()}
        for pair in self._declined:
            view[pair] = 2**63  # given up on for this session
        batch = await self.mailroom.outgoing(self.peer, view)
        if not batch:
            return False
        number = self._next_batch
        self._next_batch += 1
        last: dict[Pair, int] = {}
        for item in batch:
            pair = (item.sender, item.recipient)
            last[pair] = item.seq
            self.view[pair] = item.seq  # optimistic; the ack corrects it
        self._pending[number] = last
        self._acked.clear()
        await self._send(frames.Mail(number, [item.wire for item in batch]))
        self.sent += len(batch)
        return True

    async def handle(self, frame: frames.Frame) -> None:
        if isinstance(frame, frames.MailClock):
            for sender, recipient, seq in frame.marks:
                if (sender, recipient) in self.view or len(self.view) < MAX_VIEW_PAIRS:
                    self.view[(sender, recipient)] = seq
            await self.mailroom.confirmed(self.peer, frame.marks)
            await self.mailroom.skip_confirmed(self.peer, frame.marks)
            if frame.delivered:
                await self.mailroom.relayed_confirmations(self.peer, frame.delivered)
            if frame.final:
                self._clock_received.set()
                self.wake()
        elif isinstance(frame, frames.Mail):
            marks, refused = await asyncio.shield(
                self.mailroom.accept(frame.envelopes, self.peer, now_ms())
            )
            self.received += len(frame.envelopes) - len(refused)
            for exc in refused:
                await self._refuse(exc)
            await self._send(frames.MailAck(frame.batch, marks))
        elif isinstance(frame, frames.MailAck):
            await self._acknowledged(frame)

    async def _acknowledged(self, ack: frames.MailAck) -> None:
        sent = self._pending.pop(ack.batch, None)
        if sent is None:
            raise ProtocolError(f"mail ack for unknown batch {ack.batch}", code="bad-frame")
        held = {(s, r): q for s, r, q in ack.marks}
        for pair, last in sent.items():
            if pair not in held:
                # The peer neither holds nor relays this pair (it may have changed its
                # relays): do not offer it again in this session.
                self._declined.add(pair)
                continue
            if held[pair] >= last:
                self.view[pair] = max(held[pair], self.view.get(pair, 0))
                continue
            self.view[pair] = held[pair]  # it has a gap before ours: resend from its mark
            self._retries[pair] = self._retries.get(pair, 0) + 1
            if self._retries[pair] > MAX_RETRIES:
                who = NodeId(self.peer)
                self._logs.info(
                    who,
                    "%s does not take letters of one pair; trying next session",
                    who,
                    logger=log,
                )
                self._declined.add(pair)
        await self.mailroom.confirmed(self.peer, ack.marks)
        self._acked.set()
        self.wake()
