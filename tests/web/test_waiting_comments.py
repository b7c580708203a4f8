"""A comment waiting for a teacher on the post's page (docs/web.md): its pupil deletes
it, a teacher declines and deletes it, each after a page that asks first; nobody else
may, and one approved meanwhile is kept. A real node serving its pages, each visitor
with their own session."""

from __future__ import annotations

import html
import re

import aiohttp

from node.clock import now_ms
from tests.network import LiveNode
from tests.web.test_approve_what_was_read import flash
from tests.web.test_projects import start
from tests.web.web import client, csrf_of, http_sign_in

STATUS = re.compile(r'<p class="flash ok"[^>]*>(.*?)</p>', re.S)


async def teacher_s_post(school: LiveNode, project: str) -> str:
    post = await school.node.projects.draft(
        project, "Mr Jones", "Our trip", "The bus leaves at 9.", theme=None, images=[], now=0
    )
    await school.node.projects.approve(post.id, "Mr Jones", now_ms())
    return post.id


async def waiting(school: LiveNode, post: str) -> set[str]:
    return {c.id for c in await school.node.projects.comments(post, states=("draft",))}


async def page(http: aiohttp.ClientSession, path: str) -> tuple[int, str]:
    async with http.get(path) as response:
        return response.status, html.unescape(await response.text())


def said(text: str) -> str:
    found = STATUS.search(text)
    assert found, "no message on the page"
    return html.unescape(found[1]).strip()


async def test_a_pupil_deletes_her_own_waiting_comment_and_no_one_else_s(
    school: LiveNode,
) -> None:
    project = await start(school)
    post = await teacher_s_post(school, project)
    hers = await school.node.projects.comment(post, "Amira", "My address is 1 High St.", 1)
    bens = await school.node.projects.comment(post, "Ben", "Great!", 1)
    delete = f"/posts/{post}/comments/{hers.id}/delete"
    async with client(school) as amira, client(school) as ben:
        await http_sign_in(amira, "Amira")
        await http_sign_in(ben, "Ben")
        _status, shown = await page(amira, f"/posts/{post}")
        assert f'href="{delete}"' in shown
        assert f"/comments/{bens.id}/delete" not in shown  # nor is Ben's comment shown

        # Ben may not: "not found", as for a comment he cannot know is there.
        assert (await page(ben, delete))[0] == 404
        data = {"csrf": await csrf_of(ben, f"/posts/{post}")}
        async with ben.post(delete, data=data) as response:
            assert response.status == 404
        assert hers.id in await waiting(school, post)

        status, asked = await page(amira, delete)
        assert status == 200
        assert "Delete your comment?" in asked
        assert "My address is 1 High St." in asked
        assert "Nobody outside our school has seen it." in asked
        async with amira.post(delete, data={"csrf": await csrf_of(amira, delete)}) as response:
            assert response.status == 200
            assert str(response.url).endswith(f"/posts/{post}")
            done = await response.text()
        assert said(done) == "Your comment is deleted."
    assert await waiting(school, post) == {bens.id}


async def test_a_teacher_declines_a_waiting_comment_and_an_approved_one_is_kept(
    school: LiveNode,
) -> None:
    project = await start(school)
    post = await teacher_s_post(school, project)
    amira_s = await school.node.projects.comment(post, "Amira", "Yay!", 1)
    bens = await school.node.projects.comment(post, "Ben", "Great!", 1)
    sent = await school.node.projects.comment(post, "Ben", "See you!", 1)
    await school.node.projects.approve(sent.id, "Mr Jones", now_ms())
    # Amira taken off the project: her comment can never be approved, and before there
    # was no way to be rid of it.
    await school.node.projects.rosters.replace(project, classes=[], pupils=["Ben"], now=0)
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        _status, shown = await page(teacher, f"/posts/{post}")
        for comment in (amira_s, bens):
            assert f'href="/posts/{post}/comments/{comment.id}/delete"' in shown
        assert shown.count("Decline and delete") == 2
        assert f"/comments/{sent.id}/delete" not in shown
        # Its address typed anyway: no page that asks, the post's page says it was sent.
        status, text = await page(teacher, f"/posts/{post}/comments/{sent.id}/delete")
        assert status == 200
        assert "approved and sent to the project's schools" in flash(text)

        delete = f"/posts/{post}/comments/{amira_s.id}/delete"
        status, asked = await page(teacher, delete)
        assert status == 200
        assert "Decline and delete Amira's comment?" in asked
        assert "was never sent: it will be deleted, and no other school is told" in asked
        async with teacher.post(delete, data={"csrf": await csrf_of(teacher, delete)}) as got:
            assert got.status == 200
            done = await got.text()
        assert said(done) == (
            "The comment is declined and deleted. Nobody outside our school saw it."
        )
        assert await waiting(school, post) == {bens.id}

        # Opened, then approved by another teacher before Yes was pressed: kept, and said.
        delete = f"/posts/{post}/comments/{bens.id}/delete"
        data = {"csrf": await csrf_of(teacher, delete)}
        await school.node.projects.approve(bens.id, "Mr Jones", now_ms())
        headers = {"Referer": f"{school.address}{delete}"}
        async with teacher.post(delete, data=data, headers=headers) as got:
            status, text = got.status, await got.text()
        assert status == 400
        assert flash(text) == (
            "This comment was approved and sent to the project's schools, so it can no "
            "longer be deleted: a teacher can take it down."
        )
    approved = await school.node.projects.comments(post)
    assert {c.id for c in approved} == {sent.id, bens.id}


async def test_decline_pressed_on_a_page_opened_before_says_what_happened(
    school: LiveNode,
) -> None:
    """The post's page was open when another teacher approved the comment (or declined
    it): its Decline and delete led to "not found", though the comment is there, sent,
    and docs/web.md says the page says so. Now the post's page says what happened."""
    project = await start(school)
    post = await teacher_s_post(school, project)
    approved, declined = [
        await school.node.projects.comment(post, "Amira", body, 1) for body in ("Yay!", "Hi")
    ]
    async with client(school) as teacher, client(school) as amira:
        await http_sign_in(teacher, "Mr Jones")
        await http_sign_in(amira, "Amira")
        _status, shown = await page(teacher, f"/posts/{post}")
        assert f"/comments/{approved.id}/delete" in shown
        await school.node.projects.approve(approved.id, "Mr Jones", now_ms())
        await school.node.projects.discard_comment(declined.id, "Mr Jones")
        for visitor in (teacher, amira):  # staff, and its pupil (her Delete)
            async with visitor.get(f"/posts/{post}/comments/{approved.id}/delete") as got:
                assert got.status == 200
                assert str(got.url).endswith(f"/posts/{post}")
                text = await got.text()
            assert flash(text) == (
                "This comment was approved and sent to the project's schools, so it can no "
                "longer be deleted: a teacher can take it down."
            )
        async with teacher.get(f"/posts/{post}/comments/{declined.id}/delete") as got:
            assert got.status == 200
            assert str(got.url).endswith(f"/posts/{post}")
            assert said(await got.text()) == "This comment is deleted already."
        # Another pupil still learns nothing: not found, approved or not.
        async with client(school) as ben:
            await http_sign_in(ben, "Ben")
            assert (await page(ben, f"/posts/{post}/comments/{approved.id}/delete"))[0] == 404
    assert [c.id for c in await school.node.projects.comments(post)] == [approved.id]
