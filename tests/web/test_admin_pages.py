"""Our school, partners, node status and users, checked over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from node.clock import now_ms
from node.partners.peerbook import ADDRESS_SETTING, PeerBook
from tests.helpers import key
from tests.network import LiveNode, partner, wait_for
from tests.web.web import PASSWORD, add_user, client, csrf_of, http_sign_in


async def sign_in_with(http: aiohttp.ClientSession, name: str, password: str) -> int:
    token = await csrf_of(http, "/signin")
    async with http.post(
        "/signin",
        data={"csrf": token, "name": name, "password": password, "next": "/"},
        allow_redirects=False,
    ) as response:
        return response.status


async def post(http: aiohttp.ClientSession, path: str, data: dict[str, str]) -> tuple[int, str]:
    token = await csrf_of(http, "/")
    async with http.post(path, data={"csrf": token, **data}, allow_redirects=False) as response:
        return response.status, await response.text()


@pytest.mark.parametrize(
    ("who", "refused"),
    [
        ("Mr Jones", ["/users", "/users/remove?name=Amira"]),
        ("Amira", ["/users", "/partners", "/status", "/profile", "/partners/x/remove"]),
    ],
)
async def test_pages_refuse_lower_roles(school: LiveNode, who: str, refused: list[str]) -> None:
    async with client(school) as http:
        await http_sign_in(http, who)
        for path in refused:
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 403, path
                page = await response.text()
                assert "Not for your account" in page
                # The refusal says who the page is for, in the reader's terms.
                for_whom = "for staff" if who == "Amira" else "administrators"
                assert for_whom in page, path


async def test_staff_may_look_but_not_change(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        for path in ("/partners", "/status", "/profile"):
            async with http.get(path, allow_redirects=False) as response:
                assert response.status == 200, path
        async with http.get("/profile") as response:
            page = await response.text()
        assert school.node.node_id.fingerprint in page
        assert 'action="/profile"' not in page  # no form for staff
        for path, data in [
            ("/profile", {"name": "Hacked", "country": "GB"}),
            ("/partners/invite", {"days": "7"}),
            ("/partners/add", {"code": "x"}),
            ("/users", {"name": "Eve", "role": "admin"}),
            ("/users/password", {"name": "Mrs Patel"}),
            ("/users/remove", {"name": "Mrs Patel"}),
        ]:
            status, _ = await post(http, path, data)
            assert status == 403, path
    assert (await school.node.identity()).name == "Oakfield Primary School"
    assert await school.node.accounts.check_password("Mrs Patel", PASSWORD) is not None


async def shown_once(http: aiohttp.ClientSession, path: str) -> tuple[str, str]:
    """GET the page that shows a new secret; return its text and its Cache-Control."""
    async with http.get(path, allow_redirects=False) as response:
        assert response.status == 200, path
        return await response.text(), response.headers.get("Cache-Control", "")


async def test_a_user_added_on_the_page_can_sign_in(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        status, _ = await post(http, "/users", {"name": "Zoë", "role": "pupil", "class": "6A"})
        assert status == 303
        page, _cache = await shown_once(http, "/users/password")
        assert "Zoë can now sign in" in page
        password = re.search(r'id="new-password">([^<]+)<', page)
        assert password
    async with client(school) as http:
        assert await sign_in_with(http, "Zoë", password[1]) == 303
        async with http.get("/") as response:
            assert "Hello, Zoë" in await response.text()
    zoe = await school.node.accounts.get("Zoë")
    assert (zoe.role, zoe.klass, zoe.show_name) == ("pupil", "6A", "initials")


async def test_adding_a_user_explains_what_is_wrong(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        status, page = await post(http, "/users", {"name": "Amira", "role": "pupil", "class": ""})
        assert status == 400
        assert "already someone called Amira" in page
        assert "A pupil needs a class" in page
        assert 'value="Amira"' in page  # what was typed is kept


async def test_new_password_replaces_the_old_and_remove_needs_confirming(
    school: LiveNode,
) -> None:
    async with client(school) as amira:
        await http_sign_in(amira, "Amira")
        async with client(school) as http:
            await http_sign_in(http, "Mrs Patel")
            status, _ = await post(http, "/users/password", {"name": "Amira"})
            assert status == 303
            page, _cache = await shown_once(http, "/users/password")
            found = re.search(r'id="new-password">([^<]+)<', page)
            assert found
            async with amira.get("/", allow_redirects=False) as response:
                assert response.status == 303  # signed out everywhere
            assert await school.node.accounts.check_password("Amira", PASSWORD) is None
            assert await school.node.accounts.check_password("Amira", found[1]) is not None

            async with http.get("/users/remove?name=Amira") as response:
                assert "Remove Amira?" in await response.text()
            assert await school.node.accounts.find("Amira") is not None  # only asked
            status, _ = await post(http, "/users/remove", {"name": "Amira"})
            assert status == 303
            assert await school.node.accounts.find("Amira") is None
            status, page = await post(http, "/users/remove", {"name": "Mrs Patel"})
            assert status == 400  # the list of users again, saying why not
            assert await school.node.accounts.find("Mrs Patel") is not None
            assert "cannot remove your own account" in page


async def posted(http: aiohttp.ClientSession, path: str, data: dict[str, str]) -> str:
    """POST a form that makes a secret: a 303 to the page that shows it, nothing in the URL."""
    token = await csrf_of(http, "/")
    async with http.post(path, data={"csrf": token, **data}, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        return response.headers["Location"]


async def kept(school: LiveNode) -> list[object]:
    """What the web sessions hold to show once (nothing, once it was shown)."""
    rows = await school.node.store.fetch_all("SELECT shown_once FROM web_sessions")
    return [r[0] for r in rows if r[0] is not None]


async def test_a_new_password_is_shown_once_and_a_reload_makes_no_other(
    school: LiveNode,
) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        where = await posted(http, "/users/password", {"name": "Amira"})
        assert where == "/users/password"
        page, cache = await shown_once(http, where)
        assert cache == "no-store"
        assert "New password for Amira" in page
        found = re.search(r'id="new-password">([^<]+)<', page)
        assert found
        assert await kept(school) == []  # taken out of the session as it was shown
        # A reload: no password, no new one, and a plain explanation.
        again, cache = await shown_once(http, where)
        assert cache == "no-store"
        assert found[1] not in again
        assert 'id="new-password"' not in again
        assert "already shown" in again
        assert "New password button on the Users page" in again
        assert await school.node.accounts.check_password("Amira", found[1]) is not None
        # The same for a new user's password.
        where = await posted(http, "/users", {"name": "Zoë", "role": "pupil", "class": "6A"})
        first, _cache = await shown_once(http, where)
        made = re.search(r'id="new-password">([^<]+)<', first)
        assert made
        again, _cache = await shown_once(http, where)
        assert made[1] not in again
        assert "already shown" in again
        assert await school.node.accounts.check_password("Zoë", made[1]) is not None
        # A new invite code kept for its own page is not shown here, nor lost.
        await posted(http, "/partners/invite", {"days": "1"})
        other, _cache = await shown_once(http, "/users/password")
        assert "already shown" in other
        invite, _cache = await shown_once(http, "/partners/invite")
        assert "Your invite code" in invite


async def test_a_new_invite_code_is_shown_once_and_a_reload_makes_no_other(
    school: LiveNode,
) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        where = await posted(http, "/partners/invite", {"days": "7"})
        assert where == "/partners/invite"
        page, cache = await shown_once(http, where)
        assert cache == "no-store"
        code = re.search(r'id="invite-code"[^>]*>([^<]+)<', page)
        assert code
        again, cache = await shown_once(http, where)
        assert cache == "no-store"
        assert code[1].strip() not in again
        assert "This invite code was already shown" in again
        assert 'id="invite-code"' not in again
        assert await kept(school) == []
    invites = await school.node.store.fetch_all("SELECT token FROM invites")
    assert len(invites) == 1  # the reload made no second code


async def test_an_admins_own_new_password_keeps_them_signed_in_here(school: LiveNode) -> None:
    async with client(school) as elsewhere, client(school) as http:
        await http_sign_in(elsewhere, "Mrs Patel")
        await http_sign_in(http, "Mrs Patel")
        where = await posted(http, "/users/password", {"name": "Mrs Patel"})
        page, _cache = await shown_once(http, where)
        assert "Your new password" in page
        found = re.search(r'id="new-password">([^<]+)<', page)
        assert found
        async with http.get("/users", allow_redirects=False) as response:
            assert response.status == 200  # still signed in here, in a new session
        async with elsewhere.get("/users", allow_redirects=False) as response:
            assert response.status == 303  # signed out everywhere else
        again, _cache = await shown_once(http, where)
        assert found[1] not in again
    assert await school.node.accounts.check_password("Mrs Patel", PASSWORD) is None
    assert await school.node.accounts.check_password("Mrs Patel", found[1]) is not None


async def test_admin_edits_the_profile(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        form = {
            "name": "Oakfield Primary",
            "country": "gb",
            "region": "Leeds",
            "url": "https://oakfield.example",
            "languages": "en, fr",
            "phases": "primary",
            "about": "",
        }
        status, _ = await post(http, "/profile", form)
        assert status == 303
        profile = await school.node.store.latest_profile(school.node.node_id)
        assert profile == {
            "name": "Oakfield Primary",
            "country": "GB",
            "region": "Leeds",
            "url": "https://oakfield.example",
            "languages": ["en", "fr"],
            "phases": ["primary"],
        }
        status, page = await post(http, "/profile", {**form, "country": "XX", "url": "nope"})
        assert status == 400
        assert "two-letter code" in page
        assert "https://" in page
        assert (await school.node.identity()).country == "GB"


async def test_no_invite_from_a_node_others_cannot_reach(school: LiveNode) -> None:
    # As when the node listens on every interface and was given no --address.
    await school.node.store.set_setting(ADDRESS_SETTING, None)
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        async with http.get("/partners") as response:
            page = await response.text()
        assert "Other schools cannot reach this node" in page
        assert 'action="/partners/invite"' not in page
        assert 'action="/partners/add"' in page  # joining others still works
        status, page = await post(http, "/partners/invite", {"days": "7"})
        assert status == 400  # the partners page again, saying why not
        assert '<p class="flash error" role="alert">' in page


async def test_status_explains_peers_and_equivocation(tmp_path: Path) -> None:
    a = await LiveNode.start(tmp_path / "a", "Oakfield Primary School")
    b = await LiveNode.start(tmp_path / "b", "École Jules Verne", country="FR")
    try:
        await add_user(a, "Mr Jones", "staff")
        await partner(a, b)
        statuses = PeerBook(a.node.store)

        async def connected() -> bool:
            s = (await statuses.statuses()).get(b.node.node_id)
            names = await statuses.names()
            return bool(s and s.connected and names[b.node.node_id][0])

        await wait_for(connected, what="a session with B")
        async with a.node.store.write():
            await a.node.store.execute(
                "INSERT INTO equivocations (author, seq, first, second, detected_at) "
                "VALUES (?, 2, ?, ?, ?)",
                (bytes(b.node.node_id), b"\x01" * 32, b"\x02" * 32, now_ms()),
            )
        async with client(a) as http:
            await http_sign_in(http, "Mr Jones")
            async with http.get("/status") as response:
                page = await response.text()
        assert "École Jules Verne" in page
        assert "connected" in page
        assert "key may have been copied" in page
        await b.stop()
        await wait_for(lambda: _disconnected(statuses, b.node.node_id), what="B to be seen as gone")
        async with client(a) as http:
            await http_sign_in(http, "Mr Jones")
            async with http.get("/status") as response:
                page = await response.text()
        assert "not connected" in page
    finally:
        await a.stop()
        await b.stop()


async def _disconnected(book: PeerBook, node_id: object) -> bool:
    s = (await book.statuses()).get(node_id)  # type: ignore[call-overload]
    return bool(s and not s.connected)


async def test_blocking_a_partner_asks_first(school: LiveNode) -> None:
    other = key(7).node_id
    book = PeerBook(school.node.store)
    await book.add(other, "http://127.0.0.1:9", now_ms())
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        async with http.get(f"/partners/{other}/block") as response:
            page = await response.text()
        assert "Yes, block this school" in page
        assert (await book.get(other)).state == "partner"  # type: ignore[union-attr]
        status, _ = await post(http, f"/partners/{other}/block", {})
        assert status == 303
        assert (await book.get(other)).state == "blocked"  # type: ignore[union-attr]
        async with http.get("/partners") as response:
            page = await response.text()
        assert "blocked" in page
        assert f"/partners/{other}/remove" not in page
        async with http.get("/partners/not-a-node-id/remove") as response:
            assert response.status == 404
