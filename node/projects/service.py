"""Partnership projects and their pupil blogs: membership, posts, moderation, takedown.

Everything here travels as sealed letters (node/mail.py) to the project's member
schools only. The rules that keep pupils safe (docs/safeguarding.md):

* a pupil's post or comment is a *draft* until a teacher of the pupil's own
  school approves it; only then is it sealed and sent, and only to members;
* what is sent follows the pupil's consent: the name cut to initials, photos held
  back; a withdrawn consent takes the pupil's affected posts down again;
* a takedown (by the author school, or the project's owner) deletes the content
  and photos everywhere, keeps a tombstone, and each member returns a receipt;
* a school may require its own teacher to accept partners' posts before its
  pupils see them (two-key publication).

Only the owner school changes membership: it sends every member the whole member
list with a revision number, so late or repeated letters cannot undo a change.
When a school joins, each member sends it its own earlier approved posts.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from node.accounts.service import Accounts, User
from node.mail.mailroom import Mailroom
from node.partners.peerbook import PeerBook
from node.projects.media import MAX_SIDE, clean_image, render_markdown
from node.projects.rosters import Rosters
from node.store.database import Store
from protocol import kinds, letters
from protocol.errors import NotAllowedError, NotFoundError, SealedError, UserInputError, said
from protocol.keys import NodeId, NodeKey, content_hash
from protocol.rules import OUT_OF_BOUNDS
from protocol.rules import projects as rules
from protocol.sealed import Letter

MIN_PREFIX = 6
#: The reason a tombstone gives for a post or comment erased because we blocked its school.
BLOCKED_REASON = "the school that wrote it was blocked"


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


class Projects:
    def __init__(self, store: Store, key: NodeKey, mail: Mailroom, accounts: Accounts) -> None:
        self.store = store
        self.key = key
        self.me = key.node_id
        self.mail = mail
        self.accounts = accounts
        self.rosters = Rosters(store, accounts)
        self.needs_checkpoint = False  # content was erased: flush the write-ahead log

    # -- projects -----------------------------------------------------------------

    async def create(self, title: str, themes: list[str], now: int) -> Project:
        pid = os.urandom(16).hex()
        content = {"p": pid, "title": title.strip(), "themes": themes, "members": [], "rev": 1}
        content["members"] = [[bytes(self.me), "member"]]
        try:
            letters.validate(letters.PROJECT, content)
        except SealedError as exc:
            raise UserInputError(
                f"{exc}: check --title and --theme",
                page=said(
                    "Check the project's title and themes: a title of up to 200 characters, "
                    "and at most 12 themes of up to 60 characters each."
                ),
            ) from exc
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO projects (id, title, themes, owner, rev, standing, created_at) "
                "VALUES (?, ?, ?, ?, 1, 'member', ?)",
                (pid, content["title"], json.dumps(themes), bytes(self.me), now),
            )
            await self._set_member(pid, self.me, "member")
        return await self.get(pid)

    async def get(self, text: str) -> Project:
        rows = await self.store.fetch_all(
            "SELECT id, title, themes, owner, rev, standing, review FROM projects "
            "WHERE id = ? OR (length(?) >= ? AND substr(id, 1, length(?)) = ?) "
            "ORDER BY id = ? DESC LIMIT 2",
            (text, text, MIN_PREFIX, text, text.lower(), text),
        )
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
        members = await self.store.fetch_all(
            "SELECT node, state FROM project_members WHERE project = ?", (row[0],)
        )
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

    async def all(self) -> list[Project]:
        rows = await self.store.fetch_all("SELECT id FROM projects ORDER BY created_at")
        return [await self.get(r[0]) for r in rows]

    async def invite(self, pid: str, school: NodeId, now: int) -> Project:
        project = await self.get(pid)
        if project.owner != self.me:
            raise NotAllowedError(
                "only the school that created the project can invite schools: ask its "
                "project lead to invite them",
                page=said(
                    "Only the school that started the project can invite schools: ask its "
                    "project lead."
                ),
            )
        if school == self.me:
            raise UserInputError(
                "this school is already in the project",
                page=said("Our school is already in the project."),
            )
        partner = await PeerBook(self.store).get(school)
        if partner is None or partner.state != "partner":
            raise UserInputError(
                f"{school} is not a partner school: become partners first with "
                "`schoolmesh invite create` and `schoolmesh partner add`",
                page=said(
                    "That school is not one of our partner schools: become partners first, on "
                    "the Partners page."
                ),
            )
        if project.members.get(school) == "member":
            raise UserInputError(
                "that school is already a member of the project",
                page=said("That school is already a member of the project."),
            )
        async with self.store.write():
            await self._set_member(project.id, school, "invited")
            await self._bump_and_send(project.id, now)
        return await self.get(project.id)

    async def join(self, pid: str, now: int) -> Project:
        project = await self.get(pid)
        if project.standing == "member":
            raise UserInputError(
                "this school is already a member of that project",
                page=said("Our school is already a member of this project."),
            )
        if project.standing != "invited":
            raise UserInputError(
                "this school has not been invited to that project (any more)",
                page=said("Our school is not invited to this project, or not any more."),
            )
        async with self.store.write():
            await self.store.execute(
                "UPDATE projects SET standing = 'member' WHERE id = ?", (project.id,)
            )
            await self._set_member(project.id, self.me, "member")
            await self.mail.send_in_transaction(
                letters.PROJECT_JOIN, {"p": project.id}, [project.owner], about=project.id, now=now
            )
        await self._name_relay(project.owner, now)
        return await self.get(project.id)

    async def _name_relay(self, school: NodeId, now: int) -> None:
        """Name the project's owner as a relay for our letters (docs/decisions.md).

        Members that are not partners of each other never connect; the owner school
        is a partner of every member and reads all the project's letters anyway, so
        letting it carry sealed copies to us reveals nothing new.
        """
        profile = dict(await self.store.latest_profile(self.me) or {})
        relays = list(profile.get("relays", []))
        if str(school) in relays or len(relays) >= 8:
            return
        profile["relays"] = [*relays, str(school)]
        await self.store.append_local(self.key, kinds.PROFILE, profile, now)

    async def leave(self, pid: str, now: int) -> Project:
        project = await self.get(pid)
        if project.owner == self.me:
            raise UserInputError(
                "the school that created a project cannot leave it; take down what should "
                "go, or ask the members to leave",
                page=said("Our school started this project, so it cannot leave it."),
            )
        if project.standing == "left":
            raise UserInputError(
                "this school has already left that project",
                page=said("Our school has already left this project."),
            )
        others = [n for n in project.members if n != self.me]
        async with self.store.write():
            await self.store.execute(
                "UPDATE projects SET standing = 'left' WHERE id = ?", (project.id,)
            )
            await self._set_member(project.id, self.me, "left")
            await self.mail.send_in_transaction(
                letters.PROJECT_LEAVE, {"p": project.id}, others, about=project.id, now=now
            )
        return await self.get(project.id)

    async def set_review(self, pid: str, review: bool) -> Project:
        project = await self.get(pid)
        async with self.store.write():
            await self.store.execute(
                "UPDATE projects SET review = ? WHERE id = ?", (int(review), project.id)
            )
        return await self.get(project.id)

    async def _set_member(self, pid: str, node: NodeId, state: str) -> None:
        await self.store.execute(
            "INSERT INTO project_members (project, node, state) VALUES (?, ?, ?) "
            "ON CONFLICT (project, node) DO UPDATE SET state = excluded.state",
            (pid, bytes(node), state),
        )

    async def _bump_and_send(self, pid: str, now: int) -> None:
        """Owner only, inside a transaction: a new revision of the member list, to all."""
        await self.store.execute("UPDATE projects SET rev = rev + 1 WHERE id = ?", (pid,))
        project = await self.get(pid)
        content = {
            "p": project.id,
            "title": project.title,
            "themes": project.themes,
            "members": [[bytes(n), s] for n, s in sorted(project.members.items(), key=_key)],
            "rev": project.rev,
        }
        others = [n for n in project.members if n != self.me]
        if others:
            await self.mail.send_in_transaction(
                letters.PROJECT, content, others, about=project.id, now=now
            )

    # -- posts and comments ---------------------------------------------------------

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
        if theme is not None and project.themes and theme not in project.themes:
            raise UserInputError(
                f"{theme!r} is not one of the project's themes: {', '.join(project.themes)}",
                page=said("Choose one of the project's themes."),
            )
        if len(images) > letters.MAX_IMAGES:
            raise UserInputError(
                f"a post may have at most {letters.MAX_IMAGES} photos",
                page=said("A post can have at most 6 photos."),
            )
        content: dict[str, Any] = {"p": project.id, "id": "0" * 32, "title": title.strip()}
        content.update({"body": body, "by": user.name, "at": now})
        if theme:
            content["theme"] = theme
        try:
            letters.validate(letters.POST, content)
        except SealedError as exc:
            raise UserInputError(
                f"the post cannot be saved: {exc}",
                page=said(
                    "The post cannot be saved: give it a title of up to 200 characters, and at "
                    "most 20,000 characters of text."
                ),
            ) from exc
        cleaned = await _clean_images(images)
        post_id = os.urandom(16).hex()
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO posts (id, project, origin, author, title, body, theme, state, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?)",
                (post_id, project.id, bytes(self.me), user.name, title.strip(), body, theme, now),
            )
            for ((jpeg, digest), faces), alt in zip(cleaned, _padded(alts, cleaned), strict=True):
                await self.store.execute(
                    "INSERT OR IGNORE INTO images (post, hash, type, faces, data, alt) "
                    "VALUES (?, ?, 'image/jpeg', ?, ?, ?)",
                    (post_id, digest, int(faces), jpeg, alt),
                )
        return await self.post(post_id)

    async def post(self, text: str) -> Post:
        row = await self._find("posts", text)
        if row is None:
            raise NotFoundError(
                f"no post {text!r} at this school: see `schoolmesh post list`",
                page=said("There is no such post at this school."),
            )
        return await self._post(row)

    async def _find(self, table: str, text: str) -> Any:
        text = text.strip().lower()
        if len(text) < MIN_PREFIX:
            raise UserInputError(
                f"give at least {MIN_PREFIX} characters of the id",
                page=said("There is no page at this address. Use the menu instead."),
            )
        rows = await self.store.fetch_all(
            f"SELECT {_POST_COLUMNS if table == 'posts' else 'id'} FROM {table} "
            "WHERE substr(id, 1, length(?)) = ? LIMIT 2",  # a prefix, with no wildcards
            (text, text),
        )
        if len(rows) > 1:
            raise UserInputError(
                f"{text!r} matches more than one: give more of the id",
                page=said("More than one post or comment matches %(id)s.", id=text),
            )
        return rows[0] if rows else None

    async def _post(self, row: Any) -> Post:
        images = await self.store.fetch_all(
            "SELECT hash, faces, held, alt FROM images WHERE post = ? ORDER BY rowid", (row[0],)
        )
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

    async def posts(
        self, pid: str, *, states: tuple[str, ...] = ("approved",), for_pupils: bool = False
    ) -> list[Post]:
        """Posts of a project this school may see, newest first."""
        project = await self.get(pid)
        marks = ",".join("?" * len(states))
        rows = await self.store.fetch_all(
            f"SELECT {_POST_COLUMNS} FROM posts WHERE project = ? AND state IN ({marks}) "
            "ORDER BY COALESCE(approved_at, created_at) DESC",
            (project.id, *states),
        )
        found = [await self._post(r) for r in rows]
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
        approved posts of the projects they are in (node/project_pupils.py) while this
        school is a member; partners' posts only once one of our teachers accepted
        them if the project is under review.
        """
        if user.is_staff:
            return True
        if post.origin == self.me and post.author == user.name and post.state != "removed":
            return True
        if post.state != "approved":
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
        if post.origin != self.me or post.author != user.name:
            raise NotAllowedError(
                "only the pupil who wrote a draft can change it",
                page=said("Only the pupil who wrote a draft can change it."),
            )
        if post.state not in ("draft", "returned"):
            raise UserInputError(
                f"that post is {post.state}: only drafts can be changed",
                page=said("This post is not a draft any more, so it cannot be changed."),
            )
        project = await self.get(post.project)
        await self.rosters.check(project.id, user)
        if theme is not None and project.themes and theme not in project.themes:
            raise UserInputError(
                f"{theme!r} is not one of the project's themes: {', '.join(project.themes)}",
                page=said("Choose one of the project's themes."),
            )
        content: dict[str, Any] = {"p": project.id, "id": post.id, "title": title.strip()}
        content.update({"body": body, "by": user.name, "at": post.created_at})
        if theme:
            content["theme"] = theme
        try:
            letters.validate(letters.POST, content)
        except SealedError as exc:
            raise UserInputError(
                f"the post cannot be saved: {exc}",
                page=said(
                    "The post cannot be saved: give it a title of up to 200 characters, and at "
                    "most 20,000 characters of text."
                ),
            ) from exc
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
                "UPDATE posts SET title = ?, body = ?, theme = ?, state = 'draft' "
                "WHERE id = ? AND state IN ('draft', 'returned')",
                (title.strip(), body, theme, post.id),
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
                    "INSERT OR IGNORE INTO images (post, hash, type, faces, data, alt) "
                    "VALUES (?, ?, 'image/jpeg', ?, ?, ?)",
                    (post.id, digest, int(faces), jpeg, alt),
                )
        return await self.post(post.id)

    async def discard(self, text: str, author: str) -> None:
        """The author deletes their own draft or returned post, which never left the
        school: its text, photos and any comments go (secure_delete overwrites them).
        An approved post has reached other schools: only a takedown recalls it."""
        post = await self.post(text)
        user = await self.accounts.get(author)
        if post.origin != self.me or post.author != user.name:
            raise NotAllowedError(
                "only the pupil who wrote a draft can delete it",
                page=said("Only the pupil who wrote a draft can delete it."),
            )
        async with self.store.write():
            deleted = await self.store.execute(
                "DELETE FROM posts WHERE id = ? AND state IN ('draft', 'returned')", (post.id,)
            )
            if not deleted:  # approved meanwhile: nothing goes (the block rolls back)
                raise UserInputError(
                    "that post is no longer a draft: it was not deleted",
                    page=said("This post is not a draft any more, so it cannot be deleted."),
                )
            await self.store.execute("DELETE FROM images WHERE post = ?", (post.id,))
            await self.store.execute("DELETE FROM comments WHERE post = ?", (post.id,))
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

    async def approve(self, text: str, by: str, now: int) -> tuple[str, list[str]]:
        """Approve a draft post or comment: it is sealed and sent to the member schools.

        Returns the id and what was held back because of the pupil's consent.
        """
        teacher = await self.accounts.staff(by)
        comment = await self._find("comments", text)
        if comment is not None and await self._find("posts", text) is None:
            return await self._approve_comment(comment[0], teacher, now)
        post = await self.post(text)
        if post.origin != self.me:
            raise UserInputError(
                "that post comes from a partner school: use `post accept`",
                page=said(
                    "This post comes from a partner school: accept it rather than approve it."
                ),
            )
        if post.state not in ("draft", "returned"):
            raise UserInputError(
                f"that post is {post.state}, not waiting for approval: nothing was changed "
                "(see `schoolmesh post status`)",
                page=said("This post is not waiting for approval any more: nothing was changed."),
            )
        author = await self.accounts.find(post.author or "")
        shown, notes = _consent_view(author, post)
        async with self.store.write():
            for digest, _faces, held in shown:
                await self.store.execute(
                    "UPDATE images SET held = ? WHERE post = ? AND hash = ?",
                    (int(held), post.id, digest),
                )
            await self.store.execute(
                "UPDATE posts SET state = 'approved', approved_at = ?, approved_by = ?, "
                "by_name = ?, note = NULL WHERE id = ?",
                (now, teacher.name, author.shown_name if author else "?", post.id),
            )
            await self._send_post(await self.post(post.id), None, now)
        return post.id, notes

    async def _approve_comment(self, cid: str, teacher: User, now: int) -> tuple[str, list[str]]:
        row = await self.store.fetch_one("SELECT author, state FROM comments WHERE id = ?", (cid,))
        if row[1] != "draft":
            raise UserInputError(
                f"that comment is {row[1]}, not waiting for approval: nothing was changed",
                page=said(
                    "This comment is not waiting for approval any more: nothing was changed."
                ),
            )
        author = await self.accounts.find(row[0] or "")
        async with self.store.write():
            await self.store.execute(
                "UPDATE comments SET state = 'approved', approved_at = ?, approved_by = ?, "
                "by_name = ? WHERE id = ?",
                (now, teacher.name, author.shown_name if author else "?", cid),
            )
            await self._send_comment(cid, None, now)
        return cid, []

    async def return_(self, text: str, by: str, note: str) -> Post:
        """Send a draft back to its pupil with a teacher's note; nothing leaves the school."""
        teacher = await self.accounts.staff(by)
        post = await self.post(text)
        if post.origin != self.me or post.state != "draft":
            raise UserInputError(
                "only a draft of this school's own can be returned",
                page=said("Only a draft written at this school can be returned."),
            )
        if not note.strip():
            raise UserInputError(
                "say what to change: --note 'Please ...'",
                page=said("Write a note saying what to change."),
            )
        async with self.store.write():
            await self.store.execute(
                "UPDATE posts SET state = 'returned', note = ?, approved_by = ? WHERE id = ?",
                (note.strip(), teacher.name, post.id),
            )
        return await self.post(post.id)

    async def accept(self, text: str, by: str) -> Post:
        """Two-key publication: our teacher lets our pupils see a partner school's post."""
        teacher = await self.accounts.staff(by)
        post = await self.post(text)
        if post.origin == self.me or post.state != "approved":
            raise UserInputError(
                "only an approved post from a partner school can be accepted",
                page=said("Only an approved post from a partner school can be accepted."),
            )
        async with self.store.write():
            await self.store.execute(
                "UPDATE posts SET accepted_by = ? WHERE id = ?", (teacher.name, post.id)
            )
        return await self.post(post.id)

    async def comment(self, post_text: str, author: str, body: str, now: int) -> Comment:
        """A comment on a post; a pupil's waits for a teacher's approval like a post."""
        post = await self.post(post_text)
        if post.state != "approved":
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
                "created_at) VALUES (?, ?, ?, ?, ?, ?, 'draft', ?)",
                (cid, post.id, post.project, bytes(self.me), user.name, body, now),
            )
            if user.is_staff:  # a teacher's comment needs no one else's approval
                await self.store.execute(
                    "UPDATE comments SET state = 'approved', approved_at = ?, approved_by = ?, "
                    "by_name = ? WHERE id = ?",
                    (now, user.name, user.shown_name, cid),
                )
                await self._send_comment(cid, None, now)
        return await self._comment(cid)

    async def _comment(self, cid: str) -> Comment:
        row = await self.store.fetch_one(
            "SELECT id, post, origin, author, by_name, body, state, created_at FROM comments "
            "WHERE id = ?",
            (cid,),
        )
        return Comment(row[0], row[1], NodeId(row[2]), row[3], row[4], row[5], row[6], int(row[7]))

    async def comments(
        self, post_id: str, *, states: tuple[str, ...] = ("approved",)
    ) -> list[Comment]:
        marks = ",".join("?" * len(states))
        rows = await self.store.fetch_all(
            f"SELECT id FROM comments WHERE post = ? AND state IN ({marks}) ORDER BY created_at",
            (post_id, *states),
        )
        return [await self._comment(r[0]) for r in rows]

    async def waiting_comments(self, pid: str) -> list[Comment]:
        """Our pupils' comments in a project that wait for a teacher, oldest first."""
        project = await self.get(pid)
        rows = await self.store.fetch_all(
            "SELECT id FROM comments WHERE project = ? AND state = 'draft' ORDER BY created_at",
            (project.id,),
        )
        return [await self._comment(r[0]) for r in rows]

    async def _members_to_send(self, pid: str) -> list[NodeId]:
        project = await self.get(pid)
        return [n for n in project.member_ids("member") if n != self.me]

    async def _send_post(self, post: Post, only: list[NodeId] | None, now: int) -> None:
        """Inside a transaction: seal an approved post and its allowed photos to members."""
        to = only if only is not None else await self._members_to_send(post.project)
        if not to:
            return
        shown: list[tuple[bytes, str]] = [
            (h, "image/jpeg") for h, _f, held in post.images if not held
        ]
        content: dict[str, Any] = {
            "p": post.project,
            "id": post.id,
            "title": post.title or "",
            "body": post.body or "",
            "by": post.by_name or "?",
            "at": post.approved_at or now,
        }
        if post.theme:
            content["theme"] = post.theme
        if shown:
            content["images"] = [[h, t] for h, t in shown]
        for digest, _type in shown:
            data = await self.image(post.id, digest)
            assert data is not None
            await self.mail.send_in_transaction(
                letters.IMAGE,
                {
                    "p": post.project,
                    "post": post.id,
                    "hash": digest,
                    "type": "image/jpeg",
                    "data": data,
                },
                to,
                about=post.id,
                now=now,
            )
        await self.mail.send_in_transaction(letters.POST, content, to, about=post.id, now=now)

    async def _send_comment(self, cid: str, only: list[NodeId] | None, now: int) -> None:
        comment = await self._comment(cid)
        row = await self.store.fetch_one("SELECT project FROM comments WHERE id = ?", (cid,))
        to = only if only is not None else await self._members_to_send(row[0])
        if not to:
            return
        content = {
            "p": row[0],
            "post": comment.post,
            "id": comment.id,
            "by": comment.by_name or "?",
            "body": comment.body or "",
            "at": comment.created_at,
        }
        await self.mail.send_in_transaction(letters.COMMENT, content, to, about=cid, now=now)

    async def _send_own_work(self, pid: str, to: list[NodeId], now: int) -> None:
        """Inside a transaction: our approved posts and comments, for a school that joined."""
        for post in await self.posts(pid):
            if post.origin == self.me:
                await self._send_post(post, to, now)
        rows = await self.store.fetch_all(
            "SELECT id FROM comments WHERE project = ? AND origin = ? AND state = 'approved' "
            "ORDER BY created_at",
            (pid, bytes(self.me)),
        )
        for (cid,) in rows:
            await self._send_comment(cid, to, now)

    # -- takedown -------------------------------------------------------------------

    async def takedown(self, text: str, now: int, *, reason: str = "") -> str:
        """Take down a post or comment of ours (or any, as the project's owner), everywhere."""
        target, project_id, origin = await self._target(text)
        project = await self.get(project_id)
        if origin != self.me and project.owner != self.me:
            raise NotAllowedError(
                "only the school whose pupil wrote it, or the project's owner school, can take "
                "it down: ask them, or leave the project",
                page=said(
                    "Only the pupil's school, or the school that started the project, can take "
                    "it down: ask them."
                ),
            )
        async with self.store.write():
            await self._take_down(target, project, now, reason)
        await self.store.checkpoint()
        return target

    async def _take_down(self, target: str, project: Project, now: int, reason: str) -> None:
        """Inside a transaction: erase here and ask every other member school to erase."""
        recipients = [n for n in project.members if n != self.me]
        await self._erase(target, project.id, self.me, now, reason, recipients)
        if recipients:
            content = {"p": project.id, "target": target}
            if reason:
                content["reason"] = reason
            await self.mail.send_in_transaction(
                letters.TAKEDOWN, content, recipients, about=target, now=now
            )

    async def _target(self, text: str) -> tuple[str, str, NodeId]:
        for table in ("posts", "comments"):
            row = await self._find(table, text)
            if row is not None:
                found = await self.store.fetch_one(
                    f"SELECT id, project, origin FROM {table} WHERE id = ?",
                    (row[0],),
                )
                return found[0], found[1], NodeId(found[2])
        raise NotFoundError(
            f"no post or comment {text!r} at this school",
            page=said("There is no such post or comment at this school."),
        )

    async def _erase(
        self,
        target: str,
        pid: str,
        by: NodeId,
        now: int,
        reason: str | None,
        recipients: list[NodeId] | None,
    ) -> None:
        """Inside a transaction: delete the content (secure_delete overwrites it).

        Only a tombstone stays, so the post cannot come back by a late copy."""
        await self.store.execute(
            "UPDATE posts SET title = NULL, body = NULL, by_name = NULL, theme = NULL, "
            "note = NULL, state = 'removed' WHERE id = ?",
            (target,),
        )
        await self.store.execute("DELETE FROM images WHERE post = ?", (target,))
        await self.store.execute(
            "UPDATE comments SET body = NULL, by_name = NULL, state = 'removed' "
            "WHERE id = ? OR post = ?",
            (target, target),
        )
        await self.store.execute(
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
            "state": state_row[0] if state_row else "removed",
            "delivered": {str(NodeId(n)): ok for n, ok in sorted(delivered.items())},
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
            "SELECT id FROM posts WHERE origin = ? AND author = ? AND state = 'approved' "
            "ORDER BY created_at",
            (bytes(self.me), pupil.name),
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
            "SELECT id, by_name FROM comments WHERE origin = ? AND author = ? "
            "AND state = 'approved' ORDER BY created_at",
            (bytes(self.me), pupil.name),
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
                if found[1] == "removed":
                    continue  # a comment on a post taken down a moment ago went with it
                project = await self.get(found[0])
                await self._take_down(target, project, now, "consent withdrawn")
        await self.store.checkpoint()
        return taken

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: erase every post and comment ``school`` wrote, with photos,
        and the reasons it gave for its takedowns.

        Called when we block it (node/partners.py). Each is erased as a takedown
        erases (:meth:`_erase`), with a tombstone in our school's name, so that no
        late copy, direct or relayed, brings it back. Nothing is sent: blocking is
        this school's decision, not the project's.
        """
        for table in ("posts", "comments"):
            rows = await self.store.fetch_all(
                f"SELECT id, project FROM {table} WHERE origin = ? AND state != 'removed'",
                (bytes(school),),
            )
            for target, pid in rows:
                await self._erase(target, pid, self.me, now, BLOCKED_REASON, None)
        # What it took down stays down, but the reason it gave is its words too.
        await self.store.execute(
            "UPDATE takedowns SET reason = NULL WHERE by_node = ?", (bytes(school),)
        )

    # -- letters from member schools ------------------------------------------------------

    async def receive(self, letter: Letter, now: int) -> None:
        """Act on a letter (inside the mail room's transaction); refuse what breaks a rule.

        Each handler asks its rule (protocol/rules/projects.py) before it changes
        anything, and raises the refusal: a refused letter leaves our node as it was.
        """
        handlers = {
            letters.PROJECT: self._on_project,
            letters.PROJECT_JOIN: self._on_join,
            letters.PROJECT_LEAVE: self._on_leave,
            letters.POST: self._on_post,
            letters.COMMENT: self._on_comment,
            letters.IMAGE: self._on_image,
            letters.TAKEDOWN: self._on_takedown,
            letters.RECEIPT: self._on_receipt,
        }
        handler = handlers.get(letter.kind)
        if handler is not None:
            await handler(letter, now)

    async def _held(self, pid: str) -> rules.HeldProject | None:
        row = await self.store.fetch_one(
            "SELECT owner, rev, standing FROM projects WHERE id = ?", (pid,)
        )
        if row is None:
            return None
        members = await self.store.fetch_all(
            "SELECT node, state FROM project_members WHERE project = ?", (pid,)
        )
        return rules.HeldProject(
            NodeId(row[0]), int(row[1]), row[2], {NodeId(n): s for n, s in members}
        )

    async def _item(self, item_id: str) -> rules.HeldItem | None:
        """The post or comment we hold under ``item_id`` (ids are unique across both)."""
        row = await self.store.fetch_one(
            "SELECT 'post', p.project, p.origin, j.owner, NULL FROM posts p "
            "LEFT JOIN projects j ON j.id = p.project WHERE p.id = ? "
            "UNION ALL SELECT 'comment', c.project, c.origin, j.owner, c.post FROM comments c "
            "LEFT JOIN projects j ON j.id = c.project WHERE c.id = ? LIMIT 1",
            (item_id, item_id),
        )
        if row is None:
            return None
        owner = None if row[3] is None else NodeId(row[3])
        return rules.HeldItem(row[0], row[1], NodeId(row[2]), owner, row[4])

    async def _tombstone(self, target: str) -> rules.Tombstone | None:
        row = await self.store.fetch_one(
            "SELECT project, by_node, recipients FROM takedowns WHERE target = ?", (target,)
        )
        if row is None:
            return None
        asked = None if row[2] is None else frozenset(NodeId.parse(n) for n in json.loads(row[2]))
        return rules.Tombstone(row[0], NodeId(row[1]), asked)

    async def _on_project(self, letter: Letter, now: int) -> None:
        content = letter.content
        pid = content["p"]
        held = await self._held(pid)
        listed = {NodeId(n): s for n, s in content["members"]}
        partner = await PeerBook(self.store).get(letter.author)
        verdict = rules.project_letter(
            letter.author,
            self.me,
            listed=listed,
            rev=content["rev"],
            held=held,
            partner=partner is not None and partner.state == "partner",
        )
        if verdict is not None:
            raise verdict.error()
        mine = rules.standing_after(None if held is None else held.standing, listed[self.me])
        themes = json.dumps(content.get("themes", []))
        if held is None:
            await self.store.execute(
                "INSERT INTO projects (id, title, themes, owner, rev, standing, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pid, content["title"], themes, bytes(letter.author), content["rev"], mine, now),
            )
        else:
            await self.store.execute(
                "UPDATE projects SET title = ?, themes = ?, rev = ?, standing = ? WHERE id = ?",
                (content["title"], themes, content["rev"], mine, pid),
            )
        await self.store.execute("DELETE FROM project_members WHERE project = ?", (pid,))
        for node, state in {**listed, self.me: mine}.items():
            await self._set_member(pid, node, state)
        joined = [
            n
            for n, s in listed.items()
            if s == "member" and held is not None and held.state_of(n) != "member" and n != self.me
        ]
        if joined and mine == "member":
            await self._send_own_work(pid, joined, now)

    async def _on_join(self, letter: Letter, now: int) -> None:
        pid = letter.content["p"]
        verdict = rules.join_letter(letter.author, self.me, await self._held(pid))
        if verdict is not None:
            raise verdict.error()
        await self._set_member(pid, letter.author, "member")
        await self._bump_and_send(pid, now)
        await self._send_own_work(pid, [letter.author], now)

    async def _on_leave(self, letter: Letter, now: int) -> None:
        pid = letter.content["p"]
        held = await self._held(pid)
        verdict = rules.leave_letter(letter.author, held)
        if verdict is not None:
            raise verdict.error()
        assert held is not None  # the rule refuses a project we do not hold
        await self._set_member(pid, letter.author, "left")
        if held.owner == self.me:
            await self._bump_and_send(pid, now)

    async def _on_post(self, letter: Letter, now: int) -> None:
        content = letter.content
        pid, post_id = content["p"], content["id"]
        existing = await self._item(post_id)
        verdict = rules.post_letter(
            letter.author,
            pid,
            at=content["at"],
            held=await self._held(pid),
            existing=existing,
            now=now,
        )
        if verdict is not None:
            raise verdict.error()
        if existing is not None:
            return  # the same post again (a resend to a late joiner)
        if not await self._clear_tombstone(post_id, pid):
            # Taken down by the project's owner before it reached us: it stays down, and
            # the photos that came ahead of it go too.
            await self.store.execute("DELETE FROM images WHERE post = ?", (post_id,))
            self.needs_checkpoint = True
            return
        await self.store.execute(
            "INSERT INTO posts (id, project, origin, by_name, title, body, theme, state, "
            "created_at, approved_at, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'approved', ?, ?, ?)",
            (
                post_id,
                pid,
                bytes(letter.author),
                content["by"],
                content["title"],
                content["body"],
                content.get("theme"),
                content["at"],
                content["at"],
                now,
            ),
        )
        listed = [digest for digest, _kind in content.get("images", [])]
        for digest, kind in content.get("images", []):
            # Photos arrive before their post (sealed in that order); keep those listed.
            await self.store.execute(
                "INSERT OR IGNORE INTO images (post, hash, type) VALUES (?, ?, ?)",
                (post_id, digest, kind),
            )
        # What came ahead under this id but is not the post's own: photos it does not
        # list, and comments that named it as a post of another project.
        marks = ",".join("?" * len(listed))
        await self.store.execute(
            f"DELETE FROM images WHERE post = ? AND hash NOT IN ({marks})", (post_id, *listed)
        )
        await self.store.execute(
            "DELETE FROM comments WHERE post = ? AND project != ?", (post_id, pid)
        )

    async def _clear_tombstone(self, item_id: str, pid: str) -> bool:
        """Whether a post or comment arriving in ``pid`` may be stored, as to takedowns.

        Not if it was taken down in that project before it reached us. A tombstone
        that another project's owner left for an id we did not hold erased nothing
        and holds nothing back here: it goes (docs/security.md)."""
        tomb = await self._tombstone(item_id)
        if tomb is None:
            return True
        if tomb.project == pid:
            return False
        await self.store.execute("DELETE FROM takedowns WHERE target = ?", (item_id,))
        return True

    async def _on_comment(self, letter: Letter, now: int) -> None:
        content = letter.content
        pid, cid, on = content["p"], content["id"], content["post"]
        existing = await self._item(cid)
        verdict = rules.comment_letter(
            letter.author,
            pid,
            post=on,
            at=content["at"],
            held=await self._held(pid),
            existing=existing,
            on=await self._item(on),
            now=now,
        )
        if verdict is not None:
            raise verdict.error()
        if existing is not None:
            return  # the same comment again
        post_tomb = await self._tombstone(on)
        if (post_tomb is not None and post_tomb.project == pid) or not await self._clear_tombstone(
            cid, pid
        ):
            return  # it, or the post it is on, was taken down
        await self.store.execute(
            "INSERT INTO comments (id, post, project, origin, by_name, body, state, "
            "created_at, approved_at) VALUES (?, ?, ?, ?, ?, ?, 'approved', ?, ?)",
            (
                cid,
                on,
                pid,
                bytes(letter.author),
                content["by"],
                content["body"],
                content["at"],
                now,
            ),
        )

    async def _on_image(self, letter: Letter, now: int) -> None:
        content = letter.content
        pid, post_id, digest = content["p"], content["post"], content["hash"]
        if content_hash(content["data"]) != digest:
            raise SealedError("a photo does not match its hash", code=OUT_OF_BOUNDS)
        post = await self._item(post_id)
        rows = await self.store.fetch_all(
            "SELECT hash, data IS NOT NULL FROM images WHERE post = ?", (post_id,)
        )
        verdict = rules.image_letter(
            letter.author,
            pid,
            digest=digest,
            held=await self._held(pid),
            post=post,
            hashes=frozenset(bytes(h) for h, _has in rows),
        )
        if verdict is not None:
            raise verdict.error()
        tomb = await self._tombstone(post_id)
        if tomb is not None and tomb.project == pid:
            return  # its post was taken down
        if any(bytes(h) == digest and has for h, has in rows):
            return  # the same photo again
        jpeg = await _clean_received(content["data"])
        # Kept under the hash the post lists (of the photo as sent), so its page finds it;
        # the bytes are our own cleaned copy.
        await self.store.execute(
            "INSERT INTO images (post, hash, type, data) VALUES (?, ?, 'image/jpeg', ?) "
            "ON CONFLICT (post, hash) DO UPDATE SET data = excluded.data",
            (post_id, digest, jpeg),
        )

    async def _on_takedown(self, letter: Letter, now: int) -> None:
        content = letter.content
        pid, target_id = content["p"], content["target"]
        target = await self._item(target_id)
        verdict = rules.takedown_letter(
            letter.author, pid, target=target, named=await self._held(pid)
        )
        if verdict is not None:
            raise verdict.error()
        reason = content.get("reason")
        if target is not None:
            await self._erase(target_id, target.project, letter.author, now, reason, None)
        else:
            # The owner's takedown overtook the post or comment: keep only a tombstone in
            # its project, and erase the comments of that project already on it.
            await self.store.execute(
                "UPDATE comments SET body = NULL, by_name = NULL, state = 'removed' "
                "WHERE post = ? AND project = ?",
                (target_id, pid),
            )
            await self.store.execute(
                "INSERT OR IGNORE INTO takedowns (target, project, by_node, at, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (target_id, pid, bytes(letter.author), now, reason),
            )
            self.needs_checkpoint = True
        await self.mail.send_in_transaction(
            letters.RECEIPT,
            {"p": pid, "target": target_id},
            [letter.author],
            about=target_id,
            now=now,
        )

    async def _on_receipt(self, letter: Letter, now: int) -> None:
        content = letter.content
        verdict = rules.receipt_letter(
            letter.author, self.me, content["p"], await self._tombstone(content["target"])
        )
        if verdict is not None:
            raise verdict.error()
        await self.store.execute(
            "INSERT OR IGNORE INTO receipts (target, node, at) VALUES (?, ?, ?)",
            (content["target"], bytes(letter.author), now),
        )


def _clean_received_now(data: bytes) -> bytes:
    """A partner's photo through the same cleaning as our own uploads (docs/safeguarding.md).

    Every node sends photos it cleaned, so a photo arrives as a JPEG of at most
    ``MAX_SIDE`` pixels a side; the header says so before a pixel is decoded, which
    bounds the time and memory spent here, in the mail room's transaction.
    """
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind, (width, height) = probe.format, probe.size
        if kind != "JPEG":
            raise SealedError(f"a photo that is not a JPEG ({kind})", code=OUT_OF_BOUNDS)
        if max(width, height) > MAX_SIDE:
            raise SealedError(
                f"a photo of {width}x{height} pixels, more than {MAX_SIDE} a side",
                code=OUT_OF_BOUNDS,
            )
        return clean_image(data, name="a partner school's photo")[0]
    except SealedError:
        raise
    except Exception as exc:  # Pillow raises many kinds of error on hostile bytes
        raise SealedError(
            f"a photo that cannot be read ({type(exc).__name__})", code=OUT_OF_BOUNDS
        ) from exc


async def _clean_received(data: bytes) -> bytes:
    """Clean on a worker thread: the event loop (sessions, pages) runs on meanwhile.

    The mail room's write transaction waits for it, so other writes wait for the
    time of one photo of at most 1600 by 1600 pixels: about 0.1 s for 1600 by 1200
    on a small server (measured with clean_image, December 2026)."""
    return await asyncio.to_thread(_clean_received_now, data)


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


def _key(item: tuple[NodeId, str]) -> bytes:
    return bytes(item[0])


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
