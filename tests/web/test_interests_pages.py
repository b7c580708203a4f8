"""Interest in offers and requests, in a real browser and over HTTP, between two schools.

A teacher at the Lycée (school B) finds Oakfield's (school A) offer by searching,
and expresses interest; a teacher at Oakfield sees it on Oakfield's pages and
accepts; the arrangement shows at both schools.
"""

from __future__ import annotations

from node import offers
from protocol.keys import EntryId
from tests.network import LiveNode, wait_for
from tests.web.web import browser, client, csrf_of, http_sign_in, sign_in

OFFER = {
    "activity": "shadowing",
    "title": "Shadow our deputy head for a week",
    "text": "Leadership shadowing in our primary school.",
    "focus": ["leadership"],
    "from": "2099-03-08",
    "to": "2099-03-19",
}


async def shared_offer(school: LiveNode, lycee: LiveNode) -> EntryId:
    entry = await offers.post(school.node, "offer", OFFER)
    await wait_for(lambda: lycee.holds(entry.id), what="Oakfield's offer at the Lycée")
    return entry.id


async def test_b_finds_as_offer_and_expresses_interest_a_sees_and_accepts(
    school: LiveNode, lycee: LiveNode
) -> None:
    offer = await shared_offer(school, lycee)
    async with browser() as chromium:
        there = await sign_in(chromium, lycee, "M. Martin")
        await there.goto(f"{lycee.address}/offers")
        await there.get_by_label("Words to find").fill("deputy")
        await there.get_by_label("Kind").select_option("shadowing")
        await there.get_by_role("button", name="Search").click()
        await there.get_by_role("link", name="Shadow our deputy head for a week").click()
        await there.get_by_label("Your message to Oakfield Primary School").fill(
            "Our proviseure adjointe would love to come in March."
        )
        await there.get_by_role("button", name="Express interest").click()
        assert "sent to Oakfield Primary School only" in (
            await there.get_by_role("status").inner_text()
        )
        assert await there.get_by_role("button", name="Express interest").count() == 0

        async def arrived() -> bool:
            return any(i.direction == "received" for i in await school.node.interests.all())

        await wait_for(arrived, what="the interest at Oakfield")
        here = await sign_in(chromium, school, "Mr Jones")
        await here.goto(f"{school.address}/offers/{offer}")
        assert "Lycée Jean Moulin (M. Martin)" in await here.locator("main").inner_text()
        await here.get_by_role("link", name="Read and answer them").click()
        received = here.locator("li.card").filter(has_text="proviseure adjointe")
        await received.get_by_label("Your answer (optional)").fill("Yes, welcome!")
        await received.get_by_role("button", name="Accept").click()
        assert "Accepted" in await here.get_by_role("status").inner_text()
        arrangement = here.get_by_role("row").filter(has_text="Shadow our deputy head")
        assert "M. Martin" in await arrangement.inner_text()

        async def answered() -> bool:
            return any(i.state == "accepted" for i in await lycee.node.interests.all())

        await wait_for(answered, what="the answer at the Lycée")
        await there.goto(f"{lycee.address}/interests")
        mine = there.locator("li.card").filter(has_text="proviseure adjointe")
        assert "Yes, welcome!" in await mine.inner_text()
        assert "Mr Jones" in await there.get_by_role("row").filter(has_text="Shadow").inner_text()


async def test_interest_refusals(school: LiveNode, lycee: LiveNode) -> None:
    offer = await shared_offer(school, lycee)
    async with client(lycee) as http:
        await http_sign_in(http, "Léa")
        token = await csrf_of(http, "/")
        for path in ("/interests",):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 403
        async with http.post(
            f"/offers/{offer}/interest", data={"csrf": token, "message": "hi"}
        ) as response:
            assert response.status == 403
    async with client(lycee) as http:
        await http_sign_in(http, "M. Martin")
        token = await csrf_of(http, f"/offers/{offer}")
        async with http.post(
            f"/offers/{offer}/interest", data={"csrf": token, "message": "  "}
        ) as response:
            assert "Write a short message" in await response.text()
        assert await lycee.node.interests.all() == []
        async with http.post(
            f"/offers/{offer}/interest", data={"csrf": token, "message": "Count us in"}
        ) as response:
            assert response.status == 200
        (sent,) = await lycee.node.interests.all()
        async with http.post(
            f"/interests/{sent.id}/accept", data={"csrf": token}, allow_redirects=False
        ) as response:
            assert response.status == 403  # only the posting school answers
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, f"/offers/{offer}")
        async with http.post(
            f"/offers/{offer}/interest",
            data={"csrf": token, "message": "ours"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403  # not in our own offer
