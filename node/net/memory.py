"""Peer sessions joined in memory: the transport twin of a WebSocket, without a socket.

:func:`memory_pair` makes two joined :class:`MemoryTransport` ends (as trio's memory
stream pairs, or httpx's ``MockTransport`` beside its real transports): what one end
sends, the other receives, in order, whole messages, as over ``GET /peer``. A
:class:`Switchboard` joins running nodes by their addresses: a dial to an address it
knows reaches that node's :meth:`node.net.peers.PeerManager.answer`, the same handshake,
authorisation and session as a WebSocket gets, with no port and no HTTP.

The program never uses it: tests do, where sessions between nodes are needed but the
socket is not the point (tests/network.py). The end-to-end tests (pages in a browser,
commands in processes, rogue peers on raw WebSockets) keep real sockets.

What it keeps from a WebSocket, so that a test cannot pass here and fail there: a
message as large as the WebSocket's limit ends the connection at the receiving end (as
aiohttp's ``max_msg_size``, which refuses the limit itself), a send on a closed
connection raises ConnectionResetError, and a close is seen by the other end as the end
of its messages.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import weakref
from typing import TYPE_CHECKING

from node.net.logs import PeerLog

if TYPE_CHECKING:
    from node.net.peers import PeerManager

log = logging.getLogger(__name__)


class MemoryTransport:
    """One end of a :func:`memory_pair`."""

    def __init__(self, max_message: int, logs: PeerLog | None = None) -> None:
        self.max_message = max_message
        self.logs = logs or PeerLog(log)
        self.peer: object = "a peer"  # who is at the other end, for the log
        #: The features both ends announced in the handshake.
        self.shared: frozenset[str] = frozenset()
        self.other: MemoryTransport | None = None
        self._inbox: collections.deque[bytes] = collections.deque()
        self._arrived = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, data: bytes) -> None:
        other = self.other
        if self._closed or other is None or other._closed:
            raise ConnectionResetError("the connection is closed")
        other._inbox.append(bytes(data))
        other._arrived.set()
        await asyncio.sleep(0)  # a send is a point where others run, as a socket write is

    async def receive(self) -> bytes | None:
        """The next message, or None once the connection is closed (by either end)."""
        while not self._inbox:
            if self._closed:
                return None
            self._arrived.clear()
            await self._arrived.wait()
        data = self._inbox.popleft()
        if len(data) >= self.max_message:  # as aiohttp: the limit itself is too large
            self.logs.warning(
                self.peer,
                "connection error with %s: a message of %d bytes exceeds the limit of %d",
                self.peer,
                len(data),
                self.max_message,
            )
            await self.close()
            return None
        return data

    async def close(self) -> None:
        """Close both ends: each receives what was sent before, then None."""
        for end in (self, self.other):
            if end is not None and not end._closed:
                end._closed = True
                end._arrived.set()


def memory_pair(max_message: int) -> tuple[MemoryTransport, MemoryTransport]:
    """Two joined ends: what one sends, the other receives."""
    a, b = MemoryTransport(max_message), MemoryTransport(max_message)
    a.other, b.other = b, a
    return a, b


class Switchboard:
    """Running nodes joined in memory by address (see the module docstring).

    A node joined dials through the switchboard (``PeerManager.connect``): an address
    of a node joined and running is reached in memory; any other address (a node that
    was restarted since, a ``schoolmesh run`` process) by a WebSocket, as always.
    """

    def __init__(self) -> None:
        # Weak: a node stopped and dropped by its test leaves the switchboard with it.
        self._nodes: weakref.WeakValueDictionary[str, PeerManager] = weakref.WeakValueDictionary()

    def join(self, peers: PeerManager, address: str | None) -> None:
        """Dial through the switchboard, and be reached at ``address`` (if any) by
        nodes that do too."""
        peers.connect = self.connect
        if address is not None:
            self._nodes[address] = peers

    async def connect(self, address: str) -> MemoryTransport | None:
        """The dialler's end of a connection to the node at ``address``, or None when
        no running node joined here is there (then the dialler opens a WebSocket)."""
        peers = self._nodes.get(address)
        if peers is None or peers.stopping:
            return None
        near, far = memory_pair(peers.max_message)
        far.logs = peers.logs
        peers.answer_later(far, "memory")
        return near
