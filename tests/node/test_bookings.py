"""Bookings across real nodes on loopback, real SQLite: two schools turn an accepted
interest into an agreed date, which becomes the same private event at both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from node.offers.interests import Interest
from node.partners.peerbook import PeerBook
from protocol.errors import UserInputError
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, network, wait_for

START, END = "2030-03-12T09:00+01:00", "2030-03-12T15:30+01:00"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio")]
    async with network(tmp_path, (OAK, LYCEE, COLEGIO), pairs) as nodes:
        yield nodes


async def until(live: LiveNode, iid: str, check: str) -> Interest:
    """The interest at ``live`` once ``check`` (an attribute path) holds."""

    async def arrived() -> bool:
        try:
            interest = await live.node.interests.get(iid)
        except Exception:
            return False
        return bool(_attr(interest, check))

    await wait_for(arrived, what=check)
    return await live.node.interests.get(iid)


def _attr(interest: Interest, check: str) -> object:
    if check == "accepted":
        return interest.state == "accepted"
    if check == "proposed":
        return interest.proposed is not None and not interest.proposed.ours
    if check == "agreed":
        return interest.agreed is not None
    raise AssertionError(check)


async def arranged(schools: dict[str, LiveNode], activity: str = "visit") -> tuple[str, str]:
    """An offer from Oakfield, interest from the Lycée, accepted: the interest's id."""
    oak, lycee = schools["oak"], schools["lycee"]
    content = {"activity": activity, "title": "Visit our forest school", "from": "2030-03-01"}
    entry = await oak.node.offers.post("offer", content)
    await wait_for(lambda: lycee.holds(entry.id), what="the offer at the Lycée")
    sent = await lycee.node.interests.send(
        str(entry.id), "We would love to", by="M. Roy", now=now_ms()
    )
    await wait_for(lambda: _has(oak, sent.id), what="the interest at Oakfield")
    await oak.node.interests.accept(sent.id, by="Mrs Patel", now=now_ms())
    await until(lycee, sent.id, "accepted")
    return sent.id, str(entry.id)


async def _has(live: LiveNode, iid: str) -> bool:
    return any(i.id == iid for i in await live.node.interests.all())


async def test_a_date_proposed_countered_and_accepted_is_an_event_at_both_schools(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    iid, _ = await arranged(schools)
    first = await lycee.node.interests.propose(
        iid,
        start=START,
        end=END,
        tz="Europe/Paris",
        where="",
        online=False,
        note="",
        by="M. Roy",
        now=now_ms(),
    )
    assert first.proposed is not None
    assert first.proposed.ours
    seen = await until(oak, iid, "proposed")
    assert seen.proposed is not None
    assert seen.proposed.start == START
    # Oakfield proposes another date instead: it replaces the Lycée's at both schools.
    later = await oak.node.interests.propose(
        iid,
        start="2030-03-19T10:00Z",
        end="2030-03-19T14:00Z",
        tz="Europe/London",
        where="Oakfield Primary, main hall",
        note="Bring wellies",
        by="Mrs Patel",
        now=now_ms(),
    )
    assert later.proposed is not None
    assert later.proposed.ours
    countered = await until(lycee, iid, "proposed")
    assert countered.proposed is not None
    assert countered.proposed.where == "Oakfield Primary, main hall"
    assert [b.state for b in countered.bookings] == ["superseded", "open"]
    with pytest.raises(UserInputError):  # nothing of the other school's to accept at Oakfield
        await oak.node.interests.accept_date(iid, now=now_ms())
    done = await lycee.node.interests.accept_date(
        iid, countered.proposed.id[:8], by="M. Roy", now=now_ms()
    )
    assert done.agreed is not None
    assert done.agreed.start == "2030-03-19T10:00Z"
    at_oak = await until(oak, iid, "agreed")
    assert at_oak.agreed is not None
    assert at_oak.agreed.id == done.agreed.id
    # The same private event at both, organised by the proposer; none at Colegio.
    for live in (oak, lycee):
        listed = [e for e in await live.node.events.listing() if e.private]
        assert [(bytes(e.id), e.content["title"], e.content["where"]) for e in listed] == [
            (done.agreed.event_id, "Visit our forest school", "Oakfield Primary, main hall")
        ]
        assert listed[0].author == oak.node.node_id
    assert not [e for e in await colegio.node.events.listing() if e.private]
    # Nothing more to propose, and the event is not changed on its own.
    with pytest.raises(UserInputError, match="already agreed"):
        await lycee.node.interests.propose(iid, start=START, end=END, tz=None, now=now_ms())
    with pytest.raises(UserInputError, match="agreed with another school"):
        await oak.node.events.withdraw(done.agreed.event_id.hex(), "no")


async def test_no_date_on_an_open_or_withdrawn_interest(schools: dict[str, LiveNode]) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    content = {"activity": "observation", "title": "Watch phonics in Year 1"}
    entry = await oak.node.offers.post("offer", content)
    await wait_for(lambda: lycee.holds(entry.id), what="the offer at the Lycée")
    sent = await lycee.node.interests.send(str(entry.id), "Yes please", by=None, now=now_ms())
    with pytest.raises(UserInputError, match="accepted"):
        await lycee.node.interests.propose(sent.id, start=START, end=END, tz=None, now=now_ms())
    await wait_for(lambda: _has(oak, sent.id), what="the interest at Oakfield")
    await oak.node.interests.accept(sent.id, now=now_ms())
    await until(lycee, sent.id, "accepted")
    with pytest.raises(UserInputError, match="not after the start"):
        await lycee.node.interests.propose(sent.id, start=END, end=START, tz=None, now=now_ms())
    await lycee.node.interests.propose(sent.id, start=START, end=END, tz=None, now=now_ms())
    await until(oak, sent.id, "proposed")
    await oak.node.interests.accept_date(sent.id, now=now_ms())
    agreed = await until(lycee, sent.id, "agreed")
    assert agreed.agreed is not None
    event = next(e for e in await oak.node.events.listing() if e.private)
    assert event.content["observation"] is True  # a planned peer observation


async def test_no_date_once_the_offer_is_withdrawn(schools: dict[str, LiveNode]) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    iid, entry = await arranged(schools)
    await oak.node.offers.withdraw("offer", entry, "The forest school is closed")

    async def gone() -> bool:
        return (await lycee.node.interests.get(iid)).withdrawn is not None

    await wait_for(gone, what="the withdrawal at the Lycée")
    with pytest.raises(UserInputError, match="withdrawn"):
        await lycee.node.interests.propose(iid, start=START, end=END, tz=None, now=now_ms())


async def test_blocking_a_school_forgets_the_dates_and_the_agreed_event(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    iid, _ = await arranged(schools)
    await lycee.node.interests.propose(iid, start=START, end=END, tz=None, now=now_ms())
    await until(oak, iid, "proposed")
    await oak.node.interests.accept_date(iid, now=now_ms())
    assert [e for e in await oak.node.events.listing() if e.private]
    await PeerBook(oak.node.store).block(lycee.node.node_id, oak.node.node_id, now_ms())
    assert await oak.node.store.fetch_all("SELECT id FROM bookings") == []
    assert not [e for e in await oak.node.events.listing() if e.private]


async def test_an_agreed_date_is_cancelled_when_the_offer_is_withdrawn(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    iid, entry = await arranged(schools)
    await oak.node.interests.propose(iid, start=START, end=END, tz=None, now=now_ms())
    await until(lycee, iid, "proposed")
    await lycee.node.interests.accept_date(iid, now=now_ms())
    await until(oak, iid, "agreed")
    await oak.node.offers.withdraw("offer", entry, "The forest school is flooded")

    async def gone() -> bool:
        return (await lycee.node.interests.get(iid)).withdrawn is not None

    await wait_for(gone, what="the withdrawal at the Lycée")
    for live in (oak, lycee):
        (event,) = [e for e in await live.node.events.listing(everything=True) if e.private]
        assert (event.cancelled, event.reason) == (True, "The forest school is flooded")
        assert event.content == {"title": "Visit our forest school"}
