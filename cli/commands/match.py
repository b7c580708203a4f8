"""``schoolmesh match``: offers and requests that fit this school's, and staff pairings."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json
from node.observations import elsewhere
from node.observations.pairs import Suggestion
from node.offers import matching
from node.offers.matching import Match
from protocol.errors import UserInputError


def register(sub: Any) -> None:
    match = sub.add_parser(
        "match",
        parents=[data_option(), json_option()],
        help="the offers and requests that best fit your school's, with the reasons",
        description="For each of your school's open requests, the best offers from other "
        "schools, and for each of its open offers, the best requests: scored on focus, "
        "subject, phase, language, mode, dates, and distance or time zone, each with its "
        "reasons in words (docs/matching.md explains the score). Withdrawn offers and "
        "requests, and those whose closing or last date has passed, are never matched. "
        "With --staff, suggest peer-observation pairs and triads among your own staff "
        "instead, from their profiles (`schoolmesh staff`). With --staff --network, for each "
        "colleague's development areas, the best offers from other schools whose focus covers "
        "one, scored the same way. Staff profiles never leave your school: nothing is sent, "
        "posted or forwarded to other schools by either.",
    )
    match.add_argument(
        "--staff",
        action="store_true",
        help="pair your staff for peer observation: one's development area, another's strength",
    )
    match.add_argument(
        "--network",
        action="store_true",
        help="with --staff: other schools' offers for each colleague's development areas "
        "(read from what your node holds; nothing is sent)",
    )
    match.add_argument("--limit", type=int, default=5, help="at most this many each (default 5)")
    match.set_defaults(handler=_match)


def _match_json(match: matching.Match) -> dict[str, Any]:
    theirs = match.posting
    return {
        "id": theirs.id,
        "side": theirs.side,
        "kind": theirs.activity,
        "school_id": theirs.school_id,
        "school": theirs.school,
        "country": theirs.country,
        "title": theirs.title,
        "score": match.score,
        "reasons": list(match.reasons),
        "concerns": list(match.concerns),
    }


async def _match(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise UserInputError("--limit: give a whole number of 1 or more")
    if args.network and not args.staff:
        raise UserInputError(
            "--network goes with --staff: `schoolmesh match --staff --network` matches your "
            "colleagues' development areas to other schools' offers"
        )
    if args.network:
        await _staff_network(args)
        return
    if args.staff:
        await _staff(args)
        return
    async with await open_node(args) as node:
        found = await node.offers.matches(limit=args.limit)
    if args.json:
        print_json(
            [
                {
                    "for": {"id": p.id, "side": p.side, "kind": p.activity, "title": p.title},
                    "matches": [_match_json(m) for m in ms],
                }
                for p, ms in found
            ]
        )
        return
    if not found:
        print(
            "Your school has no open offers or requests to match: post one with "
            "`schoolmesh request post` or `schoolmesh offer post`."
        )
    for posting, matches in found:
        print(
            f"Your {posting.side} {posting.id[:12]}  {one_line(posting.title)}  "
            f"({posting.activity})"
        )
        if not matches:
            print("  No good match yet: matches appear as partner schools post.")
        for m in matches:
            _print_match(m, m.reasons)
        print()


async def _staff(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        pairs, triads = await node.staff.suggestions(args.limit)
        anyone = bool(await node.staff.listing())
    if args.json:
        print_json({"pairs": [s.as_json() for s in pairs], "triads": [s.as_json() for s in triads]})
        return
    if not anyone:
        print(
            "No staff profiles yet: add them with "
            "`schoolmesh staff add NAME --strength FOCUS --develop FOCUS`."
        )
        return
    _print_suggestions("Peer-observation pairs", pairs)
    _print_suggestions("Triads (each observes the next in turn)", triads)


def _print_suggestions(heading: str, found: list[Suggestion]) -> None:
    print(f"{heading}:")
    if not found:
        print("  none yet: they need one colleague's development area to be another's strength")
    for s in found:
        print(f"  {s.score:>3}  {', '.join(s.members)}")
        for v in s.visits:
            print(f"       {v.observer} observes {v.observed}: {', '.join(v.focus)}")
        print(f"       {'; '.join(s.reasons)}")
    print()


def _next_step(person_name: str, offer_id: str) -> str:
    """The command a leader runs next: tell the offering school, naming the colleague."""
    by = shlex.quote(person_name)
    return f"schoolmesh interest send {offer_id[:12]} --message TEXT --by {by}"


async def _staff_network(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.offers.for_staff(limit=args.limit)
        anyone = bool(await node.staff.listing())
    if args.json:
        print_json(
            [
                {
                    "for": {"name": person.name, "develops": sorted(person.develops)},
                    "matches": [
                        {
                            **_match_json(o.match),
                            "reasons": elsewhere.reasons(person, o),
                            "develops": list(o.develops),
                            "next": _next_step(person.name, o.offer.id),
                        }
                        for o in offers
                    ],
                }
                for person, offers in found
            ]
        )
        return
    if not found:
        print(
            "No colleague has a development area yet: add them with "
            "`schoolmesh staff add NAME --develop FOCUS`."
            if anyone
            else "No staff profiles yet: add them with "
            "`schoolmesh staff add NAME --strength FOCUS --develop FOCUS`."
        )
        return
    print("Other schools' offers for our colleagues' development areas (nothing was sent):")
    for person, offers in found:
        areas = ", ".join(matching.words(d) for d in sorted(person.develops))
        print(f"{person.name}  (developing {areas})")
        if not offers:
            print(
                "  No offer from another school covers it yet. To ask for it, post a request "
                "(other schools will see it): `schoolmesh request post --kind observation "
                f"--title TITLE --focus {shlex.quote(sorted(person.develops)[0])}`"
            )
        for o in offers:
            _print_match(o.match, elsewhere.reasons(person, o))
            print(f"       next: {_next_step(person.name, o.offer.id)}")
        print()


def _print_match(match: Match, reasons: Sequence[str]) -> None:
    """One suggested offer or request: its score, id, title and school, then why it fits
    (``reasons``) and what lowered the score (``match``, and ``match --staff --network``)."""
    posting = match.posting
    where = ", ".join(filter(None, [posting.school, posting.country]))
    print(f"  {match.score:>3}  {posting.id[:12]}  {one_line(posting.title)}  ({one_line(where)})")
    print(f"       {one_line('; '.join(reasons))}")
    if match.concerns:
        print(f"       but: {'; '.join(match.concerns)}")
