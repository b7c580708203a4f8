"""Offers and requests: search them, read one, post one, withdraw our own; and matches.

Staff only: pupils never see what schools offer each other. The search form is a
GET form, so that a search's address can be copied and sent to a colleague.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from node.net import search as network
from node.offers import service as offers
from node.offers.interests import expired
from node.store.search import MODE_FILTERS, Filters
from node.web.kit import VISIT, WEB, form_of, gettext, page_text, render, require, see_other
from node.web.listings import listing_of
from node.web.match_words import for_colleague, reasons_and_concerns
from node.web.vocabulary import COMMON_LANGUAGES, interest_states, vocabulary
from protocol import kinds
from protocol.errors import NotAllowedError, NotFoundError, SchemaError, UserInputError, said
from protocol.search import MAX_RESULTS

routes = web.RouteTableDef()

_FILTERS = ("side", "kind", "phase", "focus", "subject", "mode", "language", "country")
#: Results per page: enough to scan, few enough to load quickly on a school tablet.
PAGE = 25
MAX_PAGES = 20


def _given(query: str, chosen: dict[str, str]) -> dict[str, str]:
    """The search as it was asked, for the next page's address."""
    return {name: value for name, value in {"q": query, **chosen}.items() if value}


def _choices(request: web.Request) -> dict[str, Any]:
    """What the offer templates need to show codes in words and to offer choices."""
    return {
        "vocab": vocabulary(request[VISIT].language, gettext(request)),
        "common_languages": COMMON_LANGUAGES,
        "states": interest_states(gettext(request)),
    }


@routes.get("/offers")
@require("staff")
async def offers_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    query = request.query.get("q", "").strip()
    chosen = {name: request.query.get(name, "").strip() for name in _FILTERS}
    if chosen["kind"] in offers.SIDES:  # an older address: kind=offer
        chosen["side"], chosen["kind"] = chosen["side"] or chosen["kind"], ""
    if chosen["kind"] not in ("", *kinds.ACTIVITIES):
        chosen["kind"] = ""
    if chosen["side"] not in ("", *offers.SIDES):
        chosen["side"] = ""
    if chosen["phase"] not in ("", *kinds.PHASES):
        chosen["phase"] = ""
    if chosen["mode"] not in ("", *MODE_FILTERS):
        chosen["mode"] = ""
    chosen["subject"] = chosen["subject"][:64]
    filters = Filters.of(
        chosen["kind"],
        side=chosen["side"],
        phase=chosen["phase"],
        focus=chosen["focus"],
        language=chosen["language"].lower(),
        country=chosen["country"],
        subject=chosen["subject"],
        mode=chosen["mode"],
    )
    try:
        page = min(max(int(request.query.get("page", "1")), 1), MAX_PAGES)
    except ValueError:
        page = 1
    # One more than the page holds tells whether there is a next page.
    found = await node.offers.search(query, filters, limit=PAGE * page + 1)
    shown = found[PAGE * (page - 1) : PAGE * page]
    more = None
    if len(found) > PAGE * page and page < MAX_PAGES:
        more = "/offers?" + urlencode({**_given(query, chosen), "page": page + 1})
    searched = bool(query) or any(chosen.values())
    # Beyond this school's view: when asked (the link), or by itself when few match and
    # the school's admin allowed it (`schoolmesh network-search on`: off by default).
    wide = request.query.get("network") == "1" or (
        searched
        and page == 1
        and len(found) < NETWORK_BELOW
        and await network.automatic(node.store)
    )
    beyond, asked = await _beyond(request, query, filters, found) if wide else ([], None)
    return render(
        request,
        "offers_index.html",
        query=query,
        chosen=chosen,
        more=more,
        results=[(item, _row(item)) for item in shown],
        beyond=beyond,
        asked=asked,
        network_link=None
        if wide
        else "/offers?" + urlencode({**_given(query, chosen), "network": "1"}),
        ours=node.node_id,
        searched=searched,
        **_choices(request),
    )


#: Fewer results than this and the offers page searches the whole network by itself,
#: when the school's admin turned that on (node/net/search.py, AUTOMATIC_SETTING).
NETWORK_BELOW = 20


async def _beyond(
    request: web.Request, query: str, filters: Filters, held: list[offers.Listing]
) -> tuple[list[dict[str, Any]], int | None]:
    """Offers and requests other schools' nodes hold and this one does not
    (node/net/search.py), with the school of each and the node that gave it; and how
    many nodes answered (None: no peer could be asked)."""
    web_ = request.app[WEB]
    try:
        wire = network.wire_filter(filters)
        outcome = await web_.peers.search.ask(wire, query, MAX_RESULTS)
    except ValueError:  # words or filters a query cannot carry: this node's results only
        return [], None
    if not outcome.asked and not outcome.found:
        return [], None
    mine = {bytes(item.entry.id) for item in held}
    vias = {f.via for f in outcome.found}
    known = await web_.node.store.schools({*(f.entry.author for f in outcome.found), *vias})
    rows = []
    for f in outcome.found:
        if bytes(f.entry.id) in mine:
            continue
        school, country = outcome.schools.get(f.entry.author) or known.get(
            f.entry.author, offers.UNKNOWN_SCHOOL
        )
        row = _row(offers.Listing(f.entry, school, country))
        row["via"] = known.get(f.via, (str(f.via)[:8], ""))[0] or str(f.via)[:8]
        rows.append(row)
    return rows, outcome.asked


#: Every optional field, so that templates can ask for any of them.
_OPTIONAL = ("text", "focus", "subjects", "phases", "languages", "mode", "from", "to")
_OPTIONAL_MORE = ("capacity", "closes", "region", "ages")


def _row(item: offers.Listing) -> dict[str, Any]:
    """An offer's fields for a template, with None for those not given."""
    return {**dict.fromkeys((*_OPTIONAL, *_OPTIONAL_MORE)), **item.as_json()}


@routes.get("/offers/new")
@require("staff")
async def new_offer_page(request: web.Request) -> web.StreamResponse:
    side = request.query.get("side", "offer")
    return render(
        request,
        "offers_new.html",
        values=_read_offer(MultiDictProxy(MultiDict(side=side)), gettext(request))[0],
        errors={},
        **_choices(request),
    )


@routes.post("/offers/new")
@require("staff")
async def post_offer(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = form_of(request)
    values, errors, content = _read_offer(form, _)
    side = values["side"]
    if not errors:
        try:
            entry = await request.app[WEB].node.offers.post(side, content)
        except (UserInputError, SchemaError) as exc:  # a rule the form did not check
            errors["form"] = page_text(request, exc)
        else:
            done = _("Your offer is posted.") if side == "offer" else _("Your request is posted.")
            await see_other(request, f"/offers/{entry.id}", done)
    return render(
        request, "offers_new.html", status=400, values=values, errors=errors, **_choices(request)
    )


def _tags_of(form: MultiDictProxy[Any], name: str) -> list[str]:
    """Ticked checkboxes, then the extra tags typed (separated by commas), without repeats."""
    found: list[str] = []
    typed = str(form.get(f"{name}_extra", "")).split(",")
    for value in [*form.getall(name, []), *typed]:
        value = " ".join(str(value).split())
        if value and value not in found:
            found.append(value)
    return found


def _read_offer(
    form: MultiDictProxy[Any], _: Callable[[str], str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """The form's values (to show again), its problems in the page's words, and the content."""
    values: dict[str, Any] = {
        name: str(form.get(name, "")).strip()
        for name in (
            "side",
            "activity",
            "title",
            "text",
            "mode",
            "from",
            "to",
            "closes",
            "capacity",
            "focus_extra",
            "subjects",
            "languages_extra",
        )
    }
    values["focus"] = _tags_of(form, "focus")
    values["phases"] = [p for p in form.getall("phases", []) if p in kinds.PHASES]
    values["languages"] = [code.strip() for code in _tags_of(form, "languages")]
    subjects = [s for s in (" ".join(v.split()) for v in values["subjects"].split(",")) if s]
    errors: dict[str, str] = {}
    if values["side"] not in offers.SIDES:
        values["side"] = "offer"
    if values["activity"] not in kinds.ACTIVITIES:
        errors["activity"] = _("Choose what kind of collaboration it is.")
    if not values["title"]:
        errors["title"] = _("Give it a short title.")
    elif len(values["title"]) > 200:
        errors["title"] = _("Keep the title to 200 characters at most.")
    if len(values["text"]) > 10_000:
        errors["text"] = _("Keep the details to 10,000 characters at most.")
    if any(len(t) > 64 for t in [*values["focus"], *subjects]):
        errors["focus"] = _("Each focus area or subject can be 64 characters at most.")
    if len(values["focus"]) > 20 or len(subjects) > 20:
        errors["focus"] = _("Give 20 focus areas or subjects at most.")
    if kinds.languages(values["languages"]) is not None:
        errors["languages"] = _(
            "Write languages as short codes, such as en, fr or pt-BR, separated by commas."
        )
    if values["mode"] not in ("", *kinds.MODES):
        values["mode"] = ""
    days: dict[str, date | None] = {}
    for name in ("from", "to", "closes"):
        days[name] = None
        if values[name]:
            try:
                days[name] = date.fromisoformat(values[name])
            except ValueError:
                errors[name] = _("Give a date like 2027-03-04.")
    start, end = days["from"], days["to"]
    if start and end and end < start:
        errors["to"] = _("The last date is before the first date.")
    capacity: int | None = None
    if values["capacity"]:
        try:
            capacity = int(values["capacity"])
        except ValueError:
            capacity = 0
        if not 1 <= capacity <= 10_000:
            errors["capacity"] = _("Give a whole number from 1 to 10,000.")
    content = offers.content_of(
        activity=values["activity"],
        title=values["title"],
        text=values["text"],
        focus=values["focus"],
        subjects=subjects,
        phases=values["phases"],
        languages=values["languages"],
        mode=values["mode"] or None,
        date_from=values["from"] or None,
        date_to=values["to"] or None,
        capacity=capacity,
        closes=values["closes"] or None,
    )
    return values, errors, content


@routes.get("/offers/{id}")
@require("staff")
async def offer_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    try:
        listing = await node.offers.one(request.match_info["id"])
    except (NotFoundError, UserInputError):
        return await _withdrawn_page(request)
    about = [i for i in await node.interests.all() if i.entry == listing.entry.id]
    return render(
        request,
        "offers_show.html",
        item=listing,
        row=_row(listing),
        ours=listing.entry.author == node.node_id,
        interests=about,
        waiting=any(i.state == "open" for i in about),
        closed=expired(listing.entry, datetime.now(UTC).date()),
        **_choices(request),
    )


async def _withdrawn_page(request: web.Request) -> web.StreamResponse:
    """What a withdrawn offer or request was, when, by whom and why; else "not found"."""
    node = request.app[WEB].node
    try:
        gone = await node.offers.withdrawn(request.match_info["id"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
    about = [i for i in await node.interests.all() if i.entry == gone.record.id]
    return render(
        request,
        "offers_withdrawn.html",
        gone=gone,
        ours=gone.record.author == node.node_id,
        interests=about,
        **_choices(request),
    )


@routes.post("/offers/{id}/withdraw")
@require("staff")
async def withdraw_offer(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    listing = await listing_of(request)
    if listing.entry.author != node.node_id:
        raise NotAllowedError(
            "not our offer", page=said("Only the school that posted it can withdraw it.")
        )
    reason = " ".join(str(form_of(request).get("reason", "")).split())[:500]
    side: offers.Side = "offer" if listing.entry.kind == "offer" else "request"
    await node.offers.withdraw(side, str(listing.entry.id), reason)
    return await see_other(request, "/offers", _("Withdrawn: other schools will no longer see it."))


@routes.get("/matches")
@require("staff")
async def matches_page(request: web.Request) -> web.StreamResponse:
    found = await request.app[WEB].node.offers.matches(limit=5)
    _ = gettext(request)
    choices = _choices(request)
    said = [
        (mine, [(m, *reasons_and_concerns(m, _, choices["vocab"])) for m in best])
        for mine, best in found
    ]
    return render(request, "offers_matches.html", found=said, **choices)


@routes.get("/matches/staff")
@require("staff")
async def staff_matches_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    pairs, triads = await node.staff.suggestions(10)
    # Read from what the node holds: nothing is sent (docs/matching.md, "At other schools").
    found = await node.offers.for_staff(limit=5)
    _ = gettext(request)
    choices = _choices(request)
    elsewhere = [
        (person, [(o, *for_colleague(person.name, o, _, choices["vocab"])) for o in offers])
        for person, offers in found
    ]
    return render(
        request,
        "offers_staff_matches.html",
        pairs=pairs,
        triads=triads,
        elsewhere=elsewhere,
        **choices,
    )
