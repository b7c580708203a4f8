"""What a page says when the disk is full or the database damaged: in the visitor's
language, in a teacher's words, what was typed kept (issue 20, Deliver 1)."""

from __future__ import annotations

import html

import aiohttp

from node.clock import now_ms
from tests.faults.disk import fill, make_room
from tests.network import LiveNode
from tests.web.conftest import school  # noqa: F401 (the fixture)
from tests.web.web import client, csrf_of, http_sign_in

BODY = "Nous avons vu un héron au bord de la rivière, puis deux canards. " * 150


async def _write(http: aiohttp.ClientSession, project: str, title: str) -> tuple[int, str]:
    form = {
        "csrf": await csrf_of(http, f"/projects/{project}/write"),
        "title": title,
        "body": BODY,
    }
    async with http.post(f"/projects/{project}/write", data=form) as response:
        return response.status, html.unescape(await response.text())


async def test_a_pupils_post_on_a_full_disk_is_refused_in_her_language_and_saved_once_there_is_room(
    school: LiveNode,  # noqa: F811
) -> None:
    project = await school.node.projects.create("Rivers of Europe", ["rivers"], now_ms())
    await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
    await fill(school.node)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        async with amira.get("/language/fr?next=/") as response:
            assert response.status == 200
        status, page = await _write(amira, str(project.id), "Notre promenade")
        assert status == 400
        assert "Le disque qui contient les données de l'école est plein" in page
        assert "Rien n'a été perdu" in page
        assert "Nous avons vu un héron au bord de la rivière" in page  # what she typed is kept
        assert "OperationalError" not in page
        assert await school.node.projects.posts(project.id, states=("draft",)) == []

        await make_room(school.node)
        status, page = await _write(amira, str(project.id), "Notre promenade")
        assert status == 200
    drafts = await school.node.projects.posts(project.id, states=("draft",))
    assert [d.title for d in drafts] == ["Notre promenade"]


async def test_a_post_into_a_damaged_database_is_refused_in_a_teachers_words(
    school: LiveNode,  # noqa: F811
) -> None:
    project = await school.node.projects.create("Rivers of Europe", ["rivers"], now_ms())
    await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        school.node.store.mark_damaged("the entries table has a damaged page")
        status, page = await _write(amira, str(project.id), "Our river walk")
    assert status == 400
    assert "This school's data is damaged, so nothing more is saved" in page
    assert "schoolmesh check" not in page  # commands are for IT staff, not pupils
    assert await school.node.projects.posts(project.id, states=("draft",)) == []
