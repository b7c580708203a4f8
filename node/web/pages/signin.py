"""Signing in and out, and choosing the language of the pages."""

from __future__ import annotations

from aiohttp import web

from node.clock import now_ms
from node.web import i18n
from node.web.kit import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    VISIT,
    WEB,
    client_address,
    form_of,
    gettext,
    is_https,
    render,
    require,
    safe_next,
    set_session_cookie,
    user_of,
)

routes = web.RouteTableDef()


@routes.get("/signin")
async def signin_page(request: web.Request) -> web.StreamResponse:
    if user_of(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return render(request, "signin.html", next=safe_next(request.query.get("next")), name="")


@routes.post("/signin")
async def signin(request: web.Request) -> web.StreamResponse:
    state = request.app[WEB]
    _ = gettext(request)
    form = form_of(request)
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    address = client_address(request)
    wait = state.throttle.wait_for(address, name)
    if wait > 0:
        response = render(
            request,
            "signin.html",
            status=429,
            next=target,
            name=name,
            error=_("Too many attempts. Wait {seconds} seconds, then try again.").format(
                seconds=int(wait) + 1
            ),
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = await state.node.accounts.check_password(name, password) if name else None
    if user is None:
        return render(
            request,
            "signin.html",
            status=401,
            next=target,
            name=name,
            error=_(
                "That name and password do not match. Check them and try again; a teacher "
                "or your school's administrator can give you a new password."
            ),
        )
    state.throttle.succeeded(address, name)
    token = await state.sessions.start(user, now_ms())
    response = web.HTTPSeeOther(target)
    set_session_cookie(request, response, token)
    raise response


@routes.post("/signout")
@require("pupil")
async def signout(request: web.Request) -> web.StreamResponse:
    session = request[VISIT].session
    assert session is not None  # require() saw to it
    await request.app[WEB].sessions.end(session)
    response = web.HTTPSeeOther("/signin")
    response.del_cookie(SESSION_COOKIE)
    raise response


@routes.get("/language/{code}")
async def language(request: web.Request) -> web.StreamResponse:
    """Switch language (a plain link, so it works without JavaScript and before signing in)."""
    code = i18n.known(request.match_info["code"])  # /language/zh-CN finds zh_Hans too
    if code is None:
        raise web.HTTPNotFound()
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=365 * 86_400,
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
    )
    raise response
