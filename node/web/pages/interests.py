"""Interest in other schools' offers and requests, and answers to interest in ours.

Staff only. What one school says to another here travels as a letter to that
school alone (node/offers/interests.py). The colleague who sends or answers is named as
the contact, by the name they sign in with.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from node.clock import now_ms
from node.events import service as events
from node.offers.interests import MAX_MESSAGE, MAX_PLACE, Interest, expired
from node.web import i18n
from node.web.kit import WEB, form_of, gettext, page_text, render, require, see_other, user_of
from node.web.listings import listing_of
from node.web.vocabulary import interest_states
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said

routes = web.RouteTableDef()


@routes.post("/offers/{id}/interest")
@require("staff")
async def express_interest(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    listing = await listing_of(request)
    here = f"/offers/{listing.entry.id}"
    if listing.entry.author == node.node_id:
        raise NotAllowedError(
            "our own offer or request",
            page=said(
                "This is our own school's: show interest in other schools' offers and requests."
            ),
        )
    message = str(form_of(request).get("message", "")).strip()
    problem = None
    if not message:
        problem = _("Write a short message to the other school.")
    elif len(message) > MAX_MESSAGE:
        problem = _("Keep the message to 2,000 characters at most.")
    elif expired(listing.entry, datetime.now(UTC).date()):
        problem = _("It has closed: its closing date or last date has passed.")
    if problem is not None:
        return await see_other(request, here, problem, error=True)
    await node.interests.send(
        str(listing.entry.id), message, by=user_of(request).name, now=now_ms()
    )
    return await see_other(
        request, here, _("Your interest is sent to %(school)s only.") % {"school": listing.school}
    )


@routes.get("/interests")
@require("staff")
async def interests_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    every = await node.interests.all()
    active = [i for i in every if i.active]
    identity = await node.identity()
    return render(
        request,
        "interests_index.html",
        received=[i for i in active if i.direction == "received"],
        sent=[i for i in active if i.direction == "sent"],
        arranged=[i for i in active if i.arrangement is not None],
        withdrawn=[i for i in every if not i.active],
        states=interest_states(gettext(request)),
        home_zone=i18n.school_zone(identity.country, identity.tz) or "",
    )


async def _interest(request: web.Request) -> Interest:
    try:
        return await request.app[WEB].node.interests.get(request.match_info["id"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None


@routes.post("/interests/{id}/propose")
@require("staff")
async def propose_date(request: web.Request) -> web.StreamResponse:
    """Propose a date for an arrangement: a day, start and end times, where, a note."""
    _ = gettext(request)
    interest = await _interest(request)
    form = form_of(request)
    values = {
        name: str(form.get(name, "")).strip()
        for name in ("day", "start", "end", "tz", "where", "note")
    }
    online = form.get("online") == "yes"
    problem = None
    zone = values["tz"] or None
    if zone is not None:
        try:
            events.time_zone(zone)
        except UserInputError:
            problem = _("This is not a time zone name: write one such as Europe/London.")
    moments: list[str] = []
    if problem is None:
        for name in ("start", "end"):
            try:
                moments.append(
                    events.moment(f"{values['day']}T{values[name]}", zone or "UTC", name)
                )
            except UserInputError:
                problem = _("Give the day and the start and end times, like 2027-03-04 and 09:00.")
                break
    if problem is None and len(values["where"]) > MAX_PLACE:
        problem = _("Keep the place to 500 characters.")
    if problem is None and len(values["note"]) > MAX_MESSAGE:
        problem = _("Keep the message to 2,000 characters at most.")
    if problem is not None:
        return await see_other(request, "/interests", problem, error=True)
    try:
        await request.app[WEB].node.interests.propose(
            interest.id,
            start=moments[0],
            end=moments[1],
            tz=zone,
            where=values["where"],
            online=online,
            note=values["note"],
            by=user_of(request).name,
            now=now_ms(),
        )
    except UserInputError as exc:
        return await see_other(request, "/interests", page_text(request, exc), error=True)
    return await see_other(
        request,
        "/interests",
        _("The date is proposed to %(school)s: it is agreed once they accept it.")
        % {"school": interest.school},
    )


@routes.post("/interests/{id}/agree")
@require("staff")
async def agree_date(request: web.Request) -> web.StreamResponse:
    """Accept the date the other school proposed: an event at both schools."""
    _ = gettext(request)
    interest = await _interest(request)
    proposal = str(form_of(request).get("proposal", "")).strip() or None
    try:
        await request.app[WEB].node.interests.accept_date(
            interest.id, proposal, by=user_of(request).name, now=now_ms()
        )
    except UserInputError as exc:
        return await see_other(request, "/interests", page_text(request, exc), error=True)
    return await see_other(
        request,
        "/interests",
        _("The date is agreed: %(school)s is told, and it is in both schools' events.")
        % {"school": interest.school},
    )


@routes.post("/interests/{id}/{answer:accept|decline}")
@require("staff")
async def answer_interest(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    interests = request.app[WEB].node.interests
    try:
        interest = await interests.get(request.match_info["id"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
    if interest.direction != "received":
        raise NotAllowedError(
            "only the posting school answers",
            page=said(
                "Only the school that posted the offer or request can accept or decline "
                "interest in it."
            ),
        )
    message = str(form_of(request).get("message", "")).strip()
    if len(message) > MAX_MESSAGE:
        return await see_other(
            request, "/interests", _("Keep the message to 2,000 characters at most."), error=True
        )
    if interest.state not in ("open", "withdrawn"):  # a withdrawn one: the node says why
        return await see_other(request, "/interests", _("It was already answered."), error=True)
    by = user_of(request).name
    if request.match_info["answer"] == "accept":
        await interests.accept(interest.id, message=message, by=by, now=now_ms())
        done = _("Accepted: %(school)s is told, and the arrangement is listed below.")
    else:
        await interests.decline(interest.id, message=message, by=by, now=now_ms())
        done = _("Declined: %(school)s is told.")
    return await see_other(request, "/interests", done % {"school": interest.school})
