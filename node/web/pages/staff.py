"""Staff profiles: strengths, development areas, phase and subjects, for peer observation.

Staff only. Every colleague sees the school's profiles (the pairs and triads page is
made from them); an admin edits anyone's, and each colleague edits their own, under
the name they sign in with. Profiles stay in this school's database (node/observations/staff.py):
no other school receives them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.accounts.service import same_name
from node.observations import staff
from node.web.kit import (
    VISIT,
    WEB,
    form_of,
    gettext,
    kept,
    render,
    require,
    see_other,
    user_of,
)
from node.web.vocabulary import vocabulary
from protocol import kinds
from protocol.errors import NotAllowedError, said

routes = web.RouteTableDef()


def _may_edit(request: web.Request, name: str) -> bool:
    user = user_of(request)
    return user.role == "admin" or same_name(user.name, name)


def _split(text: str) -> list[str]:
    """Tags as typed: separated by commas or new lines."""
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


@routes.get("/staff")
@require("staff")
async def staff_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    user = user_of(request)
    people = await node.staff.listing()
    wanted = request.query.get("name", "").strip()
    if user.role != "admin" or not wanted:
        wanted = wanted if user.role == "admin" else user.name
    editing = next((p for p in people if same_name(p.name, wanted)), None)
    values: dict[str, Any] = {
        "name": editing.name if editing else wanted,
        "strengths": ", ".join(editing.strengths) if editing else "",
        "develops": ", ".join(editing.develops) if editing else "",
        "subjects": ", ".join(editing.subjects) if editing else "",
        "phase": (editing.phase or "") if editing else "",
    }
    values = {k: kept(request, "/staff", k, v) for k, v in values.items()}
    return render(
        request,
        "staff_index.html",
        people=[(p, _may_edit(request, p.name)) for p in people],
        values=values,
        admin=user.role == "admin",
        known=editing is not None,
        phases=kinds.PHASES,
        vocab=vocabulary(request[VISIT].language, gettext(request)),
    )


@routes.post("/staff")
@require("staff")
async def save_profile(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = form_of(request)
    user = user_of(request)
    name = str(form.get("name", "")).strip() if user.role == "admin" else user.name
    if not _may_edit(request, name):
        raise NotAllowedError(
            "only admins edit other colleagues' profiles",
            page=said("Only admins can change another colleague's profile."),
        )
    phase = str(form.get("phase", "")).strip() or None
    person = staff.member(
        name,
        strengths=_split(str(form.get("strengths", ""))),
        develops=_split(str(form.get("develops", ""))),
        subjects=_split(str(form.get("subjects", ""))),
        phase=phase,
    )  # a refusal shows the form again, with what was typed
    await request.app[WEB].node.staff.add(person, replace=True)
    return await see_other(
        request,
        "/staff",
        _("The profile of %(name)s is saved: it stays in our school.") % {"name": person.name},
    )


@routes.post("/staff/remove")
@require("staff")
async def remove_profile(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    name = str(form_of(request).get("name", "")).strip()
    if not _may_edit(request, name):
        raise NotAllowedError(
            "only admins remove other colleagues' profiles",
            page=said("Only admins can change another colleague's profile."),
        )
    await request.app[WEB].node.staff.remove(name)
    return await see_other(
        request, "/staff", _("The profile of %(name)s is removed.") % {"name": name}
    )
