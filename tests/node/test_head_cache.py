"""The head cache (node/net/heads.py) after a log is cut back or erased, between real
nodes on loopback: the next session start advertises only the heads held (issue 23
review, item 3: a fork at seq 1 recovered, a school blocked)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bench.live import hold, school_key, schools_offers
from node.clock import now_ms
from node.net.session import PeerSession
from node.store.placement import Outcome
from protocol import kinds
from protocol.entry import Entry, create_entry
from tests.helpers import offer_content
from tests.network import EVERYTHING, LiveNode, partner, wait_for

Factory = Callable[..., Any]
HELD = 40  # heads each node holds: enough to reconcile rather than send full clocks
FORKER = school_key(1000)


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[Factory]:
    started: list[LiveNode] = []

    async def make(name: str) -> LiveNode:
        live = await LiveNode.start(tmp_path / f"{name}-{len(started)}", name, holding=EVERYTHING)
        started.append(live)
        return live

    yield make
    for live in reversed(started):
        await live.stop()


def session(live: LiveNode) -> PeerSession:
    (only,) = live.service.peers.sessions.values()
    return only


async def cached_authors(live: LiveNode) -> set[bytes]:
    snapshot = await live.service.peers.heads.snapshot()
    return {bytes(h.author) for h in snapshot.by_item.values()}


def entry(seq: int, prev: Entry | None, title: str, **kw: Any) -> Entry:
    return create_entry(
        FORKER,
        seq=seq,
        prev=None if prev is None else prev.id,
        timestamp=now_ms() - 60_000 + seq,
        kind=kw.get("kind", kinds.OFFER),
        content=kw.get("content", offer_content(title)),
    )


async def test_a_fork_at_seq_1_recovered_is_not_advertised_and_the_kept_branch_comes(
    make_node: Factory,
) -> None:
    """A holds a school's branch that the school drops from seq 1 on; B holds the kept
    one. After the continuation A holds nothing of the school, and its next session
    start says so: B sends the kept branch from seq 1."""
    first = entry(1, None, "On the dropped branch")
    dropped = [first, entry(2, first, "Also dropped")]
    kept = entry(1, None, "On the kept branch")
    continuation = entry(
        3, kept, "", kind=kinds.CONTINUE, content={"fork": 1, "keep": bytes(kept.id)}
    )
    a, b = await make_node("Oakfield Primary"), await make_node("Lycée Jean Moulin")
    schools = schools_offers(HELD)
    await hold(a.node, schools)
    await hold(b.node, schools)
    assert {r.outcome for r in await a.node.store.ingest(dropped, now_ms())} == {Outcome.STORED}
    assert bytes(FORKER.node_id) in await cached_authors(a)  # the cache is loaded
    [result] = await a.node.store.ingest([continuation], now_ms())
    assert result.outcome is Outcome.REFUSED  # fork-dropped: its whole log is gone here
    assert not (await a.node.store.heads_of([FORKER.node_id]))[FORKER.node_id]
    assert bytes(FORKER.node_id) not in await cached_authors(a)
    stored = await b.node.store.ingest([kept, continuation], now_ms())
    assert {r.outcome for r in stored} == {Outcome.STORED}

    await partner(a, b)

    async def recovered() -> bool:
        return bool(await a.holds(kept.id) and await a.holds(continuation.id))

    await wait_for(recovered, within=30, what="the kept branch at A")
    s = session(a)
    assert s.start is not None
    assert s.start.done
    assert bytes(FORKER.node_id) not in {bytes(h.author) for h in s.start.heads.by_item.values()}


async def test_a_blocked_school_is_not_advertised_at_the_next_session_start(
    make_node: Factory,
) -> None:
    """A blocks a school both held: its head leaves A's cache at once, so B's start
    sees that A lacks it (and A refuses its entries, as blocked)."""
    a, b = await make_node("Oakfield Primary"), await make_node("Lycée Jean Moulin")
    schools = schools_offers(HELD)
    await hold(a.node, schools)
    await hold(b.node, schools)
    blocked = schools[5].author
    assert bytes(blocked) in await cached_authors(a)  # the cache is loaded
    await a.node.peerbook.block(blocked, a.node.node_id, now_ms())
    assert bytes(blocked) not in await cached_authors(a)

    await partner(a, b)

    async def started() -> bool:
        sessions = [live.service.peers.sessions for live in (a, b)]
        return all(len(s) == 1 for s in sessions) and all(
            (st := session(live).start) is not None and st.done for live in (a, b)
        )

    await wait_for(started, within=30, what="both session starts")
    b_side = session(b).start
    assert b_side is not None
    assert bytes(blocked) in {bytes(h.author) for h in b_side.differing()}
    assert not await a.holds(schools[5].id)
