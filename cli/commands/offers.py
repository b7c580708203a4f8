"""``schoolmesh offer ...`` and ``schoolmesh request ...``: the same three commands each."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json
from node.offers import service as offers
from node.offers.service import Side
from protocol import kinds

_HELP = {
    "offer": "what your school can offer others (observation slots, placements, training days)",
    "request": "what your school is looking for from others",
}


def _register(side: Side, sub: Any) -> None:
    group = sub.add_parser(side, help=_HELP[side], description=_HELP[side].capitalize() + ".")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    post = actions.add_parser(
        "post",
        parents=[data_option(), json_option()],
        help=f"publish a new {side}",
        description=f"Publish a new {side}; it reaches partner schools and their partners.",
    )
    post.add_argument(
        "--kind", required=True, choices=kinds.ACTIVITIES, help="what kind of collaboration"
    )
    post.add_argument("--title", required=True, help="a short title")
    post.add_argument("--text", default="", help="details: what, who for, practicalities")
    post.add_argument(
        "--focus", action="append", default=[], help="a focus area, e.g. phonics (repeatable)"
    )
    post.add_argument("--subject", action="append", default=[], help="a subject (repeatable)")
    post.add_argument(
        "--phase", action="append", default=[], choices=kinds.PHASES, help="(repeatable)"
    )
    post.add_argument(
        "--language", action="append", default=[], help="a language code, e.g. fr (repeatable)"
    )
    post.add_argument("--mode", choices=kinds.MODES)
    post.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first date")
    post.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last date")
    post.add_argument("--capacity", type=int, help="how many people or schools")
    post.add_argument("--closes", metavar="YYYY-MM-DD", help="closing date for replies")
    post.set_defaults(handler=partial(_post, side))

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help=f"every {side} this node holds, from any school",
        description=f"List every current {side} this node holds, from any school, newest first.",
    )
    listing.set_defaults(handler=partial(_list, side))

    withdraw = actions.add_parser(
        "withdraw",
        parents=[data_option()],
        help=f"withdraw one of your school's {side}s everywhere",
        description=f"Withdraw one of your school's {side}s: every school holding it removes it.",
    )
    withdraw.add_argument("id", metavar="ID", help="its id, or the first 8 or more characters")
    withdraw.add_argument("--reason", default="", help="optional, shown to other schools")
    withdraw.set_defaults(handler=partial(_withdraw, side))


REGISTER: tuple[Callable[[Any], None], ...] = (
    partial(_register, "offer"),
    partial(_register, "request"),
)


def _content(args: argparse.Namespace) -> dict[str, Any]:
    return offers.content_of(
        activity=args.kind,
        title=args.title,
        text=args.text,
        focus=args.focus,
        subjects=args.subject,
        phases=args.phase,
        languages=args.language,
        mode=args.mode,
        date_from=args.date_from,
        date_to=args.date_to,
        capacity=args.capacity,
        closes=args.closes,
    )


async def _post(side: Side, args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        entry = await node.offers.post(side, _content(args))
    if args.json:
        print_json({"id": str(entry.id)})
    else:
        print(f"Posted {side} {entry.id}")


async def _list(side: Side, args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        items = await node.offers.listing(side)
    if args.json:
        print_json([item.as_json() for item in items])
        return
    if not items:
        print(f"No {side}s yet.")
    for item in items:
        row = item.as_json()
        print(
            f"{row['id'][:12]}  {row['posted_at'][:10]}  {row['kind']:<15}  "
            f"{one_line(row['title'])}  ({one_line(row['school'])}, {row['country']})"
        )


async def _withdraw(side: Side, args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        entry = await node.offers.withdraw(side, args.id, args.reason)
    print(f"Withdrawn: {args.id} (withdrawal {entry.id})")
