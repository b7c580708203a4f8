"""TeachMeet speaker slots over plain HTTP: the form's checks and the organiser's controls."""

from __future__ import annotations

import re
from typing import Any

from node.events import slots
from tests.network import LiveNode, wait_for
from tests.web.test_accessibility import audit
from tests.web.web import client, csrf_of, http_sign_in

TEACHMEET: dict[str, Any] = {
    "title": "TeachMeet: feedback",
    "start": "2099-03-04T16:00+00:00",
    "end": "2099-03-04T18:00+00:00",
    "slots": [[2, 2], [1, 7]],
}


async def test_create_a_teachmeet_with_slots_and_refuse_unclear_ones(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/events/new")
        form = {
            "csrf": token,
            "title": "TeachMeet",
            "start": "2099-07-01T16:00",
            "end": "2099-07-01T18:00",
            "tz": "Europe/London",
            "audience": "public",
            "slots": "eight talks",
        }
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 400
            assert "Write the slots like 8x2,4x7" in await response.text()
        form["slots"] = "2x2,1x7"
        async with http.post("/events/new", data=form) as response:
            page = await response.text()
        assert "Running order" in page
        cells = re.findall(r"<td>(\d+)</td>\s*<td>(\d+)</td>", page)
        assert cells == [("1", "2"), ("2", "2"), ("3", "7")]  # slot, minutes
        (made,) = await school.node.events.listing()
        assert made.content["slots"] == [[2, 2], [1, 7]]


async def test_a_debate_with_speaker_slots_is_refused_and_the_form_keeps_what_was_typed(
    school: LiveNode,
) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        form = {
            "csrf": await csrf_of(http, "/events/new"),
            "title": "Rivers debate",
            "start": "2099-07-01T16:00",
            "end": "2099-07-01T18:00",
            "tz": "Europe/London",
            "audience": "public",
            "format": "debate",
            "slots": "8x2",
        }
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 400
            page = await response.text()
    assert "Speaker slots are for a TeachMeet" in page
    assert 'id="slots-error"' in page
    assert 'name="slots" value="8x2"' in page
    assert 'value="debate" checked' in page
    assert 'value="Rivers debate"' in page
    assert await school.node.events.listing() == []


async def test_speak_for_a_partners_teachmeet_and_the_organiser_accepts(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await school.node.events.create({**TEACHMEET, "audience": "public"})
    await wait_for(lambda: lycee.holds(made.id), what="the TeachMeet at the Lycée")
    async with client(lycee) as http:
        await http_sign_in(http, "M. Martin")
        page_path = f"/events/{made.id}"
        token = await csrf_of(http, page_path)
        form = {"csrf": token, "slot": "9", "title": "Oral feedback", "speaker": "M. Martin"}
        async with http.post(
            f"{page_path}/talks", data=form, headers={"Referer": f"{lycee.address}{page_path}"}
        ) as response:
            assert response.status == 400
            assert "slots, 1 to 3" in await response.text()
        form["slot"] = "3"
        async with http.post(f"{page_path}/talks", data=form) as response:
            page = await response.text()
        assert "sent to the organising school" in page
        assert "is waiting for the organiser" in page
        async with http.post(f"{page_path}/talks/3/accept", data={"csrf": token}) as response:
            assert response.status == 400  # only the organiser accepts

    async def offered() -> bool:
        return (await slots.lineup(school.node, str(made.id))).slots[2].state == "offered"

    await wait_for(offered, what="the talk at Oakfield")
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/") as response:
            home = await response.text()
        assert "Lycée Jean Moulin offers a talk for “TeachMeet: feedback”" in home
        token = await csrf_of(http, f"/events/{made.id}")
        async with http.post(f"/events/{made.id}/talks/3/accept", data={"csrf": token}) as r:
            page = await r.text()
        assert "accepted and published" in page
        assert "Oral feedback" in page
        async with http.get("/") as response:
            assert "offers a talk" not in await response.text()  # answered: no longer to do

    async def published() -> bool:
        return (await slots.lineup(lycee.node, str(made.id))).slots[2].state == "accepted"

    await wait_for(published, what="the running order at the Lycée")


async def test_the_teachmeet_page_has_labels_and_headings_for_both_schools(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await school.node.events.create({**TEACHMEET, "audience": "public"})
    await slots.speak(school.node, str(made.id), 1, "Our reading spine", "Ms Patel")
    await wait_for(lambda: lycee.holds(made.id), what="the TeachMeet at the Lycée")
    page = (f"/events/{made.id}",)
    assert await audit(school, "Mr Jones", page) == {page[0]: []}
    assert await audit(lycee, "M. Martin", page) == {page[0]: []}
