"""The offer or request a page's address names, for the offer pages and the interest pages."""

from __future__ import annotations

from aiohttp import web

from node.offers import service as offers
from node.web.kit import WEB
from protocol.errors import NotFoundError, UserInputError


async def listing_of(request: web.Request) -> offers.Listing:
    """The offer or request the address names, or a "not found" page."""
    try:
        return await request.app[WEB].node.offers.one(request.match_info["id"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
