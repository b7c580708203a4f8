"""Usable by everyone, checked in a real browser: on a tablet, by keyboard alone, and
with text that stands out from its background (WCAG AA contrast)."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, ViewportSize

from node.clock import now_ms
from node.offers import service as offers
from tests.network import LiveNode
from tests.web.test_accessibility import ADMIN_PAGES, PUPIL_PAGES, STAFF_PAGES
from tests.web.web import PASSWORD, browser, sign_in

TABLET: ViewportSize = {"width": 768, "height": 1024}  # a tablet held upright

# Each element with its own text: its colour against the first opaque background
# behind it, as WCAG 2 defines contrast. Large text (24px, or 18.66px bold) needs
# 3:1, other text 4.5:1. Returns the elements that fall short.
LOW_CONTRAST = """() => {
  const rgba = (text) => (text.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number);
  const channel = (c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255, 1];
  };
  const failures = [];
  for (const element of document.body.querySelectorAll("*")) {
    const own = [...element.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim());
    if (!own.length || !element.getClientRects().length) continue;
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || element.closest(".skip")) continue;
    const fg = rgba(style.color), bg = background(element);
    const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const text = own[0].textContent.trim().slice(0, 40);
    if (ratio < needed) failures.push(`${element.tagName} "${text}" ${ratio.toFixed(2)}`);
  }
  return failures;
}"""


async def school_with_content(school: LiveNode) -> list[str]:
    """An offer, a project with a post and a pupil in it: pages with something on them."""
    node = school.node
    content = offers.content_of(
        activity="observation", title="Observe our phonics lessons", focus=["phonics"],
        text="Year 1 phonics, any morning.", languages=["en"],
    )  # fmt: skip
    offer = await node.offers.post("offer", content)
    project = await node.projects.create("Rivers of Europe", ["Rivers"], now_ms())
    await node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=now_ms())
    post = await node.projects.draft(project.id, "Amira", "Herons", "We saw *two*.",
                                     theme="Rivers", images=[], now=now_ms())  # fmt: skip
    await node.projects.approve(post.id, "Mr Jones", now_ms())
    return [f"/offers/{offer.id}", f"/projects/{project.id}", f"/posts/{post.id}"]


async def problems(page: Page, address: str | None, paths: list[str]) -> dict[str, Any]:
    """Per page: horizontal scrolling on a tablet, and text with too little contrast."""
    found: dict[str, Any] = {}
    for path in paths:
        response = await page.goto(f"{address}{path}")
        assert response is not None
        assert response.status == 200, path
        wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        low = await page.evaluate(LOW_CONTRAST)
        if wide > 0 or low:
            found[path] = {"wider_than_the_screen_by_px": wide, "low_contrast": low}
    return found


async def test_pages_fit_a_tablet_and_their_text_is_readable(school: LiveNode) -> None:
    extra = await school_with_content(school)
    async with browser() as chromium:
        signin = await (await chromium.new_context(viewport=TABLET)).new_page()
        assert await problems(signin, school.address, ["/signin"]) == {}
        for name, paths in (
            ("Mr Jones", [*STAFF_PAGES, *extra]),
            ("Mrs Patel", list(ADMIN_PAGES)),
            ("Amira", [*PUPIL_PAGES, *extra[1:]]),
        ):
            page = await sign_in(chromium, school, name)
            await page.set_viewport_size(TABLET)
            assert await problems(page, school.address, paths) == {}, name


async def test_the_contrast_check_finds_pale_text(school: LiveNode) -> None:
    async with browser() as chromium:
        page = await (await chromium.new_context()).new_page()
        await page.set_content(
            '<body style="background:#fff"><p style="color:#aaa">pale</p>'
            '<p style="color:#000">dark</p><h1 style="color:#888;font-size:30px">big</h1></body>'
        )
        assert await page.evaluate(LOW_CONTRAST) == ['P "pale" 2.32']


async def focused(page: Page) -> dict[str, Any]:
    """What has keyboard focus, and whether it is visibly marked."""
    return dict(
        await page.evaluate(
            """() => {
              const e = document.activeElement, s = getComputedStyle(e);
              return {tag: e.tagName, id: e.id, text: e.textContent.trim(),
                      marked: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2};
            }"""
        )
    )


async def test_signing_in_and_moving_around_by_keyboard_alone(school: LiveNode) -> None:
    async with browser() as chromium:
        page = await (await chromium.new_context(viewport=TABLET)).new_page()
        await page.goto(f"{school.address}/signin")
        assert (await focused(page))["id"] == "name"  # the form is ready to type into
        await page.keyboard.type("Mr Jones")
        await page.keyboard.press("Tab")
        assert (await focused(page))["id"] == "password"
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Tab")
        button = await focused(page)
        assert (button["tag"], button["text"], button["marked"]) == ("BUTTON", "Sign in", True)
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{school.address}/")

        # The first Tab offers to skip the menu; it shows, and takes focus to the content.
        await page.keyboard.press("Tab")
        skip = await focused(page)
        assert (skip["text"], skip["marked"]) == ("Skip to the content", True)
        assert await page.evaluate("document.activeElement.getBoundingClientRect().left") >= 0
        await page.keyboard.press("Enter")
        assert (await focused(page))["id"] == "main"

        # Every menu link is reached with Tab, in the order shown, each visibly marked.
        await page.goto(f"{school.address}/")
        seen = []
        for _ in range(20):
            await page.keyboard.press("Tab")
            now = await focused(page)
            assert now["marked"], now
            seen.append(now["text"])
            if now["text"] == "Projects":
                break
        assert seen[:4] == [
            "Skip to the content",
            "Oakfield Primary School",
            "Home",
            "Offers and requests",
        ]
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r".*/projects$"))
