"""A post or comment whose pupil was taken off the project, on the web pages
(docs/web.md): never approved, said so instead of an Approve button, and a teacher may
delete the draft. A real node serving its pages, each visitor with their own session."""

from __future__ import annotations

import html
import re

import pytest

from node.clock import now_ms
from protocol.errors import AuthorTakenOffError
from tests.network import LiveNode
from tests.web.test_approve_what_was_read import draft, flash, opened, press
from tests.web.test_projects import start
from tests.web.web import client, csrf_of, http_sign_in

OFF = (
    "Amira was taken off this project, so this post cannot be approved: nothing was sent. "
    "Keep it here, or delete it. If they should take part again, add them back to the "
    "project: the post can then be approved."
)
COMMENT_OFF = "Amira was taken off this project, so this comment cannot be approved"


async def take_off(school: LiveNode, project: str, pupils: list[str]) -> None:
    """Only ``pupils`` take part (class 5B, Amira's and Ben's, no more)."""
    await school.node.projects.rosters.replace(project, classes=[], pupils=pupils, now=now_ms())


async def test_a_pupil_taken_off_has_their_draft_kept_unapproved_and_a_teacher_deletes_it(
    school: LiveNode,
) -> None:
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        form = await opened(teacher, post)  # the page opened while she took part
        await take_off(school, project, ["Ben"])

        async with teacher.get(f"/posts/{post}") as response:
            page = html.unescape(await response.text())
        assert OFF in page
        assert f'action="/posts/{post}/approve"' not in page
        assert f'href="/posts/{post}/delete"' in page
        assert f'href="/projects/{project}#pupils"' in page
        async with teacher.get(f"/projects/{project}") as response:
            listed = html.unescape(await response.text())
        assert "cannot be approved: the writer was taken off this project" in listed

        # Approve and Return pressed on the page opened before: refused, nothing sent.
        status, page = await press(teacher, school, post, "approve", form)
        assert (status, flash(page)) == (400, OFF)
        status, page = await press(teacher, school, post, "return", {**form, "note": "More"})
        assert status == 400
        assert flash(page).startswith("Amira was taken off this project, so this post is not")
        stored = await school.node.projects.post(post)
        assert (stored.state, stored.approved_by, stored.note) == ("draft", None, None)

        async with teacher.get(f"/posts/{post}/delete") as response:
            assert response.status == 200
            asked = html.unescape(await response.text())
        assert "Amira was taken off this project. This draft and its photos will be" in asked
        data = {"csrf": await csrf_of(teacher, f"/posts/{post}/delete")}
        async with teacher.post(f"/posts/{post}/delete", data=data) as response:
            assert response.status == 200
            done = html.unescape(await response.text())
        assert "The draft is deleted, with its photos." in done
        async with teacher.get(f"/posts/{post}") as response:
            assert response.status == 404


async def test_added_back_the_draft_is_approved_again(school: LiveNode) -> None:
    project = await start(school)
    post = await draft(school, project)
    await take_off(school, project, [])
    await take_off(school, project, ["Amira"])  # back, by name
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        form = await opened(teacher, post)
        async with teacher.get(f"/posts/{post}/delete") as response:
            assert response.status == 404  # hers again
        status, _page = await press(teacher, school, post, "approve", form)
    assert status == 200
    assert (await school.node.projects.post(post)).state == "approved"


async def test_a_pupil_taken_off_has_their_comment_kept_unapproved(school: LiveNode) -> None:
    project = await start(school)
    post = await draft(school, project)
    await school.node.projects.approve(post, "Mr Jones", now_ms())
    comment = await school.node.projects.comment(post, "Amira", "It was tall!", now_ms())
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        data = {"csrf": await csrf_of(teacher, f"/posts/{post}")}  # opened with the button
        await take_off(school, project, ["Ben"])
        async with teacher.get(f"/posts/{post}") as response:
            shown = html.unescape(await response.text())
        assert COMMENT_OFF in shown
        assert f"/comments/{comment.id}/approve" not in shown
        async with teacher.get(f"/projects/{project}") as response:
            listed = html.unescape(await response.text())
        assert "cannot be approved: the writer was taken off this project" in listed
        headers = {"Referer": f"{school.address}/posts/{post}"}
        async with teacher.post(
            f"/posts/{post}/comments/{comment.id}/approve", data=data, headers=headers
        ) as response:
            status, page = response.status, await response.text()
    assert status == 400
    assert flash(page).startswith(COMMENT_OFF + ": nothing was sent.")
    (held,) = await school.node.projects.comments(post, states=("draft", "approved"))
    assert held.state == "draft"


def pupils_form(page: str, project: str) -> list[tuple[str, str]]:
    """What a browser sends from the pupils form of ``page`` as it was rendered: its
    hidden fields and the boxes ticked (without the CSRF token)."""
    form = page.partition(f'action="/projects/{project}/pupils"')[2].partition("</form>")[0]
    sent = []
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None or value is None or name[1] == "csrf":
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        sent.append((name[1], html.unescape(value[1])))
    return sent


async def test_a_pupils_form_opened_before_a_pupil_was_taken_off_does_not_put_them_back(
    school: LiveNode,
) -> None:
    """Before, the form sent the whole choice as the page showed it: a teacher saving
    it for another pupil put back, unseen, a pupil another teacher had taken off
    meanwhile (and their drafts could be approved again)."""
    project = await start(school)
    await take_off(school, project, ["Amira"])  # in by name only
    post = await draft(school, project)
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get(f"/projects/{project}") as response:
            page = await response.text()
        sent = pupils_form(page, project)
        assert ("pupil", "Amira") in sent
        await take_off(school, project, [])  # another teacher, meanwhile
        data = [("csrf", await csrf_of(teacher, f"/projects/{project}")), *sent]
        data.append(("pupil", "Ben"))  # what this teacher changed
        async with teacher.post(f"/projects/{project}/pupils", data=data) as response:
            assert response.status == 200
    roster = await school.node.projects.rosters.of(project)
    assert (roster.classes, roster.pupils) == ((), ("Ben",))
    with pytest.raises(AuthorTakenOffError):
        await school.node.projects.approve(post, "Mr Jones", now_ms())


async def test_the_dashboard_does_not_ask_to_approve_what_cannot_be_approved(
    school: LiveNode,
) -> None:
    """Before, a teacher's "Needs doing" said "Approve or return the post ... by Amira"
    (and "Approve Amira's comment") for work of a pupil taken off, which cannot be
    approved or returned: and a to-do stays until done, so the comment's never left."""
    project = await start(school)
    post = await draft(school, project)
    shown = await school.node.projects.draft(
        project, "Ben", "Our pond", "Frogs.", theme=None, images=[], now=0
    )
    await school.node.projects.approve(shown.id, "Mr Jones", now_ms())
    await school.node.projects.comment(shown.id, "Amira", "So green!", now_ms())
    await school.node.projects.comment(shown.id, "Ben", "Thank you!", now_ms())
    asked = (
        "Approve or return the post “Our river walk” by Amira",
        "Approve Amira's comment on “Our pond”",
    )
    before = await needs_of(school, "Mr Jones")
    assert all(line in before for line in asked), before
    await take_off(school, project, ["Ben"])
    after = await needs_of(school, "Mr Jones")
    assert not any(line in after for line in asked), after
    assert "Approve Ben's comment on “Our pond”" in after  # Ben still takes part
    assert f'href="/posts/{post}"' not in after


async def needs_of(school: LiveNode, name: str) -> str:
    """The "Needs doing" list of ``name``'s dashboard, as a browser reads it."""
    async with client(school) as http:
        await http_sign_in(http, name)
        async with http.get("/") as response:
            page = html.unescape(await response.text())
    return page.partition('id="needs"')[2].partition("</section>")[0]


async def test_a_pupil_taken_off_is_told_their_draft_will_not_be_sent_and_may_delete_it(
    school: LiveNode,
) -> None:
    """Before, her dashboard said the draft was "waiting for your teacher" and its page
    offered "Change your post", whose form was then refused (what she typed lost)."""
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        async with amira.get("/") as response:
            assert "waiting for your teacher" in await response.text()
        await take_off(school, project, ["Ben"])
        async with amira.get("/") as response:
            home = html.unescape(await response.text())
        assert "waiting for your teacher" not in home
        assert "will not be sent: you are not in this project any more" in home
        async with amira.get(f"/posts/{post}") as response:
            page = html.unescape(await response.text())
        assert "You are not in this project any more, so this draft will not be sent." in page
        assert f'href="/posts/{post}/edit"' not in page
        assert f'href="/posts/{post}/delete"' in page
        async with amira.get(f"/posts/{post}/edit") as response:
            assert response.status == 403
        data = {"csrf": await csrf_of(amira, f"/posts/{post}/delete")}
        async with amira.post(f"/posts/{post}/delete", data=data) as response:
            assert response.status == 200
    assert await school.node.store.fetch_one("SELECT 1 FROM posts WHERE id = ?", (post,)) is None
