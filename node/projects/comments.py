"""Comments on approved posts: a pupil's waits for a teacher like a post, a teacher's
goes at once; each approved comment is sealed to the member schools."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from node.projects.posts import Posts
from node.projects.records import Comment, comment_now, comments_now, project_now
from protocol import letters
from protocol.contents.letters import CommentLetter
from protocol.errors import SealedError, UserInputError, said
from protocol.keys import NodeId
from protocol.rules.projects import PostState


class Comments(Posts):
    """Writing and reading comments, and sending an approved one to the members."""

    async def comment(self, post_text: str, author: str, body: str, now: int) -> Comment:
        """A comment on a post; a pupil's waits for a teacher's approval like a post."""
        post = await self.post(post_text)
        if post.state != PostState.APPROVED:
            raise UserInputError(
                "comments go on approved posts only",
                page=said("Comments go on approved posts only."),
            )
        user = await self.accounts.get(author)
        await self.rosters.check(post.project, user)
        check: dict[str, Any] = {"p": post.project, "post": post.id, "id": "0" * 32}
        check.update({"by": user.name, "body": body, "at": now})
        try:
            letters.validate(letters.COMMENT, check)
        except SealedError as exc:
            raise UserInputError(
                f"the comment cannot be saved: {exc}",
                page=said("Write a comment of up to 5,000 characters."),
            ) from exc
        cid = os.urandom(16).hex()
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO comments (id, post, project, origin, author, body, state, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, post.id, post.project, bytes(self.me), user.name, body, PostState.DRAFT, now),
            )
            if user.is_staff:  # a teacher's comment needs no one else's approval
                await self.store.execute(
                    "UPDATE comments SET state = ?, approved_at = ?, approved_by = ?, "
                    "by_name = ? WHERE id = ?",
                    (PostState.APPROVED, now, user.name, user.shown_name, cid),
                )
                await self._send_comment(cid, None, now)
        return await self._comment(cid)

    async def _comment(self, cid: str) -> Comment:
        return await self.store.read(lambda conn: comment_now(conn, cid))

    async def comments(
        self, post_id: str, *, states: tuple[str, ...] = (PostState.APPROVED,)
    ) -> list[Comment]:
        marks = ",".join("?" * len(states))
        return await self.store.read(
            lambda conn: comments_now(
                conn,
                f"WHERE post = ? AND state IN ({marks}) ORDER BY created_at",
                (post_id, *states),
            )
        )

    async def waiting_comments(self, pid: str) -> list[Comment]:
        """Our pupils' comments in a project that wait for a teacher, oldest first."""

        def read(conn: sqlite3.Connection) -> list[Comment]:
            project = project_now(conn, pid)
            return comments_now(
                conn,
                "WHERE project = ? AND state = ? ORDER BY created_at",
                (project.id, PostState.DRAFT),
            )

        return await self.store.read(read)

    async def _send_comment(self, cid: str, only: list[NodeId] | None, now: int) -> None:
        await self.store.read(lambda conn: self._send_comment_now(conn, cid, only, now))

    def _send_comment_now(
        self, conn: sqlite3.Connection, cid: str, only: list[NodeId] | None, now: int
    ) -> None:
        comment = comment_now(conn, cid)
        project = conn.execute("SELECT project FROM comments WHERE id = ?", (cid,)).fetchone()[0]
        to = only if only is not None else self._members_now(conn, project)
        if not to:
            return
        content = CommentLetter(
            p=project,
            post=comment.post,
            id=comment.id,
            by=comment.by_name or "?",
            body=comment.body or "",
            at=comment.created_at,
        ).to_content()
        self.mail.send_now(conn, letters.COMMENT, content, to, about=cid, now=now)
