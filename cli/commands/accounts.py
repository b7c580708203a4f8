"""``schoolmesh user ...``: the school's local accounts and pupils' consent."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.commands.common import data_option, json_option, open_node, print_json, under
from node.accounts.service import ROLES, SHOW_NAME, new_password
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
    export = actions.add_parser(
        "export",
        parents=[data_option(), json_option()],
        help="everything this node holds about one person (for a subject access request)",
        description="Show everything this node holds about one pupil or member of staff: "
        "the account and consent (never the password hash), every post and comment written "
        "from the account in any state, its photos by hash, where each was sent, and "
        "takedowns with their receipts. Works after `user remove` too. Use --json to "
        "save a copy for the reply.",
    )
    export.add_argument("name", metavar="NAME")
    export.set_defaults(handler=_export)


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


async def _export(args: argparse.Namespace) -> None:
    from node.accounts.subject_access import export_user

    async with await open_node(args) as node:
        data = await export_user(node.store, node.accounts, args.name)
    if args.json:
        print_json(data)
        return
    account = data["account"]
    if account is None:
        print(f"{data['name']}: no account any more (removed); their work is listed below.")
    else:
        consent = account["consent"]
        print(f"{account['name']}: {account['role']}" + (f", class {account['class']}"
              if account["class"] else "") + f"; partners see the name as {consent['name']}, "
              f"photos of work {'yes' if consent['work_photos'] else 'no'}, photos with faces "
              f"{'yes' if consent['face_photos'] else 'no'}.")  # fmt: skip
    print(f"Posts: {len(data['posts'])}")
    for post in data["posts"]:
        title = post["title"] if post["title"] is not None else "(content erased)"
        extra = f", {len(post['images'])} photo(s)" if post["images"] else ""
        print(f"  {post['id'][:8]}  {under(title, 12 * ' ')}  [{post['state']}{extra}]")
    print(f"Comments: {len(data['comments'])}")
    for comment in data["comments"]:
        body = comment["body"] if comment["body"] is not None else "(content erased)"
        print(f"  {comment['id'][:8]}  {under(body[:60], 12 * ' ')}  [{comment['state']}]")
    if data["feeds"]:
        print(f"Private feeds: {len(data['feeds'])}")
    print("Use --json for the full record, including where each item was sent.")
