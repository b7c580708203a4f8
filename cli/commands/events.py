"""``schoolmesh event ...``: shared training days, TeachMeets, pupil conferences."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.commands import teams
from cli.commands.common import data_option, json_option, open_node, print_json
from node.events import service as events
from node.events.rsvps import counts

_SENT_TO_ORGANISER = (
    "Your answer goes to the organising school only, as a private letter; answer again to "
    "change it. The organiser sees each school's answer in `event show`."
)


def _audience(text: str) -> str:
    """public, partners or project:ID, checked in full when the event is made."""
    if text in ("public", "partners") or (text.startswith("project:") and len(text) > 8):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: choose public, partners, or project:ID (an id from `schoolmesh project list`)"
    )


def register(sub: Any) -> None:
    group = sub.add_parser(
        "event",
        help="shared training days, TeachMeets, pupil conferences and other events",
        description="Events your school organises or is invited to. Public events reach "
        "partner schools and their partners, like offers; an event can also be for your "
        "partner schools only, or for one project's schools only.",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create",
        parents=[data_option(), json_option()],
        help="publish a new event",
        description="Make a new event. With --audience public (the default) it reaches "
        "partner schools and their partners; with partners, only your partner schools; with "
        "project:ID, only that project's schools (both sent as private letters). Give times "
        "with their offset (2027-03-04T09:00+01:00), or without one and with --tz.",
    )
    _event_options(create, required=True)
    create.add_argument(
        "--audience",
        type=_audience,
        default="public",
        metavar="public|partners|project:ID",
        help="who receives it (default public)",
    )
    teams.add_kind_option(create)
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

    show = actions.add_parser(
        "show",
        parents=[data_option(), json_option()],
        help="one event in full, with the answers other schools sent",
        description="Show one event in full. For your own events, each school's answer "
        "(yes, no, maybe) and who answered.",
    )
    show.add_argument("id", metavar="ID", help="its id, or the first 8 or more characters")
    show.set_defaults(handler=_show)

    rsvp = actions.add_parser(
        "rsvp",
        parents=[data_option()],
        help="answer yes, no or maybe to another school's event",
        description="Answer another school's event for your school. " + _SENT_TO_ORGANISER,
    )
    rsvp.add_argument("id", metavar="ID", help="the event's id, or its first 8 or more characters")
    rsvp.add_argument("answer", choices=events.ANSWERS)
    rsvp.add_argument("--by", metavar="STAFF", help="your name, shown to the organiser")
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

    teams.register(actions)


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
    async with await open_node(args) as node:
        content = {**_fields(args, args.tz), **teams.kind_of(args)}
        made = await events.create_for(node, content, args.audience)
    if args.json:
        print_json({"id": str(made)})
    else:
        print(f"Created event {made}")


async def _update(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        current = await events.find(node, args.id)
        changes = _fields(args, args.tz or current.tz)
        changed = await events.change(node, args.id, changes)
    version = changed.versions[-1]
    if args.json:
        print_json({"id": str(current.id), "version": str(version)})
    else:
        print(f"Updated event {current.id} (version {version})")


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
        if event.answers:
            answer += "  answers: " + ", ".join(
                f"{n} {a}" for a, n in counts(event.answers).items()
            )
        print(
            f"{str(event.id)[:12]}  {event.start[:16].replace('T', ' ')}  {title}"
            f"  ({event.school}, {event.country}){answer}"
        )


async def _show(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        event = await events.find(node, args.id)
        mine = event.author == node.node_id
    if args.json:
        print_json(event.as_json())
        return
    content = event.content
    print(f"{'(cancelled) ' if event.cancelled else ''}{content.get('title', '')}")
    print(f"  id:        {event.id}")
    print(f"  organiser: {event.school} ({event.country})")
    print(f"  when:      {event.start} to {event.end}" + (f" ({event.tz})" if event.tz else ""))
    for name in ("where", "capacity", "text"):
        if content.get(name) is not None:
            print(f"  {name + ':':<10} {content[name]}")
    print(f"  audience:  {content.get('audience', 'public')}")
    if event.cancelled:
        print(f"  cancelled: {event.as_json()['cancelled_at']}")
        if event.reason:
            print(f"  reason:    {event.reason}")
    if event.answer:
        print(
            f"  you said:  {event.answer}"
            + (f" ({event.answered_by})" if event.answered_by else "")
        )
    if mine:
        total = counts(event.answers)
        print("  answers:   " + ", ".join(f"{n} {a}" for a, n in total.items()))
        for answer in event.answers:
            by = f" ({answer.by})" if answer.by else ""
            print(f"    {answer.answer:<5}  {answer.school}{by}")


async def _rsvp(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        event = await events.rsvp(node, args.id, args.answer, by=args.by)
    print(f"Sent '{args.answer}' to {event.school} for {event.content.get('title', event.id)}.")


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
