"""Takedowns: a post or comment erased everywhere, at the request of the school whose
pupil wrote it or of the project's owner school; only a tombstone stays, so no late
copy brings it back. Also what a withdrawn consent or a blocked school takes down,
and where a post stands (delivery, receipts)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from node.accounts.service import User
from node.projects.posts import Posts
from node.projects.records import Project, find_now, project_now
from protocol import letters
from protocol.contents.letters import TakedownLetter
from protocol.errors import NotAllowedError, NotFoundError, said
from protocol.keys import NodeId
from protocol.rules.projects import COMMENT_WAITING, PostState

#: The reason a tombstone gives for a post or comment erased because we blocked its school.
BLOCKED_REASON = "the school that wrote it was blocked"


class Takedowns(Posts):
    """Taking down, erasing, and the status of a post or comment with its receipts."""

    async def takedown(self, text: str, now: int, *, reason: str = "") -> str:
        """Take down a post or comment of ours (or any, as the project's owner), everywhere;
        its id. A comment of ours still waiting was never sent: it is deleted here and
        nothing is sent (:meth:`take_down` says which)."""
        return (await self.take_down(text, now, reason=reason)).target

    async def take_down(self, text: str, now: int, *, reason: str = "") -> TakenDown:
        """As :meth:`takedown`, saying whether the takedown was sent to the members.

        Two trips: what is named and its project, then one write that erases it and
        seals the takedown to the members (and a checkpoint, to flush the erased words).
        A comment of ours still waiting for a teacher, as that write finds it, never
        left the school: the write deletes it, as declining it does
        (``Comments.discard_comment``), and seals no takedown to anyone, about
        something no school received (docs/decisions.md, "Deleting a waiting comment").
        Approved meanwhile, it is taken down as any approved comment.
        """

        def find(conn: sqlite3.Connection) -> tuple[str, Project, NodeId, bool]:
            target, project_id, origin = _target_now(conn, text)
            is_post = conn.execute("SELECT 1 FROM posts WHERE id = ?", (target,)).fetchone()
            return target, project_now(conn, project_id), origin, is_post is None

        target, project, origin, comment = await self.store.read(find)
        if origin != self.me and project.owner != self.me:
            raise NotAllowedError(
                "only the school whose pupil wrote it, or the project's owner school, can take "
                "it down: ask them, or leave the project",
                page=said(
                    "Only the pupil's school, or the school that started the project, can take "
                    "it down: ask them."
                ),
            )

        def write(conn: sqlite3.Connection) -> bool:
            if comment and origin == self.me and _unsent_comment_now(conn, target):
                conn.execute("DELETE FROM comments WHERE id = ?", (target,))
                self.needs_checkpoint = True
                return False
            self._take_down_now(conn, target, project, now, reason)
            return True

        sent = await self.store.write(write)
        await self.store.checkpoint()
        return TakenDown(target, project.id, origin, sent)

    async def _take_down(self, target: str, project: Project, now: int, reason: str) -> None:
        """Inside a transaction: erase here and ask every other member school to erase."""
        await self.store.read(lambda conn: self._take_down_now(conn, target, project, now, reason))

    def _take_down_now(
        self, conn: sqlite3.Connection, target: str, project: Project, now: int, reason: str
    ) -> None:
        recipients = [n for n in project.members if n != self.me]
        self._erase_now(conn, target, project.id, self.me, now, reason, recipients)
        if recipients:
            content = TakedownLetter(project.id, target, reason or None).to_content()
            self.mail.send_now(conn, letters.TAKEDOWN, content, recipients, about=target, now=now)

    async def _target(self, text: str) -> tuple[str, str, NodeId]:
        return await self.store.read(lambda conn: _target_now(conn, text))

    def _erase_now(
        self,
        conn: sqlite3.Connection,
        target: str,
        pid: str,
        by: NodeId,
        now: int,
        reason: str | None,
        recipients: list[NodeId] | None,
    ) -> None:
        """Delete the content (secure_delete overwrites it), in the caller's transaction.

        Only a tombstone stays, so the post cannot come back by a late copy."""
        conn.execute(
            "UPDATE posts SET title = NULL, body = NULL, by_name = NULL, theme = NULL, "
            "note = NULL, state = ? WHERE id = ?",
            (PostState.REMOVED, target),
        )
        conn.execute("DELETE FROM images WHERE post = ?", (target,))
        conn.execute(
            "UPDATE comments SET body = NULL, by_name = NULL, state = ? WHERE id = ? OR post = ?",
            (PostState.REMOVED, target, target),
        )
        conn.execute(
            "INSERT OR IGNORE INTO takedowns (target, project, by_node, at, reason, recipients) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                target,
                pid,
                bytes(by),
                now,
                reason,
                None if recipients is None else json.dumps([str(r) for r in recipients]),
            ),
        )
        self.needs_checkpoint = True

    async def status(self, text: str) -> dict[str, Any]:
        """Where a post or comment stands: delivery, and takedown receipts."""
        target, project_id, origin = await self._target(text)
        tomb = await self.store.fetch_one(
            "SELECT by_node, at, recipients, reason FROM takedowns WHERE target = ?", (target,)
        )
        state_row = await self.store.fetch_one(
            "SELECT state FROM posts WHERE id = ? "
            "UNION ALL SELECT state FROM comments WHERE id = ?",
            (target, target),
        )
        delivered = await self.mail.delivered(target)
        result: dict[str, Any] = {
            "id": target,
            "project": project_id,
            "school_id": str(origin),
            "state": state_row[0] if state_row else PostState.REMOVED.value,
            "delivered": {
                str(n): ok for n, ok in sorted(delivered.items(), key=lambda item: item[0].key)
            },
        }
        if tomb is not None:
            asked = json.loads(tomb[2]) if tomb[2] else []
            rows = await self.store.fetch_all(
                "SELECT node, at FROM receipts WHERE target = ?", (target,)
            )
            confirmed = {str(NodeId(n)): int(at) for n, at in rows}
            result["takedown"] = {
                "by": str(NodeId(tomb[0])),
                "at": int(tomb[1]),
                "reason": tomb[3] or None,
                # Receipts come only to the school that took it down.
                "asked": tomb[2] is not None,
                "confirmed": confirmed,
                "waiting": sorted(n for n in asked if n not in confirmed),
            }
        return result

    async def enforce_consent(self, pupil: User, now: int) -> list[str]:
        """Take down the pupil's sent posts and comments that their consent no longer allows.

        It compares what was sent (the name shown, the photos not held back) with the
        consent in force now, not with the consent before the change, so running it
        again after an interruption finishes the job. All in one transaction.
        """
        name_withdrawn = pupil.show_name != "full"

        def name_not_allowed(by_name: str | None) -> bool:
            return name_withdrawn and by_name not in (None, "?", pupil.shown_name)

        taken: list[str] = []
        posts = await self.store.fetch_all(
            "SELECT id FROM posts WHERE origin = ? AND author = ? COLLATE NOCASE AND state = ? "
            "ORDER BY created_at",
            (bytes(self.me), pupil.name, PostState.APPROVED),
        )
        for (pid,) in posts:
            post = await self.post(pid)
            sent = [faces for _digest, faces, held in post.images if not held]
            if (
                name_not_allowed(post.by_name)
                or (sent and not pupil.work_photos)
                or (any(sent) and not pupil.face_photos)
            ):
                taken.append(post.id)
        comments = await self.store.fetch_all(
            "SELECT id, by_name FROM comments WHERE origin = ? AND author = ? COLLATE NOCASE "
            "AND state = ? ORDER BY created_at",
            (bytes(self.me), pupil.name, PostState.APPROVED),
        )
        # A comment carries no photos: only the name it was sent with can be withdrawn.
        taken += [cid for cid, by_name in comments if name_not_allowed(by_name)]
        if not taken:
            return []
        async with self.store.write():
            for target in taken:
                found = await self.store.fetch_one(
                    "SELECT project, state FROM posts WHERE id = ? "
                    "UNION ALL SELECT project, state FROM comments WHERE id = ?",
                    (target, target),
                )
                if found[1] == PostState.REMOVED:
                    continue  # a comment on a post taken down a moment ago went with it
                project = await self.get(found[0])
                await self._take_down(target, project, now, "consent withdrawn")
        await self.store.checkpoint()
        return taken

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: erase every post and comment ``school`` wrote, with photos,
        and the reasons it gave for its takedowns.

        Called when we block it (node/partners/peerbook.py). Each is erased as a takedown
        erases (:meth:`_erase_now`), with a tombstone in our school's name, so that no
        late copy, direct or relayed, brings it back. Nothing is sent: blocking is
        this school's decision, not the project's.
        """

        def erase_now(conn: sqlite3.Connection) -> None:
            for table in ("posts", "comments"):
                rows = conn.execute(
                    f"SELECT id, project FROM {table} WHERE origin = ? AND state != ?",
                    (bytes(school), PostState.REMOVED),
                ).fetchall()
                for target, pid in rows:
                    self._erase_now(conn, target, pid, self.me, now, BLOCKED_REASON, None)

        await self.store.read(erase_now)
        # What it took down stays down, but the reason it gave is its words too.
        await self.store.execute(
            "UPDATE takedowns SET reason = NULL WHERE by_node = ?", (bytes(school),)
        )


@dataclass(frozen=True, slots=True)
class TakenDown:
    """What ``post takedown`` did: the post or comment's id, its project and school,
    and whether the takedown was sealed to the members (``sent``) or the item, a
    comment never sent, was only deleted here."""

    target: str
    project: str
    origin: NodeId
    sent: bool


def _unsent_comment_now(conn: sqlite3.Connection, target: str) -> bool:
    """Whether the comment ``target`` (of ours: the caller checks) never left the
    school: still waiting for a teacher, or already deleted (by its pupil, or declined,
    since it was named), in the caller's transaction."""
    row = conn.execute("SELECT state FROM comments WHERE id = ?", (target,)).fetchone()
    return row is None or PostState(row[0]) in COMMENT_WAITING


def _target_now(conn: sqlite3.Connection, text: str) -> tuple[str, str, NodeId]:
    """The post or comment an id prefix names: its id, project and school."""
    for table in ("posts", "comments"):
        row = find_now(conn, table, text)
        if row is not None:
            found = conn.execute(
                f"SELECT id, project, origin FROM {table} WHERE id = ?", (row[0],)
            ).fetchone()
            return found[0], found[1], NodeId(found[2])
    raise NotFoundError(
        f"no post or comment {text!r} at this school: see `schoolmesh post list --project "
        "PROJECT_ID` (--drafts for drafts, --json for comments' ids; `schoolmesh project list` "
        "gives the projects' ids)",
        page=said("There is no such post or comment at this school."),
    )
