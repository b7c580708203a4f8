"""Signing in, the menu by role, and the language switch, in a real browser."""

from __future__ import annotations

from pathlib import Path

from tests.network import LiveNode
from tests.web.web import browser, screenshot, sign_in


async def test_teacher_signs_in_and_switches_language(school: LiveNode, tmp_path: Path) -> None:
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        assert await page.get_by_role("heading", level=1).inner_text() == "Hello, Mr Jones"
        menu = page.get_by_role("navigation", name="Main menu")
        assert await menu.get_by_role("link", name="Partners").count() == 1
        assert await menu.get_by_role("link", name="Users").count() == 0  # admins only
        await screenshot(page, "dashboard-teacher", tmp_path)
        await page.get_by_role("link", name="Français").click()
        assert await page.get_by_role("heading", level=1).inner_text() == "Bonjour, Mr Jones"
        assert await page.locator("html").get_attribute("lang") == "fr"
        await page.get_by_role("link", name="English").click()
        assert await page.get_by_role("heading", level=1).inner_text() == "Hello, Mr Jones"


async def test_wrong_password_is_explained(school: LiveNode) -> None:
    async with browser() as chromium:
        page = await (await chromium.new_context()).new_page()
        await page.goto(f"{school.address}/signin")
        await page.get_by_label("Your name").fill("Mr Jones")
        await page.get_by_label("Password").fill("not-the-password")
        await page.get_by_role("button", name="Sign in").click()
        assert "do not match" in await page.get_by_role("alert").inner_text()
        assert await page.get_by_label("Your name").input_value() == "Mr Jones"


async def test_pupil_sees_a_pupils_menu_and_is_refused_staff_pages(
    school: LiveNode, tmp_path: Path
) -> None:
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Amira")
        menu = page.get_by_role("navigation", name="Main menu")
        assert await menu.get_by_role("link", name="Projects").count() == 1
        assert await menu.get_by_role("link", name="Partners").count() == 0
        response = await page.goto(f"{school.address}/partners")
        assert response is not None
        assert response.status == 403
        assert await page.get_by_role("heading", level=1).inner_text() == "Not for your account"
        assert "ask a teacher" in await page.locator("main").inner_text()
