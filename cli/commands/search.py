"""``schoolmesh search``: find offers and requests across the network."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.store.search import LISTED, MODE_FILTERS, Filters
from protocol import kinds


def register(sub: Any) -> None:
    search = sub.add_parser(
        "search",
        parents=[data_option(), json_option()],
        help="find offers, requests, questions and answers from any school this node knows",
        description="Search the words of every current offer, request, question and answer "
        "this node holds "
        "(accents and letter case do not matter), best match first, then newest. Withdrawn "
        "ones, and those whose closing or last date has passed, are left out.",
    )
    search.add_argument("query", metavar="QUERY", nargs="?", default="", help="words to find")
    search.add_argument(
        "--kind",
        choices=(*kinds.ACTIVITIES, kinds.OFFER, kinds.REQUEST),
        help="a kind of collaboration, or 'offer' / 'request' for one side only",
    )
    search.add_argument(
        "--side",
        choices=LISTED,
        help="offers, requests, questions or answers only (with or without --kind)",
    )
    search.add_argument("--phase", choices=kinds.PHASES)
    search.add_argument("--focus", help="a focus area, e.g. phonics")
    search.add_argument("--subject", help="a subject, e.g. maths")
    search.add_argument(
        "--mode",
        choices=MODE_FILTERS,
        help="online or in person (those that can be either are found by both)",
    )
    search.add_argument("--language", help="a language code, e.g. fr")
    search.add_argument("--country", metavar="CC", help="the posting school's country, e.g. FR")
    search.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    search.set_defaults(handler=_search)


async def _search(args: argparse.Namespace) -> None:
    filters = Filters.of(
        args.kind,
        side=args.side,
        subject=args.subject,
        mode=args.mode,
        phase=args.phase,
        focus=args.focus,
        language=args.language,
        country=args.country,
        among=LISTED,
    )
    async with await open_node(args) as node:
        found = await node.offers.search(args.query, filters, limit=args.limit)
    if args.json:
        print_json([item.as_json() for item in found])
        return
    if not found:
        print("Nothing found.")
    for item in found:
        row = item.as_json()
        print(
            f"{row['id'][:12]}  {row['side']:<7}  {row['kind']:<15}  {row['title']}"
            f"  ({row['school']}, {row['country']})"
        )
