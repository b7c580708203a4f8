"""Reads run on the database thread, inside a caller's ``read(fn)`` or ``write(fn)``.

Plain functions of a ``sqlite3.Connection``: a service that reads several things in
one trip (node/store/database.py, ``Store.read``) calls them, and the ``Store``
methods of the same names run them alone. They return protocol ``Entry`` objects
and plain values, never rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from protocol import codec, kinds
from protocol.contents.entries import EventContent
from protocol.entry import Entry, load_entry
from protocol.errors import NotFoundError, UserInputError, said
from protocol.keys import EntryId, NodeId
from protocol.replication import Read

ENTRY_COLUMNS = "payload, sig, content"


def select_in_now(conn: sqlite3.Connection, sql: str, values: Sequence[Any]) -> list[Any]:
    return conn.execute(f"{sql} ({','.join('?' * len(values))})", values).fetchall()


def get_now(conn: sqlite3.Connection, entry_id: EntryId) -> Entry | None:
    """:meth:`Store.get` on the database thread, inside a caller's ``read(fn)``."""
    row = conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM entries WHERE id = ?", (bytes(entry_id),)
    ).fetchone()
    return None if row is None else load_entry(*row)


def newest_version_now(conn: sqlite3.Connection, first: Entry) -> Entry | None:
    """The newest version held of the event ``first``: ``first`` itself or a later
    entry of its author whose ``replaces`` names it (None: none held with its content).
    Read through the (author, seq) index, not by decoding every event held."""
    rows = conn.execute(
        "SELECT payload, sig, content FROM entries WHERE author = ? AND seq >= ? "
        "AND kind = ? AND content IS NOT NULL",
        (bytes(first.author), first.seq, first.kind),
    ).fetchall()
    versions = [
        version
        for version in (load_entry(*row) for row in rows)
        if version.id == first.id or EventContent.of(version).replaces == first.id
    ]
    return max(versions, key=lambda version: version.seq) if versions else None


def holds_profile_now(conn: sqlite3.Connection, author: NodeId) -> bool:
    """Whether a profile of ``author`` is held with its content (its name to show)."""
    found = conn.execute(
        "SELECT 1 FROM entries WHERE author = ? AND kind = ? AND content IS NOT NULL LIMIT 1",
        (bytes(author), kinds.PROFILE),
    ).fetchone()
    return found is not None


def current_now(conn: sqlite3.Connection, kind: str) -> list[Entry]:
    """:meth:`Store.current` on the database thread, inside a caller's ``read(fn)``."""
    rows = conn.execute(
        f"SELECT {ENTRY_COLUMNS} FROM entries WHERE kind = ? AND content IS NOT NULL "
        "ORDER BY ts DESC, id",
        (kind,),
    ).fetchall()
    return [load_entry(*row) for row in rows]


def schools_now(
    conn: sqlite3.Connection, authors: Iterable[NodeId]
) -> dict[NodeId, tuple[str, str]]:
    """:meth:`Store.schools` on the database thread, inside a caller's ``read(fn)``."""
    wanted = [bytes(a) for a in authors]
    rows = select_in_now(conn, "SELECT author, name, country FROM schools WHERE author IN", wanted)
    return {NodeId(a): (name, country) for a, name, country in rows}


def resolve_now(conn: sqlite3.Connection, text: str) -> EntryId:
    """:meth:`Store.resolve` on the database thread, inside a caller's ``read(fn)``."""
    text = text.strip().lower()
    if len(text) == 64:
        return EntryId.parse(text)
    if not 8 <= len(text) < 64 or any(c not in "0123456789abcdef" for c in text):
        raise UserInputError(
            f"{text!r} is not an entry id: give the 64 characters, or at least the "
            "first 8, as printed by `list` commands",
            page=said("There is no page at this address. Use the menu instead."),
        )
    low = bytes.fromhex(text + "0" * (64 - len(text)))
    high = bytes.fromhex(text + "f" * (64 - len(text)))
    rows = conn.execute(
        "SELECT id FROM entries WHERE id BETWEEN ? AND ? LIMIT 2", (low, high)
    ).fetchall()
    if not rows:
        raise NotFoundError(
            f"no entry starts with {text}: check the id with a `list` command",
            page=said("There is no page at this address. Use the menu instead."),
        )
    if len(rows) > 1:
        raise UserInputError(
            f"more than one entry starts with {text}: give more characters",
            page=said("More than one offer, request or event matches %(id)s.", id=text),
        )
    return EntryId(rows[0][0])


def wire_after_now(
    author: NodeId, seq: int, limit: int, conn: sqlite3.Connection
) -> list[tuple[int, bytes]]:
    rows = conn.execute(
        "SELECT seq, payload, sig, content FROM entries WHERE author = ? AND seq > ? "
        "AND loose = 0 ORDER BY seq LIMIT ?",
        (author, seq, limit),
    )
    return [(int(s), codec.encode_binaries(p, g, c)) for s, p, g, c in rows]


def wire_after_each(
    reads: Sequence[Read], enough: int, enough_bytes: int, conn: sqlite3.Connection
) -> list[list[tuple[int, bytes]]]:
    read_so_far: list[list[tuple[int, bytes]]] = []
    count = size = 0
    for read in reads:
        wires = wire_after_now(read.author, read.after, read.limit, conn)
        read_so_far.append(wires)
        count += len(wires)
        size += sum(len(wire) for _, wire in wires)
        if count >= enough or size >= enough_bytes:
            break
    return read_so_far
