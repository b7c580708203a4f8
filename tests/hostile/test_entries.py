"""A hostile school and public entries: what it signs with its own valid key reaches
us through a real session, and changes nothing that is not its own.

Three schools on loopback: Oakfield (the victim), the Lycée (the rogue) and the
Colegio (us). Oakfield and the Colegio each partner only with the Lycée, so
everything reaches us through the rogue's sessions, as through any relay. The rogue
signs entries with :func:`signed_as`, going round its own node's checks.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.store.search import Filters
from protocol import kinds
from protocol.entry import Entry, create_entry
from protocol.errors import NotFoundError
from tests.helpers import key, offer_content, run_cli
from tests.network import COLEGIO, EVERYTHING, LYCEE, OAK, LiveNode, network, wait_for
from tests.web.web import add_user, client, http_sign_in

Schools = dict[str, LiveNode]


@pytest.fixture
async def trio(tmp_path: Path) -> AsyncIterator[Schools]:
    async with network(  # a made-up school's entries relayed: whole, holding is not the point
        tmp_path,
        (OAK, LYCEE, COLEGIO),
        [("oak", "lycee"), ("lycee", "colegio")],
        holding=EVERYTHING,
    ) as nodes:
        yield nodes


async def signed_as(
    rogue: LiveNode, kind: str, content: dict[str, Any], *, ahead_ms: int = 0
) -> Entry:
    """The next entry of ``rogue``'s log, signed with its real key and stored at its
    node without asking any rule: what a modified node would publish."""
    store, key_ = rogue.node.store, rogue.node.key
    async with store.write():
        head = await store.head(key_.node_id)
        entry = create_entry(
            key_,
            seq=1 if head is None else head.seq + 1,
            prev=None if head is None else head.id,
            timestamp=now_ms() + ahead_ms,
            kind=kind,
            content=content,
        )
        await store._insert([entry], now_ms())
    return entry


async def arrives(node: LiveNode, entry: Entry) -> None:
    await wait_for(lambda: node.holds(entry.id), what=f"entry {entry.id} at {node.node}")


async def cli_json(node: LiveNode, *args: str) -> Any:
    """Run ``schoolmesh ARGS --data <node> --json`` in a subprocess; its parsed output."""
    done = await asyncio.to_thread(run_cli, *args, "--data", str(node.node.data.path), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _event(title: str, start: str = "2030-03-04T16:00+01:00") -> dict[str, Any]:
    return {"title": title, "start": start, "end": start.replace("16:00", "18:00")}


# -- real bugs: each failed before its fix ---------------------------------------------


async def test_an_offer_with_bytes_in_an_unknown_field_does_not_break_json_output(
    trio: Schools,
) -> None:
    """Issue 18, item 7: ``offer list --json`` and ``search --json`` failed at every
    node holding it with "bytes is not JSON serializable"."""
    rogue, us = trio["lycee"], trio["colegio"]
    content = {**offer_content("Forest school visits"), "badge": b"\x00\xffzz"}
    entry = await signed_as(rogue, kinds.OFFER, content)
    await arrives(us, entry)

    listed = await cli_json(us, "offer", "list")
    (offer,) = [o for o in listed if o["id"] == str(entry.id)]
    assert offer["badge"] == {"$bin": "00ff7a7a"}
    found = await cli_json(us, "search", "forest")
    assert [o["id"] for o in found] == [str(entry.id)]
    assert found[0]["badge"] == {"$bin": "00ff7a7a"}


async def test_a_school_cannot_pass_its_offer_or_event_off_as_another_schools(
    trio: Schools,
) -> None:
    """Unknown content fields named like the listing's own (``school_id``, ``school``,
    ``id``, ``posted_at``) replaced them in every ``--json`` output."""
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    forged = {
        "id": "0" * 64,
        "side": "request",
        "school_id": str(victim.node.node_id),
        "school": "Oakfield Primary",
        "posted_at": "2020-01-01T00:00:00Z",
        "status": "cancelled",
        "sequence": 99,
    }
    offer = await signed_as(rogue, kinds.OFFER, {**offer_content("Free tablets"), **forged})
    event = await signed_as(rogue, kinds.EVENT, {**_event("Free tablets day"), **forged})
    await arrives(us, event)

    rogue_id = str(rogue.node.node_id)
    for listed in (await cli_json(us, "offer", "list"), await cli_json(us, "search", "tablets")):
        (row,) = [o for o in listed if o["title"] == "Free tablets"]
        assert (row["id"], row["side"], row["school_id"]) == (str(offer.id), "offer", rogue_id)
        assert row["school"] == "Lycée Jean Moulin"
        assert row["posted_at"] != forged["posted_at"]
    (row,) = [e for e in await cli_json(us, "event", "list") if e["title"] == "Free tablets day"]
    assert (row["id"], row["school_id"], row["school"]) == (
        str(event.id),
        rogue_id,
        "Lycée Jean Moulin",
    )
    assert (row["status"], row["sequence"]) == ("confirmed", 0)
    # The pages build on the same listing: the offer's page names its real school.
    await add_user(us, "Sra. Ruiz", "staff")
    async with client(us) as http:
        await http_sign_in(http, "Sra. Ruiz")
        async with http.get(f"/offers/{offer.id}") as response:
            page = html.unescape(await response.text())
    assert response.status == 200
    assert "Lycée Jean Moulin" in page
    assert "Oakfield Primary" not in page


async def test_an_event_at_the_edge_of_the_calendar_is_refused_and_calendars_still_export(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    """An event ending on 9999-12-31 at -05:00 (valid by its schema) was stored, and
    then every school's calendar export failed (``OverflowError``)."""
    caplog.set_level(logging.INFO)
    rogue, us = trio["lycee"], trio["colegio"]
    bad = await signed_as(
        rogue, kinds.EVENT, _event("The last TeachMeet", "9999-12-31T16:00-05:00")
    )

    def refused() -> bool:
        return any("must be a day from" in r.getMessage() for r in caplog.records)

    async def judged() -> bool:
        return refused() or await us.holds(bad.id)

    await wait_for(judged, what="the event to be judged at the Colegio")
    assert not await us.holds(bad.id)
    assert b"BEGIN:VCALENDAR" in await us.node.events.ics()
    assert [e for e in await us.node.events.every() if e.author == rogue.node.node_id] == []


async def test_the_latest_event_allowed_still_exports_in_any_time_zone(trio: Schools) -> None:
    """The bound leaves room: the last instant allowed, at the largest offset behind
    UTC, shown in the zone furthest ahead of it (+14:00), still exports."""
    rogue, us = trio["lycee"], trio["colegio"]
    late = {
        "title": "The very last TeachMeet",
        "start": "9998-12-31T20:00-23:59",
        "end": "9998-12-31T23:59-23:59",
        "tz": "Pacific/Kiritimati",
    }
    entry = await signed_as(rogue, kinds.EVENT, late)
    await arrives(us, entry)
    assert b"The very last TeachMeet" in await us.node.events.ics()


# -- regressions: these held before, and must keep holding --------------------------------


async def test_a_school_cannot_withdraw_another_schools_offer(trio: Schools) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    offer = await victim.node.offers.post("offer", offer_content("Phonics in Year 1"))
    await arrives(us, offer)
    withdrawal = await signed_as(
        rogue, kinds.WITHDRAW, {"target": bytes(offer.id), "reason": "spam"}
    )
    await arrives(us, withdrawal)

    held = await us.node.store.get(offer.id)
    assert held is not None
    assert held.content == offer.content
    found = await us.node.offers.search("phonics", Filters.of(None))
    assert [item.entry.id for item in found] == [offer.id]


async def test_a_withdrawal_arriving_before_another_schools_entry_does_not_erase_it(
    trio: Schools,
) -> None:
    """The rogue withdraws an entry we do not hold yet; when the entry arrives (from
    its real author), it keeps its content."""
    rogue, us = trio["lycee"], trio["colegio"]
    theirs = create_entry(
        key(9), seq=1, prev=None, timestamp=now_ms(), kind=kinds.OFFER, content=offer_content()
    )
    withdrawal = await signed_as(rogue, kinds.WITHDRAW, {"target": bytes(theirs.id)})
    await arrives(us, withdrawal)
    await rogue.node.store.ingest([theirs], now_ms())
    await arrives(us, theirs)

    held = await us.node.store.get(theirs.id)
    assert held is not None
    assert held.content == theirs.content


async def test_a_withdrawal_by_another_school_gives_no_withdrawn_page_nor_reason(
    trio: Schools,
) -> None:
    """Withdrawn offers keep a page with their reason: a rogue's withdrawal of an entry
    that is not its own, even one we did not hold yet, must not make one."""
    rogue, us = trio["lycee"], trio["colegio"]
    author = key(9)
    theirs = create_entry(
        author, seq=1, prev=None, timestamp=now_ms(), kind=kinds.OFFER, content=offer_content()
    )
    withdrawal = await signed_as(
        rogue, kinds.WITHDRAW, {"target": bytes(theirs.id), "reason": "closed for good"}
    )
    await arrives(us, withdrawal)
    with pytest.raises(NotFoundError):  # whose it is cannot be known yet
        await us.node.offers.withdrawn(str(theirs.id))
    assert await us.node.store.withdrawn(theirs.id, author.node_id) is None
    await rogue.node.store.ingest([theirs], now_ms())
    await arrives(us, theirs)

    with pytest.raises(NotFoundError):
        await us.node.offers.withdrawn(str(theirs.id))
    assert await us.node.store.withdrawn(theirs.id, rogue.node.node_id) is None
    assert (await us.node.offers.one(str(theirs.id))).entry.content == theirs.content


async def test_a_school_cannot_cancel_another_schools_event(trio: Schools) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    event = await victim.node.events.create(_event("Oracy TeachMeet"))
    await arrives(us, event)
    withdrawal = await signed_as(rogue, kinds.WITHDRAW, {"target": bytes(event.id)})
    await arrives(us, withdrawal)

    (view,) = [e for e in await us.node.events.every() if e.id == event.id]
    assert not view.cancelled
    assert view.content["title"] == "Oracy TeachMeet"
    assert b"STATUS:CANCELLED" not in await us.node.events.ics()


async def test_a_school_cannot_publish_a_new_version_of_another_schools_event(
    trio: Schools,
) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    event = await victim.node.events.create(_event("Oracy TeachMeet"))
    await arrives(us, event)
    content = {**_event("Oracy TeachMeet: moved online"), "replaces": bytes(event.id)}
    forged = await signed_as(rogue, kinds.EVENT, content)
    await arrives(us, forged)

    views = {e.id: e for e in await us.node.events.every()}
    assert views[event.id].content["title"] == "Oracy TeachMeet"
    assert views[event.id].author == victim.node.node_id
    assert views[event.id].sequence == 0
    # The rogue's entry is an event of its own, under its own name.
    assert views[forged.id].author == rogue.node.node_id


async def test_a_schools_profile_names_only_itself(trio: Schools) -> None:
    """A profile claiming another school's name changes that school's name nowhere;
    the two are told apart by node id (docs/security.md, "Threat model")."""
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    profile = await signed_as(
        rogue, kinds.PROFILE, {"name": "Oakfield Primary", "country": "GB", "relays": []}
    )
    await arrives(us, profile)
    names = await us.node.store.schools([victim.node.node_id, rogue.node.node_id])
    assert names[victim.node.node_id] == ("Oakfield Primary", "GB")
    assert names[rogue.node.node_id] == ("Oakfield Primary", "GB")
    assert victim.node.node_id != rogue.node.node_id


async def test_an_offer_dated_ahead_of_our_clock_is_not_stored(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    """Times within the allowed skew: ten minutes ahead is refused (`future-timestamp`,
    docs/protocol.md, "Decoding an entry", step 8) and never shown."""
    caplog.set_level(logging.INFO)
    rogue, us = trio["lycee"], trio["colegio"]
    early = await signed_as(
        rogue, kinds.OFFER, offer_content("Top of the list"), ahead_ms=10 * 60_000
    )

    async def judged() -> bool:
        refused = any("future-timestamp" in r.getMessage() for r in caplog.records)
        return refused or await us.holds(early.id)

    await wait_for(judged, what="the offer to be judged at the Colegio")
    assert not await us.holds(early.id)
    assert [o.entry.id for o in await us.node.offers.listing("offer")] == []
