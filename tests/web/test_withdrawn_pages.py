"""Withdrawn offers and cancelled events, as a partner school sees them over HTTP.

Oakfield (``school``) and the Lycée are partners on loopback ports with real
databases: what one school withdraws or cancels keeps a page at the other, with
its title and the reason, and what depended on it says so and leaves the lists.
"""

from __future__ import annotations

import json

import icalendar

from node.clock import now_ms
from node.offers.interests import Interest
from protocol.keys import EntryId
from tests.helpers import run_cli
from tests.network import LiveNode, wait_for
from tests.web.test_accessibility import PageAudit
from tests.web.web import client, http_sign_in

OFFER = {
    "activity": "shadowing",
    "title": "Shadow our deputy head for a week",
    "text": "Leadership shadowing in our primary school.",
    "from": "2099-03-08",
    "to": "2099-03-19",
}
REASON = "Our deputy head is on leave until the summer"
TEACHMEET = {
    "title": "TeachMeet : l'oralité",
    "start": "2099-03-04T16:00+01:00",
    "end": "2099-03-04T18:00+01:00",
    "tz": "Europe/Paris",
    "where": "Salle polyvalente",
    "text": "Venez partager vos pratiques.",
}
CANCELLED = "La salle est en travaux"


async def page(live: LiveNode, name: str, path: str, language: str = "en-GB") -> str:
    """The page at ``path`` as ``name`` sees it, checked as every page is (labels, headings)."""
    async with client(live) as http:
        await http_sign_in(http, name)
        async with http.get(path, headers={"Accept-Language": language}) as response:
            assert response.status == 200, path
            text = await response.text()
    audit = PageAudit()
    audit.feed(text)
    assert audit.problems() == [], path
    return text


async def withdrawn_offer(
    school: LiveNode, lycee: LiveNode, *, interest: bool, answered: bool = True
) -> EntryId:
    """Oakfield's offer, seen at the Lycée (interest sent, and accepted if ``answered``),
    withdrawn."""
    entry = await school.node.offers.post("offer", OFFER)
    await wait_for(lambda: lycee.holds(entry.id), what="Oakfield's offer at the Lycée")
    if interest:
        sent = await lycee.node.interests.send(
            str(entry.id), "We would love to come.", by="M. Martin", now=now_ms()
        )

        async def received() -> bool:
            return bool(await school.node.interests.all())

        await wait_for(received, what="the interest at Oakfield")
    if interest and answered:
        await school.node.interests.accept(sent.id, message="Welcome", by="Mr Jones", now=now_ms())

        async def accepted() -> bool:
            return (await lycee.node.interests.get(sent.id)).state == "accepted"

        await wait_for(accepted, what="the acceptance at the Lycée")
    await school.node.offers.withdraw("offer", str(entry.id), REASON)

    async def gone() -> bool:
        held = await lycee.node.store.get(entry.id)
        return held is not None and held.content is None

    await wait_for(gone, what="the withdrawal at the Lycée")
    return entry.id


async def test_a_partner_opens_a_withdrawn_offer_and_sees_what_it_was_and_why(
    school: LiveNode, lycee: LiveNode
) -> None:
    offer = await withdrawn_offer(school, lycee, interest=False)
    text = await page(lycee, "M. Martin", f"/offers/{offer}")
    assert "Shadow our deputy head for a week" in text
    assert "Oakfield Primary School withdrew it on" in text
    assert REASON in text
    assert "Leadership shadowing" not in text  # its details are erased, as before
    french = await page(lycee, "M. Martin", f"/offers/{offer}", "fr")
    assert "Oakfield Primary School l'a retirée le" in french
    assert "Motif :" in french
    ours = await page(school, "Mr Jones", f"/offers/{offer}")
    assert "We withdrew it on" in ours
    assert REASON in ours
    shown = await lycee.node.offers.withdrawn(str(offer))
    assert shown.as_json()["withdrawn"] is True
    assert shown.as_json()["reason"] == REASON
    assert shown.as_json()["title"] == OFFER["title"]


async def test_an_unanswered_interest_reads_from_each_side_not_as_still_waiting(
    school: LiveNode, lycee: LiveNode
) -> None:
    offer = await withdrawn_offer(school, lycee, interest=True, answered=False)
    there = await page(lycee, "M. Martin", f"/offers/{offer}")
    _, _, interest = there.partition('id="interest"')
    assert "To Oakfield Primary School" in interest  # we sent it: not "Oakfield" alone
    assert "waiting for an answer" not in interest
    assert "It was not answered before the withdrawal." in interest
    here = await page(school, "Mr Jones", f"/offers/{offer}")
    _, _, interest = here.partition('id="interest"')
    assert "From Lycée Jean Moulin" in interest
    assert "waiting for an answer" not in interest
    french = await page(lycee, "M. Martin", f"/offers/{offer}", "fr")
    assert "Il n'a pas reçu de réponse avant le retrait." in french


async def test_an_unanswered_interest_is_ended_by_the_withdrawal_on_pages_cli_and_json(
    school: LiveNode, lycee: LiveNode
) -> None:
    offer = await withdrawn_offer(school, lycee, interest=True, answered=False)
    for live, name in ((lycee, "M. Martin"), (school, "Mr Jones")):
        text = await page(live, name, "/interests")
        active, _, withdrawn = text.partition('id="withdrawn"')
        assert "Shadow our deputy head" not in active
        assert "It was not answered before the withdrawal." in withdrawn
        assert f'href="/offers/{offer}"' in withdrawn
        (interest,) = await live.node.interests.all()
        assert interest.state == "withdrawn"
        shown = interest.as_json()
        assert (shown["state"], shown["waiting"], shown["withdrawn"]) == ("withdrawn", False, True)
        assert shown["reason"] == REASON
    # The command line reads the same (the node stopped first, as a script would find it).
    await lycee.stop()
    data = str(lycee.node.data.path)
    listed = json.loads(run_cli("interest", "list", "--data", data, "--json").stdout)
    assert [(i["state"], i["waiting"], i["withdrawn"]) for i in listed] == [
        ("withdrawn", False, True)
    ]
    plain = run_cli("interest", "list", "--data", data).stdout
    assert "withdrawn" in plain
    assert " open " not in plain


async def test_an_accepted_interest_says_the_offer_was_withdrawn_at_both_schools(
    school: LiveNode, lycee: LiveNode
) -> None:
    offer = await withdrawn_offer(school, lycee, interest=True)
    for live, name in ((lycee, "M. Martin"), (school, "Mr Jones")):
        text = await page(live, name, "/interests")
        active, _, withdrawn = text.partition('id="withdrawn"')
        assert "Shadow our deputy head" not in active  # not a current arrangement
        assert REASON in withdrawn
        assert "The arrangement no longer stands." in withdrawn
        assert f'href="/offers/{offer}"' in withdrawn
        (interest,) = await live.node.interests.all()
        assert isinstance(interest, Interest)
        assert not interest.active
        assert interest.as_json()["reason"] == REASON
    assert "The other school withdrew this offer or request on" in await page(
        lycee, "M. Martin", "/interests"
    )
    dashboard = await page(lycee, "M. Martin", "/")
    assert f"Withdrawn: {OFFER['title']} ({REASON})" in dashboard


async def test_a_cancelled_event_keeps_its_title_and_reason_at_a_partner_school(
    school: LiveNode, lycee: LiveNode
) -> None:
    entry = await lycee.node.events.create({**TEACHMEET, "audience": "public"})
    await wait_for(lambda: school.holds(entry.id), what="the TeachMeet at Oakfield")
    await school.node.events.rsvp(str(entry.id), "yes", by="Mr Jones")
    await lycee.node.events.withdraw(str(entry.id), CANCELLED)

    async def cancelled() -> bool:
        return (await school.node.events.find(str(entry.id))).cancelled

    await wait_for(cancelled, what="the cancellation at Oakfield")
    text = await page(school, "Mr Jones", f"/events/{entry.id}")
    assert "TeachMeet : l&#39;oralité" in text
    assert CANCELLED in text
    assert "Lycée Jean Moulin cancelled this event on" in text
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/events.ics") as response:
            calendar = icalendar.Calendar.from_ical(await response.read())
    (item,) = calendar.walk("VEVENT")
    assert str(item["STATUS"]) == "CANCELLED"
    assert str(item["SUMMARY"]) == TEACHMEET["title"]
    assert CANCELLED in str(item["DESCRIPTION"])
    shown = (await school.node.events.find(str(entry.id))).as_json()
    assert (shown["status"], shown["title"], shown["reason"]) == (
        "cancelled",
        TEACHMEET["title"],
        CANCELLED,
    )
    dashboard = await page(school, "Mr Jones", "/")
    assert f"Cancelled: {TEACHMEET['title']} ({CANCELLED})".replace("'", "&#39;") in dashboard
    upcoming = dashboard.partition('id="upcoming"')[2]
    assert f"/events/{entry.id}" not in upcoming


async def test_a_school_that_answered_yes_to_a_partners_only_event_sees_its_cancellation(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await lycee.node.events.create_for(TEACHMEET, "partners")

    async def arrived() -> bool:
        return any(e.id == made for e in await school.node.events.every())

    await wait_for(arrived, what="the partners' TeachMeet at Oakfield")
    await school.node.events.rsvp(str(made), "maybe", by="Mr Jones")
    await lycee.node.events.withdraw(str(made), CANCELLED)

    async def cancelled() -> bool:
        return (await school.node.events.find(str(made))).cancelled

    await wait_for(cancelled, what="the cancellation at Oakfield")
    text = await page(school, "Mr Jones", f"/events/{made}")
    assert "TeachMeet : l&#39;oralité" in text
    assert CANCELLED in text
    assert "Venez partager" not in text  # the details go with the cancellation
    dashboard = await page(school, "Mr Jones", "/")
    assert f"Cancelled: {TEACHMEET['title']} ({CANCELLED})".replace("'", "&#39;") in dashboard
