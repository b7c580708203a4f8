"""Pupils' posts at this school: a draft, its photos, changing or deleting it before a
teacher approves it, and who may read which post (docs/safeguarding.md)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from node.accounts.service import User, same_name
from node.projects import approval
from node.projects.approval import Deletion
from node.projects.media import clean_image
from node.projects.membership import Membership
from node.projects.records import (
    MIN_PREFIX,
    Post,
    Project,
    find_now,
    post_by_id,
    post_by_text,
    posts_now,
    project_now,
)
from node.projects.rosters import writer_now
from protocol import letters
from protocol.contents.letters import PostLetter
from protocol.errors import NotAllowedError, SealedError, UserInputError, said
from protocol.rules import projects as rules
from protocol.rules.projects import Move, PostState


class Posts(Membership):
    """A pupil's (or teacher's) post, from draft until a teacher approves it; reading
    posts (:meth:`may_see`) and their photos."""

    async def draft(
        self,
        pid: str,
        author: str,
        title: str,
        body: str,
        *,
        theme: str | None,
        images: list[tuple[str, bytes, bool]],
        now: int,
        alts: Sequence[str | None] = (),
    ) -> Post:
        """A pupil's (or teacher's) draft: stays in this school until a teacher approves it."""
        project = await self.get(pid)
        if project.standing != "member":
            raise UserInputError(
                "this school is not a member of that project",
                page=said("Our school is not a member of this project, so no post can be written."),
            )
        user = await self.accounts.get(author)
        await self.rosters.check(project.id, user)
        _check_post(project, "0" * 32, title, body, theme, by=user.name, at=now)
        if len(images) > letters.MAX_IMAGES:
            raise UserInputError(
                f"a post may have at most {letters.MAX_IMAGES} photos",
                page=said("A post can have at most 6 photos."),
            )
        cleaned = await _clean_images(images)
        post_id = os.urandom(16).hex()

        def write(conn: sqlite3.Connection) -> Post:
            conn.execute(
                "INSERT INTO posts (id, project, origin, author, title, body, theme, state, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    post_id,
                    project.id,
                    bytes(self.me),
                    user.name,
                    title.strip(),
                    body,
                    theme,
                    PostState.DRAFT,
                    now,
                ),
            )
            conn.executemany(
                _ADD_IMAGE,
                [
                    (post_id, digest, int(faces), jpeg, alt)
                    for ((jpeg, digest), faces), alt in zip(
                        cleaned, _padded(alts, cleaned), strict=True
                    )
                ],
            )
            return post_by_id(conn, post_id)

        return await self.store.write(write)

    async def post(self, text: str) -> Post:
        return await self.store.read(lambda conn: post_by_text(conn, text))

    async def _find(self, table: str, text: str) -> Any:
        return await self.store.read(lambda conn: find_now(conn, table, text))

    async def posts(
        self,
        pid: str,
        *,
        states: tuple[str, ...] = (PostState.APPROVED,),
        for_pupils: bool = False,
    ) -> list[Post]:
        """Posts of a project this school may see, newest first (one trip)."""

        def read(conn: sqlite3.Connection) -> tuple[Project, list[Post]]:
            project = project_now(conn, pid)
            return project, posts_now(conn, project.id, states)

        project, found = await self.store.read(read)
        if for_pupils and project.review:
            found = [p for p in found if p.origin == self.me or p.accepted_by]
        return found

    async def image(self, post_id: str, digest: bytes) -> bytes | None:
        row = await self.store.fetch_one(
            "SELECT data FROM images WHERE post = ? AND hash = ? AND held = 0", (post_id, digest)
        )
        return None if row is None or row[0] is None else bytes(row[0])

    async def may_see(self, user: User, post: Post) -> bool:
        """Whether ``user`` (of this school) may read ``post`` (docs/safeguarding.md).

        Staff see every post this school holds. A pupil sees their own drafts, and
        approved posts of the projects they are in (node/projects/rosters.py) while this
        school is a member; partners' posts only once one of our teachers accepted
        them if the project is under review.
        """
        if user.is_staff:
            return True
        if (
            post.origin == self.me
            and same_name(post.author, user.name)
            and post.state != PostState.REMOVED
        ):
            return True
        if post.state != PostState.APPROVED:
            return False
        project = await self.get(post.project)
        if project.standing != "member" or not await self.rosters.includes(project.id, user):
            return False
        return post.origin == self.me or not project.review or post.accepted_by is not None

    async def revise(
        self,
        text: str,
        author: str,
        title: str,
        body: str,
        *,
        theme: str | None,
        images: Sequence[tuple[str, bytes, bool]] = (),
        remove: Sequence[str] = (),
        alts: Sequence[str | None] = (),
    ) -> Post:
        """The author changes their draft or returned post; it waits for a teacher again.

        ``images`` are photos to add, as for :meth:`draft`; ``remove`` names photos of
        the post to delete (their hash in hex, or its first characters). Only a draft
        or a returned post can change: once approved, its photos have left the school
        and only a takedown can recall them. All or nothing: on any error the draft
        stays as it was.
        """
        post = await self.post(text)
        user = await self.accounts.get(author)
        if post.origin != self.me or not same_name(post.author, user.name):
            raise NotAllowedError(
                "only the pupil who wrote a draft can change it",
                page=said("Only the pupil who wrote a draft can change it."),
            )
        if rules.post_after(PostState(post.state), Move.REVISE) is None:
            raise UserInputError(
                f"that post is {post.state}: only drafts can be changed",
                page=said("This post is not a draft any more, so it cannot be changed."),
            )
        project = await self.get(post.project)
        await self.rosters.check(project.id, user)
        _check_post(project, post.id, title, body, theme, by=user.name, at=post.created_at)
        gone = self._photos_named(post, remove)
        kept = len(post.images) - len(gone)
        if kept + len(images) > letters.MAX_IMAGES:
            raise UserInputError(
                f"a post may have at most {letters.MAX_IMAGES} photos: it has {len(post.images)}"
                f", {len(gone)} to remove and {len(images)} to add; remove more or add fewer",
                page=said("A post can have at most 6 photos."),
            )
        cleaned = await _clean_images(images)
        async with self.store.write():
            changed = await self.store.execute(
                "UPDATE posts SET title = ?, body = ?, theme = ?, state = ? "
                "WHERE id = ? AND state IN (?, ?)",
                (title.strip(), body, theme, PostState.DRAFT, post.id, *sorted(rules.WAITING)),
            )
            if not changed:  # approved meanwhile: change nothing (the block rolls back)
                raise UserInputError(
                    "that post is no longer a draft: nothing was changed",
                    page=said("This post is not a draft any more, so it cannot be changed."),
                )
            for digest in gone:
                await self.store.execute(
                    "DELETE FROM images WHERE post = ? AND hash = ?", (post.id, digest)
                )
            for ((jpeg, digest), faces), alt in zip(cleaned, _padded(alts, cleaned), strict=True):
                await self.store.execute(
                    _ADD_IMAGE,
                    (post.id, digest, int(faces), jpeg, alt),
                )
        return await self.post(post.id)

    async def deletion(self, post: Post, user: User) -> Deletion:
        """Whether ``user`` may delete ``post``, and as whom (approval.may_delete)."""
        author = await self.accounts.find(post.author) if post.author else None
        taking_part = await self.rosters.of(post.project)
        return approval.may_delete(
            ours=post.origin == self.me,
            state=PostState(post.state),
            by=user.name,
            by_staff=user.is_staff,
            author=post.author,
            author_exists=author is not None,
            author_takes_part=author is not None and taking_part.includes(author),
        )

    async def discard(self, text: str, by: str) -> None:
        """Delete a draft or returned post, which never left the school: its text,
        photos and any comments go (secure_delete overwrites them). Its author may, and
        so may staff once the author's account is removed or the author was taken off
        the project (approval.may_delete), as it can no longer be approved. An approved
        post has reached other schools: only a takedown recalls it."""
        post = await self.post(text)
        verdict = await self.deletion(post, await self.accounts.get(by))
        if verdict is Deletion.REFUSED:
            raise NotAllowedError(
                "only the pupil who wrote a draft can delete it (staff can once that "
                "pupil's account is removed, or once that pupil is taken off the project: "
                "the draft can then no longer be approved): nothing was deleted",
                page=said(
                    "Only the pupil who wrote a draft can delete it, or a teacher once the "
                    "pupil's account is removed or the pupil is taken off the project."
                ),
            )
        if verdict is Deletion.NOT_WAITING:
            raise _not_a_draft()

        def write(conn: sqlite3.Connection) -> None:
            waiting = sorted(rules.WAITING)
            if verdict is Deletion.BY_STAFF:
                # Only while the draft still cannot be approved, its writer as they stand
                # in this write: account still removed, or still off the project.
                _author, writer = writer_now(conn, post.author, post.project)
                if writer is approval.Writer.TAKES_PART:
                    raise NotAllowedError(
                        f"{post.author} takes part in the project again (their account added "
                        "again, or they were added back to the project) meanwhile: the draft "
                        "is theirs again and was not deleted",
                        page=said(
                            "The pupil takes part in the project again meanwhile: the draft "
                            "was not deleted."
                        ),
                    )
                deleted = conn.execute(
                    "DELETE FROM posts WHERE id = ? AND state IN (?, ?)", (post.id, *waiting)
                ).rowcount
            else:
                deleted = conn.execute(
                    "DELETE FROM posts WHERE id = ? AND state IN (?, ?)", (post.id, *waiting)
                ).rowcount
            if not deleted:  # approved, or deleted by someone else, meanwhile
                found = conn.execute("SELECT state FROM posts WHERE id = ?", (post.id,))
                state = found.fetchone()
                if state is None:  # deleted by someone else meanwhile: as asked
                    return
                raise _not_a_draft()
            conn.execute("DELETE FROM images WHERE post = ?", (post.id,))
            conn.execute("DELETE FROM comments WHERE post = ?", (post.id,))

        await self.store.write(write)
        self.needs_checkpoint = True

    @staticmethod
    def _photos_named(post: Post, prefixes: Sequence[str]) -> set[bytes]:
        """The hashes of ``post``'s photos that ``prefixes`` name, each exactly one."""
        found: set[bytes] = set()
        for given in prefixes:
            prefix = given.strip().lower()
            matches = [h for h, _faces, _held in post.images if h.hex().startswith(prefix)]
            if len(prefix) < MIN_PREFIX or len(matches) > 1:
                raise UserInputError(
                    f"give at least {MIN_PREFIX} characters of the photo's hash, enough to "
                    f"name one photo (not {given!r})",
                    page=said("One of the photos to remove is not on this post. Reload the page."),
                )
            if not matches:
                raise UserInputError(
                    f"that post has no photo {given!r}: its photos are "
                    + (", ".join(h.hex()[:12] for h, _f, _d in post.images) or "none"),
                    page=said("One of the photos to remove is not on this post. Reload the page."),
                )
            found.add(matches[0])
        return found


# A photo is stored once per post, keyed by its hash. Given twice (as a photo of work and
# as one showing faces, or added again when a draft is changed), the stricter marking wins:
# a photo marked as showing faces must never leave under work-photo consent alone
# (docs/safeguarding.md, "Consent").
_ADD_IMAGE = (
    "INSERT INTO images (post, hash, type, faces, data, alt) "
    "VALUES (?, ?, 'image/jpeg', ?, ?, ?) "
    "ON CONFLICT (post, hash) DO UPDATE SET faces = max(faces, excluded.faces)"
)


async def _clean_images(
    images: Sequence[tuple[str, bytes, bool]],
) -> list[tuple[tuple[bytes, bytes], bool]]:
    """Re-encode uploaded photos on a worker thread: a large photo takes a good part of a
    second, and on the event loop it would pause syncing and every page meanwhile."""

    def clean() -> list[tuple[tuple[bytes, bytes], bool]]:
        return [(clean_image(data, name=name), faces) for name, data, faces in images]

    return await asyncio.to_thread(clean) if images else []


def _padded(alts: Sequence[str | None], photos: Sequence[Any]) -> list[str | None]:
    """One description (or None) for each photo, in order."""
    return [alts[i] if i < len(alts) else None for i in range(len(photos))]


def _check_post(
    project: Project, post_id: str, title: str, body: str, theme: str | None, *, by: str, at: int
) -> None:
    """Refuse a post (new or revised) whose theme or letter the partners would refuse."""
    if theme is not None and project.themes and theme not in project.themes:
        raise UserInputError(
            f"{theme!r} is not one of the project's themes: {', '.join(project.themes)}",
            page=said("Choose one of the project's themes."),
        )
    post = PostLetter(project.id, post_id, title.strip(), body, by, at, theme or None)
    try:
        letters.validate(letters.POST, post.to_content())
    except SealedError as exc:
        raise UserInputError(
            f"the post cannot be saved: {exc}",
            page=said(
                "The post cannot be saved: give it a title of up to 200 characters, and at "
                "most 20,000 characters of text."
            ),
        ) from exc


def _not_a_draft() -> UserInputError:
    return UserInputError(
        "that post is no longer a draft: it was not deleted (an approved post has left "
        "the school: only a takedown recalls it)",
        page=said("This post is not a draft any more, so it cannot be deleted."),
    )
