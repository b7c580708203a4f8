"""Partnership requests from schools with valid keys that misuse them.

Oakfield (the school under attack) is a partner of the Lycée and of Colegio, and
names the Lycée as its relay. Gesamtschule is a partner of the Lycée only: it is
the stranger who may ask Oakfield to partner, its letters carried by the Lycée.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from node.clock import now_ms
from node.partners.peerbook import PeerBook
from protocol import kinds, letters, sealed
from protocol.rules.partnership import DAY_MS, MAX_OPEN_RECEIVED
from tests.hostile.harness import judged, send_as
from tests.hostile.test_block import dialled, relay_named
from tests.network import COLEGIO, GESAMT, LYCEE, OAK, LiveNode, wait_for


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "gesamt")]
    async with dialled(tmp_path, (OAK, LYCEE, COLEGIO, GESAMT), pairs) as nodes:
        lycee = str(nodes["lycee"].node.node_id)
        await nodes["oak"].node.update_profile(relays=[lycee])
        await nodes["gesamt"].node.update_profile(relays=[lycee])
        await relay_named(nodes["gesamt"], nodes["oak"], nodes["lycee"])
        await relay_named(nodes["oak"], nodes["gesamt"], nodes["lycee"])
        yield nodes


def refused_with(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "node.mail.mailroom"
        and "was refused" in r.getMessage()
        and words in r.getMessage()
    ]


def ask(n: int, message: str = "Shall we partner?") -> dict[str, Any]:
    return {"id": f"{n:032x}", "message": message}


async def received(school: LiveNode) -> list[str]:
    rows = await school.node.store.fetch_all(
        "SELECT id FROM partner_requests WHERE direction = 'received' ORDER BY id"
    )
    return [r[0] for r in rows]


async def is_partner(school: LiveNode, other: LiveNode) -> bool:
    record = await PeerBook(school.node.store).get(other.node.node_id)
    return record is not None and record.state == "partner"


async def test_a_school_cannot_ask_twice_in_a_month(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    caplog.set_level(logging.WARNING)
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(2), [oak]))
    assert await received(oak) == [f"{1:032x}"]
    assert refused_with(caplog, "within a month")


async def test_a_request_cannot_take_over_another_schools_request(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """Gesamtschule asks; the Lycée sends a request under the same id, as its own."""
    oak, lycee, gesamt = schools["oak"], schools["lycee"], schools["gesamt"]
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    caplog.set_level(logging.WARNING)
    await judged(lycee, await send_as(lycee, letters.PARTNER_REQUEST, ask(1, "Mine"), [oak]))
    request = await oak.node.directory.get(f"{1:032x}", now=now_ms())
    assert request.school_id == gesamt.node.node_id
    assert request.message == "Shall we partner?"
    assert refused_with(caplog, "another request")


async def test_a_school_cannot_accept_a_request_it_never_received(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """Oakfield asked Gesamtschule; Colegio (a partner) and Gesamtschule with an id
    Oakfield never sent both try to accept."""
    oak, colegio, gesamt = schools["oak"], schools["colegio"], schools["gesamt"]
    sent = await oak.node.directory.request(str(gesamt.node.node_id), "Hello", now=now_ms())

    async def arrived() -> bool:
        return bool(await received(gesamt))

    await wait_for(arrived, what="the request at Gesamtschule")
    caplog.set_level(logging.WARNING)
    forged = {"id": sent.id, "answer": "accepted", "address": "http://127.0.0.1:9"}
    await judged(colegio, await send_as(colegio, letters.PARTNER_ANSWER, forged, [oak]))
    never = {"id": "ab" * 16, "answer": "accepted"}
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_ANSWER, never, [oak]))
    assert (await oak.node.directory.get(sent.id, now=now_ms())).state == "open"
    assert not await is_partner(oak, gesamt)
    assert (await PeerBook(oak.node.store).get(colegio.node.node_id)).address != (  # type: ignore[union-attr]
        "http://127.0.0.1:9"
    )
    assert len(refused_with(caplog, "did not send to that school")) == 2


async def test_a_replayed_acceptance_does_not_make_us_partners_again(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    sent = await oak.node.directory.request(str(gesamt.node.node_id), "Hello", now=now_ms())

    async def arrived() -> bool:
        return bool(await received(gesamt))

    await wait_for(arrived, what="the request at Gesamtschule")
    await gesamt.node.directory.accept(sent.id, now=now_ms())

    async def partners() -> bool:
        return await is_partner(oak, gesamt)

    await wait_for(partners, what="the acceptance at Oakfield")
    await PeerBook(oak.node.store).remove(gesamt.node.node_id)  # Oakfield changes its mind
    caplog.set_level(logging.WARNING)
    again = {"id": sent.id, "answer": "accepted"}
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_ANSWER, again, [oak]))
    assert not await is_partner(oak, gesamt)
    assert refused_with(caplog, "already accepted")


async def test_a_blocked_school_cannot_ask(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    await PeerBook(oak.node.store).block(gesamt.node.node_id, oak.node.node_id, now_ms())
    caplog.set_level(logging.WARNING)
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    assert await received(oak) == []
    assert refused_with(caplog, "blocked")


@pytest.fixture
def unchecked_letters() -> Iterator[None]:
    """Let the sender sign a letter that breaks its kind's schema, as a rogue school's
    own software would (receivers still check: only writing skips the check)."""
    original = sealed.write_letter

    def write(key: Any, **fields: Any) -> sealed.Letter:
        with patch.object(letters, "validate", lambda kind, content: None):
            return original(key, **fields)  # synchronous: no receiver runs meanwhile

    with patch.object(sealed, "write_letter", write):
        yield


@pytest.mark.usefixtures("unchecked_letters")
async def test_a_huge_message_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    caplog.set_level(logging.WARNING)
    await judged(
        gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1, "x" * 50_000), [oak])
    )
    assert await received(oak) == []
    assert refused_with(caplog, "field 'message'")


async def test_blocking_a_school_erases_its_requests(schools: dict[str, LiveNode]) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    assert await received(oak) == [f"{1:032x}"]
    await PeerBook(oak.node.store).block(gesamt.node.node_id, oak.node.node_id, now_ms())
    assert await received(oak) == []
    assert [s.name for s in await oak.node.directory.schools(words="Gesamtschule")] == []


async def test_a_school_whose_profile_we_do_not_hold_cannot_ask(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """Gesamtschule withdraws every profile it published, as a throwaway key never
    publishes one: Oakfield's admin could not tell who asks."""
    oak, gesamt = schools["oak"], schools["gesamt"]
    rows = await gesamt.node.store.fetch_all(
        "SELECT id FROM entries WHERE author = ? AND kind = ?",
        (bytes(gesamt.node.node_id), kinds.PROFILE),
    )
    for (target,) in rows:
        await gesamt.node.publish(kinds.WITHDRAW, {"target": bytes(target)})

    async def forgotten() -> bool:
        return await oak.node.store.latest_profile(gesamt.node.node_id) is None

    await wait_for(forgotten, what="the profile withdrawn at Oakfield")
    caplog.set_level(logging.WARNING)
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    assert await received(oak) == []
    assert refused_with(caplog, "whose profile has not reached this school")


async def _waiting(school: LiveNode, count: int, at: int) -> None:
    """``count`` open requests received at ``at`` from other schools (earlier asks)."""
    async with school.node.store.write():
        for n in range(count):
            await school.node.store.execute(
                "INSERT INTO partner_requests VALUES (?, ?, 'received', 'Hello', NULL, NULL, "
                "'open', ?, NULL)",
                (f"{1000 + n:032x}", bytes([n + 1]) * 32, at),
            )


async def test_requests_beyond_the_most_kept_are_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    await _waiting(oak, MAX_OPEN_RECEIVED, now_ms())
    caplog.set_level(logging.WARNING)
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    assert f"{1:032x}" not in await received(oak)
    assert len(await received(oak)) == MAX_OPEN_RECEIVED
    assert refused_with(caplog, "waiting for an answer")


async def test_requests_that_expired_unanswered_are_deleted(
    schools: dict[str, LiveNode],
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    await _waiting(oak, MAX_OPEN_RECEIVED + 10, now_ms() - 31 * DAY_MS)
    await judged(gesamt, await send_as(gesamt, letters.PARTNER_REQUEST, ask(1), [oak]))
    assert await received(oak) == [f"{1:032x}"]


async def test_a_request_signed_before_its_expiry_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """Gesamtschule signs a request dated 31 days ago: at its own end it has expired."""
    oak, gesamt = schools["oak"], schools["gesamt"]
    caplog.set_level(logging.WARNING)
    await gesamt.node.mail.send(
        letters.PARTNER_REQUEST,
        ask(1),
        [oak.node.node_id],
        about=None,
        now=now_ms() - 31 * DAY_MS,
    )
    pair = (gesamt.node.node_id, oak.node.node_id)
    await judged(gesamt, {oak: await gesamt.node.mail._mark(pair)})
    assert await received(oak) == []
    assert refused_with(caplog, "signed more than 30 days ago")
