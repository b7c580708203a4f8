"""``schoolmesh hub``: run this school's node as a hub that other schools' searches ask."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from protocol import kinds
from protocol.errors import UserInputError
from protocol.search import hub_problem


def register(sub: Any) -> None:
    hub = sub.add_parser(
        "hub",
        parents=[data_option(), json_option()],
        help="run this node as a hub for searches of the whole network, or stop",
        description="A hub is an ordinary node that says, in its school's signed profile, "
        "which public entries it holds (its filter); other schools' searches of the whole "
        "network ask up to two hubs whose filter covers them before asking along partners. "
        "`hub on` with no filter: every offer and request. `hub off`: no longer a hub. "
        "Without on or off: show whether this node is a hub, and its filter.",
    )
    hub.add_argument("state", nargs="?", choices=("on", "off"), help="start or stop being a hub")
    hub.add_argument(
        "--country", action="append", default=[], metavar="CC", help="only these countries"
    )
    hub.add_argument("--language", action="append", default=[], help="only these languages")
    hub.add_argument(
        "--phase", action="append", default=[], choices=kinds.PHASES, help="only these phases"
    )
    hub.add_argument("--subject", action="append", default=[], help="only these subjects")
    hub.add_argument(
        "--side", action="append", default=[], choices=("offer", "request"), help="only these"
    )
    hub.set_defaults(handler=_hub)


async def _hub(args: argparse.Namespace) -> None:
    chosen = {
        "countries": [c.strip().upper() for c in args.country],
        "languages": args.language,
        "phases": args.phase,
        "subjects": args.subject,
        "sides": args.side,
    }
    wanted = {k: list(dict.fromkeys(v)) for k, v in chosen.items() if v}
    if wanted and args.state != "on":
        raise UserInputError("a hub's filter (--country, --phase ...) goes with `hub on`")
    problem = hub_problem(wanted)
    if problem is not None:
        raise UserInputError(f"the hub's filter {problem}")
    async with await open_node(args) as node:
        if args.state == "on":
            await node.update_profile(hub=wanted)
        elif args.state == "off":
            await node.update_profile(hub=None)
        profile = await node.store.profile_of(node.node_id)
    current = None if profile is None else profile.hub
    if args.json:
        print_json({"hub": current is not None, "filter": current})
        return
    if current is None:
        print("This node is not a hub.")
    elif not current:
        print("This node is a hub of every offer and request it holds.")
    else:
        parts = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(current.items()))
        print(f"This node is a hub of the offers and requests of {parts}.")
    if args.state:
        print("Other schools learn it with this school's profile (schoolmesh run sends it).")
