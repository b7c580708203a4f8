"""``schoolmesh search``: find offers and requests across the network."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json
from node.net import search as network
from node.node import Node
from node.offers.service import UNKNOWN_SCHOOL, Listing
from node.store.search import LISTED, MODE_FILTERS, Filters
from protocol import kinds
from protocol.errors import UserInputError
from protocol.keys import NodeId
from protocol.search import MAX_RESULTS


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
    search.add_argument(
        "--network",
        action="store_true",
        help="also ask other schools' nodes (hubs first, else along partners) for offers "
        "and requests this node does not hold; the node must be running (`schoolmesh run`)",
    )
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
    beyond: list[tuple[Listing, NodeId]] = []
    asked = 0
    async with await open_node(args) as node:
        found = await node.offers.search(args.query, filters, limit=args.limit)
        if args.network:
            beyond, asked = await _network(node, args.query, filters, args.limit, found)
    rows = [{**item.as_json(), "beyond": False, "via": None} for item in found]
    rows += [{**item.as_json(), "beyond": True, "via": str(via)} for item, via in beyond]
    if args.json:
        print_json(rows)
        return
    if not rows:
        print("Nothing found.")
    for row in rows:
        where = f"  [from beyond this school's view, via {row['via'][:8]}]" if row["beyond"] else ""
        print(
            f"{row['id'][:12]}  {row['side']:<7}  {row['kind']:<15}  {one_line(row['title'])}"
            f"  ({one_line(row['school'])}, {row['country']}){where}"
        )
    if args.network:
        print(f"{asked} other schools' nodes answered the search of the network.")


async def _network(
    node: Node, words: str, filters: Filters, limit: int, held: list[Listing]
) -> tuple[list[tuple[Listing, NodeId]], int]:
    """Ask the running node to search the network; what it found that we do not hold."""
    try:
        wire = network.wire_filter(filters)
    except ValueError as exc:
        raise UserInputError(f"--network: {exc}; leave out --side question/answer") from exc
    if not await node.peerbook.is_running():
        raise UserInputError(
            "--network needs this school's node running, to ask other schools: start it "
            "with `schoolmesh run` (or leave out --network to search what it holds)"
        )
    try:
        qid = await network.queue(node.store, wire, words, min(limit, MAX_RESULTS))
        deadline = time.monotonic() + network.WAIT_S + 10
        outcome = None
        while outcome is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            outcome = await network.loose(node.store, qid)
    except ValueError as exc:
        raise UserInputError(f"the search of the network was refused: {exc}") from exc
    if outcome is None:
        raise UserInputError(
            "the running node did not send the search in time: see `schoolmesh status`, "
            "then try again"
        )
    mine = {bytes(item.entry.id) for item in held}
    known = await node.store.schools({f.entry.author for f in outcome.found})
    results = []
    for f in outcome.found:
        if bytes(f.entry.id) in mine:
            continue
        school, country = outcome.schools.get(f.entry.author) or known.get(
            f.entry.author, UNKNOWN_SCHOOL
        )
        results.append((Listing(f.entry, school, country), f.via))
    return results, outcome.asked
