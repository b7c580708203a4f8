"""What real nodes on loopback hold (docs/scale.md, Decision 1): a school holding by
horizon keeps a far school's matching offer loose, not its other offers nor its whole
log, and its profile; a hub holds everything."""

from __future__ import annotations

import itertools
from pathlib import Path

from bench.live import hold
from node.net.loose import send_alone
from node.store.holding import EVERYTHING_MODE, HORIZON_MODE, choose, summary
from node.store.search import Filters
from tests.network import LiveNode, partner, session_of, sessions_open, started, wait_for

NORTH = {"region": "North", "phases": ["primary"]}


def offer(title: str, **fields: object) -> dict[str, object]:
    return {"activity": "observation", "title": title, **fields}


async def test_a_far_school_is_held_loose_and_a_hub_holds_all(tmp_path: Path) -> None:
    names = ("oak", "lycee", "colegio", "far", "hub")
    async with started(tmp_path, names) as nodes:
        oak, far, hub = nodes["oak"], nodes["far"], nodes["hub"]
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(**NORTH)
        await choose(hub.node.store, HORIZON_MODE, (), ())
        await hub.node.update_profile(hub={})  # a hub of everything: holds every log whole
        # oak - lycee - colegio - far, and the hub beside lycee: far is two hops beyond
        # the edge of oak's horizon (oak and its partner lycee).
        for a, b in (("oak", "lycee"), ("lycee", "colegio"), ("colegio", "far"), ("lycee", "hub")):
            await partner(nodes[a], nodes[b])
        wanted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))
        other = await far.node.offers.post("offer", offer("Rowing on the coast"))
        last = await far.node.offers.post("offer", offer("Reading in the North", **NORTH))
        profile = await far.profile_id()

        async def oak_holds_far() -> bool:
            return all([await oak.holds(e) for e in (profile, wanted.id, last.id)])

        await wait_for(oak_holds_far, within=60, what="far's profile and matching offers at oak")
        # Lycee sends far's log in order, so the other offer came before the last one.
        assert not await oak.holds(other.id)
        assert await oak.node.store.head(far.node.node_id) is None  # not a whole log
        held = await summary(oak.node.store)
        assert held.loose_entries == 2
        assert held.loose_profiles >= 1
        found = await oak.node.offers.search("phonics", Filters())
        assert [listing.entry.id for listing in found] == [wanted.id]

        async def hub_holds_all() -> bool:
            return all([await hub.holds(e) for e in (profile, wanted.id, other.id, last.id)])

        await wait_for(hub_holds_all, within=60, what="every entry of far at the hub")
        head = await hub.node.store.head(far.node.node_id)
        assert head is not None
        assert head.id == last.id  # whole


async def test_loose_entries_go_on_alone_between_nodes_holding_by_horizon(
    tmp_path: Path,
) -> None:
    names = ("oak", "lycee", "colegio", "gesamt", "far")
    async with started(tmp_path, names) as nodes:
        oak, lycee, far = nodes["oak"], nodes["lycee"], nodes["far"]
        for live in (oak, lycee):
            await choose(live.node.store, HORIZON_MODE, (), ())
            await live.node.update_profile(**NORTH)
        # oak - lycee - colegio - gesamt - far (the last two hold everything): far is
        # three hops from lycee, which holds it loose only, so what reaches oak of far
        # is what lycee sends alone.
        for a, b in itertools.pairwise(names):
            await partner(nodes[a], nodes[b])
        wanted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))
        profile = await far.profile_id()

        async def oak_holds_far() -> bool:
            return await oak.holds(profile) and await oak.holds(wanted.id)

        await wait_for(oak_holds_far, within=60, what="far's profile and offer at oak")
        assert await lycee.node.store.head(far.node.node_id) is None
        assert await oak.node.store.head(far.node.node_id) is None
        rows = await oak.node.store.fetch_all(
            "SELECT kind FROM entries WHERE loose = 1 AND author = ? ORDER BY seq",
            (bytes(far.node.node_id),),
        )
        assert [row[0] for row in rows] == ["profile", "offer"]


async def test_interest_brings_partners_partners_whole_and_only_wanted_entries_alone(
    tmp_path: Path,
) -> None:
    names = ("oak", "lycee", "colegio", "gesamt", "far")
    async with started(tmp_path, names) as nodes:
        oak, lycee, colegio, gesamt, far = (nodes[n] for n in names)
        for live in (oak, lycee):
            await choose(live.node.store, HORIZON_MODE, (), ())
            await live.node.update_profile(**NORTH)
        chain = list(itertools.pairwise(names))  # oak - lycee - ... - far
        for a, b in chain:
            await partner(nodes[a], nodes[b])

        async def opened() -> bool:
            for a, b in chain:
                session = nodes[a].service.peers.sessions.get(nodes[b].node.node_id)
                if session is None or not session.opened:
                    return False
            return True

        await wait_for(opened, within=60, what="every session of the chain open")
        colegio_post = await colegio.node.offers.post("offer", offer("Rowing club visits"))
        gesamt_post = await gesamt.node.offers.post("offer", offer("Robotics", **NORTH))
        other = await far.node.offers.post("offer", offer("Rowing on the coast"))
        wanted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))

        async def arrived() -> bool:
            held = [await oak.holds(e.id) for e in (colegio_post, gesamt_post, wanted)]
            return all(held)

        await wait_for(arrived, within=60, what="the chain's posts at oak")
        # Colegio is a partner of oak's partner (lycee declared it): held whole.
        head = await oak.node.store.head(colegio.node.node_id)
        assert head is not None
        assert head.id == colegio_post.id
        # Gesamt (one hop beyond the edge) and far (two) only loose, what matches.
        assert await oak.node.store.head(gesamt.node.node_id) is None
        assert await oak.node.store.head(far.node.node_id) is None
        assert not await oak.holds(other.id)
        # Colegio never sent far's log to lycee: lycee declared it does not want it.
        session = colegio.service.peers.sessions[lycee.node.node_id]
        assert far.node.node_id not in session.sync.view
        assert far.node.node_id not in session.sync.dirty
        assert not await lycee.holds(other.id)


async def test_what_a_partner_declared_goes_when_it_is_removed_or_blocked(
    tmp_path: Path,
) -> None:
    names = ("oak", "lycee", "colegio")
    async with started(tmp_path, names) as nodes:
        for name in names:
            await choose(nodes[name].node.store, HORIZON_MODE, (), ())
        oak, lycee, colegio = nodes["oak"], nodes["lycee"], nodes["colegio"]
        for other in (lycee, colegio):
            await partner(oak, other)
        await partner(lycee, colegio)
        interests = oak.service.peers.interests
        them = {bytes(lycee.node.node_id), bytes(colegio.node.node_id)}

        async def declared() -> bool:
            rows = await oak.node.store.fetch_all("SELECT DISTINCT peer FROM declared_partners")
            return {row[0] for row in rows} == them and {bytes(p) for p in interests._known} == them

        await wait_for(declared, what="both partners' declarations at oak")
        await oak.node.peerbook.remove(lycee.node.node_id)
        await oak.node.peerbook.block(colegio.node.node_id, oak.node.node_id, 0)

        async def forgotten() -> bool:
            rows = await oak.node.store.fetch_all("SELECT peer FROM declared_partners")
            return not rows and not interests._known and not interests._sent

        await wait_for(forgotten, what="what the partners declared, forgotten at oak")


async def test_a_node_holding_by_horizon_is_not_behind_on_logs_it_does_not_want(
    tmp_path: Path,
) -> None:
    names = ("oak", "lycee", "colegio", "far")
    async with started(tmp_path, names) as nodes:
        oak, lycee, far = nodes["oak"], nodes["lycee"], nodes["far"]
        await choose(oak.node.store, HORIZON_MODE, (), ())
        # oak - lycee - colegio - far: far is beyond oak's horizon; lycee holds every log,
        # far's too when oak first connects.
        for a, b in (("lycee", "colegio"), ("colegio", "far")):
            await partner(nodes[a], nodes[b])
        posted = await far.node.offers.post("offer", offer("Rowing on the coast"))
        await wait_for(lambda: lycee.holds(posted.id), what="far's offer at lycee")
        await partner(oak, lycee)

        async def caught_up() -> bool:
            session = oak.service.peers.sessions.get(lycee.node.node_id)
            return session is not None and session.opened and await session.behind() == 0

        await wait_for(caught_up, what="oak's session with lycee counting nothing behind")
        assert await oak.node.store.head(far.node.node_id) is None  # far's log is not held
        # A log it does want (its partner's, in its horizon) counts: two entries told of
        # by a heads frame, and not held yet.
        session = oak.service.peers.sessions[lycee.node.node_id]
        held = await oak.node.store.head(lycee.node.node_id)
        session.sync.level([(lycee.node.node_id, (0 if held is None else held.seq) + 2)])
        assert await session.behind() == 2


async def test_what_a_catchup_remembers_of_a_partner_goes_when_it_is_removed(
    tmp_path: Path,
) -> None:
    async with started(tmp_path, ("oak", "lycee")) as nodes:
        for name in ("oak", "lycee"):
            await choose(nodes[name].node.store, HORIZON_MODE, (), ())
        oak, lycee = nodes["oak"], nodes["lycee"]
        await partner(oak, lycee)
        catchups = oak.service.peers.catchups
        it = lycee.node.node_id

        async def caught_up() -> bool:  # oak caught lycee up, and answered lycee's
            return it in catchups._completed and it in catchups._answered

        await wait_for(caught_up, what="both catch-ups between oak and lycee")
        await oak.node.peerbook.remove(lycee.node.node_id)

        async def forgotten() -> bool:
            return not any(
                it in table
                for table in (
                    catchups._began,
                    catchups._completed,
                    catchups._completed_for,
                    catchups._answered,
                    catchups.sent,
                    catchups.not_kept,
                )
            )

        await wait_for(forgotten, what="what oak's catch-ups remember of lycee, forgotten")


async def test_an_answer_from_beyond_the_horizon_reaches_the_asking_school(
    tmp_path: Path,
) -> None:
    """oak - lycee - colegio - gesamt - far: far, in the South and matching none of
    the filters of the schools holding by horizon, answers oak's question; the answer
    travels back along the nodes that hold the question, alone beyond far's horizon."""
    names = ("oak", "lycee", "colegio", "gesamt", "far")
    async with started(tmp_path, names) as nodes:
        oak, lycee, far = nodes["oak"], nodes["lycee"], nodes["far"]
        for name in names[:-1]:
            await choose(nodes[name].node.store, HORIZON_MODE, (), ())
            await nodes[name].node.update_profile(**NORTH)
        await choose(far.node.store, EVERYTHING_MODE, (), ())  # it keeps oak's question
        await far.node.update_profile(region="South")
        for a, b in itertools.pairwise(names):
            await partner(nodes[a], nodes[b])
        asked = await oak.node.questions.ask({"title": "Phonics?", "text": "Which scheme?"})

        async def far_holds_it() -> bool:
            return await far.holds(asked.id)

        await wait_for(far_holds_it, within=60, what="oak's question at far")
        answer = await far.node.questions.answer(str(asked.id), "Letters and Sounds.")

        async def oak_holds_the_answer() -> bool:
            return await oak.holds(answer.id)

        await wait_for(oak_holds_the_answer, within=60, what="far's answer at oak")
        assert await oak.node.store.head(far.node.node_id) is None  # alone, not far's log
        assert await lycee.node.store.head(far.node.node_id) is None
        shown = (await oak.node.questions.one(str(asked.id))).as_json(with_answers=True)
        assert [a["text"] for a in shown["answers"]] == ["Letters and Sounds."]


async def test_the_next_session_declares_the_same_list_by_its_digest_alone(
    tmp_path: Path,
) -> None:
    """Both hold by horizon: the list sent whole in the first session goes as its digest
    alone in the next (``_sent``, keyed by the peer's NodeId), and the peer, keeping the
    list it was sent (``_known``, likewise), takes it without asking for it again."""
    oak = await LiveNode.start(tmp_path / "oak", "Oak")
    lycee = await LiveNode.start(tmp_path / "lycee", "Lycee")
    try:
        for live in (oak, lycee):
            await choose(live.node.store, HORIZON_MODE, (), ())
        await partner(oak, lycee)
        here, there = oak.service.peers, lycee.service.peers

        def declared(after: object = None) -> bool:
            mine = here.sessions.get(lycee.node.node_id)
            theirs = there.sessions.get(oak.node.node_id)
            return (
                mine is not None
                and theirs is not None
                and mine is not after
                and not mine.closing
                and mine in here.interests._digest_here
                and there.interests.declared.get(theirs) is not None
            )

        async def first_declared() -> bool:
            return declared()

        await wait_for(first_declared, what="oak's list taken by lycee")
        first = here.sessions[lycee.node.node_id]
        assert here.interests._digest_here[first][1]  # whole, the first time
        await first.close()  # oak dials again, or lycee does

        async def next_declared() -> bool:
            return declared(first)

        await wait_for(next_declared, within=30, what="oak's declaration in the next session")
        session = here.sessions[lycee.node.node_id]
        digest = here.interests._sent[lycee.node.node_id]
        assert here.interests._digest_here[session] == (digest, False)  # digest alone, not asked
    finally:
        await oak.stop()
        await lycee.stop()


async def test_a_target_arriving_after_its_tombstone_still_says_what_was_withdrawn(
    tmp_path: Path,
) -> None:
    """far (of oak's region, outside its horizon) posts an offer and withdraws it; the
    hub holds far's log up to the offer (it missed the withdrawal). Oak gets the
    withdrawal first, alone (a tombstone); then oak's staff follow far, and its log up
    to the offer comes whole from the hub, the offer with its content, stored erased.
    Oak's page of the withdrawn offer says what it was, as far's own does (offer, then
    withdrawal): the same title, side and kind (issue 23, withdrawal loose ends)."""
    async with started(tmp_path, ("oak", "hub", "far")) as nodes:
        oak, hub, far = nodes["oak"], nodes["hub"], nodes["far"]
        await choose(oak.node.store, HORIZON_MODE, (), ())
        await oak.node.update_profile(**NORTH)
        await far.node.update_profile(**NORTH)
        posted = await far.node.offers.post("offer", offer("Phonics in the North", **NORTH))
        before = await far.node.store.entries_after(far.node.node_id, 0, 100)
        withdrawal = await far.node.offers.withdraw("offer", str(posted.id), "Fully booked")
        await partner(oak, hub)
        await sessions_open(hub, oak)
        profiles = [e for e in before if e.kind == "profile"]
        await send_alone(session_of(hub, oak), [*profiles, withdrawal])
        await wait_for(lambda: oak.holds(withdrawal.id), what="the tombstone at oak")
        await hold(hub.node, before)  # now: else its catch-up of oak brings the offer first
        assert not await oak.holds(posted.id)
        await choose(oak.node.store, None, (bytes(far.node.node_id),), ())  # followed by hand

        async def far_whole() -> bool:
            head = await oak.node.store.head(far.node.node_id)
            return head is not None and head.id == posted.id

        await wait_for(far_whole, within=60, what="far's log whole at oak, from the hub")
        assert (await oak.node.store.get(posted.id)).content is None  # type: ignore[union-attr]
        fields = ("id", "side", "kind", "title", "school", "reason", "withdrawn_at")
        mine = (await far.node.offers.withdrawn(str(posted.id))).as_json()
        theirs = (await oak.node.offers.withdrawn(str(posted.id))).as_json()
        assert mine["title"] == "Phonics in the North"
        assert {f: theirs[f] for f in fields} == {f: mine[f] for f in fields}
