"""Subscribing to the events calendar by a private address (webcal).

``/calendar`` lets a member of staff make, remake or stop their own address
(node/events/calendar_links.py); the new address is shown once, like a new password
(Post/Redirect/Get). ``/webcal/<token>.ics`` serves the calendar to a calendar
program, which has no session: it is a machine path (node/web/app.py), answered in
plain text when the address is unknown or stopped.
"""

from __future__ import annotations

from aiohttp import web

from node.clock import now_ms
from node.events import calendar_links
from node.web.kit import (
    WEB,
    gettext,
    is_https,
    render,
    require,
    see_other,
    show_once,
    take_shown_once,
    user_of,
)

routes = web.RouteTableDef()


@routes.get("/calendar")
@require("staff")
async def calendar_page(request: web.Request) -> web.StreamResponse:
    store = request.app[WEB].node.store
    made = await take_shown_once(request, "calendar")
    token = made.get("token") if made else None
    address = f"{request.host}/webcal/{token}.ics" if token else None
    response = render(
        request,
        "calendar.html",
        made_at=await calendar_links.made_at(store, user_of(request).name),
        webcal=f"webcal://{address}" if address else None,
        web_address=f"{'https' if is_https(request) else 'http'}://{address}" if address else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/calendar/renew")
@require("staff")
async def renew(request: web.Request) -> web.StreamResponse:
    """A new private address; any earlier one stops working."""
    store = request.app[WEB].node.store
    token = await calendar_links.renew(store, user_of(request).name, now_ms())
    await show_once(request, "/calendar", "calendar", {"token": token})


@routes.post("/calendar/revoke")
@require("staff")
async def revoke(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    await calendar_links.revoke(request.app[WEB].node.store, user_of(request).name)
    return await see_other(
        request, "/calendar", _("Your calendar address is stopped: it no longer works.")
    )


@routes.get(r"/webcal/{token:[A-Za-z0-9_-]{20,100}}.ics")
async def subscribed(request: web.Request) -> web.StreamResponse:
    """The calendar, for the program that holds this address (no session, read-only)."""
    node = request.app[WEB].node
    if await calendar_links.owner(node.store, request.match_info["token"]) is None:
        raise web.HTTPNotFound(
            text="No such calendar address: it may have been stopped or replaced. Make a new "
            "one on the Calendar page of schoolmesh."
        )
    return web.Response(
        body=await node.events.ics(),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )
