"""A teacher approves the version of a pupil's post they read, on the web pages
(docs/decisions.md, "Approving what was read"): a real node serving its pages, a
pupil and a teacher each with their own session, and a real browser."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp

from node.projects.records import Post
from tests.network import LiveNode
from tests.web.test_projects import start, version_of
from tests.web.web import browser, client, csrf_of, http_sign_in, sign_in

T = TypeVar("T")
FLASH = re.compile(r'<p class="flash error"[^>]*>(.*?)</p>', re.S)
CHANGED = (
    "Amira changed this post after you opened it: read it again before approving. Nothing was sent."
)


async def draft(school: LiveNode, project: str, body: str = "We saw a heron.") -> str:
    post = await school.node.projects.draft(
        project, "Amira", "Our river walk", body, theme=None, images=[], now=0
    )
    return post.id


async def edit(
    pupil: aiohttp.ClientSession, post: str, body: str, csrf: str | None = None
) -> aiohttp.ClientResponse:
    """The pupil saves a changed text with the edit page's form."""
    form = aiohttp.FormData()
    form.add_field("csrf", csrf or await csrf_of(pupil, f"/posts/{post}/edit"))
    form.add_field("title", "Our river walk")
    form.add_field("theme", "")
    form.add_field("body", body)
    async with pupil.post(f"/posts/{post}/edit", data=form, allow_redirects=False) as response:
        await response.read()
        return response


async def opened(teacher: aiohttp.ClientSession, post: str) -> dict[str, str]:
    """What the teacher's open page would send: its CSRF token and the version shown."""
    return {
        "csrf": await csrf_of(teacher, f"/posts/{post}"),
        "version": await version_of(teacher, f"/posts/{post}"),
    }


async def press(
    teacher: aiohttp.ClientSession, school: LiveNode, post: str, action: str, form: dict[str, str]
) -> tuple[int, str]:
    """Press Approve (or Return) on the page opened earlier: its status and page."""
    headers = {"Referer": f"{school.address}/posts/{post}"}
    async with teacher.post(f"/posts/{post}/{action}", data=form, headers=headers) as response:
        return response.status, await response.text()


def flash(page: str) -> str:
    found = FLASH.search(page)
    assert found, "no error message on the page"
    return html.unescape(found[1]).strip()


async def test_a_post_changed_after_the_teacher_opened_it_is_not_approved(
    school: LiveNode,
) -> None:
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as amira, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(teacher, "Mr Jones")
        form = await opened(teacher, post)
        assert len(form["version"]) == 16
        assert (await edit(amira, post, "We live at 1 High Street.")).status == 303

        status, page = await press(teacher, school, post, "approve", form)
        assert status == 400
        assert flash(page) == CHANGED
        assert "We live at 1 High Street." in page  # the post as it is now, to read again
        stored = await school.node.projects.post(post)
        assert (stored.state, stored.approved_by) == ("draft", None)

        # Returning with a note is refused the same way, and the note is kept.
        status, page = await press(
            teacher, school, post, "return", {**form, "note": "Leave out the street name"}
        )
        assert status == 400
        assert flash(page) == (
            "Amira changed this post after you opened it: read it again before returning it."
        )
        assert ">\nLeave out the street name</textarea>" in page  # its own line: as typed
        assert (await school.node.projects.post(post)).state == "draft"

        # The page shown again carries the new version: read, then approved.
        again = re.search(r'name="version" value="([0-9a-f]{16})"', page)
        assert again
        assert again[1] != form["version"]
        status, page = await press(teacher, school, post, "approve", {**form, "version": again[1]})
        assert status == 200
        stored = await school.node.projects.post(post)
        assert (stored.state, stored.body) == ("approved", "We live at 1 High Street.")


async def test_a_post_deleted_after_the_teacher_opened_it_is_said_plainly(
    school: LiveNode,
) -> None:
    project = await start(school)
    async with client(school) as amira, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(teacher, "Mr Jones")
        for action in ("approve", "return"):
            post = await draft(school, project)
            form = await opened(teacher, post)
            delete = {"csrf": await csrf_of(amira, f"/posts/{post}/delete")}
            async with amira.post(f"/posts/{post}/delete", data=delete) as response:
                assert response.status == 200
            status, page = await press(teacher, school, post, action, {**form, "note": "x"})
            assert status == 404, page
            assert (
                "The pupil who wrote this post deleted it after you opened it: nothing was sent."
                in html.unescape(page)
            )


async def after(delay: float, work: Awaitable[T]) -> T:
    """``work`` sent ``delay`` seconds later: to make two requests meet at every point."""
    await asyncio.sleep(delay)
    return await work


async def test_a_pupil_racing_an_edit_against_the_approval_never_gets_it_unread(
    school: LiveNode,
) -> None:
    """Hostile: the pupil's account sends its edit while the teacher's approval is in
    flight (two real requests at once, each sent a little before the other, or at the
    same moment). Whichever the node takes first, what is approved is the text the
    teacher read; on main, the rounds where the edit came first approved it unread."""
    project = await start(school)
    read = "We saw a heron."
    outcomes = set()
    async with client(school) as amira, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(teacher, "Mr Jones")
        edit_csrf = await csrf_of(amira, "/")  # one token per session: no GET in the race
        offsets = [0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.3]
        for round_, (edit_delay, approve_delay) in enumerate(
            [(0.0, d) for d in offsets] + [(d, 0.0) for d in offsets[1:]]
        ):
            post = await draft(school, project, read)
            form = await opened(teacher, post)
            await asyncio.gather(
                after(approve_delay, press(teacher, school, post, "approve", form)),
                after(edit_delay, edit(amira, post, f"Unread {round_}: 1 High St.", edit_csrf)),
            )
            stored = await school.node.projects.post(post)
            if stored.state == "approved":
                assert stored.body == read, round_
                outcomes.add("approved as read")
            else:
                assert (stored.state, stored.body) == ("draft", f"Unread {round_}: 1 High St.")
                outcomes.add("changed, refused")
    assert outcomes == {"approved as read", "changed, refused"}


async def test_in_a_browser_the_note_typed_survives_a_refused_approval(
    school: LiveNode,
) -> None:
    project = await start(school)
    post = await draft(school, project)
    async with browser() as chromium, client(school) as amira:
        await http_sign_in(amira, "Amira")
        teacher = await sign_in(chromium, school, "Mr Jones")
        await teacher.goto(f"{school.address}/posts/{post}")
        await teacher.locator("#note-text").fill("Say which river it was.")
        assert (await edit(amira, post, "Now it says something else.")).status == 303
        await teacher.get_by_role(
            "button", name="Approve and send to the project's schools"
        ).click()
        assert (await teacher.locator(".flash").inner_text()).strip() == CHANGED
        assert "Now it says something else." in await teacher.locator(".post-body").inner_text()
        assert await teacher.locator("#note-text").input_value() == "Say which river it was."
        assert (await school.node.projects.post(post)).state == "draft"
        # Read again: the note goes back to the pupil with the version now shown.
        await teacher.get_by_role("button", name="Return with this note").click()
        assert "Returned" in await teacher.locator(".flash").inner_text()
        returned = await school.node.projects.post(post)
        assert (returned.state, returned.note) == ("returned", "Say which river it was.")


async def test_a_refused_return_does_not_show_a_changed_post_as_if_unchanged(
    school: LiveNode,
) -> None:
    """Return pressed with no note is refused and the page shown again: as it is now,
    with the version now. If the pupil changed the post meanwhile, that page must say
    so, or the teacher's next Approve sends a text they never read (the refusal said
    only "write a note")."""
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as amira, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(teacher, "Mr Jones")
        form = await opened(teacher, post)
        assert (await edit(amira, post, "We live at 1 High Street.")).status == 303

        status, page = await press(teacher, school, post, "return", {**form, "note": " "})
        assert status == 400
        assert flash(page) == (
            "Amira changed this post after you opened it: read it again before returning it."
        )
        # Unchanged, an empty note is still refused for what it is.
        now = re.search(r'name="version" value="([0-9a-f]{16})"', page)
        assert now
        status, page = await press(
            teacher, school, post, "return", {**form, "version": now[1], "note": ""}
        )
        assert status == 400
        assert flash(page) == "Write a note saying what to change."
        # Only the consent changed: said too, as it decides what leaves.
        amira_now = await school.node.accounts.get("Amira")
        await school.node.accounts.set_consent(
            "Amira", show_name=None, work_photos=not amira_now.work_photos, face_photos=None
        )
        status, page = await press(
            teacher, school, post, "return", {**form, "version": now[1], "note": ""}
        )
        assert flash(page) == (
            "Amira's consent changed after you opened this post: read it again before "
            "approving. Nothing was sent."
        )
        assert (await school.node.projects.post(post)).state == "draft"


async def test_a_post_another_teacher_returned_meanwhile_is_not_approved_unseen(
    school: LiveNode,
) -> None:
    """Mr Jones and Mrs Patel both have the draft open; Mrs Patel returns it with a
    note. Mr Jones's Approve, pressed on the page he opened before, must not send it
    and erase her note: his page is shown again with her note to read."""
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as jones, client(school) as patel:
        await http_sign_in(jones, "Mr Jones")
        await http_sign_in(patel, "Mrs Patel")
        form = await opened(jones, post)
        status, _page = await press(
            patel, school, post, "return", {**await opened(patel, post), "note": "No surname"}
        )
        assert status == 200
        status, page = await press(jones, school, post, "approve", form)
        assert status == 400
        assert flash(page) == (
            "Mrs Patel returned this post to its pupil with a note after you opened it: read "
            "the note before approving. Nothing was sent."
        )
        assert "No surname" in page
        stored = await school.node.projects.post(post)
        assert (stored.state, stored.note) == ("returned", "No surname")
        # Read, with the note: he may still approve it as it is.
        status, page = await press(jones, school, post, "approve", await opened(jones, post))
        assert status == 200
        assert (await school.node.projects.post(post)).state == "approved"


async def test_a_pupil_posting_the_approve_and_return_form_is_refused(school: LiveNode) -> None:
    """Hostile: the pupil's own session, with its valid token and any version, sends
    the one approve-or-return form (either button) for their own draft."""
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        form = {"csrf": await csrf_of(amira, f"/posts/{post}"), "note": "ok", "version": "0" * 16}
        for action in ("approve", "return"):
            status, _page = await press(amira, school, post, action, form)
            assert status == 403, action
    stored = await school.node.projects.post(post)
    assert (stored.state, stored.note, stored.approved_by) == ("draft", None, None)


async def test_a_post_deleted_between_the_page_s_read_and_the_approval_s_says_so(
    school: LiveNode,
) -> None:
    """The pupil deletes the draft just after the approve handler found it, before the
    approval's own read: the page still says it was deleted and nothing was sent, not
    "There is no such post" (the race is made to happen: the handler's read of the post
    is followed at once by the pupil's real delete)."""
    project = await start(school)
    projects = school.node.projects
    read_post = projects.post
    deleting: list[str] = []

    async def then_deleted(post_id: str) -> Post:
        found = await read_post(post_id)
        if post_id in deleting:
            deleting.clear()  # once: the delete reads the post too
            await projects.discard(post_id, "Amira")
        return found

    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        for action in ("approve", "return"):
            post = await draft(school, project)
            form = await opened(teacher, post)
            deleting.append(post)
            projects.post = then_deleted  # type: ignore[method-assign, assignment]
            try:
                status, page = await press(teacher, school, post, action, {**form, "note": "x"})
            finally:
                projects.post = read_post  # type: ignore[method-assign]
            assert status == 404, page
            assert "Amira deleted this post after you opened it: nothing was sent." in (
                html.unescape(page)
            )


async def test_a_removed_pupil_s_draft_deleted_by_a_teacher_meanwhile_does_not_blame_the_pupil(
    school: LiveNode,
) -> None:
    """Amira's account is removed; one teacher presses Approve on her draft while another
    deletes it (the race is made to happen as above). The page says the post was deleted
    after it was opened, as the approval's own write said, not that Amira deleted it: she
    no longer can."""
    project = await start(school)
    projects = school.node.projects
    post = await draft(school, project)
    await school.node.accounts.remove("Amira")
    version = await projects.version(await projects.post(post))
    assert version is not None
    read_post = projects.post
    deleting = [post]

    async def then_deleted(post_id: str) -> Post:
        found = await read_post(post_id)
        if post_id in deleting:
            deleting.clear()  # once: the delete reads the post too
            await projects.discard(post_id, "Mrs Patel")  # staff: the account is gone
        return found

    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        form = {"csrf": await csrf_of(teacher, f"/posts/{post}"), "version": version}
        projects.post = then_deleted  # type: ignore[method-assign, assignment]
        try:
            status, page = await press(teacher, school, post, "approve", form)
        finally:
            projects.post = read_post  # type: ignore[method-assign]
    assert status == 404, page
    text = html.unescape(page)
    assert "This post was deleted after you opened it: nothing was sent." in text
    assert "Amira deleted" not in text


async def test_a_pupil_account_removed_after_the_teacher_opened_the_post_is_said_so(
    school: LiveNode,
) -> None:
    """An administrator removes the pupil's account (the Users page) while a teacher has
    the post open: Approve and Return say that, and what to do, not that it changed."""
    project = await start(school)
    post = await draft(school, project)
    async with client(school) as admin, client(school) as teacher:
        await http_sign_in(admin, "Mrs Patel")
        await http_sign_in(teacher, "Mr Jones")
        form = await opened(teacher, post)
        remove = {"csrf": await csrf_of(admin, "/users/remove?name=Amira"), "name": "Amira"}
        async with admin.post("/users/remove", data=remove) as response:
            assert response.status == 200
            assert "Amira can no longer sign in" in html.unescape(await response.text())
        assert await school.node.accounts.find("Amira") is None

        status, page = await press(teacher, school, post, "approve", form)
        assert status == 400
        assert flash(page) == (
            "Amira's account was removed after you opened this post, so nothing was sent. "
            "If it was removed by mistake, add the account again with the same name and "
            "record the consent, then read the post again."
        )
        status, page = await press(teacher, school, post, "return", {**form, "note": "More"})
        assert status == 400
        assert flash(page).startswith(
            "Amira's account was removed after you opened this post, so it was not returned."
        )
    stored = await school.node.projects.post(post)
    assert (stored.state, stored.approved_by, stored.note) == ("draft", None, None)
