"""``schoolmesh schools`` (the directory) and the partnership request commands."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json, under
from node.clock import iso_ms, now_ms
from node.directory.service import Request
from protocol import kinds
from protocol.errors import SchemaError


def register(sub: Any) -> None:
    listing = sub.add_parser(
        "schools",
        parents=[data_option(), json_option()],
        help="the schools directory: every school whose profile reached this node",
        description="List every school whose profile reached this node (through partners "
        "and their partners), with its node id, name, country, languages, phases and "
        "whether it is your partner. Ask one to partner with `schoolmesh partner request`.",
    )
    listing.add_argument("--country", metavar="CC", help="two-letter country code, e.g. FR")
    listing.add_argument("--language", metavar="LANG", help="a language it teaches in, e.g. fr")
    listing.add_argument("--phase", choices=kinds.PHASES, help="a phase it teaches")
    listing.add_argument("--age", type=int, metavar="YEARS", help="it teaches pupils of this age")
    listing.add_argument("--words", metavar="TEXT", help="words in its name, region or about")
    listing.set_defaults(handler=_schools)


def register_partner(actions: Any) -> None:
    """The request commands, under ``schoolmesh partner`` (cli/commands/partners.py)."""
    ask = actions.add_parser(
        "request",
        parents=[data_option(), json_option()],
        help="ask a school from the directory to partner with yours",
        description="Send a school from `schoolmesh schools` a request to partner, with a "
        "message. Only that school can read it; it travels through the relays the school "
        "names, and waits until it can be delivered. If their admin accepts, the two schools "
        "become partners without an invite code. A school can be asked once a month; a "
        "request not answered in 30 days expires.",
    )
    ask.add_argument("node_id", metavar="NODE_ID")
    ask.add_argument("--message", required=True, metavar="TEXT", help="up to 2,000 characters")
    ask.add_argument("--by", metavar="STAFF", help="your name, as the contact at your school")
    ask.set_defaults(handler=_request)
    requests = actions.add_parser(
        "requests",
        parents=[data_option(), json_option()],
        help="partnership requests sent and received, newest first",
        description="Partnership requests your school sent and received, newest first, "
        "with their state: open, accepted, declined or expired.",
    )
    requests.set_defaults(handler=_requests)
    for name, verb, handler in (("accept", "accept", _accept), ("decline", "decline", _decline)):
        answer = actions.add_parser(
            name,
            parents=[data_option(), json_option()],
            help=f"{verb} a partnership request another school sent",
            description=f"{verb.capitalize()} a partnership request (see `schoolmesh partner "
            "requests`); the other school is told."
            + (" Both schools become partners at once." if name == "accept" else ""),
        )
        answer.add_argument("id", metavar="ID", help="the request's id, or its first 6 characters")
        answer.set_defaults(handler=handler)


async def _schools(args: argparse.Namespace) -> None:
    if args.country is not None:
        # Small letters are understood (the filter ignores case), but a name or an
        # unknown code gets init's words, not "No school matches".
        problem = kinds.country(args.country.strip().upper())
        if problem is not None:
            raise SchemaError("country", problem)
    async with await open_node(args) as node:
        found = await node.directory.schools(
            country=args.country,
            language=args.language,
            phase=args.phase,
            age=args.age,
            words=args.words,
            offers=args.json,
        )
    if args.json:
        print_json([school.as_json() for school in found])
        return
    if not found:
        print("No school matches: try fewer filters, or wait for profiles to arrive.")
    for school in found:
        mark = "this school" if school.ours else ("partner" if school.partner else "")
        print(f"{school.node_id}  {school.country}  {one_line(school.name)}  {mark}".rstrip())
        details = ", ".join(
            part
            for part in (" ".join(school.languages), " ".join(school.phases), school.region)
            if part
        )
        if details:
            print(f"    {one_line(details)}")


async def _request(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        done = await node.directory.request(args.node_id, args.message, by=args.by, now=now_ms())
    if args.json:
        print_json(done.as_json())
        return
    print(
        f"Asked {done.school} to partner (request {done.id[:8]}); it expires unanswered on "
        f"{iso_ms(done.at + 30 * 86_400_000)[:10]}."
    )


async def _requests(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.directory.requests(now=now_ms())
    if args.json:
        print_json([r.as_json() for r in found])
        return
    if not found:
        print("No partnership requests yet: find a school with `schoolmesh schools`.")
    for request in found:
        _print(request)


def _print(request: Request) -> None:
    way = "to" if request.direction == "sent" else "from"
    print(
        f"{request.id[:8]}  {request.state:<8}  {request.direction} {way} "
        f"{one_line(request.school)}"
        f"  {iso_ms(request.at)[:10]}"
    )
    print(f"    {request.school_id}")
    print(f"    {request.by or 'They'} wrote: {under(request.message, 8 * ' ')}")


async def _answer(args: argparse.Namespace, accept: bool) -> None:
    async with await open_node(args) as node:
        answer = node.directory.accept if accept else node.directory.decline
        done = await answer(args.id, now=now_ms())
    if args.json:
        print_json(done.as_json())
        return
    if accept:
        print(f"{done.school} is now a partner; they will be told.")
    else:
        print(f"Declined the request from {done.school}; they will be told.")


async def _accept(args: argparse.Namespace) -> None:
    await _answer(args, True)


async def _decline(args: argparse.Namespace) -> None:
    await _answer(args, False)
