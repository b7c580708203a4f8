"""``schoolmesh project ...``, ``post ...``, ``relay ...`` and ``feed ...``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.commands.accounts import yes_no
from cli.commands.common import (
    data_option,
    json_option,
    one_line,
    open_node,
    print_json,
    quoted,
)
from node.clock import iso, now_ms
from node.node import Node
from node.projects import approval
from node.projects.approval import Deletion
from node.projects.media import MAX_UPLOAD_BYTES
from node.projects.records import Post, Project
from protocol.errors import NotFoundError, UserInputError
from protocol.keys import NodeId


def register(sub: Any) -> None:
    _register_projects(sub)
    _register_posts(sub)
    _register_relays(sub)
    _register_feeds(sub)


def _register_projects(sub: Any) -> None:
    project = sub.add_parser("project", help="partnership projects with a shared pupil blog")
    actions = project.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", parents=[data_option(), json_option()], help="start a project"
    )
    create.add_argument("--title", required=True)
    create.add_argument("--theme", action="append", default=[], help="an agreed theme (repeat)")
    create.set_defaults(handler=_create)
    invite = actions.add_parser(
        "invite", parents=[data_option()], help="invite a partner school into a project"
    )
    invite.add_argument("project", metavar="PROJECT_ID")
    invite.add_argument("node_id", metavar="NODE_ID")
    invite.set_defaults(handler=_invite)
    for name, helptext, handler in (
        ("join", "accept an invitation to a project", _join),
        ("leave", "leave a project (its posts stop coming)", _leave),
    ):
        cmd = actions.add_parser(name, parents=[data_option()], help=helptext)
        cmd.add_argument("project", metavar="PROJECT_ID")
        cmd.set_defaults(handler=handler)
    listing = actions.add_parser(
        "list", parents=[data_option(), json_option()], help="projects and their members"
    )
    listing.set_defaults(handler=_list)
    settings = actions.add_parser(
        "set",
        parents=[data_option()],
        help="this school's settings for a project",
        description="--review yes: partners' posts wait until one of our teachers accepts "
        "them (`post accept`) before our pupils see them (two-key publication).",
    )
    settings.add_argument("project", metavar="PROJECT_ID")
    settings.add_argument("--review", type=yes_no, required=True, metavar="yes|no")
    settings.set_defaults(handler=_set)
    pupils = actions.add_parser(
        "pupils",
        parents=[data_option(), json_option()],
        help="which of our pupils take part in a project",
        description="Only the pupils in a project (by name, or by whole class) can read its "
        "blog and write for it; staff are in every project. A pupil taken off (by name, or "
        "with their class) has nothing more approved or sent: their drafts and comments "
        "waiting stay here until they are added back, or a teacher deletes the drafts. "
        "Without options, lists them.",
    )
    pupils.add_argument("project", metavar="PROJECT_ID")
    pupils.add_argument("--add", action="append", default=[], metavar="NAME", help="(repeat)")
    pupils.add_argument("--remove", action="append", default=[], metavar="NAME", help="(repeat)")
    pupils.add_argument(
        "--add-class", action="append", default=[], metavar="CLASS", help="(repeat)"
    )
    pupils.add_argument(
        "--remove-class", action="append", default=[], metavar="CLASS", help="(repeat)"
    )
    pupils.set_defaults(handler=_pupils)


def _register_posts(sub: Any) -> None:
    post = sub.add_parser("post", help="pupils' project posts: draft, approve, take down")
    actions = post.add_subparsers(dest="action", required=True, metavar="ACTION")
    draft = actions.add_parser(
        "draft",
        parents=[data_option(), json_option()],
        help="save a pupil's post as a draft (nothing leaves the school yet)",
    )
    draft.add_argument("--project", required=True, metavar="PROJECT_ID")
    draft.add_argument("--author", required=True, metavar="NAME", help="the pupil (or staff)")
    draft.add_argument("--title", required=True)
    draft.add_argument("--body", required=True, metavar="MARKDOWN")
    draft.add_argument("--theme")
    draft.add_argument("--image", action="append", default=[], type=Path, metavar="FILE",
                       help="a photo of work (repeat); metadata is removed")  # fmt: skip
    draft.add_argument("--image-faces", action="append", default=[], type=Path, metavar="FILE",
                       help="a photo that shows faces (repeat)")  # fmt: skip
    draft.set_defaults(handler=_draft)
    revise = actions.add_parser(
        "revise",
        parents=[data_option(), json_option()],
        help="change a draft or returned post, its text and photos (a teacher reads it again)",
        description="Change a draft or a returned post, as its author: only what you give "
        "changes. Photos can be removed (by the first characters of their hash, as `--json` "
        "lists them) and added, up to six in all. All or nothing: if anything is wrong, "
        "nothing changes. A post that was approved cannot be changed: its photos have left "
        "the school (take it down instead).",
    )
    revise.add_argument("post", metavar="POST_ID")
    revise.add_argument("--author", required=True, metavar="NAME", help="who wrote the draft")
    revise.add_argument("--title")
    revise.add_argument("--body", metavar="MARKDOWN")
    revise.add_argument("--theme", help='one of the project\'s themes; "" for none')
    revise.add_argument("--image", action="append", default=[], type=Path, metavar="FILE",
                        help="add a photo of work (repeat); metadata is removed")  # fmt: skip
    revise.add_argument("--image-faces", action="append", default=[], type=Path, metavar="FILE",
                        help="add a photo that shows faces (repeat)")  # fmt: skip
    revise.add_argument("--remove-image", action="append", default=[], metavar="HASH",
                        help="remove the photo whose hash starts with HASH, 6 or more "
                        "characters (repeat)")  # fmt: skip
    revise.set_defaults(handler=_revise)
    approve = actions.add_parser(
        "approve",
        parents=[data_option()],
        help="a teacher approves a draft post or comment: it is sent to the member schools",
    )
    approve.add_argument("post", metavar="POST_ID")
    approve.add_argument("--by", required=True, metavar="STAFF")
    approve.add_argument(
        "--version",
        metavar="V",
        help="approve only if the post is still the version you read (`post show` gives it); "
        "if its pupil changed it since, nothing is sent",
    )
    approve.set_defaults(handler=_approve)
    back = actions.add_parser(
        "return", parents=[data_option()], help="send a draft back to its pupil with a note"
    )
    back.add_argument("post", metavar="POST_ID")
    back.add_argument("--by", required=True, metavar="STAFF")
    back.add_argument("--note", required=True)
    back.add_argument(
        "--version",
        metavar="V",
        help="return it only if the post is still the version you read (`post show` gives it)",
    )
    back.set_defaults(handler=_return)
    delete = actions.add_parser(
        "delete",
        parents=[data_option()],
        help="delete a draft or returned post, or a comment waiting for a teacher, which "
        "never left the school: its pupil's own; as a teacher, any waiting comment (declined), "
        "or a post whose pupil's account was removed or who was taken off the project",
        description="Delete a draft or a returned post with its photos and comments: it never "
        "left the school. The pupil who wrote it may; so may staff once that pupil's account "
        "is removed, or once that pupil is taken off the project (`project pupils`), by name "
        "or with their class (such a post can no longer be approved). Also delete a comment "
        "waiting for a teacher (POST_ID is then the comment's id): its pupil may, and any "
        "teacher of the school may decline it this way; nothing is sent to anyone. An "
        "approved post or comment has left the school: only `post takedown` recalls it.",
    )
    delete.add_argument("post", metavar="POST_ID")
    delete.add_argument(
        "--by",
        required=True,
        metavar="NAME",
        help="the pupil who wrote it, or staff: any waiting comment; a post once its pupil is "
        "removed or taken off the project",
    )
    delete.set_defaults(handler=_delete)
    show = actions.add_parser(
        "show",
        parents=[data_option(), json_option()],
        help="one post as a teacher reads it before approving: text, photos, consent, version",
    )
    show.add_argument("post", metavar="POST_ID")
    show.set_defaults(handler=_show)
    accept = actions.add_parser(
        "accept",
        parents=[data_option()],
        help="let our pupils see a partner's post (when the project is set to --review yes)",
    )
    accept.add_argument("post", metavar="POST_ID")
    accept.add_argument("--by", required=True, metavar="STAFF")
    accept.set_defaults(handler=_accept)
    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="approved posts of a project, ours and partners'",
    )
    listing.add_argument("--project", required=True, metavar="PROJECT_ID")
    shown = listing.add_mutually_exclusive_group()
    shown.add_argument(
        "--drafts", action="store_true", help="list our drafts and returned posts instead"
    )
    shown.add_argument(
        "--pupils",
        action="store_true",
        help="only what our pupils may see: with `project set --review yes`, partners' "
        "posts appear once one of our teachers accepted them",
    )
    listing.set_defaults(handler=_post_list)
    comment = actions.add_parser(
        "comment", parents=[data_option(), json_option()], help="comment on a post"
    )
    comment.add_argument("post", metavar="POST_ID")
    comment.add_argument("--author", required=True, metavar="NAME")
    comment.add_argument("--body", required=True)
    comment.set_defaults(handler=_comment)
    takedown = actions.add_parser(
        "takedown",
        parents=[data_option(), json_option()],
        help="take a post or comment down at every member school, with receipts (a comment "
        "still waiting for a teacher is only deleted here: it was never sent)",
    )
    takedown.add_argument("post", metavar="POST_ID")
    takedown.add_argument("--reason", default="")
    takedown.set_defaults(handler=_takedown)
    status = actions.add_parser(
        "status",
        parents=[data_option(), json_option()],
        help="delivery and takedown receipts of a post or comment",
    )
    status.add_argument("post", metavar="POST_ID")
    status.set_defaults(handler=_status)


def _register_relays(sub: Any) -> None:
    relay = sub.add_parser(
        "relay",
        help="partner nodes that may hold sealed letters for this school while it is away",
    )
    actions = relay.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext, handler in (
        ("add", "name a partner node as a relay (published in the school's profile)", _relay_add),
        ("remove", "stop naming a node as a relay", _relay_remove),
    ):
        cmd = actions.add_parser(name, parents=[data_option()], help=helptext)
        cmd.add_argument("node_id", metavar="NODE_ID")
        cmd.set_defaults(handler=handler)
    listing = actions.add_parser("list", parents=[data_option(), json_option()], help="relays")
    listing.set_defaults(handler=_relay_list)


def _register_feeds(sub: Any) -> None:
    feed = sub.add_parser("feed", help="private Atom feeds of a project's posts for staff")
    actions = feed.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", parents=[data_option(), json_option()], help="a secret feed address"
    )
    create.add_argument("--user", required=True, metavar="STAFF")
    create.add_argument("--project", required=True, metavar="PROJECT_ID")
    create.add_argument("--address", metavar="URL", help="this node's web address")
    create.set_defaults(handler=_feed_create)
    listing = actions.add_parser("list", parents=[data_option(), json_option()], help="feeds")
    listing.set_defaults(handler=_feed_list)
    revoke = actions.add_parser("revoke", parents=[data_option()], help="revoke a feed")
    revoke.add_argument("token", metavar="TOKEN")
    revoke.set_defaults(handler=_feed_revoke)


# -- projects ---------------------------------------------------------------------------


def project_json(project: Project, names: dict[NodeId, tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": project.id,
        "title": project.title,
        "themes": project.themes,
        "owner": str(project.owner),
        "standing": project.standing,
        "review": project.review,
        "members": [
            {"id": str(n), "school": names.get(n, ("", ""))[0], "state": s}
            for n, s in sorted(project.members.items(), key=lambda m: bytes(m[0]))
        ],
    }


async def _create(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        project = await node.projects.create(args.title, args.theme, now_ms())
    if args.json:
        print_json({"id": project.id})
    else:
        print(f"Project {quoted(project.title)} created: {project.id}")
        print("Invite partner schools with: schoolmesh project invite PROJECT_ID NODE_ID")


async def _invite(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        project = await node.projects.invite(args.project, NodeId.parse(args.node_id), now_ms())
    print(f"Invited {args.node_id} to {quoted(project.title)}; they accept with `project join`.")


async def _join(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        project = await node.projects.join(args.project, now_ms())
    print(f"Joined {quoted(project.title)}.")


async def _leave(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        project = await node.projects.leave(args.project, now_ms())
    print(f"Left {quoted(project.title)}.")


async def _set(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        project = await node.projects.set_review(args.project, args.review)
    state = "wait for our teacher's acceptance" if project.review else "are shown to our pupils"
    print(f"Partners' posts in {quoted(project.title)} {state}.")


async def _pupils(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        project = await node.projects.get(args.project)
        roster = await node.projects.rosters.of(project.id)
        if args.add or args.remove or args.add_class or args.remove_class:
            removed = _refuse_absent("pupil", args.remove, roster.pupils)
            removed_classes = _refuse_absent("class", args.remove_class, roster.classes)
            roster = await node.projects.rosters.replace(
                project.id,
                classes=[c for c in roster.classes if c.casefold() not in removed_classes]
                + args.add_class,
                pupils=[p for p in roster.pupils if p.casefold() not in removed] + args.add,
                now=now_ms(),
                shown=roster,  # only these changes, to the pupils as they are then
            )
    if args.json:
        print_json({"project": project.id, **roster.as_json()})
        return
    if not roster.classes and not roster.pupils:
        print(
            f"None of our pupils take part in {quoted(project.title)} yet: add them with --add NAME"
        )
        print("or --add-class CLASS.")
        return
    print(f"Our pupils in {quoted(project.title)}:")
    for klass in roster.classes:
        print(f"    class {klass} (all of it)")
    for name in roster.pupils:
        print(f"    {name}")


def _refuse_absent(what: str, names: list[str], present: tuple[str, ...]) -> set[str]:
    """The names to remove, tidied and case-folded; removing what is not there is a typo."""
    tidied = {" ".join(name.split()).casefold() for name in names}
    for name in tidied:
        if name not in {p.casefold() for p in present}:
            option = "--remove" if what == "pupil" else "--remove-class"
            raise UserInputError(
                f"{option} {name!r}: that {what} is not in the project by name "
                "(list them with `schoolmesh project pupils PROJECT_ID`)"
            )
    return tidied


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        projects = await node.projects.all()
        names = await node.store.schools({n for p in projects for n in p.members})
    if args.json:
        print_json([project_json(p, names) for p in projects])
        return
    if not projects:
        print("No projects yet: start one with `schoolmesh project create --title TITLE`.")
    for p in projects:
        print(f"{p.id}  {one_line(p.title)}  ({p.standing})")
        for member, state in p.members.items():
            print(f"    {one_line(names.get(member, ('?', ''))[0]) or member}: {state}")


# -- posts -------------------------------------------------------------------------------


async def post_json(node: Node, post: Post) -> dict[str, Any]:
    school = (await node.store.schools([post.origin])).get(post.origin, ("", ""))
    comments = await node.projects.comments(post.id)
    return {
        "id": post.id,
        "project": post.project,
        "school_id": str(post.origin),
        "school": school[0],
        "own": post.origin == node.node_id,
        "author": post.by_name if post.origin != node.node_id or post.by_name else post.author,
        "title": post.title,
        "body": post.body,
        "html": post.html,
        "theme": post.theme,
        "state": post.state,
        "note": post.note,
        "approved_at": iso(post.approved_at),
        "accepted_by": post.accepted_by,
        # What a teacher read, for `post approve --version`: our own posts only.
        "version": await node.projects.version(post),
        "images": [{"hash": h.hex(), "faces": f, "held": held} for h, f, held in post.images],
        "comments": [{"id": c.id, "author": c.by_name, "body": c.body} for c in comments],
    }


def _read_photos(args: argparse.Namespace) -> list[tuple[str, bytes, bool]]:
    """The files of ``--image`` and ``--image-faces``: (name, bytes, shows faces)."""
    images = []
    for path, faces in [(p, False) for p in args.image] + [(p, True) for p in args.image_faces]:
        try:
            if path.stat().st_size > MAX_UPLOAD_BYTES:  # before reading it all into memory
                raise UserInputError(
                    f"the photo {path} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: "
                    "make it smaller and try again"
                )
            images.append((path.name, path.read_bytes(), faces))
        except OSError as exc:
            raise UserInputError(f"cannot read the photo {path}: {exc.strerror}") from exc
    return images


async def _draft(args: argparse.Namespace) -> None:
    images = _read_photos(args)
    async with await open_node(args) as node:
        post = await node.projects.draft(
            args.project, args.author, args.title, args.body,
            theme=args.theme, images=images, now=now_ms(),
        )  # fmt: skip
        if args.json:
            print_json(await post_json(node, post))
            return
    print(f"Draft saved: {post.id}. A teacher approves it with: schoolmesh post approve "
          f"{post.id[:8]} --by NAME")  # fmt: skip


async def _revise(args: argparse.Namespace) -> None:
    images = _read_photos(args)
    async with await open_node(args) as node:
        post = await node.projects.post(args.post)
        post = await node.projects.revise(
            post.id,
            args.author,
            (post.title or "") if args.title is None else args.title,
            (post.body or "") if args.body is None else args.body,
            theme=post.theme if args.theme is None else (args.theme or None),
            images=images,
            remove=args.remove_image,
        )
        if args.json:
            print_json(await post_json(node, post))
            return
    print(f"Changed {post.id}: it waits for a teacher again (schoolmesh post approve "
          f"{post.id[:8]} --by NAME).")  # fmt: skip
    count = len(post.images)
    print(f"{count} photo{'' if count == 1 else 's'}" + (":" if count else "."))
    for digest, faces, _held in post.images:
        print(f"  {digest.hex()[:12]}{'  (shows faces)' if faces else ''}")


async def _approve(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        item, notes = await node.projects.approve(
            args.post, args.by, now_ms(), version=args.version
        )
    print(f"Approved {item}: it is on its way to the member schools.")
    for note in notes:
        print(f"Note: {note}.")


async def _return(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        post = await node.projects.return_(args.post, args.by, args.note, version=args.version)
    print(f"Returned {post.id} to {post.author} with your note.")


async def _delete(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        try:
            post = await node.projects.post(args.post)
        except NotFoundError:  # a comment waiting for a teacher, or nothing
            comment, deletion = await node.projects.discard_comment(args.post, args.by)
        else:
            await node.projects.discard(post.id, args.by)
            print(f"Deleted {post.id} with its photos and comments: it never left the school.")
            return
    if deletion is Deletion.BY_STAFF:
        print(f"Declined and deleted {one_line(comment.author or '?')}'s comment {comment.id}: "
              "it never left the school, and nothing was sent to anyone.")  # fmt: skip
    else:
        print(f"Deleted {one_line(comment.author or '?')}'s comment {comment.id}: it never "
              "left the school.")  # fmt: skip


async def _show(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        post = await node.projects.post(args.post)
        row = await post_json(node, post)
        author = await node.accounts.find(post.author) if row["own"] and post.author else None
        if row["own"]:  # of the consent printed below, read once
            row["version"] = approval.version(post, author)
        # A pupil taken off the project: approving would be refused, so why, not how.
        stuck = author is not None and (
            approval.writer(author, await node.projects.rosters.of(post.project))
            is approval.Writer.TAKEN_OFF
        )
    if args.json:
        print_json(row)
        return
    where = "our school" if row["own"] else row["school"]
    print(f"{post.id}  [{post.state}]  by {row['author']} ({where})")
    if row["version"]:
        print(f"Version: {row['version']}")
    print(f"Title: {post.title}")
    if post.theme:
        print(f"Theme: {post.theme}")
    if post.note:
        print(f"Note to the pupil: {post.note}")
    print()
    print(post.body or "")
    print()
    count = len(post.images)
    print(f"{count} photo{'' if count == 1 else 's'}" + (":" if count else "."))
    for digest, faces, held in post.images:
        marks = ("  (shows faces)" if faces else "") + ("  (held back)" if held else "")
        alt = post.alts.get(digest)
        print(f"  {digest.hex()[:12]}{marks}" + (f"  {alt}" if alt else ""))
    if author is not None and post.state in ("draft", "returned"):
        print(
            f"Consent of {author.name}: name shown as {author.shown_name!r}, photos of work "
            f"{'yes' if author.work_photos else 'no'}, photos showing faces "
            f"{'yes' if author.face_photos else 'no'}."
        )
        if stuck:
            print(approval.taken_off(post.id, post.author, post.project))
        else:
            print(
                f"Approve exactly this: schoolmesh post approve {post.id[:8]} --by NAME "
                f"--version {row['version']}"
            )


async def _accept(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        post = await node.projects.accept(args.post, args.by)
    print(f"Accepted {post.id}: our pupils can see it now.")


async def _post_list(args: argparse.Namespace) -> None:
    states = ("draft", "returned") if args.drafts else ("approved",)
    async with await open_node(args) as node:
        posts = await node.projects.posts(args.project, states=states, for_pupils=args.pupils)
        rows = [await post_json(node, p) for p in posts]
    if args.json:
        print_json(rows)
        return
    if not rows:
        print("No drafts waiting." if args.drafts else "No approved posts yet.")
    for row in rows:
        where = "our school" if row["own"] else row["school"]
        version = f"  version {row['version']}" if args.drafts and row["version"] else ""
        print(
            f"{row['id'][:8]}  {one_line(row['title'])}  by {one_line(row['author'])} "
            f"({one_line(where)}) [{row['state']}]" + version
        )


async def _comment(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        comment = await node.projects.comment(args.post, args.author, args.body, now_ms())
    if args.json:
        print_json({"id": comment.id, "state": comment.state})
    elif comment.state == "draft":
        print(f"Comment {comment.id} waits for a teacher: schoolmesh post approve "
              f"{comment.id[:8]} --by NAME")  # fmt: skip
    else:
        print(f"Comment {comment.id} sent to the member schools.")


async def _takedown(args: argparse.Namespace) -> None:
    at = now_ms()
    async with await open_node(args) as node:
        done = await node.projects.take_down(args.post, at, reason=args.reason)
        target = done.target
        if done.sent:
            status = await node.projects.status(target)
    if not done.sent:  # a comment never sent: deleted here, no letter to anyone
        if args.json:
            # The fields of a takedown's (scripts read `state` and `takedown`), saying
            # nobody was asked and nobody is waited for; `sent` tells the two apart.
            print_json({"id": target, "project": done.project, "school_id": str(done.origin),
                        "state": "removed", "delivered": {}, "sent": False,
                        "takedown": {"by": str(done.origin), "at": at, "reason": None,
                                     "asked": False, "confirmed": {}, "waiting": []}})  # fmt: skip
            return
        print(f"Deleted {target} here: it was a comment waiting for a teacher, never sent, so "
              "nothing was sent to any school (no takedown letter, no reason).")  # fmt: skip
        return
    if args.json:
        print_json({**status, "sent": True})
        return
    print(f"Taken down {target} here; asked every member school to delete it.")
    print("Follow the receipts with: schoolmesh post status " + target[:8])


async def _status(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        status = await node.projects.status(args.post)
    if args.json:
        print_json(status)
        return
    print(f"{status['id']}: {status['state']}")
    for school, ok in status["delivered"].items():
        print(f"  {school}: {'delivered' if ok else 'not confirmed yet'}")
    if "takedown" in status:
        down = status["takedown"]
        print(
            f"  takedown confirmed by {len(down['confirmed'])}, waiting for {len(down['waiting'])}"
        )
        for school in down["waiting"]:
            print(f"    waiting: {school}")


# -- relays and feeds -------------------------------------------------------------------


async def _relays(node: Node) -> list[str]:
    profile = await node.store.profile_of(node.node_id)
    return [] if profile is None else [str(relay) for relay in profile.relays]


async def _relay_add(args: argparse.Namespace) -> None:
    relay = NodeId.parse(args.node_id)
    async with await open_node(args) as node:
        relays = await _relays(node)
        if str(relay) in relays:
            raise UserInputError("that node is already one of this school's relays")
        await node.update_profile(relays=[*relays, str(relay)])
    print(f"Named {relay} as a relay: partners may leave sealed letters for us there.")


async def _relay_remove(args: argparse.Namespace) -> None:
    relay = str(NodeId.parse(args.node_id))
    async with await open_node(args) as node:
        relays = await _relays(node)
        if relay not in relays:
            raise UserInputError("that node is not one of this school's relays")
        await node.update_profile(relays=[r for r in relays if r != relay] or None)
    print(f"{relay} is no longer a relay for this school.")


async def _relay_list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        relays = await _relays(node)
        names = await node.store.schools(NodeId.parse(relay) for relay in relays)
    if args.json:
        print_json(relays)  # ids only, as ever: a list of strings cannot gain a field
        return
    if not relays:
        print("No relays named.")
    for relay in relays:
        name = names.get(NodeId.parse(relay), ("", ""))[0]
        print(f"{relay}  {name or '(name not received yet)'}")


async def _feed_create(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        feed = await node.feeds.create(args.user, args.project, now_ms())
        base = (
            args.address or await node.peerbook.running_address() or "http://ADDRESS-OF-THIS-NODE"
        )
    url = f"{base.rstrip('/')}/feeds/{feed.token}"
    if args.json:
        print_json({"url": url, "token": feed.token, "user": feed.user, "project": feed.project})
    else:
        print(f"Private feed for {feed.user} (keep it secret; revoke with `feed revoke`):")
        print(url)


async def _feed_list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        feeds = await node.feeds.all()
    rows = [
        {
            "token": f.token,
            "user": f.user,
            "project": f.project,
            "revoked": f.revoked_at is not None,
        }
        for f in feeds
    ]
    if args.json:
        print_json(rows)
        return
    for r in rows:
        print(f"{r['token']}  {r['user']}  {r['project']}{'  (revoked)' if r['revoked'] else ''}")


async def _feed_revoke(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        await node.feeds.revoke(args.token, now_ms())
    print("Revoked: that feed address no longer works.")
