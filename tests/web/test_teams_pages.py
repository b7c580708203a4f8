"""Pupil conferences and debates over plain HTTP: the team form's checks, who sees
what (pupils only the conferences their school brings a team to), the programme."""

from __future__ import annotations

from datetime import date

from node.clock import now_ms
from tests.network import LiveNode, wait_for
from tests.web.web import client, csrf_of, http_sign_in

DEBATE = {
    "title": "Debate: should homework be banned?",
    "start": "2099-03-04T13:00+00:00",
    "end": "2099-03-04T15:00+00:00",
    "where": "Salle polyvalente",
    "text": "Contact Mme Roux on 06 12 34 56 78",  # staff to staff: pupils never see it
    "format": "debate",
    "audience": "public",
}
TODAY = date(2027, 1, 1)


async def test_a_pupil_sees_the_conference_their_school_attends(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await lycee.node.events.create(DEBATE)
    other = await lycee.node.events.create({**DEBATE, "title": "Conference: rivers"})
    await wait_for(lambda: school.holds(other.id), what="the Lycée's events at Oakfield")
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        async with http.get("/conferences") as response:
            page = await response.text()
        assert "not bringing a team" in page
        async with http.get(f"/events/{made.id}/programme", allow_redirects=False) as response:
            assert response.status == 404  # not yet: Oakfield brings no team
    found = await school.node.events.find(str(made.id))
    await school.node.teams.send(found, 5, {"speaker": 2}, now=now_ms(), today=TODAY)

    async def shared() -> bool:
        return len(await school.node.teams.teams(made.id, found.author)) == 1

    await wait_for(shared, what="the Lycée's table at Oakfield")
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        async with http.get("/") as response:
            assert 'href="/conferences"' in await response.text()
        async with http.get("/conferences") as response:
            page = await response.text()
        assert "Debate: should homework be banned?" in page
        assert "Conference: rivers" not in page  # Oakfield brings no team there
        assert "Our team: 5 pupils." in page
        assert "06 12 34 56 78" not in page
        async with http.get(f"/events/{made.id}/programme") as response:
            assert response.status == 200
            programme = await response.text()
        assert "Oakfield Primary School" in programme
        assert "Salle polyvalente" in programme
        assert "06 12 34 56 78" not in programme
        async with http.get(f"/events/{other.id}/programme", allow_redirects=False) as response:
            assert response.status == 404
        async with http.get(f"/events/{made.id}", allow_redirects=False) as response:
            assert response.status == 403  # the event page itself is for staff


async def test_the_team_form_refuses_bad_numbers_in_words(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await lycee.node.events.create(DEBATE)
    plain = await lycee.node.events.create({**DEBATE, "format": "training-day"})
    await wait_for(lambda: school.holds(plain.id), what="the Lycée's events at Oakfield")
    path = f"/events/{made.id}"
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get(f"/events/{plain.id}") as response:
            assert "Our team" not in await response.text()
        token = await csrf_of(http, path)
        for form, words in [
            ({"pupils": "0"}, "whole number from 1 to 60"),
            ({"pupils": "lots"}, "whole number from 1 to 60"),
            ({"pupils": "61"}, "Give 1 to 60 pupils"),
            ({"pupils": "3", "speaker": "2", "audience": "2"}, "Give 1 to 60 pupils"),
            ({"pupils": "3", "speaker": "-1"}, "whole number from 1 to 60"),
        ]:
            async with http.post(
                f"{path}/team", data={"csrf": token, **form}, allow_redirects=False
            ) as response:
                assert response.status == 400, form
                page = await response.text()
                assert words in page, form
                assert f'value="{form["pupils"]}"' in page  # what was typed is kept
        async with http.post(
            f"/events/{plain.id}/team", data={"csrf": token, "pupils": "3"}, allow_redirects=False
        ) as response:
            assert response.status == 400
            assert "Only a conference or a debate" in await response.text()
        assert await school.node.teams.ours(made.id) is None
        async with http.post(
            f"{path}/team",
            data={"csrf": token, "pupils": "4", "speaker": "2", "researcher": "2"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
        async with http.get(path) as response:
            page = await response.text()
        assert "Our team is sent to the organiser." in page
        assert "Withdraw our team" in page
    ours = await school.node.teams.ours(made.id)
    assert ours is not None
    assert (ours.pupils, ours.roles) == (4, {"speaker": 2, "researcher": 2})
