"""What the event page and the conference pages show of pupil teams (node/events/teams.py):
numbers and roles by school, with totals, for the templates' teams table."""

from __future__ import annotations

from typing import Any

from node.events import service as events
from node.events.teams import FORMATS, MAX_PUPILS, ROLES, Team
from node.node import Node


def team_view(team: Team) -> dict[str, Any]:
    return {
        "school": team.school,
        "pupils": team.pupils,
        "roles": {role: team.roles.get(role, 0) for role in ROLES},
    }


def totals(teams: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pupils": sum(t["pupils"] for t in teams),
        "roles": {role: sum(t["roles"][role] for t in teams) for role in ROLES},
    }


async def context(node: Node, event: events.EventView) -> dict[str, Any]:
    """What the event page shows of teams: nothing unless it is a conference or debate."""
    if event.format not in FORMATS:
        return {"teams_format": None}
    ours = await node.teams.ours(event.id)
    teams = [team_view(t) for t in await node.teams.teams(event.id, event.author)]
    return {
        "teams_format": event.format,
        "our_team": None if ours is None else team_view(ours),
        "teams": teams,
        "team_totals": totals(teams),
        "roles": ROLES,
        "max_pupils": MAX_PUPILS,
    }
