"""Private Atom feeds of a project's approved posts, one secret address per staff member.

The address holds a random token (``/feeds/<token>``): whoever has it can read the
feed, so each member of staff gets their own, and an admin can revoke it at any
time without touching anyone else's. The feed is built with feedgen; the post
HTML inside is the sanitised rendering (node/projects/media.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feedgen.feed import FeedGenerator

from node.accounts.service import Accounts
from node.bidi import closed
from node.projects.service import Projects
from node.store.database import Store
from protocol.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class Feed:
    token: str
    user: str
    project: str
    created_at: int
    revoked_at: int | None


class Feeds:
    def __init__(self, store: Store, accounts: Accounts, projects: Projects) -> None:
        self.store = store
        self.accounts = accounts
        self.projects = projects

    async def create(self, user: str, project: str, now: int) -> Feed:
        staff = await self.accounts.staff(user)
        found = await self.projects.get(project)
        token = secrets.token_urlsafe(24)
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO feeds (token, user, project, created_at) VALUES (?, ?, ?, ?)",
                (token, staff.name, found.id, now),
            )
        return Feed(token, staff.name, found.id, now, None)

    async def all(self) -> list[Feed]:
        rows = await self.store.fetch_all(
            "SELECT token, user, project, created_at, revoked_at FROM feeds ORDER BY created_at"
        )
        return [Feed(*r) for r in rows]

    async def of(self, user: str, project: str) -> Feed | None:
        """``user``'s live feed of ``project`` (the newest, if the CLI made several)."""
        row = await self.store.fetch_one(
            "SELECT token, user, project, created_at, revoked_at FROM feeds "
            "WHERE user = ? COLLATE NOCASE AND project = ? AND revoked_at IS NULL "
            "ORDER BY created_at DESC LIMIT 1",
            (user, project),
        )
        return None if row is None else Feed(*row)

    async def revoke_own(self, user: str, project: str, now: int) -> int:
        """Stop every live feed ``user`` has of ``project``; how many were stopped."""
        async with self.store.write():
            return await self.store.execute(
                "UPDATE feeds SET revoked_at = ? WHERE user = ? COLLATE NOCASE AND project = ? "
                "AND revoked_at IS NULL",
                (now, user, project),
            )

    async def revoke(self, token: str, now: int) -> None:
        async with self.store.write():
            changed = await self.store.execute(
                "UPDATE feeds SET revoked_at = ? WHERE token = ? AND revoked_at IS NULL",
                (now, token),
            )
        if not changed:
            raise NotFoundError("no feed with that address is active: see `schoolmesh feed list`")

    async def render(self, token: str, base_url: str) -> bytes:
        """The Atom document for a live token; NotFoundError for an unknown or revoked one."""
        row = await self.store.fetch_one(
            "SELECT user, project FROM feeds WHERE token = ? AND revoked_at IS NULL", (token,)
        )
        if row is None or await self.accounts.find(row[0]) is None:
            raise NotFoundError("no such feed")
        project = await self.projects.get(row[1])
        names = dict(await self.store.fetch_all("SELECT author, name FROM schools"))
        feed = FeedGenerator()
        feed.id(f"urn:schoolmesh:project:{project.id}")
        # Other schools' texts: their bidi controls end where they end (node/bidi.py), or
        # a feed reader shows what follows them reordered.
        feed.title(closed(project.title))
        feed.subtitle(f"Approved posts of the project {closed(project.title)!r}")
        feed.link(href=f"{base_url}/feeds/{token}", rel="self")
        posts = await self.projects.posts(project.id)
        feed.updated(_when(max((p.approved_at or 0 for p in posts), default=0)))
        for post in reversed(posts):
            entry = feed.add_entry()
            entry.id(f"urn:schoolmesh:post:{post.id}")
            entry.title(closed(post.title or ""))
            school = names.get(bytes(post.origin), "a partner school")
            entry.author({"name": f"{closed(str(post.by_name))} ({closed(school)})"})
            entry.content(closed(post.html), type="html")
            entry.updated(_when(post.approved_at or post.created_at))
            entry.published(_when(post.approved_at or post.created_at))
        document: bytes = feed.atom_str(pretty=True)
        return document


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _when(ms: int) -> datetime:
    """A stored time for the feed; one no calendar can show (a partner's post once
    carried the year 287396) is given as 1970, rather than breaking the whole feed."""
    try:
        return _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return _EPOCH
