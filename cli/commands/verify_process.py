"""``schoolmesh verify-process``: whether this node checks the signatures of what peers
send in a separate process (node/net/verify.py): on for a hub unless switched off."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.net import verify


def register(sub: Any) -> None:
    command = sub.add_parser(
        "verify-process",
        parents=[data_option(), json_option()],
        help="check what peers send in a separate process (for hubs), or not",
        description="Every entry a partner's node sends is checked (its signature above "
        "all) before it is stored. `verify-process on`: also in a separate process, so a "
        "node catching up with many schools uses a second processor core fully (about "
        "25 MB more memory). `off`: only in the node's own process, as a school's node "
        "does by default. `auto` (the default): on when this node is a hub (`schoolmesh "
        f"hub on`) on a machine of {verify.AUTO_CORES} processor cores or more, off "
        "otherwise. Takes effect when the node next starts "
        "(`schoolmesh run`). Without a state: show the setting.",
    )
    command.add_argument("state", nargs="?", choices=verify.STATES, help="on, off or auto")
    command.set_defaults(handler=_verify_process)


async def _verify_process(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        if args.state is not None:
            await verify.set_setting(node.store, args.state)
        state = await verify.setting(node.store)
        used = await verify.wanted(node.store, node.node_id, verify.cores())
        profile = await node.store.profile_of(node.node_id)
        hub = profile is not None and profile.hub is not None
    if args.json:
        print_json({"setting": state, "process": used})
        return
    why = {
        "on": "it is switched on",
        "off": "it is switched off",
        "auto": "this node is a hub"
        if used
        else (
            "this node is not a hub"
            if not hub
            else f"a hub, but this machine has fewer than {verify.AUTO_CORES} processor cores"
        ),
    }[state]
    if used:
        print(
            f"This node checks what peers send in a separate process too ({why}); a "
            "change takes effect when the node next starts."
        )
    else:
        print(
            f"This node checks what peers send in its own process only ({why}); a change "
            "takes effect when the node next starts."
        )
