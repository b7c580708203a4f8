"""Real nodes serving their web pages, and a real browser (Debian's chromium) to use them.

Browser tests drive Debian's chromium through Playwright (``executable_path``), as a
teacher's or a pupil's browser would; ``.ci/run`` installs it with apt-get.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import re
import shutil
import tempfile
import threading
import time
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
    """This test's own connection to the test process's chromium (see :class:`Chromium`).

    The contexts a test makes are its own (cookies, storage, viewport, locale); closing
    the connection at the end closes every one of them, so the next test finds none.
    """
    endpoint = await asyncio.to_thread(CHROMIUM_PROCESS.endpoint)
    async with async_playwright() as playwright:
        connected = await playwright.chromium.connect_over_cdp(endpoint)
        try:
            yield connected
        finally:
            await connected.close()


class Chromium:
    """One chromium for the whole test process (each pytest-xdist worker has its own).

    Launching chromium costs about 0.5 s of CPU, and 27 tests used to launch one each
    (docs/performance.md). Playwright objects belong to the event loop that made them,
    and every test has its own loop, so the browser is launched by Playwright (with
    the switches it always gives chromium) on a thread and loop of its own, with a
    DevTools port on loopback; each test then connects to it over that port from its
    own loop with :func:`browser`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoint: str | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def endpoint(self) -> str:
        """The DevTools address, launching chromium the first time it is asked for."""
        with self._lock:
            if self._endpoint is None:
                self._endpoint = self._launch()
            return self._endpoint

    def _launch(self) -> str:
        if not os.path.exists(CHROMIUM):
            raise AssertionError(
                f"no chromium at {CHROMIUM}: install it (apt-get install chromium, as .ci/run "
                "does) or set SCHOOLMESH_CHROMIUM to its path"
            )
        profile = Path(tempfile.mkdtemp(prefix="schoolmesh-chromium-"))
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run(profile, ready)),
            name="chromium",
            daemon=True,  # never what keeps a finished test run alive
        )
        self._thread.start()
        atexit.register(self.close)
        return ready.result(timeout=60)

    async def _run(self, profile: Path, ready: concurrent.futures.Future[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with async_playwright() as playwright:
                context = await playwright.chromium.launch_persistent_context(
                    profile,
                    executable_path=CHROMIUM,
                    args=[*CHROMIUM_ARGS, "--remote-debugging-port=0"],
                )
                ready.set_result(f"http://127.0.0.1:{await _devtools_port(profile)}")
                await self._stop.wait()
                await context.close()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            raise
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    def close(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)


CHROMIUM_PROCESS = Chromium()


async def _devtools_port(profile: Path) -> int:
    """The port chromium chose: it writes it, then its DevTools path, into the profile."""
    written = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = written.read_text().split("\n") if written.exists() else []
        if len(lines) >= 2 and lines[0].isdigit() and lines[1]:
            return int(lines[0])
        await asyncio.sleep(0.01)
    raise AssertionError(f"chromium wrote no DevTools port into {written}")


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
