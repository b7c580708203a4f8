"""The schools directory and partnership requests (node/directory/service.py).

Staff browse every school whose profile reached us, with search and filters, and
each school's profile and public offers. Asking a school to partner, and
accepting or declining a school's request, is for the school's administrators:
it changes who the node connects to.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.clock import now_ms
from node.directory.service import School
from node.offers.interests import MAX_MESSAGE
from node.web.kit import (
    VISIT,
    WEB,
    form_of,
    gettext,
    page_text,
    render,
    require,
    see_other,
    user_of,
)
from node.web.vocabulary import vocabulary
from protocol import kinds
from protocol.errors import NotAllowedError, NotFoundError, UserInputError

routes = web.RouteTableDef()


def _states(_: Any) -> dict[str, str]:
    return {
        "open": _("waiting for an answer"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "expired": _("expired"),
    }


@routes.get("/schools")
@require("staff")
async def schools_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    query = request.query
    chosen = {name: query.get(name, "").strip() for name in ("q", "country", "language", "phase")}
    if chosen["phase"] not in kinds.PHASES:
        chosen["phase"] = ""
    age_text = query.get("age", "").strip()
    age = int(age_text) if age_text.isdigit() and 2 <= int(age_text) <= 19 else None
    found = await node.directory.schools(
        country=chosen["country"] or None,
        language=chosen["language"] or None,
        phase=chosen["phase"] or None,
        age=age,
        words=chosen["q"] or None,
    )
    now = now_ms()
    requests = await node.directory.requests(now=now)
    return render(
        request,
        "schools_index.html",
        schools=[s for s in found if not s.ours],
        chosen=chosen,
        age="" if age is None else str(age),
        ages=range(3, 19),
        received=[r for r in requests if r.direction == "received"],
        sent=[r for r in requests if r.direction == "sent"],
        states=_states(gettext(request)),
        vocab=vocabulary(request[VISIT].language, gettext(request)),
    )


async def _school(request: web.Request) -> School:
    try:
        return await request.app[WEB].node.directory.school(request.match_info["node"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None


@routes.get("/schools/{node}")
@require("staff")
async def school_page(request: web.Request) -> web.StreamResponse:
    school = await _school(request)
    node = request.app[WEB].node
    sent = [
        r
        for r in await node.directory.requests(now=now_ms())
        if r.school_id == school.node_id and r.state == "open"
    ]
    return render(
        request,
        "schools_show.html",
        found=school,
        waiting=sent[0] if sent else None,
        max_message=MAX_MESSAGE,
        vocab=vocabulary(request[VISIT].language, gettext(request)),
    )


@routes.post("/schools/{node}/request")
@require("admin")
async def ask_to_partner(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    school = await _school(request)
    here = f"/schools/{school.node_id}"
    message = str(form_of(request).get("message", ""))
    try:
        await request.app[WEB].node.directory.request(
            str(school.node_id), message, by=user_of(request).name, now=now_ms()
        )
    except (UserInputError, NotAllowedError) as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    return await see_other(
        request,
        here,
        _("Your request is sent to %(school)s only. You will see their answer here.")
        % {"school": school.name},
    )


@routes.post("/partner-requests/{id}/{answer:accept|decline}")
@require("admin")
async def answer_request(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    directory = request.app[WEB].node.directory
    try:
        found = await directory.get(request.match_info["id"], now=now_ms())
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
    if found.id != request.match_info["id"]:
        raise web.HTTPNotFound()
    try:
        if request.match_info["answer"] == "accept":
            await directory.accept(found.id, now=now_ms())
            done = _("%(school)s is now a partner: they are told, and the nodes connect.")
        else:
            await directory.decline(found.id, now=now_ms())
            done = _("Declined: %(school)s is told.")
    except (UserInputError, NotAllowedError) as exc:
        return await see_other(request, "/schools", page_text(request, exc), error=True)
    return await see_other(request, "/schools#requests", done % {"school": found.school})
