"""A school finds another in the directory and partners with it by request, two hops away.

Oakfield and the Lycée are not partners and cannot reach each other at first:
each is a partner of the regional hub only, and each names the hub as its relay
(docs/decisions.md, "Partnership requests"). The request and its answer go
through the hub; the acceptance makes them partners, and they then connect
directly, with the addresses the letters carried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from node.partners.peerbook import PeerBook
from protocol.errors import NotAllowedError, UserInputError
from protocol.rules.partnership import DAY_MS
from tests.hostile.test_block import connected, dialled, relay_named
from tests.network import LiveNode, wait_for

HUB = ("hub", "Regional hub", "GB")
OAK = ("oak", "Oakfield Primary", "GB")
LYCEE = ("lycee", "Lycée Jean Moulin", "FR")


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    async with dialled(tmp_path, (HUB, OAK, LYCEE), [("oak", "hub"), ("lycee", "hub")]) as nodes:
        hub = str(nodes["hub"].node.node_id)
        await nodes["oak"].node.update_profile(
            relays=[hub], languages=["en", "fr"], phases=["primary"]
        )
        await nodes["lycee"].node.update_profile(
            relays=[hub], languages=["fr"], phases=["secondary"], about="Lycée in Lyon"
        )
        await relay_named(nodes["oak"], nodes["lycee"], nodes["hub"])
        await relay_named(nodes["lycee"], nodes["oak"], nodes["hub"])
        yield nodes


async def is_partner(school: LiveNode, other: LiveNode) -> bool:
    record = await PeerBook(school.node.store).get(other.node.node_id)
    return record is not None and record.state == "partner"


async def received(school: LiveNode) -> str:
    async def arrived() -> bool:
        return bool(await school.node.directory.requests(now=now_ms()))

    await wait_for(arrived, what="the request to arrive through the hub")
    return (await school.node.directory.requests(now=now_ms()))[0].id


async def test_the_directory_lists_schools_with_filters(schools: dict[str, LiveNode]) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    directory = oak.node.directory

    async def profiles() -> bool:
        return [s.name for s in await directory.schools(phase="secondary")] == ["Lycée Jean Moulin"]

    await wait_for(profiles, what="the new profiles at Oakfield")
    names = [s.name for s in await directory.schools()]
    assert names == ["Lycée Jean Moulin", "Oakfield Primary", "Regional hub"]
    assert [s.name for s in await directory.schools(country="fr")] == ["Lycée Jean Moulin"]
    assert [s.name for s in await directory.schools(language="FR")] == [
        "Lycée Jean Moulin",
        "Oakfield Primary",
    ]
    assert [s.name for s in await directory.schools(age=15)] == ["Lycée Jean Moulin"]
    assert [s.name for s in await directory.schools(age=7)] == ["Oakfield Primary"]
    assert [s.name for s in await directory.schools(words="lyon")] == ["Lycée Jean Moulin"]
    hub = next(s for s in await directory.schools() if s.name == "Regional hub")
    assert hub.partner
    assert not (await directory.school(str(lycee.node.node_id))).partner
    with pytest.raises(UserInputError, match="--phase"):
        await directory.schools(phase="college")


async def test_a_request_accepted_two_hops_away_makes_the_schools_partners(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    sent = await oak.node.directory.request(
        str(lycee.node.node_id), "Shall we twin our classes?", by="Ms Patel", now=now_ms()
    )
    assert sent.direction == "sent"
    assert sent.state == "open"
    rid = await received(lycee)
    assert rid == sent.id
    got = await lycee.node.directory.get(rid[:8], now=now_ms())
    assert (got.direction, got.school_id, got.message, got.by) == (
        "received",
        oak.node.node_id,
        "Shall we twin our classes?",
        "Ms Patel",
    )
    assert not await is_partner(oak, lycee)
    assert not await is_partner(lycee, oak)
    with pytest.raises(NotAllowedError):
        await oak.node.directory.accept(sent.id, now=now_ms())  # only the Lycée may

    accepted = await lycee.node.directory.accept(rid, now=now_ms())
    assert accepted.state == "accepted"
    assert await is_partner(lycee, oak)

    async def both_partners() -> bool:
        return await is_partner(oak, lycee)

    await wait_for(both_partners, what="the acceptance at Oakfield, through the hub")
    assert (await oak.node.directory.get(sent.id, now=now_ms())).state == "accepted"
    await connected(oak, lycee)  # they now reach each other directly
    with pytest.raises(UserInputError, match="is accepted"):
        await lycee.node.directory.decline(rid, now=now_ms())


async def test_a_declined_request_partners_nobody_and_a_school_asks_once_a_month(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    sent = await oak.node.directory.request(str(lycee.node.node_id), "Hello", now=now_ms())
    rid = await received(lycee)
    await lycee.node.directory.decline(rid, now=now_ms())

    async def declined() -> bool:
        return (await oak.node.directory.get(sent.id, now=now_ms())).state == "declined"

    await wait_for(declined, what="the answer at Oakfield")
    # A refusal does not tell the asking school where the Lycée listens.
    (address,) = await oak.node.store.fetch_one(
        "SELECT address FROM partner_requests WHERE id = ?", (sent.id,)
    )
    assert address is None
    assert not await is_partner(oak, lycee)
    assert not await is_partner(lycee, oak)
    with pytest.raises(UserInputError, match="once a month"):
        await oak.node.directory.request(str(lycee.node.node_id), "Again?", now=now_ms())
    later = now_ms() + 31 * DAY_MS
    again = await oak.node.directory.request(str(lycee.node.node_id), "Again?", now=later)
    assert again.state == "open"


async def test_an_unanswered_request_expires_after_thirty_days(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    sent = await oak.node.directory.request(str(lycee.node.node_id), "Hello", now=now_ms())
    rid = await received(lycee)
    later = now_ms() + 31 * DAY_MS
    assert (await lycee.node.directory.get(rid, now=later)).state == "expired"
    assert (await oak.node.directory.get(sent.id, now=later)).state == "expired"
    with pytest.raises(UserInputError, match="expired"):
        await lycee.node.directory.accept(rid, now=later)


async def test_requests_that_make_no_sense_are_refused_with_a_reason(
    schools: dict[str, LiveNode],
) -> None:
    oak, hub = schools["oak"], schools["hub"]
    directory = oak.node.directory
    with pytest.raises(UserInputError, match="own node id"):
        await directory.request(str(oak.node.node_id), "Hi", now=now_ms())
    with pytest.raises(UserInputError, match="already a partner"):
        await directory.request(str(hub.node.node_id), "Hi", now=now_ms())
    with pytest.raises(UserInputError, match="node id"):
        await directory.request("not-a-node", "Hi", now=now_ms())
    with pytest.raises(UserInputError, match="2,000"):
        await directory.request(str(schools["lycee"].node.node_id), "x" * 2001, now=now_ms())
    with pytest.raises(UserInputError, match="short message"):
        await directory.request(str(schools["lycee"].node.node_id), "  ", now=now_ms())
