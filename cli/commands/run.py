"""``schoolmesh run``: serve this node until stopped."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, open_node


def register(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        parents=[data_option()],
        help="run this node until Ctrl-C",
        description="Run this school's node: serve its address and keep sessions with "
        "partner schools. Stop with Ctrl-C (or SIGTERM); it shuts down cleanly.",
    )
    run.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    run.add_argument(
        "--port", type=int, default=8470, help="port to listen on (default: %(default)s)"
    )
    run.add_argument(
        "--no-listen",
        action="store_true",
        help="open no port (behind a school firewall): work only through dialled sessions",
    )
    run.add_argument(
        "--address",
        metavar="URL",
        help="the address partners dial, if not http://HOST:PORT (e.g. behind a reverse proxy)",
    )
    run.set_defaults(handler=_run)


async def _run(args: argparse.Namespace) -> None:
    from node.net.server import serve  # aiohttp is slow to import: only here, not for every command

    node = await open_node(args, check=True)  # a damaged database is not served or synced
    async with node:
        await serve(
            node, host=args.host, port=args.port, listen=not args.no_listen, address=args.address
        )
