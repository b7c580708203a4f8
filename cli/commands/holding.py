"""``schoolmesh holding``: what this school's node holds, and why (docs/admin.md)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.store.holding import (
    EVERYTHING_MODE,
    HORIZON_MODE,
    MODES,
    choose,
    filter_json,
    parse_follow,
    summary,
)


def register(sub: Any) -> None:
    holding = sub.add_parser(
        "holding",
        parents=[data_option(), json_option()],
        help="show what this node holds (and choose: everything, or by horizon)",
        description="Show what this school's node holds: whole logs of the schools in "
        "its horizon (itself, its partners, the members of its projects, schools "
        "followed by hand), other schools' entries that match its subscription (its "
        "region and phases, its staff's subjects and focus), and every school's newest "
        "profile. `holding horizon` (the default) holds that; `holding everything` (a "
        "hub's) keeps every public entry received. The change applies to entries that "
        "arrive from then on. With --json: mode, hub, everything, follow, horizon (node "
        "ids), filters, whole_logs, whole_entries, loose_entries, loose_profiles.",
    )
    holding.add_argument("mode", nargs="?", choices=MODES, help="what to hold from now on")
    holding.add_argument(
        "--follow",
        action="append",
        default=[],
        metavar="NODE_ID",
        help="hold this school's whole log too (repeatable)",
    )
    holding.add_argument(
        "--unfollow", action="append", default=[], metavar="NODE_ID", help="stop following"
    )
    holding.set_defaults(handler=_holding)


async def _holding(args: argparse.Namespace) -> None:
    follow, unfollow = parse_follow(args.follow), parse_follow(args.unfollow)
    async with await open_node(args) as node:
        if args.mode or follow or unfollow:
            await choose(node.store, args.mode, follow, unfollow)
        held = await summary(node.store)
    if args.json:
        print_json(held.as_json())
        return
    policy = held.policy
    if policy.everything:
        why = "as a hub of everything" if policy.hub is not None else "(`holding everything`)"
        print(f"This node keeps every public entry it receives, {why}.")
    else:
        print(
            "This node holds the whole logs of the schools of its horizon (itself, its "
            "partners, its projects' members, schools followed by hand): "
            f"{len(policy.interest.horizon)} in all."
        )
        if policy.interest.filters:
            print("Of other schools, it keeps the entries that match:")
            for one in policy.interest.filters:
                parts = "; ".join(f"{k}: {', '.join(v)}" for k, v in filter_json(one).items())
                print(f"  - {parts or 'everything'}")
        else:
            print(
                "Of other schools, it keeps only their newest profiles: give the school "
                "a region on its profile, or staff subjects, to keep their offers too."
            )
    if policy.choice.follow:
        print(f"Followed by hand: {len(policy.choice.follow)} schools.")
    print(
        f"Held: {held.whole_entries} entries in {held.whole_logs} whole logs; "
        f"{held.loose_entries} other entries held alone; {held.loose_profiles} other "
        "schools' profiles."
    )
    if args.mode == HORIZON_MODE:
        print(
            "Partners' partners are learnt from partners running this version, as they "
            "connect; until then their entries count as other schools'."
        )
    elif args.mode == EVERYTHING_MODE:
        print("Entries held alone join their schools' logs as those logs arrive.")
