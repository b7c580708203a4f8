"""A school with a valid key misusing the relaying of searches (node/net/search.py;
docs/security.md, "Search beyond the node's view"): it drops its connection while an
honest partner answers its query, stops reading, answers with offers their authors
withdrew, sends ever newer profiles to get an honest relay struck, claims a hub that
covers everything, or claims to have asked more nodes than it was given.

The sessions here are stand-ins that record (or refuse, or never finish) what is sent to
them: what is tested is what :class:`NetworkSearch` does with a real node's store."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net import search as network
from node.net.search import ANSWERS_PER_RESULT, NetworkSearch, _Asked
from node.node import Node
from protocol import frames, kinds
from protocol import search as rules
from protocol.entry import Entry, create_entry
from protocol.errors import StorageError
from protocol.keys import NodeId, NodeKey
from tests.helpers import key


class Stand:
    """A session stand-in: records what is sent; ``fail`` raises as a dropped
    connection does; ``stuck`` never finishes a send (a peer that stopped reading)."""

    def __init__(self, peer: NodeId, *, fail: bool = False, stuck: bool = False) -> None:
        self.peer = peer
        self.closing = False
        self.opened = True
        self.features = {frames.SEARCH}
        self.sent: list[Any] = []
        self.fail = fail
        self.stuck = stuck
        self.arrived = asyncio.Event()

    async def send(self, frame: Any) -> None:
        if self.fail:
            raise ConnectionResetError("Cannot write to closing transport")
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(frame)
        self.arrived.set()

    async def got(self, count: int = 1) -> None:
        while len(self.sent) < count:
            self.arrived.clear()
            await self.arrived.wait()

    async def final(self) -> None:
        while not any(getattr(f, "final", False) for f in self.sent):
            self.arrived.clear()
            await self.arrived.wait()


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = await Node.create(tmp_path / "r", name="R", country="FR")
    try:
        yield n
    finally:
        await n.close()


def searcher(node: Node, sessions: dict[NodeId, Any]) -> NetworkSearch:
    return NetworkSearch(
        node.key, node.store, node.peerbook, lambda: sessions, ThreadPoolExecutor(1)
    )


def signed_query(asker: NodeKey, limit: int, *, budget: int = 4, hops: int = 1) -> frames.Query:
    qid, t = os.urandom(16), now_ms()
    sig = asker.sign(rules.signed_bytes(qid, bytes(asker.node_id), t, {}, "phonics", limit))
    return frames.Query(qid, bytes(asker.node_id), t, {}, "phonics", limit, budget, hops, sig)


def offer_of(author: NodeKey, seq: int = 1, prev: Any = None, title: str = "Phonics") -> Entry:
    return create_entry(
        author, seq=seq, prev=prev, timestamp=now_ms(), kind=kinds.OFFER,
        content={"activity": "observation", "title": f"{title} lessons"},
    )  # fmt: skip


def sent_entries(stand: Stand) -> int:
    return sum(len(f.entries) for f in stand.sent if isinstance(f, frames.Answers))


async def test_an_asker_that_dropped_its_connection_does_not_end_the_answering_session(
    node: Node,
) -> None:
    asker, honest = key(7), key(8)
    query = signed_query(asker, 5)
    dead, p = Stand(asker.node_id, fail=True), Stand(honest.node_id)
    ns = searcher(node, {})
    ns._asked[query.id] = _Asked(query, {honest.node_id}, dead, asked=1)  # type: ignore[arg-type]
    # The honest peer's answer, taken in its receive loop: no ConnectionError escapes.
    problems = await ns.handle(p, frames.Answers(query.id, [offer_of(key(9)).encode()]))  # type: ignore[arg-type]
    assert problems == []
    problems = await ns.handle(p, frames.Answers(query.id, [], final=True, asked=1))  # type: ignore[arg-type]
    assert problems == []


async def test_an_asker_that_stopped_reading_does_not_stall_the_answering_session(
    node: Node,
) -> None:
    asker, honest = key(7), key(8)
    query = signed_query(asker, 5)
    stuck, p = Stand(asker.node_id, stuck=True), Stand(honest.node_id)
    ns = searcher(node, {})
    ns._asked[query.id] = _Asked(query, {honest.node_id}, stuck, asked=1)  # type: ignore[arg-type]
    frame = frames.Answers(query.id, [offer_of(key(9)).encode()])
    # Never finishing would hang here: the bound only turns a hang into a failure.
    await asyncio.wait_for(ns.handle(p, frame), 30)  # type: ignore[arg-type]
    # What cannot be sent is dropped once the asker's outbox is full, never waited for.
    for _ in range(3 * network.OUTBOX_FRAMES):
        network_frame = frames.Answers(query.id, [], final=False)
        ns._post(stuck, network_frame)  # type: ignore[arg-type]
    assert ns._outbox_size(stuck) <= network.OUTBOX_FRAMES  # type: ignore[arg-type]


async def test_offers_withdrawn_by_their_author_are_not_kept_from_answers(node: Node) -> None:
    author, partner = key(9), key(8)
    t = now_ms() - 10_000
    profile = create_entry(
        author, seq=1, prev=None, timestamp=t, kind=kinds.PROFILE,
        content={"name": "A", "country": "FR"},
    )  # fmt: skip
    x = offer_of(author, 2, profile.id)
    withdrawal = create_entry(
        author, seq=3, prev=x.id, timestamp=t + 2, kind=kinds.WITHDRAW,
        content={"target": bytes(x.id)},
    )  # fmt: skip
    await node.store.insert_signed([profile, x, withdrawal], now_ms())
    p = Stand(partner.node_id)
    ns = searcher(node, {partner.node_id: p})
    task = asyncio.create_task(ns.ask({}, "phonics", 10, wait=30))
    await p.got()
    qid = p.sent[0].id
    await ns.handle(p, frames.Answers(qid, [x.encode()], final=True, asked=1))  # type: ignore[arg-type]
    outcome = await task
    assert outcome.found == []
    held = await node.store.read(
        lambda c: c.execute(
            "SELECT count(*) FROM loose_results WHERE id = ?", (bytes(x.id),)
        ).fetchone()[0]
    )
    assert held == 0


async def test_a_withdrawal_that_arrives_later_erases_the_loose_result(node: Node) -> None:
    author, partner = key(9), key(8)
    x = offer_of(author)
    p = Stand(partner.node_id)
    ns = searcher(node, {partner.node_id: p})
    task = asyncio.create_task(ns.ask({}, "phonics", 10, wait=30))
    await p.got()
    qid = p.sent[0].id
    await ns.handle(p, frames.Answers(qid, [x.encode()], final=True, asked=1))  # type: ignore[arg-type]
    assert [f.entry.id for f in (await task).found] == [x.id]
    withdrawal = create_entry(
        author, seq=2, prev=x.id, timestamp=now_ms(), kind=kinds.WITHDRAW,
        content={"target": bytes(x.id)},
    )  # fmt: skip
    await node.store.insert_signed([x, withdrawal], now_ms())
    kept = await network.loose(node.store, qid)
    assert kept is not None
    assert kept.found == []


async def test_a_relay_sends_no_more_than_the_asker_takes(node: Node) -> None:
    """Ever newer profiles from a hostile peer must not get the honest relay struck."""
    await node.offers.post("offer", {"activity": "observation", "title": "Phonics lessons at R"})
    asker, hostile = key(7), key(8)
    src, p = Stand(asker.node_id), Stand(hostile.node_id)
    ns = searcher(node, {hostile.node_id: p, asker.node_id: src})
    query = signed_query(asker, 1, budget=8, hops=2)
    assert await ns.handle(src, query) == []  # type: ignore[arg-type]
    await p.got()
    offer = offer_of(hostile)
    prev, sent = offer.id, [offer]
    for seq in (2, 3, 4):
        profile = create_entry(
            hostile, seq=seq, prev=prev, timestamp=now_ms(), kind=kinds.PROFILE,
            content={"name": f"P{seq}", "country": "FR"},
        )  # fmt: skip
        prev = profile.id
        sent.append(profile)
    for entry in sent:
        await ns.handle(p, frames.Answers(query.id, [entry.encode()]))  # type: ignore[arg-type]
    await ns.handle(p, frames.Answers(query.id, [], final=True, asked=1))  # type: ignore[arg-type]
    await src.final()
    assert sent_entries(src) <= ANSWERS_PER_RESULT * query.limit


async def test_a_peer_cannot_claim_more_nodes_asked_than_it_was_given(node: Node) -> None:
    partner = key(8)
    p = Stand(partner.node_id)
    ns = searcher(node, {partner.node_id: p})
    task = asyncio.create_task(ns.ask({}, "phonics", 10, wait=30))
    await p.got()
    given = p.sent[0].budget
    await ns.handle(p, frames.Answers(p.sent[0].id, [], final=True, asked=10**6))  # type: ignore[arg-type]
    assert (await task).asked <= given


async def test_a_query_from_a_school_we_blocked_is_neither_answered_nor_forwarded(
    node: Node,
) -> None:
    await node.offers.post("offer", {"activity": "observation", "title": "Phonics lessons at R"})
    blocked, partner, other = key(7), key(8), key(9)
    await node.peerbook.block(blocked.node_id, node.node_id, now_ms())
    src, q = Stand(partner.node_id), Stand(other.node_id)
    ns = searcher(node, {partner.node_id: src, other.node_id: q})
    query = signed_query(blocked, 5, budget=8, hops=2)
    assert await ns.handle(src, query) == []  # type: ignore[arg-type]
    await src.final()
    assert sent_entries(src) == 0
    assert q.sent == []


async def test_a_queued_search_that_fails_says_why(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = searcher(node, {})
    qid = await network.queue(node.store, {}, "phonics", 10)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise StorageError("the database of this node needs repair")

    monkeypatch.setattr(ns, "ask", broken)
    await ns.run_queued()
    await asyncio.gather(*ns._tasks)
    with pytest.raises(ValueError, match="needs repair"):
        await network.loose(node.store, qid)
    await ns.run_queued()
    assert ns._queued == set()  # finished: forgotten
