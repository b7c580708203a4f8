"""Event pages over plain HTTP: refusals, the form's checks, answers, the calendar file."""

from __future__ import annotations

from pathlib import Path

import icalendar

from node.clock import now_ms
from tests.network import LiveNode, introduced, partner, wait_for
from tests.web.web import add_user, client, csrf_of, http_sign_in

TEACHMEET = {
    "title": "TeachMeet : l'oralité",
    "start": "2099-03-04T16:00+01:00",
    "end": "2099-03-04T18:00+01:00",
    "tz": "Europe/Paris",
    "where": "Salle polyvalente",
    "audience": "public",
}


async def test_pupils_are_refused_every_event_page(school: LiveNode) -> None:
    entry = await school.node.events.create(TEACHMEET)
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        for path in ("/events", "/events.ics", "/events/new", f"/events/{entry.id}"):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 403, path


async def test_create_an_event_in_local_time(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/events/new")
        form = {
            "csrf": token,
            "title": "INSET day: oracy",
            "start": "2099-07-01T09:00",
            "end": "2099-07-01T08:00",
            "tz": "Europe/London",
            "capacity": "40",
        }
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 400
            assert "The end is not after the start." in await response.text()
        form["end"] = "2099-07-01T15:30"
        form["tz"] = "Mars/Olympus"
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 400
            assert "not a time zone name" in await response.text()
        form["tz"] = "Europe/London"
        form["audience"] = "partners"
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 400
            assert "no partner schools yet" in await response.text()
        assert await school.node.events.listing() == []
        form["audience"] = "public"
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 303
            location = response.headers["Location"]
        async with http.get(location) as response:
            page = await response.text()
        assert "INSET day: oracy" in page
        assert "Cancel the event" in page  # ours: no answer form, a cancel one
        assert 'name="answer"' not in page
    (event,) = await school.node.events.listing()
    assert event.start == "2099-07-01T09:00+01:00"  # summer time in London
    assert event.tz == "Europe/London"
    assert event.content["capacity"] == 40


async def test_answer_another_schools_event_and_export(school: LiveNode, tmp_path: Path) -> None:
    lyon = await LiveNode.start(tmp_path / "lyon", "École Jean Macé", country="FR")
    try:
        await add_user(lyon, "Mme Durand", "staff")
        entry = await lyon.node.events.create(TEACHMEET)
        await partner(school, lyon)
        await wait_for(lambda: school.holds(entry.id), what="the TeachMeet at Oakfield")
        await introduced([school, lyon])
        async with client(school) as http:
            await http_sign_in(http, "Mr Jones")
            async with http.get("/events") as response:
                page = await response.text()
            assert f"/events/{entry.id}" in page
            token = await csrf_of(http, f"/events/{entry.id}")
            async with http.post(
                f"/events/{entry.id}/rsvp", data={"csrf": token, "answer": "maybe"}
            ) as response:
                assert "answer is sent to the organiser" in await response.text()
            async with http.post(
                f"/events/{entry.id}/withdraw", data={"csrf": token}, allow_redirects=False
            ) as response:
                assert response.status == 403  # only the organiser cancels
            async with http.get(f"/events/{entry.id}/edit", allow_redirects=False) as response:
                assert response.status == 403  # or changes it
            async with http.get("/events.ics") as response:
                assert response.content_type == "text/calendar"
                assert response.headers["Content-Disposition"].startswith("attachment")
                calendar = icalendar.Calendar.from_ical(await response.read())
        (item,) = calendar.walk("VEVENT")
        assert str(item["SUMMARY"]) == "TeachMeet : l'oralité"
        assert (await school.node.events.find(str(entry.id))).answer == "maybe"

        async def answered() -> bool:
            return bool((await lyon.node.events.find(str(entry.id))).answers)

        await wait_for(answered, what="Oakfield's answer at Lyon")
        async with client(lyon) as http:
            await http_sign_in(http, "Mme Durand")
            async with http.get(f"/events/{entry.id}") as response:
                page = await response.text()
        assert "Oakfield Primary School (Mr Jones)" in page
    finally:
        await lyon.stop()


async def test_the_organiser_changes_an_event_in_local_time(school: LiveNode) -> None:
    entry = await school.node.events.create(TEACHMEET)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get(f"/events/{entry.id}/edit") as response:
            page = await response.text()
        assert 'value="2099-03-04T16:00"' in page  # Paris time, as it was typed
        token = await csrf_of(http, f"/events/{entry.id}/edit")
        form = {
            "csrf": token,
            "title": "TeachMeet : l'oralité (nouvelle heure)",
            "start": "2099-03-04T16:30",
            "end": "2099-03-04T18:30",
            "tz": "Europe/Paris",
            "where": "Salle polyvalente",
        }
        async with http.post(f"/events/{entry.id}/edit", data=form) as response:
            assert "changed everywhere" in await response.text()
    (event,) = await school.node.events.listing()
    assert event.id == entry.id  # one event, a new version
    assert event.start == "2099-03-04T16:30+01:00"
    assert event.content["title"] == "TeachMeet : l'oralité (nouvelle heure)"


async def test_an_event_for_one_projects_schools_only(school: LiveNode, lycee: LiveNode) -> None:
    project = await school.node.projects.create("Rivers of Europe", [], 0)
    await school.node.projects.invite(project.id, lycee.node.node_id, 0)

    async def invited() -> bool:
        return any(p.id == project.id for p in await lycee.node.projects.all())

    await wait_for(invited, what="the invitation at the Lycée")
    await lycee.node.projects.join(project.id, now_ms())

    async def joined() -> bool:
        got = await school.node.projects.get(project.id)
        return got.members.get(lycee.node.node_id) == "member"

    await wait_for(joined, what="the Lycée in the project")
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/events/new")
        async with http.get("/events/new") as response:
            assert "Only the schools of the project Rivers of Europe" in await response.text()
        form = {
            "csrf": token,
            "title": "Rivers: video call",
            "start": "2099-05-04T10:00",
            "end": "2099-05-04T11:00",
            "tz": "Europe/London",
            "audience": f"project:{project.id}",
        }
        async with http.post("/events/new", data=form) as response:
            page = await response.text()
        assert "The event is sent to the project" in page
        assert "for the schools of the project Rivers of Europe only" in page
        form["audience"] = "project:" + "0" * 32  # not one of our projects
        async with http.post("/events/new", data=form) as response:
            assert response.status == 200
    (mine, public) = sorted(await school.node.events.listing(), key=lambda e: not e.private)
    assert mine.content["audience"] == f"project:{project.id}"
    assert not public.private  # an audience that is not ours falls back to everyone

    async def arrived() -> bool:
        return any(e.private for e in await lycee.node.events.listing())

    await wait_for(arrived, what="the project's event at the Lycée")


async def test_a_cancelled_event_for_partners_or_a_project_still_says_for_whom(
    school: LiveNode, lycee: LiveNode
) -> None:
    project = await school.node.projects.create("Rivers of Europe", [], now_ms())
    await school.node.projects.invite(project.id, lycee.node.node_id, now_ms())
    for_project = await school.node.events.create_for(dict(TEACHMEET), f"project:{project.id}")
    for_partners = await school.node.events.create_for(dict(TEACHMEET), "partners")
    for made in (for_project, for_partners):
        await school.node.events.withdraw(str(made))
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get(f"/events/{for_project}") as response:
            page = await response.text()
        assert "for the schools of the project Rivers of Europe only" in page
        assert "for partner schools only" not in page
        async with http.get(f"/events/{for_partners}") as response:
            page = await response.text()
        assert "for partner schools only" in page
