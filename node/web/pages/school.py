"""Our school as partners see it, our partner schools, and the node's health.

``/profile`` and ``/partners`` are for staff to read and admins to change;
``/status`` is for staff. A new invite code is shown once, like a new password:
the form keeps it in the admin's session and redirects to ``/partners/invite``,
which shows it and forgets it, so reloading that page makes no second code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from node import status
from node.clock import now_ms
from node.net.peers import invited
from node.offers import places
from node.web import i18n
from node.web.kit import (
    WEB,
    form_of,
    gettext,
    page_text,
    render,
    require,
    see_other,
    show_once,
    take_shown_once,
    user_of,
)
from protocol import kinds
from protocol.errors import NotFoundError, SchemaError, UnreachableError, UserInputError, said
from protocol.invite import parse_invite
from protocol.keys import NodeId

routes = web.RouteTableDef()

DAY_MS = 86_400_000
#: How long a new invite code lasts, in days, as offered on the page.
INVITE_DAYS = (1, 7, 30)


# --- our school's profile --------------------------------------------------------


#: The profile form's fields, each with an element of that id that the error summary
#: at the top of the form links to.
PROFILE_FIELDS = ("name", "country", "tz", "region", "url", "languages", "phases", "about")


@routes.get("/profile")
@require("staff")
async def profile_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    profile = await node.store.latest_profile(node.node_id) or {}
    identity = await node.identity()
    return render(
        request,
        "school_profile.html",
        profile=profile,
        phases=kinds.PHASES,
        errors={},
        profile_fields=PROFILE_FIELDS,
        tz=identity.tz or "",
        country_zone=i18n.home_zone(identity.country) or "",
    )


@routes.post("/profile")
@require("admin")
async def profile_save(request: web.Request) -> web.StreamResponse:
    """Publish a new profile; partners receive it with the next sync."""
    _ = gettext(request)
    node = request.app[WEB].node
    form = form_of(request)
    changes, errors = _profile_changes(form, _)
    tz = str(form.get("tz", "")).strip()
    if tz and places.zone_problem(tz):
        errors["tz"] = _(
            "Give a time zone such as Europe/Madrid or Atlantic/Canary, or leave it empty "
            "to use your country's."
        )
    profile = dict(await node.store.latest_profile(node.node_id) or {})
    merged = {k: v for k, v in {**profile, **changes}.items() if v is not None}
    if not errors:
        try:
            kinds.validate_content(kinds.PROFILE, merged)
        except SchemaError as exc:
            errors[exc.field] = _("This is not valid: %(problem)s") % {"problem": str(exc)}
    if errors:  # show the form again as it was filled in
        return render(
            request,
            "school_profile.html",
            status=400,
            profile=merged,
            phases=kinds.PHASES,
            errors=errors,
            profile_fields=PROFILE_FIELDS,
            tz=tz,
            country_zone=i18n.home_zone(str(merged.get("country", ""))) or "",
        )
    zone_changed = tz != ((await node.identity()).tz or "")
    if merged == profile:
        if zone_changed:
            await node.set_time_zone(tz or None)
            return await see_other(request, "/profile", _("Saved."))
        return await see_other(request, "/profile", _("Nothing changed."))
    await node.update_profile(**changes)  # first: if it is refused, nothing is saved
    if zone_changed:
        await node.set_time_zone(tz or None)
    return await see_other(
        request,
        "/profile",
        _("Saved. Partner schools see the new profile the next time they connect."),
    )


def _profile_changes(form: Any, _: Callable[[str], str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The profile fields from the form (None removes one), and what is wrong, by field."""
    errors: dict[str, str] = {}
    name = " ".join(str(form.get("name", "")).split())
    country = str(form.get("country", "")).strip().upper()
    url = str(form.get("url", "")).strip()
    region = " ".join(str(form.get("region", "")).split())
    about = str(form.get("about", "")).strip()
    languages = [x for x in re.split(r"[\s,;]+", str(form.get("languages", "")).lower()) if x]
    phases = [p for p in kinds.PHASES if p in form.getall("phases", [])]
    if not name:
        errors["name"] = _("Give the school's name.")
    elif len(name) > 200:
        errors["name"] = _("Keep the name under 200 characters.")
    if kinds.country(country):
        errors["country"] = _("Give the country as a two-letter code, such as GB, FR or ES.")
    if url and kinds.web_address(url):
        errors["url"] = _("Give a web address starting with https:// (or leave it empty).")
    if len(region) > 100:
        errors["region"] = _("Keep the region under 100 characters.")
    if len(about) > 2000:
        errors["about"] = _("Keep the description under 2,000 characters.")
    if languages and kinds.languages(list(dict.fromkeys(languages))):
        errors["languages"] = _(
            "List up to ten language codes separated by commas, such as en, fr, es."
        )
    changes: dict[str, Any] = {
        "name": name,
        "country": country,
        "url": url or None,
        "region": region or None,
        "about": about or None,
        "languages": list(dict.fromkeys(languages)) or None,
        "phases": phases or None,
    }
    return changes, errors


# --- partners ----------------------------------------------------------------------


async def _partners(request: web.Request) -> list[dict[str, Any]]:
    node = request.app[WEB].node
    book = node.peerbook
    statuses = await book.statuses()
    names = await book.names()
    rows = []
    for p in await book.list():
        s = statuses.get(p.node_id)
        rows.append(
            {
                "node_id": str(p.node_id),
                "fingerprint": p.node_id.fingerprint,
                "name": names[p.node_id][0],
                "country": names[p.node_id][1],
                "address": p.address,
                "state": p.state,
                "added_at": p.added_at,
                "connected": bool(s and s.connected),
                "last_seen": s.last_seen if s else None,
            }
        )
    return rows


@routes.get("/partners")
@require("staff")
async def partners_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    return render(
        request,
        "school_partners.html",
        partners=await _partners(request),
        reachable=await node.peerbook.running_address() is not None,
        invite_days=INVITE_DAYS,
        code="",
    )


@routes.post("/partners/invite")
@require("admin")
async def partners_invite(request: web.Request) -> web.StreamResponse:
    """Make an invite code, to be shown once on the page this redirects to."""
    _ = gettext(request)
    node = request.app[WEB].node
    try:
        days = int(str(form_of(request).get("days", "7")))
    except ValueError:
        days = 7
    days = days if days in INVITE_DAYS else 7
    if await node.peerbook.running_address() is None:
        return await see_other(request, "/partners", _unreachable_text(_), error=True)
    code, expires = await node.invites.create(expires_in_ms=days * DAY_MS, address=None)
    await show_once(request, "/partners/invite", "invite", {"code": code, "expires": expires})


@routes.get("/partners/invite")
@require("admin")
async def partners_invite_shown(request: web.Request) -> web.StreamResponse:
    """The new code, once: a reload says it was shown and how to make another."""
    made = await take_shown_once(request, "invite")
    response = render(
        request,
        "school_invite.html",
        code=made["code"] if made else None,
        expires=made["expires"] if made else None,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _unreachable_text(_: Callable[[str], str]) -> str:
    return _(
        "Other schools cannot reach this node, so an invite code from it would not work. "
        "Ask your IT staff to start it with an address other schools can reach "
        "(schoolmesh run --address). Meanwhile you can still accept another school's code."
    )


@routes.post("/partners/add")
@require("admin")
async def partners_add(request: web.Request) -> web.StreamResponse:
    """Redeem another school's code: check it here first, to say what is wrong plainly."""
    _ = gettext(request)
    node = request.app[WEB].node
    code = "".join(str(form_of(request).get("code", "")).split())
    if not code:
        return await see_other(
            request, "/partners", _("Paste the invite code the other school sent you."), error=True
        )
    try:
        invite, _raw = parse_invite(code, now_ms=now_ms())
    except UserInputError as exc:
        return await see_other(request, "/partners", page_text(request, exc), error=True)
    if invite.node == node.node_id:
        return await see_other(
            request,
            "/partners",
            _("That is this school's own invite code: send it to the other school instead."),
            error=True,
        )
    try:
        await node.invites.redeem(code, invited)
    except (UnreachableError, UserInputError) as exc:
        return await see_other(request, "/partners", page_text(request, exc), error=True)
    return await see_other(
        request,
        "/partners",
        _(
            "You are now partners. Check the fingerprint %(fingerprint)s with the other "
            "school by phone."
        )
        % {"fingerprint": invite.node.fingerprint},
    )


def _node_id(request: web.Request) -> NodeId:
    try:
        return NodeId.parse(request.match_info["node_id"])
    except (ValueError, UserInputError) as exc:
        raise _no_such_partner() from exc


def _no_such_partner() -> NotFoundError:
    return NotFoundError("no such partner", page=said("There is no such partner school."))


@routes.get("/partners/{node_id}/{action:remove|block}")
@require("admin")
async def partners_confirm(request: web.Request) -> web.StreamResponse:
    """Ask before removing or blocking: a plain page and form, so no script is needed."""
    node_id = _node_id(request)
    partner = next((p for p in await _partners(request) if p["node_id"] == str(node_id)), None)
    if partner is None:
        raise _no_such_partner()
    return render(
        request, "school_confirm.html", partner=partner, action=request.match_info["action"]
    )


@routes.post("/partners/{node_id}/{action:remove|block}")
@require("admin")
async def partners_change(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    node_id = _node_id(request)
    book = node.peerbook
    names = await book.names()
    name = names.get(node_id, ("", ""))[0] or str(node_id)[:12]
    if request.match_info["action"] == "remove":
        if (partner := await book.get(node_id)) is None or partner.state != "partner":
            raise _no_such_partner()
        await book.remove(node_id)
        return await see_other(
            request, "/partners", _("%(name)s is no longer a partner.") % {"name": name}
        )
    if node_id == node.node_id:
        raise _no_such_partner()
    await book.block(node_id, node.node_id, now_ms())
    return await see_other(
        request,
        "/partners",
        _("%(name)s is blocked: this node no longer talks to it and dropped what it wrote.")
        % {"name": name},
    )


# --- node status -----------------------------------------------------------------


@routes.get("/status")
@require("staff")
async def status_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    report = await status.report(node)
    for peer in report["peers"]:
        peer["trouble"] = None if peer["connected"] else status.trouble(peer["last_error"])
    unresolved = {fork["author"] for fork in report["forks"]}  # not ended by a continuation
    report["equivocations"] = [e for e in report["equivocations"] if e["author"] in unresolved]
    authors = {e["author"] for e in report["equivocations"]}
    known = await node.store.schools([NodeId.parse(a) for a in authors])
    for e in report["equivocations"]:
        e["name"] = known.get(NodeId.parse(e["author"]), ("", ""))[0]
    return render(request, "school_status.html", report=report, me=user_of(request))
