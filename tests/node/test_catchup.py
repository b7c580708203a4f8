"""Catching up loose entries at session start between real nodes on loopback
(docs/protocol.md, "Catching up loose entries"): a school holding by horizon that
was offline while a far school posted gets that school's matching offer from its
partner when it comes back, and not its other offer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from itertools import pairwise
from pathlib import Path

from bench.live import hold, school_key
from node.clock import now_ms
from node.net.catchup import CatchUps
from node.store.holding import EVERYTHING_MODE, HORIZON_MODE, choose
from node.store.search import Filters
from protocol import catchup
from protocol.entry import Entry, create_entry
from protocol.keys import EntryId
from tests.network import LiveNode, partner, started, wait_for

NORTH = {"region": "North", "phases": ["primary"]}


def offer(title: str, **fields: object) -> dict[str, object]:
    return {"activity": "observation", "title": title, **fields}


async def restart_and_catch_up(
    oak: LiveNode, catchups: CatchUps, entry_id: EntryId, *, what: str
) -> None:
    """Restart ``oak`` and wait for its partner's next catch-up of it to bring
    ``entry_id``, and that alone."""
    peer = oak.node.node_id
    sent_before = catchups.sent.get(peer, 0)
    completed_before = catchups._completed[peer]
    await oak.restart()

    async def caught_up() -> bool:
        done = catchups._completed.get(peer, 0) > completed_before
        return done and await oak.holds(entry_id)

    await wait_for(caught_up, within=60, what=f"{what} at oak, by catch-up")
    assert catchups.sent[peer] - sent_before == 1  # that entry alone


async def test_a_school_that_was_offline_catches_up_what_it_wants(tmp_path: Path) -> None:
    names = ("oak", "hub", "colegio", "far")
    async with started(tmp_path, names) as nodes:
        oak, hub, far = nodes["oak"], nodes["hub"], nodes["far"]
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(**NORTH)
        # oak - hub - colegio - far: colegio is a partner of oak's partner (in oak's
        # horizon), far one hop beyond its edge.
        # The hub holds far's log whole (a partner's partner).
        for a, b in (("oak", "hub"), ("hub", "colegio"), ("colegio", "far")):
            await partner(nodes[a], nodes[b])
        catchups = hub.service.peers.catchups
        catchups.pace_ms = 0  # time scaled: one catch-up per session, not per ten minutes
        profile = await far.profile_id()
        await wait_for(lambda: oak.holds(profile), within=60, what="far's profile at oak")

        async def first_done() -> bool:
            return oak.node.node_id in catchups._completed

        await wait_for(first_done, within=30, what="the hub's first catch-up of oak")
        await oak.stop()
        wanted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))
        other = await far.node.offers.post("offer", offer("Rowing on the coast"))

        async def hub_holds_both() -> bool:
            return await hub.holds(wanted.id) and await hub.holds(other.id)

        await wait_for(hub_holds_both, within=60, what="far's offers at the hub")
        sent_before = catchups.sent.get(oak.node.node_id, 0)
        completed_before = catchups._completed[oak.node.node_id]
        await oak.restart()

        async def caught_up() -> bool:
            done = catchups._completed.get(oak.node.node_id, 0) > completed_before
            return done and await oak.holds(wanted.id)

        await wait_for(caught_up, within=60, what="far's matching offer at oak, by catch-up")
        # Only what oak lacked and wants crossed: the matching offer, not the other one.
        assert catchups.sent[oak.node.node_id] - sent_before == 1
        assert not await oak.holds(other.id)
        assert await oak.node.store.head(far.node.node_id) is None  # loose, not whole
        rows = await oak.node.store.fetch_all(
            "SELECT loose FROM entries WHERE id = ?", (bytes(wanted.id),)
        )
        assert [row[0] for row in rows] == [1]


async def test_a_hub_holding_many_sends_them_in_chunks_and_only_what_matches(
    tmp_path: Path,
) -> None:
    """More than a page of reading and many chunks of sending: every matching offer
    arrives, none of the others, and the session keeps working meanwhile."""
    start = now_ms() - 3_600_000
    matching = [
        create_entry(
            school_key(n),
            seq=1,
            prev=None,
            timestamp=start + n,
            kind="offer",
            content=offer(f"Phonics {n}", country="GB", **NORTH),
        )
        for n in range(1200)
    ]
    others = [
        create_entry(
            school_key(n),
            seq=1,
            prev=None,
            timestamp=start + n,
            kind="offer",
            content=offer(f"Rowing {n}", country="FR"),
        )
        for n in range(1200, 1500)
    ]
    oak = await LiveNode.start(tmp_path / "oak", "Oak")
    hub = await LiveNode.start(tmp_path / "hub", "Hub")
    try:
        await hold(hub.node, matching + others)
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(country="GB", **NORTH)
        await partner(oak, hub)

        async def all_arrived() -> bool:
            row = await oak.node.store.fetch_one(
                "SELECT COUNT(*) FROM entries WHERE loose = 1 AND kind = 'offer'"
            )
            return int(row[0]) >= len(matching)

        await wait_for(all_arrived, within=120, what="every matching offer at oak")
        post = await hub.node.offers.post("offer", offer("Meanwhile", country="GB", **NORTH))
        await wait_for(lambda: oak.holds(post.id), within=30, what="a new offer, as usual")
        for entry in others[:20]:
            assert not await oak.holds(entry.id)
        assert hub.service.peers.catchups.sent[oak.node.node_id] == len(matching)
    finally:
        await oak.stop()
        await hub.stop()


async def test_a_school_that_changes_what_it_wants_is_offered_older_entries_too(
    tmp_path: Path,
) -> None:
    """``since`` (a day before the last catch-up) counts only while the school wants
    what it wanted then: once its subscription changes, an offer posted days before
    that matches the new one is offered too."""
    coast = {"region": "Coast", "phases": ["primary"]}
    old = create_entry(
        school_key(1),
        seq=1,
        prev=None,
        timestamp=now_ms() - 3 * 24 * 3_600_000,
        kind="offer",
        content=offer("Rowing on the coast", country="GB", **coast),
    )
    oak = await LiveNode.start(tmp_path / "oak", "Oak")
    hub = await LiveNode.start(tmp_path / "hub", "Hub")
    try:
        await hold(hub.node, [old])
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(country="GB", **NORTH)
        catchups = hub.service.peers.catchups
        catchups.pace_ms = 0  # time scaled: one catch-up per session
        await partner(oak, hub)
        peer = oak.node.node_id

        async def first_done() -> bool:
            return peer in catchups._completed

        await wait_for(first_done, within=30, what="the hub's first catch-up of oak")
        assert not await oak.holds(old.id)  # not what oak wants yet
        completed_before = catchups._completed[peer]
        await oak.node.update_profile(**coast)  # its default subscription follows
        await oak.stop()
        await oak.restart()

        async def caught_up() -> bool:
            return catchups._completed.get(peer, 0) > completed_before

        await wait_for(caught_up, within=60, what="the hub's next catch-up of oak")
        await wait_for(lambda: oak.holds(old.id), within=30, what="the older coast offer")
    finally:
        await oak.stop()
        await hub.stop()


async def test_a_school_holding_more_than_the_hub_offers_is_sent_nothing_it_holds(
    tmp_path: Path,
) -> None:
    """A first catch-up (from 0) of a school that holds, loose, all 10,000 offers the
    hub offers and 500 newer ones from elsewhere: it lacks none, so none is sent (were
    it to list only its newest 10,000, the hub would take the oldest 500 it offers for
    missing and send them again)."""
    start = now_ms() - 3_600_000
    content = offer("Phonics", country="GB", **NORTH)
    shared = [
        create_entry(
            school_key(n), seq=1, prev=None, timestamp=start + n, kind="offer", content=content
        )
        for n in range(catchup.MAX_ITEMS)
    ]
    newer = [
        create_entry(
            school_key(n), seq=1, prev=None, timestamp=start + n, kind="offer", content=content
        )
        for n in range(catchup.MAX_ITEMS, catchup.MAX_ITEMS + 500)
    ]
    oak = await LiveNode.start(tmp_path / "oak", "Oak")
    hub = await LiveNode.start(tmp_path / "hub", "Hub")
    try:
        await hold(hub.node, shared)
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(country="GB", **NORTH)
        await hold(oak.node, [*shared, *newer], loose=True)  # as if they had passed by
        catchups = hub.service.peers.catchups
        await partner(oak, hub)
        peer = oak.node.node_id

        async def done() -> bool:
            return peer in catchups._completed

        await wait_for(done, within=60, what="the hub's catch-up of oak")
        assert catchups.sent.get(peer, 0) == 0
    finally:
        await oak.stop()
        await hub.stop()


async def test_an_offer_judged_by_a_newer_profile_is_kept_when_both_are_caught_up(
    tmp_path: Path,
) -> None:
    """A far school posted an offer, then gave its profile a region: the offer matches
    only by that newer profile. Both reach a school that missed them, profile first,
    so the offer is judged by it and kept (sent in one batch, ordered by number, the
    offer came first and was judged with no profile: not kept)."""
    far = await LiveNode.start(tmp_path / "far", "Far", listen=False)
    oak = await LiveNode.start(tmp_path / "oak", "Oak")
    hub = await LiveNode.start(tmp_path / "hub", "Hub")
    try:
        posted = await far.node.offers.post("offer", offer("Phonics"))  # no region of its own
        await far.node.update_profile(**NORTH)
        log = await far.node.store.entries_after(far.node.node_id, 0, 100)
        assert [e.kind for e in log][-2:] == ["offer", "profile"]
        await hold(hub.node, log)
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(**NORTH)
        catchups = hub.service.peers.catchups
        await partner(oak, hub)
        peer = oak.node.node_id

        async def done() -> bool:
            return peer in catchups._completed

        await wait_for(done, within=60, what="the hub's catch-up of oak")
        await wait_for(lambda: oak.holds(posted.id), within=30, what="far's offer at oak")
    finally:
        await far.stop()
        await oak.stop()
        await hub.stop()


async def test_an_answer_given_while_the_asking_school_was_off_is_caught_up(
    tmp_path: Path,
) -> None:
    """oak - hub - colegio - far: oak asks, its node stops, far (one hop beyond oak's
    horizon, in the South: matching none of oak's filters) answers. When oak comes
    back, its partner the hub catches it up on the answer: it names oak's own
    question, which oak holds for certain (protocol/catchup.py, ``held_by``)."""
    async with started(tmp_path, LINE) as nodes:
        oak, hub, far = nodes["oak"], nodes["hub"], nodes["far"]
        asked = await _oak_asks_far_beyond(nodes)
        catchups = hub.service.peers.catchups
        peer = oak.node.node_id

        async def first_done() -> bool:
            return peer in catchups._completed

        await wait_for(first_done, within=30, what="the hub's first catch-up of oak")

        # Far's newest profile too, or a loaded machine's slow first round leaves it for
        # the catch-up below to send beside the answer.
        async def far_newest_profile() -> bool:
            held = await oak.node.store.profile_of(far.node.node_id)
            return held is not None and held.region == "South"

        await wait_for(far_newest_profile, within=60, what="far's newest profile at oak")
        await oak.stop()
        answer = await far.node.questions.answer(str(asked.id), "Letters and Sounds.")
        await wait_for(lambda: hub.holds(answer.id), within=60, what="far's answer at the hub")
        await restart_and_catch_up(oak, catchups, answer.id, what="far's answer")
        assert await oak.node.store.head(far.node.node_id) is None  # loose, not far's log
        shown = (await oak.node.questions.one(str(asked.id))).as_json(with_answers=True)
        assert [a["text"] for a in shown["answers"]] == ["Letters and Sounds."]


@asynccontextmanager
async def withdrawn_while_off(
    folder: Path,
) -> AsyncIterator[tuple[LiveNode, CatchUps, Entry, Entry]]:
    """oak - hub - colegio - far: far (a school of oak's region, one hop beyond its
    horizon) posts an offer that oak keeps loose; oak's node stops; far withdraws it;
    oak comes back and its partner the hub catches it up on the withdrawal. Yields
    oak, the hub's catch-ups, the offer and the withdrawal."""
    names = ("oak", "hub", "colegio", "far")
    async with started(folder, names) as nodes:
        oak, hub, far = nodes["oak"], nodes["hub"], nodes["far"]
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(**NORTH)
        await far.node.update_profile(**NORTH)
        for a, b in (("oak", "hub"), ("hub", "colegio"), ("colegio", "far")):
            await partner(nodes[a], nodes[b])
        catchups = hub.service.peers.catchups
        catchups.pace_ms = 0  # time scaled: one catch-up per session
        posted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))
        await wait_for(lambda: oak.holds(posted.id), within=60, what="far's offer at oak")

        await _caught_up_once(oak, far, catchups, far_region="North")
        assert [o.entry.id for o in await oak.node.offers.listing("offer")] == [posted.id]
        await oak.stop()
        withdrawal = await far.node.offers.withdraw("offer", str(posted.id), "Fully booked")
        await wait_for(lambda: hub.holds(withdrawal.id), within=60, what="the withdrawal at hub")
        await restart_and_catch_up(oak, catchups, withdrawal.id, what="far's withdrawal")
        yield oak, catchups, posted, withdrawal


async def test_a_withdrawal_made_while_the_school_was_off_is_caught_up(tmp_path: Path) -> None:
    """The withdrawal of a school whose entries oak's filters keep (issue 23,
    withdrawals of loose entries) reaches oak at its next catch-up, so the offer is no
    longer shown at oak."""
    async with withdrawn_while_off(tmp_path) as (oak, _, posted, _):
        assert await oak.node.offers.listing("offer") == []
        found = await oak.node.offers.search("phonics", Filters(), today=date.today())
        assert found == []
        assert (await oak.node.store.get(posted.id)).content is None  # type: ignore[union-attr]
        gone = await oak.node.offers.withdrawn(str(posted.id))
        assert gone.as_json()["reason"] == "Fully booked"


async def test_a_withdrawal_swept_with_its_target_is_not_offered_again(tmp_path: Path) -> None:
    """Once oak's sweeper has taken the erased offer and its withdrawal, the hub's
    next catch-up of oak (its ``since`` still covers the withdrawal) sends nothing:
    oak lists the withdrawal it swept (issue 23, withdrawal loose ends)."""
    async with withdrawn_while_off(tmp_path) as (oak, catchups, posted, withdrawal):
        assert await oak.node.store.forget_loose(date.today()) == 2
        assert not await oak.holds(withdrawal.id)
        peer = oak.node.node_id
        sent_before = catchups.sent[peer]
        completed_before = catchups._completed[peer]
        await oak.stop()
        await oak.restart()

        async def caught_up() -> bool:
            return catchups._completed.get(peer, 0) > completed_before

        await wait_for(caught_up, within=60, what="the hub's next catch-up of oak")
        assert catchups.sent[peer] == sent_before  # nothing crossed again
        assert not await oak.holds(withdrawal.id)
        row = await oak.node.store.fetch_one(
            "SELECT target, swept FROM withdrawals WHERE withdraw_id = ?", (bytes(withdrawal.id),)
        )
        assert row == (bytes(posted.id), withdrawal.payload.timestamp)  # remembered, listed


async def test_a_withdrawal_of_an_answer_to_our_question_is_caught_up(tmp_path: Path) -> None:
    """oak - hub - colegio - far: oak asks, far (in the South: matching none of oak's
    filters) answers and oak holds the answer; oak's node stops; far withdraws the
    answer. When oak comes back, the hub catches it up on the withdrawal, as on the
    answer itself (``held_by``): the answer is gone from oak's question (issue 23,
    withdrawal loose ends)."""
    async with started(tmp_path, LINE) as nodes:
        oak, hub, far = nodes["oak"], nodes["hub"], nodes["far"]
        asked = await _oak_asks_far_beyond(nodes)
        catchups = hub.service.peers.catchups
        answer = await far.node.questions.answer(str(asked.id), "Letters and Sounds.")
        await wait_for(lambda: oak.holds(answer.id), within=60, what="far's answer at oak")

        await _caught_up_once(oak, far, catchups, far_region="South")
        shown = (await oak.node.questions.one(str(asked.id))).as_json(with_answers=True)
        assert [a["text"] for a in shown["answers"]] == ["Letters and Sounds."]
        await oak.stop()
        withdrawal = await far.node.questions.withdraw(str(answer.id))
        await wait_for(lambda: hub.holds(withdrawal.id), within=60, what="the withdrawal at hub")
        await restart_and_catch_up(oak, catchups, withdrawal.id, what="far's withdrawal")
        assert (await oak.node.store.get(answer.id)).content is None  # type: ignore[union-attr]
        shown = (await oak.node.questions.one(str(asked.id))).as_json(with_answers=True)
        assert shown["answers"] == []


LINE = ("oak", "hub", "colegio", "far")


async def _oak_asks_far_beyond(nodes: dict[str, LiveNode]) -> Entry:
    """oak - hub - colegio - far, partnered in a line, holding by horizon in the North
    but far (in the South, matching none of oak's filters, holding everything so that it
    keeps oak's question); the hub catches up once a session. oak asks a question; it
    returns once far holds it."""
    for name in LINE[:-1]:
        await choose(nodes[name].node.store, HORIZON_MODE, (), ())
        await nodes[name].node.update_profile(**NORTH)
    far = nodes["far"]
    await choose(far.node.store, EVERYTHING_MODE, (), ())
    await far.node.update_profile(region="South")
    for a, b in pairwise(LINE):
        await partner(nodes[a], nodes[b])
    nodes["hub"].service.peers.catchups.pace_ms = 0  # time scaled: one catch-up per session
    asked = await nodes["oak"].node.questions.ask({"title": "Phonics?", "text": "Which scheme?"})
    await wait_for(lambda: far.holds(asked.id), within=60, what="oak's question at far")
    return asked


async def _caught_up_once(
    oak: LiveNode, far: LiveNode, catchups: CatchUps, *, far_region: str
) -> None:
    """The hub's first catch-up of oak is done, and oak holds far's newest profile (else
    the profile may cross beside a withdrawal still to come)."""

    async def first_done() -> bool:
        return oak.node.node_id in catchups._completed

    await wait_for(first_done, within=30, what="the hub's first catch-up of oak")

    async def far_newest_profile() -> bool:
        held = await oak.node.store.profile_of(far.node.node_id)
        return held is not None and held.region == far_region

    await wait_for(far_newest_profile, within=60, what="far's newest profile at oak")
