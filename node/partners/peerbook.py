"""Partners, invites and peer status: who this school works with, in its database.

:class:`PeerBook` is ``node.peerbook``, the one partner book of the node. Each of its
operations is one trip to the database thread (``store.read(fn)``/``store.write(fn)``),
except blocking a school, which erases what it wrote through every service's
``forget_school`` in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from node.clock import now_ms as clock_ms
from node.store.database import Store
from protocol.errors import NotFoundError, UserInputError, said
from protocol.invite import Invite
from protocol.keys import NodeId, NodeKey

#: Settings written by the running node, read by the command line.
ADDRESS_SETTING = "address"
HEARTBEAT_SETTING = "heartbeat"
#: The running node refreshes its heartbeat this often; older means it stopped.
HEARTBEAT_MS = 2_000


@dataclass(frozen=True, slots=True)
class Partner:
    node_id: NodeId
    address: str | None
    state: str  # "partner" or "blocked"
    added_at: int


@dataclass(frozen=True, slots=True)
class PeerStatus:
    node_id: NodeId
    connected: bool
    last_seen: int | None
    behind: int
    last_error: str | None


class PeerBook:
    """Partner records over the node's :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create_invite(self, key: NodeKey, address: str, expires: int, now_ms: int) -> str:
        invite = Invite(key.node_id, address, os.urandom(16), expires)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO invites (token, expires, created_at) VALUES (?, ?, ?)",
                (invite.token, expires, now_ms),
            )

        await self.store.write(write)
        return invite.sign(key)

    async def redeem_invite(self, token: bytes, by: NodeId, now_ms: int) -> bool:
        """Mark an invite used by ``by``; False if unknown, expired or used already."""

        def write(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE invites SET redeemed_by = ?, redeemed_at = ? "
                "WHERE token = ? AND redeemed_by IS NULL AND expires >= ?",
                (bytes(by), now_ms, token, now_ms),
            ).rowcount

        return await self.store.write(write) == 1

    async def add(self, node_id: NodeId, address: str | None, now_ms: int) -> None:
        """Record a partner (or refresh its address); a blocked node stays blocked."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO partners (node_id, address, state, added_at) "
                "VALUES (?, ?, 'partner', ?) ON CONFLICT (node_id) DO UPDATE SET "
                "address = COALESCE(excluded.address, partners.address)",
                (bytes(node_id), address, now_ms),
            )

        await self.store.write(write)

    async def get(self, node_id: NodeId) -> Partner | None:
        return await self.store.read(lambda conn: self.get_now(conn, node_id))

    @staticmethod
    def get_now(conn: sqlite3.Connection, node_id: NodeId) -> Partner | None:
        """:meth:`get` in a function run by ``store.read(fn)`` or ``store.write(fn)``."""
        row = conn.execute(
            "SELECT node_id, address, state, added_at FROM partners WHERE node_id = ?",
            (bytes(node_id),),
        ).fetchone()
        return None if row is None else _partner(row)

    async def list(self) -> list[Partner]:
        return await self.store.read(_partners_now)

    async def name(self, node_id: NodeId) -> str:
        """The school's name as its profile gives it ('' until its profile arrives)."""

        def read(conn: sqlite3.Connection) -> str:
            row = conn.execute(
                "SELECT name FROM schools WHERE author = ?", (bytes(node_id),)
            ).fetchone()
            return "" if row is None or row[0] is None else str(row[0])

        return await self.store.read(read)

    async def names(self) -> dict[NodeId, tuple[str, str]]:
        """Name and country of every partner and blocked node ('' until its profile arrives)."""
        return await self.store.read(_names_now)

    async def remove(self, node_id: NodeId) -> None:
        def write(conn: sqlite3.Connection) -> None:
            if not conn.execute(
                "DELETE FROM partners WHERE node_id = ? AND state = 'partner'", (bytes(node_id),)
            ).rowcount:
                raise NotFoundError(
                    f"{node_id} is not a partner: see `schoolmesh partner list`",
                    page=said("There is no such partner school."),
                )
            conn.execute("DELETE FROM peer_status WHERE node_id = ?", (bytes(node_id),))
            # Its partners counted in our horizon while it was a partner (node/net/interest.py).
            conn.execute("DELETE FROM declared_partners WHERE peer = ?", (bytes(node_id),))

        await self.store.write(write)

    async def block(self, node_id: NodeId, own: NodeId, now_ms: int) -> None:
        """Stop peering with ``node_id`` and erase everything it wrote, here and from now on.

        Its entries are dropped, and, in the same transaction, what it wrote by letter
        (project posts and comments, events for partners or a project, interest and
        answers, shared observations, answers to our events) is erased by each
        service's ``forget_school`` (wired in :class:`node.node.Node`). From then on
        the mail room refuses its letters, whoever carries them (protocol/rules/mail.py).
        """
        if node_id == own:
            raise UserInputError(
                "a school cannot block its own node", page=said("Our school cannot block itself.")
            )
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO partners (node_id, address, state, added_at) "
                "VALUES (?, NULL, 'blocked', ?) ON CONFLICT (node_id) DO UPDATE SET "
                "state = 'blocked'",
                (bytes(node_id), now_ms),
            )
            await self.store.delete_author(node_id)
            await self.store.execute("DELETE FROM peer_status WHERE node_id = ?", (bytes(node_id),))
            await self.store.execute(
                "DELETE FROM declared_partners WHERE peer = ?", (bytes(node_id),)
            )
            for forget in self.store.forgetters:
                await forget(node_id, now_ms)
        await self.store.checkpoint()  # no copy of what was erased stays in the log file

    async def set_status(
        self, node_id: NodeId, *, connected: bool, behind: int, error: str | None, now_ms: int
    ) -> None:
        row = (bytes(node_id), int(connected), now_ms if connected else None, behind, error, now_ms)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO peer_status (node_id, connected, last_seen, behind, last_error, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET "
                "connected = excluded.connected, "
                "last_seen = COALESCE(excluded.last_seen, peer_status.last_seen), "
                "behind = excluded.behind, last_error = excluded.last_error, "
                "updated_at = excluded.updated_at",
                row,
            )

        await self.store.write(write)

    async def mark_connected(self, node_id: NodeId, now_ms: int) -> None:
        """A session with it has opened: "connected" at once, with no error. How far
        behind it we are stays as last counted until the next report, which a hub
        spaces out (node/net/peers.py, ``report_gap_ms``): so a partner that comes
        back does not show "last seen" meanwhile."""
        row = (bytes(node_id), now_ms, now_ms)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO peer_status (node_id, connected, last_seen, behind, last_error, "
                "updated_at) VALUES (?, 1, ?, 0, NULL, ?) ON CONFLICT (node_id) DO UPDATE SET "
                "connected = 1, last_seen = excluded.last_seen, last_error = NULL, "
                "updated_at = excluded.updated_at",
                row,
            )

        await self.store.write(write)

    async def statuses(self) -> dict[NodeId, PeerStatus]:
        return await self.store.read(_statuses_now)

    async def overview(self) -> Overview:
        """Partners, their names, their sessions' status and whether the node runs, in one
        trip: what the status report and the partners' list show."""
        return await self.store.read(_overview_now)

    async def running_address(self) -> str | None:
        """The address the running node listens on, or None if it is stopped or
        outbound-only."""
        return (await self.store.read(_running_now))[1]

    async def is_running(self) -> bool:
        """Whether the node is running (its heartbeat is fresh), from any process."""
        return (await self.store.read(_running_now))[0]


@dataclass(frozen=True, slots=True)
class Overview:
    partners: list[Partner]
    names: dict[NodeId, tuple[str, str]]
    statuses: dict[NodeId, PeerStatus]
    running: bool
    address: str | None  # where the running node listens; None if stopped or outbound-only


def _partner(row: Any) -> Partner:
    return Partner(NodeId(row[0]), row[1], row[2], int(row[3]))


def _partners_now(conn: sqlite3.Connection) -> list[Partner]:
    rows = conn.execute(
        "SELECT node_id, address, state, added_at FROM partners ORDER BY added_at"
    ).fetchall()
    return [_partner(r) for r in rows]


def _names_now(conn: sqlite3.Connection) -> dict[NodeId, tuple[str, str]]:
    rows = conn.execute(
        "SELECT p.node_id, s.name, s.country FROM partners AS p "
        "LEFT JOIN schools AS s ON s.author = p.node_id"
    ).fetchall()
    return {NodeId(n): ("", "") if name is None else (name, country) for n, name, country in rows}


def _statuses_now(conn: sqlite3.Connection) -> dict[NodeId, PeerStatus]:
    rows = conn.execute(
        "SELECT node_id, connected, last_seen, behind, last_error FROM peer_status"
    ).fetchall()
    return {NodeId(r[0]): PeerStatus(NodeId(r[0]), bool(r[1]), r[2], int(r[3]), r[4]) for r in rows}


def _running_now(conn: sqlite3.Connection) -> tuple[bool, str | None]:
    """Whether the node runs (its heartbeat is fresh), and where it listens if it does."""
    settings = dict(
        conn.execute(
            "SELECT name, value FROM settings WHERE name IN (?, ?)",
            (HEARTBEAT_SETTING, ADDRESS_SETTING),
        ).fetchall()
    )
    beat = settings.get(HEARTBEAT_SETTING)
    running = beat is not None and clock_ms() - int(beat) <= 3 * HEARTBEAT_MS
    address = settings.get(ADDRESS_SETTING)
    return running, None if not running or address is None else bytes(address).decode()


def _overview_now(conn: sqlite3.Connection) -> Overview:
    running, address = _running_now(conn)
    return Overview(_partners_now(conn), _names_now(conn), _statuses_now(conn), running, address)
