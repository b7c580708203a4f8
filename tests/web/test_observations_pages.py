"""Peer-observation pages over plain HTTP: who sees what, who shares, the form's checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
            form = {"csrf": token, "shared": "0"}
            async with http.post(f"/observations/{made.id}/share", data=form) as response:
                assert "private again" in await response.text()
            await wait_for(lambda: _is(copies, 0), what="the copy deleted at Lyon")
    finally:
        await lyon.stop()


async def _is(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() == wanted
