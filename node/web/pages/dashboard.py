"""The first page after signing in: what needs this person's attention today."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from node import events, offers
from node.clock import now_ms
from node.partners import PeerBook
from node.web.app import WEB, render, require, user_of

routes = web.RouteTableDef()
#: How long a withdrawal stays on the dashboard: long enough to be seen after a holiday.
RECENT_MS = 30 * 24 * 3600 * 1000


@routes.get("/")
@require("pupil")
async def dashboard(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    user = user_of(request)
    projects = [p for p in await node.projects.all() if p.standing == "member"]
    if not user.is_staff:
        drafts = []
        for project in projects:
            drafts += [
                post
                for post in await node.projects.posts(project.id, states=("draft", "returned"))
                if post.author == user.name
            ]
        theirs = await node.projects.rosters.projects_of(user)
        projects = [p for p in projects if p.id in theirs]
        return render(request, "dashboard_pupil.html", projects=projects, drafts=drafts)
    waiting = []
    for project in projects:
        for post in await node.projects.posts(project.id, states=("draft",)):
            if post.origin == node.node_id:
                waiting.append((project, post))
    found = await offers.matches(node, limit=3)
    suggestions: list[tuple[Any, Any]] = [
        (mine, best)
        for mine, found_matches in found
        if mine.side == "request"
        for best in found_matches[:1]
    ]
    every = await events.every(node)
    today = datetime.now(UTC).date()
    # Events we said we would (or might) come to, cancelled since: tell whoever plans.
    cancelled = [
        e for e in every if e.cancelled and e.answer in ("yes", "maybe") and not e.ended(today)
    ]
    # Offers and requests we had shown interest in, withdrawn in the last few weeks.
    since = now_ms() - RECENT_MS
    withdrawn = [
        i
        for i in await node.interests.all()
        if i.withdrawn is not None and i.direction == "sent" and i.withdrawn.at >= since
    ]
    book = PeerBook(node.store)
    partners = [p for p in await book.list() if p.state == "partner"]
    statuses = await book.statuses()
    names = await node.store.schools({p.node_id for p in partners})
    return render(
        request,
        "dashboard.html",
        partners=[
            {
                "name": names.get(p.node_id, ("", ""))[0] or str(p.node_id)[:12],
                "status": statuses.get(p.node_id),
            }
            for p in partners
        ],
        suggestions=suggestions,
        waiting=waiting,
        upcoming=[e for e in every if not e.cancelled and not e.ended(today)][:5],
        cancelled=cancelled,
        withdrawn=withdrawn,
    )
