"""Refused forms keep their ticks (issue 19): offer, event, profile, project roster and
consent forms."""

from __future__ import annotations

import re

from multidict import MultiDict

from node.clock import now_ms
from tests.network import LiveNode
from tests.web.web import add_user, client, csrf_of, http_sign_in


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


async def test_a_refused_roster_form_keeps_its_ticks(school: LiveNode) -> None:
    await add_user(school, "Ben", "pupil", klass="6A")
    project = await school.node.projects.create("Rivers of Europe", [], now_ms())
    page = f"/projects/{project.id}"
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        form = [
            ("csrf", await csrf_of(http, page)),
            ("class", "5B"),
            ("pupil", "Ben"),
            ("pupil", "Zoe"),  # refused: no such pupil (gone since the page was shown)
        ]
        async with http.post(f"{page}/pupils", data=form, headers={"Referer": page}) as response:
            assert response.status == 400
            text = await response.text()
    assert "Zoe" in text
    assert ticked(text, "class") == {"5B"}
    assert ticked(text, "pupil") == {"Ben"}
    roster = await school.node.projects.rosters.of(project.id)
    assert (roster.classes, roster.pupils) == ((), ())  # nothing half-saved


def card_of(page: str, pupil: str) -> str:
    """The consent page's card (and form) for ``pupil``."""
    cards = [c for c in page.split('<li class="card">')[1:] if f'value="{pupil}"' in c]
    assert len(cards) == 1, pupil
    return cards[0]


async def test_a_refused_consent_form_keeps_its_ticks_for_that_pupil_only(
    school: LiveNode,
) -> None:
    await add_user(school, "Ben", "pupil")
    await school.node.accounts.set_consent(
        "Ben", show_name="full", work_photos=True, face_photos=False
    )
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        form = {
            "csrf": await csrf_of(http, "/projects/consent"),
            "name": "Amira",
            "show_name": "nickname",  # refused: neither in full nor initials
            "work_photos": "yes",
            "face_photos": "yes",
        }
        async with http.post("/projects/consent", data=form) as response:
            assert response.status == 400
            page = await response.text()
    assert "Choose how partner schools see" in page
    amira, ben = card_of(page, "Amira"), card_of(page, "Ben")
    assert ticked(amira, "show_name") == set()  # neither was chosen: choose again
    assert ticked(amira, "work_photos") == {"yes"}
    assert ticked(amira, "face_photos") == {"yes"}
    assert ticked(ben, "show_name") == {"full"}  # the other pupils' cards: as stored
    assert ticked(ben, "work_photos") == {"yes"}
    assert ticked(ben, "face_photos") == set()
    amira_now = await school.node.accounts.get("Amira")
    assert (amira_now.show_name, amira_now.work_photos, amira_now.face_photos) == (
        "initials",
        False,
        False,
    )
