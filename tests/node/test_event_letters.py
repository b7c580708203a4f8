"""Answers to events, and events for partners or a project only: letters on real nodes.

Oakfield organises. The Lycée and Colegio are its partners; Gesamtschule is a
partner of the Lycée only, so public entries reach it but letters never do.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from node.clock import now_ms
from protocol.errors import UserInputError
from tests.helpers import run_cli
from tests.network import (
    COLEGIO,
    GESAMT,
    LYCEE,
    OAK,
    LiveNode,
    files_contain,
    network,
    partner,
    wait_for,
)

TODAY = date(2027, 1, 1)
TEACHMEET = {
    "title": "TeachMeet: oracy across phases",
    "start": "2027-03-04T16:00+00:00",
    "end": "2027-03-04T18:00+00:00",
    "tz": "Europe/London",
}
SECRET_PLACE = "Room 7731, Wexcombe annexe"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    pairs = [("oak", "lycee"), ("oak", "colegio"), ("lycee", "gesamt")]
    async with network(tmp_path, (OAK, LYCEE, COLEGIO, GESAMT), pairs) as nodes:
        yield nodes


async def known(live: LiveNode, event_id: str) -> bool:
    return any(str(e.id) == event_id for e in await live.node.events.every())


async def test_answers_reach_the_organiser_only_with_who_answered(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio, gesamt = (schools[n] for n in ("oak", "lycee", "colegio", "gesamt"))
    made = await oak.node.events.create({**TEACHMEET, "audience": "public"})

    async def everywhere() -> bool:
        return all([await live.holds(made.id) for live in (lycee, colegio, gesamt)])

    await wait_for(everywhere, what="the event everywhere")
    await lycee.node.events.rsvp(str(made.id), "yes", by="Mme Durand", today=TODAY)
    await gesamt.node.events.rsvp(str(made.id), "maybe", today=TODAY)
    await lycee.node.events.rsvp(str(made.id), "no", by="M. Petit", today=TODAY)  # changed

    async def answered() -> bool:
        event = await oak.node.events.find(str(made.id))
        return {a.school: a.answer for a in event.answers} == {
            "Lycée Jean Moulin": "no",
            "Gesamtschule Nord": "maybe",
        }

    # Gesamtschule is not Oakfield's partner: its answer waits (sealed) until they
    # are partners, then arrives.
    await wait_for(lambda: _has_answers(oak, 1), what="the Lycée's answer")
    await partner(oak, gesamt)
    await wait_for(answered, what="both answers at Oakfield")
    shown = (await oak.node.events.find(str(made.id))).as_json()
    assert shown["counts"] == {"yes": 0, "no": 1, "maybe": 1}
    lycee_answer = next(a for a in shown["answers"] if a["school"] == "Lycée Jean Moulin")
    assert lycee_answer["by"] == "M. Petit"
    at_lycee = (await lycee.node.events.find(str(made.id))).as_json()
    assert (at_lycee["rsvp"], at_lycee["rsvp_by"], at_lycee["answers"]) == ("no", "M. Petit", [])
    assert files_contain(colegio.node.data.path, b"M. Petit") == []


async def _has_answers(live: LiveNode, count: int) -> bool:
    return len(await live.node.rsvps.all_answers()) >= count


async def test_a_partners_event_reaches_partners_only_and_can_be_changed_and_cancelled(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee, colegio, gesamt = (schools[n] for n in ("oak", "lycee", "colegio", "gesamt"))
    made = str(await oak.node.events.create_for({**TEACHMEET, "where": SECRET_PLACE}, "partners"))

    async def at_partners() -> bool:
        return await known(lycee, made) and await known(colegio, made)

    await wait_for(at_partners, what="the event at partners")
    seen = await lycee.node.events.find(made[:10])
    assert (seen.school, seen.content["where"], seen.as_json()["audience"]) == (
        "Oakfield Primary",
        SECRET_PLACE,
        "partners",
    )
    await colegio.node.events.rsvp(made[:10], "yes", today=TODAY)
    await wait_for(lambda: _has_answers(oak, 1), what="Colegio's answer")

    await oak.node.events.change(made, {"start": "2027-03-04T16:30+00:00"})

    async def moved() -> bool:
        return (await lycee.node.events.find(made)).start == "2027-03-04T16:30+00:00"

    await wait_for(moved, what="the change at the Lycée")
    assert (await lycee.node.events.find(made)).sequence == 1
    assert b"Wexcombe" in await lycee.node.events.ics()

    await oak.node.events.withdraw(made)

    async def cancelled() -> bool:
        return (await lycee.node.events.find(made)).cancelled

    await wait_for(cancelled, what="the cancellation at the Lycée")
    assert b"CANCELLED" in await lycee.node.events.ics()
    assert await lycee.node.events.listing(today=TODAY) == []

    # Gesamtschule, a partner of a partner, gets public entries but never this event.
    marker = await oak.node.events.create({**TEACHMEET, "audience": "public"})
    await wait_for(lambda: gesamt.holds(marker.id), what="a later public event at Gesamtschule")
    assert not await known(gesamt, made)
    assert files_contain(gesamt.node.data.path, b"Wexcombe") == []


async def test_a_project_event_reaches_its_members_only(schools: dict[str, LiveNode]) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    project = await oak.node.projects.create("Rivers of Europe", [], now_ms())
    await oak.node.projects.invite(project.id, lycee.node.node_id, now_ms())
    made = str(
        await oak.node.events.create_for(
            {**TEACHMEET, "where": SECRET_PLACE}, f"project:{project.id[:8]}"
        )
    )
    await wait_for(lambda: known(lycee, made), what="the event at the project's school")
    assert (await lycee.node.events.find(made)).as_json()["audience"] == (f"project:{project.id}")
    marker = await oak.node.events.create({**TEACHMEET, "audience": "public"})
    await wait_for(lambda: colegio.holds(marker.id), what="a later public event at Colegio")
    assert not await known(colegio, made)
    assert files_contain(colegio.node.data.path, b"Wexcombe") == []


async def test_audiences_are_checked(schools: dict[str, LiveNode], tmp_path: Path) -> None:
    oak = schools["oak"].node
    with pytest.raises(UserInputError, match="choose public, partners, or project:ID"):
        await oak.events.create_for(dict(TEACHMEET), "everyone")
    with pytest.raises(Exception, match="project list"):
        await oak.events.create_for(dict(TEACHMEET), "project:ffffffff")
    lonely = await LiveNode.start(tmp_path / "lonely", "Lonely School")
    try:
        with pytest.raises(UserInputError, match="no partners yet"):
            await lonely.node.events.create_for(dict(TEACHMEET), "partners")
    finally:
        await lonely.stop()


async def test_a_cancelled_private_event_still_says_its_audience(
    schools: dict[str, LiveNode],
) -> None:
    """Cancelled, an event for partners or for one project keeps its audience, for scripts
    (``event list --json``, ``event show``) at the organiser and at the schools it went to."""
    oak, lycee = schools["oak"], schools["lycee"]
    project = await oak.node.projects.create("Rivers of Europe", [], now_ms())
    await oak.node.projects.invite(project.id, lycee.node.node_id, now_ms())
    audiences = {
        str(await oak.node.events.create_for(dict(TEACHMEET), audience)): audience
        for audience in ("partners", f"project:{project.id}")
    }
    for made in audiences:
        await oak.node.events.withdraw(made)

    async def cancelled_at_lycee() -> bool:
        held = {str(e.id): e for e in await lycee.node.events.every()}
        return all(made in held and held[made].cancelled for made in audiences)

    await wait_for(cancelled_at_lycee, what="both cancellations at the Lycée")
    for live in (oak, lycee):
        listed = await live.node.events.listing(everything=True)
        shown = {e["id"]: (e["status"], e["audience"]) for e in (x.as_json() for x in listed)}
        assert shown == {made: ("cancelled", audience) for made, audience in audiences.items()}
    data = ("--data", str(oak.node.data.path))
    printed = run_cli("event", "list", "--all", "--json", *data)
    assert printed.returncode == 0, printed.stderr
    assert {e["id"]: e["audience"] for e in json.loads(printed.stdout)} == audiences
    for made, audience in audiences.items():
        told = run_cli("event", "show", made, *data)
        assert told.returncode == 0, told.stderr
        assert f"audience:  {audience}\n" in told.stdout
