"""The sealed-mail half of a peer session: mail clocks, mail batches and their acks.

It rides on the same authenticated connection as the public log (node/net/session.py)
and follows the same pattern: each side says what it holds (a mail clock of
marks), then sends what the other lacks and may be given, one batch at a time,
and moves its view only as far as the peer's acknowledgement confirms.

The rules (views, batches, acks, retries, what to take) are protocol/mailsync.py;
this module only reads for them, sends the frames they decide, and waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from node.clock import now_ms
from node.mail.mailroom import Mailroom, Pair
from node.net.logs import PeerLog
from protocol import frames, mailsync
from protocol.errors import ProtocolError
from protocol.keys import NodeId

log = logging.getLogger(__name__)

#: Seconds to wait for a mail acknowledgement before looking again from the start.
ACK_TIMEOUT = 60.0
#: Re-exported for tests and the docs' limits table (the rules live in protocol/mailsync.py).
MAX_RETRIES = mailsync.MAX_RETRIES
MAX_VIEW_PAIRS = mailsync.MAX_VIEW_PAIRS


class MailExchange:
    """Drives a :class:`protocol.mailsync.MailSync`: reads for it, sends what it decides."""

    def __init__(
        self,
        mailroom: Mailroom,
        peer: NodeId,
        send: Callable[[frames.Frame], Awaitable[None]],
        refuse: Callable[[ProtocolError], Awaitable[None]],
        logs: PeerLog | None = None,
    ) -> None:
        self.mailroom = mailroom
        self.peer = peer
        self._logs = logs or PeerLog(log)
        self._send = send
        self._refuse = refuse
        self.sync = mailsync.MailSync(max_view=MAX_VIEW_PAIRS)
        # Only wake-ups: what may be sent is the state machine's to say (self.sync).
        self._wake = asyncio.Event()
        self._acked = asyncio.Event()
        self.sent = 0
        self.received = 0

    @property
    def view(self) -> dict[Pair, int]:
        """What the peer holds, as far as we know."""
        return self.sync.view

    def wake(self) -> None:
        """Mail was queued or arrived for relaying: look again."""
        self._wake.set()

    async def send_clock(self) -> None:
        marks = await self.mailroom.marks()
        delivered = self.sync.fresh_delivered(await self.mailroom.delivered_marks(self.peer))
        for frame in mailsync.clock_frames(marks, delivered):
            await self._send(frame)

    async def _tell_delivered(self) -> None:
        """A recipient confirmed the peer's letters to us (as its relay): pass it back now."""
        delivered = self.sync.fresh_delivered(await self.mailroom.delivered_marks(self.peer))
        for frame in mailsync.delivered_frames(delivered):
            await self._send(frame)

    async def run(self) -> None:
        """Send what the peer lacks, a batch at a time, until cancelled.

        Nothing goes before the peer's final mail clock, and a batch only when none
        awaits its ack: :attr:`protocol.mailsync.MailSync.may_send`."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.sync.clock_received:
                continue  # woken by mail queued here: the peer's clock wakes us again
            await self._tell_delivered()
            while self.sync.may_send and await self._send_batch():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ACK_TIMEOUT):
                        await self._acked.wait()
                if self.sync.in_flight:  # no ack in time: start again from the peer's clock
                    self.sync.timed_out()
                    break

    async def _send_batch(self) -> bool:
        batch = await self.mailroom.outgoing(self.peer, self.sync.offer_view())
        if not batch:
            return False
        frame = self.sync.batch([(b.sender, b.recipient, b.seq, b.wire) for b in batch])
        self._acked.clear()
        await self._send(frame)
        self.sent += len(batch)
        return True

    async def handle(self, frame: frames.Frame) -> None:
        if isinstance(frame, frames.MailClock):
            clock = mailsync.ClockMarks.of(frame)  # the ids read once, here
            self.sync.receive_clock(clock)
            await self.mailroom.confirmed(self.peer, clock.marks)
            await self.mailroom.skip_confirmed(self.peer, clock.marks)
            if clock.delivered:
                await self.mailroom.relayed_confirmations(self.peer, clock.delivered)
            if self.sync.clock_received:
                self.wake()
        elif isinstance(frame, frames.Mail):
            marks, refused = await asyncio.shield(
                self.mailroom.accept(frame.envelopes, self.peer, now_ms())
            )
            self.received += len(frame.envelopes) - len(refused)
            for exc in refused:
                await self._refuse(exc)
            await self._send(frames.MailAck(frame.batch, [mark.wire() for mark in marks]))
        elif isinstance(frame, frames.MailAck):
            ack = mailsync.AckMarks.of(frame)
            outcome = self.sync.acknowledged(ack)
            for _ in outcome.gave_up:
                self._logs.info(
                    self.peer,
                    "%s does not take letters of one pair; trying next session",
                    self.peer,
                    logger=log,
                )
            await self.mailroom.confirmed(self.peer, ack.marks)
            self._acked.set()
            self.wake()
