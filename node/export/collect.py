"""Everything a school owns, read from its node as plain JSON values.

The JSON forms are the ones `--json` gives for each command (offers, events,
interests, observations, staff), so a script that reads one reads the other.
Project posts and comments are the published ones (approved, not taken down),
with the author and school as the blog pages show them; partner schools' posts
are included and marked. Moderation clusters are listed with their samples'
titles and grades, not the sample files (partners' pupils' work). Observations
are only our own that the observed colleague shared: private ones are theirs,
and partners' copies are the partners' (docs/decisions.md, "Export").

Photos are not read here: :func:`collect` lists them (:attr:`Archive.photos`), and
the caller reads their bytes after ending the read transaction, so that it stays
short (a long one keeps the running node from emptying its write-ahead log).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from node.clock import iso, iso_ms
from node.node import Node
from node.observations import service as observations
from node.offers import service as offers
from node.projects.records import Comment, Post, Project
from protocol.keys import EntryId, NodeId

#: Where each kind of data goes in the export folder, under data/.
FILES = {
    "school": "school.json",
    "offers": "offers.json",
    "events": "events.json",
    "interests": "interests.json",
    "observations": "observations.json",
    "staff": "staff.json",
    "partners": "partners.json",
    "projects": "projects.json",
    "clusters": "clusters.json",
}

_SAFE_ID = re.compile(r"[0-9a-f]{8,64}")


def file_name(item_id: str) -> str:
    """A file name for a project's or post's id: the id itself when it is plain hex
    (as protocol/letters.py requires of every id a school sends), else a digest of
    it, so that no id can name a path outside the export folder."""
    if _SAFE_ID.fullmatch(item_id):
        return item_id
    return hashlib.sha256(item_id.encode("utf-8", "replace")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PostRecord:
    post: Post
    author: str  # as the pages show it: the name sent to partners, else the account's
    comments: list[tuple[Comment, str]]  # (comment, its author as the pages show it)
    #: File names in the project's photos/ folder, in the post's order. A post's
    #: photo that cannot be read when the files are written is taken out.
    photos: list[str]
    held_back: int  # photos kept back for lack of consent: not on the pages, not here


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo to copy from the database into the export, after the read transaction."""

    folder: str  # the project's
    name: str  # its file name: the hash of its bytes, so a photo in two posts is one file
    post: str
    digest: bytes
    record: PostRecord


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    project: Project
    folder: str  # projects/<folder>/ in the export
    posts: list[PostRecord]


@dataclass
class Archive:
    """What one export read, in one read transaction."""

    me: NodeId
    school: dict[str, Any]
    names: dict[NodeId, str]  # every school named anywhere: its name, else its fingerprint
    data: dict[str, Any] = field(default_factory=dict)  # kind -> its JSON value
    projects: list[ProjectRecord] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)  # to read once the transaction ends

    def name(self, node_id: NodeId) -> str:
        return self.names.get(node_id) or node_id.fingerprint


async def collect(node: Node, *, exported_at: int) -> Archive:
    """Read everything the school owns but the photos' bytes. Call inside one read
    transaction; then read the photos listed in :attr:`Archive.photos`."""
    me = node.node_id
    identity = await node.identity()
    profile = await node.store.latest_profile(me) or {}
    school = {
        "school_id": str(me),
        "fingerprint": identity.fingerprint,
        "name": identity.name,
        "country": identity.country,
        "url": identity.url,
        "tz": identity.tz,  # the zone set on /profile, None for the country's
        "profile": profile,
        "exported_at": iso_ms(exported_at),
    }
    archive = Archive(me=me, school=school, names={me: identity.name})
    archive.data["school"] = school
    archive.data["offers"] = await _offers(node)
    archive.data["events"] = [e.as_json() for e in await node.events.every() if e.author == me]
    archive.data["interests"] = [i.as_json() for i in await node.interests.all()]
    archive.data["observations"] = [
        o.as_json() for o in await node.observations.listing() if archivable(o)
    ]
    archive.data["staff"] = [s.as_json() for s in await node.staff.listing()]
    archive.data["partners"] = await _partners(node)
    for project in await node.projects.all():
        archive.projects.append(await _project(node, archive, project))
    archive.data["projects"] = [_project_json(archive, p) for p in archive.projects]
    archive.data["clusters"] = await _clusters(node)
    return archive


async def _clusters(node: Node) -> list[dict[str, Any]]:
    """The moderation clusters the school is in or invited to, as `cluster show --json`
    gives each: its schools, its samples (titles, not files), our grades and the other
    schools' grades we may show (only once ours is given)."""
    return [(await node.clusters.show(c.id)).as_json() for c in await node.clusters.all()]


def archivable(observation: observations.Observation) -> bool:
    """Whether an observation goes in the school's archive: only one of ours whose
    observed colleague has shared it. A private one belongs to that colleague
    (docs/matching.md, "Peer observations"), and a copy a partner school sent us is
    that school's to keep or take back."""
    return observation.origin is None and observation.shared


async def _offers(node: Node) -> list[dict[str, Any]]:
    """The school's own offers and requests: those standing, then those withdrawn."""
    me = node.node_id
    found: list[dict[str, Any]] = []
    for side in offers.SIDES:
        for listing in await node.offers.listing(side):
            if listing.entry.author == me:
                found.append({**listing.as_json(), "withdrawn": False})
    rows = await node.store.fetch_all(
        "SELECT w.target FROM withdrawals w JOIN entries e ON e.id = w.target "
        "WHERE w.author = ? AND e.author = ? AND e.kind IN (?, ?) ORDER BY e.seq DESC",
        (bytes(me), bytes(me), *offers.SIDES),
    )
    identity = await node.identity()
    for (target,) in rows:
        record = await node.store.withdrawn(EntryId(target), me)
        if record is not None:
            gone = offers.WithdrawnListing(record, identity.name, identity.country)
            found.append(gone.as_json())
    return found


async def _partners(node: Node) -> list[dict[str, Any]]:
    book = node.peerbook
    names = await book.names()
    return [
        {
            "school_id": str(p.node_id),
            "fingerprint": p.node_id.fingerprint,
            "school": names.get(p.node_id, ("", ""))[0],
            "country": names.get(p.node_id, ("", ""))[1],
            "address": p.address,
            "state": p.state,
            "added_at": iso_ms(p.added_at),
        }
        for p in await book.list()
    ]


async def _project(node: Node, archive: Archive, project: Project) -> ProjectRecord:
    folder = file_name(project.id)
    posts = await node.projects.posts(project.id)  # published (approved), newest first
    comments = {post.id: await node.projects.comments(post.id) for post in posts}
    wanted = {*project.members, *(p.origin for p in posts)}
    wanted.update(c.origin for found in comments.values() for c in found)
    unknown = [n for n in wanted if n not in archive.names]
    for node_id, (name, _country) in (await node.store.schools(unknown)).items():
        archive.names[node_id] = name
    records = []
    for post in posts:
        record = PostRecord(
            post=post,
            author=post.by_name or post.author or "",
            comments=[(c, c.by_name or c.author or "") for c in comments[post.id]],
            photos=[],
            held_back=sum(1 for _d, _f, held in post.images if held),
        )
        for digest, _faces, held in post.images:
            if not held:
                name = f"{digest.hex()}.jpg"
                record.photos.append(name)
                archive.photos.append(Photo(folder, name, post.id, digest, record))
        records.append(record)
    return ProjectRecord(project=project, folder=folder, posts=records)


def _project_json(archive: Archive, record: ProjectRecord) -> dict[str, Any]:
    project = record.project
    return {
        "id": project.id,
        "title": project.title,
        "themes": list(project.themes),
        "owner_id": str(project.owner),
        "owner": archive.name(project.owner),
        "our_standing": project.standing,
        "members": [
            {"school_id": str(n), "school": archive.name(n), "state": state}
            for n, state in project.members.items()
        ],
        "blog": f"projects/{record.folder}/index.html",
        "posts": [_post_json(archive, record, p) for p in record.posts],
    }


def _post_json(archive: Archive, project: ProjectRecord, record: PostRecord) -> dict[str, Any]:
    post = record.post
    return {
        "id": post.id,
        "title": post.title,
        "author": record.author,
        "school_id": str(post.origin),
        "school": archive.name(post.origin),
        "from_partner_school": post.origin != archive.me,
        "theme": post.theme,
        "published_at": iso(post.approved_at or post.created_at),
        "approved_by": post.approved_by if post.origin == archive.me else None,
        "accepted_by": post.accepted_by,
        "text": post.body,
        "page": f"projects/{project.folder}/{file_name(post.id)}.html",
        "photos": [f"projects/{project.folder}/photos/{name}" for name in record.photos],
        "photos_held_back": record.held_back,
        "comments": [
            {
                "id": comment.id,
                "author": author,
                "school_id": str(comment.origin),
                "school": archive.name(comment.origin),
                "from_partner_school": comment.origin != archive.me,
                "written_at": iso_ms(comment.created_at),
                "text": comment.body,
            }
            for comment, author in record.comments
        ],
    }
