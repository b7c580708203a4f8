"""Pupil conferences and debates: our team, every school's team, a printable programme.

Staff of a school other than the organiser's say on the event's page how many
pupils come and in which roles (the host school may enter its own team too); the
page lists every school's team by numbers and roles. Pupils see the conferences
their school sends a team to (``/conferences``) and their programmes: title,
times, place and the teams, never the organiser's notes or anyone's name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from node.clock import now_ms
from node.events import service as events
from node.events.teams import FORMATS, MAX_PUPILS, ROLES
from node.node import Node
from node.web.kit import WEB, form_of, gettext, page_text, render, require, see_other, user_of
from node.web.team_views import team_view, totals
from protocol.errors import NotFoundError, UserInputError

routes = web.RouteTableDef()


async def _event(request: web.Request) -> events.EventView:
    try:
        return await request.app[WEB].node.events.find(request.match_info["id"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None


def _number(text: str) -> int | None:
    text = text.strip()
    if not text:
        return 0
    return int(text) if text.isdigit() else None


@routes.post("/events/{id}/team")
@require("staff")
async def send_team(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    event = await _event(request)
    form = form_of(request)
    page = f"/events/{event.id}"
    today = datetime.now(UTC).date()
    if form.get("withdraw"):
        try:
            await node.teams.send(event, None, {}, now=now_ms(), today=today)
        except UserInputError as exc:
            return await see_other(request, page, page_text(request, exc), error=True)
        return await see_other(request, page, _("Our team is withdrawn."))
    pupils = _number(str(form.get("pupils", "")))
    roles = {role: _number(str(form.get(role, ""))) for role in ROLES}
    if not pupils or any(count is None for count in roles.values()):
        words = _("Give the number of pupils as a whole number from 1 to %(most)s.")
        return await see_other(request, page, words % {"most": MAX_PUPILS}, error=True)
    try:
        counted = {role: count or 0 for role, count in roles.items()}
        await node.teams.send(event, pupils, counted, now=now_ms(), today=today)
    except UserInputError as exc:
        return await see_other(request, page, page_text(request, exc), error=True)
    if event.author == node.node_id:
        return await see_other(request, page, _("Our team is saved."))
    return await see_other(request, page, _("Our team is sent to the organiser."))


async def _attended(node: Node) -> list[events.EventView]:
    """Conferences and debates our school sends a team to, not cancelled nor over."""
    attending = await node.teams.attending()
    return [e for e in await node.events.listing() if e.id in attending and e.format in FORMATS]


def _pupil_view(event: events.EventView) -> dict[str, Any]:
    """What pupils see of an event: no notes from staff to staff, no one's name."""
    return {
        "id": str(event.id),
        "title": event.title,
        "format": event.format,
        "where": event.where,
        "start": event.start,
        "end": event.end,
        "tz": event.tz,
        "school": event.school,
    }


@routes.get("/conferences")
@require("pupil")
async def conferences_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    shown = []
    for event in await _attended(node):
        view = _pupil_view(event)
        ours = await node.teams.ours(event.id)
        view["our_team"] = None if ours is None else team_view(ours)
        shown.append(view)
    return render(request, "conferences.html", conferences=shown, roles=ROLES)


@routes.get("/events/{id}/programme")
@require("pupil")
async def programme_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    event = await _event(request)
    if event.format not in FORMATS:
        raise web.HTTPNotFound()
    if not user_of(request).is_staff and event.id not in {e.id for e in await _attended(node)}:
        raise web.HTTPNotFound()  # pupils see only the conferences their school attends
    teams = [team_view(t) for t in await node.teams.teams(event.id, event.author)]
    return render(
        request,
        "events_programme.html",
        event=_pupil_view(event),
        teams=teams,
        totals=totals(teams),
        roles=ROLES,
    )
