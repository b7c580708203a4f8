"""Calendar subscription, project feeds, the icon, photo descriptions, deleting a draft,
the password confirmation and the observation's "who will see it", over HTTP.

Each runs against a real node on loopback with a real SQLite file; the calendar
and the feed are fetched with no session at all, as a calendar program or a feed
reader would.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime

import aiohttp
import icalendar

from node.clock import now_ms
from node.events import calendar_links
from tests.network import LiveNode
from tests.web.test_projects import png, post_form, start
from tests.web.web import client, csrf_of, http_sign_in

EVENT = {
    "title": "Spring TeachMeet",
    "start": "2099-04-01T16:00+01:00",
    "end": "2099-04-01T18:00+01:00",
    "tz": "Europe/London",
    "audience": "public",
}


async def fetch(url: str) -> tuple[int, str, bytes]:
    """``url`` with no cookie at all, as a calendar program or feed reader asks."""
    async with aiohttp.ClientSession() as bare, bare.get(url) as response:
        return response.status, response.content_type, await response.read()


async def make_calendar_address(http: aiohttp.ClientSession) -> str:
    token = await csrf_of(http, "/calendar")
    async with http.post("/calendar/renew", data={"csrf": token}) as response:
        page = await response.text()
    found = re.search(r'id="calendar-address"[^>]*value="([^"]+)"', page)
    assert found, page
    assert 'href="webcal://' in page
    return found[1]


async def test_a_private_calendar_address_serves_the_calendar_without_a_session(
    school: LiveNode,
) -> None:
    await school.node.events.create(EVENT)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        address = await make_calendar_address(http)
        async with http.get("/calendar") as response:  # shown once: a reload shows none
            again = await response.text()
        assert "calendar-address" not in again
        assert "You have a calendar address, made on" in again
    status, kind, body = await fetch(address)
    assert (status, kind) == (200, "text/calendar")
    (item,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(item["SUMMARY"]) == "Spring TeachMeet"
    # Only its hash is kept.
    token = address.rsplit("/", 1)[1].removesuffix(".ics")
    rows = await school.node.store.fetch_all("SELECT token_hash FROM calendar_links")
    assert rows == [(hashlib.sha256(token.encode()).digest(),)]
    # A guess, or the address changed by one letter, is refused.
    wrong = address[:-5] + ("A" if address[-5] != "A" else "B") + ".ics"
    assert (await fetch(wrong))[0] == 404
    # A new address replaces it; stopping it ends it.
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        newer = await make_calendar_address(http)
        assert (await fetch(address))[0] == 404
        assert (await fetch(newer))[0] == 200
        token = await csrf_of(http, "/calendar")
        async with http.post("/calendar/revoke", data={"csrf": token}) as response:
            assert "no longer works" in await response.text()
    assert (await fetch(newer))[0] == 404


async def test_a_calendar_address_ends_with_its_owner_and_is_for_staff_only(
    school: LiveNode,
) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        address = await make_calendar_address(http)
    assert (await fetch(address))[0] == 200
    await school.node.accounts.remove("Mr Jones")
    assert (await fetch(address))[0] == 404
    assert await calendar_links.made_at(school.node.store, "Mr Jones") is None
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        async with http.get("/calendar") as response:
            assert response.status == 403
        response = await post_form(http, "/calendar/renew", "/")
        assert response.status == 403


async def test_staff_make_and_stop_a_project_feed_from_its_page(school: LiveNode) -> None:
    project = await start(school)
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get(f"/projects/{project}") as response:
            page = await response.text()
        assert 'rel="alternate"' not in page
        response = await post_form(http, f"/projects/{project}/feed", f"/projects/{project}")
        assert response.status == 303
        async with http.get(f"/projects/{project}") as response:
            page = await response.text()
        found = re.search(
            r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" href="([^"]+)">',
            page,
        )
        assert found, page
        url = found[1]
        assert f'id="feed-link" type="application/atom+xml" href="{url}"' in page
        status, kind, body = await fetch(url)
        assert (status, kind) == (200, "application/atom+xml")
        assert b"Rivers of Europe" in body
        response = await post_form(http, f"/projects/{project}/feed/stop", f"/projects/{project}")
        assert response.status == 303
    assert (await fetch(url))[0] == 404
    # A pupil gets no feed: the rule is the command line's (staff only).
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        async with http.get(f"/projects/{project}") as response:
            assert "Feed of the blog" not in await response.text()
        response = await post_form(http, f"/projects/{project}/feed", "/")
        assert response.status == 403
    assert not [f for f in await school.node.feeds.all() if f.user == "Amira"]


async def test_the_icon_is_served(school: LiveNode) -> None:
    status, kind, body = await fetch(f"{school.address}/favicon.ico")
    assert (status, kind) == (200, "image/x-icon")
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file


async def write_with_words(
    http: aiohttp.ClientSession,
    project: str,
    words: str,
    *,
    title: str = "The weir",
    photos: int = 1,
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("csrf", await csrf_of(http, f"/projects/{project}/write"))
    form.add_field("title", title)
    form.add_field("body", "We drew the weir.")
    for n in range(photos):
        form.add_field("photos", png(30 + n), filename=f"weir{n}.png", content_type="image/png")
    form.add_field("photos_alt", words)
    async with http.post(f"/projects/{project}/write", data=form, allow_redirects=False) as r:
        await r.read()
        return r


async def test_a_pupil_describes_their_photos(school: LiveNode) -> None:
    project = await start(school)
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        made = await write_with_words(http, project, "My model of the weir, in clay")
        assert made.status == 303
        async with http.get(made.headers["Location"]) as response:
            page = html.unescape(await response.text())
        assert 'alt="My model of the weir, in clay"' in page
        two = await write_with_words(http, project, "Our drawings", photos=2, title="Two")
        async with http.get(two.headers["Location"]) as response:
            page = html.unescape(await response.text())
        assert 'alt="Our drawings (photo 1 of 2)"' in page
        assert 'alt="Our drawings (photo 2 of 2)"' in page
        plain = await write_with_words(http, project, "", title="No words")
        async with http.get(plain.headers["Location"]) as response:
            assert 'alt="Photo 1 of 1 with the post"' in await response.text()
        # A refused form keeps the words (the title is missing here).
        refused = aiohttp.FormData()
        refused.add_field("csrf", await csrf_of(http, f"/projects/{project}/write"))
        refused.add_field("title", "")
        refused.add_field("body", "Text")
        refused.add_field("photos_alt", "The heron on one leg")
        async with http.post(f"/projects/{project}/write", data=refused) as response:
            assert response.status == 400
            assert 'value="The heron on one leg"' in await response.text()
        too_long = await write_with_words(http, project, "x" * 201, title="Long")
        assert too_long.status == 400


async def test_a_pupil_deletes_their_own_draft_only(school: LiveNode) -> None:
    project = await start(school)
    node = school.node
    draft = await node.projects.draft(
        project, "Amira", "Junk", "asdf", theme=None, images=[("a.png", png(), False)], now=now_ms()
    )
    approved = await node.projects.draft(
        project, "Amira", "Kept", "Text", theme=None, images=[], now=now_ms()
    )
    await node.projects.approve(approved.id, "Mr Jones", now_ms())
    async with client(school) as ben:
        await http_sign_in(ben, "Ben")
        async with ben.get(f"/posts/{draft.id}/delete") as response:
            assert response.status == 404  # not Ben's: not even there
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        async with http.get(f"/posts/{draft.id}") as response:
            assert f'href="/posts/{draft.id}/delete"' in await response.text()
        async with http.get(f"/posts/{draft.id}/delete") as response:
            assert "Yes, delete my draft" in await response.text()
        async with http.get(f"/posts/{approved.id}/delete") as response:
            assert response.status == 404  # it has left the school: a takedown's job
        response = await post_form(http, f"/posts/{draft.id}/delete", f"/posts/{draft.id}/delete")
        assert response.status == 303
    rows = await node.store.fetch_all(
        "SELECT (SELECT count(*) FROM posts WHERE id = ?), (SELECT count(*) FROM images "
        "WHERE post = ?)",
        (draft.id, draft.id),
    )
    assert rows == [(0, 0)]
    assert (await node.projects.post(approved.id)).state == "approved"


async def test_a_new_password_is_asked_for_first(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        async with http.get("/users") as response:
            page = await response.text()
        assert 'href="/users/password/confirm?name=Amira"' in page
        assert 'action="/users/password"' not in page  # no one-click reset any more
        async with http.get("/users/password/confirm?name=Amira") as response:
            page = html.unescape(await response.text())
        assert "A new password for Amira?" in page
        assert "Yes, make a new password" in page
        assert await school.node.accounts.check_password("Amira", "correct-horse-7")
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get("/users/password/confirm?name=Amira") as response:
            assert response.status == 403


async def test_sending_an_observation_says_who_will_read_it(
    school: LiveNode, lycee: LiveNode
) -> None:
    made = await school.node.observations.add(
        observer="M. Martin",
        observed="Mr Jones",
        focus="oracy",
        priority="Talk for writing",
        day=datetime.now(UTC).date(),
        strengths=["Clear modelling"],
        actions=["Sentence stems on the wall"],
        follow_up=None,
    )
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.get(f"/observations/{made.id}") as response:
            page = html.unescape(await response.text())
    who = page.partition('id="who-will-see"')[2].partition("</div>")[0]
    assert "you and M. Martin, as now" in who
    assert "every member of staff at our school: sending it shares it with colleagues here" in who
    assert "every member of staff at the partner school you choose" in who
