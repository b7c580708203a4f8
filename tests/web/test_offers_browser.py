"""Offers, matches and events in a real browser, between two real partner schools."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import icalendar
import pytest

from protocol.keys import EntryId
from tests.network import LiveNode, partner, wait_for
from tests.web.web import add_user, browser, screenshot, sign_in


@pytest.fixture
async def lyon(tmp_path: Path) -> AsyncIterator[LiveNode]:
    live = await LiveNode.start(tmp_path / "lyon", "École Jean Macé", country="FR")
    await add_user(live, "Mme Durand", "staff")
    try:
        yield live
    finally:
        await live.stop()


async def test_find_an_offer_by_accented_word_then_post_one_a_partner_sees(
    school: LiveNode, lyon: LiveNode, tmp_path: Path
) -> None:
    theirs = await lyon.node.offers.post(
        "offer",
        {
            "activity": "observation",
            "title": "Ateliers de lecture à l'école maternelle",
            "text": "Observez nos ateliers de phonologie en grande section.",
            "focus": ["phonics", "early-years"],
            "phases": ["nursery"],
            "languages": ["fr", "en"],
            "mode": "in-person",
        },
    )
    await lyon.node.offers.post(
        "offer",
        {"activity": "visit", "title": "Visite de l'école élémentaire", "phases": ["primary"]},
    )
    await partner(school, lyon)
    await wait_for(lambda: school.holds(theirs.id), what="Lyon's offer at Oakfield")
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await (
            page.get_by_role("navigation", name="Main menu")
            .get_by_role("link", name="Offers and requests")
            .click()
        )
        await page.get_by_label("Words to find").fill("École")
        await page.get_by_label("Phase").select_option("nursery")
        await page.get_by_label("Country").select_option("FR")
        await page.get_by_role("button", name="Search").click()
        assert "q=%C3%89cole" in page.url  # a linkable search
        assert "country=FR" in page.url
        assert await page.get_by_role("heading", name="1 result").count() == 1
        await screenshot(page, "offers-search", tmp_path)
        await page.get_by_role("link", name="Ateliers de lecture à l'école maternelle").click()
        assert await page.get_by_role("heading", level=1).inner_text() == (
            "Ateliers de lecture à l'école maternelle"
        )
        assert "École Jean Macé" in await page.locator("main").inner_text()

        # Post a request through the form: it reaches Lyon, and matches Lyon's offer.
        await page.goto(f"{school.address}/offers/new?side=request")
        await page.get_by_label("Kind of collaboration").select_option("observation")
        await page.get_by_label("Title").fill("See early phonics in a French nursery")
        await page.get_by_label("Phonics").check()
        await page.get_by_label("Other focus areas").fill("storytelling")
        await page.get_by_label("Nursery").check()
        await page.get_by_label("French").check()
        await page.get_by_label("In person or online").select_option("in-person")
        await page.get_by_role("button", name="Post it").click()
        assert "Your request is posted." in await page.get_by_role("status").inner_text()
        posted = EntryId.parse(page.url.rsplit("/", 1)[1])

        await (
            page.get_by_role("navigation", name="Main menu")
            .get_by_role("link", name="Matches")
            .click()
        )
        best = page.locator(".matches > li").first
        assert "Ateliers de lecture" in await best.inner_text()
        assert "same focus: Phonics" in await best.inner_text()
        await screenshot(page, "matches", tmp_path)

        await wait_for(lambda: lyon.holds(posted), what="Oakfield's request at Lyon")
        there = await sign_in(chromium, lyon, "Mme Durand")
        await there.goto(f"{lyon.address}/offers?kind=request")
        found = there.get_by_role("link", name="See early phonics in a French nursery")
        await found.click()
        text = await there.locator("main").inner_text()
        assert "Oakfield Primary School" in text
        assert "storytelling" in text


async def test_create_an_event_and_download_the_calendar(school: LiveNode, tmp_path: Path) -> None:
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await page.goto(f"{school.address}/events/new")
        await page.get_by_label("Title").fill("TeachMeet: oracy across the curriculum")
        await page.get_by_label("Starts").fill("2099-03-04T16:00")
        await page.get_by_label("Ends").fill("2099-03-04T18:00")
        assert await page.get_by_label("Time zone").input_value() == "Europe/London"
        await page.get_by_label(re.compile("^Where")).fill("Oakfield hall")
        await page.get_by_label("Places").fill("60")
        await page.get_by_role("button", name="Publish the event").click()
        assert "The event is published." in await page.get_by_role("status").inner_text()
        await page.get_by_role("link", name="All events").click()
        assert await page.get_by_role("link", name="TeachMeet: oracy across the curriculum").count()
        await screenshot(page, "events", tmp_path)
        async with page.expect_download() as info:
            await page.get_by_role("link", name="Download the calendar (.ics)").click()
        download = await info.value
        assert download.suggested_filename == "schoolmesh-events.ics"
        saved = tmp_path / "events.ics"
        await download.save_as(saved)
    calendar = icalendar.Calendar.from_ical(saved.read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "TeachMeet: oracy across the curriculum"
    assert str(event["LOCATION"]) == "Oakfield hall"
    assert event.decoded("DTSTART").isoformat() == "2099-03-04T16:00:00+00:00"
