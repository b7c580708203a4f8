"""Interest, answers and arrangements across real nodes on loopback, real SQLite.

Three schools, all partners of each other: Oakfield posts offers, the Lycée is
interested, and Colegio (a partner of both) must never hold what they say.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from node.offers.interests import Interest
from protocol import letters
from protocol.errors import NotAllowedError, NotFoundError, UserInputError
from protocol.keys import EntryId
from tests.helpers import Trips, offer_content
from tests.network import (
    COLEGIO,
    LYCEE,
    OAK,
    LiveNode,
    files_contain,
    holding_everything,
    network,
    wait_for,
)

SECRET = "Quetzal-4411: our deputy could come on the Tuesday"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio")]
    async with network(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


async def posted(schools: dict[str, LiveNode], title: str, **extra: object) -> EntryId:
    """An offer from Oakfield, once every school holds it."""
    content = {"activity": "shadowing", "title": title, "from": "2030-03-08", "to": "2030-03-19"}
    entry = await schools["oak"].node.offers.post("offer", {**content, **extra})

    async def everywhere() -> bool:
        return all([await live.holds(entry.id) for live in schools.values()])

    await wait_for(everywhere, what=f"{title} everywhere")
    return entry.id


async def seen(live: LiveNode, iid: str, state: str) -> Interest:
    async def arrived() -> bool:
        return any(i.id == iid and i.state == state for i in await live.node.interests.all())

    await wait_for(arrived, what=f"interest {state}")
    return await live.node.interests.get(iid)


async def test_interest_reaches_the_posting_school_only_and_accepting_arranges_it(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    entry = await posted(schools, "Shadow our deputy head in March")
    sent = await lycee.node.interests.send(str(entry)[:10], SECRET, by="Mme Durand", now=now_ms())
    assert (sent.direction, sent.state, sent.school, sent.partner) == (
        "sent",
        "open",
        "Oakfield Primary",
        True,
    )
    received = await seen(oak, sent.id, "open")
    assert (received.direction, received.message, received.by, received.school) == (
        "received",
        SECRET,
        "Mme Durand",
        "Lycée Jean Moulin",
    )
    assert received.title == "Shadow our deputy head in March"

    accepted = await oak.node.interests.accept(
        sent.id[:8], message="Welcome! Ask for reception.", by="Mr Hughes", now=now_ms()
    )
    assert accepted.arrangement is not None
    at_lycee = await seen(lycee, sent.id, "accepted")
    for view in (accepted, at_lycee):
        arrangement = view.arrangement
        assert arrangement is not None
        assert (arrangement.starts, arrangement.ends) == ("2030-03-08", "2030-03-19")
        assert (arrangement.interested.school, arrangement.interested.staff) == (
            "Lycée Jean Moulin",
            "Mme Durand",
        )
        assert (arrangement.posting.school, arrangement.posting.staff) == (
            "Oakfield Primary",
            "Mr Hughes",
        )
    assert at_lycee.answer == "Welcome! Ask for reception."
    assert at_lycee.as_json()["arrangement"]["posting"]["staff"] == "Mr Hughes"

    # Colegio is a partner of both, and online all along: a later entry from each
    # reaches it, yet it never held the interest, sealed or not.
    marker = await lycee.node.offers.post("request", {"activity": "visit", "title": "Marker"})
    await wait_for(lambda: colegio.holds(marker.id), what="a later entry at Colegio")
    assert await colegio.node.interests.all() == []
    for needle in (SECRET, "Welcome! Ask for reception.", "Mme Durand"):
        assert files_contain(colegio.node.data.path, needle.encode()) == []
        assert files_contain(oak.node.data.path, needle.encode())  # the test can see it


async def test_decline_flows_back_and_answers_happen_once(schools: dict[str, LiveNode]) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    entry = await posted(schools, "Year 6 writing moderation")
    sent = await lycee.node.interests.send(str(entry), "Could we join?", by=None, now=now_ms())
    with pytest.raises(UserInputError, match="already sent interest"):
        await lycee.node.interests.send(str(entry), "Again?", by=None, now=now_ms())
    with pytest.raises(NotAllowedError, match="only the school that posted"):
        await lycee.node.interests.accept(sent.id, now=now_ms())
    await seen(oak, sent.id, "open")
    await oak.node.interests.decline(sent.id, message="Full this year, sorry", now=now_ms())
    declined = await seen(lycee, sent.id, "declined")
    assert (declined.answer, declined.arrangement) == ("Full this year, sorry", None)
    with pytest.raises(UserInputError, match="already declined"):
        await oak.node.interests.accept(sent.id, now=now_ms())


async def test_bad_requests_are_refused_with_what_to_do(schools: dict[str, LiveNode]) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    entry = await posted(schools, "Phonics lessons to observe")
    closed = await posted(schools, "Closed offer", closes="2020-01-10", **{"from": "2020-01-01"})
    send = lycee.node.interests.send
    with pytest.raises(UserInputError, match="your own school's"):
        await oak.node.interests.send(str(entry), "Hello", by=None, now=now_ms())
    with pytest.raises(UserInputError, match="has closed"):
        await send(str(closed), "Hello", by=None, now=now_ms())
    with pytest.raises(UserInputError, match="write a short message"):
        await send(str(entry), "   ", by=None, now=now_ms())
    with pytest.raises(UserInputError, match="2,000 characters"):
        await send(str(entry), "x" * 2001, by=None, now=now_ms())
    with pytest.raises(NotFoundError, match="no entry starts with"):
        await send("abcdef0123", "Hello", by=None, now=now_ms())
    with pytest.raises(NotFoundError, match="not an offer or request"):
        await send(str(await lycee.profile_id()), "Hello", by=None, now=now_ms())
    with pytest.raises(NotFoundError, match="interest list"):
        await oak.node.interests.accept("0123456789", now=now_ms())
    await oak.node.offers.withdraw("offer", str(entry))
    await wait_for(lambda: _withdrawn(lycee, entry), what="the withdrawal at the Lycée")
    with pytest.raises(UserInputError, match="withdrawn"):
        await send(str(entry), "Hello", by=None, now=now_ms())


async def _withdrawn(live: LiveNode, entry: EntryId) -> bool:
    held = await live.node.store.get(entry)
    return held is not None and held.content is None


async def test_forged_and_misdirected_letters_are_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    entry = await posted(schools, "Lesson study cycle")
    sent = await lycee.node.interests.send(str(entry), "We'd love to", by=None, now=now_ms())
    await seen(oak, sent.id, "open")
    caplog.set_level(logging.WARNING, logger="node.mail.mailroom")

    # Colegio answers the Lycée's interest as if it had posted the offer.
    forged = {"id": sent.id, "answer": "accepted", "message": "Yes!"}
    await colegio.node.mail.send(
        letters.INTEREST_ANSWER, forged, [lycee.node.node_id], about=None, now=now_ms()
    )
    # Colegio claims interest in an offer that is the Lycée's own request, at Oakfield.
    marker = await lycee.node.offers.post("request", {"activity": "visit", "title": "Visit"})
    await wait_for(lambda: colegio.holds(marker.id), what="the request at Colegio")
    wrong = {"id": "ab" * 16, "entry": bytes(marker.id), "message": "Hi"}
    await colegio.node.mail.send(
        letters.INTEREST, wrong, [oak.node.node_id], about=None, now=now_ms()
    )
    # And a real interest, but copied to a third school.
    copied = {"id": "cd" * 16, "entry": bytes(entry), "message": "Hi all"}
    await colegio.node.mail.send(
        letters.INTEREST, copied, [oak.node.node_id, lycee.node.node_id], about=None, now=now_ms()
    )

    async def refused(count: int) -> bool:
        return sum("was refused" in r.getMessage() for r in caplog.records) >= count

    await wait_for(lambda: refused(4), what="four refusals")
    assert (await lycee.node.interests.get(sent.id)).state == "open"
    assert [i.id for i in await oak.node.interests.all()] == [sent.id]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "did not send to that school" in messages
    assert "not one of ours" in messages
    assert "also sent to other schools" in messages


async def test_every_interest_is_read_in_one_trip(tmp_path: Path) -> None:
    """The interests page reads every interest, with its school, partnership, withdrawal
    and proposed dates, in one trip, and one interest in one: they took 12 for these
    five (4, one more per interest, three per withdrawn offer) and 5 (issue 21, item 2)."""
    from node.node import Node

    async with (
        await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB") as oak,
        await Node.create(tmp_path / "lycee", name="Lycée Jean Moulin", country="FR") as lycee,
    ):
        await holding_everything(lycee)  # oak's entries, given before it is a partner
        posted = [await oak.offers.post("offer", offer_content(f"Visit {i}")) for i in range(5)]
        await lycee.store.ingest(await oak.store.entries_after(oak.node_id, 0, 20), now_ms())
        await lycee.peerbook.add(oak.node_id, None, now_ms())
        for entry in posted:
            await lycee.interests.send(str(entry.id), "We would love to", by=None, now=now_ms())
        await oak.offers.withdraw("offer", str(posted[0].id), "filled")
        await lycee.store.ingest(await oak.store.entries_after(oak.node_id, 6, 20), now_ms())
        with Trips(lycee.store) as trips:
            found = await lycee.interests.all()
        assert trips.count == 1
        assert [(i.title, i.school, i.partner, i.state) for i in found][-1] == (
            "Visit 0",
            "Oakfield Primary",
            True,
            "withdrawn",
        )
        assert found[-1].withdrawn is not None
        assert found[-1].withdrawn.reason == "filled"
        with Trips(lycee.store) as trips:
            one = await lycee.interests.get(found[0].id[:8])
        assert (trips.count, one) == (1, found[0])
