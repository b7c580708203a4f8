"""A peer observation shared with one partner school, by letter, and taken back.

Observations across two schools (an observer from a partner school) belong to the
observed teacher, who decides whether the other school keeps a copy. Sharing seals
the record to that one school; taking it back sends a letter that makes the
other school delete its copy. A copy names its school of origin and can be
neither shared on nor changed by the school that received it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from node.mail.mailroom import Mailroom
from node.partners.peerbook import PeerBook
from node.store.database import Store
from protocol import letters
from protocol.contents.letters import ObservationLetter, ObservationUnshareLetter
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import NodeId, NodeKey
from protocol.rules import observations as rules
from protocol.sealed import Letter


class SharedObservations:
    """Observations sent to or received from a partner school; ``node.shared_observations``."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom, book: PeerBook) -> None:
        self.store = store
        self.book = book
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False  # a copy was deleted: flush the write-ahead log

    def _partner_now(self, conn: sqlite3.Connection, school: NodeId) -> bool:
        partner = self.book.get_now(conn, school)
        return partner is not None and partner.state == "partner"

    @staticmethod
    def _row_now(conn: sqlite3.Connection, number: int) -> Any:
        row = conn.execute(
            "SELECT uid, origin, shared_to, observer, observed, focus, priority, day, "
            "strengths, actions, follow_up FROM observations WHERE id = ?",
            (number,),
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no observation {number}: see `schoolmesh observation list`",
                page=said("There is no observation %(number)s.", number=str(number)),
            )
        if row[1] is not None:
            raise NotAllowedError(
                "that observation came from a partner school: only the observed colleague "
                "there can share it or take it back",
                page=said(
                    "This observation came from a partner school: only the observed colleague "
                    "there can share it or take it back."
                ),
            )
        return row

    async def send(self, number: int, to: NodeId, now: int) -> None:
        """Seal observation ``number`` to partner school ``to``, and record it as shared:
        read, checked, sealed and recorded in one transaction, one trip."""
        await self.store.write(lambda conn: self.send_now(conn, number, to, now))

    def send_now(self, conn: sqlite3.Connection, number: int, to: NodeId, now: int) -> None:
        """:meth:`send` in a function run by ``store.write(fn)``."""
        uid, _origin, shared_to, *fields = self._row_now(conn, number)
        if to == self.me:
            raise UserInputError(
                "--to names this school: give a partner school's node id",
                page=said("That is our own school: choose a partner school."),
            )
        if not self._partner_now(conn, to):
            raise UserInputError(
                f"{to} is not a partner school: an observation is shared with a partner "
                "only (`schoolmesh partner list`)",
                page=said("An observation can be sent to one of our partner schools only."),
            )
        if shared_to is not None and NodeId(shared_to) != to:
            raise UserInputError(
                "that observation is already shared with another school: take it back "
                "first with `schoolmesh observation share ID --off`",
                page=said(
                    "This observation is already sent to another school: make it private "
                    "first, then send it again."
                ),
            )
        uid = uid or os.urandom(16).hex()
        observer, observed, focus, priority, day, strengths, actions, follow_up = fields
        content = ObservationLetter(
            id=uid,
            observer=observer,
            observed=observed,
            focus=focus,
            priority=priority,
            day=day,
            strengths=tuple(json.loads(strengths)),
            actions=tuple(json.loads(actions)),
            follow_up=follow_up,
        ).to_content()
        self.mail.send_now(conn, letters.OBSERVATION, content, [to], about=uid, now=now)
        conn.execute(
            "UPDATE observations SET uid = ?, shared = 1, shared_to = ? WHERE id = ?",
            (uid, bytes(to), number),
        )

    async def take_back(self, number: int, now: int) -> None:
        """Ask the school it was shared with to delete its copy; keep ours private (one
        transaction, one trip)."""
        await self.store.write(lambda conn: self.take_back_now(conn, number, now))

    def take_back_now(self, conn: sqlite3.Connection, number: int, now: int) -> None:
        """:meth:`take_back` in a function run by ``store.write(fn)``."""
        uid, _origin, shared_to, *_ = self._row_now(conn, number)
        if shared_to is not None:
            self.mail.send_now(
                conn,
                letters.OBSERVATION_UNSHARE,
                ObservationUnshareLetter(uid).to_content(),
                [NodeId(shared_to)],
                about=uid,
                now=now,
            )
        conn.execute("UPDATE observations SET shared = 0, shared_to = NULL WHERE id = ?", (number,))

    async def receive(self, letter: Letter, now: int) -> None:
        """A partner's observation, or its withdrawal (inside the mail room's transaction,
        in one trip: ``store.within``).

        protocol/rules/observations.py says who may send which; a refused letter
        changes nothing."""
        await self.store.within(lambda conn: self._receive_now(conn, letter, now))

    def _receive_now(self, conn: sqlite3.Connection, letter: Letter, now: int) -> None:
        if letter.kind == letters.OBSERVATION_UNSHARE:
            uid = ObservationUnshareLetter.of(letter).id
            shared = None
        else:
            shared = ObservationLetter.of(letter)
            uid = shared.id
        row = conn.execute("SELECT id, origin FROM observations WHERE uid = ?", (uid,)).fetchone()
        held = (
            None
            if row is None
            else rules.HeldObservation(None if row[1] is None else NodeId(row[1]))
        )
        if shared is None:
            verdict = rules.unshare(letter.author, self.me, letter.recipients, held)
            if verdict is not None:
                raise verdict.error()
            if row is not None:
                conn.execute("DELETE FROM observations WHERE id = ?", (row[0],))
                self.needs_checkpoint = True
            return
        verdict = rules.observation(
            letter.author,
            self.me,
            letter.recipients,
            held,
            partner=self._partner_now(conn, letter.author),
            day=shared.day,
            follow_up=shared.follow_up,
        )
        if verdict is not None:
            raise verdict.error()
        if row is not None:
            return  # the same observation again
        conn.execute(
            "INSERT INTO observations (observer, observed, focus, priority, day, strengths, "
            "actions, follow_up, shared, created_at, uid, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (
                shared.observer,
                shared.observed,
                shared.focus,
                shared.priority,
                shared.day,
                json.dumps(list(shared.strengths)),
                json.dumps(list(shared.actions)),
                shared.follow_up,
                now,
                shared.id,
                bytes(letter.author),
            ),
        )

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: delete every observation ``school`` shared (we block it)."""
        if await self.store.execute("DELETE FROM observations WHERE origin = ?", (bytes(school),)):
            self.needs_checkpoint = True
