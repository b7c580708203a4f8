"""Signed-in sessions and sign-in throttling for the web pages.

A session is a random cookie; the database keeps only its SHA-256, the user's name,
a per-session CSRF token and one pending message ("flash") for the next page. A
session ends when the user signs out, after :data:`IDLE_MS` without use, after
:data:`MAX_AGE_MS` in all, or when the user is removed or given a new password.

A form that makes a secret to show once (an invite code, a new password) keeps it
in the session's ``shown_once`` slot and redirects to the page that shows it
(Post/Redirect/Get), so reloading that page cannot make another. The page takes
the secret out as it reads it: the database holds it only until it is shown, or
until the session ends.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from node.accounts.service import USER_COLUMNS, Accounts, User, name_key, user_from_row
from node.net.ratelimit import TokenBucket
from node.store.database import Store

IDLE_MS = 8 * 3_600_000  # a school day
MAX_AGE_MS = 7 * 86_400_000  # a week, even if used every day


@dataclass(frozen=True, slots=True)
class WebSession:
    token_hash: bytes
    user: User
    csrf: str
    flash: str | None


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Sessions:
    def __init__(self, store: Store, accounts: Accounts) -> None:
        self.store = store
        self.accounts = accounts

    async def start(self, user: User, now: int) -> str:
        """A new session for ``user``; returns the cookie value."""
        token = secrets.token_urlsafe(32)
        async with self.store.write():
            await self.store.execute(
                "DELETE FROM web_sessions WHERE seen_at < ? OR created_at < ?",
                (now - IDLE_MS, now - MAX_AGE_MS),
            )
            await self.store.execute(
                "INSERT INTO web_sessions (token_hash, user, csrf, created_at, seen_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (_hash(token), user.name, secrets.token_urlsafe(32), now, now),
            )
        return token

    async def find(self, token: str, now: int) -> WebSession | None:
        user_columns = ", ".join(f"u.{c}" for c in USER_COLUMNS.split(", "))
        row = await self.store.fetch_one(
            f"SELECT s.token_hash, s.csrf, s.flash, s.seen_at, {user_columns} "
            "FROM web_sessions s JOIN users u ON u.name = s.user "
            "WHERE s.token_hash = ? AND s.seen_at >= ? AND s.created_at >= ?",
            (_hash(token), now - IDLE_MS, now - MAX_AGE_MS),
        )
        if row is None:
            return None
        user = user_from_row(row[4:])
        if now - row[3] > 60_000:  # touch at most once a minute: reads stay reads
            async with self.store.write():
                await self.store.execute(
                    "UPDATE web_sessions SET seen_at = ? WHERE token_hash = ?", (now, row[0])
                )
        return WebSession(row[0], user, row[1], row[2])

    async def end(self, session: WebSession) -> None:
        async with self.store.write():
            await self.store.execute(
                "DELETE FROM web_sessions WHERE token_hash = ?", (session.token_hash,)
            )

    async def set_flash(self, session: WebSession, message: str | None) -> None:
        async with self.store.write():
            await self.store.execute(
                "UPDATE web_sessions SET flash = ? WHERE token_hash = ?",
                (message, session.token_hash),
            )

    async def keep_to_show(self, session: WebSession, kind: str, secret: dict[str, Any]) -> None:
        """Keep ``secret`` for the one page that shows it (replacing any not yet shown)."""
        async with self.store.write():
            await self.store.execute(
                "UPDATE web_sessions SET shown_once = ? WHERE token_hash = ?",
                (json.dumps({"kind": kind, "secret": secret}), session.token_hash),
            )

    async def take_to_show(self, session: WebSession, kind: str) -> dict[str, Any] | None:
        """The secret kept for a page of ``kind``, removed as it is read (None if none).

        A secret of another kind stays for its own page.
        """
        async with self.store.write():
            row = await self.store.fetch_one(
                "SELECT shown_once FROM web_sessions WHERE token_hash = ?", (session.token_hash,)
            )
            kept = json.loads(row[0]) if row is not None and row[0] else None
            if kept is None or kept.get("kind") != kind:
                return None
            await self.store.execute(
                "UPDATE web_sessions SET shown_once = NULL WHERE token_hash = ?",
                (session.token_hash,),
            )
        secret: dict[str, Any] = kept["secret"]
        return secret


class SignInThrottle:
    """Slows password guessing: per client address and per user name.

    Each address may try :attr:`BURST` sign-ins at once, then one every
    ``1 / RATE`` seconds; each name the same, so that guessing one teacher's
    password from many addresses is slowed too. A name is counted by
    :func:`node.accounts.service.name_key`, so every spelling that signs in to one account
    ("Sr.  López", "sr. lópez") draws on the same tries.

    A right password gives back the try it took at its address, and the name's
    tries, never more: another account's success must not refill an address that
    is guessing (before, 124 password checks a minute got through where 10 are
    meant to). Kept in memory: a restart forgets it, which costs an attacker a
    restart of the school's node to gain a few tries.
    """

    RATE = 1 / 12  # one more try every 12 seconds
    BURST = 5
    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def _keys(self, address: str, name: str) -> tuple[str, str]:
        return f"addr:{address}", f"name:{name_key(name)}"

    def wait_for(self, address: str, name: str) -> float:
        """Seconds to wait before this sign-in may be tried (0 if it may be tried now)."""
        if len(self._buckets) > self.MAX_KEYS:
            self._forget_full()
        keys = self._keys(address, name)
        waits = []
        for key in keys:
            bucket = self._buckets.setdefault(key, TokenBucket(self.RATE, self.BURST))
            waits.append(bucket.delay_for(1))
        wait = max(waits)
        if wait > 0:
            # A refused try does not count against the limit (or a throttled user
            # could never get back in while someone keeps trying).
            for key in keys:
                self._buckets[key].delay_for(-1)
        return wait

    def succeeded(self, address: str, name: str) -> None:
        """A right password: its own try at the address and the name's tries are given back."""
        address_key, name_key_ = self._keys(address, name)
        self._buckets.pop(name_key_, None)
        if (bucket := self._buckets.get(address_key)) is not None:
            bucket.delay_for(-1)  # only this try: others' wrong guesses still count

    def _forget_full(self) -> None:
        """Forget buckets that have refilled (they carry no information)."""
        for key, bucket in list(self._buckets.items()):
            if bucket.is_full():
                del self._buckets[key]
