"""A moderation cluster in a real browser, across two schools on loopback.

Oakfield's subject leader makes a cluster with the École du Parc, uploads a scan of
a piece of work (a PNG, cleaned to a JPEG) and grades it. The École du Parc's
teacher sees the sample and that Oakfield has graded it, but not the grade, until
she gives her own; then both see the two grades side by side.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from tests.network import LiveNode, partner
from tests.web.test_projects_browser import reload_until
from tests.web.web import add_user, browser, screenshot, sign_in


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary School")
    b = await LiveNode.start(tmp_path / "b", "École du Parc", country="FR")
    try:
        await partner(a, b)
        await add_user(a, "Mr Jones", "staff")
        await add_user(b, "Mme Roux", "staff")
        yield a, b
    finally:
        await b.stop()
        await a.stop()


def scan(tmp_path: Path) -> Path:
    """A scanned page of writing, as a PNG with a text chunk naming its maker."""
    image = Image.new("RGB", (600, 800), (255, 255, 250))
    draw = ImageDraw.Draw(image)
    for y in range(80, 760, 40):
        draw.line([(60, y), (540, y)], fill=(40, 40, 120), width=2)
    out = io.BytesIO()
    info = PngInfo()
    info.add_text("Author", "Jane Pupil")
    image.save(out, format="PNG", pnginfo=info)
    path = tmp_path / "scan.png"
    path.write_bytes(out.getvalue())
    return path


async def test_upload_and_grade_across_two_schools(
    schools: tuple[LiveNode, LiveNode], tmp_path: Path
) -> None:
    a, b = schools
    async with browser() as chromium:
        jones = await sign_in(chromium, a, "Mr Jones")
        await jones.get_by_role("link", name="Moderation", exact=True).click()
        await jones.get_by_label("Title").fill("Year 6 writing")
        await jones.get_by_role("checkbox", name="École du Parc").check()
        await jones.get_by_role("button", name="Make the cluster").click()
        assert "The cluster is made" in await jones.get_by_role("status").inner_text()
        assert "names must never appear" in await jones.locator("#no-names").inner_text()
        await jones.get_by_label("Title").fill("Sample A: a persuasive letter")
        await jones.get_by_label("The work").set_input_files(scan(tmp_path))
        await jones.get_by_role("button", name="Share the sample").click()
        assert "hidden details removed" in await jones.get_by_role("status").inner_text()
        await screenshot(jones, "cluster-sample", tmp_path)
        await jones.get_by_label("Our grade").fill("Emerging")
        await jones.get_by_label("Comment").fill("Paragraphs, but few reasons.")
        await jones.get_by_role("button", name="Give our grade").click()
        assert "Our grade is given" in await jones.get_by_role("status").inner_text()
        table = jones.get_by_role("table", name="Grades side by side")
        assert "Emerging" in await table.inner_text()

        roux = await sign_in(chromium, b, "Mme Roux")
        await roux.goto(f"{b.address}/clusters")
        await reload_until(roux, "Year 6 writing")
        await roux.get_by_role("link", name="Year 6 writing").click()
        await roux.wait_for_url("**/clusters/*")  # its page before any reload
        await reload_until(roux, "Schools that have graded this sample: 1")
        page = await roux.content()
        assert "Emerging" not in page
        assert "few reasons" not in page
        image = roux.get_by_role("img", name="Sample of work: Sample A: a persuasive letter")
        assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
        # An invitation: no grade form until the École accepts it.
        assert await roux.get_by_label("Our grade").count() == 0
        await roux.get_by_role("button", name="Accept the invitation: Year 6 writing").click()
        assert "Our school has accepted" in await roux.get_by_role("status").inner_text()
        await roux.get_by_label("Our grade").fill("Expected")
        await roux.get_by_role("button", name="Give our grade").click()
        # The grade's own page first: reloading while its form's answer is still on the
        # way detached the page once, under load.
        assert "Our grade is given" in await roux.get_by_role("status").inner_text()
        await reload_until(roux, "Emerging")
        table = roux.get_by_role("table", name="Grades side by side")
        text = await table.inner_text()
        assert "Oakfield Primary School" in text
        assert "Paragraphs, but few reasons." in text
        assert "Expected" in text
        await screenshot(roux, "cluster-grades", tmp_path)

        await reload_until(jones, "Expected")
        assert (
            "École du Parc"
            in await jones.get_by_role("table", name="Grades side by side").inner_text()
        )
    (cluster,) = await b.node.clusters.all()
    (sample,) = (await b.node.clusters.show(cluster.id)).samples
    kind, data = await b.node.clusters.file(sample.id)
    assert kind == "image/jpeg"
    assert data[:3] == b"\xff\xd8\xff"
    assert b"Jane" not in data
