"""Relaying entries held loose (docs/scale.md, Decision 1; docs/protocol.md, "Loose
entries").

An entry stored loose is not part of any log this node holds, so the ordinary relay
(a log from each peer's view of it on: protocol/replication.py) never sends it. It is
sent on instead, alone, to every other peer that announced the ``loose`` feature (a
peer without it would refuse an entry that does not extend a log it holds): each in
an ``entries`` batch of its own, numbered like others but outside the window, whose
ack moves nothing (as a fork's evidence: ``Replication.evidence``). A peer that holds
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


def takers(sessions: Iterable[PeerSession], source: PeerSession | None) -> list[PeerSession]:
    """The sessions a loose entry stored from ``source`` goes on to."""
    return [
        session
        for session in sessions
        if session is not source and frames.LOOSE in session.features and not session.closing
    ]


async def send_alone(session: PeerSession, entries: list[Entry]) -> None:
    """Send ``entries`` to ``session``'s peer, each alone (see the module docstring)."""
    for entry in entries:
        if session.closing:
            return
        await session.send(session.sync.evidence(entry.encode()))
