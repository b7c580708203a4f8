"""Offers, requests and matches pages over plain HTTP: refusals, the form's checks, search."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.network import LiveNode
from tests.web.web import add_user, client, csrf_of, http_sign_in

LYON = {
    "activity": "observation",
    "title": "Observer une classe de lecture à l'école",
    "text": "Venez voir nos ateliers de lecture en CE1.",
    "focus": ["reading", "phonics"],
    "phases": ["primary"],
    "languages": ["fr", "en"],
    "mode": "in-person",
}


@pytest.fixture
async def lyon(tmp_path: Path) -> AsyncIterator[LiveNode]:
    live = await LiveNode.start(tmp_path / "lyon", "École Jean Macé", country="FR")
    await add_user(live, "Mme Durand", "staff")
    try:
        yield live
    finally:
        await live.stop()


async def test_pupils_never_see_offers_matches_or_the_form(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        for path in ("/offers", "/offers/new", "/matches", "/matches/staff"):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 403, path
        token = await csrf_of(http, "/")
        async with http.post(
            "/offers/new",
            data={"csrf": token, "activity": "visit", "title": "x"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403
    assert await school.node.offers.listing("offer") == []


async def test_search_is_a_linkable_get_with_filters(school: LiveNode) -> None:
    lyon_offer = await school.node.offers.post("offer", LYON)
    await school.node.offers.post(
        "request",
        {"activity": "observation", "title": "Lecture au collège", "phases": ["secondary"]},
    )
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/offers", params={"q": "ecole", "phase": "primary"}) as response:
            page = await response.text()
        assert f"/offers/{lyon_offer.id}" in page
        assert "Lecture au collège" not in page
        async with http.get("/offers", params={"q": "lecture", "kind": "request"}) as response:
            page = await response.text()
        assert "Lecture au collège" in page
        assert f"/offers/{lyon_offer.id}" not in page
        async with http.get("/offers", params={"focus": "phonics", "language": "fr"}) as response:
            assert f"/offers/{lyon_offer.id}" in await response.text()
        async with http.get("/offers", params={"country": "fr"}) as response:
            assert "1 result" not in await response.text()  # both are ours, in GB
        # Offers only, of one kind, a subject, online or in person: all at once.
        both = {"side": "request", "kind": "observation", "subject": "Français", "mode": ""}
        async with http.get("/offers", params=both) as response:
            page = await response.text()
        assert "Lecture au collège" not in page  # no subject given
        assert 'value="Français"' in page
        assert '<option value="request" selected>' in page
        await school.node.offers.post(
            "request",
            {
                "activity": "observation",
                "title": "Lecture en ligne",
                "subjects": ["francais"],
                "mode": "either",
            },
        )
        async with http.get("/offers", params={**both, "mode": "online"}) as response:
            page = await response.text()
        assert "Lecture en ligne" in page
        assert "1 result" in page
        async with http.get("/offers", params={**both, "side": "offer"}) as response:
            assert "Lecture en ligne" not in await response.text()
        async with http.get(f"/offers/{lyon_offer.id}") as response:
            page = await response.text()
        assert "Venez voir nos ateliers" in page
        assert "Withdraw" in page  # ours
        async with http.get("/offers/" + "0" * 64) as response:
            assert response.status == 404
        async with http.get("/offers/not-an-id") as response:
            assert response.status == 404


async def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/offers/new")
        async with http.post(
            "/offers/new",
            data={
                "csrf": token,
                "side": "request",
                "activity": "",
                "title": "Une visite d'été",
                "from": "2027-07-10",
                "to": "2027-07-01",
                "capacity": "lots",
                "languages_extra": "French",
            },
            allow_redirects=False,
        ) as response:
            assert response.status == 400
            page = await response.text()
        assert "Choose what kind of collaboration" in page
        assert "The last date is before the first date." in page
        assert "Give a whole number" in page
        assert "Write languages as short codes" in page
        assert "Une visite d&#39;été" in page
    assert await school.node.offers.listing("request") == []


async def test_only_the_posting_school_may_withdraw(school: LiveNode) -> None:
    theirs = await school.node.offers.post("offer", LYON)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, f"/offers/{theirs.id}")
        async with http.post(
            f"/offers/{theirs.id}/withdraw",
            data={"csrf": token, "reason": "Plus de place"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
        async with http.get(f"/offers/{theirs.id}") as response:
            page = await response.text()  # what it was, and why: no longer a live offer
        assert "We withdrew it on" in page
        assert "Plus de place" in page
        assert "/withdraw" not in page
        async with http.post(
            f"/offers/{theirs.id}/withdraw", data={"csrf": token}, allow_redirects=False
        ) as response:
            assert response.status == 404  # nothing left to withdraw
    assert await school.node.offers.listing("offer") == []


async def test_another_schools_offer_cannot_be_withdrawn_here(
    school: LiveNode, lyon: LiveNode
) -> None:
    from tests.network import partner, wait_for

    entry = await lyon.node.offers.post("offer", LYON)
    await partner(school, lyon)
    await wait_for(lambda: school.holds(entry.id), what="Lyon's offer at Oakfield")
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, f"/offers/{entry.id}")
        async with http.get(f"/offers/{entry.id}") as response:
            page = await response.text()
        assert "École Jean Macé" in page
        assert "Withdraw" not in page
        async with http.post(
            f"/offers/{entry.id}/withdraw", data={"csrf": token}, allow_redirects=False
        ) as response:
            assert response.status == 403
    assert await school.holds(entry.id)


async def test_matches_show_score_reasons_and_link(school: LiveNode, lyon: LiveNode) -> None:
    from tests.network import partner, wait_for

    offer = await lyon.node.offers.post("offer", LYON)
    await school.node.offers.post(
        "request",
        {
            "activity": "observation",
            "title": "See phonics teaching",
            "focus": ["phonics"],
            "languages": ["fr"],
        },
    )
    await partner(school, lyon)
    await wait_for(lambda: school.holds(offer.id), what="Lyon's offer at Oakfield")
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/matches") as response:
            page = await response.text()
    assert "See phonics teaching" in page
    assert f'href="/offers/{offer.id}"' in page
    assert "same focus: Phonics" in page
    assert "shared language: French" in page
    async with client(school) as http:  # the reasons in the teacher's language
        await http_sign_in(http, "Mr Jones")
        async with http.get("/matches", headers={"Accept-Language": "fr-FR"}) as response:
            page = await response.text()
    assert "même thème : Phonologie et déchiffrage" in page
    assert "langue commune : français" in page


async def test_staff_pairs_say_who_observes_whom(school: LiveNode) -> None:
    from node.observations import staff

    for name, strong, develops in (
        ("Ann Baker", "behaviour", "questioning"),
        ("Ben Carter", "questioning", "behaviour"),
    ):
        member = staff.member(
            name, strengths=[strong], develops=[develops], subjects=[], phase="primary"
        )
        await school.node.staff.add(member)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/matches/staff") as response:
            page = await response.text()
    assert "Ann Baker observes Ben Carter, looking at Questioning" in page
    assert "Ben Carter observes Ann Baker, looking at Behaviour" in page


def test_every_page_of_this_area_is_for_staff_only() -> None:
    from aiohttp import web

    from node.web.pages import events, interests, observations
    from node.web.pages import offers as offer_pages

    for module in (offer_pages, events, observations, interests):
        for route in module.routes:
            assert isinstance(route, web.RouteDef)
            assert getattr(route.handler, "required_role", None) == "staff", route.path


async def test_every_page_reads_in_french(school: LiveNode) -> None:
    entry = await school.node.offers.post("offer", LYON)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        for path in (
            "/offers",
            "/offers?q=lecture&phase=primary",
            f"/offers/{entry.id}",
            "/offers/new",
            "/matches",
            "/matches/staff",
            "/interests",
            "/events",
            "/events/new",
            "/observations",
            "/observations/new",
        ):
            async with http.get(path, headers={"Accept-Language": "fr"}) as response:
                assert response.status == 200, path
                page = await response.text()
            assert '<html lang="fr">' in page, path


async def test_results_come_a_page_at_a_time_keeping_the_search(school: LiveNode) -> None:
    for number in range(30):
        await school.node.offers.post(
            "offer",
            {"activity": "visit", "title": f"Forest school visit {number}", "phases": ["primary"]},
        )
    await school.node.offers.post("offer", {"activity": "visit", "title": "Choir afternoon"})
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/offers", params={"q": "forest", "phase": "primary"}) as response:
            first = await response.text()
        assert first.count('<li class="card">') == 25
        assert "Choir afternoon" not in first
        more = re.search(r'<a href="(/offers\?[^"]+)">More results</a>', first)
        assert more is not None
        next_page = html.unescape(more[1])
        assert "q=forest" in next_page
        assert "phase=primary" in next_page
        async with http.get(next_page) as response:
            second = await response.text()
        assert second.count('<li class="card">') == 5
        assert "More results" not in second
        titles = re.findall(r"Forest school visit \d+", first + second)
        assert len(set(titles)) == 30
