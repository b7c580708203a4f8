"""What a project, a pupil's post and a comment are at this school, and how they are
read from the database: functions on the connection, run on the database's thread
(inside ``store.read`` or ``store.write``), shared by the modules of node/projects/."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from node.projects.media import render_markdown
from protocol.errors import NotFoundError, UserInputError, said
from protocol.keys import NodeId

MIN_PREFIX = 6


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    title: str
    themes: list[str]
    owner: NodeId
    rev: int
    standing: str  # this school's: 'invited', 'member' or 'left'
    review: bool  # partners' posts wait for our teacher's acceptance
    members: dict[NodeId, str] = field(default_factory=dict)

    def member_ids(self, *states: str) -> list[NodeId]:
        return [n for n, s in self.members.items() if s in states]


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    project: str
    origin: NodeId
    author: str | None  # our own user, for our own posts
    by_name: str | None
    title: str | None
    body: str | None
    theme: str | None
    state: str
    note: str | None
    created_at: int
    approved_at: int | None
    approved_by: str | None
    accepted_by: str | None
    images: list[tuple[bytes, bool, bool]]  # (hash, faces, held)
    #: The words the pupil chose for each photo (by hash), for people who cannot see it;
    #: kept at our school only (docs/web.md, "Photo descriptions").
    alts: dict[bytes, str] = field(default_factory=dict)

    @property
    def html(self) -> str:
        return render_markdown(self.body or "")


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    post: str
    origin: NodeId
    author: str | None
    by_name: str | None
    body: str | None
    state: str
    created_at: int


_POST_COLUMNS = (
    "id, project, origin, author, by_name, title, body, theme, state, note, created_at, "
    "approved_at, approved_by, accepted_by"
)


def project_now(conn: sqlite3.Connection, text: str) -> Project:
    """A project by id or unique prefix, with its members."""
    rows = conn.execute(
        "SELECT id, title, themes, owner, rev, standing, review FROM projects "
        "WHERE id = ? OR (length(?) >= ? AND substr(id, 1, length(?)) = ?) "
        "ORDER BY id = ? DESC LIMIT 2",
        (text, text, MIN_PREFIX, text, text.lower(), text),
    ).fetchall()
    if not rows:
        hint = f" (give at least {MIN_PREFIX} characters)" if len(text) < MIN_PREFIX else ""
        raise NotFoundError(
            f"no project {text!r} at this school{hint}: see `schoolmesh project list`",
            page=said("There is no such project at this school."),
        )
    if len(rows) > 1 and rows[0][0] != text:
        raise UserInputError(
            f"{text!r} matches more than one project: give more of the id "
            "(see `schoolmesh project list`)",
            page=said("More than one project matches %(id)s.", id=text),
        )
    row = rows[0]
    members = conn.execute(
        "SELECT node, state FROM project_members WHERE project = ?", (row[0],)
    ).fetchall()
    return Project(
        row[0],
        row[1],
        json.loads(row[2]),
        NodeId(row[3]),
        int(row[4]),
        row[5],
        bool(row[6]),
        {NodeId(n): s for n, s in members},
    )


def find_now(conn: sqlite3.Connection, table: str, text: str) -> Any:
    """The row of the post (all its columns) or comment (its id) an id prefix names."""
    text = text.strip().lower()
    if len(text) < MIN_PREFIX:
        raise UserInputError(
            f"give at least {MIN_PREFIX} characters of the id",
            page=said("There is no page at this address. Use the menu instead."),
        )
    rows = conn.execute(
        f"SELECT {_POST_COLUMNS if table == 'posts' else 'id'} FROM {table} "
        "WHERE substr(id, 1, length(?)) = ? LIMIT 2",  # a prefix, with no wildcards
        (text, text),
    ).fetchall()
    if len(rows) > 1:
        raise UserInputError(
            f"{text!r} matches more than one: give more of the id",
            page=said("More than one post or comment matches %(id)s.", id=text),
        )
    return rows[0] if rows else None


def _post_from(row: Any, images: Sequence[Any]) -> Post:
    return Post(
        row[0],
        row[1],
        NodeId(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        int(row[10]),
        row[11],
        row[12],
        row[13],
        [(h, bool(f), bool(d)) for h, f, d, _a in images],
        {bytes(h): a for h, _f, _d, a in images if a},
    )


def post_now(conn: sqlite3.Connection, row: Any) -> Post:
    images = conn.execute(
        "SELECT hash, faces, held, alt FROM images WHERE post = ? ORDER BY rowid", (row[0],)
    ).fetchall()
    return _post_from(row, images)


def post_by_text(conn: sqlite3.Connection, text: str) -> Post:
    row = find_now(conn, "posts", text)
    if row is None:
        raise NotFoundError(
            f"no post {text!r} at this school: see `schoolmesh post list`",
            page=said("There is no such post at this school."),
        )
    return post_now(conn, row)


def post_by_id(conn: sqlite3.Connection, post_id: str) -> Post:
    row = conn.execute(f"SELECT {_POST_COLUMNS} FROM posts WHERE id = ?", (post_id,)).fetchone()
    return post_now(conn, row)


def posts_now(conn: sqlite3.Connection, project: str, states: Sequence[str]) -> list[Post]:
    """A project's posts in these states, newest first, with their photos (two queries)."""
    marks = ",".join("?" * len(states))
    rows = conn.execute(
        f"SELECT {_POST_COLUMNS} FROM posts WHERE project = ? AND state IN ({marks}) "
        "ORDER BY COALESCE(approved_at, created_at) DESC",
        (project, *states),
    ).fetchall()
    images: dict[str, list[Any]] = {}
    for post, *image in conn.execute(
        "SELECT i.post, i.hash, i.faces, i.held, i.alt FROM images i JOIN posts p "
        f"ON p.id = i.post WHERE p.project = ? AND p.state IN ({marks}) ORDER BY i.rowid",
        (project, *states),
    ):
        images.setdefault(post, []).append(image)
    return [_post_from(row, images.get(row[0], [])) for row in rows]


_COMMENT_COLUMNS = "id, post, origin, author, by_name, body, state, created_at"


def _comment_from(row: Any) -> Comment:
    return Comment(row[0], row[1], NodeId(row[2]), row[3], row[4], row[5], row[6], int(row[7]))


def comment_now(conn: sqlite3.Connection, cid: str) -> Comment:
    row = conn.execute(f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ?", (cid,)).fetchone()
    return _comment_from(row)


def comments_now(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Comment]:
    rows = conn.execute(f"SELECT {_COMMENT_COLUMNS} FROM comments {where}", params)
    return [_comment_from(row) for row in rows]
