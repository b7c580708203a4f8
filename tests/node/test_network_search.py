"""Search beyond the node's view between real nodes on loopback (node/net/search.py)."""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.net.search import Outcome
from node.store.search import Filters
from node.web.pages.offers import NETWORK_BELOW
from protocol import search as rules
from protocol.keys import EntryId
from tests.helpers import run_cli
from tests.network import COLEGIO, GESAMT, LYCEE, OAK, LiveNode, network, wait_for
from tests.web.web import add_user, client, http_sign_in

OFFER = {"activity": "observation", "title": "Phonics lessons open to visitors", "country": "ES"}


async def _post_unrelayed(live: LiveNode, content: dict[str, Any]) -> bytes:
    """Post an offer that its node keeps to itself: it does not relay it, as a node keeps
    what lies outside its partners' horizons (docs/scale.md, Decision 1)."""
    peers = live.service.peers
    relay = peers.entries_stored
    peers.entries_stored = lambda authors, source, heads=None: None  # type: ignore[method-assign]
    try:
        entry = await live.node.offers.post("offer", content)
    finally:
        peers.entries_stored = relay  # type: ignore[method-assign]
    return bytes(entry.id)


async def _opened(*pairs: tuple[LiveNode, LiveNode]) -> None:
    async def ready() -> bool:
        for a, b in pairs:
            session = a.service.peers.sessions.get(b.node.node_id)
            if session is None or not session.opened:
                return False
        return True

    await wait_for(ready, what="sessions open")


async def test_a_network_search_finds_what_a_partners_partner_holds(tmp_path: Path) -> None:
    async with network(
        tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("lycee", "colegio")]
    ) as n:
        a, b, c = n["oak"], n["lycee"], n["colegio"]
        await _opened((a, b), (b, c))
        offer = await _post_unrelayed(c, OFFER)
        assert not await a.holds(offer)  # type: ignore[arg-type]

        local = await a.node.offers.search("phonics", _filters())
        assert local == []
        outcome: Outcome = await a.service.peers.search.ask({"country": "ES"}, "phonics")
        assert [bytes(f.entry.id) for f in outcome.found] == [offer]
        assert outcome.found[0].via == b.node.node_id
        assert outcome.schools[c.node.node_id] == ("Colegio San Marcos", "ES")
        assert outcome.asked == 2  # B and C answered
        # A does not take it into its log: it is kept apart, for a day.
        assert not await a.holds(offer)  # type: ignore[arg-type]

        # Another filter: nothing, and C's offer is not sent.
        other = await a.service.peers.search.ask({"country": "FR"}, "phonics")
        assert other.found == []

        # Blocking C forgets what was found of it beyond the view, as all it wrote.
        assert await _loose_of(a, c) == 2  # its offer and its profile
        await a.node.peerbook.block(c.node.node_id, a.node.node_id, now_ms())
        assert await _loose_of(a, c) == 0


async def _loose_of(live: LiveNode, school: LiveNode) -> int:
    rows = await live.node.store.fetch_all(
        "SELECT count(*) FROM loose_results WHERE author = ?", (bytes(school.node.node_id),)
    )
    return int(rows[0][0])


async def test_a_hub_is_asked_and_partners_besides(tmp_path: Path) -> None:
    """A hub answers alone, but partners are asked besides: a peer whose profile claims
    a hub covering everything cannot capture its partners' searches."""
    schools = [OAK, LYCEE, COLEGIO, GESAMT]
    links = [("oak", "lycee"), ("oak", "gesamt"), ("lycee", "colegio")]
    async with network(tmp_path, schools, links) as n:
        a, b, c, hub = n["oak"], n["lycee"], n["colegio"], n["gesamt"]
        await hub.node.update_profile(hub={})  # holds every public entry
        await wait_for(
            lambda: _profile_has_hub(a, hub), what="the hub's profile at the asking school"
        )
        await _opened((a, b), (a, hub), (b, c))
        offer = await _post_unrelayed(hub, OFFER)
        beyond = await _post_unrelayed(c, {**OFFER, "title": "Phonics mornings"})

        outcome = await a.service.peers.search.ask({}, "phonics")
        via = {bytes(f.entry.id): f.via for f in outcome.found}
        assert via == {offer: hub.node.node_id, beyond: b.node.node_id}
        assert outcome.asked == 3  # the hub, the partner, and the partner's partner
        # The hub is known as one by its profile (looked up by the session's NodeId):
        # it answers alone, with a budget of one and no hops.
        budget = rules.Budget(rules.MAX_BUDGET, rules.MAX_HOPS)
        targets = await a.service.peers.search._targets({}, budget, None)
        shares = {s.peer: share for s, share in targets}
        assert shares[hub.node.node_id] == rules.Budget(1, 0)


async def _profile_has_hub(a: LiveNode, hub: LiveNode) -> bool:
    profile = await a.node.store.latest_profile(hub.node.node_id) or {}
    return "hub" in profile


def _filters() -> Filters:
    return Filters()


async def test_the_command_line_searches_the_network_through_the_running_node(
    tmp_path: Path,
) -> None:
    async with network(
        tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("lycee", "colegio")]
    ) as n:
        a, b, c = n["oak"], n["lycee"], n["colegio"]
        await _opened((a, b), (b, c))
        offer = await _post_unrelayed(c, OFFER)
        data = str(a.node.data.path)
        done = await asyncio.to_thread(
            run_cli, "search", "phonics", "--country", "ES", "--network", "--data", data, "--json"
        )
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        assert row["id"] == str(EntryId(offer))
        assert (row["beyond"], row["via"]) == (True, str(b.node.node_id))
        assert row["school"] == "Colegio San Marcos"

        done = await asyncio.to_thread(
            run_cli, "search", "phonics", "--side", "question", "--network", "--data", data
        )
        assert done.returncode != 0
        assert "offers and requests only" in done.stderr


async def test_the_command_line_says_the_node_must_run(tmp_path: Path) -> None:
    live = await LiveNode.start(tmp_path / "oak", "Oakfield Primary")
    data = str(live.node.data.path)
    await live.stop()
    done = await asyncio.to_thread(run_cli, "search", "phonics", "--network", "--data", data)
    assert done.returncode != 0
    assert "schoolmesh run" in done.stderr


async def test_the_offers_page_shows_what_lies_beyond_the_school_view(tmp_path: Path) -> None:
    async with network(
        tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("lycee", "colegio")]
    ) as n:
        a, b, c = n["oak"], n["lycee"], n["colegio"]
        await _opened((a, b), (b, c))
        await _post_unrelayed(c, OFFER)
        await a.node.offers.post("offer", {**OFFER, "title": "Phonics at Oakfield"})
        await add_user(a, "Ms Hill", "staff")
        async with client(a) as http:
            await http_sign_in(http, "Ms Hill")
            # Few results: the staff member's words stay here unless they click.
            async with http.get("/offers", params={"q": "phonics"}) as response:
                page = html.unescape(await response.text())
            assert "Phonics at Oakfield" in page
            assert "From beyond your school's view" not in page
            assert "Search the whole network" in page
            async with http.get("/offers", params={"q": "phonics", "network": "1"}) as response:
                page = html.unescape(await response.text())
            assert "Phonics lessons open to visitors" in page
            # The school's admin lets the page search the network by itself when few match.
            data = str(a.node.data.path)
            done = await asyncio.to_thread(
                run_cli, "network-search", "on", "--data", data, "--json"
            )
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == {"automatic": True}
            async with http.get("/offers", params={"q": "phonics mornings"}) as response:
                page = html.unescape(await response.text())
            assert "Search the whole network" not in page
            async with http.get("/offers", params={"q": "phonics"}) as response:
                page = html.unescape(await response.text())
            assert "From beyond your school's view" in page
            assert "Phonics lessons open to visitors" in page
            assert "Colegio San Marcos" in page
            assert "found through Lycée Jean Moulin" in page
            assert "2 other schools' nodes answered." in page
            # No search yet: the newest offers, and no link to the network.
            async with http.get("/offers") as response:
                page = html.unescape(await response.text())
            assert "Search the whole network" not in page
            assert "From beyond" not in page


async def test_many_results_offer_a_link_to_search_the_network(tmp_path: Path) -> None:
    live = await LiveNode.start(tmp_path / "oak", "Oakfield Primary")
    try:
        for i in range(NETWORK_BELOW):
            await live.node.offers.post("offer", {**OFFER, "title": f"Phonics week {i}"})
        await add_user(live, "Ms Hill", "staff")
        async with client(live) as http:
            await http_sign_in(http, "Ms Hill")
            async with http.get("/offers", params={"q": "phonics"}) as response:
                page = html.unescape(await response.text())
            assert "Search the whole network" in page
            assert "/offers?q=phonics&amp;network=1" in await response.text()
            # No peer to ask: the page says nothing of the network, and fails nothing.
            async with http.get("/offers", params={"q": "phonics", "network": "1"}) as response:
                assert response.status == 200
                page = html.unescape(await response.text())
            assert "Search the whole network" not in page
            assert "beyond your school's view" not in page
            # Words too long to send: this node's results only, no error.
            long = {"q": "phonics " * 40, "network": "1"}
            async with http.get("/offers", params=long) as response:
                assert response.status == 200
        with pytest.raises(ValueError, match="at most 200 characters"):
            await live.service.peers.search.ask({}, "phonics " * 40)
        with pytest.raises(ValueError, match="filter country"):
            await live.service.peers.search.ask({"country": ""}, "phonics")
    finally:
        await live.stop()


def test_large_answers_are_split_under_the_frame_limit() -> None:
    from node.net.search import answer_frames
    from protocol import frames

    wires = [bytes(60_000)] * 40 + [b"x"] * 300  # 2.4 MB, then many small ones
    split = answer_frames(b"q" * 16, wires, final=True, asked=2)
    assert [w for f in split for w in f.entries] == wires
    for frame in split:
        assert len(frames.encode(frame)) <= frames.MAX_FRAME_BYTES
        assert len(frame.entries) <= frames.MAX_ANSWER_ENTRIES
        frames.decode(frames.encode(frame))
    assert [(f.final, f.asked) for f in split][-1] == (True, 2)
    assert not any(f.final for f in split[:-1])
    assert answer_frames(b"q" * 16, [], final=True, asked=1) == [
        frames.Answers(b"q" * 16, [], final=True, asked=1)
    ]


async def test_the_school_of_a_result_comes_with_the_answers_when_not_held_here(
    tmp_path: Path,
) -> None:
    """A school whose profile this node does not hold is named by the profile that came
    with the answers (``Outcome.schools``, keyed by ``NodeId``): the command line and
    the offers page look it up by the entry's author, not as an unknown school."""
    async with network(
        tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("lycee", "colegio")]
    ) as n:
        a, b, c = n["oak"], n["lycee"], n["colegio"]
        await _opened((a, b), (b, c))
        await _post_unrelayed(c, OFFER)
        store = a.node.store
        async with store.write():  # as if C's profile had not reached oak
            await store.execute("DELETE FROM schools WHERE author = ?", (bytes(c.node.node_id),))
        assert await store.schools([c.node.node_id]) == {}
        data = str(a.node.data.path)
        done = await asyncio.to_thread(
            run_cli, "search", "phonics", "--country", "ES", "--network", "--data", data, "--json"
        )
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        assert (row["school"], row["country"]) == ("Colegio San Marcos", "ES")
        await add_user(a, "Ms Hill", "staff")
        async with client(a) as http:
            await http_sign_in(http, "Ms Hill")
            async with http.get("/offers", params={"q": "phonics", "network": "1"}) as response:
                page = html.unescape(await response.text())
        assert "Phonics lessons open to visitors" in page
        assert "Colegio San Marcos" in page
