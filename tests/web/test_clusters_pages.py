"""The moderation cluster pages over HTTP: staff only, the refusals in words, the
files served safely, and no grade of another school on the page before ours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from node.clock import now_ms
from tests.network import LiveNode, partner, wait_for
from tests.node.test_clusters import pdf_by
from tests.web.test_accessibility import audit
from tests.web.web import add_user, client, csrf_of, http_sign_in


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary School")
    b = await LiveNode.start(tmp_path / "b", "École du Parc", country="FR")
    try:
        await partner(a, b)
        await add_user(a, "Mr Jones", "staff")
        await add_user(a, "Amira", "pupil")
        yield a, b
    finally:
        await b.stop()
        await a.stop()


async def test_pupils_never_see_clusters(schools: tuple[LiveNode, LiveNode]) -> None:
    a, b = schools
    made = await a.node.clusters.create("Writing", [str(b.node.node_id)], now=now_ms())
    async with client(a) as pupil:
        await http_sign_in(pupil, "Amira")
        for path in ("/clusters", f"/clusters/{made.id}"):
            async with pupil.get(path, allow_redirects=False) as response:
                assert response.status in (403, 404), path


async def test_refused_uploads_and_grades_say_why(schools: tuple[LiveNode, LiveNode]) -> None:
    a, b = schools
    made = await a.node.clusters.create("Writing", [str(b.node.node_id)], now=now_ms())
    here = f"/clusters/{made.id}"
    async with client(a) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get(here) as response:
            page = await response.text()
        assert "names must never appear" in page, page

        form = aiohttp.FormData()
        form.add_field("csrf", await csrf_of(teacher, here))
        form.add_field("title", "Sample A")
        form.add_field("file", b"PK\x03\x04 word", filename="essay.docx")
        async with teacher.post(f"{here}/samples", data=form) as response:
            assert response.status == 400
            page = await response.text()
        assert "essay.docx is neither a PDF nor a photo" in page
        assert await a.node.clusters.show(made.id) is not None
        assert (await a.node.clusters.show(made.id)).samples == ()

        form = aiohttp.FormData()
        form.add_field("csrf", await csrf_of(teacher, here))
        form.add_field("title", "Sample A")
        form.add_field("file", pdf_by("Jane Pupil"), filename="a.pdf")
        async with teacher.post(f"{here}/samples", data=form) as response:
            assert response.status == 200
        (sample,) = (await a.node.clusters.show(made.id)).samples

        async with teacher.get(f"/clusters/samples/{sample.id}/file") as response:
            assert response.headers["Content-Type"] == "application/pdf"
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert b"Jane" not in await response.read()

        token = await csrf_of(teacher, here)
        async with teacher.post(
            f"/clusters/samples/{sample.id}/grade", data={"csrf": token, "grade": " "}
        ) as response:
            assert response.status == 400
            assert "Give the grade in 1 to 40 characters" in await response.text()
        async with teacher.post(
            f"/clusters/samples/{sample.id}/grade",
            data={"csrf": token, "grade": "Expected", "comment": "Clear"},
        ) as response:
            page = await response.text()
        assert "Grades side by side" in page
        assert "Give our grade" not in page
        async with teacher.post("/clusters", data={"csrf": token, "title": "Maths"}) as response:
            assert response.status == 400
            assert "Choose at least one partner school" in await response.text()


async def test_cluster_pages_pass_the_accessibility_audit(
    schools: tuple[LiveNode, LiveNode],
) -> None:
    a, b = schools
    made = await a.node.clusters.create("Writing", [str(b.node.node_id)], now=now_ms())
    await a.node.clusters.share(
        made.id, pdf_by("Jane Pupil"), title="Sample A", name="a.pdf", now=now_ms()
    )
    report = await audit(a, "Mr Jones", ("/clusters", f"/clusters/{made.id}"))
    assert report == {"/clusters": [], f"/clusters/{made.id}": []}


async def test_an_invitation_is_accepted_or_left_on_the_page(
    schools: tuple[LiveNode, LiveNode],
) -> None:
    a, b = schools
    made = await b.node.clusters.create("Lecture", [str(a.node.node_id)], now=now_ms())

    async def arrived() -> bool:
        return bool(await a.node.clusters.all())

    await wait_for(arrived, what="the École's cluster at Oakfield")
    here = f"/clusters/{made.id}"
    async with client(a) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get("/clusters") as response:
            page = await response.text()
        assert "Accept the invitation" in page
        async with teacher.get(here) as response:
            page = await response.text()
        assert "Accept the invitation" in page
        assert "Share the sample" not in page  # nothing of ours before we accept
        token = await csrf_of(teacher, here)
        async with teacher.post(f"{here}/accept", data={"csrf": token}) as response:
            page = await response.text()
        assert "Our school has accepted" in page
        assert "Share the sample" in page
        assert "Leave this cluster" in page
        assert (await a.node.clusters.get(made.id)).state == "member"
        async with teacher.post(f"{here}/leave", data={"csrf": token}) as response:
            page = await response.text()
        assert "Our school left the cluster" in page
        assert await a.node.clusters.all() == []
    report = await audit(a, "Mr Jones", ("/clusters",))
    assert report == {"/clusters": []}


async def test_the_invitation_pages_pass_the_accessibility_audit(
    schools: tuple[LiveNode, LiveNode],
) -> None:
    a, b = schools
    made = await b.node.clusters.create("Lecture", [str(a.node.node_id)], now=now_ms())

    async def arrived() -> bool:
        return bool(await a.node.clusters.all())

    await wait_for(arrived, what="the École's cluster at Oakfield")
    report = await audit(a, "Mr Jones", ("/clusters", f"/clusters/{made.id}"))
    assert report == {"/clusters": [], f"/clusters/{made.id}": []}
