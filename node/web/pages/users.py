"""The school's accounts, for admins: add, remove, give a new password.

A new password is shown once, on the page that made it, and stored only as a
hash: it is never put in a session or a flash message.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web

from node.accounts import MIN_PASSWORD, ROLES, User, is_valid_name, new_password
from node.clock import now_ms
from node.web.app import WEB, form_of, gettext, render, require, see_other, user_of
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
    return render(request, "users_password.html", person=user, password=password, new=True)


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


@routes.post("/users/password")
@require("admin")
async def users_password(request: web.Request) -> web.StreamResponse:
    """A new password, shown once; the person is signed out everywhere."""
    accounts = request.app[WEB].node.accounts
    person = await _person(request)
    password = new_password()
    await accounts.set_password(person.name, password)
    return render(request, "users_password.html", person=person, password=password, new=False)
