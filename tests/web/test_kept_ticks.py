"""Refused forms keep their ticks (issue 19): offer form, event form."""

from __future__ import annotations

import re

from multidict import MultiDict

from tests.network import LiveNode
from tests.web.web import client, csrf_of, http_sign_in


def ticked(page: str, name: str) -> set[str]:
    """The values of the checkboxes named ``name`` that are ticked."""
    found = set()
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and "checked" in tag:
            value = re.search(r'value="([^"]*)"', tag)
            assert value
            found.add(value[1])
    return found


async def test_a_refused_offer_form_keeps_its_ticks(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/offers/new")
        form = MultiDict(
            [
                ("csrf", token),
                ("side", "offer"),
                ("activity", "observation"),
                ("title", ""),  # refused: no title
                ("phases", "primary"),
                ("phases", "secondary"),
                ("languages", "fr"),
                ("languages", "en"),
                ("focus", "phonics"),
            ]
        )
        async with http.post("/offers/new", data=form) as response:
            assert response.status == 400
            page = await response.text()
    assert ticked(page, "phases") == {"primary", "secondary"}
    assert ticked(page, "languages") == {"fr", "en"}
    assert ticked(page, "focus") == {"phonics"}


async def test_a_refused_event_form_keeps_its_choice_and_all_typed(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/events/new")
        form = {
            "csrf": token,
            "title": "TeachMeet",
            "start": "2027-03-04T17:00",
            "end": "2027-03-04T16:00",  # refused: ends before it starts
            "tz": "Europe/London",
            "text": "Two lines\r\nof details",
            "audience": "partners",
        }
        async with http.post("/events/new", data=form) as response:
            assert response.status == 400
            page = await response.text()
    assert ticked(page, "audience") == {"partners"}
    assert "Two lines\nof details</textarea>" in page


async def test_a_refused_profile_form_keeps_its_ticks(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        token = await csrf_of(http, "/profile")
        form = MultiDict(
            [
                ("csrf", token),
                ("name", "Oakfield Primary School"),
                ("country", "England"),  # refused: not a two-letter code
                ("phases", "primary"),
                ("phases", "secondary"),
            ]
        )
        async with http.post("/profile", data=form) as response:
            assert response.status == 400
            page = await response.text()
    assert ticked(page, "phases") == {"primary", "secondary"}
