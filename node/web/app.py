"""The web application: the pages' routes, and the middlewares every request goes through.

Pages live in ``node/web/pages/``, one module per area, each with a ``routes``
table; what they share (templates, forms, roles, redirects) is in
:mod:`node.web.kit`. This module imports the pages, never the reverse. Every
page is rendered on the server and works without JavaScript. What every request goes
through, in order:

1. :func:`security_headers`: a strict Content-Security-Policy and friends on
   every response (no scripts at all, no inline styles, no framing), and
   ``Cache-Control: no-store`` on all but static files and the node's public card.
2. :func:`error_pages`: any error, expected (404, 405, 413) or not (a bug: 500),
   answers a page in the visitor's language, never the server's bare text.
3. :func:`sessions_and_csrf`: finds the signed-in user from the session cookie and
   the visitor's language; reads a POST's form once, with every line break made LF
   (:func:`plain_lines`), and refuses it if its CSRF token does not match; turns a
   refused action (:class:`SchoolmeshError`) into its form's page shown again, with
   the error in its page words (:func:`page_text`) and what was typed kept
   (:func:`show_again`); answers with the page a :class:`ShowPage` raised carries.
4. The page handler, guarded by :func:`require` for its role.

The ``Server`` header says only ``schoolmesh`` (:func:`plain_server_header`): no
versions for a scanner to match against known flaws.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from aiohttp import web, web_response

from node.clock import now_ms
from node.net.peers import PeerManager
from node.node import Node
from node.web import i18n
from node.web.kit import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    STATIC_DIR,
    VISIT,
    WEB,
    Handler,
    ShowPage,
    Visit,
    Web,
    gettext,
    is_https,
    page_text,
    plain_lines,
    render,
    show_again,
)
from node.web.pages import ROUTE_TABLES
from node.web.sessions import Sessions
from protocol.errors import NotAllowedError, NotFoundError, SchoolmeshError, UserInputError

log = logging.getLogger(__name__)

#: Paths served to other nodes and feed readers, not to people in a browser.
MACHINE_PATHS = ("/peer", "/.well-known/", "/feeds/", "/webcal/")
#: What may be kept by a browser or a proxy: nothing else is (every page, photo,
#: calendar and feed is for the signed-in school only).
PUBLIC_PATHS = ("/static/", "/.well-known/")
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Large enough for a post with its photos straight from a tablet's camera.
MAX_UPLOAD_BYTES = 40 * 1024 * 1024


def _is_machine_path(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in MACHINE_PATHS)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        if not request.path.startswith(PUBLIC_PATHS):
            exc.headers.setdefault("Cache-Control", "no-store")
        raise
    if not isinstance(response, web.WebSocketResponse) and not response.prepared:
        response.headers.update(SECURITY_HEADERS)
        if response.content_type == "text/html" or not request.path.startswith(PUBLIC_PATHS):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error answers with a page in the visitor's language, never bare text.

    What a handler did not expect (a bug, or stored data it cannot show) is logged
    with its traceback and answers 500 with the same security headers as any page.
    Peers and feed readers get plain text, as before.
    """
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or _is_machine_path(request.path):
            raise
        return await error_page(request, exc.status)
    except Exception:
        # The path as repr, cut short: it is the visitor's text (no forged log lines).
        log.exception("error on %s %r", request.method, request.path[:200])
        if _is_machine_path(request.path):
            raise web.HTTPInternalServerError(text="internal error") from None
        return await error_page(request, 500)
    if isinstance(response, web.FileResponse) and not _is_static_file(request):
        return await error_page(request, 404)  # aiohttp would answer an empty 404
    return response


def _is_static_file(request: web.Request) -> bool:
    root = STATIC_DIR.resolve()
    path = (root / request.match_info.get("filename", "")).resolve()
    return path.is_relative_to(root) and path.is_file()


async def error_page(request: web.Request, status: int) -> web.Response:
    """The page for an HTTP error ``status``, in the visitor's language."""
    here = request.get(VISIT)
    if here is None:  # the error came before the visit was known (static files, a bug)
        try:
            school = await request.app[WEB].node.identity()
        except Exception:  # the database itself is failing: plain words, still headers
            log.exception("cannot show an error page for %r", request.path[:200])
            return web.Response(text=f"{status}", status=status, content_type="text/plain")
        language = i18n.choose(
            request.cookies.get(LANGUAGE_COOKIE),
            request.headers.get("Accept-Language"),
            school.country,
        )
        formats = i18n.formats(language, request.headers.get("Accept-Language"))
        here = request[VISIT] = Visit(language, school, csrf="", formats=formats)
    _ = gettext(request)
    title, message = (
        _("That could not be done"),
        _("The address or the form was not understood. Go back, reload the page and try again."),
    )
    if status == 404:
        title = _("Not found")
        message = _("There is no page at this address. Use the menu instead.")
    elif status == 405:
        message = _("This address cannot be used that way. Use the menu and the page's buttons.")
    elif status == 413:
        title = _("Too large to send")
        message = _(
            "What you sent is larger than %(size)s MB altogether: send fewer or smaller "
            "photos, or send them in two goes."
        ) % {"size": MAX_UPLOAD_BYTES // 2**20}
    elif status >= 500:
        title = _("Something went wrong")
        message = _(
            "This page could not be shown because of an error at our school's node. Try "
            "again in a moment; if it happens again, tell your school's schoolmesh "
            "administrator (the node's log says what went wrong)."
        )
    try:
        return render(request, "error.html", status=status, title=title, message=message)
    except Exception:  # the page itself cannot be made: plain words, still headers
        log.exception("cannot show an error page for %r", request.path[:200])
        return web.Response(text=f"{status} {title}", status=status, content_type="text/plain")


async def plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """Name no versions (aiohttp would send ``Python/3.11 aiohttp/3.x``)."""
    response.headers["Server"] = SERVER


SERVER = "schoolmesh"
# A request aiohttp cannot even parse (a request line over 8 KB, a broken header) is
# answered 400 by aiohttp itself, before any middleware or signal runs: its Server
# header comes from this constant.
web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]


@web.middleware
async def sessions_and_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_machine_path(request.path) or request.path.startswith("/static/"):
        return await handler(request)
    state = request.app[WEB]
    now = now_ms()
    session = None
    if token := request.cookies.get(SESSION_COOKIE):
        session = await state.sessions.find(token, now)
    school = await state.node.identity()
    language = i18n.choose(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("Accept-Language"), school.country
    )
    new_signin_token = None
    if session is not None:
        csrf = session.csrf
    else:
        csrf = request.cookies.get(SIGNIN_COOKIE) or ""
        if not csrf:
            new_signin_token = csrf = secrets.token_urlsafe(32)
    formats = i18n.formats(language, request.headers.get("Accept-Language"))
    here = request[VISIT] = Visit(language, school, csrf, session, formats=formats)
    if session is not None and session.flash:
        here.flash = session.flash
        await state.sessions.set_flash(session, None)
    _ = gettext(request)
    if request.method == "POST":
        here.as_get = request.clone(method="GET")
        here.form = plain_lines(await request.post())
        sent = here.form.get("csrf")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, csrf):
            return render(
                request,
                "error.html",
                status=403,
                title=_("This form has expired"),
                message=_(
                    "The form was missing its security token, or it came from another "
                    "site. Go back, reload the page and try again."
                ),
            )
    try:
        response = await handler(request)
    except ShowPage as shown:
        response = shown.page
    except SchoolmeshError as exc:
        response = await _refused(request, exc)
    if new_signin_token:
        response.set_cookie(
            SIGNIN_COOKIE,
            new_signin_token,
            httponly=True,
            samesite="Strict",
            secure=is_https(request),
        )
    return response


async def _refused(request: web.Request, exc: SchoolmeshError) -> web.StreamResponse:
    """A page for an error a handler raised, in the error's page words."""
    _ = gettext(request)
    session = request[VISIT].session
    if isinstance(exc, NotAllowedError):
        if exc.page is not None:  # something this person's school or role may not do
            message = page_text(request, exc)
        elif session is not None and session.user.is_staff:  # a page for admins only
            message = _(
                "This page is for your school's schoolmesh administrators. If you need "
                "it, ask one of them."
            )
        else:
            message = _(
                "This page is for staff. If you need it, ask a teacher or your "
                "school's schoolmesh administrator."
            )
        title = _("Not for your account")
        return render(request, "error.html", status=403, title=title, message=message)
    if isinstance(exc, NotFoundError):
        message = page_text(request, exc)
        return render(request, "error.html", status=404, title=_("Not found"), message=message)
    if request.method == "POST":
        # A refused action: the form again, saying what was wrong, with all typed kept.
        return await show_again(request, page_text(request, exc), _back(request))
    if isinstance(exc, UserInputError):
        message = page_text(request, exc)
        return render(
            request, "error.html", status=400, title=_("That could not be done"), message=message
        )
    raise exc


def _back(request: web.Request) -> str:
    """The page a form was sent from (same site only), else the form's own address."""
    referer = request.headers.get("Referer", "")
    parts = urlsplit(referer)
    if parts.netloc == request.host and parts.path.startswith("/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.path


def add_web_pages(app: web.Application, node: Node, peers: PeerManager) -> None:
    """Serve the web pages from ``app`` (the node's one HTTP application)."""
    app[WEB] = Web(node, peers, Sessions(node.store, node.accounts))
    app.middlewares.extend([security_headers, error_pages, sessions_and_csrf])
    app.on_response_prepare.append(plain_server_header)
    for routes in ROUTE_TABLES:
        app.router.add_routes(routes)
    app.router.add_static("/static", STATIC_DIR)
