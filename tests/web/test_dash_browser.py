"""The dashboard's "Needs doing", calendar subscription, project feeds, the icon, photo
descriptions, deleting a draft, the password confirmation and sending an observation,
in a real browser (Chromium) against real schools on loopback.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import icalendar
from playwright.async_api import Page, Response

from node.clock import now_ms
from tests.network import LiveNode, wait_for
from tests.web.test_needs import OUR_OFFER
from tests.web.test_projects import start
from tests.web.test_projects_browser import photo_file
from tests.web.web import browser, screenshot, sign_in

EVENT = {
    "title": "Spring TeachMeet",
    "start": "2099-04-01T16:00+01:00",
    "end": "2099-04-01T18:00+01:00",
    "tz": "Europe/London",
    "audience": "public",
}


async def bare(url: str) -> tuple[int, bytes]:
    """``url`` fetched with no cookie, as a calendar program or a feed reader does."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


def missing_pages(page: Page) -> list[str]:
    """Every address the page asked for that answered 404 (a console error each)."""
    found: list[str] = []

    def seen(response: Response) -> None:
        if response.status == 404:
            found.append(response.url)

    page.on("response", seen)
    return found


async def test_a_teacher_follows_the_dashboard_subscribes_and_makes_a_feed(
    school: LiveNode, lycee: LiveNode, tmp_path: Path
) -> None:
    offer = await school.node.offers.post("offer", OUR_OFFER)
    await school.node.events.create(EVENT)
    await wait_for(lambda: lycee.holds(offer.id), what="Oakfield's offer at the Lycée")
    await lycee.node.interests.send(
        str(offer.id), "Two of us, in March?", by="M. Martin", now=now_ms()
    )

    async def arrived() -> bool:
        return any(i.direction == "received" for i in await school.node.interests.all())

    await wait_for(arrived, what="the interest at Oakfield")
    project = await start(school)
    async with browser() as chromium:
        teacher = await sign_in(chromium, school, "Mr Jones")
        missing = missing_pages(teacher)
        await teacher.reload()
        needs = teacher.get_by_role("region", name="Needs doing")
        item = needs.get_by_role("link", name=re.compile("Lycée Jean Moulin is interested in"))
        await screenshot(teacher, "dashboard-needs-doing", tmp_path)
        await item.click()
        await teacher.wait_for_url(f"{school.address}/interests")
        assert "Two of us, in March?" in await teacher.locator("main").inner_text()
        assert not missing, missing  # the icon included: no 404 in the console

        # Calendar: subscribe from the events page; the address works with no session.
        await teacher.goto(f"{school.address}/events")
        await teacher.get_by_role("link", name="Subscribe in your calendar program").click()
        await teacher.get_by_role("button", name="Make my calendar address").click()
        webcal = await teacher.locator("#webcal").get_attribute("href")
        address = await teacher.get_by_label(re.compile("Or copy this address")).input_value()
        assert webcal == address.replace("http://", "webcal://", 1)
        status, body = await bare(address)
        assert status == 200
        (item_ics,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
        assert str(item_ics["SUMMARY"]) == "Spring TeachMeet"
        await teacher.reload()
        assert await teacher.locator("#calendar-address").count() == 0  # shown once
        await teacher.get_by_role("button", name="Stop my calendar address").click()
        assert "no longer works" in await teacher.get_by_role("status").inner_text()
        assert (await bare(address))[0] == 404

        # The project's feed, linked from its page for feed readers too.
        await teacher.goto(f"{school.address}/projects/{project}")
        await teacher.get_by_role("button", name="Make my private feed").click()
        link = teacher.get_by_role("link", name="Your private feed (Atom)")
        url = await link.get_attribute("href")
        assert url
        alternate = teacher.locator('head link[rel="alternate"][type="application/atom+xml"]')
        assert await alternate.get_attribute("href") == url
        status, body = await bare(url)
        assert status == 200
        assert b"<feed" in body


async def test_a_pupil_describes_a_photo_reads_the_teachers_note_and_deletes_a_draft(
    school: LiveNode, tmp_path: Path
) -> None:
    project = await start(school)
    await school.node.accounts.set_consent(
        "Amira", show_name=None, work_photos=True, face_photos=None
    )
    photo = photo_file(tmp_path)
    async with browser() as chromium:
        pupil = await sign_in(chromium, school, "Amira")
        await pupil.goto(f"{school.address}/projects/{project}/write")
        await pupil.get_by_label("Title").fill("The heron by the weir")
        await pupil.locator("#photos").set_input_files(str(photo))
        await pupil.locator("#photos_alt").fill("A grey heron standing by the weir")
        await pupil.get_by_role("button", name="Send it to your teacher").click()
        image = pupil.get_by_role("img", name="A grey heron standing by the weir")
        assert await image.count() == 1
        post_url = pupil.url
        post_id = post_url.rsplit("/", 1)[1]
        await school.node.projects.return_(post_id, "Mr Jones", "Say where the weir is.")
        await pupil.goto(f"{school.address}/")
        needs = pupil.get_by_role("region", name="Needs doing")
        text = await needs.inner_text()
        assert "Your teacher returned “The heron by the weir”" in text
        assert "Say where the weir is." in text
        await needs.get_by_role("link", name=re.compile("Your teacher returned")).click()
        await pupil.wait_for_url(post_url)
        await pupil.get_by_role("link", name="Delete this draft").click()
        await pupil.get_by_role("button", name="Yes, delete my draft").click()
        assert "deleted" in await pupil.get_by_role("status").inner_text()
        assert "The heron by the weir" not in await pupil.locator("main").inner_text()


async def test_a_returned_draft_stays_among_the_pupils_drafts(school: LiveNode) -> None:
    """A draft the teacher returned is still the pupil's draft: their home page lists it,
    marked as returned, rather than say "No drafts waiting" beside the note about it."""
    project = await start(school)
    node = school.node
    await node.projects.draft(
        project, "Amira", "Otters", "We saw one.", theme=None, images=[], now=now_ms()
    )
    returned = await node.projects.draft(
        project, "Amira", "The weir", "It is loud.", theme=None, images=[], now=now_ms()
    )
    await node.projects.return_(returned.id, "Mr Jones", "Say where the weir is.")
    async with browser() as chromium:
        pupil = await sign_in(chromium, school, "Amira")
        drafts = pupil.get_by_role("region", name="Your drafts")
        listed = await drafts.get_by_role("listitem").all_inner_texts()
        assert sorted(" ".join(item.split()) for item in listed) == [
            "Otters waiting for your teacher",
            "The weir returned with a note",
        ]
        await drafts.get_by_role("link", name="The weir").click()
        await pupil.wait_for_url(f"{school.address}/posts/{returned.id}")
        assert "Say where the weir is." in await pupil.locator("main").inner_text()


async def test_an_admin_confirms_a_new_password_first(school: LiveNode) -> None:
    async with browser() as chromium:
        admin = await sign_in(chromium, school, "Mrs Patel")
        await admin.goto(f"{school.address}/users")
        await admin.get_by_role("link", name="New password for Amira").click()
        heading = await admin.get_by_role("heading", level=1).inner_text()
        assert heading == "A new password for Amira?"
        await admin.get_by_role("link", name="Cancel").click()
        await admin.wait_for_url(f"{school.address}/users")
        assert await school.node.accounts.check_password("Amira", "correct-horse-7")
        await admin.get_by_role("link", name="New password for Amira").click()
        await admin.get_by_role("button", name="Yes, make a new password").click()
        password = await admin.locator("#new-password").inner_text()
        assert await school.node.accounts.check_password("Amira", password)


async def test_a_teacher_reads_who_will_see_an_observation_before_sending_it(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await school.node.observations.add(
        observer="M. Martin",
        observed="Mr Jones",
        focus="oracy",
        priority="Talk for writing",
        day=datetime.now(UTC).date(),
        strengths=["Clear modelling"],
        actions=["Sentence stems on the wall"],
        follow_up=None,
    )
    async with browser() as chromium:
        teacher = await sign_in(chromium, school, "Mr Jones")
        await teacher.goto(f"{school.address}/observations/{made.id}")
        who = await teacher.locator("#who-will-see").inner_text()
        assert "every member of staff at our school" in who
        assert "every member of staff at the partner school you choose" in who
        await teacher.get_by_label(re.compile("Partner school")).select_option(
            label="Lycée Jean Moulin"
        )
        await teacher.get_by_role("button", name="Send it to that school").click()
        assert "Lycée Jean Moulin only" in await teacher.get_by_role("status").inner_text()
