"""Text from forms over real HTTP: line breaks as browsers send them, and refused forms.

Browsers send a textarea's line breaks as CRLF; the network format keeps LF only
(protocol/kinds.py refuses CR as a control character). The pages turn every line
break into LF where forms are read (node/web/app.py, ``plain_lines``), so these
forms send CRLF, as a browser does. A refused form comes back (400) with the error
and everything typed, never a redirect to an empty form.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date

import aiohttp
from aiohttp.web_request import FileField
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from node.clock import now_ms
from node.web.kit import plain_lines
from tests.network import LiveNode, wait_for
from tests.web.test_projects import png
from tests.web.web import client, csrf_of, http_sign_in

#: Two paragraphs and a list, with accents, as a browser sends them.
POST_BODY = (
    "Notre promenade au bord de la rivière était longue.\r\n"
    "\r\n"
    "We saw:\r\n"
    "\r\n"
    "- a heron (un héron)\r\n"
    "- a kingfisher\r\n"
    "\r\n"
    "À bientôt, Zoë !"
)
TWO_PARAGRAPHS = "Première ligne, avec des accents : é à ç.\r\n\r\nSecond paragraph: ñ, ü, ø."
#: What a pupil might paste: long, accented, with line breaks of every kind.
PASTED = ("Un très long texte collé depuis un traitement de texte.\r\n" * 150) + "Fin.\rLast"


def lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def field_value(page: str, name: str) -> str | None:
    """What a page's first field called ``name`` shows (a textarea's text, an input's value)."""
    area = re.search(rf'<textarea[^>]*\bname="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    if area:  # a line break just after the tag is not the text's (the HTML standard)
        return html.unescape(area[1].removeprefix("\n"))
    box = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page)
    if box:
        value = re.search(r'\bvalue="([^"]*)"', box[0])
        return html.unescape(value[1]) if value else ""
    return None


async def send(
    live: LiveNode,
    http: aiohttp.ClientSession,
    page: str,
    action: str,
    data: dict[str, str] | aiohttp.FormData,
) -> tuple[int, str, str]:
    """Send a form from ``page`` as a browser does (its token, its Referer): the answer."""
    token = await csrf_of(http, page)
    if isinstance(data, aiohttp.FormData):
        data.add_field("csrf", token)
        form: dict[str, str] | aiohttp.FormData = data
    else:
        form = {"csrf": token, **data}
    headers = {"Referer": f"{live.address}{page}"}
    async with http.post(action, data=form, headers=headers, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


def multipart(fields: dict[str, str], *, photo: bool = False) -> aiohttp.FormData:
    """A post's form as a browser sends it: multipart, with an empty file field or a photo."""
    form = aiohttp.FormData(fields)
    if photo:
        form.add_field("photos", png(), filename="heron.png", content_type="image/png")
    else:
        form.add_field("photos", b"", filename="", content_type="application/octet-stream")
    form.add_field("photos_faces", b"", filename="", content_type="application/octet-stream")
    return form


async def project_of(school: LiveNode) -> str:
    project = await school.node.projects.create("Rivers of Europe", ["rivers"], now_ms())
    await school.node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
    return project.id


def test_every_line_break_becomes_lf_and_files_are_left_alone() -> None:
    photo = FileField(
        "photos", "a.png", io.BytesIO(b"png"), "image/png", CIMultiDictProxy(CIMultiDict())
    )
    form = MultiDictProxy(
        MultiDict(
            [("body", "a\r\nb\rc\nd\r\n\r\ne"), ("tag", "x"), ("tag", "y\r"), ("photos", photo)]
        )
    )
    clean = plain_lines(form)
    assert clean["body"] == "a\nb\nc\nd\n\ne"
    assert clean.getall("tag") == ["x", "y\n"]
    assert clean["photos"] is photo


async def test_a_post_with_two_paragraphs_and_a_list_is_kept_as_such(school: LiveNode) -> None:
    project = await project_of(school)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        page = f"/projects/{project}/write"
        fields = {"title": "Au bord de la rivière", "theme": "", "body": POST_BODY}
        status, location, _ = await send(school, amira, page, page, multipart(fields))
        assert status == 303, location
        (post,) = await school.node.projects.posts(project, states=("draft",))
        assert post.body == lf(POST_BODY)
        async with amira.get(location) as response:
            shown = await response.text()
    assert "<p>Notre promenade au bord de la rivière était longue.</p>" in shown
    assert "<ul>\n<li>a heron (un héron)</li>\n<li>a kingfisher</li>\n</ul>" in shown
    assert "<p>À bientôt, Zoë !</p>" in shown


async def test_a_refused_post_keeps_everything_typed_and_asks_for_the_photos_again(
    school: LiveNode,
) -> None:
    project = await project_of(school)
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        page = f"/projects/{project}/write"
        title = "Une très longue promenade " + "é" * 175  # 201 characters
        fields = {"title": title, "theme": "", "body": PASTED}
        status, _, shown = await send(school, amira, page, page, multipart(fields, photo=True))
    assert status == 400
    assert "Give your post a title (up to 200 characters)." in shown
    assert field_value(shown, "title") == title
    assert field_value(shown, "body") == lf(PASTED)
    assert "choose your photos again" in shown
    assert await school.node.projects.posts(project, states=("draft",)) == []


async def test_event_details_school_about_comment_and_offer_keep_their_lines(
    school: LiveNode,
) -> None:
    project = await project_of(school)
    post = await school.node.projects.draft(
        project, "Amira", "Our walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    await school.node.projects.approve(post.id, "Mr Jones", now_ms())
    async with client(school) as teacher, client(school) as admin, client(school) as amira:
        await http_sign_in(teacher, "Mr Jones")
        await http_sign_in(admin, "Mrs Patel")
        await http_sign_in(amira, "Amira")

        event = {
            "title": "TeachMeet",
            "start": "2099-03-04T16:00",
            "end": "2099-03-04T18:00",
            "tz": "Europe/London",
            "text": "Arrive at 15:45.\r\nBring a laptop.",
            "audience": "public",
        }
        status, location, _ = await send(school, teacher, "/events/new", "/events/new", event)
        assert status == 303
        made = await school.node.events.find(location.rsplit("/", 1)[1])
        assert made.content["text"] == "Arrive at 15:45.\nBring a laptop."

        profile = {"name": "Oakfield Primary School", "country": "GB", "about": TWO_PARAGRAPHS}
        status, _, _ = await send(school, admin, "/profile", "/profile", profile)
        assert status == 303
        stored = await school.node.store.latest_profile(school.node.node_id)
        assert stored is not None
        assert stored["about"] == lf(TWO_PARAGRAPHS)
        async with teacher.get("/profile") as response:  # staff read it, admins edit it
            assert f'<dd class="prose">{html.escape(lf(TWO_PARAGRAPHS), quote=False)}' in (
                await response.text()
            )

        here = f"/posts/{post.id}"
        status, _, _ = await send(school, amira, here, f"{here}/comments", {"body": TWO_PARAGRAPHS})
        assert status == 303
        (comment,) = await school.node.projects.comments(post.id, states=("draft",))
        assert comment.body == lf(TWO_PARAGRAPHS)

        offer = {"side": "offer", "activity": "visit", "title": "Visit us", "text": POST_BODY}
        status, location, _ = await send(school, teacher, "/offers/new", "/offers/new", offer)
        assert status == 303
        (listed,) = await school.node.offers.listing("offer")
        assert (listed.entry.content or {}).get("text") == lf(POST_BODY)


async def test_every_refused_form_comes_back_with_what_was_typed(school: LiveNode) -> None:
    project = await project_of(school)
    draft = await school.node.projects.draft(
        project, "Amira", "Our walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    approved = await school.node.projects.draft(
        project, "Amira", "Our boats", "Boats!", theme=None, images=[], now=now_ms()
    )
    await school.node.projects.approve(approved.id, "Mr Jones", now_ms())
    observed = await school.node.observations.add(
        observer="Mr Jones",
        observed="Mrs Patel",
        focus="questioning",
        priority="Oracy",
        day=date(2027, 1, 20),
        strengths=[],
        actions=["Wait time"],
        follow_up=None,
    )
    long_title = "x" * 201
    # who, the form's page, its action, what is sent, the fields that must come back
    cases: list[tuple[str, str, str, dict[str, str], tuple[str, ...]]] = [
        (
            "Mr Jones",
            "/projects",
            "/projects",
            {"title": long_title, "themes": "Rivers\r\nFood"},
            ("title", "themes"),
        ),
        (
            "Amira",
            f"/posts/{approved.id}",
            f"/posts/{approved.id}/comments",
            {"body": "Bonjour.\r\n\r\n" + "é" * 5000},
            ("body",),
        ),
        (
            "Mr Jones",
            f"/posts/{draft.id}",
            f"/posts/{draft.id}/return",
            {"note": "Trop long.\r\n" * 200},
            ("note",),
        ),
        (
            "Amira",
            f"/posts/{draft.id}/edit",
            f"/posts/{draft.id}/edit",
            {"title": long_title, "theme": "", "body": POST_BODY},
            ("title", "body"),
        ),
        (
            "Mr Jones",
            "/events/new",
            "/events/new",
            {
                "title": "Conférence",
                "start": "2099-03-04T18:00",
                "end": "2099-03-04T16:00",  # before the start
                "tz": "Europe/London",
                "where": "Salle des fêtes",
                "text": TWO_PARAGRAPHS,
            },
            ("title", "where", "text"),
        ),
        (
            "Mr Jones",
            "/offers/new",
            "/offers/new",
            {"side": "offer", "activity": "visit", "title": long_title, "text": TWO_PARAGRAPHS},
            ("title", "text"),
        ),
        (
            "Mrs Patel",
            "/profile",
            "/profile",
            {"name": "Oakfield", "country": "Atlantis", "region": "Kent", "about": POST_BODY},
            ("name", "region", "about"),
        ),
        (
            "Mr Jones",
            "/observations/new",
            "/observations/new",
            {
                "observer": "Mr Jones",
                "observed": "Mrs Patel",
                "focus": "questioning",
                "priority": "Oracy",
                "strengths": "Wait time.\r\nCold calling.",
            },
            ("observer", "observed", "priority", "strengths"),
        ),
        (
            "Mrs Patel",
            f"/observations/{observed.id}",
            f"/observations/{observed.id}/follow-up",
            {"done": "1", "note": "Trop long, à revoir.\r\n" * 100},
            ("note",),
        ),
        (
            "Mrs Patel",
            "/users",
            "/users",
            {"name": "Zoé@", "role": "pupil", "class": "5B"},
            ("name", "class"),
        ),
        (
            "Mrs Patel",
            "/partners",
            "/partners/add",
            {"code": "not-a-code\r\nsecond-line"},
            ("code",),
        ),
    ]
    for who, page, action, data, kept in cases:
        async with client(school) as http:
            await http_sign_in(http, who)
            status, location, shown = await send(school, http, page, action, data)
        assert status == 400, (action, location)
        assert 'role="alert"' in shown or 'aria-invalid="true"' in shown, action  # the error
        for name in kept:
            assert (field_value(shown, name) or "").strip() == lf(data[name]).strip(), (
                action,
                name,
            )
    assert await school.node.projects.comments(approved.id, states=("draft",)) == []
    assert (await school.node.projects.post(draft.id)).state == "draft"
    assert not (await school.node.observations.get(observed.id)).followed_up


async def test_a_form_refused_by_node_code_comes_back_again_and_again(school: LiveNode) -> None:
    """The form shown again sits at its action's address: sent from there, it still
    comes back on its page (the first page up that address), still with the text."""
    project = await project_of(school)
    post = await school.node.projects.draft(
        project, "Amira", "Our walk", "We saw a heron.", theme=None, images=[], now=now_ms()
    )
    await school.node.projects.approve(post.id, "Mr Jones", now_ms())
    here = f"/posts/{post.id}"
    body = "Un héron !\r\n\r\nBell\x07"  # node code refuses the control character
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        for sent_from in (here, f"{here}/comments"):
            status, _, shown = await send(
                school, amira, sent_from, f"{here}/comments", {"body": body}
            )
            assert status == 400
            assert '<h1 id="post-title">Our walk</h1>' in shown
            assert field_value(shown, "body") == lf(body)
            assert 'role="alert"' in shown
        # Sent with no Referer at all, it comes back on its page just the same.
        token = await csrf_of(amira, here)
        async with amira.post(f"{here}/comments", data={"csrf": token, "body": body}) as response:
            assert response.status == 400
            assert field_value(await response.text(), "body") == lf(body)
    assert await school.node.projects.comments(post.id, states=("draft",)) == []


async def test_interest_and_its_answer_keep_their_lines_and_come_back_when_refused(
    school: LiveNode, lycee: LiveNode
) -> None:
    entry = await school.node.offers.post("offer", {"activity": "visit", "title": "Visit us"})
    await wait_for(lambda: lycee.holds(entry.id), what="Oakfield's offer at the Lycée")
    here = f"/offers/{entry.id}"
    async with client(lycee) as martin:
        await http_sign_in(martin, "M. Martin")
        too_long = {"message": "Bonjour,\r\n" + "é" * 2000}
        status, _, shown = await send(lycee, martin, here, f"{here}/interest", too_long)
        assert status == 400
        assert field_value(shown, "message") == lf(too_long["message"])
        status, _, _ = await send(
            lycee, martin, here, f"{here}/interest", {"message": TWO_PARAGRAPHS}
        )
        assert status == 303
    (sent,) = await lycee.node.interests.all()
    assert sent.message == lf(TWO_PARAGRAPHS)

    async def arrived() -> bool:
        return any(i.direction == "received" for i in await school.node.interests.all())

    await wait_for(arrived, what="the interest at Oakfield")
    (received,) = await school.node.interests.all()
    assert received.message == lf(TWO_PARAGRAPHS)
    async with client(school) as jones:
        await http_sign_in(jones, "Mr Jones")
        accept = f"/interests/{received.id}/accept"
        too_long = {"message": "Yes!\r\n" + "a" * 2000}
        status, _, shown = await send(school, jones, "/interests", accept, too_long)
        assert status == 400
        assert field_value(shown, "message") == lf(too_long["message"])
        status, _, _ = await send(school, jones, "/interests", accept, {"message": TWO_PARAGRAPHS})
        assert status == 303
    (answered,) = await school.node.interests.all()
    assert answered.answer == lf(TWO_PARAGRAPHS)


RLO = "\u202e"  # an override a text may open and leave open (node/bidi.py)


async def test_a_refused_form_gives_back_exactly_what_was_typed_and_it_is_stored_so(
    school: LiveNode,
) -> None:
    """Typed text with an override left open, accents, CRLF lines and a long paste:
    the refused form shows it back byte for byte (no closing mark added), and sent
    again as shown it is stored as typed (its line breaks as LF)."""
    typed = {
        "title": f"Fête {RLO}de l'école",
        "tz": "Europe/Paris",
        "where": f"Salle des fêtes {RLO}Zoë",
        "text": f"Arrivée à 15 h 45.\r\n\r\n{RLO}Apportez un portable.\r\n" + PASTED[:6000],
    }
    when = {"start": "2099-03-04T18:00", "end": "2099-03-04T16:00", "audience": "public"}
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        status, _, shown = await send(
            school, teacher, "/events/new", "/events/new", {**typed, **when}
        )
        assert status == 400  # the end is before the start
        again = {name: field_value(shown, name) or "" for name in typed}
        assert again == {name: lf(value) for name, value in typed.items()}
        when["end"] = "2099-03-04T20:00"
        status, location, _ = await send(
            school, teacher, "/events/new", "/events/new", {**again, **when}
        )
        assert status == 303
    made = await school.node.events.find(location.rsplit("/", 1)[1])
    for name in ("title", "where", "text"):
        assert made.content[name] == lf(typed[name]), name

    project = await project_of(school)
    page = f"/projects/{project}/write"
    title = f"Au bord de la {RLO}rivière"
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        fields = {"title": title, "theme": "", "body": POST_BODY + "\x07"}  # a control: refused
        status, _, shown = await send(school, amira, page, page, multipart(fields))
        assert status == 400
        assert field_value(shown, "title") == title
        assert field_value(shown, "body") == lf(fields["body"])
        fields = {"title": field_value(shown, "title") or "", "theme": "", "body": POST_BODY}
        status, location, _ = await send(school, amira, page, page, multipart(fields))
        assert status == 303
        (post,) = await school.node.projects.posts(project, states=("draft",))
        assert post.title == title
        # Changed, and refused again: what was typed comes back, not what is stored.
        edit = f"{location}/edit"
        fields = {"title": f"{title} {RLO}!", "theme": "", "body": "Bell\x07"}
        status, _, shown = await send(school, amira, edit, edit, multipart(fields))
        assert status == 400
        assert (field_value(shown, "title"), field_value(shown, "body")) == (
            fields["title"],
            fields["body"],
        )
    assert (await school.node.projects.post(post.id)).title == title


async def test_a_change_refused_by_the_node_keeps_the_photos_ticked_to_remove(
    school: LiveNode,
) -> None:
    """A pupil ticks a photo to remove and changes the text, which the node's own rules
    refuse: the form comes back with the photo still ticked, as with the form's own
    checks (not unticked, so that sending it again would keep the photo)."""
    project = await project_of(school)
    page = f"/projects/{project}/write"
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        fields = {"title": "Heron", "theme": "", "body": POST_BODY, "photos_alt": "A heron"}
        status, location, _ = await send(school, amira, page, page, multipart(fields, photo=True))
        assert status == 303
        (post,) = await school.node.projects.posts(project, states=("draft",))
        ((digest, _faces, _held),) = post.images
        edit = f"{location}/edit"
        changed = multipart({"title": "Heron", "theme": "", "body": "Bell\x07"})
        changed.add_field("remove", digest.hex())
        status, _, shown = await send(school, amira, edit, edit, changed)
        assert status == 400
        box = re.search(rf'<input[^>]*name="remove" value="{digest.hex()}"[^>]*>', shown)
        assert box is not None
        assert " checked" in box[0], box[0]
