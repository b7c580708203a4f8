"""``schoolmesh cluster ...``: moderation clusters, where schools grade the same samples."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.commands.common import (
    data_option,
    json_option,
    one_line,
    open_node,
    print_json,
    under,
)
from node.clock import now_ms
from node.clusters.files import MAX_UPLOAD_BYTES
from node.clusters.service import Cluster, Sample
from protocol.errors import UserInputError

_HOW = (
    "Each school's grade stays sealed: the other schools receive only a fingerprint of "
    "it until they have given their own grade for the same sample, and no grade can be "
    "changed once given."
)


def register(sub: Any) -> None:
    group = sub.add_parser(
        "cluster",
        help="moderation clusters: partner schools grade the same samples of work",
        description="Moderation clusters: subject leaders of several partner schools "
        "grade the same anonymised samples of pupils' work, then compare grades to agree "
        "standards. " + _HOW,
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create",
        parents=[data_option(), json_option()],
        help="make a cluster with named partner schools",
        description="Make a moderation cluster with partner schools; only they receive it.",
    )
    create.add_argument("--title", required=True, help="e.g. 'Year 6 writing, spring term'")
    create.add_argument(
        "--school",
        action="append",
        default=[],
        required=True,
        metavar="NODE_ID",
        help="a partner school's node id (repeat for each school)",
    )
    create.set_defaults(handler=_create)

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="the clusters this school is in",
        description="The moderation clusters this school made or was added to.",
    )
    listing.set_defaults(handler=_list)

    sample = actions.add_parser(
        "sample",
        parents=[data_option(), json_option()],
        help="share an anonymised sample of work with a cluster",
        description="Share a sample of work (a PDF, or a JPEG or PNG scan or photo) with "
        "the cluster's schools. Remove pupils' names from the work first: the file's "
        "hidden details (author, camera, location) are removed, but not what is written "
        f"on the page. At most {MAX_UPLOAD_BYTES // 2**20} MB.",
    )
    sample.add_argument("cluster", metavar="CLUSTER_ID", help="the cluster (first characters)")
    sample.add_argument("--file", required=True, type=Path, metavar="FILE", help="PDF or image")
    sample.add_argument("--title", required=True, help="e.g. 'Sample A: persuasive letter'")
    sample.set_defaults(handler=_sample)

    grade = actions.add_parser(
        "grade",
        parents=[data_option()],
        help="give this school's grade for a sample",
        description="Give this school's grade and comment for a sample. " + _HOW,
    )
    grade.add_argument("sample", metavar="SAMPLE_ID", help="the sample (first characters)")
    grade.add_argument("--grade", required=True, help="e.g. 6, B+ or 'Working towards'")
    grade.add_argument("--comment", help="why this grade")
    grade.set_defaults(handler=_grade)

    accept = actions.add_parser(
        "accept",
        parents=[data_option(), json_option()],
        help="accept a partner school's invitation to a cluster",
        description="Accept an invitation to a moderation cluster another school made. "
        "Until then this school shares no sample and no grade with it (the samples its "
        "schools share are kept, to read).",
    )
    accept.add_argument("cluster", metavar="CLUSTER_ID", help="the cluster (first characters)")
    accept.set_defaults(handler=_accept)

    leave = actions.add_parser(
        "leave",
        parents=[data_option(), json_option()],
        help="decline an invitation to a cluster, or leave one",
        description="Decline an invitation to a moderation cluster, or leave one this "
        "school accepted: its samples and grades are erased from this node, and nothing "
        "more of this school's goes to it. The other schools are not told.",
    )
    leave.add_argument("cluster", metavar="CLUSTER_ID", help="the cluster (first characters)")
    leave.set_defaults(handler=_leave)

    show = actions.add_parser(
        "show",
        parents=[data_option(), json_option()],
        help="a cluster's samples, our grades and, once we graded, the others'",
        description="A cluster's schools and samples: each with our grade and, only once "
        "we have graded it, the other schools' grades side by side.",
    )
    show.add_argument("cluster", metavar="CLUSTER_ID", help="the cluster (first characters)")
    show.set_defaults(handler=_show)


_STATES = {
    "invited": "invited: accept with `schoolmesh cluster accept {id}` to share and grade",
    "member": "",
    "left": "left: this school takes no part in it",
}


def _print_cluster(c: Cluster) -> None:
    print(f"{c.id}  {one_line(c.title)}")
    print(one_line(f"  made by {c.maker.name}; schools: {', '.join(s.name for s in c.schools)}"))
    print(f"  samples: {c.samples}")
    if _STATES.get(c.state):
        print("  " + _STATES[c.state].format(id=c.id[:8]))


async def _accept(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        cluster = await node.clusters.accept(args.cluster, now=now_ms())
    if args.json:
        print_json(cluster.as_json())
        return
    _print_cluster(cluster)
    print("This school has accepted: share samples with `schoolmesh cluster sample`.")


async def _leave(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        cluster = await node.clusters.leave(args.cluster, now=now_ms())
    if args.json:
        print_json(cluster.as_json())
        return
    print(f"This school left {cluster.title}: its samples and grades are erased here.")


async def _create(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        made = await node.clusters.create(args.title, args.school, now=now_ms())
    if args.json:
        print_json(made.as_json())
        return
    _print_cluster(made)
    print("The schools receive it when they next connect.")


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.clusters.all()
    if args.json:
        print_json([c.as_json() for c in found])
        return
    if not found:
        print(
            "This school is in no moderation cluster yet: "
            "make one with `schoolmesh cluster create`."
        )
    for c in found:
        _print_cluster(c)


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise UserInputError(
                f"--file {path} is larger than {MAX_UPLOAD_BYTES // 2**20} MB: make it smaller"
            )
        return path.read_bytes()
    except OSError as exc:
        raise UserInputError(
            f"--file {path} cannot be read ({exc.strerror}): check the path"
        ) from exc


async def _sample(args: argparse.Namespace) -> None:
    path: Path = args.file
    data = _read(path)
    async with await open_node(args) as node:
        shared = await node.clusters.share(
            args.cluster, data, title=args.title, name=path.name, now=now_ms()
        )
    if args.json:
        print_json(shared.as_json())
        return
    print(f"{shared.id}  {shared.title} ({shared.type}, {shared.size // 1024 + 1} KB)")
    print("Shared with the cluster's schools; its hidden details were removed.")


async def _grade(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        graded = await node.clusters.grade(args.sample, args.grade, args.comment, now=now_ms())
    print(f"Graded {graded.title}: {args.grade}.")
    print("The other schools see it once they have given their own grade.")


def _print_sample(s: Sample) -> None:
    print(f"  {s.id}  {one_line(s.title)}  (from {one_line(s.school.name)})")
    if s.ours is None:
        print("    our grade: not given yet (others' grades show once we give ours)")
        if s.graded_by:
            print(f"    graded by: {one_line(', '.join(g.name for g in s.graded_by))}")
        return
    said = s.ours.comment
    print(f"    our grade: {s.ours.grade}" + (f"  — {under(said, 6 * ' ')}" if said else ""))
    for g in s.others:
        said = g.comment
        print(f"    {g.school.name}: {g.grade}" + (f"  — {under(said, 6 * ' ')}" if said else ""))
    for w in s.waiting:
        print(f"    {w.name}: graded, on its way")


async def _show(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        view = await node.clusters.show(args.cluster)
    if args.json:
        print_json(view.as_json())
        return
    _print_cluster(view.cluster)
    for s in view.samples:
        _print_sample(s)
