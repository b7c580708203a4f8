"""Every area of the web pages: one module each, with its ``routes``."""

from aiohttp import web

from node.web.pages import dashboard, events, interests, observations, offers, signin

ROUTE_TABLES: tuple[web.RouteTableDef, ...] = (
    signin.routes,
    dashboard.routes,
    offers.routes,
    events.routes,
    observations.routes,
    interests.routes,
)
