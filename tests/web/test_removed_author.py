"""A post or comment whose pupil's account was removed, on the web pages (docs/admin.md):
never approved, and a teacher may delete the draft; a pupil may not. A real node
serving its pages, each visitor with their own session."""

from __future__ import annotations

import html

from node.clock import now_ms
from node.projects import approval
from tests.network import LiveNode
from tests.web.test_approve_what_was_read import draft, flash, opened, press
from tests.web.test_projects import start
from tests.web.web import client, csrf_of, http_sign_in

GONE = (
    "Amira's account was removed, so this post can no longer be approved: nothing was "
    "sent. Keep it here, or delete it. If the account was removed by mistake, add it "
    "again with the same name and record the consent: the post can then be approved."
)


async def test_a_removed_pupil_s_draft_is_not_approved_and_a_teacher_deletes_it(
    school: LiveNode,
) -> None:
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as teacher, client(school) as ben:
        await http_sign_in(teacher, "Mr Jones")
        await http_sign_in(ben, "Ben")
        form = await opened(teacher, post)
        # While Amira's account exists the draft is hers: no delete for the teacher.
        async with teacher.get(f"/posts/{post}/delete") as response:
            assert response.status == 404
        await school.node.accounts.remove("Amira")

        async with teacher.get(f"/posts/{post}") as response:
            page = html.unescape(await response.text())
        assert GONE in page
        assert 'action="/posts/' + post + '/approve"' not in page
        assert f'href="/posts/{post}/delete"' in page
        # A version read after the removal (none shown now) is refused all the same.
        stored = await school.node.projects.post(post)
        status, page = await press(
            teacher, school, post, "approve", {**form, "version": approval.version(stored, None)}
        )
        assert (status, flash(page)) == (400, GONE)
        assert (await school.node.projects.post(post)).state == "draft"

        # Ben, a pupil of the project, may not delete it (nor learn it exists).
        async with ben.get(f"/posts/{post}/delete") as response:
            assert response.status == 404
        async with ben.post(
            f"/posts/{post}/delete", data={"csrf": await csrf_of(ben, "/")}
        ) as response:
            assert response.status == 404
        assert (await school.node.projects.post(post)).state == "draft"

        async with teacher.get(f"/posts/{post}/delete") as response:
            assert response.status == 200
            asked = html.unescape(await response.text())
        assert "Amira's account was removed. This draft and its photos will be deleted." in asked
        assert "Yes, delete this draft" in asked
        data = {"csrf": await csrf_of(teacher, f"/posts/{post}/delete")}
        async with teacher.post(f"/posts/{post}/delete", data=data) as response:
            assert response.status == 200
            done = html.unescape(await response.text())
        assert "The draft is deleted, with its photos." in done
    async with client(school) as check:
        await http_sign_in(check, "Mr Jones")
        async with check.get(f"/posts/{post}") as response:
            assert response.status == 404


async def test_a_removed_pupil_s_comment_is_not_approved(school: LiveNode) -> None:
    project = await start(school)
    post = await draft(school, project)
    await school.node.projects.approve(post, "Mr Jones", now_ms())
    comment = await school.node.projects.comment(post, "Amira", "It was tall!", now_ms())
    await school.node.accounts.remove("Amira")
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get(f"/posts/{post}") as response:
            shown = html.unescape(await response.text())
        assert "this comment can no longer be approved" in shown
        assert f"/comments/{comment.id}/approve" not in shown  # no button
        # A page opened before the removal still has the button: pressed, refused.
        data = {"csrf": await csrf_of(teacher, f"/posts/{post}")}
        headers = {"Referer": f"{school.address}/posts/{post}"}
        async with teacher.post(
            f"/posts/{post}/comments/{comment.id}/approve", data=data, headers=headers
        ) as response:
            status, page = response.status, await response.text()
    assert status == 400
    assert flash(page).startswith(
        "Amira's account was removed, so this comment can no longer be approved: nothing was sent."
    )
    (held,) = await school.node.projects.comments(post, states=("draft", "approved"))
    assert held.state == "draft"
