"""A partner gone rogue and ``catchup`` (docs/protocol.md, "Catching up loose
entries"): floods of catch-up frames, malformed and oversized ones, a second catch-up
too soon, entries offered that do not match what the target declared, and forged
ones. Each is refused (a strike, or not kept) and logged, and the target keeps serving.

The rogue is a real node, partner of the target (which holds by horizon), writing
hand-made frames on its real session; its own catch-up of the target is held off (its
turn comes in ten minutes), so every ``catchup`` frame the target sees is the test's.
Frames are judged in order, so an entry sent alone after them, which the target keeps,
shows that every frame before it was judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net.backoff import Backoff
from node.net.loose import send_alone
from node.net.session import PeerSession
from node.store.holding import EVERYTHING_MODE, HORIZON_MODE, choose
from protocol import catchup, codec, frames, interest
from protocol.catchup import Item, Offer
from protocol.entry import Entry, create_entry
from protocol.keys import EntryId, NodeKey
from protocol.reconcile import SHORT_ID_BYTES as SHORT
from tests.helpers import key
from tests.network import LiveNode, partner, session_of, sessions_open, wait_for

NORTH = {"region": "North", "phases": ["primary"]}
FAR = key(80)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    target = await LiveNode.start(tmp_path / "target", "Target School")
    # The rogue's own node declares everything: only the frames made by hand say more.
    rogue = await LiveNode.start(tmp_path / "rogue", "Rogue School", holding=EVERYTHING_MODE)
    try:
        await choose(target.node.store, HORIZON_MODE, (), ())
        await target.node.update_profile(**NORTH)
        # The rogue's own (honest) catch-up of the target waits its turn: ten minutes.
        rogue.service.peers.catchups._began[target.node.node_id] = now_ms()
        await partner(target, rogue)
        await sessions_open(rogue, target)
        yield target, rogue
    finally:
        await rogue.stop()
        await target.stop()


def signed(signer: NodeKey, seq: int, content: dict[str, Any], kind: str = "offer") -> Entry:
    prev = None if seq == 1 else EntryId(bytes(32))  # sent alone: ``p`` is not checked
    return create_entry(
        signer, seq=seq, prev=prev, timestamp=now_ms() - 1000, kind=kind, content=content
    )


def north(title: str) -> dict[str, Any]:
    return {"activity": "observation", "title": title, "country": "GB", **NORTH}


async def raw(rogue: LiveNode, target: LiveNode, body: dict[str, Any]) -> None:
    session = rogue.service.peers.sessions[target.node.node_id]
    await session.transport.send(codec.encode({"v": 1, **body}))


async def offer_at_catchup(
    rogue: LiveNode, target: LiveNode, offered: list[Entry], sent: list[Entry] | None = None
) -> None:
    """The rogue, as the holder of the target's catch-up, offers ``offered`` (their times
    and ids), ends, then sends ``sent`` alone (``offered`` itself unless given)."""
    offer = Offer([Item(e.payload.timestamp, bytes(e.id)) for e in offered], 0, id_bytes=SHORT)
    await raw(rogue, target, {"t": "catchup", "since": 0, "msg": offer.first().msg})
    await raw(rogue, target, {"t": "catchup", "since": 0, "msg": b""})  # the end
    await send_alone(
        rogue.service.peers.sessions[target.node.node_id], offered if sent is None else sent
    )


async def judged(rogue: LiveNode, target: LiveNode, n: int) -> None:
    """Send an entry alone that the target keeps; wait until it holds it."""
    last = signed(key(90 + n), 1, north("Sentinel"))
    await send_alone(rogue.service.peers.sessions[target.node.node_id], [last])
    await wait_for(lambda: target.holds(last.id), what="the sentinel")


async def test_malformed_oversized_and_out_of_turn_frames_are_strikes(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    strikes = session._strikes
    first = Offer([Item(1, bytes(32))], 0, id_bytes=SHORT).first()
    bad: list[dict[str, Any]] = [
        {"t": "catchup", "since": -1, "msg": b""},  # malformed
        {"t": "catchup", "since": 0, "msg": b"x" * (frames.MAX_RECONCILE_BYTES + 1)},
        {"t": "catchup-reply", "msg": b"\x91\x01"},  # a reply to no catch-up of its
        {"t": "catchup", "since": 0, "msg": b"\x93garbage"},  # begins one: garbage
        {"t": "catchup", "since": 0, "msg": first.msg},  # after that one ended
        {"t": "catchup", "since": 5, "msg": first.msg},  # another, in one session
    ]
    for body in bad:
        await raw(rogue, target, body)
    await judged(rogue, target, 1)  # it keeps serving
    assert session._strikes == strikes + len(bad)
    assert not session.closing  # under the ten strikes that close a session
    assert "catch-up" in (session.last_error or "")  # the last one, logged


async def test_a_flood_of_catchup_frames_closes_the_session_not_the_node(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    # Ended for its strikes, the rogue is refused for the cool-down (too-soon) and its
    # dialler holds off as long: both scaled down, so that it comes back within the test.
    for live in (target, rogue):
        live.service.peers.new_backoff = lambda: Backoff.scaled(0.05)
        live.service.peers._backoffs.clear()  # made as the sessions opened: made again
    session = session_of(target, rogue)
    # Whatever waits for the session's end (the dial loop, a session replacing it) must
    # find it no longer registered: the dial loop, finding it still there, waited on its
    # set event without yielding and spun, blocking the node (one run in three).
    registered_at_end: list[bool] = []

    async def at_end() -> None:
        await session.closed.wait()
        registered_at_end.append(target.service.peers.sessions.get(rogue.node.node_id) is session)

    watching = asyncio.create_task(at_end())
    msg = Offer([Item(1, bytes(32))], 0, id_bytes=SHORT).first().msg
    await raw(rogue, target, {"t": "catchup", "since": 0, "msg": msg})  # the one allowed
    with contextlib.suppress(ConnectionResetError):  # closed before the flood ends
        for _ in range(50):
            await raw(rogue, target, {"t": "catchup", "since": 0, "msg": msg})
    await wait_for(lambda: _closed(session), what="the flooding session to close")
    await watching
    assert registered_at_end == [False]
    # The target still serves: it posts, and the rogue's node, redialling after its
    # cool-down, gets it.
    post = await target.node.offers.post("offer", north("Still here"))
    await wait_for(lambda: rogue.holds(post.id), within=30, what="the target's next offer")


async def _closed(session: PeerSession) -> bool:
    return session.closing


async def test_a_second_catchup_within_ten_minutes_is_declined_without_a_strike(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    catchups = target.service.peers.catchups
    catchups._answered[rogue.node.node_id] = now_ms()  # one just before, say
    await raw(rogue, target, {"t": "catchup", "since": 0, "msg": Offer([], 0).first().msg})
    await judged(rogue, target, 2)
    assert session._strikes == 0
    assert catchups._answers[session].done  # declined: not answered, nothing to follow
    assert not catchups._answers[session].offered


async def test_a_catchup_just_short_of_ten_minutes_by_the_wanters_clock_is_answered(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """The holder counts ten minutes from when it began the last catch-up; the wanter
    from when the first frame reached it, which is later by the holder's reading of
    its offer and the trip. An honest holder's next turn thus comes a few seconds
    short of ten minutes by the wanter's count: it is answered, not declined."""
    target, rogue = pair
    session = session_of(target, rogue)
    catchups = target.service.peers.catchups
    last = now_ms() - catchup.PACE_MS + 5_000
    catchups._answered[rogue.node.node_id] = last
    await raw(rogue, target, {"t": "catchup", "since": 0, "msg": Offer([], 0).first().msg})
    await judged(rogue, target, 6)
    assert session._strikes == 0
    assert catchups._answered[rogue.node.node_id] > last  # answered


async def test_offered_entries_that_do_not_match_what_it_declared_are_not_kept(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    south = signed(FAR, 1, {"activity": "observation", "title": "Coast", "country": "GB"})
    await offer_at_catchup(rogue, target, [south])
    await judged(rogue, target, 3)
    catchups = target.service.peers.catchups
    # With short-ids (both nodes announce it) the wanter keeps the 16-byte prefixes.
    assert catchups._answers[session].offered == {bytes(south.id)[:SHORT]}
    assert catchups._answers[session].was_offered(bytes(south.id))
    assert not await target.holds(south.id)
    assert catchups.not_kept[rogue.node.node_id] == 1  # and logged


async def test_forged_entries_offered_at_catchup_are_refused(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    genuine = signed(FAR, 1, north("Phonics"))
    forged = dataclasses.replace(genuine, signature=bytes(64))
    await offer_at_catchup(rogue, target, [genuine], sent=[forged])
    await judged(rogue, target, 4)
    assert not await target.holds(genuine.id)
    assert session._strikes == 1  # a bad signature, as anywhere else


async def test_a_rogue_wanter_replying_garbage_is_struck_and_sent_nothing(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    target, rogue = pair
    session = session_of(target, rogue)
    catchups = target.service.peers.catchups
    await target.node.offers.post("offer", north("Something to offer"))
    # The rogue's node declines the target's catch-up of it (too soon), so that only
    # the hand-made replies below answer the target's offer.
    rogue.service.peers.catchups._answered[target.node.node_id] = now_ms()
    me = bytes(rogue.node.node_id)
    declared = {
        "t": "interest",
        "digest": interest.digest([me]),
        "filters": [[]],  # every public entry outside its horizon
        "partners": [],
        "horizon": [me],
    }
    await raw(rogue, target, declared)

    async def offered() -> bool:
        return session in catchups._offers

    await wait_for(offered, what="the target's catch-up of the rogue")
    strikes = session._strikes
    await raw(rogue, target, {"t": "catchup-reply", "msg": b"\x93garbage"})
    await raw(rogue, target, {"t": "catchup-reply", "msg": b""})  # after it failed
    await judged(rogue, target, 5)
    assert session._strikes == strikes + 2
    assert catchups._offers[session][0].failed
    assert catchups.sent.get(rogue.node.node_id) is None  # nothing sent


async def test_a_declaration_taken_after_its_pace_still_brings_a_catchup(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """A node that has just started declares again as each partner connects: its
    declaration of a horizon may come past the first few taken at once, and is then
    taken a moment later. Its catch-up is offered all the same."""
    target, rogue = pair
    session = session_of(target, rogue)
    catchups = target.service.peers.catchups
    rogue.service.peers.catchups._answered[target.node.node_id] = now_ms()
    me = bytes(rogue.node.node_id)
    everything = {"t": "interest", "digest": interest.digest([]), "filters": [], "partners": []}
    for _ in range(8):  # past the declarations taken at once
        await raw(rogue, target, {**everything, "everything": True})
    declared = {
        "t": "interest",
        "digest": interest.digest([me]),
        "filters": [[]],
        "partners": [],
        "horizon": [me],
    }
    await raw(rogue, target, declared)
    await judged(rogue, target, 7)
    assert session not in target.service.peers.interests.declared  # it waits its turn

    async def offered() -> bool:
        return session in catchups._offers

    await wait_for(offered, what="the target's catch-up of the rogue")


async def test_a_declaration_taken_as_the_node_stops_starts_no_catchup_task(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """The node stops its catch-ups before the tasks that take declarations late: one
    taken in between must not start a catch-up task that nothing will end."""
    target, rogue = pair
    session = session_of(target, rogue)
    peers = target.service.peers
    peers.catchups._scheduled.discard(session)
    await peers.catchups.stop()
    assert peers.interests.on_declared is not None
    peers.interests.on_declared(session)  # as a declaration taken late would
    assert not peers.catchups._tasks


async def test_answers_offered_to_questions_the_target_does_not_hold_are_not_kept(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """A rogue offers, at catch-up, far answers and a helpful mark (matching none of
    the target's filters) naming a question the target does not hold: the target
    judges them by what it holds itself, so none is kept, and each is logged."""
    target, rogue = pair
    session = session_of(target, rogue)
    asker = key(81)
    question = signed(asker, 1, {"title": "Rowing?", "text": "Which boats?"}, "question")
    answer = signed(FAR, 1, {"question": bytes(question.id), "text": "Ours"}, "answer")
    mark = create_entry(
        asker,
        seq=2,
        prev=question.id,
        timestamp=now_ms() - 500,
        kind="helpful",
        content={"answer": bytes(answer.id)},
    )
    sent = [answer, mark]
    await offer_at_catchup(rogue, target, sent)
    await judged(rogue, target, 5)
    catchups = target.service.peers.catchups
    assert catchups._answers[session].offered == {bytes(e.id)[:SHORT] for e in sent}
    for entry in (question, *sent):
        assert not await target.holds(entry.id)
    assert catchups.not_kept[rogue.node.node_id] == 2  # and logged


async def test_a_withdrawal_of_another_schools_entry_at_catchup_is_refused(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """A school of the target's region (whose withdrawals the target would keep)
    withdraws, at catch-up, a far school's offer the target holds: only its author
    withdraws, so the offer stays shown and the withdrawal is not kept, and logged."""
    target, rogue = pair
    session = session_of(target, rogue)
    region = {"name": "Rogue's Other School", "country": "GB", **NORTH}
    other = key(82)
    held = signed(FAR, 1, north("Phonics"))
    profile = signed(other, 1, region, "profile")
    await send_alone(rogue.service.peers.sessions[target.node.node_id], [held, profile])
    await wait_for(lambda: target.holds(profile.id), what="the other school's profile")
    withdrawal = signed(other, 2, {"target": bytes(held.id)}, "withdraw")
    await offer_at_catchup(rogue, target, [withdrawal])
    await judged(rogue, target, 8)
    catchups = target.service.peers.catchups
    assert catchups._answers[session].offered == {bytes(withdrawal.id)[:SHORT]}
    assert not await target.holds(withdrawal.id)
    assert [o.entry.id for o in await target.node.offers.listing("offer")][-1:] == [held.id]
    assert catchups.not_kept[rogue.node.node_id] == 1  # and logged
    rows = await target.node.store.fetch_all("SELECT 1 FROM withdrawals")
    assert rows == []


async def test_floods_of_withdrawals_of_entries_not_held_are_bounded(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """Withdrawals of ids that exist nowhere, offered at catch-up and sent: 300 by a
    school of the target's region (kept as tombstones up to its loose budget, 200)
    and 300 by one elsewhere (none kept: its entries are not the target's)."""
    target, rogue = pair
    north_school, south_school = key(83), key(84)
    profiles = [
        signed(north_school, 1, {"name": "North", "country": "GB", **NORTH}, "profile"),
        signed(south_school, 1, {"name": "South", "country": "GB", "region": "South"}, "profile"),
    ]
    to_rogue = rogue.service.peers.sessions[target.node.node_id]
    await send_alone(to_rogue, profiles)
    await wait_for(lambda: target.holds(profiles[1].id), what="the profiles")
    flood = [
        signed(school, 2 + n, {"target": (1000 * i + n).to_bytes(32, "big")}, "withdraw")
        for i, school in enumerate((north_school, south_school))
        for n in range(300)
    ]
    await offer_at_catchup(rogue, target, flood)
    await judged(rogue, target, 9)
    rows = await target.node.store.fetch_all(
        "SELECT author, COUNT(*) FROM entries WHERE kind = 'withdraw' GROUP BY author"
    )
    assert {bytes(a): n for a, n in rows} == {bytes(north_school.node_id): 200}
    row = await target.node.store.fetch_one("SELECT COUNT(*) FROM withdrawals")
    assert row[0] == 200
    assert session_of(target, rogue)._strikes == 0  # past a budget is not a strike


async def test_a_second_withdrawal_of_a_target_known_withdrawn_is_a_duplicate(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """A school of the target's region withdrew an entry the target never held (kept
    as a tombstone); the copy of that withdrawal a continuation posts again (another
    entry, the same target and author) is offered at catch-up. It adds nothing: not
    kept, taken as a duplicate, not counted against the partner as offered and not
    kept (issue 23, withdrawal loose ends)."""
    target, rogue = pair
    session = session_of(target, rogue)
    north_school = key(85)
    profile = signed(north_school, 1, {"name": "North", "country": "GB", **NORTH}, "profile")
    gone = (7).to_bytes(32, "big")  # an entry the target never held
    first = signed(north_school, 2, {"target": gone}, "withdraw")
    to_rogue = session_of(rogue, target)
    await send_alone(to_rogue, [profile, first])
    await wait_for(lambda: target.holds(first.id), what="the first withdrawal, a tombstone")
    again = signed(north_school, 4, {"target": gone, "reason": "posted again"}, "withdraw")
    await offer_at_catchup(rogue, target, [again])
    await judged(rogue, target, 10)
    catchups = target.service.peers.catchups
    assert catchups._answers[session].offered == {bytes(again.id)[:SHORT]}
    assert not await target.holds(again.id)
    assert catchups.not_kept.get(rogue.node.node_id, 0) == 0
    assert session._strikes == 0


async def test_another_schools_withdrawal_of_an_answer_to_our_question_is_refused(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    """A far school answers the target's question; a rogue offers, at catch-up,
    another school's "withdrawal" of that answer (a holder offers withdrawals of
    answers to the target's questions: issue 23, withdrawal loose ends). Only the
    answer's author withdraws it: not kept, logged, the answer still shown."""
    target, rogue = pair
    session = session_of(target, rogue)
    asked = await target.node.questions.ask({"title": "Phonics?", "text": "Which scheme?"})
    answer = signed(FAR, 1, {"question": bytes(asked.id), "text": "Ours"}, "answer")
    to_rogue = session_of(rogue, target)
    await send_alone(to_rogue, [answer])
    await wait_for(lambda: target.holds(answer.id), what="the far answer, kept with our question")
    withdrawal = signed(key(86), 1, {"target": bytes(answer.id)}, "withdraw")
    await offer_at_catchup(rogue, target, [withdrawal])
    await judged(rogue, target, 11)
    catchups = target.service.peers.catchups
    assert not await target.holds(withdrawal.id)
    shown = (await target.node.questions.one(str(asked.id))).as_json(with_answers=True)
    assert [a["text"] for a in shown["answers"]] == ["Ours"]
    assert catchups.not_kept[rogue.node.node_id] == 1  # and logged
    assert await target.node.store.fetch_all("SELECT 1 FROM withdrawals") == []
    assert session._strikes == 0
