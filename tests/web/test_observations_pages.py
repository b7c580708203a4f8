"""Peer-observation pages over plain HTTP: who sees what, who shares, the form's checks."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession

from node.observations import staff
from tests.network import LiveNode, introduced, partner, wait_for
from tests.web.web import add_user, client, csrf_of, http_sign_in


async def test_pupils_are_refused(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Amira")
        for path in ("/observations", "/observations/new"):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 403, path


async def test_record_share_and_privacy(school: LiveNode) -> None:
    await add_user(school, "Ms Green", "staff")
    await add_user(school, "Mr Brown", "staff")
    today = datetime.now(UTC).date()
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/observations/new")
        form = {
            "csrf": token,
            "observer": "Mr Jones",
            "observed": "Ms Green",
            "focus": "questioning",
            "day": today.isoformat(),
            "strengths": "Generous wait time\nEvery pupil answered",
            "action1": "Try no hands up",
            "follow_up": (today + timedelta(days=3)).isoformat(),
        }
        async with http.post("/observations/new", data=form, allow_redirects=False) as response:
            assert response.status == 400  # no priority, and no staff profile to link to
            assert "development priority" in await response.text()
        form["priority"] = "School plan: questioning for all"
        async with http.post("/observations/new", data=form, allow_redirects=False) as response:
            assert response.status == 303
            location = response.headers["Location"]
        async with http.get(location) as response:
            page = await response.text()
        assert "Generous wait time" in page
        assert "Share it with colleagues" not in page  # Mr Jones observed; not his to share
        async with http.get("/observations") as response:
            page = await response.text()
        assert "Try no hands up" in page  # due within the week
        assert "due in 3 days" in page
        async with http.post(
            f"{location}/share", data={"csrf": token, "shared": "1"}, allow_redirects=False
        ) as response:
            assert response.status == 403
    (made,) = await school.node.observations.listing()
    assert not made.shared
    async with client(school) as http:
        await http_sign_in(http, "Mr Brown")
        async with http.get(location, allow_redirects=False) as response:
            assert response.status == 403  # private to the two of them
        async with http.get("/observations") as response:
            assert "Ms Green" not in await response.text()
    async with client(school) as http:
        await http_sign_in(http, "Ms Green")
        token = await csrf_of(http, location)
        async with http.post(f"{location}/share", data={"csrf": token, "shared": "1"}) as response:
            assert "Make it private again" in await response.text()
    assert (await school.node.observations.get(made.id)).shared
    async with client(school) as http:
        await http_sign_in(http, "Mr Brown")
        async with http.get(location) as response:
            assert response.status == 200


async def test_a_focus_from_the_staff_profile_needs_no_priority(school: LiveNode) -> None:
    await school.node.staff.add(
        staff.member(
            "Ms Green", strengths=["behaviour"], develops=["oracy"], subjects=[], phase=None
        ),
    )
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        token = await csrf_of(http, "/observations/new")
        base = {"csrf": token, "observer": "Mr Jones", "observed": "ms  green", "focus": "oracy"}
        async with http.post(
            "/observations/new", data={**base, "action1": "A", "action2": ""}
        ) as response:
            assert "The observation is recorded." in await response.text()
        async with http.post(
            "/observations/new",
            data={**base, "observer": "Mr Brown", "action1": "A"},
            allow_redirects=False,
        ) as response:
            assert response.status == 400
            assert "Record observations you took part in" in await response.text()
    (made,) = await school.node.observations.listing()
    assert made.priority == "Ms Green's development area: oracy"


async def test_the_observed_colleague_shares_with_one_partner_and_takes_it_back(
    school: LiveNode, tmp_path: Path
) -> None:
    lyon = await LiveNode.start(tmp_path / "lyon", "École Jean Macé", country="FR")
    try:
        await add_user(school, "Ms Green", "staff")
        await partner(school, lyon)
        await introduced([school, lyon])
        made = await school.node.observations.add(
            observer="Mme Durand",
            observed="Ms Green",
            focus="oracy",
            priority="Talk for writing",
            day=datetime.now(UTC).date(),
            strengths=["Clear modelling"],
            actions=["Sentence stems on the wall"],
            follow_up=None,
        )
        async with client(school) as http:
            await http_sign_in(http, "Ms Green")
            token = await csrf_of(http, f"/observations/{made.id}")
            form = {"csrf": token, "shared": "1", "to": str(lyon.node.node_id)}
            async with http.post(f"/observations/{made.id}/share", data=form) as response:
                assert "sent to École Jean Macé only" in await response.text()

            async def copies() -> int:
                return len(await lyon.node.observations.listing())

            await wait_for(lambda: _is(copies, 1), what="the copy at Lyon")
            # Lyon's copy is not theirs to close, even for a colleague there of that name.
            (copy,) = await lyon.node.observations.listing()
            await add_user(lyon, "Ms Green", "staff")
            async with client(lyon) as there:
                await http_sign_in(there, "Ms Green")
                status, page = await _page(there, f"/observations/{copy.id}")
                assert status == 200
                assert "Followed up" not in page
                lyon_token = await csrf_of(there, f"/observations/{copy.id}")
                async with there.post(
                    f"/observations/{copy.id}/follow-up",
                    data={"csrf": lyon_token, "done": "1"},
                ) as response:
                    assert response.status == 403
                    assert "came from a partner school" in html.unescape(await response.text())
            assert not (await lyon.node.observations.get(copy.id)).followed_up
            form = {"csrf": token, "shared": "0"}
            async with http.post(f"/observations/{made.id}/share", data=form) as response:
                assert "private again" in await response.text()
            await wait_for(lambda: _is(copies, 0), what="the copy deleted at Lyon")
    finally:
        await lyon.stop()


async def _page(http: ClientSession, path: str) -> tuple[int, str]:
    async with http.get(path) as response:
        return response.status, html.unescape(await response.text())


async def test_the_observed_colleague_records_the_follow_up(school: LiveNode) -> None:
    """Only Ms Green (observed) has the button, not the observer, another teacher or an
    admin (nor may they reopen it); a refused note is shown again as typed; once
    followed up it leaves the dashboard and the list of action points, and reopening
    brings it back."""
    await add_user(school, "Ms Green", "staff")
    await add_user(school, "Mr Brown", "staff")
    made = await school.node.observations.add(
        observer="Mr Jones",
        observed="Ms Green",
        focus="questioning",
        priority="School plan",
        day=datetime.now(UTC).date(),
        strengths=[],
        actions=["Try no hands up"],
        follow_up=datetime.now(UTC).date(),
        shared=True,  # so that Mr Brown can read it too
    )
    here = f"/observations/{made.id}"
    # The observer, another teacher, and the school's admin (Mrs Patel): none is Ms Green.
    for name in ("Mr Jones", "Mr Brown", "Mrs Patel"):
        async with client(school) as http:
            await http_sign_in(http, name)
            status, page = await _page(http, here)
            assert (status, "Try no hands up" in page) == (200, True)
            assert "Followed up" not in page
            token = await csrf_of(http, here)
            form = {"csrf": token, "done": "1", "note": "Done"}
            async with http.post(f"{here}/follow-up", data=form) as response:
                assert response.status == 403, name
                assert "Only the observed colleague records the follow-up" in html.unescape(
                    await response.text()
                )
    assert not (await school.node.observations.get(made.id)).followed_up
    long_note = "Très bien, « mains levées » évitées.\r\n" + "é" * 2000
    note = "Très bien : Zoë & <b>Émile</b> répondent.\r\nNext: wait time"
    async with client(school) as http:
        await http_sign_in(http, "Ms Green")
        status, page = await _page(http, "/")
        assert "Action point to follow up (questioning, Ms Green): Try no hands up" in page
        token = await csrf_of(http, here)
        async with http.post(
            f"{here}/follow-up", data={"done": "1", "note": "Done"}, allow_redirects=False
        ) as response:
            assert response.status == 403  # no security token
        form = {"csrf": token, "done": "1", "note": long_note}
        async with http.post(f"{here}/follow-up", data=form) as response:
            assert response.status == 400
            page = await response.text()
        assert "Keep the note to 2,000 characters at most." in page
        # What was typed is kept, in the note's box (the browser's CRLF as a line break).
        typed = re.search(r'<textarea id="follow-up-note"[^>]*>\n(.*?)</textarea>', page, re.S)
        assert typed is not None
        assert html.unescape(typed[1]) == long_note.replace("\r\n", "\n")
        assert not (await school.node.observations.get(made.id)).followed_up
        form = {"csrf": token, "done": "1", "note": note}
        async with http.post(f"{here}/follow-up", data=form) as response:
            assert response.status == 200
            raw = await response.text()
        assert "<b>Émile</b>" not in raw  # escaped, as any text
        page = html.unescape(raw)
        assert "The follow-up is recorded" in page
        assert "recorded by Ms Green" in page
        assert "Zoë & <b>Émile</b> répondent.\nNext: wait time" in page
        assert "Reopen the follow-up" in page
        status, page = await _page(http, "/")
        assert "Action point to follow up" not in page
        status, page = await _page(http, "/observations")
        assert "Nothing to follow up this week." in page
        assert '<span class="tag ok">followed up</span>' in page  # in the list of mine
        done = await school.node.observations.get(made.id)
        assert (done.followed_up_by, done.follow_up_note) == (
            "Ms Green",
            note.replace("\r\n", "\n"),
        )
        # A page opened before it was recorded (another tab) and pressed now changes
        # nothing: the note and the date recorded stay, and the page says so.
        stale = {"csrf": token, "done": "1", "note": ""}
        async with http.post(f"{here}/follow-up", data=stale) as response:
            page = html.unescape(await response.text())
        assert "This follow-up was already recorded on " in page
        assert "by Ms Green, so nothing was changed. To change its note, reopen it first." in page
        kept = await school.node.observations.get(made.id)
        assert (kept.followed_up_at, kept.follow_up_note) == (
            done.followed_up_at,
            done.follow_up_note,
        )
        # Nor may the observer or the admin reopen it.
        for name in ("Mr Jones", "Mrs Patel"):
            async with client(school) as other:
                await http_sign_in(other, name)
                theirs = {"csrf": await csrf_of(other, here), "done": "0"}
                async with other.post(f"{here}/follow-up", data=theirs) as response:
                    assert response.status == 403, name
        assert (await school.node.observations.get(made.id)).followed_up
        async with http.post(f"{here}/follow-up", data={"csrf": token, "done": "0"}) as response:
            assert "The follow-up is open again." in html.unescape(await response.text())
        status, page = await _page(http, "/")
        assert "Action point to follow up (questioning, Ms Green): Try no hands up" in page
    assert not (await school.node.observations.get(made.id)).followed_up


async def _is(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() == wanted
