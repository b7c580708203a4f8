"""``schoolmesh observation ...``: supportive peer observations, kept in the school."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json, under
from node.observations import service as observations
from node.observations.service import Observation
from protocol.errors import UserInputError
from protocol.keys import NodeId

_OWNER = (
    "An observation belongs to the colleague who was observed: they decide whether it is "
    "shared. It stays in this school's database, unless they share it with one partner "
    "school (an observer from there): then that school alone receives a copy, which it "
    "deletes if they take it back."
)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def register(sub: Any) -> None:
    group = sub.add_parser(
        "observation",
        help="supportive peer observations: what went well, and one or two next steps",
        description="Peer observations between colleagues: a short visit with one focus "
        "linked to a development priority, what went well, and one or two agreed action "
        "points to take forward, with a date to follow them up. " + _OWNER,
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser(
        "add",
        parents=[data_option(), json_option()],
        help="record a peer observation",
        description="Record a peer observation: what went well and one or two action "
        "points, agreed together. The focus must serve a development priority: one of the "
        "observed colleague's development areas (`schoolmesh staff`), or one you name "
        "with --priority. " + _OWNER,
    )
    add.add_argument("--observer", required=True, metavar="NAME", help="who watched")
    add.add_argument("--observed", required=True, metavar="NAME", help="who taught")
    add.add_argument("--focus", required=True, help="the one thing looked at, e.g. questioning")
    add.add_argument("--priority", help="the development priority it serves, e.g. 'SDP 2: oracy'")
    add.add_argument("--date", type=_day, metavar="YYYY-MM-DD", help="when (default today)")
    add.add_argument(
        "--strength",
        action="append",
        default=[],
        metavar="TEXT",
        help="what went well (repeatable)",
    )
    add.add_argument(
        "--action",
        dest="actions",
        action="append",
        default=[],
        metavar="TEXT",
        help="an agreed next step; one or two",
    )
    add.add_argument(
        "--follow-up",
        type=_day,
        metavar="YYYY-MM-DD",
        help="when to look at the action points again (default six weeks after --date)",
    )
    add.add_argument(
        "--shared", action="store_true", help="the observed colleague agrees to share it"
    )
    add.set_defaults(handler=_add)

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="list peer observations, newest first",
        description="List peer observations, newest first. " + _OWNER,
    )
    listing.add_argument("--teacher", metavar="NAME", help="only those NAME took part in")
    listing.add_argument("--shared", action="store_true", help="only shared ones")
    listing.set_defaults(handler=_list)

    show = actions.add_parser(
        "show",
        parents=[data_option(), json_option()],
        help="show one observation in full",
        description="Show one peer observation in full.",
    )
    show.add_argument("id", type=int, metavar="ID", help="its number, as `list` shows it")
    show.set_defaults(handler=_show)

    due = actions.add_parser(
        "due",
        parents=[data_option(), json_option()],
        help="action points to follow up now or within a week",
        description="Action points whose follow-up date has passed or comes within "
        f"{observations.DUE_WITHIN} days: a reminder to talk about how they went.",
    )
    due.add_argument(
        "--within",
        type=int,
        default=observations.DUE_WITHIN,
        metavar="DAYS",
        help=f"look this many days ahead (default {observations.DUE_WITHIN})",
    )
    due.set_defaults(handler=_due)

    share = actions.add_parser(
        "share",
        parents=[data_option()],
        help="share an observation, or keep it private again (--off)",
        description="Record the observed colleague's choice to share an observation, or with "
        "--off to keep it between the two colleagues again. With --to, send it to that one "
        "partner school as a private letter; --off then asks that school to delete its "
        "copy. " + _OWNER,
    )
    share.add_argument("id", type=int, metavar="ID")
    share.add_argument("--off", action="store_true", help="keep it private again")
    share.add_argument(
        "--to", metavar="NODE_ID", help="a partner school to send it to (`schoolmesh partner list`)"
    )
    share.set_defaults(handler=_share)

    done = actions.add_parser(
        "done",
        parents=[data_option(), json_option()],
        help="record that the follow-up took place, or reopen it (--off)",
        description="Record that the follow-up of an observation took place: its action "
        "points were talked over again, so they leave `observation due` and the dashboard. "
        "With --off, reopen it. Only the observed colleague records it (--by, their name), "
        "and only for an observation of this school: a copy a partner school sent is "
        "followed up there.",
    )
    done.add_argument("id", type=int, metavar="ID")
    done.add_argument(
        "--by", required=True, metavar="NAME", help="the observed colleague, who records it"
    )
    done.add_argument(
        "--note",
        metavar="TEXT",
        help=f"how it went, optional (up to {observations.MAX_NOTE:,} characters; "
        "new lines are kept)",
    )
    done.add_argument("--off", action="store_true", help="reopen it: the action points are due")
    done.set_defaults(handler=_done)


def _today() -> date:
    return datetime.now(UTC).date()


async def _add(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        made = await node.observations.add(
            observer=args.observer,
            observed=args.observed,
            focus=args.focus,
            priority=args.priority,
            day=args.date or _today(),
            strengths=args.strength,
            actions=args.actions,
            follow_up=args.follow_up,
            shared=args.shared,
        )
    if args.json:
        print_json(made.as_json())
    else:
        print(
            f"Recorded observation {made.id}: {made.observer} observed {made.observed} "
            f"({made.focus}); follow up on {made.follow_up.isoformat()}"
        )


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.observations.listing(teacher=args.teacher)
    if args.shared:
        found = [o for o in found if o.shared]
    if args.json:
        print_json([o.as_json() for o in found])
        return
    if not found:
        print("No observations yet.")
    for o in found:
        sharing = "shared" if o.shared else "private"
        if o.origin is not None:
            sharing = f"shared by {o.school}"
        elif o.shared_with is not None:
            sharing = f"shared with {o.school}"
        follow = f"follow up {o.follow_up.isoformat()}"
        if o.followed_up_at is not None:
            follow = f"followed up {_when(o.followed_up_at)}"
        print(
            f"{o.id:>4}  {o.day.isoformat()}  "
            + one_line(f"{o.observer} observed {o.observed}: {o.focus}")
            + f"  ({follow}, {one_line(sharing)})"
        )


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _print(o: Observation) -> None:
    print(f"Observation {o.id}, {o.day.isoformat()}: {o.observer} observed {o.observed}")
    print(f"Focus: {o.focus} ({o.priority})")
    print("What went well:")
    for strength in o.strengths or ("(none written)",):
        print(f"  - {under(strength, 4 * ' ')}")
    print("Action points:")
    for action in o.actions:
        print(f"  - {under(action, 4 * ' ')}")
    print(f"Follow up on {o.follow_up.isoformat()}")
    if o.followed_up_at is not None:
        print(f"Followed up on {_when(o.followed_up_at)} (recorded by {o.followed_up_by})")
        if o.follow_up_note:
            print(f"  {under(o.follow_up_note, 2 * ' ')}")
    if o.origin is not None:
        print(f"Shared with your school by {o.school} (the choice of {o.observed})")
    else:
        where = f" with {o.school}" if o.shared_with else ""
        print(f"{'Shared' if o.shared else 'Private'}{where} (the choice of {o.observed})")


async def _show(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.observations.get(args.id)
    if args.json:
        print_json(found.as_json())
    else:
        _print(found)


async def _due(args: argparse.Namespace) -> None:
    if args.within < 0:
        raise UserInputError("--within: give a number of days, 0 or more")
    async with await open_node(args) as node:
        found = await node.observations.due(_today(), args.within)
    if args.json:
        print_json([item.as_json() for item in found])
        return
    if not found:
        print("No action points to follow up this week.")
    for item in found:
        o = item.observation
        when = (
            f"{-item.days} days ago"
            if item.days < 0
            else "today"
            if item.days == 0
            else f"in {item.days} days"
        )
        print(f"{o.follow_up.isoformat()} ({when})  {o.observed} with {o.observer}: {item.action}")


async def _share(args: argparse.Namespace) -> None:
    to = None if args.to is None else NodeId.parse(args.to)
    async with await open_node(args) as node:
        changed = await node.observations.share(args.id, not args.off, to=to)
    state = "shared" if changed.shared else "private"
    where = f" with {changed.school}" if changed.shared_with else ""
    print(f"Observation {changed.id} is now {state}{where}.")


async def _done(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        changed = await node.observations.follow_up(
            args.id, by=args.by, note=args.note, done=not args.off
        )
    if args.json:
        print_json(changed.as_json())
    elif changed.followed_up_at is not None:
        print(f"Observation {changed.id} is followed up: its action points are no longer due.")
    else:
        print(
            f"Observation {changed.id} is open again: its action points are due from a week "
            f"before {changed.follow_up.isoformat()}."
        )
