"""``schoolmesh event team`` and ``event teams``: pupil teams for conferences and debates.

Registered under ``event`` by cli/commands/events.py; ``event create --kind`` makes
the conference or debate.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json
from node.clock import now_ms
from node.events.teams import FORMATS, MAX_PUPILS, ROLES
from protocol.errors import UserInputError

KIND_HELP = (
    "conference or debate: schools answer with a team of pupils (numbers and roles, "
    "never names); teachmeet: speaker slots (give --slots); leave out for other events"
)


#: The issue's name for an event with speaker slots: its ``slots`` make it one, so the
#: kind writes no field (docs/decisions.md, "TeachMeets with speaker slots").
TEACHMEET = "teachmeet"


def add_kind_option(parser: argparse.ArgumentParser) -> None:
    """``--kind conference|debate|teachmeet`` on ``event create``."""
    parser.add_argument(
        "--kind",
        choices=(*FORMATS, TEACHMEET),
        metavar="conference|debate|teachmeet",
        help=KIND_HELP,
    )


def kind_of(args: argparse.Namespace) -> dict[str, Any]:
    """The content field ``--kind`` gives, if any (a TeachMeet is told by ``--slots``)."""
    kind = getattr(args, "kind", None)
    if kind == TEACHMEET:
        if getattr(args, "slots", None) is None:
            raise UserInputError(
                "a TeachMeet needs its speaker slots: add --slots, such as 8x2,4x7 "
                "(eight 2-minute talks, then four 7-minute ones)"
            )
        return {}
    return {} if kind is None else {"format": kind}


def _role(text: str) -> tuple[str, int]:
    role, _, count = text.partition(":")
    if role not in ROLES or not count.strip().isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r}: write ROLE:N with ROLE one of {', '.join(ROLES)}, such as speaker:2"
        )
    return role, int(count)


def register(actions: Any) -> None:
    team = actions.add_parser(
        "team",
        parents=[data_option()],
        help="say how many pupils your school brings to a conference or debate",
        description="Tell the organiser of a conference or debate how many pupils your "
        "school brings and in which roles (speaker, researcher, audience): numbers only, "
        "never names. It goes to the organising school only, which shares every school's "
        "team, by numbers and roles, with the schools that send one. Send it again to "
        "change it; --withdraw takes it back.",
    )
    team.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first 8 characters")
    team.add_argument(
        "--pupils", type=int, metavar="N", help=f"how many pupils come (1 to {MAX_PUPILS})"
    )
    team.add_argument(
        "--role",
        type=_role,
        action="append",
        default=[],
        metavar="ROLE:N",
        help=f"how many pupils take a role, one of {', '.join(ROLES)}; repeat for each role",
    )
    team.add_argument("--withdraw", action="store_true", help="take your school's team back")
    team.set_defaults(handler=_team)

    teams = actions.add_parser(
        "teams",
        parents=[data_option(), json_option()],
        help="every school's team for a conference or debate",
        description="List each school's team for a conference or debate: its node id, "
        "name, how many pupils and in which roles. The organiser sees every team; other "
        "schools see the table the organiser last shared.",
    )
    teams.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first 8 characters")
    teams.set_defaults(handler=_teams)


async def _team(args: argparse.Namespace) -> None:
    if args.withdraw == (args.pupils is not None):
        raise UserInputError("give --pupils N (with --role ROLE:N for each role), or --withdraw")
    roles: dict[str, int] = {}
    for role, count in args.role:
        roles[role] = roles.get(role, 0) + count
    today = datetime.now(UTC).date()
    async with await open_node(args) as node:
        event = await node.events.find(args.id)
        pupils = None if args.withdraw else args.pupils
        await node.teams.send(event, pupils, roles, now=now_ms(), today=today)
    title = event.title or event.id
    if pupils is None:
        print(f"Withdrew your school's team from {title}.")
    else:
        print(f"Sent your team of {pupils} pupil(s) for {title} to {event.school}.")


async def _teams(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        event = await node.events.find(args.id)
        found = await node.teams.teams(event.id, event.author)
    if args.json:
        print_json([team.as_json() for team in found])
        return
    if not found:
        print("No teams yet.")
    for team in found:
        roles = ", ".join(f"{team.roles[r]} {r}" for r in ROLES if team.roles.get(r))
        print(
            f"{team.school_id}  {team.pupils:>2} pupils  {one_line(team.school)}  {roles}".rstrip()
        )
