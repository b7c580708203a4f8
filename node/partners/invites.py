"""Becoming partners: making an invite code, and redeeming another school's.

The network is not imported here: redeeming a code is handed the way to connect
(``node.net.peers.invited``) by its caller.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from node.clock import now_ms
from node.partners.peerbook import PeerBook
from protocol.errors import HandshakeError, PageMessage, UserInputError, said
from protocol.invite import Invite, parse_invite
from protocol.keys import NodeId, NodeKey

#: ``connect(key, address, expected, own_address, invite)``: a connection to another
#: school's node opened with its invite code, both sides proven, open while the block
#: runs; raises HandshakeError if refused, UnreachableError if it cannot be reached.
Connect = Callable[[NodeKey, str, NodeId, str | None, bytes], AbstractAsyncContextManager[None]]


class Invites:
    """Invite codes: making this school's, redeeming another school's; ``node.invites``."""

    def __init__(self, key: NodeKey, book: PeerBook) -> None:
        self.key = key
        self.book = book

    async def create(self, *, expires_in_ms: int, address: str | None) -> tuple[str, int]:
        """A new single-use invite code and its expiry (ms since 1970)."""
        address = address or await self.book.running_address()
        if address is None:
            raise UserInputError(
                "this node is not listening, so another school could not dial it: start it "
                "with `schoolmesh run` (without --no-listen), or give the address others can "
                "reach with --address; an outbound-only school can still join others with "
                "`partner add`",
                page=said(
                    "Other schools cannot reach this node, so an invite code from it would not "
                    "work. Ask your IT staff to give it an address other schools can reach. "
                    "Meanwhile you can still accept another school's code."
                ),
            )
        expires = now_ms() + expires_in_ms
        code = await self.book.create_invite(self.key, address, expires, now_ms())
        return code, expires

    async def redeem(self, code: str, connect: Connect) -> Invite:
        """Redeem another school's invite: connect, prove both identities, record both
        sides."""
        invite, raw = parse_invite(code, now_ms=now_ms())
        if invite.node == self.key.node_id:
            raise UserInputError(
                "that is this school's own invite code: give it to the other school",
                page=said(
                    "That is this school's own invite code: send it to the other school instead."
                ),
            )
        own_address = await self.book.running_address()
        try:
            async with connect(self.key, invite.address, invite.node, own_address, raw):
                # Recorded before the connection closes: the other school dials us as soon
                # as it has closed its side, and must find itself among our partners.
                await self.book.add(invite.node, invite.address, now_ms())
        except HandshakeError as exc:
            raise UserInputError(str(exc), page=_refusal(exc)) from exc
        return invite


def _refusal(exc: HandshakeError) -> PageMessage:
    """Why the other school's node refused an invite code, in a page's words."""
    if exc.code == "blocked":
        return said("The other school has blocked this school's node, so it cannot partner.")
    return said(
        "The other school's node did not accept this code: it may have been used already, "
        "or have expired. Ask them for a new one."
    )
