"""A teacher's decisions on our pupils' work: approve a post or comment (sealed and sent
to the member schools, as the pupil's consent allows), return a draft with a note, or
accept a partner school's post for our pupils (two-key publication).

What a teacher approves is the version they read: node/projects/approval.py computes it
and the write that approves or returns a post checks it.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from node.accounts.service import USER_COLUMNS, User, tidy_name, user_from_row
from node.projects import approval
from node.projects.comments import Comments
from node.projects.records import Post, find_now, post_by_id, post_now
from node.projects.rosters import pupils_now, writer_now
from protocol import letters
from protocol.contents.letters import ImageLetter, PostLetter
from protocol.errors import (
    AuthorRemovedError,
    AuthorTakenOffError,
    NotFoundError,
    PostDeletedError,
    UserInputError,
    said,
)
from protocol.keys import NodeId
from protocol.rules import projects as rules
from protocol.rules.projects import Move, PostState


class Moderation(Comments):
    """Approving, returning and accepting posts; sending an approved post and its
    allowed photos to the members."""

    async def approve(
        self, text: str, by: str, now: int, *, version: str | None = None
    ) -> tuple[str, list[str]]:
        """Approve a draft post or comment: it is sealed and sent to the member schools.

        With ``version`` (node/projects/approval.py), only if the post is still the
        version the teacher read, checked in the write that approves it. Returns the id
        and what was held back because of the pupil's consent. Three trips: the
        teacher, the post and its pupil, then one write that checks the post is still
        there, waiting and as read, approves it and seals it to the members.
        """
        teacher = await self.accounts.staff(by)
        found = await self.store.read(lambda conn: _approval_now(conn, text, action="approve"))
        if isinstance(found, str):
            return await self._approve_comment(found, teacher, now)
        post, _author_row = found  # read again in the write below
        if post.origin != self.me:
            raise UserInputError(
                "that post comes from a partner school, whose own teachers approved it: use "
                "`post accept` to let our pupils see it "
                f"(`schoolmesh post accept {post.id[:8]} --by NAME`)",
                page=said(
                    "This post comes from a partner school: accept it rather than approve it."
                ),
            )
        _must_wait_for_approval(post)

        def write(conn: sqlite3.Connection) -> list[str]:
            # The post, its photos and consent as they are now, in this transaction: the
            # pupil may have changed the draft (a photo marked as showing faces, or
            # added), a second teacher approved it, or the consent changed since the read.
            now_post, author = _fresh_now(conn, post, action="approve")
            _must_wait_for_approval(now_post)  # a second teacher may have been quicker
            if version is not None:  # a change since the read is said first, as such
                approval.check(version, now_post, author, action="approve")
            # Its writer as they stand now: account removed, or taken off the project
            # (by name or with their class), nothing is sent.
            if refused := _writer_refusal(conn, now_post, author, action="approve"):
                raise refused
            _must_still_be_member(conn, now_post)
            shown, notes = _consent_view(author, now_post)
            by_name = author.shown_name if author else "?"
            conn.executemany(
                "UPDATE images SET held = ? WHERE post = ? AND hash = ?",
                [(int(held), post.id, digest) for digest, _faces, held in shown],
            )
            conn.execute(
                "UPDATE posts SET state = ?, approved_at = ?, approved_by = ?, "
                "by_name = ?, note = NULL WHERE id = ?",
                (
                    rules.post_after(PostState(now_post.state), Move.APPROVE),
                    now,
                    teacher.name,
                    by_name,
                    post.id,
                ),
            )
            self._send_post_now(conn, post_by_id(conn, post.id), None, now)
            return notes

        notes = await self.store.write(write)
        return post.id, notes

    async def version(self, post: Post) -> str | None:
        """The version of one of our own posts a teacher reads (approval.py); None for a
        partner's post, which our teachers accept rather than approve."""
        if post.origin != self.me:
            return None
        return approval.version(post, await self.accounts.find(post.author or ""))

    async def _approve_comment(self, cid: str, teacher: User, now: int) -> tuple[str, list[str]]:
        row = await self.store.fetch_one("SELECT author, state FROM comments WHERE id = ?", (cid,))
        if row is None:  # its post was deleted by its pupil since the read
            raise _comment_gone(cid)
        _comment_must_wait(row[1])

        def write(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT state, author, project FROM comments WHERE id = ?", (cid,)
            ).fetchone()
            if found is None:
                raise _comment_gone(cid)
            state, writer, project = found
            _comment_must_wait(state)
            # Its writer as they stand in this write: account removed, or taken off the
            # project, nothing is sent.
            author, verdict = writer_now(conn, writer, project)
            if refused := approval.refusal(verdict, cid, writer, project, what="comment"):
                raise refused
            assert author is not None
            by_name = author.shown_name
            conn.execute(
                "UPDATE comments SET state = ?, approved_at = ?, approved_by = ?, "
                "by_name = ? WHERE id = ?",
                (
                    rules.comment_after(PostState(state), Move.APPROVE),
                    now,
                    teacher.name,
                    by_name,
                    cid,
                ),
            )
            self._send_comment_now(conn, cid, None, now)

        await self.store.write(write)
        return cid, []

    async def return_(self, text: str, by: str, note: str, *, version: str | None = None) -> Post:
        """Send a draft back to its pupil with a teacher's note; nothing leaves the school.

        With ``version``, only if the post is still the version the teacher read (its
        text and photos: node/projects/approval.py), checked in the write.
        """
        teacher = await self.accounts.staff(by)
        found = await self.store.read(lambda conn: _approval_now(conn, text, action="return"))
        if isinstance(found, str):
            raise UserInputError(
                "that is a comment: comments are approved or taken down, not returned "
                f"(`schoolmesh post approve {found[:8]} --by NAME` or `schoolmesh post "
                f"takedown {found[:8]}`)",
                page=said("Only a draft written at this school can be returned."),
            )
        post = found[0]
        if post.origin != self.me or rules.post_after(PostState(post.state), Move.RETURN) is None:
            raise UserInputError(
                "only a draft of this school's own can be returned",
                page=said("Only a draft written at this school can be returned."),
            )
        if not note.strip():
            raise UserInputError(
                "say what to change: --note 'Please ...'",
                page=said("Write a note saying what to change."),
            )

        def write(conn: sqlite3.Connection) -> Post:
            now_post, author = _fresh_now(conn, post, action="return")
            if rules.post_after(PostState(now_post.state), Move.RETURN) is None:
                raise UserInputError(
                    f"that post is {now_post.state} now, not a draft: nothing was changed "
                    f"(see `schoolmesh post status {post.id[:8]}`)",
                    page=said("Only a draft written at this school can be returned."),
                )
            if version is not None:  # a change since the read is said first, as such
                approval.check(version, now_post, author, action="return")
            # No one to return it to, or no one who may still change it.
            if refused := _writer_refusal(conn, now_post, author, action="return"):
                raise refused
            conn.execute(
                "UPDATE posts SET state = ?, note = ?, approved_by = ? WHERE id = ?",
                (PostState.RETURNED, note.strip(), teacher.name, post.id),
            )
            return post_by_id(conn, post.id)

        return await self.store.write(write)

    async def deleted_meanwhile(self, post: Post, action: str) -> PostDeletedError | None:
        """What an approval or a return (``action``) of ``post``, read before, says if
        the post was deleted since: the words its own write gives; None if it is there."""
        return await self.store.read(lambda conn: _deleted_now(conn, post, action=action))

    async def accept(self, text: str, by: str) -> Post:
        """Two-key publication: our teacher lets our pupils see a partner school's post."""
        teacher = await self.accounts.staff(by)
        post = await self.post(text)
        if post.origin == self.me or post.state != PostState.APPROVED:
            raise UserInputError(
                "only an approved post from a partner school can be accepted",
                page=said("Only an approved post from a partner school can be accepted."),
            )
        async with self.store.write():
            await self.store.execute(
                "UPDATE posts SET accepted_by = ? WHERE id = ?", (teacher.name, post.id)
            )
        return await self.post(post.id)

    async def _send_post(self, post: Post, only: list[NodeId] | None, now: int) -> None:
        """Inside a transaction: seal an approved post and its allowed photos to members."""
        await self.store.read(lambda conn: self._send_post_now(conn, post, only, now))

    def _send_post_now(
        self, conn: sqlite3.Connection, post: Post, only: list[NodeId] | None, now: int
    ) -> None:
        """As :meth:`_send_post`, inside a function run by ``store.write``."""
        to = only if only is not None else self._members_now(conn, post.project)
        if not to:
            return
        shown: list[tuple[bytes, str]] = [
            (h, "image/jpeg") for h, _f, held in post.images if not held
        ]
        content = PostLetter(
            p=post.project,
            id=post.id,
            title=post.title or "",
            body=post.body or "",
            by=post.by_name or "?",
            at=post.approved_at or now,
            theme=post.theme or None,
            images=tuple(shown),
        ).to_content()
        for digest, _type in shown:
            row = conn.execute(
                "SELECT data FROM images WHERE post = ? AND hash = ? AND held = 0",
                (post.id, digest),
            ).fetchone()
            assert row is not None
            assert row[0] is not None
            self.mail.send_now(
                conn,
                letters.IMAGE,
                ImageLetter(
                    post.project, post.id, digest, "image/jpeg", bytes(row[0])
                ).to_content(),
                to,
                about=post.id,
                now=now,
            )
        self.mail.send_now(conn, letters.POST, content, to, about=post.id, now=now)


def _approval_now(conn: sqlite3.Connection, text: str, *, action: str) -> str | tuple[Post, Any]:
    """What ``approve`` (or ``return``: ``action``) names: a comment's id, or a post and
    its author's account row."""
    comment = find_now(conn, "comments", text)
    row = find_now(conn, "posts", text)
    if comment is not None and row is None:
        return str(comment[0])
    if row is None:
        raise approval.not_found(text, action=action)
    post = post_now(conn, row)
    author = conn.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE name = ?", (tidy_name(post.author or ""),)
    ).fetchone()
    return post, author


def _fresh_now(conn: sqlite3.Connection, post: Post, *, action: str) -> tuple[Post, User | None]:
    """``post`` (which an approval or a return, ``action``, read before its write) as it
    is now, with its writer's account if it still exists; PostDeletedError if it was
    deleted since."""
    if (deleted := _deleted_now(conn, post, action=action)) is not None:
        raise deleted
    fresh = _approval_now(conn, post.id, action=action)
    assert not isinstance(fresh, str)
    now_post, author_row = fresh
    return now_post, None if author_row is None else user_from_row(author_row)


def _deleted_now(conn: sqlite3.Connection, post: Post, *, action: str) -> PostDeletedError | None:
    """What to say if ``post``, read before, is gone: deleted by its pupil, or by a
    teacher once it could no longer be approved (approval.may_delete: the pupil's
    account removed, or the pupil taken off the project); None if it is still there."""
    if _exists_now(conn, post.id):
        return None
    _author, verdict = writer_now(conn, post.author, post.project)
    return approval.deleted(post.id, post.author, action=action, writer=verdict)


def _writer_refusal(
    conn: sqlite3.Connection, post: Post, author: User | None, *, action: str
) -> AuthorRemovedError | AuthorTakenOffError | None:
    """Why ``post``'s writer (``author``, their account read in this write) stops an
    approval or a return (``action``), with the project's pupils read in it too; None
    if nothing does (approval.writer)."""
    verdict = approval.writer(author, pupils_now(conn, post.project))
    return approval.refusal(verdict, post.id, post.author, post.project, action=action)


def _exists_now(conn: sqlite3.Connection, post_id: str) -> bool:
    return conn.execute("SELECT 1 FROM posts WHERE id = ?", (post_id,)).fetchone() is not None


def _must_wait_for_approval(post: Post) -> None:
    """Refuse to approve a post that is not a draft (or returned draft) any more."""
    if rules.post_after(PostState(post.state), Move.APPROVE) is not None:
        return
    short = post.id[:8]
    if post.state == PostState.APPROVED:
        when = _day(post.approved_at)
        did = (
            f"{post.approved_by or 'a teacher'} already approved it{when} and it was sent to "
            f"the member schools: follow it with `schoolmesh post status {short}`; to recall "
            f"it, `schoolmesh post takedown {short} --reason REASON`"
        )
    elif post.state == PostState.REMOVED:
        did = f"it was taken down: `schoolmesh post status {short}` shows the receipts"
    else:
        did = f"it is {post.state}: see `schoolmesh post status {short}`"
    raise UserInputError(
        f"that post is not waiting for approval: nothing was changed. {did}",
        page=said("This post is not waiting for approval any more: nothing was changed."),
    )


def _day(at: int | None) -> str:
    """`` on 2026-12-07 10:30 UTC`` for a time in ms, or nothing."""
    if at is None:
        return ""
    return " on " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at / 1000))


def _must_still_be_member(conn: sqlite3.Connection, post: Post) -> None:
    """Refuse to approve a post of a project this school has left (nothing to send it to
    by right: the members no longer count on us)."""
    row = conn.execute(
        "SELECT standing, title FROM projects WHERE id = ?", (post.project,)
    ).fetchone()
    if row is not None and row[0] != "member":
        raise UserInputError(
            f"this school is not a member of the project {row[1]!r} (it is {row[0]}): the "
            "post stays here and nothing was sent. To take part again, the project's owner "
            "invites the school and `schoolmesh project join PROJECT_ID` accepts "
            "(`schoolmesh project list` shows the projects)",
            page=said("Our school is not a member of this project, so no post can be written."),
        )


def _comment_gone(cid: str) -> NotFoundError:
    """A comment deleted with its draft post (by the post's pupil) while being approved."""
    return NotFoundError(
        f"the comment {cid[:8]} is gone: the draft it was on was deleted by the pupil who "
        "wrote it, so nothing was approved or sent",
        page=said("There is no such post or comment at this school."),
    )


def _comment_must_wait(state: str) -> None:
    if rules.comment_after(PostState(state), Move.APPROVE) is None:
        raise UserInputError(
            f"that comment is {state}, not waiting for approval: nothing was changed",
            page=said("This comment is not waiting for approval any more: nothing was changed."),
        )


def _consent_view(
    author: User | None, post: Post
) -> tuple[list[tuple[bytes, bool, bool]], list[str]]:
    """Which photos may leave under the author's consent, and notes on what was held back."""
    work = author.work_photos if author else False
    faces_ok = author.face_photos if author else False
    shown: list[tuple[bytes, bool, bool]] = []
    notes: list[str] = []
    for digest, faces, _held in post.images:
        held = not work or (faces and not faces_ok)
        shown.append((digest, faces, held))
        if held:
            notes.append(
                "a photo showing faces was held back: no consent for photos with faces"
                if faces and work
                else "a photo was held back: no consent for photos of work"
            )
    if author is not None and author.show_name != "full":
        notes.append(f"the name is shown to partner schools as {author.shown_name!r}")
    return shown, notes
