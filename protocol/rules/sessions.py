"""Whether a peer whose session this node ended may dial straight back in.

A node ends a session for what its peer did: it went past a limit of a session
(``too-many-clocks``, ``too-many-forks``: protocol/replication.py) or sent too many
messages that were refused (strikes). Dialling back at once, the peer would get a
session with fresh bounds (some 270 MB of evidence each), so its dials are refused
for a while (``too-soon``; how long is the node's: node/net/backoff.py).

Not when a strike that helped end the session depends on the receiver as much as on
the peer (:data:`RECEIVER_STRIKES`): an honest node passes on another school's entry
stamped a few seconds past our clock's skew window, or of a version we do not know yet,
so a third school could otherwise have an honest relay refused. A rogue gains nothing
by mixing such strikes in: it may end a session itself and dial again at any time.
docs/decisions.md, "Bounds of a hostile peer across sessions".
"""

from __future__ import annotations

from collections.abc import Collection

#: Why a session ended when its peer sent too many messages that were refused.
STRUCK_OUT = "too many refused messages"
#: The limits of a session whose breach ends it (protocol/replication.py).
LIMITS = frozenset({"too-many-clocks", "too-many-forks"})
#: Strikes that depend on the receiver (its clock, the versions it knows) as much as on
#: the peer.
RECEIVER_STRIKES = frozenset({"future-timestamp", "unsupported-version"})


def refused_after(ended: str, strikes: Collection[str]) -> bool:
    """Whether a peer whose session this node ended for ``ended`` (a code of
    :data:`LIMITS`, or :data:`STRUCK_OUT`), with the codes of the strikes counted in it
    (``strikes``), is refused when it dials straight back."""
    if ended in LIMITS:
        return True
    if ended == STRUCK_OUT:
        return not any(code in RECEIVER_STRIKES for code in strikes)
    return False
