"""``schoolmesh check``: check the database fully, and rebuild a damaged search index."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.store import integrity
from protocol.errors import StorageError


def register(sub: Any) -> None:
    check = sub.add_parser(
        "check",
        parents=[data_option(), json_option()],
        help="check the database for damage (and rebuild the search index)",
        description="Check the whole database (SQLite's integrity check) and the search "
        "index. If something is damaged, the node writes nothing more until a check "
        "passes: rebuild a damaged search index with --repair (nothing is lost); for "
        "damage elsewhere, restore the data folder from your last backup and check again. "
        "Exit code 0 when everything is sound, 1 when something is damaged. The node may "
        "be running meanwhile.",
    )
    check.add_argument(
        "--repair",
        action="store_true",
        help="rebuild a damaged search index from the offers and requests the node holds",
    )
    check.set_defaults(handler=_check)


async def _check(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        report = await integrity.check(node.store, full=True)
        if args.repair and report.search and not report.database:
            repaired = await integrity.repair_search(node.store)
            report = await integrity.check(node.store, full=True)
            report = integrity.Report(
                full=True, database=report.database, search=report.search, repaired=repaired
            )
        advice = None if report.ok else integrity.advice(node.store, report)
        path = node.store.path
    if args.json:
        print_json(
            {
                "database": str(path),
                "ok": report.ok,
                "database_problems": list(report.database),
                "search_index_problems": list(report.search),
                "repaired": list(report.repaired),
            }
        )
    else:
        for table in report.repaired:
            print(f"Rebuilt the search index ({table}).")
        for problem in report.database:
            print(f"database: {problem}")
        for problem in report.search:
            print(f"search index: {problem}")
        if report.ok:
            print(f"The database {path} is sound.")
    if advice is not None:
        raise StorageError(advice)
