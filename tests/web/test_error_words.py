"""Errors raised by node code reach a page in the visitor's language and in page words.

An error's message is for the command line (tests/cli depend on it); its ``page``
words (``said`` in protocol/errors.py) are what a page shows, translated.
"""

from __future__ import annotations

import ast
import html
import io
import re
from pathlib import Path

import aiohttp
from babel.messages.pofile import read_po

from node.clock import now_ms
from node.web import i18n
from protocol.errors import UserInputError, said
from scripts import translations
from tests.network import LiveNode
from tests.web.test_projects import version_of
from tests.web.web import client, csrf_of, http_sign_in

ROOT = Path(__file__).resolve().parents[2]
#: Errors the pages can meet; each must say what a page shows.
SHOWN = {"UserInputError", "NotFoundError", "NotAllowedError", "UnreachableError"}
#: Code no page reaches: command-line only (backup and restore, staff profiles, demo,
#: serving, subject access), feeds (for feed readers, not pages), and require()'s refusal by role (a
#: page of its own).
NOT_FROM_PAGES = {
    "node/backup.py",
    "node/demo.py",
    "node/export/__init__.py",  # `schoolmesh export` only
    "node/export/collect.py",
    "node/export/site.py",
    "node/projects/feeds.py",
    "node/forks.py",  # `schoolmesh recover` only
    "node/net/server.py",
    "node/observations/staff.py",
    "node/accounts/subject_access.py",
    "node/web/app.py",
    "node/web/kit.py",  # require()'s refusal by role
}
#: What a teacher in a browser would not understand: commands, options, backticks.
COMMAND_WORDS = re.compile(r"`|--[a-z]|\bschoolmesh [a-z]+ [a-z]")
FLASH = re.compile(r'<p class="flash error"[^>]*>(.*?)</p>', re.S)
MESSAGE = re.compile(r"<main[^>]*>.*?<p>(.*?)</p>", re.S)


def _sources() -> list[tuple[str, ast.Module]]:
    files = sorted([*(ROOT / "node").rglob("*.py"), *(ROOT / "protocol").rglob("*.py")])
    return [(str(f.relative_to(ROOT)), ast.parse(f.read_text())) for f in files]


def _said_calls() -> list[tuple[str, ast.Call]]:
    return [
        (name, call)
        for name, tree in _sources()
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "said"
    ]


def test_every_error_a_page_can_meet_has_page_words() -> None:
    missing = []
    for name, tree in _sources():
        if name in NOT_FROM_PAGES:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in SHOWN and not any(k.arg == "page" for k in node.exc.keywords):
                missing.append(f"{name}:{node.lineno}: {called}")
    assert missing == [], "give these page=said(...) (docs/translating.md)"


def test_every_page_message_is_extracted_and_translated() -> None:
    """said("...") is a gettext keyword: its text is in every catalogue, translated."""
    source = translations.source_catalog()
    with (ROOT / "node/web/locale/fr/LC_MESSAGES/messages.po").open("rb") as po:
        french = read_po(po, locale="fr")
    calls = _said_calls()
    assert len(calls) > 100
    for name, call in calls:
        where = f"{name}:{call.lineno}"
        text = call.args[0]
        assert isinstance(text, ast.Constant), where  # a literal, so it can be extracted
        assert isinstance(text.value, str), where
        assert text.value in source, where
        translated = french.get(text.value)
        assert translated is not None, where
        assert translated.string, where
        assert not COMMAND_WORDS.search(text.value), where
        wanted = {k.arg for k in call.keywords}
        assert set(re.findall(r"%\((\w+)\)s", text.value)) == wanted, where


def test_page_words_are_translated_and_numbers_written_as_the_language_writes_them() -> None:
    words = said(
        "The password must be at least %(min)s characters: a few words with spaces between "
        "them are easy to remember.",
        min=12_000,
    )
    assert i18n.page_words("en", words).startswith("The password must be at least 12,000 ")
    assert i18n.page_words("fr", words).startswith(
        "Le mot de passe doit compter au moins 12\u202f000 caractères"
    )
    error = UserInputError("the password must be at least 12 characters", page=words)
    assert str(error) == "the password must be at least 12 characters"  # the CLI's words


async def _french(http: aiohttp.ClientSession) -> None:
    """Choose French with the switch at the foot of every page."""
    async with http.get("/language/fr?next=/") as response:
        assert response.status == 200


async def _approve_twice(school: LiveNode, http: aiohttp.ClientSession) -> str:
    """Approve a draft twice (two teachers at once): node code refuses the second."""
    project = await school.node.projects.create("Rivers of Europe", ["rivers"], now_ms())
    await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
    post = await school.node.projects.draft(
        project.id, "Amira", "Our river walk", "We saw a heron.", theme=None, images=[], now=0
    )
    here = f"/posts/{post.id}"
    answers = []
    for _ in range(2):
        data = {"csrf": await csrf_of(http, here), "version": await version_of(http, here)}
        headers = {"Referer": f"{school.address}{here}"}
        async with http.post(f"{here}/approve", data=data, headers=headers) as response:
            page = await response.text()
            answers.append((response.status, response.url.path))
    # Approved, then the post's page again in place (400), saying why not.
    assert answers == [(200, here), (400, f"{here}/approve")]
    assert '<h1 id="post-title">Our river walk</h1>' in page
    found = FLASH.search(page)
    assert found, "no error on the post's page"
    return html.unescape(found[1])


async def test_a_form_refused_by_node_code_speaks_the_visitors_language(school: LiveNode) -> None:
    async with client(school) as english, client(school) as french:
        await http_sign_in(english, "Mr Jones")
        await http_sign_in(french, "Mrs Patel")
        await _french(french)
        said_in_english = await _approve_twice(school, english)
        said_in_french = await _approve_twice(school, french)
    assert said_in_english == (
        "This post is not waiting for approval any more: nothing was changed."
    )
    assert said_in_french == "Cet article n'attend plus d'approbation : rien n'a été modifié."
    for text in (said_in_english, said_in_french):
        assert not COMMAND_WORDS.search(text)


async def test_a_photo_node_code_cannot_use_is_said_to_the_pupil_in_french(
    school: LiveNode,
) -> None:
    project = await school.node.projects.create("Rivers of Europe", ["rivers"], now_ms())
    await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        await _french(amira)
        form = aiohttp.FormData()
        form.add_field("csrf", await csrf_of(amira, f"/projects/{project.id}/write"))
        form.add_field("title", "Notre promenade")
        form.add_field("body", "Un héron !")
        form.add_field("photos", io.BytesIO(b"not a photo"), filename="notes.txt")
        async with amira.post(f"/projects/{project.id}/write", data=form) as response:
            assert response.status == 400
            page = html.unescape(await response.text())
    expected = (
        "Le fichier notes.txt ne peut pas être lu comme une photo : choisis un fichier JPEG ou PNG."
    )
    assert expected in page
    assert "cannot be read as a photo" not in page
    assert await school.node.projects.posts(project.id, states=("draft",)) == []


async def test_not_found_is_said_in_french(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        await _french(http)
        async with http.get("/users/remove?name=Nobody") as response:
            assert response.status == 404
            page = html.unescape(await response.text())
    found = MESSAGE.search(page)
    assert found
    assert found[1] == "Il n'y a pas de compte à ce nom."


#: French "vous" and its forms, as whole words.
VOUS = re.compile(r"\b(vous|votre|vos)\b", re.I)


async def _main_of(http: aiohttp.ClientSession, path: str) -> str:
    """The text of a refused page's main part (not its menu or footer)."""
    async with http.get(path) as response:
        assert response.status == 403, path
        page = html.unescape(await response.text())
    return " ".join(page.split("<main", 1)[1].split("</main>", 1)[0].split())


async def test_a_pupil_refused_a_page_is_spoken_to_as_tu_in_french(school: LiveNode) -> None:
    """Pupils' pages say "tu" (docs/translating.md): the refusal a pupil meets too. Its
    title is shared with staff, so it says neither (« Pas pour ce compte »)."""
    async with client(school) as pupil, client(school) as teacher:
        await http_sign_in(pupil, "Amira")
        await _french(pupil)
        refused = await _main_of(pupil, "/partners")
        assert "Si tu en as besoin, demande à un enseignant" in refused
        assert not VOUS.search(refused), refused
        # Staff refused an administrators' page are still "vous".
        await http_sign_in(teacher, "Mr Jones")
        await _french(teacher)
        assert VOUS.search(await _main_of(teacher, "/users"))
