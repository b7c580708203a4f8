"""A partner gone rogue in searches beyond the node's view (docs/protocol.md, "Search
beyond the node's view"): with a valid key and the ``search`` feature it floods queries,
sends them over the limits, replays them, forges them, and answers the target's own
queries with forged entries or entries that do not match. The target refuses each with a
documented code (a strike), answers a flood with a strike-free ``busy``, and keeps no
answer it refused."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp

from node.clock import now_ms
from protocol import frames
from protocol import search as rules
from protocol.entry import create_entry
from protocol.handshake import DiallerHandshake
from protocol.keys import NodeKey
from tests.helpers import key
from tests.network import LiveNode, wait_for
from tests.rogue import ROGUE, Socket, next_frame

OFFER = {"activity": "observation", "title": "Phonics lessons open to visitors", "country": "FR"}


async def connect_searching(client: aiohttp.ClientSession, live: LiveNode) -> Socket:
    """Dial ``live`` as the rogue, announcing ``search``, and say we hold nothing."""
    assert live.address is not None
    ws = await client.ws_connect(live.address + "/peer")
    hs = DiallerHandshake(
        ROGUE, nonce=os.urandom(32), now_ms=now_ms(), expected=None, features=["search"]
    )
    await ws.send_bytes(hs.hello_bytes)
    await ws.send_bytes(hs.receive_welcome((await ws.receive(timeout=5)).data))
    assert isinstance(frames.decode((await ws.receive(timeout=5)).data), frames.Ready)
    assert hs.shared == {"search"}
    await ws.send_bytes(frames.encode(frames.Clock([], final=True)))
    await ws.send_bytes(frames.encode(frames.MailClock([], final=True)))
    return ws


def query(
    *,
    qid: bytes | None = None,
    filter: dict[str, str] | None = None,
    words: str = "phonics",
    budget: int = 4,
    hops: int = 1,
    limit: int = 10,
    signer: NodeKey = ROGUE,
    time: int | None = None,
) -> frames.Query:
    qid = qid or os.urandom(16)
    filter = {} if filter is None else filter
    when = now_ms() if time is None else time
    sig = signer.sign(rules.signed_bytes(qid, bytes(ROGUE.node_id), when, filter, words, limit))
    return frames.Query(qid, bytes(ROGUE.node_id), when, filter, words, limit, budget, hops, sig)


async def answers_to(ws: Socket, qid: bytes) -> list[frames.Answers]:
    """The target's answers to one query, up to its final one."""
    got: list[frames.Answers] = []
    while True:
        frame = await next_frame(ws, frames.Answers)
        assert isinstance(frame, frames.Answers)
        if frame.id == qid:
            got.append(frame)
            if frame.final:
                return got


async def test_a_query_over_the_limits_is_refused(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_searching(client, target)
    for bad in (query(budget=65), query(hops=4), query(limit=101)):
        await ws.send_bytes(frames.encode(bad))
        error = await next_frame(ws, frames.Error)
        assert isinstance(error, frames.Error)
        assert error.code == "bad-query"
    await ws.close()


async def test_a_forged_or_stale_query_is_refused(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_searching(client, target)
    await ws.send_bytes(frames.encode(query(signer=key(5))))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-query-signature"
    await ws.send_bytes(frames.encode(query(time=now_ms() - rules.QUERY_MAX_AGE_MS - 60_000)))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "stale-query"
    await ws.close()


async def test_a_replayed_query_is_not_answered_again(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    offer = await target.node.offers.post("offer", OFFER)
    ws = await connect_searching(client, target)
    first = query()
    await ws.send_bytes(frames.encode(first))
    got = await answers_to(ws, first.id)
    assert any(bytes(offer.encode()) == e for a in got for e in a.entries)
    await ws.send_bytes(frames.encode(first))  # the same id again
    again = await answers_to(ws, first.id)
    assert [(a.entries, a.asked, a.busy) for a in again] == [([], 0, False)]
    await ws.close()


async def test_a_query_flood_gets_busy_without_a_strike(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_searching(client, target)
    for _ in range(rules.QUERIES_PER_MINUTE):
        q = query()
        await ws.send_bytes(frames.encode(q))
        assert not (await answers_to(ws, q.id))[-1].busy
    for _ in range(20):  # twice the strikes that would close the session
        q = query()
        await ws.send_bytes(frames.encode(q))
        assert [a.busy for a in await answers_to(ws, q.id)] == [True]
    session = target.service.peers.sessions[ROGUE.node_id]
    assert not session.closing
    assert session.last_error is None
    await ws.close()


def _signed_offer(content: dict[str, Any]) -> bytes:
    author = key(7)
    return create_entry(
        author, seq=1, prev=None, timestamp=now_ms() - 1000, kind="offer", content=content
    ).encode()


async def test_forged_and_non_matching_answers_count_strikes_and_are_dropped(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_searching(client, target)

    async def searching() -> bool:
        session = target.service.peers.sessions.get(ROGUE.node_id)
        return session is not None and session.opened

    await wait_for(searching, what="the rogue's session open")
    asking = asyncio.create_task(
        target.service.peers.search.ask({"country": "FR"}, "phonics", wait=10)
    )
    asked = await next_frame(ws, frames.Query)
    assert isinstance(asked, frames.Query)
    assert asked.filter == {"country": "FR"}
    assert asked.budget <= rules.MAX_BUDGET

    good = _signed_offer(OFFER)
    wrong_country = _signed_offer({**OFFER, "country": "ES"})
    wrong_words = _signed_offer({**OFFER, "title": "Open maths lessons"})
    forged = bytearray(_signed_offer({**OFFER, "title": "Phonics, forged"}))
    forged[-5] ^= 1  # the content no longer matches its signed hash
    await ws.send_bytes(
        frames.encode(
            frames.Answers(
                asked.id, [wrong_country, bytes(forged), wrong_words, good], final=True, asked=1
            )
        )
    )
    codes = []
    for _ in range(3):
        error = await next_frame(ws, frames.Error)
        assert isinstance(error, frames.Error)
        codes.append(error.code)
    assert sorted(codes) == ["answer-not-matching", "answer-not-matching", "bad-content-hash"]
    outcome = await asking
    assert [f.entry.encode() for f in outcome.found] == [good]
    await ws.close()


async def test_a_flood_of_answers_is_cut_off(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_searching(client, target)

    async def searching() -> bool:
        session = target.service.peers.sessions.get(ROGUE.node_id)
        return session is not None and session.opened

    await wait_for(searching, what="the rogue's session open")
    asking = asyncio.create_task(target.service.peers.search.ask({}, "phonics", 2, wait=10))
    asked = await next_frame(ws, frames.Query)
    assert isinstance(asked, frames.Query)
    good = [_signed_offer({**OFFER, "title": f"Phonics {i}"}) for i in range(9)]
    await ws.send_bytes(frames.encode(frames.Answers(asked.id, good)))  # 9 > 4 x 2
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "too-many-answers"
    outcome = await asking  # it stops waiting for the rogue at once
    assert outcome.found == []
    await ws.close()
