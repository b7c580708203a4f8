"""Comments on approved posts: a pupil's waits for a teacher like a post, a teacher's
goes at once; each approved comment is sealed to the member schools. A comment still
waiting was never sent: its pupil may delete it, and a teacher may decline it, which
deletes it (approval.may_delete_comment)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from node.accounts.service import User
from node.projects import approval
from node.projects.approval import Deletion
from node.projects.posts import Posts
from node.projects.records import Comment, comment_now, comments_now, find_now, project_now
from protocol import letters
from protocol.contents.letters import CommentLetter
from protocol.errors import NotAllowedError, NotFoundError, SealedError, UserInputError, said
from protocol.keys import NodeId
from protocol.rules import projects as rules
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

    async def comment_named(self, text: str) -> Comment | None:
        """The comment an id (or its first characters) names, or None."""

        def read(conn: sqlite3.Connection) -> Comment | None:
            row = find_now(conn, "comments", text)
            return None if row is None else comment_now(conn, row[0])

        return await self.store.read(read)

    async def comment_deletion(self, comment: Comment, user: User) -> Deletion:
        """Whether ``user`` may delete ``comment``, and as whom (approval.may_delete_comment)."""
        return approval.may_delete_comment(
            ours=comment.origin == self.me,
            state=PostState(comment.state),
            by=user.name,
            by_staff=user.is_staff,
            author=comment.author,
        )

    async def discard_comment(self, text: str, by: str) -> tuple[Comment, Deletion]:
        """Delete a comment of ours still waiting for a teacher: it was never sent, so
        no other school is told (secure_delete overwrites its words). Its pupil may; so
        may any of our staff, declining it. An approved comment has left the school:
        only a takedown recalls it. Returns the comment as read and who deleted it.

        The write reads the comment's state again: approved meanwhile, it is refused
        and nothing is deleted; deleted meanwhile (by its pupil or another teacher),
        it is gone as asked.
        """
        comment = await self.comment_named(text)
        if comment is None:
            raise NotFoundError(
                f"no post or comment {text!r} at this school, so nothing was deleted: the id "
                "may be mistyped, or it was deleted already. A comment's id is printed when it "
                "is written (`schoolmesh post comment ... --json`), and `schoolmesh user export "
                "NAME` lists a pupil's comments with their ids ([draft] while waiting)",
                page=said("There is no such post or comment at this school."),
            )
        verdict = await self.comment_deletion(comment, await self.accounts.get(by))
        if verdict is Deletion.REFUSED:
            raise NotAllowedError(
                "only the pupil who wrote a comment waiting for approval, or a teacher of "
                "this school, can delete it (a partner school's comment is theirs: ask them, "
                "or take it down if this school started the project): nothing was deleted",
                page=said(
                    "Only the pupil who wrote this comment, or a teacher of our school, can "
                    "delete it."
                ),
            )
        if verdict is Deletion.NOT_WAITING:
            raise approval.comment_not_waiting(comment.id, comment.state)

        def write(conn: sqlite3.Connection) -> None:
            waiting = sorted(rules.COMMENT_WAITING)
            marks = ",".join("?" * len(waiting))
            deleted = conn.execute(
                f"DELETE FROM comments WHERE id = ? AND state IN ({marks})",
                (comment.id, *waiting),
            ).rowcount
            if deleted:
                return
            found = conn.execute("SELECT state FROM comments WHERE id = ?", (comment.id,))
            state = found.fetchone()
            if state is not None:  # approved (or taken down) meanwhile: kept, as it is
                raise approval.comment_not_waiting(comment.id, state[0])
            # Deleted by someone else meanwhile (or with its post): gone, as asked.

        await self.store.write(write)
        self.needs_checkpoint = True
        return comment, verdict

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
