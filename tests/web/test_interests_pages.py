"""Interest in offers and requests, in a real browser and over HTTP, between two schools.

A teacher at the Lycée (school B) finds Oakfield's (school A) offer by searching,
and expresses interest; a teacher at Oakfield sees it on Oakfield's pages and
accepts; the arrangement shows at both schools.
"""

from __future__ import annotations

from node.clock import now_ms
from node.offers.interests import Interest
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
    entry = await school.node.offers.post("offer", OFFER)
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
        arrangement = here.locator("[id^=arrangement-]").filter(has_text="Shadow our deputy")
        assert "M. Martin" in await arrangement.inner_text()

        async def answered() -> bool:
            return any(i.state == "accepted" for i in await lycee.node.interests.all())

        await wait_for(answered, what="the answer at the Lycée")
        await there.goto(f"{lycee.address}/interests")
        mine = there.locator("li.card").filter(has_text="proviseure adjointe")
        assert "Yes, welcome!" in await mine.inner_text()
        theirs = there.locator("[id^=arrangement-]").filter(has_text="Shadow")
        assert "Mr Jones" in await theirs.inner_text()


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


async def accepted(school: LiveNode, lycee: LiveNode) -> Interest:
    """The Lycée's interest in Oakfield's offer, accepted, as the Lycée holds it."""
    offer = await shared_offer(school, lycee)
    sent = await lycee.node.interests.send(str(offer), "Count us in", by="M. Martin", now=now_ms())

    async def arrived() -> bool:
        return any(i.id == sent.id for i in await school.node.interests.all())

    await wait_for(arrived, what="the interest at Oakfield")
    await school.node.interests.accept(sent.id, by="Mr Jones", now=now_ms())

    async def answered() -> bool:
        return (await lycee.node.interests.get(sent.id)).state == "accepted"

    await wait_for(answered, what="the answer at the Lycée")
    return await lycee.node.interests.get(sent.id)


async def test_two_schools_turn_an_accepted_interest_into_a_dated_visit(
    school: LiveNode, lycee: LiveNode
) -> None:
    interest = await accepted(school, lycee)
    async with browser() as chromium:
        there = await sign_in(chromium, lycee, "M. Martin")
        await there.goto(f"{lycee.address}/interests")
        card = there.locator(f"#arrangement-{interest.id}")
        await card.get_by_text("Propose a date").click()
        await card.get_by_label("Day").fill("2099-03-10")
        await card.get_by_label("Starts at").fill("09:30")
        await card.get_by_label("Ends at").fill("12:00")
        await card.get_by_label("Time zone").fill("Europe/Paris")
        await card.get_by_label("Where").fill("Oakfield Primary, front gate")
        await card.get_by_label("Note (optional)").fill("Two teachers.\nWe arrive by train.")
        await card.get_by_role("button", name="Propose this date").click()
        assert "proposed to Oakfield Primary School" in (
            await there.get_by_role("status").inner_text()
        )
        assert (
            "Waiting for Oakfield"
            in await there.locator(f"#arrangement-{interest.id}").inner_text()
        )

        async def proposed() -> bool:
            return (await school.node.interests.get(interest.id)).proposed is not None

        await wait_for(proposed, what="the proposal at Oakfield")
        here = await sign_in(chromium, school, "Mr Jones")
        await here.goto(f"{school.address}/interests")
        mine = here.locator(f"#arrangement-{interest.id}")
        text = await mine.inner_text()
        assert "Lycée Jean Moulin proposes:" in text
        assert (
            "10 Mar 2099, 09:30\N{EN DASH}12:00 (Paris time) \N{EN DASH} 08:30\N{EN DASH}11:00 here"
            in text
        )
        await mine.get_by_role("button", name="Accept this date").click()
        assert "The date is agreed" in await here.get_by_role("status").inner_text()
        await here.locator(f"#arrangement-{interest.id}").get_by_role("link", name="10 Mar").click()
        event = await here.locator("main").inner_text()
        assert "Shadow our deputy head for a week" in event
        assert "A date agreed for an arrangement" in event
        assert "Oakfield Primary School, front gate" not in event  # the Lycée's place words
        assert "Oakfield Primary, front gate" in event
        assert await here.get_by_role("link", name="Change the event").count() == 0
        assert "Answers from other schools" not in event  # nobody else is asked
        assert await here.get_by_role("button", name="Cancel the event").count() == 0

        async def agreed() -> bool:
            return (await lycee.node.interests.get(interest.id)).agreed is not None

        await wait_for(agreed, what="the agreed date at the Lycée")
        await there.goto(f"{lycee.address}/events")
        assert "Shadow our deputy head for a week" in await there.locator("main").inner_text()


async def test_date_refusals_keep_what_was_typed(school: LiveNode, lycee: LiveNode) -> None:
    interest = await accepted(school, lycee)
    async with client(lycee) as http:
        await http_sign_in(http, "M. Martin")
        token = await csrf_of(http, "/interests")
        form = {
            "csrf": token,
            "day": "2099-03-10",
            "start": "12:00",
            "end": "09:00",
            "tz": "Europe/Paris",
            "note": "Keep this note",
        }
        async with http.post(f"/interests/{interest.id}/propose", data=form) as response:
            page = await response.text()
            assert response.status == 400
        assert "The end is not after the start." in page
        assert "Keep this note" in page
        async with http.post(
            f"/interests/{interest.id}/propose", data={**form, "tz": "Mars/Olympus"}
        ) as response:
            assert "This is not a time zone name" in await response.text()
        async with http.post(f"/interests/{interest.id}/agree", data={"csrf": token}) as response:
            assert "There is no date from the other school to accept." in await response.text()
        async with http.post(
            "/interests/0123456789abcdef0123456789abcdef/propose", data=form
        ) as response:
            assert response.status == 404
    assert (await lycee.node.interests.get(interest.id)).bookings == ()


async def test_an_agreed_observation_is_planned_on_the_observations_page(
    school: LiveNode, lycee: LiveNode
) -> None:
    content = {"activity": "observation", "title": "Watch a Year 2 phonics lesson"}
    entry = await school.node.offers.post("offer", content)
    await wait_for(lambda: lycee.holds(entry.id), what="the offer at the Lycée")
    sent = await lycee.node.interests.send(str(entry.id), "Oui !", by=None, now=now_ms())

    async def arrived() -> bool:
        return any(i.id == sent.id for i in await school.node.interests.all())

    await wait_for(arrived, what="the interest at Oakfield")
    await school.node.interests.accept(sent.id, now=now_ms())
    await school.node.interests.propose(
        sent.id, start="2099-03-10T09:00Z", end="2099-03-10T10:00Z", tz=None, now=now_ms()
    )

    async def proposed() -> bool:
        return (await lycee.node.interests.get(sent.id)).proposed is not None

    await wait_for(proposed, what="the proposal at the Lycée")
    await lycee.node.interests.accept_date(sent.id, now=now_ms())
    async with client(lycee) as http:
        await http_sign_in(http, "M. Martin")
        async with http.get("/observations") as response:
            page = await response.text()
    assert "Planned with other schools" in page
    assert "Watch a Year 2 phonics lesson" in page
    assert "Oakfield Primary School" in page
