"""Two schools become partners through their web pages, in a real browser."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

from tests.network import LiveNode, wait_for
from tests.web.web import add_user, browser, screenshot, sign_in


async def partner_names(page: Page, live: LiveNode) -> str:
    await page.goto(f"{live.address}/partners")
    return await page.locator("main table").inner_text()


async def test_two_schools_partner_through_their_pages(tmp_path: Path) -> None:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary School")
    b = await LiveNode.start(tmp_path / "b", "École Jules Verne", country="FR")
    try:
        await add_user(a, "Mrs Patel", "admin")
        await add_user(b, "Mme Martin", "admin")
        async with browser() as chromium:
            at_a = await sign_in(chromium, a, "Mrs Patel")
            await at_a.goto(f"{a.address}/partners")
            await at_a.get_by_label("The code works for").select_option("1")
            await at_a.get_by_role("button", name="Create an invite code").click()
            code = await at_a.get_by_label("Invite code").input_value()
            assert code
            await at_a.reload()  # shows no code, makes no other
            assert await at_a.get_by_label("Invite code").count() == 0
            assert "already shown" in await at_a.get_by_role("heading", level=1).inner_text()

            at_b = await sign_in(chromium, b, "Mme Martin")
            await at_b.goto(f"{b.address}/partners")
            await at_b.get_by_label("Invite code").fill(code)
            await at_b.get_by_role("button", name="Become partners").click()
            assert "You are now partners" in await at_b.get_by_role("status").inner_text()

            async def both_listed() -> bool:
                return "Oakfield" in await partner_names(
                    at_b, b
                ) and "Jules Verne" in await partner_names(at_a, a)

            await wait_for(both_listed, what="both schools to list each other")
            await screenshot(at_a, "partners", tmp_path)
            await at_a.goto(f"{a.address}/status")
            assert "École Jules Verne" in await at_a.locator("main table").inner_text()
            await screenshot(at_a, "status", tmp_path)
            await at_a.goto(f"{a.address}/partners")

            # Removing asks first, on a page of its own (no script needed).
            await at_a.get_by_role("link", name="Remove École Jules Verne").click()
            assert "Remove École Jules Verne" in await at_a.get_by_role("heading").inner_text()
            await at_a.get_by_role("button", name="Yes, remove this partner").click()
            assert "no longer a partner" in await at_a.get_by_role("status").inner_text()
    finally:
        await a.stop()
        await b.stop()


async def test_admin_adds_a_user_who_then_signs_in(school: LiveNode, tmp_path: Path) -> None:
    async with browser() as chromium:
        admin = await sign_in(chromium, school, "Mrs Patel")
        await (
            admin.get_by_role("navigation", name="Main menu")
            .get_by_role("link", name="Users")
            .click()
        )
        await admin.get_by_label("Role").select_option("staff")
        await admin.get_by_label("Name").fill("Ms Okafor")
        await admin.get_by_role("button", name="Add the user").click()
        password = await admin.locator("#new-password").inner_text()
        # Reloading shows no password and makes none (the form was not sent again).
        await admin.reload()
        heading = await admin.get_by_role("heading", level=1).inner_text()
        assert heading == "This password was already shown"
        assert await admin.locator("#new-password").count() == 0
        await admin.goto(f"{school.address}/users")
        await screenshot(admin, "users", tmp_path)

        context = await chromium.new_context(locale="en-GB")
        page = await context.new_page()
        await page.goto(f"{school.address}/signin")
        await page.get_by_label("Your name").fill("Ms Okafor")
        await page.get_by_label("Password").fill(password)
        await screenshot(page, "signin", tmp_path)
        await page.get_by_role("button", name="Sign in").click()
        assert await page.get_by_role("heading", level=1).inner_text() == "Hello, Ms Okafor"
