"""Partners, invites and peer status: who this school works with, in its database."""

from __future__ import annotations

import os
from dataclasses import dataclass

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
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO invites (token, expires, created_at) VALUES (?, ?, ?)",
                (invite.token, expires, now_ms),
            )
        return invite.sign(key)

    async def redeem_invite(self, token: bytes, by: NodeId, now_ms: int) -> bool:
        """Mark an invite used by ``by``; False if unknown, expired or used already."""
        async with self.store.write():
            changed = await self.store.execute(
                "UPDATE invites SET redeemed_by = ?, redeemed_at = ? "
                "WHERE token = ? AND redeemed_by IS NULL AND expires >= ?",
                (bytes(by), now_ms, token, now_ms),
            )
        return changed == 1

    async def add(self, node_id: NodeId, address: str | None, now_ms: int) -> None:
        """Record a partner (or refresh its address); a blocked node stays blocked."""
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO partners (node_id, address, state, added_at) "
                "VALUES (?, ?, 'partner', ?) ON CONFLICT (node_id) DO UPDATE SET "
                "address = COALESCE(excluded.address, partners.address)",
                (bytes(node_id), address, now_ms),
            )

    async def get(self, node_id: NodeId) -> Partner | None:
        row = await self.store.fetch_one(
            "SELECT node_id, address, state, added_at FROM partners WHERE node_id = ?",
            (bytes(node_id),),
        )
        return None if row is None else Partner(NodeId(row[0]), row[1], row[2], int(row[3]))

    async def list(self) -> list[Partner]:
        rows = await self.store.fetch_all(
            "SELECT node_id, address, state, added_at FROM partners ORDER BY added_at"
        )
        return [Partner(NodeId(r[0]), r[1], r[2], int(r[3])) for r in rows]

    async def names(self) -> dict[NodeId, tuple[str, str]]:
        """Name and country of every partner and blocked node ('' until its profile arrives)."""
        known = await self.store.schools([p.node_id for p in await self.list()])
        return {p.node_id: known.get(p.node_id, ("", "")) for p in await self.list()}

    async def remove(self, node_id: NodeId) -> None:
        async with self.store.write():
            if not await self.store.execute(
                "DELETE FROM partners WHERE node_id = ? AND state = 'partner'", (bytes(node_id),)
            ):
                raise NotFoundError(
                    f"{node_id} is not a partner: see `schoolmesh partner list`",
                    page=said("There is no such partner school."),
                )
            await self.store.execute("DELETE FROM peer_status WHERE node_id = ?", (bytes(node_id),))

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
            for forget in self.store.forgetters:
                await forget(node_id, now_ms)
        await self.store.checkpoint()  # no copy of what was erased stays in the log file

    async def set_status(
        self, node_id: NodeId, *, connected: bool, behind: int, error: str | None, now_ms: int
    ) -> None:
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO peer_status (node_id, connected, last_seen, behind, last_error, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET "
                "connected = excluded.connected, "
                "last_seen = COALESCE(excluded.last_seen, peer_status.last_seen), "
                "behind = excluded.behind, last_error = excluded.last_error, "
                "updated_at = excluded.updated_at",
                (
                    bytes(node_id),
                    int(connected),
                    now_ms if connected else None,
                    behind,
                    error,
                    now_ms,
                ),
            )

    async def statuses(self) -> dict[NodeId, PeerStatus]:
        rows = await self.store.fetch_all(
            "SELECT node_id, connected, last_seen, behind, last_error FROM peer_status"
        )
        return {
            NodeId(r[0]): PeerStatus(NodeId(r[0]), bool(r[1]), r[2], int(r[3]), r[4]) for r in rows
        }
