"""``schoolmesh event ...``: shared training days, TeachMeets, pupil conferences."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.commands import teams
from cli.commands.common import data_option, json_option, one_line, open_node, print_json, under
from node.events import service as events
from node.events import slots as talks
from node.events.rsvps import counts
from protocol.errors import UserInputError
from protocol.rules.teams import has_teams

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
    create.add_argument(
        "--slots",
        type=_slot_groups,
        metavar="COUNTxMINUTES,...",
        help="a TeachMeet's speaker slots, such as 8x2,4x7 (eight 2-minute talks, then four "
        "7-minute ones); public events only",
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
    _register_slots(actions)

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
    kind = teams.kind_of(args)  # before the node opens: a TeachMeet without slots is refused
    async with await open_node(args) as node:
        fields = {**_fields(args, args.tz), **kind}
        if args.slots is not None:
            fields["slots"] = args.slots
        made = await node.events.create_for(fields, args.audience)
    if args.json:
        print_json({"id": str(made)})
    else:
        print(f"Created event {made}")


async def _update(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        current = await node.events.find(args.id)
        changes = _fields(args, args.tz or current.tz)
        changed = await node.events.change(args.id, changes)
    version = changed.versions[-1]
    if args.json:
        print_json({"id": str(current.id), "version": str(version)})
    else:
        print(f"Updated event {current.id} (version {version})")


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.events.listing(everything=args.all)
    if args.json:
        print_json([event.as_json() for event in found])
        return
    if not found:
        print("No events yet." if args.all else "No upcoming events.")
    for event in found:
        title = "(cancelled)" if event.cancelled else event.title
        answer = f"  you said: {event.answer}" if event.answer else ""
        if event.answers:
            answer += "  answers: " + ", ".join(
                f"{n} {a}" for a, n in counts(event.answers).items()
            )
        print(
            f"{str(event.id)[:12]}  {event.start[:16].replace('T', ' ')}  {one_line(title)}"
            f"  ({one_line(event.school)}, {event.country}){answer}"
        )


async def _show(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        event = await node.events.find(args.id)
        mine = event.author == node.node_id
        lineup = None
        if not args.json and event.slots:
            lineup = await talks.lineup(node, str(event.id))
    if args.json:
        print_json(event.as_json())
        return
    content = event.content
    print(f"{'(cancelled) ' if event.cancelled else ''}{one_line(event.title)}")
    print(f"  id:        {event.id}")
    print(f"  organiser: {one_line(event.school)} ({event.country})")
    print(f"  when:      {event.start} to {event.end}" + (f" ({event.tz})" if event.tz else ""))
    _print_kind(event, lineup)
    for name in ("where", "capacity", "text"):
        if content.get(name) is not None:
            print(f"  {name + ':':<10} {under(str(content[name]), 13 * ' ')}")
    print(f"  audience:  {event.audience}")
    if event.cancelled:
        print(f"  cancelled: {event.as_json()['cancelled_at']}")
        if event.reason:
            print(f"  reason:    {under(event.reason, 13 * ' ')}")
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
            print(f"    {answer.answer:<5}  {one_line(answer.school)}{one_line(by)}")


def _print_kind(event: events.EventView, lineup: talks.Lineup | None) -> None:
    """What kind of event it is: a TeachMeet with its slots, or a conference or debate."""
    kind = event.content.get("format")
    if lineup is not None:
        groups = ", ".join(f"{n} of {m} min" for n, m in event.slots)
        taken = sum(1 for slot in lineup.slots if slot.title is not None)
        print("  kind:      TeachMeet (speakers sign up for slots)")
        print(
            f"  slots:     {groups} ({taken} of {len(lineup.slots)} taken: "
            f"`event slots {event.id}`)"
        )
    elif isinstance(kind, str) and has_teams(kind):
        print(f"  kind:      {kind} (schools bring pupil teams: `event teams {event.id}`)")
    elif isinstance(kind, str):  # a kind a later version knows: an ordinary event here
        print(f"  kind:      {kind}")


async def _rsvp(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        event = await node.events.rsvp(args.id, args.answer, by=args.by)
    print(f"Sent '{args.answer}' to {event.school} for {event.title or event.id}.")


async def _ics(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        data = await node.events.ics()
    if args.out is None and sys.stdout.isatty():
        # Read by a person, not a calendar program: as text, through cli/screen.py, as
        # other schools' titles and details in it must be.
        sys.stdout.write(data.decode("utf-8").replace("\r\n", "\n"))
    elif args.out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        args.out.write_bytes(data)
        print(f"Wrote {args.out}")


async def _withdraw(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        withdrawals = await node.events.withdraw(args.id, args.reason)
    print(f"Withdrawn: {args.id} ({len(withdrawals)} version(s))")


# -- TeachMeet speaker slots (node/events/slots.py) -------------------------------------

_PUBLIC_NAME = (
    "The speaker's name and the talk's title become public in the running order once the "
    "organiser accepts the talk."
)


def _slot_groups(text: str) -> list[list[int]]:
    try:
        return talks.parse_slots(text)
    except UserInputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--slots {text!r}: ")) from exc


def _register_slots(actions: Any) -> None:
    slots = actions.add_parser(
        "slots",
        parents=[data_option(), json_option()],
        help="a TeachMeet's speaker slots and the talk in each",
        description="Show a TeachMeet's speaker slots, each with its minutes and the talk in "
        "it (title, speaker, school). The organiser also sees talks offered and not yet "
        "accepted; other schools see the running order the organiser published, and their "
        "own talks still waiting.",
    )
    slots.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first characters")
    slots.set_defaults(handler=_slots)

    speak = actions.add_parser(
        "speak",
        parents=[data_option()],
        help="offer a talk for one slot of a TeachMeet",
        description="Offer a talk for one speaker slot of another school's TeachMeet: it goes "
        "to the organiser only, who accepts or moves it (first come, first served). At your "
        "own TeachMeet, the talk goes straight into the running order. " + _PUBLIC_NAME,
    )
    speak.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first characters")
    speak.add_argument("--slot", type=int, required=True, metavar="N", help="the slot's number")
    speak.add_argument("--title", required=True, help="the talk's title")
    speak.add_argument("--speaker", required=True, metavar="NAME", help="who gives the talk")
    speak.set_defaults(handler=_speak)

    unspeak = actions.add_parser(
        "unspeak",
        parents=[data_option()],
        help="withdraw a talk and free its slot",
        description="Withdraw your school's talk from a slot of another school's TeachMeet "
        "(the organiser is told), or, at your own TeachMeet, free the slot whoever's talk "
        "it held and publish the running order again.",
    )
    unspeak.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first characters")
    unspeak.add_argument("--slot", type=int, required=True, metavar="N", help="the slot's number")
    unspeak.set_defaults(handler=_unspeak)

    accept = actions.add_parser(
        "accept",
        parents=[data_option()],
        help="accept a talk offered for your TeachMeet",
        description="Accept the talk offered for one slot of your school's TeachMeet and "
        "publish the running order, which reaches every school.",
    )
    accept.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first characters")
    accept.add_argument("--slot", type=int, required=True, metavar="N", help="the slot's number")
    accept.set_defaults(handler=_accept)

    move = actions.add_parser(
        "move",
        parents=[data_option()],
        help="move a talk to another slot of your TeachMeet",
        description="Move the talk in one slot of your school's TeachMeet to another slot "
        "(swapping with the talk there, if any), and publish the running order.",
    )
    move.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first characters")
    move.add_argument("--slot", type=int, required=True, metavar="N", help="the talk's slot")
    move.add_argument("--to", type=int, required=True, metavar="M", help="the slot to move it to")
    move.set_defaults(handler=_move)

    order = actions.add_parser(
        "order",
        parents=[data_option()],
        help="publish your TeachMeet's running order again",
        description="Publish the running order of your school's TeachMeet as it stands, for "
        "instance after a speaker withdrew a talk (`event slots` says when it has changed).",
    )
    order.add_argument("id", metavar="EVENT_ID", help="the event's id, or its first characters")
    order.set_defaults(handler=_order)


def _print_lineup(lineup: talks.Lineup) -> None:
    print(one_line(lineup.event.title))
    for slot in lineup.slots:
        talk = (
            one_line(f"{slot.title} ({slot.speaker}, {slot.school})")
            if slot.title is not None
            else "free"
        )
        state = f"  [{slot.state}]" if slot.state == talks.OFFERED else ""
        print(f"  {slot.number:>3}. {slot.minutes:>3} min  {talk}{state}")
    for slot in lineup.waiting:
        print(
            f"  Waiting for the organiser: slot {slot.number}, "
            + one_line(f"{slot.title} ({slot.speaker})")
        )
    if lineup.unpublished:
        print(f"  The running order has changed: publish it with `event order {lineup.event.id}`")


async def _slots(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        lineup = await talks.lineup(node, args.id)
    if args.json:
        print_json(lineup.as_json())
    else:
        _print_lineup(lineup)


async def _speak(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        lineup = await talks.speak(node, args.id, args.slot, args.title, args.speaker)
    if lineup.event.author == node.node_id:
        print(f"Slot {args.slot}: {args.title} is in the running order.")
    else:
        print(f"Sent to {lineup.event.school}: slot {args.slot}, {args.title}. " + _PUBLIC_NAME)


async def _unspeak(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        await talks.unspeak(node, args.id, args.slot)
    print(f"Slot {args.slot} is free.")


async def _accept(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        lineup = await talks.accept(node, args.id, args.slot)
    _print_lineup(lineup)


async def _move(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        lineup = await talks.move(node, args.id, args.slot, args.to)
    _print_lineup(lineup)


async def _order(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        lineup = await talks.publish(node, args.id)
    _print_lineup(lineup)
