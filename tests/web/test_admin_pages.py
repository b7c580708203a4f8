"""Our school, partners, node status and users, checked over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from node.clock import now_ms
from node.partners import ADDRESS_SETTING, PeerBook
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


async def test_a_user_added_on_the_page_can_sign_in(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mrs Patel")
        status, page = await post(http, "/users", {"name": "Zoë", "role": "pupil", "class": "6A"})
        assert status == 200
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
            status, page = await post(http, "/users/password", {"name": "Amira"})
            assert status == 200
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
            status, _ = await post(http, "/users/remove", {"name": "Mrs Patel"})
            assert status == 303
            assert await school.node.accounts.find("Mrs Patel") is not None
            async with http.get("/users") as response:
                assert "cannot remove your own account" in await response.text()


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
        status, _ = await post(http, "/partners/invite", {"days": "7"})
        assert status == 303
        async with http.get("/partners") as response:
            assert 'class="flash error"' in await response.text()


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
