"""Times on the pages, over real HTTP: the visitor's region, the organiser's zone, ours.

The school fixture is Oakfield, in the United Kingdom (Europe/London). A Paris event
at 17:00 in December is 16:00 in London; its page must say both, in the order and
clock the visitor's browser asks for (Accept-Language), without seconds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from node.web import i18n
from tests.network import LiveNode, partner, wait_for
from tests.web.web import add_user, csrf_of, http_sign_in

DASH = "\N{EN DASH}"  # between the organiser's time and ours
PARIS_EVENING = {
    "title": "TeachMeet: oracy",
    "start": "2099-12-13T17:00+01:00",
    "end": "2099-12-13T19:00+01:00",
    "tz": "Europe/Paris",
    "where": "Lycée Jean Macé",
}


@asynccontextmanager
async def browser(live: LiveNode, accept_language: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose every request says ``accept_language``, as a browser's does."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(
        base_url=live.address, cookie_jar=jar, headers={"Accept-Language": accept_language}
    ) as session:
        await http_sign_in(session, "Mr Jones")
        yield session


async def page_text(session: aiohttp.ClientSession, path: str) -> str:
    """The page's text with tags gone and every kind of space as one plain space
    (Babel writes "5:00 PM" with a narrow no-break space)."""
    async with session.get(path) as response:
        assert response.status == 200, path
        html = await response.text()
    text = re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'")
    return re.sub(r"[\s\u202f\u00a0]+", " ", text)


async def test_an_en_gb_teacher_in_london_reads_a_paris_event_in_both_zones(
    school: LiveNode, tmp_path: Path
) -> None:
    paris = await LiveNode.start(tmp_path / "paris", "Lycée Jean Macé", country="FR")
    try:
        await partner(school, paris)
        public = await paris.node.events.create(PARIS_EVENING)
        private = await paris.node.events.create_for(
            {**PARIS_EVENING, "title": "Partners' planning"}, "partners"
        )

        async def both_arrived() -> bool:
            return len(await school.node.events.listing()) == 2

        await wait_for(both_arrived, what="the public and the private event at Oakfield")
        async with browser(school, "en-GB,en;q=0.9") as http:
            for path in ("/", "/events", f"/events/{public.id}", f"/events/{private}"):
                page = await page_text(http, path)
                assert f"13 Dec 2099, 17:00 (Paris time) {DASH} 16:00 here" in page, path
                assert "17:00:00" not in page, path
                assert "PM" not in page, path
            page = await page_text(http, f"/events/{public.id}")
            assert f"Ends 13 Dec 2099, 19:00 (Paris time) {DASH} 18:00 here" in page
    finally:
        await paris.stop()


async def test_a_french_visitor_reads_french_dates_and_words(school: LiveNode) -> None:
    entry = await school.node.events.create(PARIS_EVENING)
    async with browser(school, "fr-FR,fr;q=0.9,en;q=0.5") as http:
        page = await page_text(http, f"/events/{entry.id}")
    assert f"13 déc. 2099, 17:00 (heure de Paris) {DASH} 16:00 chez nous" in page


async def test_an_en_us_visitor_reads_the_us_order_and_clock(school: LiveNode) -> None:
    entry = await school.node.events.create(PARIS_EVENING)
    async with browser(school, "en-US,en;q=0.9") as http:
        page = await page_text(http, f"/events/{entry.id}")
    assert f"Dec 13, 2099, 5:00 PM (Paris time) {DASH} 4:00 PM here" in page
    assert "5:00:00" not in page


async def test_an_event_in_our_own_zone_is_not_given_twice(school: LiveNode) -> None:
    entry = await school.node.events.create(
        {
            **PARIS_EVENING,
            "start": "2099-12-13T09:00Z",
            "end": "2099-12-13T15:00Z",
            "tz": "Europe/London",
        },
    )
    async with browser(school, "en-GB") as http:
        page = await page_text(http, f"/events/{entry.id}")
    assert "Starts 13 Dec 2099, 09:00 (London time) Ends" in page
    assert re.search(r"\bhere\b", page) is None


async def test_an_event_between_the_american_and_european_clock_changes(
    school: LiveNode,
) -> None:
    """New York moves its clocks on 8 March 2099, London on 29 March: on the 20th,
    16:00 in New York is 20:00 in London (four hours, not the usual five)."""
    async with browser(school, "en-GB") as http:
        token = await csrf_of(http, "/events/new")
        form = {
            "csrf": token,
            "title": "Video call with our New York partners",
            "start": "2099-03-20T16:00",
            "end": "2099-03-20T17:00",
            "tz": "America/New_York",
            "audience": "public",
        }
        async with http.post("/events/new", data=form, allow_redirects=False) as response:
            assert response.status == 303
            location = response.headers["Location"]
        page = await page_text(http, location)
    assert f"20 Mar 2099, 16:00 (New York time) {DASH} 20:00 here" in page
    assert f"17:00 (New York time) {DASH} 21:00 here" in page.replace("Ends 20 Mar 2099, ", "")


async def test_a_time_past_midnight_here_gives_our_date_too(school: LiveNode) -> None:
    entry = await school.node.events.create(
        {
            **PARIS_EVENING,
            "title": "Sister-school assembly",
            "start": "2099-12-14T07:00+08:00",
            "end": "2099-12-14T08:00+08:00",
            "tz": "Asia/Shanghai",
        },
    )
    async with browser(school, "en-GB") as http:
        page = await page_text(http, f"/events/{entry.id}")
    assert f"14 Dec 2099, 07:00 (Shanghai time) {DASH} 13 Dec 2099, 23:00 here" in page
    assert f"14 Dec 2099, 08:00 (Shanghai time) {DASH} 00:00 here" in page


async def test_other_times_are_in_our_schools_zone_and_the_visitors_region(
    tmp_path: Path,
) -> None:
    """An invite code's expiry is kept in UTC milliseconds: a New York school's admin
    reads it in New York time, the US way, without seconds."""
    brooklyn = await LiveNode.start(tmp_path / "brooklyn", "PS 321 Brooklyn", country="US")
    try:
        await add_user(brooklyn, "Mr Jones", "admin")  # browser() signs him in
        async with browser(brooklyn, "en-US") as http:
            before = datetime.now(UTC)
            token = await csrf_of(http, "/partners")
            async with http.post("/partners/invite", data={"csrf": token, "days": "7"}) as sent:
                assert sent.url.path == "/partners/invite"  # the code, shown once
                html = await sent.text()
            after = datetime.now(UTC)
        page = re.sub(r"[\s\u202f\u00a0]+", " ", re.sub(r"<[^>]+>", " ", html))
        new_york = ZoneInfo("America/New_York")
        expected = {
            f"{moment:%b} {moment.day}, {moment:%Y}, {moment:%-I:%M %p}"
            for moment in (
                (before + timedelta(days=7)).astimezone(new_york),
                (after + timedelta(days=7)).astimezone(new_york),
            )
        }
        assert any(f"until {words}" in page for words in expected), (expected, page)
    finally:
        await brooklyn.stop()


def test_a_time_no_calendar_can_show_says_date_unknown() -> None:
    """Another school's letter may carry any number: the page says so, never a 500."""
    clock = i18n.Clock.of("en_GB", "Europe/London", "fr")
    assert clock.moment(2**53 - 1) == "date inconnue"
    assert clock.day(-(2**62)) == "date inconnue"
    assert clock.event_time("0001-01-01T00:00+14:00", "Pacific/Kiritimati") == "date inconnue"
    assert clock.event_time("not a time", "Europe/Paris") == "date inconnue"
    assert clock.day("2099-03-04") == "4 Mar 2099"  # a calendar date is not moved


def test_a_date_proposed_for_an_arrangement_reads_as_one_day_and_two_times() -> None:
    """A morning's visit, proposed from Paris, read in London: the date once, and each
    end once in each zone, rather than each end in full with the dashes of both."""
    london = i18n.Clock.of("en_GB", "Europe/London", "en")
    visit = ("2099-03-10T09:30+01:00", "2099-03-10T12:00+01:00", "Europe/Paris")
    assert london.event_span(*visit) == (
        f"10 Mar 2099, 09:30{DASH}12:00 (Paris time) {DASH} 08:30{DASH}11:00 here"
    )
    paris = i18n.Clock.of("fr_FR", "Europe/Paris", "fr")
    assert paris.event_span(*visit) == f"10 mars 2099, 09:30{DASH}12:00 (heure de Paris)"
    overnight = ("2099-03-10T20:00+01:00", "2099-03-11T08:00+01:00", "Europe/Paris")
    assert london.event_span(*overnight) == (
        f"10 Mar 2099, 20:00 (Paris time) {DASH} 19:00 here until "
        f"11 Mar 2099, 08:00 (Paris time) {DASH} 07:00 here"
    )
    shanghai = ("2099-12-14T07:00+08:00", "2099-12-14T07:30+08:00", "Asia/Shanghai")
    assert london.event_span(*shanghai) == (
        f"14 Dec 2099, 07:00{DASH}07:30 (Shanghai time) {DASH} 13 Dec 2099, 23:00{DASH}23:30 here"
    )


async def test_a_school_in_the_canaries_sets_its_own_zone_on_its_profile(
    tmp_path: Path,
) -> None:
    """Spain's main zone is Madrid's; a school in Las Palmas keeps Canary time."""
    canaria = await LiveNode.start(tmp_path / "canaria", "CEIP Las Palmas", country="ES")
    await add_user(canaria, "Sra. Díaz", "admin")
    await add_user(canaria, "Mr Jones", "staff")  # as browser() signs in
    madrid = {
        **PARIS_EVENING,
        "start": "2099-12-13T18:00+01:00",
        "end": "2099-12-13T19:00+01:00",
        "tz": "Europe/Madrid",
    }
    try:
        entry = await canaria.node.events.create(madrid)
        async with browser(canaria, "en-GB") as http:
            before = await page_text(http, f"/events/{entry.id}")
        assert "Starts 13 Dec 2099, 18:00 (Madrid time) Ends" in before  # one zone: no "here"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(
            base_url=canaria.address, cookie_jar=jar, headers={"Accept-Language": "es-ES"}
        ) as admin:
            await http_sign_in(admin, "Sra. Díaz")
            token = await csrf_of(admin, "/profile")
            form = {"csrf": token, "name": "CEIP Las Palmas", "country": "ES"}
            async with admin.post("/profile", data={**form, "tz": "Canarias"}) as response:
                assert response.status == 400  # not a zone name: said at the top and field
                refused = await response.text()
            assert 'href="#tz"' in refused
            assert 'value="Canarias"' in refused
            async with admin.post("/profile", data={**form, "tz": "Atlantic/Canary"}) as response:
                assert response.status == 200
                assert "Guardado." in await response.text()  # in the school's language
            async with admin.get("/profile") as response:
                assert 'value="Atlantic/Canary"' in await response.text()
        assert (await canaria.node.identity()).tz == "Atlantic/Canary"
        async with browser(canaria, "en-GB") as http:
            after = await page_text(http, f"/events/{entry.id}")
            assert f"13 Dec 2099, 18:00 (Madrid time) {DASH} 17:00 here" in after
            async with http.get("/events/new") as response:
                assert 'value="Atlantic/Canary"' in await response.text()  # its first guess
    finally:
        await canaria.stop()
