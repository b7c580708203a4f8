"""Booking letters (a date proposed for an arrangement, its acceptance) misused by
schools with valid keys: a school that is not party to the interest, one accepting its
own proposal, dates on an interest not accepted or whose offer was withdrawn, a copy to a
third school, and an event letter trying to rewrite the agreed date.

Oakfield (under attack) posts the offer; the Lycée's interest in it is accepted.
Colegio is a partner of both, and not party to the interest.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.offers.interests import booking_event_id
from protocol import letters
from tests.hostile.harness import judged, send_as
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, network, wait_for

DATE = {"start": "2030-03-12T09:00+01:00", "end": "2030-03-12T15:00+01:00"}


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio")]
    async with network(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


def refused_with(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "node.mail.mailroom"
        and "was refused" in r.getMessage()
        and words in r.getMessage()
    ]


async def bookings(school: LiveNode) -> list[Any]:
    return list(await school.node.store.fetch_all("SELECT id, state FROM bookings"))


async def interest(schools: dict[str, LiveNode], *, accept: bool = True) -> tuple[str, str]:
    """The Lycée's interest in an offer of Oakfield's (accepted unless told): its id."""
    oak, lycee = schools["oak"], schools["lycee"]
    entry = await oak.node.offers.post("offer", {"activity": "visit", "title": "Visit us"})
    await wait_for(lambda: lycee.holds(entry.id), what="the offer at the Lycée")
    sent = await lycee.node.interests.send(str(entry.id), "Keen", by=None, now=now_ms())

    async def arrived() -> bool:
        return any(i.id == sent.id for i in await oak.node.interests.all())

    await wait_for(arrived, what="the interest at Oakfield")
    if accept:
        await oak.node.interests.accept(sent.id, now=now_ms())

        async def answered() -> bool:
            return (await lycee.node.interests.get(sent.id)).state == "accepted"

        await wait_for(answered, what="the answer at the Lycée")
    return sent.id, str(entry.id)


async def test_a_school_not_party_to_the_interest_cannot_propose_or_accept(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, colegio = schools["oak"], schools["colegio"]
    iid, _ = await interest(schools)
    caplog.set_level(logging.WARNING)
    proposal = {"id": iid, "b": "c0" * 16, **DATE}
    await judged(colegio, await send_as(colegio, letters.BOOKING, proposal, [oak]))
    assert await bookings(oak) == []
    assert refused_with(caplog, "between other schools")
    # Oakfield proposes to the Lycée; Colegio tries to accept it.
    mine = await oak.node.interests.propose(
        iid, start=DATE["start"], end=DATE["end"], tz=None, now=now_ms()
    )
    assert mine.proposed is not None
    accept = {"id": iid, "b": mine.proposed.id}
    await judged(colegio, await send_as(colegio, letters.BOOKING_ACCEPT, accept, [oak]))
    assert (await oak.node.interests.get(iid)).agreed is None
    assert len(refused_with(caplog, "between other schools")) == 2


async def test_a_school_cannot_accept_its_own_proposal(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    iid, _ = await interest(schools)
    theirs = await lycee.node.interests.propose(
        iid, start=DATE["start"], end=DATE["end"], tz=None, now=now_ms()
    )
    assert theirs.proposed is not None

    async def arrived() -> bool:
        return len(await bookings(oak)) == 1

    await wait_for(arrived, what="the proposal at Oakfield")
    caplog.set_level(logging.WARNING)
    accept = {"id": iid, "b": theirs.proposed.id}
    await judged(lycee, await send_as(lycee, letters.BOOKING_ACCEPT, accept, [oak]))
    assert await bookings(oak) == [(theirs.proposed.id, "open")]
    assert not [e for e in await oak.node.events.listing() if e.private]
    assert refused_with(caplog, "did not make")


async def test_no_proposal_on_an_open_interest_or_copied_to_a_third_school(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    iid, _ = await interest(schools, accept=False)
    caplog.set_level(logging.WARNING)
    proposal = {"id": iid, "b": "c1" * 16, **DATE}
    await judged(lycee, await send_as(lycee, letters.BOOKING, proposal, [oak]))
    assert refused_with(caplog, "not accepted")
    await oak.node.interests.accept(iid, now=now_ms())
    copied = {**proposal, "b": "c2" * 16}
    await judged(lycee, await send_as(lycee, letters.BOOKING, copied, [oak, colegio]))
    assert refused_with(caplog, "also sent to other schools")
    assert await bookings(oak) == []
    assert await bookings(colegio) == []


async def test_no_proposal_after_the_offer_is_withdrawn(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    iid, entry = await interest(schools)
    await oak.node.offers.withdraw("offer", entry, "Closed for building work")
    caplog.set_level(logging.WARNING)
    proposal = {"id": iid, "b": "c3" * 16, **DATE}
    await judged(lycee, await send_as(lycee, letters.BOOKING, proposal, [oak]))
    assert await bookings(oak) == []
    assert refused_with(caplog, "was withdrawn")


async def test_an_event_letter_cannot_rewrite_the_agreed_date(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    iid, _ = await interest(schools)
    theirs = await lycee.node.interests.propose(
        iid, start=DATE["start"], end=DATE["end"], tz=None, now=now_ms()
    )
    assert theirs.proposed is not None

    async def arrived() -> bool:
        return len(await bookings(oak)) == 1

    await wait_for(arrived, what="the proposal at Oakfield")
    await oak.node.interests.accept_date(iid, now=now_ms())
    eid = booking_event_id(theirs.proposed.id)
    caplog.set_level(logging.WARNING)
    # The Lycée organises the agreed event (it proposed the date), and is Oakfield's
    # partner; it still cannot turn it into something else with an event letter.
    rewrite = {
        "id": eid,
        "rev": 2,
        "audience": "partners",
        "title": "Cancelled, pay us instead",
        "start": DATE["start"],
        "end": DATE["end"],
    }
    await judged(lycee, await send_as(lycee, letters.EVENT, rewrite, [oak]))
    (event,) = [e for e in await oak.node.events.listing() if e.private]
    assert event.content["title"] == "Visit us"
    assert refused_with(caplog, "another audience")


async def test_a_party_proposing_date_after_date_leaves_one_row(
    schools: dict[str, LiveNode],
) -> None:
    """The Lycée, party to the accepted interest, proposes forty dates under new ids:
    Oakfield keeps the newest open and deletes the ones it replaced."""
    oak, lycee = schools["oak"], schools["lycee"]
    iid, _ = await interest(schools)
    numbers: dict[LiveNode, int] = {}
    for n in range(40):
        proposal = {"id": iid, "b": f"{n:032x}", **DATE}
        numbers = await send_as(lycee, letters.BOOKING, proposal, [oak])
    await judged(lycee, numbers)
    assert await bookings(oak) == [(f"{39:032x}", "open")]
