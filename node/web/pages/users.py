"""The school's accounts, for admins: add, remove, give a new password.

A new password is stored only as a hash. To show it once, the form keeps it in
the admin's session and redirects to ``/users/password`` (Post/Redirect/Get),
which shows it and forgets it: reloading that page never makes another password.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

from node.accounts.service import MIN_PASSWORD, ROLES, User, is_valid_name, new_password
from node.clock import now_ms
from node.web.kit import (
    WEB,
    form_of,
    gettext,
    render,
    require,
    see_other,
    set_session_cookie,
    show_once,
    take_shown_once,
    user_of,
)
from protocol.errors import NotFoundError, said

routes = web.RouteTableDef()

assert len(new_password()) >= MIN_PASSWORD  # a made-up password is always accepted


def _groups(users: list[User]) -> list[tuple[str, list[tuple[str, list[User]]]]]:
    """Users by role (admins, staff, pupils), then by class."""
    by_role = {role: [u for u in users if u.role == role] for role in ROLES}
    return [
        (
            role,
            [
                (klass, list(members))
                for klass, members in itertools.groupby(
                    sorted(by_role[role], key=lambda u: (u.klass or "", u.name.lower())),
                    key=lambda u: u.klass or "",
                )
            ],
        )
        for role in ROLES
    ]


@routes.get("/users")
@require("admin")
async def users_page(request: web.Request) -> web.StreamResponse:
    return await _listing(request, errors={}, entered={})


async def _listing(
    request: web.Request, *, errors: dict[str, str], entered: dict[str, str], status: int = 200
) -> web.Response:
    users = await request.app[WEB].node.accounts.all()
    return render(
        request,
        "users.html",
        status=status,
        groups=_groups(users),
        count=len(users),
        roles=ROLES,
        errors=errors,
        entered=entered,
    )


@routes.post("/users")
@require("admin")
async def users_add(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    accounts = request.app[WEB].node.accounts
    form = form_of(request)
    name = " ".join(str(form.get("name", "")).split())
    role = str(form.get("role", ""))
    klass = " ".join(str(form.get("class", "")).split())
    errors = {}
    if not is_valid_name(name):
        errors["name"] = _(
            "Give a name of 1 to 60 characters, without @ < or >. For pupils, use a first "
            "name or a chosen name, never a surname or an email address."
        )
    elif await accounts.find(name) is not None:
        errors["name"] = _(
            "There is already someone called %(name)s in this school: add a letter, "
            "such as %(example)s."
        ) % {"name": name, "example": f"{name} K"}
    if role not in ROLES:
        errors["role"] = _("Choose a role.")
    if role == "pupil" and not klass:
        errors["class"] = _("A pupil needs a class, such as 5B.")
    if len(klass) > 40:
        errors["class"] = _("Keep the class under 40 characters.")
    if errors:
        entered = {"name": name, "role": role, "class": klass}
        return await _listing(request, errors=errors, entered=entered, status=400)
    password = new_password()
    user = await accounts.add(name, role, password, klass=klass or None, now=now_ms())
    await show_once(request, "/users/password", "password", _shown(user, password, new=True))


def _shown(person: User, password: str, *, new: bool, own: bool = False) -> dict[str, Any]:
    return {"name": person.name, "password": password, "new": new, "own": own}


@routes.get("/users/password")
@require("admin")
async def users_password_shown(request: web.Request) -> web.StreamResponse:
    """The new password, once: a reload says it was shown and how to make another."""
    made = await take_shown_once(request, "password") or {}
    response = render(
        request,
        "users_password.html",
        name=made.get("name", ""),
        password=made.get("password"),
        new=made.get("new", False),
        own=made.get("own", False),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _person(request: web.Request) -> User:
    """The account named in the form (or the address), said plainly if there is none."""
    name = " ".join(str(form_of(request).get("name", request.query.get("name", ""))).split())
    person = await request.app[WEB].node.accounts.find(name)
    if person is None:
        raise NotFoundError("no such account", page=said("There is no account with that name."))
    return person


@routes.get("/users/remove")
@require("admin")
async def users_confirm_remove(request: web.Request) -> web.StreamResponse:
    """Ask before removing (a page, not a script)."""
    person = await _person(request)
    return render(request, "users_remove.html", person=person, own=_is_me(request, person))


def _is_me(request: web.Request, person: User) -> bool:
    me: Any = user_of(request)
    return bool(me.name == person.name)


@routes.post("/users/remove")
@require("admin")
async def users_remove(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    accounts = request.app[WEB].node.accounts
    person = await _person(request)
    if _is_me(request, person):
        return await see_other(
            request,
            "/users",
            _("You cannot remove your own account: ask another administrator."),
            error=True,
        )
    await accounts.remove(person.name)
    return await see_other(
        request,
        "/users",
        _("%(name)s can no longer sign in. Their posts stay.") % {"name": person.name},
    )


@routes.get("/users/password/confirm")
@require("admin")
async def users_confirm_password(request: web.Request) -> web.StreamResponse:
    """Ask before a new password: the old one stops working and the person is signed
    out everywhere, so a slip of the mouse must not do it (a page, not a script)."""
    person = await _person(request)
    return render(
        request, "users_password_confirm.html", person=person, own=_is_me(request, person)
    )


@routes.post("/users/password")
@require("admin")
async def users_password(request: web.Request) -> web.StreamResponse:
    """A new password, shown once; the person is signed out everywhere.

    An admin who gives themselves a new password stays signed in here, in a new
    session (the password signed out the old one), which keeps it to show.
    """
    state = request.app[WEB]
    person = await _person(request)
    password = new_password()
    await state.node.accounts.set_password(person.name, password)
    if not _is_me(request, person):
        await show_once(request, "/users/password", "password", _shown(person, password, new=False))
    token = await state.sessions.start(person, now_ms())
    session = await state.sessions.find(token, now_ms())
    assert session is not None  # just started
    await state.sessions.keep_to_show(
        session, "password", _shown(person, password, new=False, own=True)
    )
    response = web.HTTPSeeOther("/users/password")
    set_session_cookie(request, response, token)
    raise response
