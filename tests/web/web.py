"""Real nodes serving their web pages, and a real browser (Debian's chromium) to use them.

Browser tests drive Debian's chromium through Playwright (``executable_path``), as a
teacher's or a pupil's browser would; ``.ci/run`` installs it with apt-get.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from playwright.async_api import Browser, Page, async_playwright

from tests.network import LiveNode

CHROMIUM = os.environ.get("SCHOOLMESH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "correct-horse-7"
#: Flags for a headless browser on a machine with no network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def add_user(live: LiveNode, name: str, role: str, *, klass: str | None = None) -> None:
    await live.node.accounts.add(
        name, role, PASSWORD, klass=klass or ("5B" if role == "pupil" else None), now=0
    )


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before the browser starts)
        raise AssertionError(
            f"no chromium at {CHROMIUM}: install it (apt-get install chromium, as .ci/run "
            "does) or set SCHOOLMESH_CHROMIUM to its path"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(browser: Browser, live: LiveNode, name: str, *, locale: str = "en-GB") -> Page:
    """A new browser context (its own cookies), signed in as ``name``."""
    context = await browser.new_context(locale=locale, viewport={"width": 1024, "height": 768})
    page = await context.new_page()
    await page.goto(f"{live.address}/signin")
    await page.get_by_label(re.compile("name", re.I)).first.fill(name)
    await page.locator("#password").fill(PASSWORD)
    await page.locator("form[action='/signin'] button[type=submit]").click()
    await page.wait_for_url(f"{live.address}/")
    return page


async def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """Save a screenshot: into docs/screenshots/ when SCHOOLMESH_SCREENSHOTS=1, else tmp."""
    folder = SCREENSHOTS if os.environ.get("SCHOOLMESH_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@asynccontextmanager
async def client(live: LiveNode) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client with its own cookie jar (for header and refusal checks).

    It asks for English, as a browser asks for its own language: a school in France
    shows French to a browser that names none of ours (docs/web.md, "Languages").
    """
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    english = {"Accept-Language": "en-GB,en;q=0.9"}
    async with aiohttp.ClientSession(
        base_url=live.address, cookie_jar=jar, headers=english
    ) as session:
        yield session


async def csrf_of(session: aiohttp.ClientSession, path: str) -> str:
    async with session.get(path) as response:
        page = await response.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found[1]


async def http_sign_in(session: aiohttp.ClientSession, name: str) -> None:
    token = await csrf_of(session, "/signin")
    async with session.post(
        "/signin",
        data={"csrf": token, "name": name, "password": PASSWORD, "next": "/"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
