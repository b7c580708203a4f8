"""The mail room: sealing, holding, relaying and opening restricted letters.

A letter goes to named schools only (protocol/sealed.py). We seal it once for all
its recipients, number it per recipient, and keep the envelope in the ``mail``
table until each recipient confirms it. A session with a peer offers the peer
only envelopes addressed to it, or to a school that names the peer as its relay
in its profile; a relay keeps such envelopes (ciphertext only) until the
recipient fetches them. A recipient takes a pair's letters strictly in order, so
a gap shows and is filled by a later resend. Opening a letter and acting on it
(the :class:`LetterHandler`) happen in one transaction with moving the mark.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from node.clock import now_ms
from node.net.logs import PeerLog
from node.store.database import Store
from protocol import mailsync, sealed
from protocol.errors import ProtocolError, RestoredError, SealedError, StorageError
from protocol.keys import NodeId, NodeKey
from protocol.mailsync import MAIL_BATCH_BYTES, Mark
from protocol.rules import mail as rules
from protocol.sealed import Envelope, Letter

log = logging.getLogger(__name__)

Pair = mailsync.Pair  # (sender, recipient)


class LetterHandler(Protocol):
    needs_checkpoint: bool  # content was erased: flush the write-ahead log after commit

    async def receive(self, letter: Letter, now: int) -> None:
        """Act on a letter addressed to us; runs inside the mail room's transaction."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    sender: NodeId
    recipient: NodeId
    seq: int
    wire: bytes


class Mailroom:
    def __init__(self, store: Store, key: NodeKey) -> None:
        self.store = store
        self.key = key
        self.me = key.node_id
        self.handler: LetterHandler | None = None
        #: Told, inside the transaction, which schools confirmed letters of ours (and the
        #: time): a service may then send them what it held back (node/events/teams.py).
        self.confirm_listeners: list[Callable[[set[NodeId], int], Awaitable[None]]] = []
        #: Refused letters are logged here, bounded per school: a school that sends many
        #: (directly or through relays, where no strike closes a session) cannot fill the disk.
        self.logs = PeerLog(log)

    # -- sending --------------------------------------------------------------------

    async def send(
        self,
        kind: str,
        content: dict[str, Any],
        recipients: Iterable[NodeId],
        *,
        about: str | None,
        now: int,
    ) -> Letter:
        """Seal a letter for ``recipients`` and queue it, in its own transaction."""
        async with self.store.write():
            return await self.send_in_transaction(kind, content, recipients, about=about, now=now)

    async def send_in_transaction(
        self,
        kind: str,
        content: dict[str, Any],
        recipients: Iterable[NodeId],
        *,
        about: str | None,
        now: int,
    ) -> Letter:
        """As :meth:`send`, inside a transaction the caller holds (so both commit together).

        Schools we blocked are left out: nothing more of ours goes to them, not even
        through a relay. A letter to blocked schools only is written but not sent.
        """
        return await self.store.read(
            lambda conn: self.send_now(conn, kind, content, recipients, about=about, now=now)
        )

    def send_now(
        self,
        conn: sqlite3.Connection,
        kind: str,
        content: dict[str, Any],
        recipients: Iterable[NodeId],
        *,
        about: str | None,
        now: int,
    ) -> Letter:
        """As :meth:`send_in_transaction`, in a function run by ``Store.write(fn)``
        (on the database thread, inside its transaction): no trip of its own."""
        Store.refuse_if_restored_now(conn)  # its numbers per recipient could repeat
        named = sorted({r for r in recipients if r != self.me}, key=bytes)
        blocked = {
            NodeId(row[0])
            for row in conn.execute("SELECT node_id FROM partners WHERE state = 'blocked'")
        }
        to = [r for r in named if rules.seal_for(r, blocked)]
        letter = sealed.write_letter(
            self.key, kind=kind, timestamp=now, recipients=to or named, content=content
        )
        if not to:
            return letter
        seqs: dict[NodeId, int] = {}
        for recipient in to:
            row = conn.execute(
                "SELECT seq FROM mail_marks WHERE sender = ? AND recipient = ?",
                (self.me, recipient),
            ).fetchone()
            seqs[recipient] = (0 if row is None else int(row[0])) + 1
        envelope = sealed.seal(
            self.key,
            letter,
            seqs=seqs,
            content_key=os.urandom(sealed.KEY_SIZE),
            nonce=os.urandom(sealed.NONCE_SIZE),
            wrap_nonces={r: os.urandom(sealed.NONCE_SIZE) for r in to},
            timestamp=now,
        )
        conn.execute(
            "INSERT OR IGNORE INTO envelopes (id, wire, stored_at) VALUES (?, ?, ?)",
            (bytes(envelope.id), envelope.encode(), now),
        )
        for recipient, seq in seqs.items():
            conn.execute(
                "INSERT INTO mail (sender, recipient, seq, envelope) VALUES (?, ?, ?, ?)",
                (self.me, recipient, seq, bytes(envelope.id)),
            )
            conn.execute(
                "INSERT INTO mail_marks (sender, recipient, seq) VALUES (?, ?, ?) "
                "ON CONFLICT (sender, recipient) DO UPDATE SET seq = excluded.seq",
                (self.me, recipient, seq),
            )
            conn.execute(
                "INSERT INTO letters_sent (letter, recipient, seq, kind, about, sent_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (bytes(letter.id), recipient, seq, kind, about, now),
            )
        self.store.mail_changed()
        return letter

    async def _keep(self, envelope: Envelope, now: int) -> None:
        await self.store.execute(
            "INSERT OR IGNORE INTO envelopes (id, wire, stored_at) VALUES (?, ?, ?)",
            (bytes(envelope.id), envelope.encode(), now),
        )

    async def _hold(self, sender: NodeId, recipient: NodeId, seq: int, envelope: Envelope) -> None:
        await self.store.execute(
            "INSERT INTO mail (sender, recipient, seq, envelope) VALUES (?, ?, ?, ?)",
            (sender, recipient, seq, bytes(envelope.id)),
        )
        await self._set_mark(sender, recipient, seq)

    async def _set_mark(self, sender: NodeId, recipient: NodeId, seq: int) -> None:
        await self.store.execute(
            "INSERT INTO mail_marks (sender, recipient, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (sender, recipient) DO UPDATE SET seq = excluded.seq",
            (sender, recipient, seq),
        )

    # -- what a peer may be given -------------------------------------------------------

    async def relays_of(self, recipient: NodeId) -> set[NodeId]:
        """The relays ``recipient`` names in its newest profile."""
        return mailsync.relays_named(await self.store.latest_profile(recipient))

    async def _relays(self, recipients: Iterable[NodeId]) -> dict[NodeId, set[NodeId]]:
        return {r: await self.relays_of(r) for r in sorted(set(recipients), key=bytes)}

    async def marks(self) -> list[Mark]:
        """Our marks for a mail clock: letters to us, what we hold as a relay, and how far
        each recipient has confirmed our own letters (so a relay can skip what it missed)."""
        rows = await self.store.fetch_all(
            "SELECT sender, recipient, seq FROM mail_marks WHERE sender != ? "
            "UNION ALL SELECT ?, recipient, seq FROM mail_acked",
            (self.me, self.me),
        )
        return [Mark(NodeId(s), NodeId(r), int(q)) for s, r, q in rows]

    async def outgoing(
        self, peer: NodeId, view: Mapping[Pair, int], *, max_bytes: int = MAIL_BATCH_BYTES
    ) -> list[Outgoing]:
        """Envelopes ``peer`` lacks by ``view`` and may be given, in order, up to a batch
        (chosen by protocol/mailsync.py: :func:`~protocol.mailsync.plan_batch`)."""
        # Choose by the small index columns and sizes first; read envelope bytes only to send.
        rows = await self.store.fetch_all(
            "SELECT m.sender, m.recipient, m.seq, m.envelope, length(e.wire) FROM mail m "
            "JOIN envelopes e ON e.id = m.envelope WHERE m.sender != ? "
            "ORDER BY m.sender, m.recipient, m.seq",
            (peer,),
        )
        held = [mailsync.Held(NodeId(s), NodeId(r), int(q), e, int(n)) for s, r, q, e, n in rows]
        relays = await self._relays(mailsync.lacking_recipients(held, peer, view))
        chosen = mailsync.plan_batch(held, peer, view, relays, max_bytes=max_bytes)
        if not chosen:
            return []
        ids = sorted({c.envelope for c in chosen})
        wires = {
            bytes(i): bytes(w)
            for i, w in await self.store.fetch_all(
                f"SELECT id, wire FROM envelopes WHERE id IN ({', '.join('?' * len(ids))})",
                ids,
            )
        }
        # Another session may have seen an envelope confirmed and dropped it between the
        # two reads: leave it out (it is no longer needed), and the rest still goes.
        found = [(c, wires.get(bytes(c.envelope))) for c in chosen]
        return [Outgoing(c.sender, c.recipient, c.seq, w) for c, w in found if w is not None]

    # -- receiving ------------------------------------------------------------------

    async def accept(
        self, wires: list[bytes], peer: NodeId, now: int
    ) -> tuple[list[Mark], list[ProtocolError]]:
        """Take a batch of envelopes from ``peer``; return our marks for its pairs, and refusals.

        What to take is decided by protocol/mailsync.py (:func:`~protocol.mailsync.plan_accept`)
        from what the store holds, read first in the same transaction; then it is written."""
        refused: list[ProtocolError] = []
        envelopes: list[Envelope] = []
        for wire in wires:
            try:
                envelopes.append(sealed.decode_envelope(wire, now_ms=now))
            except ProtocolError as exc:
                refused.append(exc)
        received = [
            mailsync.Received(e.sender, tuple((s.recipient, s.seq) for s in e.slots))
            for e in envelopes
        ]
        async with self.store.write():
            blocked = await self.store.blocked_authors()
            relays = await self._relays(mailsync.recipients_to_check(received, self.me))
            pairs = mailsync.taken_pairs(received, me=self.me, blocked=blocked, relays=relays)
            plan = mailsync.plan_accept(
                received,
                me=self.me,
                peer=peer,
                blocked=blocked,
                relays=relays,
                marks=await self._marks_of(pairs),
            )
            for take in plan.takes:
                envelope = envelopes[take.index]
                if take.action is mailsync.Action.OPEN:
                    await self._open(envelope, now, refused if take.blame else [], blocked)
                    await self._set_mark(take.sender, take.recipient, take.seq)
                else:
                    await self._keep(envelope, now)
                    await self._hold(take.sender, take.recipient, take.seq, envelope)
            if plan.holds:
                self.store.mail_changed()
        if self.handler is not None and self.handler.needs_checkpoint:
            self.handler.needs_checkpoint = False
            await self.store.checkpoint()
        return plan.marks, refused

    async def _marks_of(self, pairs: Iterable[Pair]) -> dict[Pair, int]:
        """Our marks of these pairs (those we hold none of are left out: 0)."""
        marks: dict[Pair, int] = {}
        todo = list(pairs)
        step = 400  # two parameters a pair, well under SQLite's limit
        for i in range(0, len(todo), step):
            chunk = todo[i : i + step]
            values = ", ".join("(?, ?)" for _ in chunk)
            # CROSS JOIN keeps the pairs outside, so each is one look-up in the primary key
            # (an IN over row values scans the whole table in SQLite 3.40).
            rows = await self.store.fetch_all(
                f"SELECT m.sender, m.recipient, m.seq FROM (VALUES {values}) AS v "
                "CROSS JOIN mail_marks m ON m.sender = v.column1 AND m.recipient = v.column2",
                [x for pair in chunk for x in pair],
            )
            marks.update({(NodeId(s), NodeId(r)): int(q) for s, r, q in rows})
        return marks

    async def _mark(self, pair: Pair) -> int:
        row = await self.store.fetch_one(
            "SELECT seq FROM mail_marks WHERE sender = ? AND recipient = ?", pair
        )
        return 0 if row is None else int(row[0])

    async def _open(
        self,
        envelope: Envelope,
        now: int,
        refused: list[ProtocolError],
        blocked: set[NodeId],
    ) -> None:
        """Open a letter to us and act on it; a bad one is refused but its number used.

        The caller passes a throwaway list for letters a relay carried: the relay
        could not read them, so it is not to blame (no error frame, no strike);
        the log line names the school that wrote the letter. A blocked school's
        letter is refused before it is even decrypted (protocol/rules/mail.py)."""
        verdict = rules.letter(envelope.sender, blocked)
        if verdict is not None:
            self.logs.warning(
                envelope.sender,
                "a sealed letter from %s was refused: %s",
                envelope.sender,
                verdict.reason,
            )
            refused.append(verdict.error())
            return
        try:
            letter = sealed.open_envelope(self.key, envelope)
            verdict = rules.timestamp(letter.timestamp, now)
            if verdict is not None:
                raise verdict.error()
        except ProtocolError as exc:
            self.logs.warning(
                envelope.sender, "a sealed letter from %s was refused: %s", envelope.sender, exc
            )
            refused.append(exc)
            return
        if self.handler is None:
            return
        # One letter's handler is one savepoint: a letter refused half way, or whose
        # handler fails (our own bug, or a bound met half way), is undone alone and
        # the rest of the batch goes on. Were the failure to end the transaction, the
        # batch would never be acknowledged, and would be sent and fail again for good.
        await self.store.execute("SAVEPOINT letter")
        try:
            await self.handler.receive(letter, now)
        except SealedError as exc:
            await self._undo_letter()
            self.logs.warning(
                letter.author,
                "a %s letter from %s was refused: %s",
                letter.kind,
                letter.author,
                exc,
            )
            refused.append(exc)
        except sqlite3.IntegrityError as exc:  # a constraint: this letter's, not the disk's
            await self._undo_letter()
            self._failed(letter, exc)
        except (sqlite3.Error, StorageError, RestoredError):
            # The disk full or damaged, or nothing may be sent while the node waits after
            # a restore: this node's state, not the letter's. The whole batch waits, to
            # be taken again in a later session.
            raise
        except Exception as exc:  # any other failure refuses this letter alone
            await self._undo_letter()
            self._failed(letter, exc)
        else:
            await self.store.execute("RELEASE letter")

    async def _undo_letter(self) -> None:
        """Undo what one letter's handler wrote (back to its savepoint)."""
        await self.store.execute("ROLLBACK TO letter")
        await self.store.execute("RELEASE letter")

    def _failed(self, letter: Letter, exc: Exception) -> None:
        """A letter our own code could not act on: refused here, logged with the
        cause for staff to report, and not blamed on the school that sent it."""
        self.logs.warning(
            letter.author,
            "a %s letter from %s could not be acted on and was set aside: %s: %s",
            letter.kind,
            letter.author,
            type(exc).__name__,
            exc,
        )
        log.debug("the letter's failure", exc_info=exc)

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: stop holding ``school``'s envelopes for others (we block it),
        and stop sending it ours.

        What it sealed for other schools is dropped with our marks for those pairs,
        so we no longer say we hold any; from now on :meth:`accept` ignores such
        slots (a peer that offers them sees them left out of our ``mail-ack``). Our
        mark for its letters to us stays, so its numbers keep being used up."""
        await self.store.execute(
            "DELETE FROM mail WHERE sender = ? AND recipient != ?", (school, self.me)
        )
        # Nor does anything more of ours go to it: our outbox to it is emptied.
        await self.store.execute(
            "DELETE FROM mail WHERE sender = ? AND recipient = ?", (self.me, school)
        )
        await self.store.execute(
            "DELETE FROM mail_marks WHERE sender = ? AND recipient != ?", (school, self.me)
        )
        await self.store.execute("DELETE FROM mail_delivered WHERE sender = ?", (school,))
        await self._drop_unreferenced()

    async def confirmed(self, peer: NodeId, marks: Iterable[Mark]) -> None:
        """``peer`` told us what it holds: note what it confirmed, drop what it no longer needs.

        Marks for pairs whose recipient is the peer itself are final: the recipient
        has those letters, so we (the sender, or a relay) may forget them. As a relay
        the peer names, we also keep them to pass back to their senders
        (:meth:`delivered_marks`).
        """
        confirmed = mailsync.confirmations(marks, peer)
        async with self.store.write():
            if confirmed:
                relay_for_peer = self.me in await self.relays_of(peer)
                for sender, recipient, seq in confirmed:
                    await self._confirm(sender, recipient, seq)
                ours = {m.recipient for m in confirmed if m.sender == self.me}
                if ours:
                    for listener in self.confirm_listeners:
                        await listener(ours, now_ms())
                # Marks of others' pairs (_confirm changed only ours), in one read.
                relayed = [m.pair for m in confirmed if m.sender != self.me]
                relay_marks: dict[Pair, int] = (
                    await self._marks_of(relayed) if relay_for_peer else {}
                )
                held = {pair for pair, mark in relay_marks.items() if mark > 0}
                for sender, recipient, seq in mailsync.to_record_delivered(
                    confirmed, self.me, relay_for_peer, held
                ):
                    if await self.store.execute(
                        "INSERT INTO mail_delivered (sender, recipient, seq) VALUES (?, ?, ?) "
                        "ON CONFLICT (sender, recipient) DO UPDATE SET seq = excluded.seq "
                        "WHERE excluded.seq > seq",
                        (sender, recipient, seq),
                    ):
                        self.store.mail_changed()  # wake the sessions: tell that sender
            await self._drop_unreferenced()

    async def _confirm(self, sender: NodeId, recipient: NodeId, seq: int) -> None:
        """Inside a transaction: ``recipient`` holds ``sender``'s letters 1..``seq``."""
        if sender == self.me:
            await self.store.execute(
                "INSERT INTO mail_acked (recipient, seq) VALUES (?, ?) "
                "ON CONFLICT (recipient) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                (recipient, seq),
            )
            # Above our own mark only after a restore from a backup: the lost copy sealed
            # letters we no longer know. Number on after them, or ours would be repeats.
            await self.store.execute(
                "INSERT INTO mail_marks (sender, recipient, seq) VALUES (?, ?, ?) "
                "ON CONFLICT (sender, recipient) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                (sender, recipient, seq),
            )
        await self.store.execute(
            "DELETE FROM mail WHERE sender = ? AND recipient = ? AND seq <= ?",
            (sender, recipient, seq),
        )

    async def _drop_unreferenced(self) -> None:
        await self.store.execute(
            "DELETE FROM envelopes WHERE id NOT IN (SELECT envelope FROM mail)"
        )

    async def delivered_marks(self, peer: NodeId) -> list[Mark]:
        """What recipients that name us as a relay confirmed to us of ``peer``'s letters."""
        rows = await self.store.fetch_all(
            "SELECT sender, recipient, seq FROM mail_delivered WHERE sender = ? ORDER BY recipient",
            (peer,),
        )
        return [Mark(NodeId(s), NodeId(r), int(q)) for s, r, q in rows]

    async def relayed_confirmations(self, peer: NodeId, marks: Iterable[Mark]) -> None:
        """``peer`` passes back what a recipient confirmed to it of our own letters.

        Believed only from a relay that the recipient names in its newest profile we
        hold: the recipient trusts that node to hold its letters until it fetches
        them, and a relay that lied could as well have dropped them. Without this a
        sender that meets the recipient only through relays would keep its outbox
        (and the ciphertext in it) for ever (docs/decisions.md).
        """
        async with self.store.write():
            for sender, recipient, seq in mailsync.relayed(marks, self.me, peer):
                verdict = mailsync.relayed_verdict(
                    seq,
                    await self._mark((sender, recipient)),
                    peer in await self.relays_of(recipient),
                )
                if verdict is mailsync.Relayed.NOT_NAMED:
                    self.logs.info(
                        peer, "%s passed back marks for a school that does not name it", peer
                    )
                elif verdict is mailsync.Relayed.NEVER_SEALED:
                    self.logs.warning(peer, "%s confirmed letters we never sealed; ignored", peer)
                else:
                    await self._confirm(sender, recipient, seq)
            await self._drop_unreferenced()

    async def skip_confirmed(self, peer: NodeId, marks: Iterable[Mark]) -> None:
        """The sender ``peer`` says a recipient already has its letters up to a mark.

        As a relay for that recipient we need not (and could not) fetch the earlier
        ones any more: move our mark on and drop what we hold below it.
        """
        async with self.store.write():
            for sender, recipient, seq in mailsync.skips(marks, self.me, peer):
                mark = await self._mark((sender, recipient))
                if seq > mark and mailsync.skip_to(
                    seq, mark, self.me in await self.relays_of(recipient)
                ):
                    await self._set_mark(sender, recipient, seq)
                    await self.store.execute(
                        "DELETE FROM mail WHERE sender = ? AND recipient = ? AND seq <= ?",
                        (sender, recipient, seq),
                    )

    async def delivered(self, letter_about: str) -> dict[NodeId, bool]:
        """For letters about ``letter_about`` we sent: recipient -> confirmed by it."""
        rows = await self.store.fetch_all(
            "SELECT s.recipient, MIN(s.seq <= COALESCE(a.seq, 0)) FROM letters_sent s "
            "LEFT JOIN mail_acked a ON a.recipient = s.recipient "
            "WHERE s.about = ? GROUP BY s.recipient",
            (letter_about,),
        )
        return {NodeId(r): bool(ok) for r, ok in rows}
