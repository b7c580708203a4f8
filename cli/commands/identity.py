"""``schoolmesh init`` and ``schoolmesh id``."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, data_path, json_option, open_node, print_json
from node.node import Node


def register(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        parents=[data_option()],
        help="create this school's node: its key, database and profile",
        description="Create this school's node: a new key, an empty database and the "
        "school's signed profile.",
    )
    init.add_argument("--name", required=True, help="the school's name, as partners see it")
    init.add_argument(
        "--country", required=True, metavar="CC", help="ISO 3166-1 alpha-2 code, e.g. GB, FR"
    )
    init.add_argument("--url", help="the school's public web address (optional)")
    init.add_argument(
        "--force", action="store_true", help="replace an existing node here (deletes its data)"
    )
    init.set_defaults(handler=_init)

    ident = sub.add_parser(
        "id",
        parents=[data_option(), json_option()],
        help="show this node's id and fingerprint",
        description="Show this node's id, fingerprint, school name and country.",
    )
    ident.set_defaults(handler=_id)


async def _init(args: argparse.Namespace) -> None:
    node = await Node.create(
        data_path(args), name=args.name, country=args.country, url=args.url, force=args.force
    )
    async with node:
        me = await node.identity()
    print(f"Created the node of {me.name} ({me.country}) in {node.data.path}")
    print(f"node id:     {me.node_id}")
    print(f"fingerprint: {me.fingerprint}")


async def _id(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        me = await node.identity()
    if args.json:
        print_json(
            {
                "node_id": str(me.node_id),
                "fingerprint": me.fingerprint,
                "name": me.name,
                "country": me.country,
            }
        )
    else:
        print(f"{me.name} ({me.country})")
        print(f"node id:     {me.node_id}")
        print(f"fingerprint: {me.fingerprint}")
