"""Who is refused when it dials straight back after we ended its session
(protocol/rules/sessions.py): table tests, a hostile school with a valid key among
them. The real-node side is tests/hostile/test_redial.py."""

from __future__ import annotations

import pytest

from protocol.rules.sessions import STRUCK_OUT, refused_after

CASES = [
    # A rogue past a limit of a session: refused, whatever strikes it had too.
    ("too-many-forks", set(), True),
    ("too-many-clocks", {"bad-frame"}, True),
    ("too-many-forks", {"future-timestamp"}, True),
    # A rogue struck out by what it sent itself: refused.
    (STRUCK_OUT, {"bad-signature"}, True),
    (STRUCK_OUT, {"bad-frame", "gap", "wrong-prev"}, True),
    # An honest relay struck out with a third school's entries stamped just past our
    # clock, or of a version we do not know: not refused (the rogue mixing one in gains
    # nothing: it may end its session itself at any time).
    (STRUCK_OUT, {"future-timestamp"}, False),
    (STRUCK_OUT, {"bad-signature", "unsupported-version"}, False),
    # Ended for anything else (a full disk, the peer's own close): never refused.
    ("storage-full", {"bad-frame"}, False),
    ("storage-damaged", set(), False),
]


@pytest.mark.parametrize(("ended", "strikes", "refused"), CASES)
def test_who_is_refused_when_it_dials_straight_back(
    ended: str, strikes: set[str], refused: bool
) -> None:
    assert refused_after(ended, strikes) is refused
