"""Choosing a project's pupils on its page: the others do not even learn it exists."""

from __future__ import annotations

import aiohttp

from node.clock import now_ms
from tests.network import LiveNode
from tests.web.web import add_user, client, csrf_of, http_sign_in


async def save_pupils(
    http: aiohttp.ClientSession, project: str, fields: list[tuple[str, str]], *, status: int = 200
) -> str:
    """Send the pupils form as a teacher would; return the page it leads to (the
    project's page: after saving, or shown again with a refusal, status 400)."""
    page = f"/projects/{project}"
    data = [("csrf", await csrf_of(http, page)), *fields]
    async with http.post(f"{page}/pupils", data=data, headers={"Referer": page}) as response:
        assert response.status == status
        return await response.text()


async def test_staff_choose_the_pupils_and_only_they_reach_the_project(
    school: LiveNode,
) -> None:
    await add_user(school, "Ben", "pupil", klass="6A")
    project = await school.node.projects.create("Rivers of Europe", [], now_ms())
    post = await school.node.projects.draft(project.id, "Mr Jones", "Welcome", "Hello",
                                            theme=None, images=[], now=now_ms())  # fmt: skip
    await school.node.projects.approve(post.id, "Mr Jones", now_ms())
    places = (f"/projects/{project.id}", f"/projects/{project.id}/write", f"/posts/{post.id}")
    async with client(school) as teacher, client(school) as amira, client(school) as ben:
        await http_sign_in(teacher, "Mr Jones")
        await http_sign_in(amira, "Amira")
        await http_sign_in(ben, "Ben")
        async with teacher.get(places[0]) as page:
            text = await page.text()
            assert "Our pupils in the project" in text
            assert "Class 5B" in text
            assert "Class 6A" in text

        for pupil in (amira, ben):  # no one chosen yet
            for place in places:
                async with pupil.get(place) as response:
                    assert response.status == 404, place
            async with pupil.get("/projects") as page:
                assert "Rivers of Europe" not in await page.text()

        text = await save_pupils(teacher, project.id, [("class", "5B"), ("pupil", "Ben")])
        assert "Only the pupils ticked can see this project." in text
        roster = await school.node.projects.rosters.of(project.id)
        assert (roster.classes, roster.pupils) == (("5B",), ("Ben",))
        for pupil in (amira, ben):
            for place in places:
                async with pupil.get(place) as response:
                    assert response.status == 200, place
            async with pupil.get("/") as page:
                assert "Rivers of Europe" in await page.text()

        # Nothing ticked: every pupil is out again. A pupil cannot change it.
        text = await save_pupils(teacher, project.id, [])
        assert "None of our pupils can see this project now." in text
        async with amira.get(places[0]) as response:
            assert response.status == 404
        async with amira.post(
            f"/projects/{project.id}/pupils",
            data={"csrf": await csrf_of(amira, "/"), "class": "5B"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403
        assert (await school.node.projects.rosters.of(project.id)).classes == ()


async def test_a_class_that_does_not_exist_is_refused(school: LiveNode) -> None:
    project = await school.node.projects.create("Rivers of Europe", [], now_ms())
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        text = await save_pupils(teacher, project.id, [("class", "9Z")], status=400)
    assert "9Z" in text
    assert (await school.node.projects.rosters.of(project.id)).classes == ()


async def test_a_pupil_outside_a_project_is_told_so_and_shown_the_way_to_theirs(
    school: LiveNode,
) -> None:
    """Not a bare 404: a page saying the project is not one of theirs, linking to their
    projects, in their language (French pupils are `tu`), and the same page for a
    project that does not exist, so that it says nothing about which projects do."""
    project = await school.node.projects.create("Rivers of Europe", [], now_ms())
    missing = "0" * 32
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        pages = {}
        for language in ("en", "fr"):
            for place in (project.id, missing, f"{project.id}/write", f"{missing}/write"):
                async with amira.get(
                    f"/projects/{place}", headers={"Accept-Language": language}
                ) as response:
                    assert response.status == 404, place
                    text = await response.text()
                pages[language, place] = text.replace(project.id, "ID").replace(missing, "ID")
    for language in ("en", "fr"):
        for then in ("", "/write"):
            assert pages[language, f"{project.id}{then}"] == pages[language, f"{missing}{then}"]
    english, french = pages["en", missing], pages["fr", missing]
    assert "This project is not one of yours" in english
    assert '<a href="/projects">See your projects</a>' in english
    assert "Rivers of Europe" not in english
    assert "Ce projet ne fait pas partie des tiens" in french
    assert '<a href="/projects">Voir tes projets</a>' in french
