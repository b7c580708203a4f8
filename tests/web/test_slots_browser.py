"""A TeachMeet in a real browser, across two partner schools: Oakfield makes it with
speaker slots, a teacher at the Lycée signs up for a 2-minute slot, Oakfield accepts,
and the Lycée sees its talk in the running order."""

from __future__ import annotations

from pathlib import Path

from node.events import slots
from tests.network import LiveNode, wait_for
from tests.web.web import browser, screenshot, sign_in


async def test_sign_up_to_speak_at_a_partners_teachmeet(
    school: LiveNode, lycee: LiveNode, tmp_path: Path
) -> None:
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await page.goto(f"{school.address}/events/new")
        await page.get_by_label("Title").fill("TeachMeet: oracy across the curriculum")
        await page.get_by_label("Starts").fill("2099-03-04T16:00")
        await page.get_by_label("Ends").fill("2099-03-04T18:00")
        await page.get_by_label("Speaker slots").fill("2x2,1x7")
        await page.get_by_role("button", name="Publish the event").click()
        assert "The event is published." in await page.get_by_role("status").inner_text()
        event_url = page.url
        event_id = event_url.rsplit("/", 1)[1]
        made = (await school.node.events.find(event_id)).id
        await wait_for(lambda: lycee.holds(made), what="the TeachMeet at the Lycée")

        there = await sign_in(chromium, lycee, "M. Martin", locale="en-GB")
        await there.goto(f"{lycee.address}/events/{event_id}")
        form = there.locator(f"form[action='/events/{event_id}/talks']")
        assert "the speaker's name and the title are public" in await form.inner_text()
        await form.get_by_label("Slot").select_option("1")
        await form.get_by_label("Title of the talk").fill("Talk partners in Year 3")
        assert await form.get_by_label("Speaker").input_value() == "M. Martin"
        await form.get_by_role("button", name="Sign up to speak").click()
        assert "sent to the organising school" in await there.get_by_role("status").inner_text()
        assert "is waiting for the organiser" in await there.locator("main").inner_text()

        async def offered() -> bool:
            return (await slots.lineup(school.node, event_id)).slots[0].state == "offered"

        await wait_for(offered, what="the talk at Oakfield")
        await page.goto(event_url)
        order = page.locator("section[aria-labelledby='running-order']")
        assert "waiting for our answer" in await order.inner_text()
        await order.get_by_role("button", name="Accept").click()
        assert "accepted and published" in await page.get_by_role("status").inner_text()
        await screenshot(page, "teachmeet-running-order", tmp_path)

        async def published() -> bool:
            return (await slots.lineup(lycee.node, event_id)).slots[0].state == "accepted"

        await wait_for(published, what="the running order at the Lycée")
        await there.reload()
        shown = await there.locator("section[aria-labelledby='running-order']").inner_text()
        assert "Talk partners in Year 3" in shown
        assert "Oakfield" not in shown  # the talk is the Lycée's
        assert "Lycée Jean Moulin" in shown
        await there.get_by_role("button", name="Withdraw our talk").click()
        assert "The slot is free." in await there.get_by_role("status").inner_text()

        async def freed() -> bool:
            return (await slots.lineup(school.node, event_id)).unpublished

        await wait_for(freed, what="the withdrawal at Oakfield")
        await page.reload()
        await page.get_by_role("button", name="Publish the running order").click()
        assert "running order is published" in await page.get_by_role("status").inner_text()
