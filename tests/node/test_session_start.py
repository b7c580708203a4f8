"""Session start by reconciliation of heads, between real nodes on loopback
(docs/protocol.md, "Session start"; issue 23, items 3 and 7)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bench.live import hold, school_key, schools_offers
from node.clock import now_ms
from node.net.peers import FEATURES
from node.net.session import PeerSession
from protocol import frames
from protocol.entry import Entry, create_entry
from tests.helpers import offer_content
from tests.network import EVERYTHING, LiveNode, partner, wait_for

Factory = Callable[..., Any]
AUTHORS = 10_000


@functools.cache
def shared_schools() -> tuple[Entry, ...]:
    """10,000 schools' first offers (signing them takes a few seconds: once per run)."""
    return tuple(schools_offers(AUTHORS + 3))


def second_offer(first: Entry, n: int) -> Entry:
    """The next offer of school ``n``, whose first is ``first`` (bench.live.schools_offers)."""
    return create_entry(
        school_key(n),
        seq=2,
        prev=first.id,
        timestamp=first.payload.timestamp + 1000,
        kind="offer",
        content=offer_content("A second open day"),
    )


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[Factory]:
    started: list[LiveNode] = []

    async def make(name: str, **kw: Any) -> LiveNode:
        kw.setdefault("holding", EVERYTHING)  # the session's start, not what a node holds
        live = await LiveNode.start(tmp_path / f"{name}-{len(started)}", name, **kw)
        started.append(live)
        return live

    yield make
    for live in reversed(started):
        await live.stop()


def session(live: LiveNode) -> PeerSession:
    (only,) = live.service.peers.sessions.values()
    return only


async def level(a: LiveNode, b: LiveNode, entries: list[Entry]) -> None:
    """Wait until both hold ``entries`` and each other's profile, with nothing in flight."""

    async def done() -> bool:
        for live in (a, b):
            if len(live.service.peers.sessions) != 1:
                return False
            for entry in entries:
                if not await live.holds(entry.id):
                    return False
        ids = [await a.profile_id(), await b.profile_id()]
        held = all([await live.holds(i) for live in (a, b) for i in ids])
        sides = (session(a), session(b))
        return held and all(s.opened and s.sync.idle for s in sides)

    await wait_for(done, within=60, what="both nodes level")


async def test_ten_thousand_authors_and_three_differences_cost_a_few_kilobytes(
    make_node: Factory,
) -> None:
    """Both hold the same 10,000 schools' heads; the dialler holds a newer offer of one
    and one school the other lacks, the listener a school the dialler lacks (and each
    its own profile). The session start sends bytes for those five, not for 10,000."""
    schools = list(shared_schools())
    common, only_a, only_b = schools[:AUTHORS], schools[AUTHORS], schools[AUTHORS + 1]
    newer = second_offer(common[17], 17)
    a, b = await make_node("Oakfield Primary"), await make_node("Lycée Jean Moulin")
    await hold(a.node, [*common, only_a])
    await hold(b.node, [*common, only_b])
    await a.node.store.ingest([newer], now_ms())
    await partner(a, b)
    await level(a, b, [newer, only_a, only_b])

    for live in (a, b):
        s = session(live)
        assert frames.RECONCILE in s.features
        assert s.start is not None
        assert s.start.id_bytes == 16  # both announce short-ids
        assert s.start.done
        assert not s.start.failed
        # Three schools' heads and the two profiles differ; 10,001 are level.
        assert len(s.start.differing()) in (2, 3)
        assert s.start_bytes is not None
    a_side, b_side = session(a), session(b)
    assert a_side.received + b_side.received == 5  # the three offers and two profiles
    everything = a_side.bytes_sent + b_side.bytes_sent
    start = (a_side.start_bytes or 0) + (b_side.start_bytes or 0)
    # A full clock of 10,000 authors is about 720,000 bytes each way (bench/clock_size.py).
    assert start < 20_000, start
    assert everything < 20_000, everything
    assert a_side.bytes_received == b_side.bytes_sent


async def test_a_node_without_the_feature_still_syncs_by_the_full_clock(
    make_node: Factory,
) -> None:
    """An "old" node (no features announced) and a new one: full clocks, as today."""
    old, new = await make_node("Oakfield Primary"), await make_node("Colegio San Marcos")
    old.service.peers.features = frozenset()
    schools = list(shared_schools())[:50]
    await hold(old.node, schools[:30])
    await hold(new.node, schools[20:])
    from_new = await new.node.offers.post("offer", offer_content("Posted at the new node"))
    from_old = await old.node.offers.post("offer", offer_content("Posted at the old node"))
    await partner(old, new)
    await level(old, new, [*schools, from_new, from_old])
    for live in (old, new):
        s = session(live)
        assert s.features == frozenset()
        assert s.start is None
    # Each sent its whole clock: at least one pair per school it held.
    assert (session(old).start_bytes or 0) > 30 * 70
    assert (session(new).start_bytes or 0) > 30 * 70


async def test_a_node_without_short_ids_reconciles_with_whole_ids(make_node: Factory) -> None:
    """A node that reconciles but predates ``short-ids`` and a new one: the heads are
    reconciled with whole 32-byte ids, as before, and the two level."""
    old, new = await make_node("Oakfield Primary"), await make_node("Colegio San Marcos")
    old.service.peers.features = FEATURES - {frames.SHORT_IDS}
    schools = list(shared_schools())[:120]
    await hold(old.node, schools[:100])
    await hold(new.node, schools[40:])
    await partner(old, new)
    await level(old, new, schools)
    for live in (old, new):
        s = session(live)
        assert frames.RECONCILE in s.features
        assert frames.SHORT_IDS not in s.features
        assert s.start is not None
        assert s.start.id_bytes == 32
        assert s.start.done
        assert not s.start.failed
        assert s.last_error is None


async def test_a_change_while_connected_and_a_new_session_afterwards(
    make_node: Factory,
) -> None:
    """Heads that move (an offer posted, entries relayed) are in the next session's
    start: the cache is updated on commit, and a reconnection finds nothing to send."""
    a, b = await make_node("Oakfield Primary"), await make_node("Lycée Jean Moulin")
    schools = list(shared_schools())[:40]  # enough heads to reconcile (32 or more)
    await hold(a.node, schools)
    await hold(b.node, schools)
    await partner(a, b)
    await level(a, b, [])
    posted = await a.node.offers.post("offer", offer_content("Posted while connected"))
    await level(a, b, [posted])
    await b.stop()
    await b.restart()
    await level(a, b, [posted])
    for live in (a, b):
        s = session(live)
        assert s.start is not None
        assert s.start.done
        assert s.start.differing() == []  # everything was level
    assert session(a).sent == 0
    assert session(b).sent == 0
    assert b.service.peers.heads.reads >= 1


async def test_nodes_with_few_heads_send_full_clocks_and_sync(make_node: Factory) -> None:
    """Fewer than 32 heads: the dialler sends its full clock instead of reconciling and
    the listener answers with its own (docs/protocol.md, "Session start"), no strike."""
    a, b = await make_node("Oakfield Primary"), await make_node("Lycée Jean Moulin")
    posted = await a.node.offers.post("offer", offer_content("Posted before the session"))
    await partner(a, b)
    await level(a, b, [posted])
    gave_up = []
    for live in (a, b):
        s = session(live)
        assert s.start is not None
        assert not s.start.done
        assert s.start.gave_up or s.start.failed  # the dialler gave up; the listener followed
        assert s.last_error is None
        assert (s.start_bytes or 0) > 0
        gave_up.append(s.start.gave_up)
    assert sorted(gave_up) == [False, True]
