"""A partner school's name with a right-to-left override, on our offers page in a real
browser: the override ends with the name, the page's own words after it stay in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.network import LiveNode, partner, wait_for
from tests.web.test_form_text import project_of
from tests.web.web import browser, sign_in

#: Where the first letter of each word sits on the line, left to right.
LEFT_OF = """(p) => {
  const found = {};
  const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of ["France", "posted"]) {
      const at = node.data.indexOf(word);
      if (at >= 0) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        found[word] = range.getBoundingClientRect().left;
      }
    }
  }
  return found;
}"""


@pytest.fixture
async def reversed_name(school: LiveNode, tmp_path: Path) -> AsyncIterator[LiveNode]:
    live = await LiveNode.start(tmp_path / "lycee", "Lycée \u202eeniluoM", country="FR")
    try:
        yield live
    finally:
        await live.stop()


async def test_an_override_in_a_schools_name_stops_at_the_name(
    school: LiveNode, reversed_name: LiveNode
) -> None:
    offer = await reversed_name.node.offers.post(
        "offer", {"activity": "visit", "title": "Forest \u202eschool visits"}
    )
    await partner(school, reversed_name)
    await wait_for(lambda: school.holds(offer.id), what="the Lycée's offer at Oakfield")
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await page.goto(f"{school.address}/offers")
        line = page.locator("p.muted", has_text="France")
        left = await line.evaluate(LEFT_OF)
        assert left["France"] < left["posted"], await line.inner_text()


async def test_a_refused_form_sent_again_in_a_browser_stores_what_was_typed(
    school: LiveNode,
) -> None:
    """A teacher's event with an override left open in its title and details, refused
    (it ends before it starts), then sent again as the browser shows it once the end
    is put right: stored as typed, with no closing mark added by the page."""
    title = "Fête de l'école \u202eZoë"
    where = "Salle \u202edes fêtes"
    lines = ["Arrivée à 15 h 45.", "", "\u202eApportez un portable."]
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await page.goto(f"{school.address}/events/new")
        await page.get_by_label("Title").fill(title)
        await page.get_by_label("Starts").fill("2099-03-04T18:00")
        await page.get_by_label("Ends").fill("2099-03-04T16:00")
        await page.locator("#where").fill(where)
        await page.locator("#text").fill("\n".join(lines))
        await page.get_by_role("button", name="Publish the event").click()
        assert await page.locator("[aria-invalid=true]").count() > 0  # refused
        assert await page.get_by_label("Title").input_value() == title
        assert await page.locator("#where").input_value() == where
        assert await page.locator("#text").input_value() == "\n".join(lines)
        await page.get_by_label("Ends").fill("2099-03-04T20:00")
        await page.get_by_role("button", name="Publish the event").click()
        assert "The event is published." in await page.get_by_role("status").inner_text()
    (event,) = await school.node.events.listing()
    assert (event.content["title"], event.content["where"]) == (title, where)
    assert event.content["text"] == "\n".join(lines)


async def test_a_pupil_s_refused_post_comes_back_as_typed_in_a_browser(school: LiveNode) -> None:
    """A post refused by the node's own rules (a control character in its text) comes
    back in the browser as typed: its title with an open override, its text with the
    line break it starts with (an HTML parser drops one after ``<textarea>``); sent
    again once the character is taken out, it is stored so."""
    project = await project_of(school)
    title = "Notre \u202epromenade"
    body = "\nLa rivière.\n\nUn héron !\x07"
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Amira")
        await page.goto(f"{school.address}/projects/{project}/write")
        await page.locator("#title").fill(title)
        await page.locator("#body").fill(body)
        await page.locator("form button[type=submit]").last.click()
        assert await page.locator(".flash.error").count() == 1  # refused
        assert await page.locator("#title").input_value() == title
        assert await page.locator("#body").input_value() == body
        await page.locator("#body").evaluate("box => { box.value = box.value.slice(0, -1) }")
        await page.locator("form button[type=submit]").last.click()
        assert "A teacher will read it" in await page.locator(".flash").first.inner_text()
    (post,) = await school.node.projects.posts(project, states=("draft",))
    assert (post.title, post.body) == (title, body[:-1])
