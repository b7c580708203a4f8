"""TeachMeet speaker slots: signing up to speak, withdrawing, and the organiser's
accept, move, free and publish (node/events/slots.py). Staff only.

The event page (pages/events.py) shows the running order and these forms
(templates/_slots.html). A refused form is shown again on that page with the
reason (node/web/app.py): a slot out of range, taken, or an event that is over.
"""

from __future__ import annotations

from aiohttp import web

from node.events import slots
from node.web.kit import WEB, form_of, gettext, require, see_other, user_of
from protocol.errors import UserInputError, said

routes = web.RouteTableDef()


def _number(text: object) -> int:
    try:
        return int(str(text))
    except ValueError:
        raise UserInputError(
            f"slot {text!r} is not a number", page=said("Choose one of the TeachMeet's slots.")
        ) from None


def _id(request: web.Request) -> str:
    return request.match_info["id"]


@routes.post("/events/{id}/talks")
@require("staff")
async def speak(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = form_of(request)
    node = request.app[WEB].node
    lineup = await slots.speak(
        node,
        _id(request),
        _number(form.get("slot", "")),
        str(form.get("title", "")),
        str(form.get("speaker", "") or user_of(request).name),
    )
    done = (
        _("The talk is in the running order.")
        if lineup.event.author == node.node_id
        else _("Your talk is sent to the organising school, which accepts it or moves it.")
    )
    return await see_other(request, f"/events/{lineup.event.id}", done)


@routes.post("/events/{id}/talks/order")
@require("staff")
async def publish(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    lineup = await slots.publish(request.app[WEB].node, _id(request))
    return await see_other(
        request, f"/events/{lineup.event.id}", _("The running order is published.")
    )


@routes.post("/events/{id}/talks/{slot}/withdraw")
@require("staff")
async def withdraw(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    slot = _number(request.match_info["slot"])
    lineup = await slots.unspeak(request.app[WEB].node, _id(request), slot)
    return await see_other(request, f"/events/{lineup.event.id}", _("The slot is free."))


@routes.post("/events/{id}/talks/{slot}/accept")
@require("staff")
async def accept(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    slot = _number(request.match_info["slot"])
    lineup = await slots.accept(request.app[WEB].node, _id(request), slot)
    return await see_other(
        request, f"/events/{lineup.event.id}", _("The talk is accepted and published.")
    )


@routes.post("/events/{id}/talks/{slot}/move")
@require("staff")
async def move(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    slot = _number(request.match_info["slot"])
    to = _number(form_of(request).get("to", ""))
    lineup = await slots.move(request.app[WEB].node, _id(request), slot, to)
    return await see_other(
        request, f"/events/{lineup.event.id}", _("The talk is moved and the order published.")
    )
