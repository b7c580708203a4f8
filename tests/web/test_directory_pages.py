"""The schools directory and partnership requests, in a real browser and over HTTP.

The Lycée and Oakfield are not partners: each is a partner of a regional hub and
names it as its relay. The Lycée's administrator finds Oakfield in the directory
and asks it to partner; Oakfield's administrator sees the request on the
dashboard and accepts; the two schools become partners.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.partners.peerbook import PeerBook
from tests.hostile.test_block import dialled, relay_named
from tests.network import LiveNode, wait_for
from tests.web.test_form_text_browser import type_lines
from tests.web.web import add_user, browser, client, csrf_of, http_sign_in, sign_in

HUB = ("hub", "Regional hub", "GB")
OAK = ("oak", "Oakfield Primary School", "GB")
LYCEE = ("lycee", "Lycée Jean Moulin", "FR")


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    async with dialled(tmp_path, (HUB, OAK, LYCEE), [("oak", "hub"), ("lycee", "hub")]) as nodes:
        hub = str(nodes["hub"].node.node_id)
        await nodes["oak"].node.update_profile(
            relays=[hub], phases=["primary"], languages=["en"], about="A primary in Leeds"
        )
        await nodes["lycee"].node.update_profile(relays=[hub], phases=["secondary"])
        await relay_named(nodes["oak"], nodes["lycee"], nodes["hub"])
        await relay_named(nodes["lycee"], nodes["oak"], nodes["hub"])
        await add_user(nodes["oak"], "Mrs Patel", "admin")
        await add_user(nodes["oak"], "Mr Jones", "staff")
        await add_user(nodes["oak"], "Amira", "pupil")
        await add_user(nodes["lycee"], "Mme Durand", "admin")

        async def profiles() -> bool:
            found = await nodes["lycee"].node.directory.schools(phase="primary")
            return [s.name for s in found] == ["Oakfield Primary School"]

        await wait_for(profiles, what="Oakfield's new profile at the Lycée")
        yield nodes


async def partners(a: LiveNode, b: LiveNode) -> bool:
    record = await PeerBook(a.node.store).get(b.node.node_id)
    return record is not None and record.state == "partner"


async def test_a_school_finds_another_asks_and_they_become_partners(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    async with browser() as chromium:
        there = await sign_in(chromium, lycee, "Mme Durand")
        await there.get_by_role("link", name="Schools", exact=True).click()
        await there.get_by_label("Phase").select_option("primary")
        await there.get_by_label("Pupils' age").select_option("8")
        await there.get_by_role("button", name="Search").click()
        found = there.locator("main ul.cards h3")
        assert await found.all_inner_texts() == ["Oakfield Primary School"]
        await there.get_by_role("link", name="Oakfield Primary School").click()
        assert "A primary in Leeds" in await there.locator("main").inner_text()
        # Typed in paragraphs, as a person does (the browser sends CRLF): kept as typed.
        typed = await type_lines(
            there.get_by_label("Your message to Oakfield Primary School"),
            "Nos élèves de seconde aimeraient correspondre avec vos CM2.",
            "",
            "Bien cordialement, Mme Durand",
        )
        await there.get_by_role("button", name="Send the request").click()
        assert "sent to Oakfield Primary School only" in (
            await there.get_by_role("status").inner_text()
        )
        assert "waiting for their answer" in await there.locator("main").inner_text()

        async def arrived() -> bool:
            return bool(await oak.node.directory.requests(now=0))

        await wait_for(arrived, what="the request at Oakfield, through the hub")
        (received,) = await oak.node.directory.requests(now=0)
        assert received.message == typed
        here = await sign_in(chromium, oak, "Mrs Patel")
        await here.get_by_role(
            "link", name="Lycée Jean Moulin asks to partner with our school: accept or decline"
        ).click()
        assert "Nos élèves de seconde" in await here.locator("#requests").locator("..").inner_text()
        await here.get_by_role("button", name="Accept Lycée Jean Moulin").click()
        assert "Lycée Jean Moulin is now a partner" in (
            await here.get_by_role("status").inner_text()
        )

        async def both() -> bool:
            return await partners(oak, lycee) and await partners(lycee, oak)

        await wait_for(both, what="both schools to be partners")
        await there.goto(f"{lycee.address}/")
        await there.get_by_role(
            "link", name="Oakfield Primary School accepted our request: it is now a partner"
        ).click()
        assert "partner" in await there.locator("h1").inner_text()
        assert await there.get_by_role("button", name="Send the request").count() == 0


async def test_only_staff_see_the_directory_and_only_admins_ask_or_answer(
    schools: dict[str, LiveNode],
) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    lycee_page = f"/schools/{lycee.node.node_id}"
    async with client(oak) as pupil:
        await http_sign_in(pupil, "Amira")
        async with pupil.get("/schools") as response:
            assert response.status == 403
    async with client(oak) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get(lycee_page) as response:
            page = await response.text()
            assert response.status == 200
            assert "administrator can ask this school to partner" in page
        token = await csrf_of(teacher, "/schools")
        async with teacher.post(
            f"{lycee_page}/request", data={"csrf": token, "message": "Hi"}
        ) as response:
            assert response.status == 403
    async with client(oak) as admin:
        await http_sign_in(admin, "Mrs Patel")
        token = await csrf_of(admin, lycee_page)
        async with admin.post(
            f"{lycee_page}/request", data={"csrf": token, "message": "x" * 2_001}
        ) as response:
            assert response.status == 400
            assert "2,000 characters" in await response.text()
        async with admin.get("/schools/not-a-school") as response:
            assert response.status == 404
        async with admin.get("/schools", headers={"Accept-Language": "fr"}) as response:
            assert "Annuaire des écoles" in await response.text()
    assert await oak.node.directory.requests(now=0) == []
