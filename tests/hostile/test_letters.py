"""Letters between schools that only their own school may send: interest and its answer,
answers to events, events for partners or a project, shared observations.

Oakfield (the school under attack) is a partner of the Lycée and of Colegio, and
names the Lycée as its relay. Gesamtschule is a partner of the Lycée only: its
letters reach Oakfield through the Lycée, as any non-partner's can.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from protocol import letters, sealed
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.keys import EntryId
from tests.hostile.harness import judged, send_as
from tests.hostile.test_block import dialled, relay_named
from tests.network import COLEGIO, GESAMT, LYCEE, OAK, LiveNode, wait_for

TODAY = date(2027, 1, 1)
LESSON = {
    "title": "Lesson study: fractions",
    "start": "2027-03-04T16:00+00:00",
    "end": "2027-03-04T18:00+00:00",
}
OBSERVATION = {
    "observer": "Mme Durand",
    "observed": "Ben Carter",
    "focus": "questioning",
    "priority": "SDP 2: oracy",
    "day": "2027-01-20",
    "strengths": ["Generous wait time"],
    "actions": ["Try think-pair-share"],
    "follow_up": "2027-02-20",
}


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "gesamt")]
    async with dialled(tmp_path, (OAK, LYCEE, COLEGIO, GESAMT), pairs) as nodes:
        await nodes["oak"].node.update_profile(relays=[str(nodes["lycee"].node.node_id)])
        await relay_named(nodes["gesamt"], nodes["oak"], nodes["lycee"])
        yield nodes


def refused_with(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "node.mail.mailroom"
        and "was refused" in r.getMessage()
        and words in r.getMessage()
    ]


async def rows(school: LiveNode, sql: str, *args: object) -> list[Any]:
    return list(await school.node.store.fetch_all(sql, args))


async def offer_everywhere(schools: dict[str, LiveNode], by: str = "oak") -> EntryId:
    entry = await schools[by].node.offers.post(
        "offer", {"activity": "visit", "title": "Visit our maths lessons"}
    )

    async def everywhere() -> bool:
        return all([await school.holds(entry.id) for school in schools.values()])

    await wait_for(everywhere, what="the offer everywhere")
    return entry.id


# -- interest and answers ------------------------------------------------------------


async def test_a_school_cannot_send_interest_in_an_offer_we_withdrew(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    offer = await offer_everywhere(schools)
    await oak.node.offers.withdraw("offer", str(offer))
    caplog.set_level(logging.WARNING)
    interest = {"id": "1e" * 16, "entry": bytes(offer), "message": "Still keen"}
    await judged(lycee, await send_as(lycee, letters.INTEREST, interest, [oak]))
    assert await oak.node.interests.all() == []
    assert refused_with(caplog, "this school withdrew")


async def test_a_school_cannot_answer_with_an_arrangement_that_ends_before_it_starts(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    offer = await offer_everywhere(schools, by="lycee")
    sent = await oak.node.interests.send(str(offer), "We would love to", by=None, now=now_ms())

    async def arrived() -> bool:
        return bool(await lycee.node.interests.all())

    await wait_for(arrived, what="the interest at the Lycée")
    caplog.set_level(logging.WARNING)
    answer = {"id": sent.id, "answer": "accepted", "from": "2027-05-10", "to": "2027-05-01"}
    await judged(lycee, await send_as(lycee, letters.INTEREST_ANSWER, answer, [oak]))
    assert (await oak.node.interests.get(sent.id)).state == "open"
    assert refused_with(caplog, "last day is before its first")


async def test_a_letter_dated_beyond_the_clock_skew_is_refused(
    schools: dict[str, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """The envelope is dated now (so it travels); the letter inside claims a later time."""
    oak, lycee = schools["oak"], schools["lycee"]
    offer = await offer_everywhere(schools)
    caplog.set_level(logging.WARNING)
    interest = {"id": "1f" * 16, "entry": bytes(offer), "message": "From the future"}
    later = now_ms() + MAX_CLOCK_SKEW_MS + 60_000
    await judged(lycee, await send_dated(lycee, letters.INTEREST, interest, oak, later))
    assert await oak.node.interests.all() == []
    assert refused_with(caplog, "ahead of this school's clock")


# -- answers to events -------------------------------------------------------------


async def test_a_school_cannot_answer_a_private_event_that_was_not_sent_to_it(
    schools: dict[str, LiveNode],
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    made = await oak.node.private_events.create(dict(LESSON), "partners", now_ms())
    answer = {"event": made.id, "answer": "yes", "at": now_ms()}
    await judged(gesamt, await send_as(gesamt, letters.RSVP, answer, [oak]))
    assert await oak.node.rsvps.answers(EntryId(made.id)) == []


async def test_an_answer_dated_far_ahead_is_refused_and_does_not_lock_the_answer(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    event = await oak.node.events.create({**LESSON, "audience": "public"})
    await wait_for(lambda: lycee.holds(event.id), what="the event at the Lycée")
    answer = {"event": bytes(event.id), "answer": "no", "at": 2**53 - 1}
    await judged(lycee, await send_as(lycee, letters.RSVP, answer, [oak]))
    assert await oak.node.rsvps.answers(event.id) == []
    await lycee.node.events.rsvp(str(event.id), "yes", today=TODAY)  # its real answer counts

    async def answered() -> bool:
        return [a.answer for a in await oak.node.rsvps.answers(event.id)] == ["yes"]

    await wait_for(answered, what="the Lycée's real answer")


# -- events for partners or a project ----------------------------------------------


def private_event(audience: str = "partners", **more: Any) -> dict[str, Any]:
    return {**LESSON, "id": os.urandom(32), "rev": 1, "audience": audience, **more}


async def test_a_school_that_is_not_a_member_of_a_project_cannot_send_an_event_for_it(
    schools: dict[str, LiveNode],
) -> None:
    oak, colegio = schools["oak"], schools["colegio"]
    project = await oak.node.projects.create("Rivers of Europe", [], now_ms())
    event = private_event("project", p=project.id)
    await judged(colegio, await send_as(colegio, letters.EVENT, event, [oak]))
    assert await oak.node.private_events.all() == []


async def test_a_school_that_is_not_our_partner_cannot_send_an_event_for_partners(
    schools: dict[str, LiveNode],
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    await judged(gesamt, await send_as(gesamt, letters.EVENT, private_event(), [oak]))
    assert await oak.node.private_events.all() == []


async def test_an_event_for_a_project_must_name_the_project(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    await judged(lycee, await send_as(lycee, letters.EVENT, private_event("project"), [oak]))
    assert await oak.node.private_events.all() == []


async def test_an_event_that_ends_before_it_starts_is_refused(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    event = private_event(end="2027-03-04T15:00+00:00")
    await judged(lycee, await send_as(lycee, letters.EVENT, event, [oak]))
    assert await oak.node.private_events.all() == []


async def test_an_event_in_year_9999_is_refused_so_no_calendar_export_breaks(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    event = private_event(end="9999-12-31T23:59+00:00", tz="Pacific/Kiritimati")
    await judged(lycee, await send_as(lycee, letters.EVENT, event, [oak]))
    assert await oak.node.private_events.all() == []
    assert b"BEGIN:VCALENDAR" in await oak.node.events.ics()


# -- shared observations -------------------------------------------------------------


async def test_a_school_that_is_not_our_partner_cannot_share_an_observation_with_us(
    schools: dict[str, LiveNode],
) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    shared = {**OBSERVATION, "id": "0b" * 16}
    await judged(gesamt, await send_as(gesamt, letters.OBSERVATION, shared, [oak]))
    assert await rows(oak, "SELECT * FROM observations") == []


async def test_an_observation_followed_up_before_it_took_place_is_refused(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    shared = {**OBSERVATION, "id": "0c" * 16, "follow_up": "2027-01-19"}
    await judged(lycee, await send_as(lycee, letters.OBSERVATION, shared, [oak]))
    assert await rows(oak, "SELECT * FROM observations") == []


async def send_dated(
    sender: LiveNode, kind: str, content: dict[str, Any], to: LiveNode, letter_time: int
) -> dict[LiveNode, int]:
    """As :func:`send_as`, but the letter inside carries ``letter_time``."""
    mail, store, key = sender.node.mail, sender.node.store, sender.node.key
    recipient = to.node.node_id
    letter = sealed.write_letter(
        key, kind=kind, timestamp=letter_time, recipients=[recipient], content=content
    )
    now = now_ms()
    async with store.write():
        seq = await mail._mark((mail.me, recipient)) + 1
        envelope = sealed.seal(
            key,
            letter,
            seqs={recipient: seq},
            content_key=os.urandom(sealed.KEY_SIZE),
            nonce=os.urandom(sealed.NONCE_SIZE),
            wrap_nonces={recipient: os.urandom(sealed.NONCE_SIZE)},
            timestamp=now,
        )
        await mail._keep(envelope, now)
        await mail._hold(mail.me, recipient, seq, envelope)
        store.mail_changed()
    return {to: seq}
