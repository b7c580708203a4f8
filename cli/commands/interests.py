"""``schoolmesh interest ...``: say you are interested in another school's offer or request."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import (
    data_option,
    json_option,
    one_line,
    open_node,
    print_json,
    quoted,
    under,
)
from node.clock import iso_ms, now_ms
from node.events import service as events
from node.offers.interests import Booking, Interest

_PRIVATE = (
    "Interests and answers are private letters between the two schools: no other school "
    "can read them, partners included."
)


def register(sub: Any) -> None:
    group = sub.add_parser(
        "interest",
        help="tell a school you are interested in its offer or request, and answer interest",
        description="Tell the school that posted an offer or request that you are interested, "
        "and accept or decline interest in your own. An accepted interest is an arrangement "
        "both schools see, with the dates and a contact at each school. " + _PRIVATE,
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    send = actions.add_parser(
        "send",
        parents=[data_option(), json_option()],
        help="send interest in another school's offer or request",
        description="Send a short message to the school that posted an offer or request (find "
        "them with `schoolmesh search` or `schoolmesh match`). It goes to that school only. "
        "If the school is not one of your partners, the letter waits until your nodes can "
        "reach each other.",
    )
    send.add_argument("entry", metavar="ENTRY_ID", help="its id, or the first 8 or more characters")
    send.add_argument("--message", required=True, metavar="TEXT", help="up to 2,000 characters")
    send.add_argument("--by", metavar="STAFF", help="your name, as the contact at your school")
    send.set_defaults(handler=_send)

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="interests you sent and received, newest first",
        description="Interests your school sent and received, newest first, with their state "
        "(open, accepted, declined, or withdrawn when the offer or request was withdrawn "
        "before an answer); accepted ones show the arrangement.",
    )
    listing.set_defaults(handler=_list)

    for name, verb, handler in (
        ("accept", "accept", _accept),
        ("decline", "decline", _decline),
    ):
        answer = actions.add_parser(
            name,
            parents=[data_option(), json_option()],
            help=f"{verb} interest in one of your offers or requests",
            description=f"{verb.capitalize()} interest another school sent in one of your "
            "offers or requests; the answer goes back to that school only."
            + (" Both schools then see the arrangement." if name == "accept" else ""),
        )
        answer.add_argument(
            "id", metavar="ID", help="the interest's id, or its first 6 or more characters"
        )
        answer.add_argument("--message", default="", metavar="TEXT", help="optional note")
        answer.add_argument("--by", metavar="STAFF", help="your name, as the contact")
        answer.set_defaults(handler=handler)

    propose = actions.add_parser(
        "propose",
        parents=[data_option(), json_option()],
        help="propose a date for an arrangement (an accepted interest)",
        description="Propose a date and time for an arrangement to the other school; it "
        "replaces any date proposed before. The other school accepts it (`schoolmesh interest "
        "agree`) or proposes another. The agreed date becomes an event at both schools; for "
        "an observation offer, a planned peer observation. Either school may propose. "
        "Give times with their offset (2027-03-04T09:00+01:00), or without one and with --tz.",
    )
    propose.add_argument("id", metavar="ID", help="the interest's id, or its first 6 or more")
    propose.add_argument("--start", required=True, metavar="WHEN", help="date and time it starts")
    propose.add_argument("--end", required=True, metavar="WHEN", help="date and time it ends")
    propose.add_argument("--tz", metavar="ZONE", help="the time zone, e.g. Europe/London")
    propose.add_argument("--where", default="", metavar="PLACE", help="where it happens")
    propose.add_argument("--online", action="store_true", help="it happens online")
    propose.add_argument("--note", default="", metavar="TEXT", help="optional note")
    propose.add_argument("--by", metavar="STAFF", help="your name, as the contact")
    propose.set_defaults(handler=_propose)

    agree = actions.add_parser(
        "agree",
        parents=[data_option(), json_option()],
        help="accept the date the other school proposed for an arrangement",
        description="Accept the date the other school proposed for an arrangement: it "
        "becomes an event at both schools (see `schoolmesh event list`).",
    )
    agree.add_argument("id", metavar="ID", help="the interest's id, or its first 6 or more")
    agree.add_argument(
        "--proposal",
        metavar="ID",
        help="the proposal's id as listed (refused if the other school proposed another since)",
    )
    agree.add_argument("--by", metavar="STAFF", help="your name, as the contact")
    agree.set_defaults(handler=_agree)


async def _send(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        sent = await node.interests.send(args.entry, args.message, by=args.by, now=now_ms())
    if args.json:
        print_json(sent.as_json())
        return
    print(f"Sent interest {sent.id[:8]} to {one_line(sent.school)} about {quoted(sent.title)}.")
    if not sent.partner:
        print(
            f"{one_line(sent.school)} is not one of your partners: the letter waits until "
            "your nodes can reach each other (become partners with `schoolmesh invite create`)."
        )


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.interests.all()
    if args.json:
        print_json([interest.as_json() for interest in found])
        return
    if not found:
        print("No interests sent or received yet.")
    for interest in found:
        _print(interest)


def _print(interest: Interest) -> None:
    way = "to" if interest.direction == "sent" else "from"
    print(
        f"{interest.id[:8]}  {interest.state:<8}  {interest.direction} {way} "
        f"{one_line(interest.school)}"
        f"  {iso_ms(interest.sent_at)[:10]}"
    )
    print(f"    {one_line(interest.title)} ({str(interest.entry)[:12]})")
    print(f"    {interest.by or 'They'} wrote: {under(interest.message, 8 * ' ')}")
    if interest.answer:
        print(f"    {interest.answered_by or 'Answer'}: {under(interest.answer, 8 * ' ')}")
    arrangement = interest.arrangement
    if arrangement is not None:
        dates = (
            f"{arrangement.starts or '?'} to {arrangement.ends or '?'}"
            if arrangement.starts or arrangement.ends
            else "dates to agree"
        )
        print(f"    Arranged: {dates}")
        for contact in (arrangement.interested, arrangement.posting):
            print(f"      {contact.school}: {contact.staff or 'no contact named'}")
        agreed, waiting = interest.agreed, interest.proposed
        if agreed is not None:
            print(f"    Agreed date: {_when(agreed)} (an event at both schools)")
        elif waiting is not None:
            who = "we proposed" if waiting.ours else f"{interest.school} proposed"
            print(f"    Date {who} ({waiting.id[:8]}): {_when(waiting)}, waiting for an answer")
        elif interest.active:
            print("    No date agreed yet: propose one with `schoolmesh interest propose`")


def _when(booking: Booking) -> str:
    text = f"{booking.start} to {booking.end}" + (f" ({booking.tz})" if booking.tz else "")
    if booking.where:
        text += f", at {booking.where}"
    if booking.online:
        text += ", online"
    return text


async def _propose(args: argparse.Namespace) -> None:
    start = events.moment(args.start, args.tz, "--start")
    end = events.moment(args.end, args.tz, "--end")
    if args.tz is not None:
        events.time_zone(args.tz)
    async with await open_node(args) as node:
        done = await node.interests.propose(
            args.id,
            start=start,
            end=end,
            tz=args.tz,
            where=args.where,
            online=args.online,
            note=args.note,
            by=args.by,
            now=now_ms(),
        )
    if args.json:
        print_json(done.as_json())
        return
    print(f"Proposed a date to {done.school}; they will be told.")
    _print(done)


async def _agree(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        done = await node.interests.accept_date(args.id, args.proposal, by=args.by, now=now_ms())
    if args.json:
        print_json(done.as_json())
        return
    print(f"Agreed the date with {done.school}; they will be told, and it is an event at both.")
    _print(done)


async def _answer(args: argparse.Namespace, accept: bool) -> None:
    async with await open_node(args) as node:
        answer = node.interests.accept if accept else node.interests.decline
        done = await answer(args.id, message=args.message, by=args.by, now=now_ms())
    if args.json:
        print_json(done.as_json())
        return
    print(f"Interest {done.id[:8]} from {done.school} {done.state}; they will be told.")
    if done.arrangement is not None:
        _print(done)


async def _accept(args: argparse.Namespace) -> None:
    await _answer(args, True)


async def _decline(args: argparse.Namespace) -> None:
    await _answer(args, False)
