"""``schoolmesh event ...``: shared training days, TeachMeets, pupil conferences."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node import events
from protocol import kinds

_NOT_SENT_YET = (
    "Your answer is kept on your node; it reaches the organiser once schoolmesh can send "
    "private messages between two schools (being built), and until then nothing is sent: "
    "tell the organiser yourself too."
)


def register(sub: Any) -> None:
    group = sub.add_parser(
        "event",
        help="shared training days, TeachMeets, pupil conferences and other events",
        description="Events your school organises or is invited to. Events are public: "
        "they reach partner schools and their partners, like offers.",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create",
        parents=[data_option(), json_option()],
        help="publish a new event",
        description="Publish a new event; it reaches partner schools and their partners. "
        "Give times with their offset (2027-03-04T09:00+01:00), or without one and with "
        "--tz.",
    )
    _event_options(create, required=True)
    create.add_argument(
        "--audience",
        choices=kinds.AUDIENCES,
        default="public",
        help="who may see it (only public for now)",
    )
    create.set_defaults(handler=_create)

    update = actions.add_parser(
        "update",
        parents=[data_option(), json_option()],
        help="change one of your school's events",
        description="Publish a new version of one of your school's events, changing only "
        "what you give; calendars that imported it show the change (`event ics`).",
    )
    update.add_argument("id", metavar="ID", help="its id, or the first 8 or more characters")
    _event_options(update, required=False)
    update.set_defaults(handler=_update)

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="events from any school, soonest first",
        description="List the events this node holds, from any school, soonest first, with "
        "your school's answer. Past and cancelled events are left out unless --all.",
    )
    listing.add_argument("--all", action="store_true", help="include past and cancelled events")
    listing.set_defaults(handler=_list)

    rsvp = actions.add_parser(
        "rsvp",
        parents=[data_option()],
        help="answer yes, no or maybe to another school's event",
        description="Record your school's answer to another school's event. " + _NOT_SENT_YET,
    )
    rsvp.add_argument("id", metavar="ID", help="the event's id, or its first 8 or more characters")
    rsvp.add_argument("answer", choices=events.ANSWERS)
    rsvp.set_defaults(handler=_rsvp)

    ics = actions.add_parser(
        "ics",
        parents=[data_option()],
        help="every event as an iCalendar file for calendar programs",
        description="Write every event this node holds as an iCalendar (.ics) file, to "
        "standard output or to --out. Import it into a calendar program, or re-export it "
        "after changes: each event keeps one identity, so changed events are updated and "
        "withdrawn ones are marked cancelled.",
    )
    ics.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead")
    ics.set_defaults(handler=_ics)

    withdraw = actions.add_parser(
        "withdraw",
        parents=[data_option()],
        help="cancel one of your school's events everywhere",
        description="Cancel one of your school's events: every school holding it removes its "
        "details and calendars show it as cancelled.",
    )
    withdraw.add_argument("id", metavar="ID", help="its id, or the first 8 or more characters")
    withdraw.add_argument("--reason", default="", help="optional, shown to other schools")
    withdraw.set_defaults(handler=_withdraw)


def _event_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--title", required=required, help="a short title")
    parser.add_argument(
        "--start", required=required, metavar="ISO", help="e.g. 2027-03-04T09:00+01:00"
    )
    parser.add_argument(
        "--end", required=required, metavar="ISO", help="e.g. 2027-03-04T16:00+01:00"
    )
    parser.add_argument(
        "--tz", metavar="ZONE", help="its time zone, e.g. Europe/London (kept in calendars)"
    )
    parser.add_argument("--where", help="the address, or how to join online")
    parser.add_argument("--text", help="details: programme, who it is for, what to bring")
    parser.add_argument("--capacity", type=int, help="how many places")


def _fields(args: argparse.Namespace, tz: str | None) -> dict[str, Any]:
    given = {
        "title": args.title,
        "start": None if args.start is None else events.moment(args.start, tz, "--start"),
        "end": None if args.end is None else events.moment(args.end, tz, "--end"),
        "tz": args.tz,
        "where": args.where,
        "text": args.text,
        "capacity": args.capacity,
    }
    return {k: v for k, v in given.items() if v is not None}


async def _create(args: argparse.Namespace) -> None:
    content = {**_fields(args, args.tz), "audience": args.audience}
    async with await open_node(args) as node:
        entry = await events.create(node, content)
    if args.json:
        print_json({"id": str(entry.id)})
    else:
        print(f"Created event {entry.id}")


async def _update(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        current = await events.find(node, args.id)
        changes = _fields(args, args.tz or current.tz)
        entry = await events.update(node, args.id, changes)
    if args.json:
        print_json({"id": str(current.id), "version": str(entry.id)})
    else:
        print(f"Updated event {current.id} (version {entry.id})")


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await events.listing(node, everything=args.all)
    if args.json:
        print_json([event.as_json() for event in found])
        return
    if not found:
        print("No events yet." if args.all else "No upcoming events.")
    for event in found:
        title = "(cancelled)" if event.cancelled else event.content.get("title", "")
        answer = f"  you said: {event.answer}" if event.answer else ""
        print(
            f"{str(event.id)[:12]}  {event.start[:16].replace('T', ' ')}  {title}"
            f"  ({event.school}, {event.country}){answer}"
        )


async def _rsvp(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        event = await events.rsvp(node, args.id, args.answer)
    print(f"Recorded '{args.answer}' for {event.content.get('title', event.id)}.")
    print(_NOT_SENT_YET)


async def _ics(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        data = await events.ics(node)
    if args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        args.out.write_bytes(data)
        print(f"Wrote {args.out}")


async def _withdraw(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        withdrawals = await events.withdraw(node, args.id, args.reason)
    print(f"Withdrawn: {args.id} ({len(withdrawals)} version(s))")
