"""Peer observations: list, record, read, share, and the action points to follow up.

Staff only. The web knows a colleague by the name they sign in with: an
observation whose observed colleague has that name (capitals and spacing aside)
is theirs to share or keep private. The two colleagues always see it; other staff
see it once it is shared (node/observations/service.py, ``visible_to``). The observed
colleague records that the follow-up took place (``may_follow_up``). Staff profiles
use the same names, so that the focus can be linked to the observed colleague's
development areas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from node.observations import service as observations
from node.offers.matching import tag
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
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import NodeId

routes = web.RouteTableDef()

_FIELDS = (
    "observer",
    "observed",
    "focus",
    "focus_other",
    "priority",
    "day",
    "strengths",
    "action1",
    "action2",
    "follow_up",
)


def _today() -> date:
    return datetime.now(UTC).date()


@routes.get("/observations")
@require("staff")
async def observations_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    name = user_of(request).name
    seen = [o for o in await node.observations.listing() if observations.visible_to(o, name)]
    due = [
        d
        for d in await node.observations.due(_today())
        if observations.visible_to(d.observation, name)
    ]
    return render(
        request,
        "observations_index.html",
        mine=[o for o in seen if observations.owned_by(o, name)],
        observed_by_me=[o for o in seen if observations.same_person(o.observer, name)],
        shared=[
            o
            for o in seen
            if not observations.owned_by(o, name) and not observations.same_person(o.observer, name)
        ],
        due=due,
        # Peer observations at another school, dated with it (node/offers/interests.py: bookings).
        planned=[e for e in await node.events.listing() if e.observation],
        vocab=vocabulary(request[VISIT].language, gettext(request)),
    )


@routes.get("/observations/new")
@require("staff")
async def new_observation_page(request: web.Request) -> web.StreamResponse:
    values = dict.fromkeys(_FIELDS, "")
    values["observer"] = user_of(request).name
    values["day"] = _today().isoformat()
    return render(request, "observations_new.html", **await _form_context(request, values, {}))


async def _form_context(
    request: web.Request, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    profiles = await request.app[WEB].node.staff.listing()
    return {
        "values": values,
        "errors": errors,
        "colleagues": [p.name for p in profiles],
        "vocab": vocabulary(request[VISIT].language, gettext(request)),
    }


@routes.post("/observations/new")
@require("staff")
async def add_observation(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    form = form_of(request)
    values = {name: str(form.get(name, "")).strip() for name in _FIELDS}
    errors: dict[str, str] = {}
    me = user_of(request).name
    for name in ("observer", "observed"):
        if not values[name]:
            errors[name] = _("Give the colleague's name.")
        elif len(values[name]) > 100:
            errors[name] = _("Keep the name to 100 characters at most.")
    if values["observer"] and observations.same_person(values["observer"], values["observed"]):
        errors["observed"] = _("The observer and the observed colleague must be two people.")
    elif not errors and not (
        observations.same_person(values["observer"], me)
        or observations.same_person(values["observed"], me)
    ):
        errors["observer"] = _("Record observations you took part in: as observer or observed.")
    focus = tag(values["focus_other"] or values["focus"])
    if not focus or len(focus) > 64:
        errors["focus"] = _("Choose the one thing the observation looks at.")
    days: dict[str, date | None] = {"day": _today(), "follow_up": None}
    for name in ("day", "follow_up"):
        if values[name]:
            try:
                days[name] = date.fromisoformat(values[name])
            except ValueError:
                errors[name] = _("Give a date like 2027-03-04.")
    day = days["day"] or _today()
    follow_up = days["follow_up"]
    if follow_up is not None and follow_up < day:
        errors["follow_up"] = _("The follow-up date is before the observation.")
    strengths = [line.strip() for line in values["strengths"].splitlines() if line.strip()]
    actions = [a for a in (values["action1"], values["action2"]) if a]
    if not actions:
        errors["action1"] = _("Agree at least one action point to take forward.")
    if any(len(text) > 1000 for text in [*strengths, *actions]):
        errors["strengths"] = _("Keep each point to 1,000 characters at most.")
    if not errors and not values["priority"]:
        profile = await node.staff.get(values["observed"])
        if profile is None or focus not in profile.develops:
            errors["priority"] = _(
                "Link the focus to a development priority: name the priority (such as one "
                "from the school development plan), or choose a focus that is one of the "
                "observed colleague's development areas in their staff profile."
            )
    if not errors:
        try:
            made = await node.observations.add(
                observer=values["observer"],
                observed=values["observed"],
                focus=focus,
                priority=values["priority"] or None,
                day=day,
                strengths=strengths,
                actions=actions,
                follow_up=follow_up,
            )
        except UserInputError as exc:  # a rule this form did not check
            errors["form"] = page_text(request, exc)
        else:
            await see_other(request, f"/observations/{made.id}", _("The observation is recorded."))
    context = await _form_context(request, values, errors)
    return render(request, "observations_new.html", status=400, **context)


async def _visible(request: web.Request) -> observations.Observation:
    try:
        number = int(request.match_info["id"])
        found = await request.app[WEB].node.observations.get(number)
    except (ValueError, NotFoundError):
        raise web.HTTPNotFound() from None
    if not observations.visible_to(found, user_of(request).name):
        raise NotAllowedError(
            "a private observation of two other colleagues",
            page=said("This observation is private to the two colleagues who took part in it."),
        )
    return found


@routes.get("/observations/{id}")
@require("staff")
async def observation_page(request: web.Request) -> web.StreamResponse:
    found = await _visible(request)
    return render(
        request,
        "observations_show.html",
        item=found,
        partners=await _partners(request),
        owner=found.origin is None and observations.owned_by(found, user_of(request).name),
        closer=observations.may_follow_up(found, user_of(request).name) is None,
        vocab=vocabulary(request[VISIT].language, gettext(request)),
    )


@routes.post("/observations/{id}/share")
@require("staff")
async def share_observation(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    found = await _visible(request)
    if found.origin is not None or not observations.owned_by(found, user_of(request).name):
        raise NotAllowedError(
            "only the observed colleague decides, at their own school",
            page=said(
                "Only the observed colleague decides who sees this observation, at their own "
                "school."
            ),
        )
    form = form_of(request)
    shared = form.get("shared") == "1"
    partners = await _partners(request)
    to = str(form.get("to", ""))
    if to:
        if to not in partners or not shared:
            raise web.HTTPBadRequest(text="choose one of our partner schools")
        await request.app[WEB].node.observations.share(found.id, True, to=NodeId.parse(to))
        done = _("It is sent to %(school)s only, and shared with colleagues here.") % {
            "school": partners[to]
        }
    else:
        await request.app[WEB].node.observations.share(found.id, shared)
        done = _("It is now shared with colleagues.") if shared else _("It is now private again.")
    return await see_other(request, f"/observations/{found.id}", done)


@routes.post("/observations/{id}/follow-up")
@require("staff")
async def follow_up_observation(request: web.Request) -> web.StreamResponse:
    """The follow-up took place (``done=1``, with an optional note), or reopened
    (``done=0``); a refused note is shown again as typed."""
    _ = gettext(request)
    found = await _visible(request)
    me = user_of(request).name
    refused = observations.may_follow_up(found, me)
    if refused is not None:
        raise refused.error()
    form = form_of(request)
    done = form.get("done") != "0"
    note = str(form.get("note", "")) if done else None
    here = f"/observations/{found.id}"
    try:
        await request.app[WEB].node.observations.follow_up(
            found.id, by=me, note=note, done=done, only_if_open=True
        )
    except UserInputError as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    if done:
        return await see_other(
            request, here, _("The follow-up is recorded: its action points are no longer due.")
        )
    return await see_other(request, here, _("The follow-up is open again."))


async def _partners(request: web.Request) -> dict[str, str]:
    """Our partner schools, id -> name, to share an observation with one of them."""
    node = request.app[WEB].node
    ids = [p.node_id for p in await node.peerbook.list() if p.state == "partner"]
    names = await node.store.schools(set(ids))
    return {str(i): names.get(i, (str(i)[:12], ""))[0] for i in ids}
