"""`schoolmesh export`: two partner schools with a shared project, exported from one.

Real nodes on loopback ports; the export is read from its own connection (as the
command line does) while the school's node runs. The pages are checked with a
strict parser (balanced, escaped, every link and image a file in the folder) and
opened from file:// in a real browser.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from node.clock import now_ms
from node.export import MANIFEST, _cannot_write, export, one_read
from node.node import Node
from node.observations import staff
from node.offers import service as offers
from node.partners.peerbook import PeerBook
from protocol.errors import AlreadyInitialisedError, StorageError, UserInputError
from tests.damage import damage_entries_page, make_node
from tests.helpers import key, run_cli
from tests.network import LiveNode, introduced, partner, wait_for
from tests.node.test_projects import photo
from tests.web.web import browser

PASSWORD = "correct horse battery"
#: A pupil's post: accents, two paragraphs, and text that must stay text.
POST_TITLE = "Notre fleuve <la Loire> & nous"
POST_BODY = (
    "Amélie et Zoë ont marché le long de la Loire.\n\n"
    "Le deuxième jour : <script>alert('x')</script> <b>pas gras</b> & fin."
)
PARTNER_TITLE = "Our river: the Thames 🌊"
PARTNER_BODY = "First paragraph about the Thames.\n\nSecond paragraph, with **bold** words."
COMMENT = "Très beau ! <img src=x onerror=alert(1)> Ça me plaît."
#: Words of what an export must leave out (each in exactly one place of the scene).
LEFT_OUT = {
    "draft": "Brouillon jamais approuvé",
    "returned": "Article renvoyé à l'élève",
    "taken_down": "Article retiré du blog",
    "draft_comment": "Commentaire en attente",
    "private_observation": "Observation privée de Mme Durand",
    "partner_observation": "Oakfield's own observation",
}
BLOCKED = key(77)


@dataclass
class Scene:
    lycee: LiveNode
    oak: LiveNode
    project: str
    own_post: str
    partner_post: str
    comment: str
    withdrawn_offer: str
    jpeg: bytes
    second_post: str  # Lycée's other post: the same photo, and one held back (faces)
    held_back: bytes  # the hash of the photo held back


@pytest.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """Lycée (FR) starts a project with its partner Oakfield (GB): one post each, a
    photo on Lycée's, a comment from Oakfield's pupil on it; Lycée has a withdrawn
    offer, a request and a cancelled event; and all an export must leave out (LEFT_OUT,
    a photo held back for lack of consent, a blocked school)."""
    lycee = await LiveNode.start(tmp_path / "lycee", "Lycée Jean Moulin", country="FR")
    oak = await LiveNode.start(tmp_path / "oak", "Oakfield Primary", country="GB")
    try:
        await partner(lycee, oak)
        await introduced([lycee, oak])
        now = now_ms()
        for live, teacher, pupil in (
            (lycee, "Mme Durand", "Amélie Rose"),
            (oak, "Mr Jones", "Tom"),
        ):
            await live.node.accounts.add(teacher, "staff", PASSWORD, klass=None, now=now)
            await live.node.accounts.add(pupil, "pupil", PASSWORD, klass="5B", now=now)
            await live.node.accounts.set_consent(
                pupil, show_name="full", work_photos=True, face_photos=None
            )
        projects = lycee.node.projects
        project = (await projects.create("Rivières d'Europe", ["rivers"], now_ms())).id
        await projects.rosters.replace(project, classes=["5B"], pupils=[], now=now_ms())
        await projects.invite(project, oak.node.node_id, now_ms())

        async def invited() -> bool:
            return any(p.id == project for p in await oak.node.projects.all())

        await wait_for(invited, what="Oakfield to get the invitation")
        await oak.node.projects.join(project, now_ms())
        await oak.node.projects.rosters.replace(project, classes=["5B"], pupils=[], now=now_ms())

        async def joined() -> bool:
            got = await projects.get(project)
            return got.members.get(oak.node.node_id) == "member"

        await wait_for(joined, what="Oakfield to join")
        draft = await projects.draft(
            project,
            "Amélie Rose",
            POST_TITLE,
            POST_BODY,
            theme="rivers",
            images=[("loire.jpg", photo(), False)],
            now=now_ms(),
        )
        await projects.approve(draft.id, "Mme Durand", now_ms())
        theirs = await oak.node.projects.draft(
            project, "Tom", PARTNER_TITLE, PARTNER_BODY, theme=None, images=[], now=now_ms()
        )
        await oak.node.projects.approve(theirs.id, "Mr Jones", now_ms())

        async def posted_at_oak() -> bool:
            return any(p.id == draft.id for p in await oak.node.projects.posts(project))

        await wait_for(posted_at_oak, what="Lycée's post at Oakfield")
        comment = await oak.node.projects.comment(draft.id, "Tom", COMMENT, now_ms())
        await oak.node.projects.approve(comment.id, "Mr Jones", now_ms())

        async def arrived() -> bool:
            posts = {p.id for p in await projects.posts(project)}
            return theirs.id in posts and bool(await projects.comments(draft.id))

        await wait_for(arrived, what="Oakfield's post and comment at Lycée")
        old = await lycee.node.offers.post(
            "offer", offers.content_of(activity="visit", title="Visite <ancienne>")
        )
        await lycee.node.offers.withdraw("offer", str(old.id), "pourvue")
        request = await lycee.node.offers.post(
            "request", offers.content_of(activity="mentoring", title="Mentorat")
        )
        await wait_for(lambda: oak.holds(request.id), what="the request at Oakfield")
        sent = await oak.node.interests.send(
            str(request.id), "Nous pouvons aider.", by="Mr Jones", now=now_ms()
        )

        async def interest_arrived() -> bool:
            return bool(await lycee.node.interests.all())

        await wait_for(interest_arrived, what="the interest at Lycée")
        await lycee.node.interests.accept(sent.id, by="Mme Durand", now=now_ms())
        await lycee.node.staff.add(
            staff.member(
                "Mme Durand", strengths=["oracy"], develops=["questioning"], subjects=[], phase=None
            ),
        )
        await lycee.node.observations.add(
            observer="M. Petit",
            observed="Mme Durand",
            focus="questioning",
            priority=None,
            day=date(2027, 1, 20),
            strengths=["Écoute attentive"],
            actions=["Essayer <le silence>"],
            follow_up=None,
            shared=True,  # Mme Durand shares it: the school may archive it
        )
        event = await lycee.node.events.create(
            {
                "title": "Réunion des professeurs",
                "start": "2027-03-04T16:00+01:00",
                "end": "2027-03-04T18:00+01:00",
                "tz": "Europe/Paris",
                "audience": "public",
            },
        )
        await lycee.node.events.withdraw(str(event.id), "neige")
        jpeg = await projects.image(draft.id, (await projects.post(draft.id)).images[0][0])
        assert jpeg is not None
        # The same photo in a second post, with one that shows faces (held back: Amélie's
        # consent says nothing of face photos).
        second = await projects.draft(
            project,
            "Amélie Rose",
            "La Loire, encore",
            "La même photo.",
            theme=None,
            images=[("loire.jpg", photo(), False), ("faces.jpg", photo(colour=(0, 0, 200)), True)],
            now=now_ms(),
        )
        await projects.approve(second.id, "Mme Durand", now_ms())
        (held,) = [h for h, _faces, is_held in (await projects.post(second.id)).images if is_held]
        # Never published: a draft, a returned post, a post taken down, a draft comment.
        await projects.draft(
            project, "Amélie Rose", LEFT_OUT["draft"], "…", theme=None, images=[], now=now_ms()
        )
        returned = await projects.draft(
            project, "Amélie Rose", LEFT_OUT["returned"], "…", theme=None, images=[], now=now_ms()
        )
        await projects.return_(returned.id, "Mme Durand", "Ajoute une conclusion.")
        gone = await projects.draft(
            project, "Amélie Rose", LEFT_OUT["taken_down"], "…", theme=None, images=[], now=now_ms()
        )
        await projects.approve(gone.id, "Mme Durand", now_ms())
        await projects.takedown(gone.id, now_ms(), reason="erreur")
        await projects.comment(draft.id, "Amélie Rose", LEFT_OUT["draft_comment"], now_ms())
        # Observations: Mme Durand's private one, and Oakfield's copy of its own.
        await lycee.node.observations.add(
            observer="M. Petit",
            observed="Mme Durand",
            focus="questioning",
            priority=None,
            day=date(2027, 1, 21),
            strengths=[LEFT_OUT["private_observation"]],
            actions=["Rien"],
            follow_up=None,
        )
        theirs_seen = await oak.node.observations.add(
            observer="Mme Durand",
            observed="Mr Jones",
            focus="behaviour",
            priority="Calm corridors",
            day=date(2027, 1, 22),
            strengths=[LEFT_OUT["partner_observation"]],
            actions=["More praise"],
            follow_up=None,
        )
        await oak.node.observations.share(theirs_seen.id, True, to=lycee.node.node_id)

        async def copy_arrived() -> bool:
            return any(o.origin for o in await lycee.node.observations.listing())

        await wait_for(copy_arrived, what="Oakfield's observation at Lycée")
        # A school Lycée partnered with, then blocked.
        book = PeerBook(lycee.node.store)
        await book.add(BLOCKED.node_id, None, now_ms())
        await book.block(BLOCKED.node_id, lycee.node.node_id, now_ms())
        yield Scene(
            lycee,
            oak,
            project,
            draft.id,
            theirs.id,
            comment.id,
            str(old.id),
            jpeg,
            second.id,
            held,
        )
    finally:
        await oak.stop()
        await lycee.stop()


async def export_from(
    live: LiveNode, out: Path, *, force: bool = False, language: str | None = None
) -> dict[str, Any]:
    """Export from a connection of its own, as the command does, the node running."""
    async with await Node.open(live.node.data.path) as node:
        return (await export(node, out, force=force, language=language)).as_json()


def read(folder: Path, name: str) -> Any:
    return json.loads((folder / "data" / name).read_text(encoding="utf-8"))


async def test_the_export_holds_the_schools_data_and_its_project_blog(
    scene: Scene, tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    summary = await export_from(scene.lycee, out)
    assert summary["path"] == str(out)
    counts = summary["counts"]
    assert counts["posts"] == 3
    assert counts["partner_posts"] == 1
    assert counts["comments"] == 1
    assert counts["photos"] == 1  # one file, in two posts
    assert counts["withdrawn"] == 1
    assert counts["requests"] == 1
    assert counts["cancelled_events"] == 1
    assert (counts["partners"], counts["blocked"]) == (1, 1)
    assert (counts["interests"], counts["staff"], counts["observations"]) == (1, 1, 1)

    # JSON: the withdrawn offer marked, the cancelled event, the partner.
    listed = read(out, "offers.json")
    assert isinstance(listed, list)
    gone = [o for o in listed if o["withdrawn"]]
    assert [(o["id"], o["title"], o["reason"]) for o in gone] == [
        (scene.withdrawn_offer, "Visite <ancienne>", "pourvue")
    ]
    assert [o["title"] for o in listed if not o["withdrawn"]] == ["Mentorat"]
    held_events = read(out, "events.json")
    assert isinstance(held_events, list)
    assert [(e["status"], e["reason"]) for e in held_events] == [("cancelled", "neige")]
    partners = read(out, "partners.json")
    assert isinstance(partners, list)
    assert [(p["school"], p["state"]) for p in partners] == [
        ("Oakfield Primary", "partner"),
        ("", "blocked"),
    ]
    (interest,) = read(out, "interests.json")
    assert (interest["state"], interest["message"]) == ("accepted", "Nous pouvons aider.")
    assert interest["arrangement"]["title"] == "Mentorat"
    assert [s["name"] for s in read(out, "staff.json")] == ["Mme Durand"]
    (seen,) = read(out, "observations.json")  # not the private one, nor Oakfield's copy
    assert (seen["actions"], seen["shared"]) == (["Essayer <le silence>"], True)
    school = read(out, "school.json")
    assert isinstance(school, dict)
    assert school["name"] == "Lycée Jean Moulin"
    assert school["tz"] is None  # none set on /profile: the country's

    # The project: both posts, exact text, the partner's marked, the comment, the photo.
    projects = read(out, "projects.json")
    assert isinstance(projects, list)
    (project,) = projects
    assert project["title"] == "Rivières d'Europe"
    posts = {p["id"]: p for p in project["posts"]}
    ours, theirs = posts[scene.own_post], posts[scene.partner_post]
    assert (ours["title"], ours["text"], ours["author"]) == (POST_TITLE, POST_BODY, "Amélie Rose")
    assert ours["from_partner_school"] is False
    assert (theirs["title"], theirs["text"], theirs["author"]) == (
        PARTNER_TITLE,
        PARTNER_BODY,
        "Tom",
    )
    assert theirs["from_partner_school"] is True
    assert theirs["school"] == "Oakfield Primary"
    (comment,) = ours["comments"]
    assert (comment["id"], comment["text"], comment["author"]) == (scene.comment, COMMENT, "Tom")
    assert comment["from_partner_school"] is True
    (photo_path,) = ours["photos"]
    assert (out / photo_path).read_bytes() == scene.jpeg
    second = posts[scene.second_post]
    assert second["photos"] == [photo_path]  # the same photo: one file for both posts
    assert second["photos_held_back"] == 1
    assert not list(out.rglob(f"{scene.held_back.hex()}*"))
    for listed_post in posts.values():
        assert (out / listed_post["page"]).is_file()

    # Private like the data folder: folders 0700, files 0600; nothing left beside it.
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    assert sorted(os.listdir(tmp_path)) == ["archive", "lycee", "oak"]

    # The pages: valid, escaped, every link a file of the export.
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == counts["pages"] == 1 + 1 + 3
    for page in pages:
        audit = PageAudit(page, out)
        audit.feed(page.read_text(encoding="utf-8"))
        audit.close()
        assert audit.problems == [], page
        assert audit.texts, page
    blog = (out / ours["page"]).parent / "index.html"
    text = blog.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &lt;b&gt;pas gras&lt;/b&gt; &amp; fin." in text
    assert "Notre fleuve &lt;la Loire&gt; &amp; nous" in text
    assert "d'une école partenaire" in text  # the Lycée's pages are in French
    post_page = (out / ours["page"]).read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in post_page
    assert "Lycée Jean Moulin" in (out / "index.html").read_text(encoding="utf-8")
    front = " ".join(PageAudit.texts_of(out / "index.html", out))
    assert "Établissements partenaires (1)" in front  # the blocked school is not counted
    assert "les articles et commentaires des écoles partenaires" in front  # theirs, said so
    body_texts = " ".join(PageAudit.texts_of(out / ours["page"], out))
    assert "Amélie et Zoë ont marché le long de la Loire." in body_texts
    assert "Exporté de Lycée Jean Moulin" in body_texts
    assert '<html lang="fr">' in post_page

    # What is not the school's to archive, or not published, is in no file.
    everything = "\n".join(
        " ".join(PageAudit.texts_of(f, out)) if f.suffix == ".html" else f.read_text("utf-8")
        for f in out.rglob("*")
        if f.suffix in (".html", ".json")
    )
    for what, words in LEFT_OUT.items():
        assert words not in everything, what
    assert "Calm corridors" not in everything  # the partner's observation, by its priority


async def test_an_export_reads_one_snapshot_while_the_node_writes(scene: Scene) -> None:
    """Every read of an export sees the database as at its first, whatever the running
    node commits meanwhile; the next read after it sees the new entry."""
    count = "SELECT count(*) FROM entries"
    async with await Node.open(scene.lycee.node.data.path) as node:
        async with one_read(node.store):
            (before,) = await node.store.fetch_one(count)
            await scene.lycee.node.offers.post(
                "offer", offers.content_of(activity="visit", title="Pendant")
            )
            assert await node.store.fetch_one(count) == (before,)
            assert all(
                o.entry.content["title"] != "Pendant"
                for o in await node.offers.listing("offer")
                if o.entry.content
            )
        assert await node.store.fetch_one(count) == (before + 1,)


async def test_a_checkpoint_a_reader_holds_up_is_tried_again_after_a_later_commit(
    tmp_path: Path,
) -> None:
    """A reader of an older snapshot (an export in another process) keeps the log from
    being emptied: the checkpoint says so, stays due, and is done at the next commit
    once the reader has gone, so erased content does not stay in the -wal file."""
    school = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        store = school.store
        wal = store.path.with_name(store.path.name + "-wal")
        async with await Node.open(tmp_path / "oak") as reader, one_read(reader.store):
            await reader.store.fetch_one("SELECT count(*) FROM entries")  # the snapshot
            await school.offers.post("offer", offers.content_of(activity="visit", title="A"))
            assert await store.checkpoint() is False
            assert store.needs_checkpoint
            assert wal.stat().st_size > 0
            # While the reader stays, a commit tries again and it stays due.
            await school.offers.post("offer", offers.content_of(activity="visit", title="B"))
            assert store.needs_checkpoint
        await school.offers.post("offer", offers.content_of(activity="visit", title="C"))
        assert not store.needs_checkpoint
        assert wal.stat().st_size == 0
        assert await store.checkpoint() is True
    finally:
        await school.close()


@pytest.mark.parametrize(
    ("number", "said"),
    [
        (errno.ENOSPC, "Free some space"),
        (errno.EACCES, "You may not write in /srv/out:"),
        (errno.EPERM, "You may not write in /srv/out:"),
        (errno.EEXIST, "no other export runs there"),
        (errno.EIO, "Check the disk"),
    ],
)
def test_a_failed_write_is_worded_by_what_went_wrong(number: int, said: str) -> None:
    error = OSError(number, os.strerror(number), "/srv/out/.archive.export-x1/data/x.json")
    text = _cannot_write(error, Path("/srv/out/archive"))
    assert text.startswith("cannot write the export in /srv/out (")
    assert said in text
    assert ("Free some space" in text) == (number == errno.ENOSPC)


async def test_an_export_refuses_a_folder_in_use_and_replaces_only_an_earlier_export(
    scene: Scene, tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    out.mkdir()  # an empty folder is fine
    await export_from(scene.lycee, out)
    with pytest.raises(AlreadyInitialisedError, match="--force"):
        await export_from(scene.lycee, out)
    (out / "stale.html").write_text("from the earlier export")
    await export_from(scene.lycee, out, force=True)
    assert (out / MANIFEST).is_file()
    assert not (out / "stale.html").exists()  # the earlier export went as a whole
    assert sorted(os.listdir(tmp_path)) == ["archive", "lycee", "oak"]

    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "letter.txt").write_text("keep me")
    with pytest.raises(AlreadyInitialisedError, match="no schoolmesh export"):
        await export_from(scene.lycee, documents, force=True)
    assert (documents / "letter.txt").read_text() == "keep me"
    with pytest.raises(UserInputError, match="is a file"):
        await export_from(scene.lycee, documents / "letter.txt")
    with pytest.raises(UserInputError, match="no pages in the language 'de'"):
        await export_from(scene.lycee, tmp_path / "german", language="de")
    with pytest.raises(UserInputError, match="does not exist"):
        await export_from(scene.lycee, tmp_path / "nowhere" / "archive")


async def test_a_damaged_database_is_said_and_leaves_no_half_export(tmp_path: Path) -> None:
    damage_entries_page(await make_node(tmp_path / "oak"))
    async with await Node.open(tmp_path / "oak") as node:
        with pytest.raises(StorageError, match="is damaged"):
            await export(node, tmp_path / "archive")
    assert sorted(os.listdir(tmp_path)) == ["oak"]


async def test_the_export_command_prints_its_summary(scene: Scene, tmp_path: Path) -> None:
    out = tmp_path / "by-command"
    data = str(scene.lycee.node.data.path)
    done = run_cli("export", "--data", data, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["path"] == str(out)
    assert summary["counts"]["posts"] == 3
    again = run_cli("export", "--data", data, "--out", str(out))
    assert again.returncode != 0
    assert "already holds files" in again.stderr
    assert "Traceback" not in again.stderr
    said = run_cli("export", "--data", data, "--out", str(tmp_path / "said"))
    assert said.returncode == 0, said.stderr
    assert "1 partner schools and 1 blocked ones." in said.stdout


async def test_the_archive_opens_in_a_browser_from_the_file_system(
    scene: Scene, tmp_path: Path
) -> None:
    out = tmp_path / "archive"
    await export_from(scene.lycee, out, language="en")
    async with browser() as chromium:
        context = await chromium.new_context()
        page = await context.new_page()
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto((out / "index.html").as_uri())
        await page.get_by_role("link", name="Rivières d'Europe").click()
        await page.wait_for_load_state()
        assert await page.locator("h1").inner_text() == "Rivières d'Europe"
        image = page.locator(".photos img").first
        await image.wait_for()
        width = await image.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 0  # the photo beside the page loaded
        await page.get_by_role("link", name=POST_TITLE).first.click()
        await page.wait_for_load_state()
        assert await page.locator("p.comment").inner_text() == COMMENT
        assert await page.get_by_text("from a partner school").count() == 1  # the comment
        assert await page.locator("script").count() == 0
        await context.close()
    assert errors == []
    assert asked
    assert all(url.startswith("file://") for url in asked), asked


#: Elements with no end tag (HTML's void elements).
VOID = {"meta", "img", "br", "hr", "input", "link"}


class PageAudit(HTMLParser):
    """A strict reading of one page: balanced tags, one <h1>, no script, no handler
    attributes, images with alt text, and every link or image a file in the export
    (or a web address in a pupil's text, which is an anchor, never an asset)."""

    def __init__(self, page: Path, root: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self.root = page, root
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.texts: list[str] = []
        self.h1 = 0
        self.doctype = False

    @classmethod
    def texts_of(cls, page: Path, root: Path) -> list[str]:
        audit = cls(page, root)
        audit.feed(page.read_text(encoding="utf-8"))
        return audit.texts

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.problems.append("a script element")
        if any(name.startswith("on") for name in values):
            self.problems.append(f"an event handler on <{tag}>")
        if tag == "h1":
            self.h1 += 1
        if tag == "html" and not values.get("lang"):
            self.problems.append("no lang on <html>")
        if tag == "img":
            if not values.get("alt"):
                self.problems.append("an image without alt text")
            self._local(values.get("src"), asset=True)
        if tag == "a":
            self._local(values.get("href"), asset=False)
        if tag == "link":
            self.problems.append("a linked asset")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(" ".join(data.split()))

    def close(self) -> None:
        super().close()
        if self.stack:
            self.problems.append(f"left open: {self.stack}")
        if not self.doctype:
            self.problems.append("no <!DOCTYPE html>")
        if self.h1 != 1:
            self.problems.append(f"{self.h1} <h1> elements")

    def _local(self, url: str | None, *, asset: bool) -> None:
        if not url:
            self.problems.append("an empty link")
            return
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            if asset or parts.scheme not in ("http", "https", "mailto"):
                self.problems.append(f"an outside address: {url}")
            return
        target = (self.page.parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(self.root.resolve()) or not target.is_file():
            self.problems.append(f"a link to no file of the export: {url}")


def test_the_page_audit_finds_what_it_must() -> None:
    """The checker above can fail (a checker that never fails proves nothing)."""
    root = Path(os.sep)
    audit = PageAudit(root / "index.html", root / "nowhere")
    audit.feed('<html><body><div><p>x</div><script></script><img src="http://x/a.png">')
    audit.close()
    found = " ".join(audit.problems)
    for problem in ("closes", "a script", "without alt", "outside address", "left open", "DOCTYPE"):
        assert problem in found
