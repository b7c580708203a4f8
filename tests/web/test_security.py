"""The web pages' defences, checked over real HTTP against a real node."""

from __future__ import annotations

from http.cookies import SimpleCookie

from node.web.app import CSP, SESSION_COOKIE
from tests.network import LiveNode
from tests.web.web import PASSWORD, client, csrf_of, http_sign_in


async def test_sign_in_without_a_csrf_token_is_refused(school: LiveNode) -> None:
    async with client(school) as http:
        async with http.post(
            "/signin", data={"name": "Mr Jones", "password": PASSWORD}, allow_redirects=False
        ) as response:
            assert response.status == 403
            assert "security token" in await response.text()
            assert SESSION_COOKIE not in response.cookies
        # A token from another visitor's page does not do either.
        async with client(school) as other:
            stolen = await csrf_of(other, "/signin")
        await csrf_of(http, "/signin")
        async with http.post(
            "/signin",
            data={"csrf": stolen, "name": "Mr Jones", "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 403


async def test_signed_in_forms_need_the_sessions_token(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        async with http.post("/signout", data={}, allow_redirects=False) as response:
            assert response.status == 403
        async with http.get("/", allow_redirects=False) as response:
            assert response.status == 200  # still signed in
        token = await csrf_of(http, "/")
        async with http.post("/signout", data={"csrf": token}, allow_redirects=False) as response:
            assert response.status == 303
        async with http.get("/", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/signin")


async def test_session_cookie_is_httponly_and_samesite(school: LiveNode) -> None:
    async with client(school) as http:
        token = await csrf_of(http, "/signin")
        async with http.post(
            "/signin",
            data={"csrf": token, "name": "Mr Jones", "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            cookies = SimpleCookie()
            for header in response.headers.getall("Set-Cookie"):
                cookies.load(header)
            session = cookies[SESSION_COOKIE]
            assert session["httponly"]
            assert session["samesite"] == "Lax"
        # Only a hash of the cookie is in the database.
        rows = await school.node.store.fetch_all("SELECT token_hash FROM web_sessions")
        assert len(rows) == 1
        assert session.value.encode() not in rows[0][0]


async def test_every_page_carries_a_strict_content_security_policy(school: LiveNode) -> None:
    async with client(school) as http:
        for path in ("/signin", "/no-such-page", "/static/style.css"):
            async with http.get(path) as response:
                assert response.headers["Content-Security-Policy"] == CSP, path
                assert response.headers["X-Frame-Options"] == "DENY"
        await http_sign_in(http, "Amira")
        async with http.get("/") as response:
            assert response.headers["Content-Security-Policy"] == CSP
            assert "script-src" not in CSP
            assert "'unsafe-inline'" not in CSP


async def test_wrong_passwords_are_slowed_down(school: LiveNode) -> None:
    async with client(school) as http:
        token = await csrf_of(http, "/signin")
        statuses = []
        for _ in range(7):
            async with http.post(
                "/signin",
                data={"csrf": token, "name": "Mr Jones", "password": "guess-guess"},
                allow_redirects=False,
            ) as response:
                statuses.append(response.status)
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429, 429]
        # Even the right password waits now; the page says how long.
        async with http.post(
            "/signin",
            data={"csrf": token, "name": "Mr Jones", "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) > 0
            assert "Wait" in await response.text()


async def test_after_sign_in_only_local_pages_are_followed(school: LiveNode) -> None:
    async with client(school) as http:
        token = await csrf_of(http, "/signin")
        async with http.post(
            "/signin",
            data={
                "csrf": token,
                "name": "Mr Jones",
                "password": PASSWORD,
                "next": "//evil.example/phish",
            },
            allow_redirects=False,
        ) as response:
            assert response.headers["Location"] == "/"


async def test_a_removed_user_is_signed_out(school: LiveNode) -> None:
    async with client(school) as http:
        await http_sign_in(http, "Mr Jones")
        await school.node.accounts.remove("Mr Jones")
        async with http.get("/", allow_redirects=False) as response:
            assert response.status == 303


async def test_pages_follow_the_browsers_language_until_one_is_chosen(school: LiveNode) -> None:
    async with client(school) as http:
        async with http.get("/signin", headers={"Accept-Language": "fr-FR,fr;q=0.9"}) as page:
            assert "Mot de passe" in await page.text()
        async with http.get("/language/en?next=/signin") as page:
            assert "Password" in await page.text()
        async with http.get("/signin", headers={"Accept-Language": "fr"}) as page:
            assert "Password" in await page.text()


async def test_throttling_behind_a_local_proxy_is_per_visitor(school: LiveNode) -> None:
    """A proxy on the node's computer passes each visitor's address; others cannot."""
    async with client(school) as http:
        token = await csrf_of(http, "/signin")

        async def attempt(forwarded_for: str) -> int:
            async with http.post(
                "/signin",
                data={"csrf": token, "name": "Mrs Patel", "password": "wrong-wrong"},
                headers={"X-Forwarded-For": forwarded_for},
                allow_redirects=False,
            ) as response:
                return response.status

        # Five tries for the name from one visitor, then the name is throttled for all:
        assert [await attempt("203.0.113.7") for _ in range(5)] == [401] * 5
        assert await attempt("198.51.100.9") == 429
        # ...but a different name from a different visitor is not slowed.
        async with http.post(
            "/signin",
            data={"csrf": token, "name": "Mr Jones", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.9"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303


def test_every_page_names_who_may_use_it() -> None:
    """A page added without @require would be open to anyone who can reach the node."""
    from aiohttp import web

    from node.web.pages import ROUTE_TABLES, signin

    open_pages = {signin.signin_page, signin.signin, signin.language}
    for routes in ROUTE_TABLES:
        for route in routes:
            assert isinstance(route, web.RouteDef)
            if route.handler in open_pages:
                continue
            role = getattr(route.handler, "required_role", None)
            assert role in ("pupil", "staff", "admin"), f"{route.method} {route.path}"
