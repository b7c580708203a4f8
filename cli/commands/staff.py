"""``schoolmesh staff ...``: staff profiles, private to the school, for peer-observation pairs."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.observations import staff
from protocol import kinds

_PRIVATE = "Profiles stay in this school's database: they are never sent to any other school."


def register(sub: Any) -> None:
    group = sub.add_parser(
        "staff",
        help="your staff's strengths and development areas, for peer observation (private)",
        description="Your staff's strengths and the areas they are developing, so that "
        "`schoolmesh match --staff` can suggest who might observe whom. " + _PRIVATE,
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser(
        "add",
        parents=[data_option()],
        help="record a colleague's strengths and development areas",
        description="Record a colleague's strengths and the areas they are developing. Use "
        f"the focus words ({', '.join(kinds.FOCUS_AREAS)}) so that colleagues can be "
        "paired; other short tags are allowed too. " + _PRIVATE,
    )
    add.add_argument("name", metavar="NAME", help="the colleague's name, as staff know it")
    add.add_argument(
        "--strength",
        action="append",
        default=[],
        metavar="FOCUS",
        help="something they do well that others could see (repeatable)",
    )
    add.add_argument(
        "--develop",
        action="append",
        default=[],
        metavar="FOCUS",
        help="an area they are developing (repeatable)",
    )
    add.add_argument("--subject", action="append", default=[], help="a subject taught (repeatable)")
    add.add_argument("--phase", choices=kinds.PHASES)
    add.add_argument("--replace", action="store_true", help="replace their existing profile")
    add.set_defaults(handler=_add)

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="list staff profiles",
        description="List your staff profiles by name. " + _PRIVATE,
    )
    listing.set_defaults(handler=_list)

    remove = actions.add_parser(
        "remove",
        parents=[data_option()],
        help="delete a colleague's profile",
        description="Delete a colleague's profile from this school's database.",
    )
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_remove)


async def _add(args: argparse.Namespace) -> None:
    person = staff.member(
        args.name,
        strengths=args.strength,
        develops=args.develop,
        subjects=args.subject,
        phase=args.phase,
    )
    async with await open_node(args) as node:
        await node.staff.add(person, replace=args.replace)
    print(f"Saved the profile of {person.name}")


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        people = await node.staff.listing()
    if args.json:
        print_json([person.as_json() for person in people])
        return
    if not people:
        print("No staff profiles yet: add one with `schoolmesh staff add NAME --strength FOCUS`.")
    for person in people:
        details = [
            f"strong in {', '.join(person.strengths) or '-'}",
            f"developing {', '.join(person.develops) or '-'}",
        ]
        if person.subjects:
            details.append(f"teaches {', '.join(person.subjects)}")
        if person.phase:
            details.append(person.phase)
        print(f"{person.name}: {'; '.join(details)}")


async def _remove(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        await node.staff.remove(args.name)
    print(f"Removed the profile of {args.name}")
