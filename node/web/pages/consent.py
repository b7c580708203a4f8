"""Consent flags for our pupils: how partners see each name, and which photos may go.

Staff only. Withdrawing a permission takes the pupil's affected posts down at every
partner school (node/projects/takedowns.py ``enforce_consent``); the page says so before the
change, and afterwards says how many posts were taken down.
"""

from __future__ import annotations

from aiohttp import web

from node.accounts.service import initials
from node.clock import now_ms
from node.web import i18n
from node.web.kit import VISIT, WEB, form_of, gettext, render, require, see_other

routes = web.RouteTableDef()


@routes.get("/projects/consent")
@require("staff")
async def consent_page(request: web.Request) -> web.StreamResponse:
    pupils = [u for u in await request.app[WEB].node.accounts.all() if u.role == "pupil"]
    return render(
        request,
        "projects_consent.html",
        pupils=pupils,
        initials={p.name: initials(p.name) for p in pupils},
    )


@routes.post("/projects/consent")
@require("staff")
async def change(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    form = form_of(request)
    pupil = await node.accounts.find(str(form.get("name", "")))
    if pupil is None or pupil.role != "pupil":
        return await see_other(request, "/projects/consent", _("No such pupil."), error=True)
    # Neither choice (a form changed or cut short) is refused, not taken as initials:
    # the form is shown again with what was ticked, to choose again.
    _before, after = await node.accounts.set_consent(
        pupil.name,
        show_name=str(form.get("show_name", "")),
        work_photos=form.get("work_photos") == "yes",
        face_photos=form.get("face_photos") == "yes",
    )
    taken = await node.projects.enforce_consent(after, now_ms())
    done = _("Saved for %(name)s.") % {"name": pupil.name}
    if taken:
        ngettext = i18n.translations(request[VISIT].language).ngettext
        done += " " + ngettext(
            "%(num)d of their posts and comments was taken down at every partner school.",
            "%(num)d of their posts and comments were taken down at every partner school.",
            len(taken),
        ) % {"num": len(taken)}
    return await see_other(request, "/projects/consent", done)
