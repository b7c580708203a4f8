"""``schoolmesh invite create``, ``schoolmesh partner ...`` and ``schoolmesh status``."""

from __future__ import annotations

import argparse
import re
from typing import Any

from cli.commands import schools
from cli.commands.common import data_option, json_option, one_line, open_node, print_json
from node.clock import iso, now_ms
from protocol.errors import UserInputError
from protocol.keys import NodeId

_DURATION = re.compile(r"(\d+)([dhm])")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000}


def duration_ms(text: str) -> int:
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise UserInputError(f"--expires {text!r}: give a duration such as 7d, 12h or 30m")
    return int(match[1]) * _UNIT_MS[match[2]]


def register(sub: Any) -> None:
    invite = sub.add_parser("invite", help="invite another school to become partners")
    invite_actions = invite.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = invite_actions.add_parser(
        "create",
        parents=[data_option()],
        help="make a single-use invite code for another school",
        description="Make a signed, single-use invite code. Send it to the other school "
        "(email, phone); they run `schoolmesh partner add CODE`. The code is the last line "
        "printed.",
    )
    create.add_argument(
        "--json",
        action="store_true",
        help="print {code, expires} as JSON; the code is still the last line on its own",
    )
    create.add_argument("--expires", default="7d", help="valid for, e.g. 7d, 12h, 30m (default 7d)")
    create.add_argument("--address", metavar="URL", help="the address the other school dials")
    create.set_defaults(handler=_invite_create)

    partner = sub.add_parser("partner", help="the schools this node works with")
    actions = partner.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        parents=[data_option()],
        help="become partners using another school's invite code",
        description="Connect to the school that made the invite code, prove both identities "
        "and record the partnership on both sides.",
    )
    add.add_argument("code", metavar="CODE")
    add.set_defaults(handler=_partner_add)
    listing = actions.add_parser(
        "list", parents=[data_option(), json_option()], help="list partner and blocked schools"
    )
    listing.set_defaults(handler=_partner_list)
    for name, helptext, handler in (
        ("remove", "stop working with a partner school", _partner_remove),
        ("block", "stop peering with a node and drop everything it wrote", _partner_block),
    ):
        cmd = actions.add_parser(
            name, parents=[data_option()], help=helptext, description=helptext.capitalize() + "."
        )
        cmd.add_argument("node_id", metavar="NODE_ID")
        cmd.set_defaults(handler=handler)
    schools.register_partner(actions)  # request, requests, accept, decline

    status = sub.add_parser(
        "status",
        parents=[data_option(), json_option()],
        help="this node's peers, sync progress and warnings",
        description="Show whether the node is running, each peer (connected or not, last "
        "seen, entries behind), the node's own counts and any equivocation warnings.",
    )
    status.set_defaults(handler=_status)


async def _invite_create(args: argparse.Namespace) -> None:
    expires_in = duration_ms(args.expires)
    async with await open_node(args) as node:
        code, expires = await node.invites.create(expires_in_ms=expires_in, address=args.address)
    if args.json:
        print_json({"code": code, "expires": iso(expires)})
        print(code)
    else:
        print(f"Single-use invite code, valid until {iso(expires)}. Send it to the other school;")
        print("they run: schoolmesh partner add CODE")
        print(code)


async def _partner_add(args: argparse.Namespace) -> None:
    from node.net.peers import invited  # imports aiohttp, slow: only where needed

    async with await open_node(args) as node:
        invite = await node.invites.redeem(args.code, invited)
    print(f"Partnered with node {invite.node} (fingerprint {invite.node.fingerprint}).")
    print("Check the fingerprint with the other school by phone.")


async def _partner_list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        book = await node.peerbook.overview()
    names, running = book.names, book.running
    rows = []
    for p in book.partners:
        status = book.statuses.get(p.node_id)
        rows.append(
            {
                "node_id": str(p.node_id),
                "fingerprint": p.node_id.fingerprint,
                "name": names[p.node_id][0],
                "country": names[p.node_id][1],
                "address": p.address,
                "state": p.state,
                "added_at": iso(p.added_at),
                "connected": bool(running and status and status.connected),
            }
        )
    if args.json:
        print_json(rows)
        return
    if not rows:
        print("No partners yet: `schoolmesh invite create`, or `schoolmesh partner add CODE`.")
    for row in rows:
        link = "connected" if row["connected"] else row["state"]
        name = one_line(str(row["name"])) or "(name not received yet)"
        print(f"{row['node_id']}  {link:<10} {name}  {row['address'] or '(dials us)'}")


async def _partner_remove(args: argparse.Namespace) -> None:
    node_id = NodeId.parse(args.node_id)
    async with await open_node(args) as node:
        await node.peerbook.remove(node_id)
    print(f"Removed partner {node_id}.")


async def _partner_block(args: argparse.Namespace) -> None:
    node_id = NodeId.parse(args.node_id)
    async with await open_node(args) as node:
        await node.peerbook.block(node_id, node.node_id, now_ms())
    print(
        f"Blocked {node_id}: no sessions with it, everything it wrote is erased, and its "
        "entries and letters are refused, whoever passes them on."
    )


async def _status(args: argparse.Namespace) -> None:
    from node import status  # imports aiohttp, slow: only where needed

    async with await open_node(args) as node:
        report = await status.report(node)
    me_name, address, running = report["name"], report["address"], report["running"]
    entries, authors, peers = report["entries"], report["authors"], report["peers"]
    if args.json:
        print_json(report)
        return
    state = (
        f"running, listening on {address}"
        if address
        else ("running (outbound only)" if running else "not running")
    )
    print(f"{me_name}: {state}")
    print(
        f"{_count(entries, 'entry', 'entries')} from {_count(authors, 'school', 'schools')}; "
        f"{_count(len(peers), 'partner', 'partners')}"
    )
    for peer in peers:
        seen = "connected" if peer["connected"] else f"last seen {peer['last_seen'] or 'never'}"
        behind = f", {peer['behind']} entries to fetch" if peer["behind"] else ""
        error = f" ({peer['last_error']})" if peer["last_error"] and not peer["connected"] else ""
        print(f"  {one_line(peer['name']) or peer['node_id']}: {seen}{behind}{error}")
    recovery = report["fork_recovery"]
    if recovery is not None:
        print(
            f"Recovering from a fork of this school's log (from entry {recovery['from']}): "
            + (
                "fetching the school's log from a partner; start the node if it is stopped"
                if recovery["waiting"]
                else "fetched: run `schoolmesh recover` to finish"
            )
        )
    unresolved = {fork["author"] for fork in report["forks"]}
    equivocated = {e["author"] for e in report["equivocations"]} & unresolved
    for fork in report["forks"]:
        if fork["author"] in equivocated and not fork["own"]:
            continue  # one warning per school: the equivocation's, below
        if fork["own"]:
            if recovery is None:
                print(
                    f"WARNING: this school's log has forked (from about entry {fork['seq']}): "
                    "partners refuse part of it. Stop the node and run `schoolmesh recover` "
                    "(docs/admin.md, After a fork)"
                )
            continue
        print(
            f"WARNING: the log of {fork['name'] or fork['author']} has forked (from about "
            f"entry {fork['seq']}): its newer entries may not arrive until that school runs "
            "`schoolmesh recover`; tell its IT staff"
        )
    if report["restored"] is not None and recovery is None:
        print(
            f"Restored from a backup of {report['restored'].get('backup', '?')}: waiting to "
            "fetch this school's newest entries from a partner; nothing new is saved until "
            "then (`schoolmesh restore --only-copy` if this is the only copy)"
        )
    disk = report["storage"]
    if disk["state"] == "full":
        print(
            "WARNING: the disk holding the schoolmesh data is full: free some space; nothing "
            "was lost. Until then nothing new is saved (pages are still served, partners "
            "wait and try again later); it saves again by itself once there is room"
        )
    elif disk["state"] == "damaged":
        print("WARNING: the database is damaged: run `schoolmesh check` to see what to do")
    for task in report["tasks"]:
        if task["restarts"]:
            print(
                f"The {task['name']} failed {_count(task['restarts'], 'time', 'times')} and "
                f"was started again (now {task['state']}); last: {task['last_error']}"
            )
    for e in report["equivocations"]:
        if e["author"] not in unresolved or e["author"] == report["node_id"]:
            continue  # ended with a continuation (evidence in --json), or said above
        print(
            f"WARNING: node {e['author']} signed two different entries numbered {e['seq']} "
            "(its key may be copied or its data restored from an old backup); both are kept "
            "as evidence: see `schoolmesh status --json`"
        )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
