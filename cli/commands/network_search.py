"""``schoolmesh network-search``: whether the offers page searches the whole network by
itself when few offers match (off by default)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.net import search as network


def register(sub: Any) -> None:
    command = sub.add_parser(
        "network-search",
        parents=[data_option(), json_option()],
        help="let the offers page search the whole network by itself, or stop",
        description="A search of the whole network sends the words a staff member typed "
        "to up to 64 other schools' nodes. By default the offers page does so only when "
        "they click 'Search the whole network'. `network-search on`: when fewer than 20 "
        "offers and requests held here match, the page also asks the network by itself. "
        "`network-search off`: only on a click again. Without on or off: show the setting.",
    )
    command.add_argument(
        "state", nargs="?", choices=("on", "off"), help="start or stop searching by itself"
    )
    command.set_defaults(handler=_network_search)


async def _network_search(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        if args.state is not None:
            await network.set_automatic(node.store, args.state == "on")
        on = await network.automatic(node.store)
    if args.json:
        print_json({"automatic": on})
    elif on:
        print(
            "The offers page searches the whole network by itself when fewer than 20 "
            "offers and requests held here match."
        )
    else:
        print(
            "The offers page searches the whole network only when 'Search the whole "
            "network' is clicked."
        )
