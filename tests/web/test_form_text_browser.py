"""Paragraphs typed into every textarea of the site, in a real browser, kept as paragraphs.

A browser sends a textarea's line breaks as CRLF; the pages read them as LF
(node/web/app.py, ``plain_lines``). One browser, two partner schools, and each
textarea in node/web/templates/ typed into with the Enter key and accents, then
sent: the test fails when a textarea is added that it does not type into.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page

from node.clock import now_ms
from node.web.kit import TEMPLATE_DIR
from tests.network import LiveNode, partner, wait_for
from tests.web.test_clusters_browser import scan
from tests.web.web import add_user, browser, screenshot, sign_in

#: Each textarea a visitor types into, as "template#id" (a Jinja id part as "*").
TEXTAREA = re.compile(r"<textarea\b[^>]*>")


#: Textareas typed into the same way by another browser test, which needs a scene of
#: its own (a school that is not yet a partner), and checks what was kept.
TYPED_IN_OTHER_TESTS = {
    "schools_show.html#message": "tests/web/test_directory_pages.py",
}


def textareas() -> set[str]:
    found = set()
    for template in sorted(TEMPLATE_DIR.glob("*.html")):
        for tag in TEXTAREA.findall(template.read_text()):
            if " readonly" in tag:  # shown to copy (a new invite code), not typed into
                continue
            ident = re.search(r'\bid="([^"]+)"', tag)
            assert ident, f"a textarea without an id in {template.name}: {tag}"
            found.add(f"{template.name}#{re.sub(r'{{.*?}}', '*', ident[1])}")
    return found


async def type_lines(box: Locator, *lines: str) -> str:
    """Type ``lines`` as a person does (Enter between them); what the page should keep.

    The line breaks are real presses of the Enter key, which the browser turns into
    the textarea's line breaks (sent as CRLF). The text of each line arrives as one
    input event, as Playwright sends each character not on a US keyboard (the
    accents) even when typing key by key: a key press per character took 10 ms
    each, a quarter of this test's time, and the pages run no scripts to hear them."""
    await box.fill("")
    for number, line in enumerate(lines):
        if number:
            await box.press("Enter")
        if line:
            await box.page.keyboard.insert_text(line)
    return "\n".join(lines)


async def said(page: Page) -> str:
    return await page.locator(".flash").first.inner_text()


@pytest.fixture
async def lyon(school: LiveNode, tmp_path: Path) -> AsyncIterator[LiveNode]:
    live = await LiveNode.start(tmp_path / "lyon", "École Jean Macé", country="FR")
    await add_user(live, "Mme Durand", "staff")
    await partner(school, live)
    try:
        yield live
    finally:
        await live.stop()


async def test_paragraphs_typed_into_every_textarea_are_kept(
    school: LiveNode, lyon: LiveNode, tmp_path: Path
) -> None:
    node = school.node
    typed: set[str] = set()
    async with browser() as chromium:
        admin = await sign_in(chromium, school, "Mrs Patel")
        teacher = await sign_in(chromium, school, "Mr Jones")
        pupil = await sign_in(chromium, school, "Amira")
        there = await sign_in(chromium, lyon, "Mme Durand")

        # Our school's "About", on two paragraphs.
        await admin.goto(f"{school.address}/profile")
        about = await type_lines(
            admin.locator("#about"), "Une école de village.", "", "We love partnerships: é, ü, ñ."
        )
        await admin.get_by_role("button", name="Save the profile").click()
        assert "Saved" in await said(admin)
        assert (await node.store.latest_profile(node.node_id) or {}).get("about") == about
        typed.add("school_profile.html#about")

        # An invite code pasted over two lines (as an email wraps it) is still read
        # whole: this one is our own, which the page says, keeping what was pasted.
        code, _expires = await node.invites.create(expires_in_ms=86_400_000, address=None)
        await admin.goto(f"{school.address}/partners")
        half = len(code) // 2
        await type_lines(admin.locator("#code"), code[:half], code[half:])
        await admin.get_by_role("button", name="Become partners").click()
        assert "this school's own invite code" in await said(admin)
        assert await admin.locator("#code").input_value() == f"{code[:half]}\n{code[half:]}"
        typed.add("school_partners.html#code")

        # A project with its themes, one per line.
        await teacher.goto(f"{school.address}/projects")
        await teacher.locator("#title").fill("Rivières d'Europe")
        await type_lines(teacher.locator("#themes"), "Rivières", "Food")
        await teacher.get_by_role("button", name="Start the project").click()
        (project,) = await node.projects.all()
        assert project.themes == ["Rivières", "Food"]
        await node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
        typed.add("projects_index.html#themes")

        # An event's details on two lines.
        await teacher.goto(f"{school.address}/events/new")
        await teacher.locator("#title").fill("TeachMeet")
        await teacher.locator("#start").fill("2099-03-04T16:00")
        await teacher.locator("#end").fill("2099-03-04T18:00")
        details = await type_lines(teacher.locator("#text"), "Arrivée à 15h45.", "Bring a laptop.")
        await teacher.get_by_role("button", name="Publish the event").click()
        assert "published" in await said(teacher)
        (event,) = await node.events.listing()
        assert event.content["text"] == details
        assert await teacher.locator(".prose").inner_text() == details
        typed.add("events_new.html#text")

        # An offer's description, in paragraphs.
        await teacher.goto(f"{school.address}/offers/new")
        await teacher.get_by_label("Kind of collaboration").select_option("visit")
        await teacher.locator("#title").fill("Visitez notre école")
        description = await type_lines(
            teacher.locator("#text"), "Une journée avec nous.", "", "Déjeuner compris."
        )
        await teacher.get_by_role("button", name="Post it").click()
        assert "posted" in await said(teacher)
        (offer,) = await node.offers.listing("offer")
        assert (offer.entry.content or {}).get("text") == description
        typed.add("offers_new.html#text")

        # An observation's strengths, one per line.
        await teacher.goto(f"{school.address}/observations/new")
        await teacher.locator("#observer").fill("Mr Jones")
        await teacher.locator("#observed").fill("Mrs Patel")
        await teacher.locator("#focus_other").fill("questioning")
        await teacher.locator("#priority").fill("Oracy")
        await type_lines(teacher.locator("#strengths"), "Temps d'attente.", "Cold calling.")
        await teacher.locator("#action1").fill("Try think-pair-share")
        await teacher.get_by_role("button", name="Record it").click()
        assert "recorded" in await said(teacher)
        (recorded,) = await node.observations.listing()
        assert recorded.strengths == ("Temps d'attente.", "Cold calling.")
        typed.add("observations_new.html#strengths")

        # Mrs Patel, observed, records the follow-up with a note on two lines.
        await admin.goto(f"{school.address}/observations/{recorded.id}")
        follow_up = await type_lines(
            admin.locator("#follow-up-note"), "Ça marche : plus de mains.", "Next: science."
        )
        await admin.get_by_role("button", name="Followed up").click()
        assert "The follow-up is recorded" in await said(admin)
        assert (await node.observations.get(recorded.id)).follow_up_note == follow_up
        assert await admin.locator(".prose").inner_text() == follow_up
        typed.add("observations_show.html#follow-up-note")

        # A pupil's post: two paragraphs and a list.
        await pupil.goto(f"{school.address}/projects/{project.id}/write")
        await pupil.locator("#title").fill("Au bord de la rivière")
        await type_lines(
            pupil.locator("#body"),
            "Notre promenade était longue.",
            "",
            "We saw:",
            "",
            "- a heron (un héron)",
            "- a kingfisher",
            "",
            "À bientôt, Zoë !",
        )
        await pupil.get_by_role("button", name="Send it to your teacher").click()
        assert "Saved" in await said(pupil)
        body = pupil.locator(".post-body")
        assert await body.locator("p").all_inner_texts() == [
            "Notre promenade était longue.",
            "We saw:",
            "À bientôt, Zoë !",
        ]
        assert await body.locator("li").all_inner_texts() == ["a heron (un héron)", "a kingfisher"]
        post_page = pupil.url
        typed.add("projects_write.html#body")

        # The teacher returns it with a two-line note; the pupil reads it so.
        await teacher.goto(post_page)
        note = await type_lines(
            teacher.locator("#note-text"), "Très bien !", "Add where the river is."
        )
        await teacher.get_by_role("button", name="Return with this note").click()
        assert "Returned" in await said(teacher)
        await pupil.reload()
        assert await pupil.locator("section.card .prose").inner_text() == note
        typed.add("projects_post.html#note-text")
        await pupil.get_by_role("link", name="Change your post").click()
        await pupil.get_by_role("button", name="Send it to your teacher again").click()
        await teacher.goto(post_page)
        await teacher.get_by_role(
            "button", name="Approve and send to the project's schools"
        ).click()
        assert "Approved" in await said(teacher)

        # A comment in two paragraphs.
        await pupil.goto(post_page)
        comment = await type_lines(
            pupil.locator("#comment-body"), "J'ai adoré !", "", "Second paragraph."
        )
        await pupil.get_by_role("button", name="Send").click()
        assert await pupil.locator(".comment").inner_text() == comment
        (saved,) = await node.projects.comments(post_page.rsplit("/", 1)[1], states=("draft",))
        assert saved.body == comment
        typed.add("projects_post.html#comment-body")

        # Interest from Lyon, in paragraphs, and Oakfield's answer, in paragraphs.
        await wait_for(lambda: lyon.holds(offer.entry.id), what="Oakfield's offer at Lyon")
        await there.goto(f"{lyon.address}/offers/{offer.entry.id}")
        message = await type_lines(
            there.locator("#message"), "Bonjour,", "", "Nous aimerions venir en mars."
        )
        await there.locator("form[action$='/interest'] button").click()
        (sent,) = await lyon.node.interests.all()
        assert sent.message == message
        typed.add("offers_show.html#message")

        async def arrived() -> bool:
            return bool(await node.interests.all())

        await wait_for(arrived, what="Lyon's interest at Oakfield")
        (received,) = await node.interests.all()
        await teacher.goto(f"{school.address}/interests")
        answer = await type_lines(
            teacher.locator(f"#answer-{received.id}"), "Welcome!", "", "Come on a Tuesday."
        )
        await teacher.get_by_role("button", name="Accept").click()
        assert "Accepted" in await said(teacher)
        (answered,) = await node.interests.all()
        assert answered.answer == answer
        typed.add("interests_index.html#answer-*")

        # A date proposed for the arrangement, with a note in paragraphs.
        card = teacher.locator(f"#arrangement-{received.id}")
        await card.get_by_text("Propose a date").click()
        await card.get_by_label("Day").fill("2099-03-10")
        await card.get_by_label("Starts at").fill("09:30")
        await card.get_by_label("Ends at").fill("12:00")
        note = await type_lines(
            card.locator(f"#note-{received.id}"), "Two teachers.", "", "Bring your ID."
        )
        await card.get_by_role("button", name="Propose this date").click()
        assert "proposed" in await said(teacher)
        proposed = (await node.interests.get(received.id)).proposed
        assert proposed is not None
        assert proposed.note == note
        typed.add("interests_index.html#note-*")

        # The other school sees the date to accept (the README's screenshot).
        async def proposal_arrived() -> bool:
            return any(i.proposed for i in await lyon.node.interests.all())

        await wait_for(proposal_arrived, what="the proposed date at the other school")
        await there.goto(f"{lyon.address}/interests")
        await there.get_by_role("button", name="Accept this date").wait_for()
        await screenshot(there, "interest-booking", tmp_path)
        # One date, each end once in each zone (Lyon's clocks are an hour ahead).
        proposal = await there.locator(".proposal").first.inner_text()
        assert "10 Mar 2099, 09:30\N{EN DASH}12:00 (London time) \N{EN DASH} " in proposal
        assert "10:30\N{EN DASH}13:00 here" in proposal

        # A question to the network in paragraphs; Lyon answers it in paragraphs.
        await teacher.goto(f"{school.address}/questions/new")
        await teacher.locator("#title").fill("Lecture à voix haute ?")
        question_text = await type_lines(
            teacher.locator("#text"), "Nos élèves lisent peu.", "", "What worked for you?"
        )
        await teacher.get_by_role("button", name="Ask the network").click()
        assert "Your question is posted" in await said(teacher)
        (question,) = await node.questions.all()
        assert question.text == question_text
        assert await teacher.locator(".prose").first.inner_text() == question_text
        typed.add("questions_new.html#text")

        await wait_for(lambda: lyon.holds(question.id), what="Oakfield's question at Lyon")
        await there.goto(f"{lyon.address}/questions/{question.id}")
        assert await there.locator(".prose").first.inner_text() == question_text
        reply = await type_lines(
            there.locator("#text"), "Un quart d'heure chaque matin.", "", "Ça marche, même en CM2."
        )
        await there.get_by_role("button", name="Post the answer").click()
        assert "Your answer is posted" in await said(there)
        (answered_there,) = (await lyon.node.questions.one(str(question.id))).answers
        assert answered_there.text == reply
        assert await there.locator(f"#answer-{answered_there.id} .prose").inner_text() == reply
        typed.add("questions_show.html#text")

        # A grade's comment on a moderation sample, in paragraphs, kept and shown so.
        cluster = await node.clusters.create(
            "Écriture, Year 6", [str(lyon.node.node_id)], now=now_ms()
        )
        sample = await node.clusters.share(
            cluster.id, scan(tmp_path).read_bytes(), title="Sample A", name="scan.png", now=now_ms()
        )
        await teacher.goto(f"{school.address}/clusters/{cluster.id}")
        await teacher.locator(f"#grade-{sample.id}").fill("Expected")
        remark = await type_lines(
            teacher.locator(f"#comment-{sample.id}"),
            "Des paragraphes clairs.",
            "",
            "Few connectives: é, ü, ñ.",
        )
        await teacher.get_by_role("button", name="Give our grade").click()
        assert "Our grade is given" in await said(teacher)
        graded = await node.clusters.sample(sample.id)
        assert graded.ours is not None
        assert graded.ours.comment == remark
        grades = teacher.get_by_role("table", name="Grades side by side")
        assert await grades.locator("td").nth(1).inner_text() == remark
        typed.add("clusters_show.html#comment-*")

        # Lyon, once it has graded too, sees Oakfield's comment in its paragraphs.
        async def sample_arrived() -> bool:
            return any([c.id == cluster.id for c in await lyon.node.clusters.all()]) and bool(
                (await lyon.node.clusters.show(cluster.id)).samples
            )

        await wait_for(sample_arrived, what="the sample at Lyon")
        await lyon.node.clusters.accept(cluster.id, now=now_ms())
        await lyon.node.clusters.grade(sample.id, "Secure", None, now=now_ms())

        async def revealed() -> bool:
            return bool((await lyon.node.clusters.sample(sample.id)).others)

        await wait_for(revealed, what="Oakfield's grade at Lyon")
        await there.goto(f"{lyon.address}/clusters/{cluster.id}")
        theirs = there.get_by_role("row", name="Oakfield Primary School")
        assert await theirs.locator("td").nth(1).inner_text() == remark

    assert typed | set(TYPED_IN_OTHER_TESTS) == textareas()
