"""Relaying entries held loose (docs/scale.md, Decision 1; docs/protocol.md, "Loose
entries").

An entry stored loose is not part of any log this node holds, so the ordinary relay
(a log from each peer's view of it on: protocol/replication.py) never sends it. It is
sent on instead, alone, to every other peer that announced the ``loose`` feature (a
peer without it would refuse an entry that does not extend a log it holds): in
``entries`` batches of their own, numbered like others but outside the window, whose
acks move nothing (as a fork's evidence: ``Replication.alone``). A peer that holds
it already answers with a duplicate and relays nothing, so it spreads once, as far as
nodes keep it: every school's newest profile network-wide, an offer among the
schools subscribed to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from protocol import frames
from protocol.entry import Entry

if TYPE_CHECKING:
    from node.net.session import PeerSession

#: Bytes of entries in one batch sent alone: well under a frame's limit.
BATCH_BYTES = frames.MAX_FRAME_BYTES // 2


def takers(sessions: Iterable[PeerSession], source: PeerSession | None) -> list[PeerSession]:
    """The sessions a loose entry stored from ``source`` goes on to."""
    return [
        session
        for session in sessions
        if session is not source and frames.LOOSE in session.features and not session.closing
    ]


async def send_alone(session: PeerSession, entries: list[Entry]) -> None:
    """Send ``entries`` to ``session``'s peer, alone (see the module docstring): in
    batches of at most 256, each author's in ascending order, within a frame's bytes."""
    ordered = sorted(entries, key=lambda e: (bytes(e.author), e.seq))
    wires: list[bytes] = []
    size = 0
    for entry in ordered:
        wire = entry.encode()
        if wires and (len(wires) >= frames.MAX_BATCH_ENTRIES or size + len(wire) > BATCH_BYTES):
            await _send(session, wires)
            wires, size = [], 0
        wires.append(wire)
        size += len(wire)
    if wires:
        await _send(session, wires)


async def _send(session: PeerSession, wires: list[bytes]) -> None:
    if not session.closing:
        await session.send(session.sync.alone(wires))
