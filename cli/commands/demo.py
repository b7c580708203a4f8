"""``schoolmesh demo``: three partner schools on this computer."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="run three partner schools on this computer, to try schoolmesh",
        description="Start three schools in different countries on loopback ports, partner "
        "them with real invite codes and give them sample offers, requests, events, demo "
        "sign-ins and a shared project with pupils' posts. Prints each school's web address "
        "and sign-ins. Ctrl-C stops the demo and removes its data.",
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo's data after it stops")
    demo.set_defaults(handler=_demo)


async def _demo(args: argparse.Namespace) -> None:
    from node.demo import run_demo  # aiohttp is slow to import: only when needed

    await run_demo(keep=args.keep)
