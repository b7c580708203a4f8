"""The "Needs doing" list of the dashboards (node/needs.py), between two real schools.

Interest, answers, events' answers, pupils' work and action points reach Oakfield
from the Lycée by the real network; the list is read over HTTP as a browser would.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from typing import Any

import pytest

from node import needs
from node.clock import now_ms
from tests.network import LiveNode, wait_for
from tests.node.test_clusters import pdf_by
from tests.web.test_projects import start
from tests.web.web import client, csrf_of, http_sign_in

OUR_OFFER = {
    "activity": "shadowing",
    "title": "Shadow our deputy head for a week",
    "text": "Leadership shadowing in our primary school.",
    "focus": ["leadership"],
    "from": "2099-03-08",
    "to": "2099-03-19",
}
THEIR_OFFER = {**OUR_OFFER, "title": "Visite de notre classe bilingue"}
EVENT = {
    "title": "Spring TeachMeet",
    "start": "2099-04-01T16:00+01:00",
    "end": "2099-04-01T18:00+01:00",
    "tz": "Europe/London",
    "audience": "public",
}


async def dashboard(live: LiveNode, name: str) -> str:
    async with client(live) as http:
        await http_sign_in(http, name)
        async with http.get("/") as response:
            assert response.status == 200
            return html.unescape(await response.text())


async def busy_oakfield(school: LiveNode, lycee: LiveNode) -> dict[str, Any]:
    """Something of every kind waiting for Oakfield's staff."""
    ours = await school.node.offers.post("offer", OUR_OFFER)
    theirs = await lycee.node.offers.post("offer", THEIR_OFFER)
    event = await school.node.events.create(EVENT)
    await wait_for(lambda: lycee.holds(ours.id), what="Oakfield's offer at the Lycée")
    await wait_for(lambda: lycee.holds(event.id), what="Oakfield's event at the Lycée")
    await wait_for(lambda: school.holds(theirs.id), what="the Lycée's offer at Oakfield")
    await lycee.node.interests.send(
        str(ours.id), "We would love to come.", by="M. Martin", now=now_ms()
    )
    mine = await school.node.interests.send(
        str(theirs.id), "Could two of us visit?", by="Mr Jones", now=now_ms()
    )
    await lycee.node.events.rsvp(str(event.id), "yes", by="M. Martin")

    async def arrived() -> bool:
        here = await school.node.interests.all()
        answers = (await school.node.events.find(str(event.id))).answers
        return any(i.direction == "received" for i in here) and bool(answers)

    await wait_for(arrived, what="the Lycée's interest and answer at Oakfield")

    async def at_lycee() -> bool:
        return any(i.direction == "received" for i in await lycee.node.interests.all())

    await wait_for(at_lycee, what="Oakfield's interest at the Lycée")
    (received,) = [i for i in await lycee.node.interests.all() if i.direction == "received"]
    await lycee.node.interests.accept(received.id, by="M. Martin", now=now_ms())

    async def answered() -> bool:
        return (await school.node.interests.get(mine.id)).state == "accepted"

    await wait_for(answered, what="the Lycée's answer at Oakfield")
    project = await start(school)
    post = await school.node.projects.draft(
        project, "Amira", "Our heron", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    today = datetime.now(UTC).date()
    await school.node.observations.add(
        observer="Mrs Patel",
        observed="Mr Jones",
        focus="questioning",
        priority="Deeper questions",
        day=today,
        strengths=["Clear routines"],
        actions=["Wait five seconds after each question"],
        follow_up=today,
    )
    return {"event": event.id, "post": post.id, "project": project}


async def test_a_teachers_dashboard_lists_what_needs_them_newest_first(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await busy_oakfield(school, lycee)
    page = await dashboard(school, "Mr Jones")
    needs_list = page.partition('id="needs"')[2].partition("</section>")[0]
    for said in (
        "Lycée Jean Moulin is interested in “Shadow our deputy head for a week”: answer them",
        "Lycée Jean Moulin accepted our interest in “Visite de notre classe bilingue”",
        "Lycée Jean Moulin is coming to “Spring TeachMeet”",
        "Approve or return the post “Our heron” by Amira",
        "Action point to follow up (questioning, Mr Jones): Wait five seconds after each question",
    ):
        assert said in needs_list, said
    assert f'href="/posts/{made["post"]}"' in needs_list
    assert f'href="/events/{made["event"]}"' in needs_list
    assert 'href="/interests"' in needs_list
    items = await needs.for_staff(
        school.node, "Mr Jones", await school.node.events.every(), date.today(), now_ms()
    )
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)
    # The action point is Mr Jones's and Mrs Patel's, nobody else's.
    await_other = await needs.for_staff(
        school.node, "Ms Other", await school.node.events.every(), date.today(), now_ms()
    )
    assert not [i for i in await_other if i.kind == "action_due"]


async def test_news_leaves_when_seen_and_what_is_to_do_leaves_when_done(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await busy_oakfield(school, lycee)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/")
        async with http.post("/seen", data={"csrf": token}, allow_redirects=False) as response:
            assert response.status == 303
        async with http.get("/") as response:
            page = html.unescape(await response.text())
    assert "accepted our interest" not in page
    assert "is coming to" not in page
    assert "is interested in “Shadow our deputy head for a week”" in page  # still to answer
    assert "Approve or return the post “Our heron”" in page
    # Another teacher has not marked anything as seen.
    assert "is coming to “Spring TeachMeet”" in await dashboard(school, "Mrs Patel")
    (received,) = [i for i in await school.node.interests.all() if i.direction == "received"]
    await school.node.interests.decline(received.id, by="Mr Jones", now=now_ms())
    await school.node.projects.approve(made["post"], "Mr Jones", now_ms())
    page = await dashboard(school, "Mr Jones")
    assert "is interested in" not in page
    assert "Approve or return" not in page


async def test_the_dashboard_reads_the_same_number_of_times_for_one_item_or_many(
    school: LiveNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await start(school)
    store = school.node.store
    reads = 0
    fetch_all, fetch_one = store.fetch_all, store.fetch_one

    async def counted_all(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await fetch_all(*args)

    async def counted_one(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await fetch_one(*args)

    monkeypatch.setattr(store, "fetch_all", counted_all)
    monkeypatch.setattr(store, "fetch_one", counted_one)

    async def reads_for_drafts(count: int) -> int:
        nonlocal reads
        for n in range(count):
            await school.node.projects.draft(
                project, "Amira", f"Draft {n}", "Text.", theme=None, images=[], now=now_ms()
            )
        reads = 0
        found = await needs.for_staff(school.node, "Mr Jones", [], date.today(), now_ms())
        assert len([i for i in found if i.kind == "post_waiting"]) >= count
        return reads

    assert await reads_for_drafts(1) == await reads_for_drafts(5)


async def test_a_pupil_sees_their_returned_post_with_the_note_and_new_comments(
    school: LiveNode,
) -> None:
    project = await start(school)
    node = school.node
    returned = await node.projects.draft(
        project, "Amira", "My river", "Rivers.", theme=None, images=[], now=now_ms()
    )
    await node.projects.return_(returned.id, "Mr Jones", "Add where the river starts.")
    shown = await node.projects.draft(
        project, "Amira", "The weir", "A weir.", theme=None, images=[], now=now_ms()
    )
    await node.projects.approve(shown.id, "Mr Jones", now_ms())
    await node.projects.comment(shown.id, "Mr Jones", "Lovely drawing!", now_ms())
    page = await dashboard(school, "Amira")
    assert "Your teacher returned “My river”: change it and save it again" in page
    assert "Your teacher's note: Add where the river starts." in page
    assert "New comment on “The weir” by Mr Jones" in page
    assert f'href="/posts/{shown.id}#comments"' in page
    # Ben, another pupil, sees none of it.
    other = await dashboard(school, "Ben")
    assert "My river" not in other
    assert "The weir" not in other


async def test_a_date_proposed_for_an_arrangement_waits_on_the_other_schools_dashboard(
    school: LiveNode, lycee: LiveNode
) -> None:
    await busy_oakfield(school, lycee)
    (accepted,) = [i for i in await lycee.node.interests.all() if i.direction == "received"]
    await lycee.node.interests.propose(
        accepted.id,
        start="2099-03-10T09:30+01:00",
        end="2099-03-10T12:00+01:00",
        tz="Europe/Paris",
        by="M. Martin",
        now=now_ms(),
    )

    async def arrived() -> bool:
        return (await school.node.interests.get(accepted.id)).proposed is not None

    await wait_for(arrived, what="the proposed date at Oakfield")
    page = await dashboard(school, "Mr Jones")
    needs_list = page.partition('id="needs"')[2].partition("</section>")[0]
    said = "Lycée Jean Moulin proposes a date for “Visite de notre classe bilingue”"
    assert f"{said}: accept it or propose another" in needs_list
    assert f'href="/interests#arrangement-{accepted.id}"' in needs_list
    assert "proposes a date" not in await dashboard(lycee, "M. Martin")  # theirs, not to do

    await school.node.interests.accept_date(accepted.id, by="Mr Jones", now=now_ms())
    assert "proposes a date" not in await dashboard(school, "Mr Jones")  # done

    async def agreed() -> bool:
        return (await lycee.node.interests.get(accepted.id)).agreed is not None

    await wait_for(agreed, what="the agreed date at the Lycée")
    there = await dashboard(lycee, "M. Martin")
    assert "Oakfield Primary School accepted the date for “Visite de notre classe bilingue”" in (
        there
    )


async def test_a_cluster_invitation_and_a_sample_every_school_graded_are_on_the_dashboard(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await lycee.node.clusters.create(
        "Écriture CM2", [str(school.node.node_id)], now=now_ms()
    )
    shared = await lycee.node.clusters.share(
        made.id, pdf_by("Someone"), title="Sample A", name="a.pdf", now=now_ms()
    )

    async def arrived() -> bool:
        return (
            (await school.node.clusters.get(made.id)).samples == 1
            if (await school.node.clusters.all())
            else False
        )

    await wait_for(arrived, what="the Lycée's cluster and sample at Oakfield")
    needs_list = (await dashboard(school, "Mr Jones")).partition('id="needs"')[2]
    needs_list = needs_list.partition("</section>")[0]
    said = "Lycée Jean Moulin invited our school to the moderation cluster “Écriture CM2”"
    assert f"{said}: accept or decline" in needs_list
    assert f'href="/clusters/{made.id}"' in needs_list

    await school.node.clusters.accept(made.id, now=now_ms())
    assert "moderation cluster" not in await dashboard(school, "Mr Jones")  # done
    await school.node.clusters.grade(shared.id, "6", "", now=now_ms())
    assert "have graded" not in await dashboard(school, "Mr Jones")  # the Lycée has not
    await lycee.node.clusters.grade(shared.id, "5", "", now=now_ms())

    async def both() -> bool:
        return len((await school.node.clusters.sample(shared.id)).others) == 1

    await wait_for(both, what="the Lycée's grade at Oakfield")
    needs_list = (await dashboard(school, "Mr Jones")).partition('id="needs"')[2]
    needs_list = needs_list.partition("</section>")[0]
    assert "Every school of the cluster has graded “Sample A”: compare the grades" in needs_list
    assert f'href="/clusters/{made.id}#sample-{shared.id}"' in needs_list
