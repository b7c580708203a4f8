"""Every page a teacher, an admin or a pupil opens is built to be usable by everyone:
one h1, headings that do not skip a level, a label for every form control, a
language on the page, and no script at all."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from node.clock import now_ms
from tests.network import LiveNode
from tests.web.web import client, csrf_of, http_sign_in

STAFF_PAGES = (
    "/",
    "/offers",
    "/offers/new",
    "/matches",
    "/interests",
    "/staff",
    "/events",
    "/events/new",
    "/observations",
    "/observations/new",
    "/projects",
    "/projects/consent",
    "/partners",
    "/profile",
    "/status",
    "/calendar",
)
ADMIN_PAGES = (
    "/users",
    "/profile",
    "/partners",
    "/partners/invite",
    "/users/password",
    "/users/password/confirm?name=Amira",
)
PUPIL_PAGES = ("/", "/projects")


class PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.controls: list[tuple[str, dict[str, str | None]]] = []
        self.labelled: set[str] = set()
        self.label_depth = 0
        self.wrapped = 0  # controls inside a <label>
        self.scripts = 0
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.headings.append(int(tag[1]))
        if tag == "script":
            self.scripts += 1
        if tag == "label":
            self.label_depth += 1
            if found.get("for"):
                self.labelled.add(str(found["for"]))
        if tag in ("input", "select", "textarea"):
            if found.get("type") in ("hidden", "submit", "button"):
                return
            if self.label_depth:
                self.wrapped += 1
                return
            self.controls.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1

    def problems(self) -> list[str]:
        found = []
        if not self.lang:
            found.append("no lang on <html>")
        if self.headings.count(1) != 1:
            found.append(f"{self.headings.count(1)} h1 headings")
        for before, after in zip(self.headings, self.headings[1:], strict=False):
            if after > before + 1:
                found.append(f"heading h{before} followed by h{after}")
        for tag, attrs in self.controls:
            if attrs.get("id") not in self.labelled and not attrs.get("aria-label"):
                found.append(f"<{tag} name={attrs.get('name')!r}> has no label")
        if self.scripts:
            found.append("a <script>")
        return found


async def audit(school: LiveNode, name: str, pages: tuple[str, ...]) -> dict[str, list[str]]:
    report = {}
    async with client(school) as http:
        await http_sign_in(http, name)
        for path in pages:
            async with http.get(path) as response:
                assert response.status == 200, path
                parser = PageAudit()
                parser.feed(await response.text())
            report[path] = parser.problems()
    return report


@pytest.mark.parametrize(
    ("name", "pages"),
    [("Mr Jones", STAFF_PAGES), ("Mrs Patel", ADMIN_PAGES), ("Amira", PUPIL_PAGES)],
)
async def test_pages_have_labels_headings_and_no_scripts(
    school: LiveNode, name: str, pages: tuple[str, ...]
) -> None:
    report = await audit(school, name, pages)
    assert {path: found for path, found in report.items() if found} == {}


def test_the_audit_finds_an_unlabelled_field() -> None:
    parser = PageAudit()
    parser.feed(
        '<html lang="en"><h1>A</h1><h3>B</h3><input name="q">'
        '<label for="x">X</label><input id="x" name="x"><script></script></html>'
    )
    assert parser.problems() == [
        "heading h1 followed by h3",
        "<input name='q'> has no label",
        "a <script>",
    ]


async def test_project_pages_pass_the_audit_for_staff_and_pupils(school: LiveNode) -> None:
    """A project's own pages (blog, pupils' choice, writing, one post) are audited too."""
    projects = school.node.projects
    project = await projects.create("Rivers of Europe", ["Rivers"], now_ms())
    await projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=now_ms())
    post = await projects.draft(project.id, "Amira", "Herons", "We saw *two*.", theme="Rivers",
                                images=[], now=now_ms())  # fmt: skip
    await projects.approve(post.id, "Mr Jones", now_ms())
    pages = (f"/projects/{project.id}", f"/projects/{project.id}/write", f"/posts/{post.id}")
    for name in ("Mr Jones", "Amira"):
        report = await audit(school, name, pages)
        assert {path: found for path, found in report.items() if found} == {}, name


async def test_a_refused_profile_lists_what_to_fix_at_the_top(school: LiveNode) -> None:
    """As the other forms do: a summary first (an alert), each problem a link to its
    field, the field marked invalid and described by its problem; the page passes."""
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        token = await csrf_of(http, "/profile")
        form = {"csrf": token, "name": "", "country": "England", "url": "www dot school"}
        async with http.post("/profile", data=form) as response:
            assert response.status == 400
            page = await response.text()
    summary = page.index('role="alert"')
    assert summary < page.index('<form method="post" action="/profile"')
    for name in ("name", "country", "url"):
        assert f'href="#{name}"' in page[summary:], name
        field = re.search(rf'<input id="{name}"[^>]*>', page)
        assert field, name
        assert 'aria-invalid="true"' in field[0], name
        assert f"{name}-error" in field[0], name
    parser = PageAudit()
    parser.feed(page)
    assert parser.problems() == []
