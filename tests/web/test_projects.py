"""Project pages over plain HTTP: drafts stay private, staff-only actions are refused to pupils."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import aiohttp
from PIL import Image

from node.clock import now_ms
from tests.network import LiveNode
from tests.web.test_accessibility import PageAudit
from tests.web.web import add_user, client, csrf_of, http_sign_in

PHOTO = re.compile(r'src="(/posts/[0-9a-f]{32}/photos/[0-9a-f]{64}\.jpg)"')


def png(red: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (red, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def start(school: LiveNode) -> str:
    await add_user(school, "Ben", "pupil")
    project = await school.node.projects.create("Rivers of Europe", ["rivers", "food"], now_ms())
    await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
    return project.id


async def write(http: aiohttp.ClientSession, project: str, title: str, *, faces: bool) -> str:
    """Write a post with one photo as the signed-in user; return the post's id."""
    form = aiohttp.FormData()
    form.add_field("csrf", await csrf_of(http, f"/projects/{project}/write"))
    form.add_field("title", title)
    form.add_field("theme", "rivers")
    form.add_field("body", "We saw a **heron** <script>alert(1)</script>")
    field = "photos_faces" if faces else "photos"
    form.add_field(field, png(), filename="heron.png", content_type="image/png")
    form.add_field("photos" if faces else "photos_faces", b"", filename="")
    async with http.post(f"/projects/{project}/write", data=form, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
        found = re.fullmatch(r"/posts/([0-9a-f]{32})", r.headers["Location"])
    assert found
    return found[1]


async def post_form(
    http: aiohttp.ClientSession, path: str, page: str, **fields: str
) -> aiohttp.ClientResponse:
    data = {"csrf": await csrf_of(http, page), **fields}
    if path.endswith(("/approve", "/return")):  # the version of the post the page showed
        data.setdefault("version", await version_of(http, page))
    async with http.post(path, data=data, allow_redirects=False) as response:
        await response.read()
        return response


async def version_of(http: aiohttp.ClientSession, page: str) -> str:
    """The version of the post its page's approve form carries ("" if none)."""
    async with http.get(page) as response:
        found = re.search(r'name="version" value="([0-9a-f]*)"', await response.text())
    return found[1] if found else ""


async def photo_url(http: aiohttp.ClientSession, post: str) -> str:
    async with http.get(f"/posts/{post}") as response:
        found = PHOTO.search(await response.text())
    assert found, "no photo on the post's page"
    return found[1]


async def test_a_draft_is_seen_by_its_pupil_and_staff_only(school: LiveNode) -> None:
    project = await start(school)
    async with client(school) as amira, client(school) as ben, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(ben, "Ben")
        await http_sign_in(teacher, "Mr Jones")
        post = await write(amira, project, "Our river walk", faces=False)
        async with amira.get(f"/posts/{post}") as page:
            text = await page.text()
            assert page.status == 200
            assert "<strong>heron</strong>" in text
            assert "<script>" not in text
            assert f"/posts/{post}/approve" not in text  # no approval form for a pupil
        photo = await photo_url(amira, post)
        async with amira.get(photo) as image:
            assert (image.status, image.content_type) == (200, "image/jpeg")
        # Another pupil cannot see the draft, nor its photo, nor learn it exists.
        for path in (f"/posts/{post}", photo, f"/posts/{post}/edit"):
            async with ben.get(path) as response:
                assert response.status == 404, path
        async with ben.get(f"/projects/{project}") as page:
            assert "Our river walk" not in await page.text()
        # A pupil cannot approve, even their own post.
        async with amira.get(f"/posts/{post}/approve", allow_redirects=False) as response:
            assert response.status == 403
        for action in ("approve", "takedown", "accept"):
            refused = await post_form(amira, f"/posts/{post}/{action}", f"/posts/{post}")
            assert refused.status == 403, action
        assert (await school.node.projects.post(post)).state == "draft"
        # The teacher sees the approval form and approves.
        async with teacher.get(f"/posts/{post}") as page:
            assert f'action="/posts/{post}/approve"' in await page.text()
        done = await post_form(teacher, f"/posts/{post}/approve", f"/posts/{post}")
        assert done.status == 303
        assert (await school.node.projects.post(post)).state == "approved"
        async with teacher.get(f"/posts/{post}") as page:
            text = await page.text()
            assert "No other school is in the project yet" in text
            assert "1 photo was held back" in text
        # Approved: the other pupil now reads it, but the photo was held back
        # (no consent for photos of work yet), so it is served to no one.
        async with ben.get(f"/projects/{project}") as page:
            text = await page.text()
            assert "Our river walk" in text
            assert "/photos/" not in text
        async with ben.get(f"/projects/{project}", headers={"Accept-Language": "fr"}) as page:
            text = await page.text()
            assert "Écrire un article" in text
            assert "0 commentaire<" in text
        for http in (amira, ben, teacher):
            async with http.get(photo) as response:
                assert response.status == 404


async def test_a_returned_draft_is_changed_and_sent_again(school: LiveNode) -> None:
    project = await start(school)
    async with client(school) as amira, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(teacher, "Mr Jones")
        post = await write(amira, project, "Walk", faces=True)
        empty = await post_form(teacher, f"/posts/{post}/return", f"/posts/{post}", note=" ")
        assert empty.status == 400  # the post's page again, saying to write a note
        assert (await school.node.projects.post(post)).state == "draft"
        back = await post_form(
            teacher, f"/posts/{post}/return", f"/posts/{post}", note="Say what you saw"
        )
        assert back.status == 303
        async with amira.get(f"/posts/{post}/edit") as page:
            assert "Say what you saw" in await page.text()
        too_long = await post_form(
            amira, f"/posts/{post}/edit", f"/posts/{post}/edit", title="x" * 201, body="", theme=""
        )
        assert too_long.status == 400
        saved = await post_form(
            amira,
            f"/posts/{post}/edit",
            f"/posts/{post}/edit",
            title="Our river walk",
            body="We saw a heron.",
            theme="food",
        )
        assert saved.status == 303
        revised = await school.node.projects.post(post)
        assert (revised.state, revised.title, revised.theme) == ("draft", "Our river walk", "food")
        assert len(revised.images) == 1


async def change_photos(
    http: aiohttp.ClientSession,
    post: str,
    *,
    remove: Sequence[str] = (),
    work: Sequence[bytes] = (),
    faces: Sequence[bytes] = (),
) -> tuple[int, str]:
    """Send the "Change your post" form as a browser would: ticked boxes, chosen files."""
    form = aiohttp.FormData()
    form.add_field("csrf", await csrf_of(http, f"/posts/{post}/edit"))
    for name, value in (("title", "Our river walk"), ("theme", "rivers"), ("body", "A heron")):
        form.add_field(name, value)
    for digest in remove:
        form.add_field("remove", digest)
    for field, files in (("photos", work), ("photos_faces", faces)):
        for i, data in enumerate(files or [b""]):
            form.add_field(field, data, filename=f"p{i}.png" if data else "")
    async with http.post(f"/posts/{post}/edit", data=form, allow_redirects=False) as response:
        return response.status, await response.text()


async def test_a_drafts_photos_are_removed_and_added_while_it_is_a_draft(
    school: LiveNode,
) -> None:
    project = await start(school)
    async with client(school) as amira, client(school) as ben, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(ben, "Ben")
        await http_sign_in(teacher, "Mr Jones")
        post = await write(amira, project, "Walk", faces=False)
        [(old, _faces, _held)] = (await school.node.projects.post(post)).images
        async with amira.get(f"/posts/{post}/edit") as response:
            page = await response.text()
        assert f'name="remove" value="{old.hex()}"' in page
        assert f'src="/posts/{post}/photos/{old.hex()}.jpg" alt="Photo 1 of 1' in page
        assert "Remove this photo" in page
        assert 'for="photos"' in page
        assert 'for="photos_faces"' in page
        audit = PageAudit()
        audit.feed(page)
        assert audit.problems() == []

        async def images() -> list[tuple[bytes, bool]]:
            return [(h, f) for h, f, _d in (await school.node.projects.post(post)).images]

        # Bad changes are refused with the reason, and change nothing at all.
        before = await images()
        for remove, work, says in [
            ([], [png(r) for r in range(0, 250, 40)], "at most 6 photos"),  # 1 + 7
            ([old.hex()], [b"not a photo"], "cannot be read as a photo: choose a JPEG"),
            (["ab" * 32], [], "no longer on your post"),
        ]:
            status, page = await change_photos(amira, post, remove=remove, work=work)
            assert (status, says in page) == (400, True), (says, status)
            assert 'role="alert"' in page
            assert await images() == before
            assert (await school.node.projects.post(post)).title == "Walk"
        # Another pupil cannot change it (nor learn it exists).
        status, _page = await change_photos(ben, post, remove=[old.hex()])
        assert status == 404
        # Remove the old photo, add a photo of work and one that shows a face.
        status, _page = await change_photos(
            amira, post, remove=[old.hex()], work=[png(90)], faces=[png(160)]
        )
        assert status == 303
        changed = await school.node.projects.post(post)
        assert (changed.title, [f for _h, f, _d in changed.images]) == (
            "Our river walk",
            [False, True],
        )
        assert old not in {h for h, _f, _d in changed.images}
        async with amira.get(f"/posts/{post}/photos/{old.hex()}.jpg") as response:
            assert response.status == 404  # deleted
        # Once approved, the photos have left the school: no more changes here.
        done = await post_form(teacher, f"/posts/{post}/approve", f"/posts/{post}")
        assert done.status == 303
        async with amira.get(f"/posts/{post}/edit") as response:
            assert response.status == 404
        token = await csrf_of(amira, f"/posts/{post}")
        form = {"csrf": token, "title": "x", "body": "", "theme": "", "remove": old.hex()}
        async with amira.post(f"/posts/{post}/edit", data=form) as response:
            assert response.status == 404
        assert len((await school.node.projects.post(post)).images) == 2


async def test_consent_is_for_staff_and_withdrawing_it_takes_posts_down(
    school: LiveNode,
) -> None:
    project = await start(school)
    async with client(school) as amira, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(teacher, "Mr Jones")
        async with amira.get("/projects/consent") as page:
            assert page.status == 403
        async with teacher.get("/projects/consent") as page:
            text = await page.text()
            assert "taken down" in text  # said before any change
        given = await post_form(
            teacher,
            "/projects/consent",
            "/projects/consent",
            name="Amira",
            show_name="full",
            work_photos="yes",
            face_photos="yes",
        )
        assert given.status == 303
        user = await school.node.accounts.get("Amira")
        assert (user.show_name, user.work_photos, user.face_photos) == ("full", True, True)
        post = await write(amira, project, "Our river walk", faces=True)
        await post_form(teacher, f"/posts/{post}/approve", f"/posts/{post}")
        photo = await photo_url(amira, post)
        async with amira.get(photo) as response:
            assert response.status == 200
        # Unticking faces withdraws that permission: the post goes, everywhere.
        await post_form(
            teacher,
            "/projects/consent",
            "/projects/consent",
            name="Amira",
            show_name="full",
            work_photos="yes",
        )
        assert (await school.node.projects.post(post)).state == "removed"
        async with teacher.get("/projects/consent") as page:
            assert "1 of their posts and comments was taken down" in await page.text()
        async with teacher.get(f"/posts/{post}") as page:
            assert "No other school had a copy" in await page.text()
        async with amira.get(f"/posts/{post}") as response:
            assert response.status == 404
        async with amira.get(photo) as response:
            assert response.status == 404


async def test_a_pupils_comment_waits_for_a_teacher(school: LiveNode) -> None:
    project = await start(school)
    async with client(school) as amira, client(school) as ben, client(school) as teacher:
        await http_sign_in(amira, "Amira")
        await http_sign_in(ben, "Ben")
        await http_sign_in(teacher, "Mr Jones")
        post = await write(amira, project, "Our river walk", faces=False)
        await post_form(teacher, f"/posts/{post}/approve", f"/posts/{post}")
        said = await post_form(
            ben, f"/posts/{post}/comments", f"/posts/{post}", body="Herons are <b>great</b>"
        )
        assert said.status == 303
        async with ben.get(f"/posts/{post}") as page:
            assert "Herons are &lt;b&gt;great&lt;/b&gt;" in await page.text()  # their own
        async with amira.get(f"/posts/{post}") as page:
            assert "Herons are" not in await page.text()  # not approved yet
        async with teacher.get(f"/projects/{project}") as page:
            assert "comments waiting for approval" in await page.text()
        async with teacher.get(f"/posts/{post}") as page:
            found = re.search(
                rf"/posts/{post}/comments/([0-9a-f]{{32}})/approve", await page.text()
            )
        assert found
        refused = await post_form(ben, found[0], f"/posts/{post}")
        assert refused.status == 403
        approved = await post_form(teacher, found[0], f"/posts/{post}")
        assert approved.status == 303
        async with amira.get(f"/posts/{post}") as page:
            assert "Herons are" in await page.text()

        # Staff can take the comment down again; pupils cannot.
        path = found[0].replace("/approve", "/takedown")
        refused = await post_form(ben, path, f"/posts/{post}")
        assert refused.status == 403
        taken = await post_form(teacher, path, f"/posts/{post}")
        assert taken.status == 303
        async with amira.get(f"/posts/{post}") as page:
            assert "Herons are" not in await page.text()
