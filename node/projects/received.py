"""Letters from member schools: each kind of project letter acted on inside the mail
room's transaction, after its rule (protocol/rules/projects.py) allowed it; a refused
letter leaves our node as it was. When a school joins, each member sends it its own
earlier approved posts; a partner's photo is cleaned as our own uploads are."""

from __future__ import annotations

import asyncio
import io
import json

from PIL import Image

from node.projects import approval
from node.projects.media import MAX_SIDE, clean_image
from node.projects.moderation import Moderation
from node.projects.takedowns import Takedowns
from protocol import letters
from protocol.contents.letters import (
    CommentLetter,
    ImageLetter,
    PostLetter,
    ProjectJoinLetter,
    ProjectLeaveLetter,
    ProjectLetter,
    ReceiptLetter,
    TakedownLetter,
)
from protocol.errors import SealedError
from protocol.keys import NodeId, content_hash
from protocol.rules import OUT_OF_BOUNDS
from protocol.rules import projects as rules
from protocol.rules.projects import PostState
from protocol.sealed import Letter


class Received(Moderation, Takedowns):
    """The project letters of member schools (:meth:`receive`, the mail room's handler)."""

    async def _send_own_work(self, pid: str, to: list[NodeId], now: int) -> None:
        """Inside a transaction: our approved posts and comments, for a school that joined.

        Not what a writer whose account was removed, or who was taken off the project,
        wrote (approval.writer, the rule approvals use), nor comments on such a post:
        what they wrote does not leave the school any more, to a school that never
        had it.
        """
        taking_part = await self.rosters.of(pid)

        async def may_leave(name: str | None) -> bool:
            author = await self.accounts.find(name or "")
            return approval.writer(author, taking_part) is approval.Writer.TAKES_PART

        withheld: set[str] = set()
        for post in await self.posts(pid):
            if post.origin != self.me:
                continue
            if not await may_leave(post.author):
                withheld.add(post.id)
                continue
            await self._send_post(post, to, now)
        rows = await self.store.fetch_all(
            "SELECT id, post, author FROM comments WHERE project = ? AND origin = ? "
            "AND state = ? ORDER BY created_at",
            (pid, bytes(self.me), PostState.APPROVED),
        )
        for cid, on, writer in rows:
            if on in withheld or not await may_leave(writer):
                continue
            await self._send_comment(cid, to, now)

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
        project = ProjectLetter.of(letter)
        pid = project.p
        held = await self._held(pid)
        listed = dict(project.members)
        partner = await self.peerbook.get(letter.author)
        verdict = rules.project_letter(
            letter.author,
            self.me,
            listed=listed,
            rev=project.rev,
            held=held,
            partner=partner is not None and partner.state == "partner",
        )
        if verdict is not None:
            raise verdict.error()
        mine = rules.standing_after(None if held is None else held.standing, listed[self.me])
        themes = json.dumps(list(project.themes))
        if held is None:
            await self.store.execute(
                "INSERT INTO projects (id, title, themes, owner, rev, standing, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pid, project.title, themes, bytes(letter.author), project.rev, mine, now),
            )
        else:
            await self.store.execute(
                "UPDATE projects SET title = ?, themes = ?, rev = ?, standing = ? WHERE id = ?",
                (project.title, themes, project.rev, mine, pid),
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
        pid = ProjectJoinLetter.of(letter).p
        verdict = rules.join_letter(letter.author, self.me, await self._held(pid))
        if verdict is not None:
            raise verdict.error()
        await self._set_member(pid, letter.author, "member")
        await self._bump_and_send(pid, now)
        await self._send_own_work(pid, [letter.author], now)

    async def _on_leave(self, letter: Letter, now: int) -> None:
        pid = ProjectLeaveLetter.of(letter).p
        held = await self._held(pid)
        verdict = rules.leave_letter(letter.author, held)
        if verdict is not None:
            raise verdict.error()
        assert held is not None  # the rule refuses a project we do not hold
        await self._set_member(pid, letter.author, "left")
        if held.owner == self.me:
            await self._bump_and_send(pid, now)

    async def _on_post(self, letter: Letter, now: int) -> None:
        post = PostLetter.of(letter)
        pid, post_id = post.p, post.id
        existing = await self._item(post_id)
        verdict = rules.post_letter(
            letter.author,
            pid,
            at=post.at,
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
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                post_id,
                pid,
                bytes(letter.author),
                post.by,
                post.title,
                post.body,
                post.theme,
                PostState.APPROVED,
                post.at,
                post.at,
                now,
            ),
        )
        listed = [digest for digest, _kind in post.images]
        for digest, kind in post.images:
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
        comment = CommentLetter.of(letter)
        pid, cid, on = comment.p, comment.id, comment.post
        existing = await self._item(cid)
        verdict = rules.comment_letter(
            letter.author,
            pid,
            post=on,
            at=comment.at,
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
            "created_at, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cid,
                on,
                pid,
                bytes(letter.author),
                comment.by,
                comment.body,
                PostState.APPROVED,
                comment.at,
                now,
            ),
        )

    async def _on_image(self, letter: Letter, now: int) -> None:
        image = ImageLetter.of(letter)
        pid, post_id, digest = image.p, image.post, image.hash
        if content_hash(image.data) != digest:
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
        jpeg = await _clean_received(image.data)
        # Kept under the hash the post lists (of the photo as sent), so its page finds it;
        # the bytes are our own cleaned copy.
        await self.store.execute(
            "INSERT INTO images (post, hash, type, data) VALUES (?, ?, 'image/jpeg', ?) "
            "ON CONFLICT (post, hash) DO UPDATE SET data = excluded.data",
            (post_id, digest, jpeg),
        )

    async def _on_takedown(self, letter: Letter, now: int) -> None:
        takedown = TakedownLetter.of(letter)
        pid, target_id = takedown.p, takedown.target
        target = await self._item(target_id)
        verdict = rules.takedown_letter(
            letter.author, pid, target=target, named=await self._held(pid)
        )
        if verdict is not None:
            raise verdict.error()
        reason = takedown.reason
        if target is not None:
            project = target.project
            await self.store.read(
                lambda conn: self._erase_now(
                    conn, target_id, project, letter.author, now, reason, None
                )
            )
        else:
            # The owner's takedown overtook the post or comment: keep only a tombstone in
            # its project, and erase the comments of that project already on it.
            await self.store.execute(
                "UPDATE comments SET body = NULL, by_name = NULL, state = ? "
                "WHERE post = ? AND project = ?",
                (PostState.REMOVED, target_id, pid),
            )
            await self.store.execute(
                "INSERT OR IGNORE INTO takedowns (target, project, by_node, at, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (target_id, pid, bytes(letter.author), now, reason),
            )
            self.needs_checkpoint = True
        await self.mail.send_in_transaction(
            letters.RECEIPT,
            ReceiptLetter(pid, target_id).to_content(),
            [letter.author],
            about=target_id,
            now=now,
        )

    async def _on_receipt(self, letter: Letter, now: int) -> None:
        receipt = ReceiptLetter.of(letter)
        verdict = rules.receipt_letter(
            letter.author, self.me, receipt.p, await self._tombstone(receipt.target)
        )
        if verdict is not None:
            raise verdict.error()
        await self.store.execute(
            "INSERT OR IGNORE INTO receipts (target, node, at) VALUES (?, ?, ?)",
            (receipt.target, bytes(letter.author), now),
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
