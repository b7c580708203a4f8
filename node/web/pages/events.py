"""Events: upcoming training days, TeachMeets and pupil conferences; create, answer, export.

Staff only. Times are typed as the organiser's local time with a time-zone name
(a browser's date-and-time field has no offset); node/events/service.py works out the
offset for that date, summer time included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from node.events import service as events
from node.events import slots as talks
from node.events.teams import FORMATS as TEAM_FORMATS
from node.node import Node
from node.web import i18n, team_views
from node.web.kit import WEB, form_of, gettext, page_text, render, require, see_other, user_of
from protocol.errors import NotAllowedError, NotFoundError, SchemaError, UserInputError, said

routes = web.RouteTableDef()

_FIELDS = ("title", "start", "end", "tz", "where", "text", "capacity", "audience", "format")
#: Who an event made here is for: everyone (an entry) or partner schools only (letters).
AUDIENCES = ("public", "partners")


def _view(event: events.EventView) -> dict[str, Any]:
    """An event for a template, with every field present."""
    return {
        "id": str(event.id),
        "title": event.title,
        "where": event.where,
        "text": event.text,
        "capacity": event.capacity,
        "start": event.start,
        "end": event.end,
        "tz": event.tz,
        "school": event.school,
        "country": event.country,
        "cancelled": event.cancelled,
        "reason": event.reason,
        "modified_ms": event.modified_ms,
        "answer": event.answer,
        "answered_by": event.answered_by,
        "answers": event.answers,
        "private": event.private,
        "project": None,  # the project's title, for an event for one project's schools
        # A date two schools agreed for an arrangement (node/offers/interests.py): changed by
        # neither alone, and nothing to answer.
        "booking": event.audience == "booking",
        "with": event.with_school,
        "observation": event.observation,
        "online": event.online,
    }


@routes.get("/events")
@require("staff")
async def events_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    upcoming = await node.events.listing()
    ours = [_view(e) for e in upcoming if e.author == node.node_id]
    others = [_view(e) for e in upcoming if e.author != node.node_id]
    return render(request, "events_index.html", ours=ours, others=others)


@routes.get("/events.ics")
@require("staff")
async def events_calendar(request: web.Request) -> web.StreamResponse:
    data = await request.app[WEB].node.events.ics()
    return web.Response(
        body=data,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="schoolmesh-events.ics"'},
    )


@routes.get("/events/new")
@require("staff")
async def new_event_page(request: web.Request) -> web.StreamResponse:
    school = request.app[WEB].node
    identity = await school.identity()
    values = dict.fromkeys(_FIELDS, "")
    values["tz"] = i18n.school_zone(identity.country, identity.tz) or ""  # a first guess
    values["audience"] = "public"
    return render(
        request,
        "events_new.html",
        values=values,
        errors={},
        editing=False,
        projects=await _our_projects(school),
    )


async def _our_projects(node: Node) -> list[tuple[str, str]]:
    """(audience, title) of each project this school is a member of: an event may be
    for one project's schools only."""
    return [
        (f"project:{p.id}", p.title) for p in await node.projects.all() if p.standing == "member"
    ]


@routes.post("/events/new")
@require("staff")
async def create_event(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    values, errors, content = _read_event(form_of(request), _)
    if values["format"] in TEAM_FORMATS:  # a conference or debate: schools bring teams
        content["format"] = values["format"]
    values["slots"] = str(form_of(request).get("slots", "")).strip()
    if values["slots"]:  # a TeachMeet's speaker slots (node/events/slots.py)
        try:
            content["slots"] = talks.parse_slots(values["slots"])
            talks.not_for_teams(content)
        except UserInputError as exc:
            errors["slots"] = page_text(request, exc)
    projects = await _our_projects(request.app[WEB].node)
    if values["audience"] not in (*AUDIENCES, *(audience for audience, _title in projects)):
        values["audience"] = "public"
    if values["audience"] == "partners":
        book = request.app[WEB].node.peerbook
        if not any(p.state == "partner" for p in await book.list()):
            errors["audience"] = _(
                "Our school has no partner schools yet: choose everyone, or invite a school "
                "on the Partners page first."
            )
    if not errors:
        try:
            made = await request.app[WEB].node.events.create_for(content, values["audience"])
        except (UserInputError, SchemaError) as exc:
            errors["form"] = page_text(request, exc)
        else:
            done = (
                _("The event is sent to the project's schools only.")
                if values["audience"].startswith("project:")
                else _("The event is published.")
            )
            await see_other(request, f"/events/{made}", done)
    return render(
        request,
        "events_new.html",
        status=400,
        values=values,
        errors=errors,
        editing=False,
        projects=projects,
    )


def _read_event(
    form: MultiDictProxy[Any], _: Callable[[str], str]
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """The form's values (to show again), its problems in the page's words, and the content."""
    values = {name: str(form.get(name, "")).strip() for name in _FIELDS}
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = _("Give the event a title.")
    zone = values["tz"] or None
    if zone is not None:
        try:
            events.time_zone(zone)
        except UserInputError:
            errors["tz"] = _("This is not a time zone name: write one such as Europe/London.")
            zone = None
    moments: dict[str, str] = {}
    for name in ("start", "end"):
        if not values[name]:
            errors[name] = _("Give the date and time.")
            continue
        try:
            moments[name] = events.moment(values[name], zone or "UTC", name)
        except UserInputError:
            errors[name] = _("Give the date and time like 2027-03-04 16:00.")
    if len(moments) == 2 and _instant(moments["end"]) <= _instant(moments["start"]):
        errors["end"] = _("The end is not after the start.")
    capacity = None
    if values["capacity"]:
        try:
            capacity = int(values["capacity"])
        except ValueError:
            capacity = 0
        if not 1 <= capacity <= 100_000:
            errors["capacity"] = _("Give a whole number of places from 1 to 100,000.")
    content: dict[str, Any] = {"title": values["title"], **moments}
    optional = {"tz": zone, "where": values["where"], "text": values["text"]}
    content.update({k: v for k, v in optional.items() if v})
    if capacity is not None:
        content["capacity"] = capacity
    return values, errors, content


def _local(moment: str, tz: str | None) -> str:
    """An event's time as the form's date-and-time field shows it: local, no offset."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if tz:
        with contextlib.suppress(UserInputError):
            parsed = parsed.astimezone(events.time_zone(tz))
    return parsed.strftime("%Y-%m-%dT%H:%M")


@routes.get("/events/{id}/edit")
@require("staff")
async def edit_event_page(request: web.Request) -> web.StreamResponse:
    event = await _own_event(request)
    values = {
        "title": event.title,
        "start": _local(event.start, event.tz),
        "end": _local(event.end, event.tz),
        "tz": event.tz or "",
        "where": event.where or "",
        "text": event.text or "",
        "capacity": str(event.capacity or ""),
        "audience": event.audience,
        "format": event.format or "",
    }
    return render(
        request, "events_new.html", event_id=str(event.id), values=values, errors={}, editing=True
    )


@routes.post("/events/{id}/edit")
@require("staff")
async def change_event(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    event = await _own_event(request)
    values, errors, content = _read_event(form_of(request), _)
    if not errors:
        try:
            await request.app[WEB].node.events.change(str(event.id), content)
        except (UserInputError, SchemaError) as exc:
            errors["form"] = page_text(request, exc)
        else:
            await see_other(
                request, f"/events/{event.id}", _("The event is changed everywhere it went.")
            )
    return render(
        request,
        "events_new.html",
        status=400,
        event_id=str(event.id),
        values=values,
        errors=errors,
        editing=True,
    )


async def _own_event(request: web.Request) -> events.EventView:
    """One of our own events, still on: only the organiser changes or cancels it."""
    event = await _event(request)
    if event.author != request.app[WEB].node.node_id:
        raise NotAllowedError(
            "only the organiser changes or cancels an event",
            page=said("Only the school that organises an event can change or cancel it."),
        )
    if event.cancelled:
        raise NotAllowedError(
            "a cancelled event", page=said("This event is cancelled: it can no longer be changed.")
        )
    return event


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


async def _event(request: web.Request) -> events.EventView:
    try:
        return await request.app[WEB].node.events.find(request.match_info["id"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None


@routes.get("/events/{id}")
@require("staff")
async def event_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    event = await _event(request)
    today = datetime.now(UTC).date()
    shown = _view(event)
    if event.audience.startswith("project:"):
        with contextlib.suppress(NotFoundError, UserInputError):
            shown["project"] = (await node.projects.get(event.audience.partition(":")[2])).title
    return render(
        request,
        "events_show.html",
        event=shown,
        ours=event.author == node.node_id,
        over=event.ended(today),
        answers=events.ANSWERS,
        **await team_views.context(node, event),
        lineup=await talks.lineup(node, str(event.id)) if event.slots else None,
    )


@routes.post("/events/{id}/rsvp")
@require("staff")
async def answer_event(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    event = await _event(request)
    answer = str(form_of(request).get("answer", ""))
    if answer not in events.ANSWERS:
        return await see_other(
            request, f"/events/{event.id}", _("Choose yes, no or maybe."), error=True
        )
    await request.app[WEB].node.events.rsvp(str(event.id), answer, by=user_of(request).name)
    return await see_other(
        request, f"/events/{event.id}", _("Your school's answer is sent to the organiser.")
    )


@routes.post("/events/{id}/withdraw")
@require("staff")
async def cancel_event(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    event = await _own_event(request)
    reason = " ".join(str(form_of(request).get("reason", "")).split())[:500]
    await request.app[WEB].node.events.withdraw(str(event.id), reason)
    return await see_other(request, "/events", _("The event is cancelled everywhere."))
