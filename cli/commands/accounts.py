"""``schoolmesh user ...``: the school's local accounts and pupils' consent."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json
from node.accounts import ROLES, SHOW_NAME, new_password
from node.clock import now_ms
from protocol.errors import UserInputError


def yes_no(text: str) -> bool:
    if text.lower() in ("yes", "y", "true", "on"):
        return True
    if text.lower() in ("no", "n", "false", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: answer yes or no")


def register(sub: Any) -> None:
    user = sub.add_parser("user", help="staff and pupil accounts on this node")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        parents=[data_option()],
        help="add an admin, member of staff or pupil",
        description="Add a local account. Pupils have a display name (a first name or a "
        "chosen name, never a surname or email) and a class. Without --password-stdin a "
        "password is made up and printed once. Pupils start with the safest consent: name "
        "shown to partner schools as initials, no photos; change it with `user consent`.",
    )
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", required=True, help="display name, unique in this school")
    add.add_argument("--class", dest="klass", metavar="CLASS", help="class or year group")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(handler=_add)
    listing = actions.add_parser(
        "list", parents=[data_option(), json_option()], help="list the accounts"
    )
    listing.set_defaults(handler=_list)
    remove = actions.add_parser(
        "remove", parents=[data_option()], help="remove an account (their posts stay)"
    )
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_remove)
    consent = actions.add_parser(
        "consent",
        parents=[data_option(), json_option()],
        help="record a pupil's consent: name, photos of work, photos with faces",
        description="Record what parents and carers agreed to. What leaves the school "
        "follows these flags; withdrawing one takes the pupil's affected posts down at "
        "every partner school, with receipts (see `post status`).",
    )
    consent.add_argument("name", metavar="NAME")
    consent.add_argument(
        "--name", dest="show_name", choices=SHOW_NAME, help="how partner schools see the name"
    )
    consent.add_argument("--work-photos", type=yes_no, metavar="yes|no")
    consent.add_argument("--face-photos", type=yes_no, metavar="yes|no")
    consent.set_defaults(handler=_consent)


async def _add(args: argparse.Namespace) -> None:
    made_up = not args.password_stdin
    password = new_password() if made_up else sys.stdin.readline().rstrip("\r\n")
    async with await open_node(args) as node:
        user = await node.accounts.add(
            args.name, args.role, password, klass=args.klass, now=now_ms()
        )
    print(f"Added {user.role} {user.name}" + (f" ({user.klass})" if user.klass else "") + ".")
    if made_up:
        print(f"Password (shown once): {password}")


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        users = await node.accounts.all()
    if args.json:
        print_json([u.as_json() for u in users])
        return
    if not users:
        print("No accounts yet: add one with `schoolmesh user add --role staff --name NAME`.")
    for u in users:
        extra = f" {u.klass}" if u.klass else ""
        consent = ""
        if u.role == "pupil":
            photos = "photos of work" if u.work_photos else "no photos"
            if u.work_photos and u.face_photos:
                photos += " and faces"
            consent = f"  (partners see: {u.shown_name}; {photos})"
        print(f"{u.role:6} {u.name}{extra}{consent}")


async def _remove(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        await node.accounts.remove(args.name)
    print(f"Removed {args.name}.")


async def _consent(args: argparse.Namespace) -> None:
    if args.show_name is None and args.work_photos is None and args.face_photos is None:
        raise UserInputError("say what changes: --name full|initials, --work-photos, --face-photos")
    async with await open_node(args) as node:
        _before, after = await node.accounts.set_consent(
            args.name,
            show_name=args.show_name,
            work_photos=args.work_photos,
            face_photos=args.face_photos,
        )
        taken = await node.projects.enforce_consent(after, now_ms())
    if args.json:
        print_json({"user": after.as_json(), "taken_down": taken})
        return
    print(
        f"Consent for {after.name}: name shown as {after.shown_name!r}, photos of work "
        f"{'yes' if after.work_photos else 'no'}, photos with faces "
        f"{'yes' if after.face_photos else 'no'}."
    )
    for item in taken:
        print(f"Taken down at every partner school: {item} (see `post status`).")
