"""Names in other capitals on the pages: who wrote a post and whose staff profile it is
are compared as the users table finds an account (``COLLATE NOCASE``: ASCII capitals
only), never with ``==`` nor ``casefold`` (docs/decisions.md, "Small consistency
fixes (2026-12-08)"). A real node serving its pages."""

from __future__ import annotations

from node.clock import now_ms
from node.observations import staff
from tests.network import LiveNode
from tests.web.test_projects import start
from tests.web.web import add_user, client, csrf_of, http_sign_in


async def test_a_pupil_added_again_in_other_capitals_finds_her_draft_on_every_page(
    school: LiveNode,
) -> None:
    """Before, the post page offered her no change or delete, the edit page was not
    found, and neither her project page nor her dashboard listed the draft."""
    project = await start(school)
    post = await school.node.projects.draft(
        project, "Amira", "Our river walk", "A heron.", theme=None, images=[], now=now_ms()
    )
    await school.node.accounts.remove("Amira")
    await add_user(school, "AMIRA", "pupil")
    async with client(school) as pupil:
        await http_sign_in(pupil, "amira")
        async with pupil.get(f"/posts/{post.id}") as response:
            assert response.status == 200
            assert f'href="/posts/{post.id}/edit"' in await response.text()
        async with pupil.get(f"/posts/{post.id}/edit") as response:
            assert response.status == 200
        for page in (f"/projects/{project}", "/"):
            async with pupil.get(page) as response:
                assert f'href="/posts/{post.id}"' in await response.text(), page


async def test_a_teacher_removes_her_own_profile_in_any_capitals_and_no_one_else_s(
    school: LiveNode,
) -> None:
    """'Ms Émile' and 'Ms émile' are two accounts (the table folds ASCII only): before,
    a ``casefold`` comparison let one remove the other's profile."""
    await add_user(school, "Ms Émile", "staff")
    await add_user(school, "Ms émile", "staff")
    for name in ("Ms Émile", "Mr Jones"):
        await school.node.staff.add(
            staff.member(name, strengths=["phonics"], develops=[], subjects=[], phase=None)
        )
    async with client(school) as http:
        await http_sign_in(http, "Ms émile")
        async with http.get("/staff") as response:  # her own profile to fill in, not Ms Émile's
            page = await response.text()
        assert '<input id="strengths" name="strengths" value="">' in page
        token = await csrf_of(http, "/staff")
        async with http.post(
            "/staff/remove", data={"csrf": token, "name": "Ms Émile"}, allow_redirects=False
        ) as response:
            assert response.status == 403
    async with client(school) as http:
        await http_sign_in(http, "mr jones")
        token = await csrf_of(http, "/staff")
        async with http.post("/staff/remove", data={"csrf": token, "name": "MR JONES"}) as r:
            assert r.status == 200
    assert [p.name for p in await school.node.staff.listing()] == ["Ms Émile"]
