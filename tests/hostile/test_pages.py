"""The web pages against what another school sent, or a visitor crafted.

Whatever is stored, no page answers 500; whatever is uploaded, the node's memory
stays bounded. Times are written straight into the database, as letters stored
before the receiving rules bounded them would be (docs/security.md, item 4 of
issue 18): the pages must show them, not only refuse new ones.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from node.clock import now_ms
from node.net.logs import PER_KEY
from tests.network import LYCEE, OAK, LiveNode, network, wait_for
from tests.web.web import add_user, client, csrf_of, http_sign_in

#: Times no calendar can show: the largest integer JavaScript keeps exact (the year
#: 287396), far before the epoch, and the largest SQLite can hold.
ABSURD = (2**53 - 1, -(2**53), 2**63 - 1)


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    """Oakfield runs a project; the Lycée is a member, and its pupil's post reached Oakfield."""
    async with network(tmp_path, [OAK, LYCEE], [("oak", "lycee")]) as nodes:
        oak, lycee = nodes["oak"], nodes["lycee"]
        await add_user(oak, "Mrs Patel", "staff")
        await add_user(oak, "Amira", "pupil", klass="5B")
        await add_user(lycee, "Mme Blanc", "staff")
        await add_user(lycee, "Léa", "pupil", klass="CM2")
        yield nodes


async def _project_with_a_partners_post(oak: LiveNode, lycee: LiveNode) -> tuple[str, str]:
    project = await oak.node.projects.create("Rivers of Europe", ["rivers"], now_ms())
    await oak.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=now_ms())
    await oak.node.projects.invite(project.id, lycee.node.node_id, now_ms())

    async def invited() -> bool:
        return any(p.id == project.id for p in await lycee.node.projects.all())

    await wait_for(invited, what="the Lycée to be invited")
    await lycee.node.projects.join(project.id, now_ms())
    await lycee.node.projects.rosters.replace(project.id, classes=["CM2"], pupils=[], now=0)
    draft = await lycee.node.projects.draft(
        project.id, "Léa", "La Loire", "Notre sortie", theme=None, images=[], now=now_ms()
    )
    await lycee.node.projects.approve(draft.id, "Mme Blanc", now_ms())

    async def arrived() -> bool:
        return any(p.id == draft.id and p.body for p in await oak.node.projects.posts(project.id))

    await wait_for(arrived, what="the Lycée's post at Oakfield")
    return project.id, draft.id


async def test_a_post_with_a_time_no_calendar_can_show_breaks_no_page_and_can_be_taken_down(
    schools: dict[str, LiveNode],
) -> None:
    """A partner's post at = 2**53-1 made every page that showed it answer 500."""
    oak, lycee = schools["oak"], schools["lycee"]
    project, post = await _project_with_a_partners_post(oak, lycee)
    await oak.node.projects.comment(post, "Mrs Patel", "Magnifique !", now_ms())
    feed = await oak.node.feeds.create("Mrs Patel", project, now_ms())
    staff_pages = [
        "/",
        "/projects",
        f"/projects/{project}",
        f"/posts/{post}",
        f"/feeds/{feed.token}",
    ]
    async with client(oak) as teacher, client(oak) as pupil:
        await http_sign_in(teacher, "Mrs Patel")
        await http_sign_in(pupil, "Amira")
        for at in ABSURD:
            async with oak.node.store.write():
                await oak.node.store.execute(
                    "UPDATE posts SET created_at = ?, approved_at = ? WHERE id = ?", (at, at, post)
                )
                await oak.node.store.execute(
                    "UPDATE comments SET created_at = ?, approved_at = ? WHERE post = ?",
                    (at, at, post),
                )
            for path in staff_pages:
                async with teacher.get(path) as page:
                    assert page.status == 200, (at, path)
            async with teacher.get(f"/posts/{post}") as page:
                assert html.unescape(await page.text()).count("date unknown") == 2  # post, comment
            async with teacher.get(f"/posts/{post}", headers={"Accept-Language": "fr"}) as page:
                assert "date inconnue" in await page.text()
            for path in ("/", "/projects", f"/projects/{project}", f"/posts/{post}"):
                async with pupil.get(path) as page:
                    assert page.status < 500, (at, path)
        # Staff can still take it down from its page.
        async with teacher.post(
            f"/posts/{post}/takedown",
            data={"csrf": await csrf_of(teacher, f"/posts/{post}"), "reason": "Broken date"},
            allow_redirects=False,
        ) as done:
            assert done.status == 303
        async with teacher.get(f"/posts/{post}") as page:
            assert page.status == 200
            assert "Taken down" in await page.text()
    gone = await oak.node.projects.post(post)
    assert gone.state == "removed"
    assert not gone.body


def bomb(side: int = 7000) -> bytes:
    """A 1-bit PNG of ``side`` x ``side`` pixels of one colour: a few KB on the wire."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG")
    return out.getvalue()


def big_jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 90).save(out, format="JPEG", quality=50)
    return out.getvalue()


async def _write(
    http: aiohttp.ClientSession, project: str, photos: list[tuple[str, bytes]], *, lang: str = "en"
) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf", await csrf_of(http, f"/projects/{project}/write"))
    form.add_field("title", "Our heron")
    form.add_field("body", "We saw a heron by the weir.")
    form.add_field("theme", "")
    for name, data in photos:
        form.add_field("photos", data, filename=name, content_type="image/png")
    headers = {"Accept-Language": lang}
    async with http.post(
        f"/projects/{project}/write", data=form, headers=headers, allow_redirects=False
    ) as response:
        return response.status, html.unescape(await response.text())


async def test_photos_of_huge_dimensions_are_refused_from_their_header(tmp_path: Path) -> None:
    """Six 7000x7000 1-bit PNGs (36 KB) once took 350 MB to decode, three uploads 1.2 GB."""
    school = await LiveNode.start(tmp_path / "oak", "Oakfield Primary")
    try:
        await add_user(school, "Amira", "pupil", klass="5B")
        project = await school.node.projects.create("Birds", [], now_ms())
        await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
        photos = [(f"heron-{n}.png", bomb()) for n in range(6)]
        assert sum(len(data) for _, data in photos) < 64_000
        async with client(school) as pupil:
            await http_sign_in(pupil, "Amira")
            status, page = await _write(pupil, project.id, photos)
            assert status == 400
            assert "heron-0.png has too many pixels for a photo (12 million at most)" in page
            assert 'value="Our heron"' in page  # what was typed is kept
            assert "We saw a heron by the weir." in page
            status, page = await _write(pupil, project.id, photos, lang="fr")
            assert status == 400
            assert "La photo heron-0.png a trop de pixels (12 millions au plus)" in page
            # More than six photos in one post are refused before any is decoded.
            status, page = await _write(pupil, project.id, [*photos, ("seventh.png", bomb())])
            assert status == 400
            assert "at most 6 photos" in page
            assert await school.node.projects.posts(project.id, states=("draft",)) == []
            # A real phone photo of 24 megapixels is decoded at a quarter of its size.
            status, _page = await _write(pupil, project.id, [("phone.jpg", big_jpeg(6000, 4000))])
            assert status == 303
        [post] = await school.node.projects.posts(project.id, states=("draft",))
        [(digest, _faces, _held)] = post.images
        data = await school.node.projects.image(post.id, digest)
        assert data is not None
        with Image.open(io.BytesIO(data)) as cleaned:
            assert cleaned.size == (1600, 1067)
    finally:
        await school.stop()


async def test_requests_that_are_not_http_cannot_fill_the_disk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone who reaches the port can send them: each was an ERROR with a traceback."""
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    live = await LiveNode.start(tmp_path / "oak", "Oakfield Primary")
    try:
        assert live.address is not None
        host, port = live.address.removeprefix("http://").rsplit(":", 1)
        sent = 3 * PER_KEY
        for _ in range(sent):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /\x00forged\nERROR line HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            assert (await reader.read(100)).startswith(b"HTTP/1.0 400")
            writer.close()
            await writer.wait_closed()
        async with client(live) as http, http.get("/.well-known/schoolmesh") as answer:
            assert answer.status == 200  # and the node serves everyone else
    finally:
        await live.stop()
    lines = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert 1 <= len(lines) <= PER_KEY, caplog.text
    assert all(r.levelno < logging.ERROR and r.exc_info is None for r in lines)
    assert all("\n" not in r.getMessage() for r in lines)
