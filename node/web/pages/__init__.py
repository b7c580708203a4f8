"""Every area of the web pages: one module each, with its ``routes``."""

from aiohttp import web

from node.web.pages import (
    calendar,
    clusters,
    consent,
    dashboard,
    directory,
    events,
    interests,
    observations,
    offers,
    posts,
    projects,
    questions,
    school,
    signin,
    slots,
    staff,
    teams,
    users,
)

ROUTE_TABLES: tuple[web.RouteTableDef, ...] = (
    signin.routes,
    dashboard.routes,
    offers.routes,
    interests.routes,
    events.routes,
    calendar.routes,
    observations.routes,
    clusters.routes,
    consent.routes,
    projects.routes,
    posts.routes,
    school.routes,
    directory.routes,
    questions.routes,
    staff.routes,
    users.routes,
    teams.routes,
    slots.routes,
)
