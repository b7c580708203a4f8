"""``schoolmesh backup`` and ``schoolmesh restore``: the whole node in one file, and back."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cli.commands.common import data_option, data_path, json_option, open_node, print_json
from node import backup as backups
from node import forks
from protocol.errors import UserInputError

ONLY_COPY_RISK = (
    "if another copy of this school's node has posted since the backup (a node still "
    "running elsewhere, or one restored earlier), the two will disagree and partners "
    "will show a warning about this school until `schoolmesh recover` ends the fork"
)


def register(sub: Any) -> None:
    make = sub.add_parser(
        "backup",
        parents=[data_option(), json_option()],
        help="write the node's key, database and settings to one backup file",
        description="Write a consistent copy of the node (its private key, database and "
        "settings) to one file, while the node may be running. The file holds the "
        "school's key: it is written readable by you only (mode 0600); keep it as "
        "safe as the key. Restore it with `schoolmesh restore FILE`.",
    )
    make.add_argument("--out", type=Path, required=True, metavar="FILE", help="file to write")
    make.add_argument("--force", action="store_true", help="replace FILE if it exists")
    make.set_defaults(handler=_backup)

    restore = sub.add_parser(
        "restore",
        parents=[data_option(), json_option()],
        help="put a node back from a backup file",
        description="Put the node in a backup file (from `schoolmesh backup`) into the "
        "data folder. A backup is older than what your partners hold, so the restored "
        "node saves nothing new (no offers, events, posts or letters) until it has "
        "fetched this school's own newest entries from a partner: start it with "
        "`schoolmesh run`, and `schoolmesh status` says when it has. Without FILE, "
        "--only-copy ends that wait for the node already in the data folder.",
    )
    restore.add_argument("file", type=Path, nargs="?", metavar="FILE", help="the backup file")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the node already in the data folder (stop it first; its key and "
        "data are deleted)",
    )
    restore.add_argument(
        "--only-copy",
        action="store_true",
        help="this is the only copy of the school's node: save new entries at once, "
        f"without waiting for partners. Risk: {ONLY_COPY_RISK}",
    )
    restore.set_defaults(handler=_restore)

    recover = sub.add_parser(
        "recover",
        parents=[data_option(), json_option()],
        help="end a fork of this school's log (after a restore, when `status` shows one)",
        description="End a fork of this school's log: two copies of the node (for example "
        "one restored from an old backup with --only-copy) signed different entries under "
        "the same numbers, and partner schools refuse one side. In two steps. First, with "
        "the node stopped: the entries this copy signed since the backup are set aside and "
        "the node fetches the school's log from its partners (start it with `schoolmesh "
        "run`). Then, when `schoolmesh status` no longer says it is fetching, run it again "
        "(the node may run): it signs a continuation that every partner accepts, and posts "
        "again what was set aside that partners do not hold (offers, requests, events, "
        "withdrawals, profile), so nothing either copy posted is lost.",
    )
    recover.add_argument(
        "--from",
        dest="from_seq",
        type=int,
        metavar="N",
        help="first step: the first entry number of this school's log that may differ "
        "(default: the first after the restored backup, else the first known to differ)",
    )
    recover.add_argument(
        "--now",
        action="store_true",
        help="second step: finish although no partner has sent the school's log yet. "
        "Risk: entries only a partner holds may be dropped",
    )
    recover.set_defaults(handler=_recover)


async def _backup(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        manifest = await backups.backup(node, args.out, force=args.force)
    if args.json:
        print_json({"file": str(args.out), **asdict(manifest)})
        return
    print(
        f"Wrote a backup of {manifest.name or manifest.node_id} to {args.out} "
        f"(entries up to number {manifest.own_head} of its own log). It holds the "
        "school's key: keep it safe."
    )


async def _restore(args: argparse.Namespace) -> None:
    if args.file is None:
        if not args.only_copy:
            raise UserInputError(
                "give the backup FILE to restore (or --only-copy, to stop waiting for "
                "partners on a node already restored)"
            )
        async with await open_node(args) as node:
            was_waiting = await backups.only_copy(node)
        if args.json:
            print_json({"data": str(data_path(args)), "waiting": False})
        elif was_waiting:
            print(f"New entries are saved again at once. Risk: {ONLY_COPY_RISK}.")
        else:
            print("This node was not waiting for partners: nothing changed.")
        return
    done = await backups.restore(
        args.file, data_path(args), force=args.force, only_copy=args.only_copy
    )
    if args.json:
        print_json({"data": str(done.data), "waiting": done.waiting, **asdict(done.manifest)})
        return
    m = done.manifest
    print(
        f"Restored {m.name or m.node_id} (backup of {m.created_at}, entries up to number "
        f"{m.own_head} of its own log) into {done.data}."
    )
    if done.waiting:
        print(
            "It saves nothing new until it has fetched this school's newest entries from a "
            "partner: start it with `schoolmesh run`; `schoolmesh status` says when it has."
        )
    else:
        print(f"It saves new entries at once (--only-copy). Risk: {ONLY_COPY_RISK}.")


async def _recover(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        under_way = await forks.state(node)
        if under_way is None:
            await backups.refuse_if_running(node.data)
            started = await forks.start(node, args.from_seq)
            if args.json:
                print_json({"step": "started", **asdict(started)})
                return
            print(
                f"Set aside {started.set_aside} of this school's entries, from number "
                f"{started.from_seq} on. Now start the node with `schoolmesh run`; when "
                "`schoolmesh status` no longer says it is fetching this school's log, run "
                "`schoolmesh recover` again to finish."
            )
            return
        if args.from_seq is not None:
            raise UserInputError(
                "a recovery is already under way: --from is for its first step. Run "
                "`schoolmesh recover` to finish it"
            )
        done = await forks.finish(node, now=args.now)
    if args.json:
        print_json({"step": "finished", **asdict(done)})
        return
    if done.continuation is not None:
        print(
            f"Ended the fork at entry {done.fork}: signed a continuation (entry "
            f"{done.continuation}) that partner schools accept, and posted again "
            f"{done.reposted} entries of this copy."
        )
        if done.not_reposted:
            print(
                f"{done.not_reposted} entries could not be posted again (already "
                "withdrawn, or about an entry that was not): check the school's offers "
                "and events."
            )
    elif done.kept_own:
        print("No partner held other entries: this copy's entries are the school's log again.")
    else:
        print("Partners hold the same entries as this copy: there was nothing to end.")
