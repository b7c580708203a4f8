"""``schoolmesh export --out DIR``: everything the school owns, as files it keeps."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node import export as exports
from node.web.i18n import LANGUAGES


def register(sub: Any) -> None:
    make = sub.add_parser(
        "export",
        parents=[data_option(), json_option()],
        help="write everything the school owns to a folder: JSON files and a web archive",
        description="Write everything the school owns to a new folder, to keep or take "
        "elsewhere: its profile, offers and requests (withdrawn ones marked), events "
        "(cancelled ones marked), expressions of interest and arrangements, "
        "the observations their observed colleagues shared (private ones and partner "
        "schools' copies stay out), staff profiles, partner schools, and its projects with their "
        "published posts, comments and photos, as JSON files in data/; and each "
        "project blog as web pages that open in a browser without the node (start "
        "with index.html). Posts and comments by partner schools' pupils in shared "
        "projects are included and marked as theirs. The folder holds pupils' work: it "
        "is made readable by you only (0700, files 0600); keep it as safe as the data "
        "folder. The node may be running: the export is one consistent snapshot.",
    )
    make.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the folder to write (new or empty)"
    )
    make.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier export in DIR (a folder holding anything else is refused)",
    )
    make.add_argument(
        "--language",
        choices=list(LANGUAGES),
        default=None,
        help="the language of the web pages (default: the school's country's, else en)",
    )
    make.set_defaults(handler=_export)


async def _export(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        summary = await exports.export(node, args.out, force=args.force, language=args.language)
    if args.json:
        print_json(summary.as_json())
        return
    c = summary.counts
    print(
        f"Exported {summary.school} to {summary.path}: {c['projects']} projects with "
        f"{c['posts']} posts ({c['partner_posts']} from partner schools), {c['comments']} "
        f"comments and {c['photos']} photos; {c['offers']} offers, {c['requests']} requests "
        f"and {c['withdrawn']} withdrawn; {c['events']} events and {c['cancelled_events']} "
        f"cancelled; {c['interests']} interests, {c['observations']} shared observations, "
        f"{c['staff']} staff profiles, {c['partners']} partner schools"
        + (f" and {c['blocked']} blocked ones." if c["blocked"] else ".")
    )
    print(
        f"Open {summary.path / 'index.html'} in a browser. It holds pupils' work: keep it "
        "where only the school's staff can read it."
    )
