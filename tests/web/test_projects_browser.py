"""The issue's flow in a real browser, across two schools on loopback.

School A starts a project and invites its partner B. A pupil at A writes a post with
a photo, a teacher at A approves it, and it appears on B's project page. B reviews
partners' posts (two-key publication), so B's pupils see it only once B's teacher
accepts it, and its photo is not served to them before. Finally A takes it down and
sees B's receipt.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Page

from tests.network import LiveNode, partner, wait_for
from tests.web.test_projects import PHOTO, post_form
from tests.web.web import add_user, browser, client, http_sign_in, screenshot, sign_in

TITLE = "The heron by the weir"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary School")
    b = await LiveNode.start(tmp_path / "b", "École du Parc", country="FR")
    try:
        await partner(a, b)
        await add_user(a, "Mr Jones", "staff")
        await add_user(a, "Amira", "pupil")
        await a.node.accounts.set_consent(
            "Amira", show_name=None, work_photos=True, face_photos=None
        )
        await add_user(b, "Mme Roux", "staff")
        await add_user(b, "Léo", "pupil")
        yield a, b
    finally:
        await b.stop()
        await a.stop()


async def reload_until(page: Page, text: str, *, within: float = 20.0) -> None:
    """Reload ``page`` until ``text`` shows (letters between schools take a moment)."""

    async def shown() -> bool:
        await page.reload()
        return text in await page.content()

    await wait_for(shown, within=within, what=f"{text!r} on {page.url}")


def photo_file(tmp_path: Path) -> Path:
    path = tmp_path / "heron.jpg"
    image = Image.new("RGB", (480, 320), (150, 200, 235))  # a child's drawing of a river
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 190, 480, 320), fill=(70, 140, 70))
    draw.polygon([(0, 230), (480, 200), (480, 260), (0, 300)], fill=(40, 90, 170))
    draw.ellipse((390, 30, 450, 90), fill=(250, 210, 60))
    draw.line([(200, 120), (200, 215)], fill=(60, 60, 60), width=4)  # a heron, standing
    draw.ellipse((175, 90, 235, 135), fill=(170, 170, 180))
    draw.line([(230, 100), (262, 92)], fill=(220, 160, 40), width=4)
    out = io.BytesIO()
    image.save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return path


async def test_a_pupils_post_reaches_the_partner_school(
    schools: tuple[LiveNode, LiveNode], tmp_path: Path
) -> None:
    a, b = schools
    async with browser() as chromium:
        # A's teacher starts the project and invites B.
        teacher_a = await sign_in(chromium, a, "Mr Jones")
        await teacher_a.goto(f"{a.address}/projects")
        await teacher_a.get_by_label("Title").fill("Rivers of Europe")
        await teacher_a.get_by_label("Themes").fill("Rivers\nFood")
        await teacher_a.get_by_role("button", name="Start the project").click()
        await teacher_a.get_by_label("Invite a partner school").select_option(str(b.node.node_id))
        await teacher_a.get_by_role("button", name="Invite", exact=True).click()
        assert "Invitation sent" in await teacher_a.get_by_role("status").inner_text()
        project_url = urlsplit(teacher_a.url).path

        # Only the pupils A's teacher chooses take part: Amira's class.
        async with client(a) as amira:
            await http_sign_in(amira, "Amira")
            async with amira.get(project_url) as page:
                assert page.status == 404
        await teacher_a.get_by_role("checkbox", name="the whole class").check()
        await teacher_a.get_by_role("button", name="Save the pupils").click()
        assert "Only the pupils ticked" in await teacher_a.get_by_role("status").inner_text()

        # B's teacher accepts the invitation and turns on review for partners' posts.
        teacher_b = await sign_in(chromium, b, "Mme Roux")
        await teacher_b.goto(f"{b.address}{project_url}")
        await reload_until(teacher_b, "Accept the invitation")
        async with client(b) as leo:  # only invited: B's pupils do not see it yet
            await http_sign_in(leo, "Léo")
            async with leo.get(project_url) as page:
                assert page.status == 404
        await teacher_b.get_by_role("button", name="Accept the invitation").click()
        await teacher_b.get_by_label(re.compile("accepts it first")).check()
        await teacher_b.get_by_role("button", name="Save", exact=True).click()
        await teacher_b.get_by_role("checkbox", name="Léo").check()
        await teacher_b.get_by_role("button", name="Save the pupils").click()
        assert await b.node.projects.get(project_url.rsplit("/", 1)[1]) is not None

        # A's pupil writes a post with a photo.
        pupil = await sign_in(chromium, a, "Amira")
        await pupil.get_by_role("link", name="Projects", exact=True).click()
        await pupil.get_by_role("link", name="Rivers of Europe").click()
        await pupil.get_by_role("link", name="Write a post").click()
        await pupil.get_by_label("Title").fill(TITLE)
        await pupil.get_by_label("Theme").select_option("Rivers")
        await pupil.get_by_label("Your post").fill("We counted **three** herons.")
        await pupil.get_by_label("Photos of your work").set_input_files(photo_file(tmp_path))
        await screenshot(pupil, "post-write", tmp_path)
        await pupil.get_by_role("button", name="Send it to your teacher").click()
        assert "A teacher will read it" in await pupil.get_by_role("status").inner_text()
        post_url = urlsplit(pupil.url).path
        assert await pupil.get_by_role("button", name=re.compile("Approve")).count() == 0

        # A's teacher finds it on the home page and approves it.
        await teacher_a.goto(f"{a.address}/")
        await teacher_a.get_by_role("link", name=TITLE).click()
        assert await teacher_a.locator("img[src*='/photos/']").count() == 1
        await screenshot(teacher_a, "post-approve", tmp_path)
        await teacher_a.get_by_role("button", name=re.compile("Approve and send")).click()
        assert "Approved" in await teacher_a.get_by_role("status").inner_text()

        # It reaches B: B's teacher sees it (waiting for acceptance), with its photo.
        await teacher_b.goto(f"{b.address}{project_url}")
        await reload_until(teacher_b, TITLE)
        article = teacher_b.get_by_role("article").filter(has_text=TITLE)
        assert "waiting for our acceptance" in await article.inner_text()
        image = article.locator("img")
        await wait_for(
            lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"),
            what="the photo to load at B",
        )
        await screenshot(teacher_b, "project-blog", tmp_path)

        # B's pupils do not see it, nor its photo, until B's teacher accepts it.
        async with client(b) as leo:
            await http_sign_in(leo, "Léo")
            async with leo.get(project_url) as page:
                assert TITLE not in await page.text()
            found = PHOTO.search(await teacher_b.content())
            assert found
            async with leo.get(found[1]) as response:
                assert response.status == 404
            async with leo.get(post_url) as response:
                assert response.status == 404
            await article.get_by_role("link", name=TITLE).click()
            await teacher_b.get_by_role("button", name="Accept", exact=True).click()
            async with leo.get(project_url) as page:
                assert TITLE in await page.text()
            async with leo.get(found[1]) as response:
                assert (response.status, response.content_type) == (200, "image/jpeg")

        # B may not take A's post down; A may, and B confirms with a receipt.
        async with client(b) as roux:
            await http_sign_in(roux, "Mme Roux")
            refused = await post_form(roux, f"{post_url}/takedown", post_url, reason="")
            assert refused.status == 400  # the post's page again, saying who can
        assert (await b.node.projects.post(post_url.rsplit("/", 1)[1])).state == "approved"
        await teacher_a.goto(f"{a.address}{post_url}")
        await teacher_a.get_by_label("Reason").fill("Posted twice")
        await teacher_a.get_by_role("button", name="Take down everywhere").click()
        assert "Taken down here" in await teacher_a.get_by_role("status").inner_text()
        await reload_until(teacher_a, "deleted, confirmed")
        assert (
            "École du Parc"
            in await teacher_a.get_by_role("listitem")
            .filter(has_text="deleted, confirmed")
            .inner_text()
        )
        # At B the page says who took it down and why; receipts are A's to see.
        await teacher_b.goto(f"{b.address}{post_url}")
        takedown = await teacher_b.get_by_role("region", name="Takedown").inner_text()
        assert "Taken down by Oakfield Primary School" in takedown
        assert "Reason given: Posted twice" in takedown
        assert "No other school had a copy" not in takedown
