"""Private calendar addresses: a member of staff subscribes to the events calendar.

A calendar program fetches ``/webcal/<token>.ics`` on its own, without the
browser's session, so the address itself is the key. Each member of staff has at
most one; making a new one replaces the old (which stops working at once), and
it can be revoked. Only the token's SHA-256 is kept, as for sessions: a copy of
the database gives no working address. The token is looked up by its hash and the
hashes compared again with :func:`hmac.compare_digest`, so the answer takes the
same time whichever bytes of a guess are right. The address serves the same
read-only file as ``/events.ics`` (node/events/service.py, ``ics``), and stops working
when its owner is removed or is no longer staff.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from node.store.database import Store

#: 32 random bytes, as for sessions: far beyond guessing, short enough for a URL.
TOKEN_BYTES = 32


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def made_at(store: Store, user: str) -> int | None:
    """When ``user``'s address was made, or None if they have none."""
    row = await store.fetch_one("SELECT created_at FROM calendar_links WHERE user = ?", (user,))
    return None if row is None else int(row[0])


async def renew(store: Store, user: str, now: int) -> str:
    """A new address for ``user`` (the token, shown once); the old one stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with store.write():
        await store.execute(
            "INSERT INTO calendar_links (user, token_hash, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user) DO UPDATE SET token_hash = excluded.token_hash, "
            "created_at = excluded.created_at",
            (user, _hash(token), now),
        )
    return token


async def revoke(store: Store, user: str) -> bool:
    """Stop ``user``'s address; False if they had none."""
    async with store.write():
        return bool(await store.execute("DELETE FROM calendar_links WHERE user = ?", (user,)))


async def owner(store: Store, token: str) -> str | None:
    """The member of staff whose live address holds ``token``, else None."""
    if not 20 <= len(token) <= 100:
        return None
    wanted = _hash(token)
    row = await store.fetch_one(
        "SELECT c.token_hash, u.name FROM calendar_links c JOIN users u ON u.name = c.user "
        "WHERE c.token_hash = ? AND u.role IN ('staff', 'admin')",
        (wanted,),
    )
    if row is None or not hmac.compare_digest(bytes(row[0]), wanted):
        return None
    return str(row[1])
