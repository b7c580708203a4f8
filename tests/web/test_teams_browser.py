"""A pupil debate in a real browser, across two real partner schools: Oakfield makes it,
the Lycée sends its team, each school sees both teams by numbers and roles, the
programme prints without the menus, and a pupil at the Lycée finds it."""

from __future__ import annotations

import re
from pathlib import Path

from protocol.keys import EntryId
from tests.network import LiveNode, wait_for
from tests.web.web import browser, screenshot, sign_in

TITLE = "Debate: should homework be banned?"


async def test_a_debate_shows_each_schools_team_at_both_schools(
    school: LiveNode, lycee: LiveNode, tmp_path: Path
) -> None:
    async with browser() as chromium:
        teacher = await sign_in(chromium, school, "Mr Jones")
        await teacher.goto(f"{school.address}/events/new")
        await teacher.get_by_label("Title").fill(TITLE)
        await teacher.get_by_label("Starts").fill("2099-03-04T13:00")
        await teacher.get_by_label("Ends").fill("2099-03-04T15:00")
        await teacher.get_by_label(re.compile("^Where")).fill("Oakfield hall")
        await teacher.get_by_label("A pupil debate: schools bring teams of pupils").check()
        await teacher.get_by_role("button", name="Publish the event").click()
        assert "The event is published." in await teacher.get_by_role("status").inner_text()
        event_url = teacher.url
        event_id = EntryId.parse(event_url.rsplit("/", 1)[1])
        assert "No teams yet." in await teacher.locator("main").inner_text()

        await wait_for(lambda: lycee.holds(event_id), what="the debate at the Lycée")
        guest = await sign_in(chromium, lycee, "M. Martin", locale="en-GB")
        await guest.goto(f"{lycee.address}/events/{event_id}")
        await guest.get_by_label("Number of pupils").fill("6")
        await guest.get_by_label("Speakers").fill("2")
        await guest.get_by_label("Researchers").fill("3")
        await guest.get_by_label("Audience").fill("1")
        await guest.get_by_role("button", name="Send our team").click()
        assert "Our team is sent to the organiser." in (
            await guest.get_by_role("status").inner_text()
        )

        teams = teacher.get_by_role("table")

        async def arrived() -> bool:
            await teacher.reload()
            return await teams.get_by_role("row", name=re.compile("Lycée Jean Moulin")).count() == 1

        await wait_for(arrived, what="the Lycée's team on Oakfield's page")
        row = teams.get_by_role("row", name=re.compile("Lycée Jean Moulin"))
        assert re.sub(r"\s+", " ", await row.inner_text()).strip() == "Lycée Jean Moulin 6 2 3 1"
        # The host school's own pupils take part too.
        await teacher.get_by_label("Number of pupils").fill("4")
        await teacher.get_by_label("Speakers").fill("2")
        await teacher.get_by_role("button", name="Save our team").click()
        assert "Our team is saved." in await teacher.get_by_role("status").inner_text()
        await screenshot(teacher, "event-teams", tmp_path)

        shared = guest.get_by_role("table")

        async def came_back() -> bool:
            await guest.reload()
            return await shared.get_by_role("row", name=re.compile("Oakfield")).count() == 1

        await wait_for(came_back, what="Oakfield's table at the Lycée")
        total = shared.get_by_role("row", name=re.compile("All schools"))
        assert re.sub(r"\s+", " ", await total.inner_text()).strip() == "All schools 10 4 3 1"

        await guest.get_by_role("link", name="Printable programme").click()
        assert await guest.get_by_role("heading", level=1).inner_text() == TITLE
        assert await guest.get_by_role("navigation", name="Main menu").is_visible()
        await guest.emulate_media(media="print")
        assert not await guest.get_by_role("navigation", name="Main menu").is_visible()
        assert await guest.get_by_role("table").is_visible()

        pupil = await sign_in(chromium, lycee, "Léa", locale="en-GB")
        await (
            pupil.get_by_role("navigation", name="Main menu")
            .get_by_role("link", name="Conferences")
            .click()
        )
        await pupil.get_by_role("link", name=TITLE).click()
        text = await pupil.locator("main").inner_text()
        assert "Oakfield hall" in text
        assert "Lycée Jean Moulin" in text
        await screenshot(pupil, "conference-programme", tmp_path)
