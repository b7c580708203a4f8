"""The first page after signing in: what needs this person's attention today.

Its "Needs doing" list comes from node/needs.py (bounded reads, newest first);
"Mark the news as seen" clears the news items, while to-do items stay until done.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from node import needs
from node.clock import now_ms
from node.web.kit import STATIC_DIR, WEB, gettext, render, require, see_other, user_of
from protocol.rules.projects import PostState

routes = web.RouteTableDef()


@routes.get("/")
@require("pupil")
async def dashboard(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    user = user_of(request)
    now = now_ms()
    if not user.is_staff:
        return await _pupil_dashboard(request, now)
    every = await node.events.every()
    today = datetime.now(UTC).date()
    items = await needs.for_staff(node, user.name, every, today, now)
    found = await node.offers.matches(limit=3)
    suggestions: list[tuple[Any, Any]] = [
        (mine, best)
        for mine, found_matches in found
        if mine.side == "request"
        for best in found_matches[:1]
    ]
    book = node.peerbook
    partners = [p for p in await book.list() if p.state == "partner"]
    statuses = await book.statuses()
    names = await node.store.schools({p.node_id for p in partners})
    return render(
        request,
        "dashboard.html",
        items=items,
        news=any(i.news for i in items),
        partners=[
            {
                "name": names.get(p.node_id, ("", ""))[0] or str(p.node_id)[:12],
                "status": statuses.get(p.node_id),
            }
            for p in partners
        ],
        suggestions=suggestions,
        upcoming=[e for e in every if not e.cancelled and not e.ended(today)][:5],
    )


async def _pupil_dashboard(request: web.Request, now: int) -> web.StreamResponse:
    node = request.app[WEB].node
    user = user_of(request)
    theirs = await node.projects.rosters.projects_of(user)
    projects = [p for p in await node.projects.all() if p.standing == "member" and p.id in theirs]
    # A returned post is still the pupil's draft (the project page lists it too).
    rows = await node.store.fetch_all(
        "SELECT id, title, state, project FROM posts WHERE origin = ? AND author = ? "
        "COLLATE NOCASE "
        "AND state IN (?, ?) ORDER BY created_at DESC",
        (bytes(node.node_id), user.name, PostState.DRAFT, PostState.RETURNED),
    )
    items = await needs.for_pupil(node, user.name, now)
    return render(
        request,
        "dashboard_pupil.html",
        projects=projects,
        # A draft of a project she was taken off is never sent (approval.writer): said so.
        drafts=[
            {"id": r[0], "title": r[1] or "", "state": r[2], "off": r[3] not in theirs}
            for r in rows
        ],
        items=items,
        news=any(i.news for i in items),
    )


@routes.post("/seen")
@require("pupil")
async def seen(request: web.Request) -> web.StreamResponse:
    """Mark the news on the dashboard as seen: it leaves; what is still to do stays."""
    _ = gettext(request)
    await needs.mark_seen(request.app[WEB].node, user_of(request).name, now_ms())
    return await see_other(request, "/", _("The news is marked as seen."))


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.StreamResponse:
    """The site's icon where browsers look for it first (a 404 there is a console
    error on every first visit); pages also name it, with a hash, in base.html."""
    return web.Response(
        body=_favicon(),
        content_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@functools.cache
def _favicon() -> bytes:
    return (STATIC_DIR / "favicon.ico").read_bytes()
