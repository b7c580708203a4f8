"""What every page uses: the node's web state, the visit, templates, forms, roles, redirects.

Pages (``node/web/pages/``) import from here, never from :mod:`node.web.app` (which
assembles the application from the pages and its middlewares) and never from another
page.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from node.net.peers import PeerManager
from node.node import Identity, Node
from node.web import i18n
from node.web.sessions import Sessions, SignInThrottle, WebSession
from protocol.errors import NotAllowedError, NotFoundError, SchoolmeshError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)

SESSION_COOKIE = "schoolmesh_session"
SIGNIN_COOKIE = "schoolmesh_signin"  # the CSRF token of a visitor not yet signed in
LANGUAGE_COOKIE = "schoolmesh_language"
STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"


ROLE_RANK = {"pupil": 0, "staff": 1, "admin": 2}


@dataclass
class Web:
    """What the pages share: the node, its peers, sessions and templates."""

    node: Node
    peers: PeerManager
    sessions: Sessions
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    environments: dict[str, jinja2.Environment] = field(default_factory=dict)

    def templates(self, language: str) -> jinja2.Environment:
        """The pages in ``language``. Dates are written by the page's ``clock``
        (:func:`clock`), so that one set of compiled templates serves every region:
        a visitor can name any region Babel knows, and each would cost a copy."""
        env = self.environments.get(language)
        if env is None:
            env = i18n.templates(TEMPLATE_DIR, language)
            env.globals["static"] = _static_url
            env.filters["day"] = _day
            env.filters["moment"] = _moment
            env.filters["event_time"] = _event_time
            env.filters["event_span"] = _event_span
            self.environments[language] = env
        return env


WEB = web.AppKey("web", Web)


@dataclass
class Visit:
    """What one request carries through the pages: who, in which language, which form."""

    language: str
    school: Identity
    csrf: str
    session: WebSession | None = None
    #: Babel's locale for dates: the language in the visitor's region (i18n.formats).
    formats: str = ""
    flash: str | None = None
    form: MultiDictProxy[Any] = field(default_factory=lambda: MultiDictProxy(MultiDict()))
    #: This request as a GET of the same address, copied before a POST's body is read
    #: (aiohttp copies no request after): a refused form's page is shown from a copy.
    as_get: web.Request | None = None
    #: The address a refused form was sent to, while its page is shown again.
    refused: str | None = None


VISIT = web.RequestKey("visit", Visit)


@functools.cache
def _static_url(name: str) -> str:
    """A static file's address with a hash of its content, so browsers refetch on change."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


# --- what a handler uses ------------------------------------------------------


class ShowPage(Exception):
    """Raised by a helper deep in a handler: answer with ``page`` (a rendered page,
    with its status) instead of the one asked for; :func:`node.web.app.sessions_and_csrf`
    returns it."""

    def __init__(self, page: web.Response) -> None:
        super().__init__(page.status)
        self.page = page


def user_of(request: web.Request) -> Any:
    """The signed-in :class:`User` (a page guarded by :func:`require` always has one)."""
    session = request[VISIT].session
    return session.user if session else None


def gettext(request: web.Request) -> Callable[[str], str]:
    """``_`` for messages built in Python (flash messages, form errors); a value put
    into one with ``%`` ends its own bidi controls (:class:`i18n.Sentence`)."""
    translate = i18n.translations(request[VISIT].language).gettext
    return lambda message: i18n.Sentence(translate(message))


def page_text(request: web.Request, exc: SchoolmeshError) -> str:
    """What a page says for ``exc``: its page words in the visitor's language.

    The error's message is for the command line (it may name options and commands);
    ``exc.page`` says the same to a teacher (protocol/errors.py, ``said``). An error
    without page words gets a general sentence, and a warning in the log that names
    its kind and the page, not its message (it may repeat what a pupil typed:
    docs/safeguarding.md).
    """
    if exc.page is not None:
        return i18n.page_words(request[VISIT].language, exc.page)
    log.warning("%s on %s has no words for the pages", type(exc).__name__, request.path)
    _ = gettext(request)
    if isinstance(exc, NotFoundError):
        return _("There is no page at this address. Use the menu instead.")
    return _("That could not be done. Check what you entered and try again.")


def form_of(request: web.Request) -> MultiDictProxy[Any]:
    """The submitted form (read once, by the CSRF check; line breaks are LF)."""
    return request[VISIT].form


def plain_lines(form: MultiDictProxy[Any]) -> MultiDictProxy[Any]:
    """``form`` with every line break as LF, the only one the network format allows.

    Browsers send a textarea's line breaks as CRLF (the HTML standard's form
    submission), and protocol/kinds.py refuses CR as a control character: so a post
    with a second paragraph, or an event's details on two lines, could not be sent.
    Every form is read here, so no page converts line breaks for itself. Files are
    left as they came.
    """
    return MultiDictProxy(
        MultiDict(
            (name, value.replace("\r\n", "\n").replace("\r", "\n"))
            if isinstance(value, str)
            else (name, value)
            for name, value in form.items()
        )
    )


def kept(request: web.Request, action: str, name: str, shown: Any = "") -> Any:
    """What to show in field ``name`` of the form sent to ``action``: what was typed,
    while that form is shown again after a refusal (:func:`show_again`), else ``shown``.
    """
    here = request[VISIT]
    if here.refused != action:
        return shown
    value = here.form.get(name, "")
    return value if isinstance(value, str) else ""


def kept_ticks(
    request: web.Request, action: str, name: str, shown: Iterable[str] = ()
) -> Collection[str]:
    """The values of the checkboxes ``name`` to tick in the form sent to ``action``: those
    ticked, while that form is shown again after a refusal (:func:`show_again`), else
    ``shown`` (what is stored).
    """
    here = request[VISIT]
    if here.refused != action:
        return tuple(shown)
    return tuple(v for v in here.form.getall(name, []) if isinstance(v, str))


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """Render a page in the visitor's language, with what every page needs."""
    here = request[VISIT]
    env = request.app[WEB].templates(here.language)
    session = here.session
    flash = here.flash
    kind, _, message = (flash or "").rpartition("\x1f")
    page = env.get_template(template).render(
        user=session.user if session else None,
        flash={"kind": kind or "ok", "text": message} if flash else None,
        csrf=here.csrf,
        language=here.language,
        languages=i18n.LANGUAGES,
        school=here.school,
        path=request.path_qs,
        kept=functools.partial(kept, request),
        kept_ticks=functools.partial(kept_ticks, request),
        clock=clock(
            here.formats or here.language,
            i18n.school_zone(here.school.country, here.school.tz),
            here.language,
        ),
        **context,
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


@functools.lru_cache(maxsize=64)
def clock(formats: str, zone: str | None, language: str) -> i18n.Clock:
    """How a page writes dates: Babel locale ``formats`` (the visitor's region), the
    school's ``zone``, the page's ``language`` (bounded: a visitor chooses the region)."""
    return i18n.Clock.of(formats, zone, language)


@jinja2.pass_context
def _day(context: jinja2.runtime.Context, value: Any) -> str:
    return str(context["clock"].day(value))


@jinja2.pass_context
def _moment(context: jinja2.runtime.Context, value: Any) -> str:
    return str(context["clock"].moment(value))


@jinja2.pass_context
def _event_time(context: jinja2.runtime.Context, *args: Any, **kwargs: Any) -> str:
    return str(context["clock"].event_time(*args, **kwargs))


@jinja2.pass_context
def _event_span(context: jinja2.runtime.Context, *args: Any, **kwargs: Any) -> str:
    return str(context["clock"].event_span(*args, **kwargs))


async def see_other(
    request: web.Request, location: str, flash: str | None = None, *, error: bool = False
) -> web.StreamResponse:
    """After a form: redirect (303) to ``location``, leaving ``flash`` for it to show.

    With ``error``, the form was refused: ``location``'s page is shown again in place
    instead, with ``flash`` as the error and what was typed kept (:func:`show_again`).
    """
    if error:
        return await show_again(request, flash or "", location)
    session = request[VISIT].session
    if flash is not None and session is not None:
        await request.app[WEB].sessions.set_flash(session, flash)
    raise web.HTTPSeeOther(location)


async def show_again(request: web.Request, error: str, page: str) -> web.StreamResponse:
    """A refused form: the page it was on, shown again (400) with ``error`` and all typed.

    A redirect would lose what was typed: a pupil's post, a teacher's note. So the
    page at ``page`` (the form's own page, or the first page up its address: a form
    shown again is at its action's address) is made here, as a GET of that address,
    and its templates fill each field of this form from :func:`kept`. Chosen files
    cannot be given back to a browser: a form with photos says to choose them again.
    If no page can be made there, it is the redirect and the message after all.
    """
    here = request[VISIT]
    shown = await _page_request(request, page)
    if shown is not None:
        here.flash, here.refused = f"error\x1f{error}", request.path
        try:
            response = await shown.match_info.handler(shown)
        except web.HTTPMove as moved:  # the page is now elsewhere: say it there
            page = str(moved.location)
        except (web.HTTPException, SchoolmeshError):
            pass  # the page itself cannot be shown now (gone, or not for this person)
        else:
            if not response.prepared:
                response.set_status(400)
                return response
        here.flash, here.refused = None, None
    session = here.session
    if session is not None:
        await request.app[WEB].sessions.set_flash(session, f"error\x1f{error}")
    raise web.HTTPSeeOther(page)


async def _page_request(request: web.Request, page: str) -> web.Request | None:
    """A GET of ``page``, or of the first address up from it that is a page."""
    blank = request[VISIT].as_get
    if blank is None:
        return None
    parts = urlsplit(page)
    tried = [parts.path + (f"?{parts.query}" if parts.query else "")]
    path = parts.path.rstrip("/")
    while path:
        path = path.rsplit("/", 1)[0]
        tried.append(path or "/")
    for address in tried:
        shown = blank.clone(rel_url=address)
        match = await request.app.router.resolve(shown)
        if match.http_exception is None:
            match.add_app(request.app)
            match.freeze()
            shown._match_info = match  # as aiohttp's Application._handle does
            return shown
    return None


async def show_once(
    request: web.Request, location: str, kind: str, secret: dict[str, Any]
) -> NoReturn:
    """Post/Redirect/Get for a secret shown once (an invite code, a password).

    The secret waits in the visitor's session for the page at ``location``, which
    takes it with :func:`take_shown_once`; it never goes into an address or a log.
    """
    session = request[VISIT].session
    assert session is not None  # the form's page is guarded by require()
    await request.app[WEB].sessions.keep_to_show(session, kind, secret)
    raise web.HTTPSeeOther(location)


async def take_shown_once(request: web.Request, kind: str) -> dict[str, Any] | None:
    """The secret kept by :func:`show_once` for this kind of page, gone once taken."""
    session = request[VISIT].session
    if session is None:
        return None
    return await request.app[WEB].sessions.take_to_show(session, kind)


def require(role: str) -> Callable[[Handler], Handler]:
    """Guard a page: sign in first, then be at least ``role`` (pupil < staff < admin)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = user_of(request)
            if user is None:
                raise web.HTTPSeeOther(f"/signin?next={quote(request.path_qs)}")
            if ROLE_RANK[user.role] < ROLE_RANK[role]:
                raise NotAllowedError("forbidden")
            return await handler(request)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return wrap


def safe_next(target: str | None) -> str:
    """A local path to go back to after signing in (never another site)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def is_https(request: web.Request) -> bool:
    """Over HTTPS, directly or through the school's proxy (its public address says so)."""
    return request.secure or (request.app[WEB].peers.address or "").startswith("https://")


def client_address(request: web.Request) -> str:
    """The visitor's address, for throttling sign-ins.

    Behind a reverse proxy on this computer every request comes from loopback, so
    then (and only then) the address the proxy adds to X-Forwarded-For is used.
    """
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote in ("127.0.0.1", "::1"):
        return forwarded.split(",")[-1].strip() or remote
    return remote


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=is_https(request), path="/"
    )
    response.del_cookie(SIGNIN_COOKIE)
