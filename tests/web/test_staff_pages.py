"""Staff profiles in the browser and over HTTP: an admin records colleagues, a colleague
edits their own, nobody else's; the peer-observation pairs page fills from them."""

from __future__ import annotations

import html
import sqlite3

from node.observations import staff
from tests.network import LiveNode, partner, wait_for
from tests.web.test_offers import LYON
from tests.web.test_offers import lyon as lyon  # the French school, as a fixture
from tests.web.web import add_user, browser, client, csrf_of, http_sign_in, sign_in


async def test_an_admin_and_a_colleague_fill_the_pairs_page_from_the_browser(
    school: LiveNode,
) -> None:
    async with browser() as chromium:
        admin = await sign_in(chromium, school, "Mrs Patel")
        await admin.goto(f"{school.address}/matches/staff")
        assert "No pairs yet" in await admin.locator("main").inner_text()
        await admin.get_by_role("link", name="Staff profiles").first.click()
        await admin.get_by_label("Name").fill("Ann Baker")
        await admin.get_by_label("Strengths").fill("Behaviour, oracy")
        await admin.get_by_label("Development areas").fill("questioning")
        await admin.get_by_label("Phase").select_option("primary")
        await admin.get_by_label("Subjects").fill("maths")
        await admin.get_by_role("button", name="Save the profile").click()
        assert "Ann Baker is saved" in await admin.get_by_role("status").inner_text()
        teacher = await sign_in(chromium, school, "Mr Jones")
        await teacher.goto(f"{school.address}/staff")
        assert await teacher.get_by_label("Name").count() == 0  # their own, by sign-in name
        await teacher.get_by_label("Strengths").fill("questioning")
        await teacher.get_by_label("Development areas").fill("behaviour")
        await teacher.get_by_role("button", name="Save the profile").click()
        assert "Mr Jones is saved" in await teacher.get_by_role("status").inner_text()
        await teacher.goto(f"{school.address}/matches/staff")
        pairs = await teacher.locator("main").inner_text()
        assert "Ann Baker · Mr Jones" in pairs
        assert "Mr Jones observes Ann Baker, looking at Behaviour" in pairs


async def test_a_colleague_changes_only_their_own_and_refusals_keep_what_was_typed(
    school: LiveNode,
) -> None:
    await add_user(school, "Ms Khan", "staff")
    other = staff.member(
        "Ms Khan", strengths=["phonics"], develops=["oracy"], subjects=[], phase=None
    )
    await school.node.staff.add(other)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/staff")
        mixed = {"csrf": token, "strengths": "oracy", "develops": "Oracy", "subjects": "art"}
        async with http.post("/staff", data=mixed) as response:
            page = await response.text()
            assert response.status == 400
        assert "oracy is given both as a strength and as a development area" in page
        assert 'value="art"' in page
        # A name in the form is ignored: a colleague saves their own profile only.
        own = {"csrf": token, "name": "Ms Khan", "strengths": "oracy", "develops": "phonics"}
        async with http.post("/staff", data=own) as response:
            assert response.status == 200
        async with http.post(
            "/staff/remove", data={"csrf": token, "name": "Ms Khan"}, allow_redirects=False
        ) as response:
            assert response.status == 403
        async with http.get("/staff?name=Ms+Khan") as response:
            page = await response.text()
        assert "Remove the profile of Ms Khan" not in page
    saved = {p.name: p for p in await school.node.staff.listing()}
    assert saved["Ms Khan"] == other
    assert saved["Mr Jones"].strengths == ("oracy",)
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        token = await csrf_of(http, "/staff?name=Ms+Khan")
        async with http.post("/staff/remove", data={"csrf": token, "name": "Ms Khan"}) as r:
            assert "Ms Khan is removed" in await r.text()
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        async with http.get("/staff", allow_redirects=False) as response:
            assert response.status == 403
    assert [p.name for p in await school.node.staff.listing()] == ["Mr Jones"]


async def test_at_other_schools_lists_offers_for_development_areas_and_sends_nothing(
    school: LiveNode, lyon: LiveNode
) -> None:
    offer = await lyon.node.offers.post("offer", LYON)
    gone = await lyon.node.offers.post("offer", {**LYON, "title": "Ancienne offre de lecture"})
    await lyon.node.offers.withdraw("offer", str(gone.id))
    ours = await school.node.offers.post(
        "offer", {"activity": "visit", "title": "Our own phonics", "focus": ["phonics"]}
    )
    for person in (
        staff.member("Ann Baker", strengths=[], develops=["phonics"], subjects=[], phase="primary"),
        staff.member("Ben Carter", strengths=["phonics"], develops=[], subjects=[], phase=None),
        staff.member("Cal Dunn", strengths=[], develops=["oracy"], subjects=[], phase=None),
    ):
        await school.node.staff.add(person)
    await partner(school, lyon)
    await wait_for(lambda: school.holds(offer.id), what="Lyon's offer at Oakfield")

    def held(conn: sqlite3.Connection) -> tuple[int, int]:
        (entries,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        (mail,) = conn.execute("SELECT COUNT(*) FROM mail").fetchone()
        return entries, mail

    before = await school.node.store.read(held)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/matches/staff") as response:
            page = html.unescape(await response.text())
        async with http.get("/matches/staff", headers={"Accept-Language": "fr"}) as response:
            french = html.unescape(await response.text())
    assert await school.node.store.read(held) == before  # nothing signed, no letter
    section = page[page.index('id="elsewhere"') :]
    assert "At other schools" in page
    assert f'href="/offers/{offer.id}"' in section
    assert (
        "École Jean Macé offers Peer observation with a focus on Phonics, which Ann Baker "
        "is developing" in section
    )
    assert "same phase: Primary" in section
    assert "No offer from another school covers Oracy yet." in section  # Cal Dunn
    assert "Ben Carter" not in section  # no development area
    assert str(gone.id) not in section
    assert "Ancienne" not in section
    assert str(ours.id) not in section
    assert "Dans d'autres établissements" in french
    assert "que Ann Baker cherche à développer" in french
