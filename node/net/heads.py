"""The node's heads as reconciliation items, kept up to date for every session start.

A session start by reconciliation (docs/protocol.md, "Session start") needs every
head held as an item, sorted, with prefix sums. Reading them all from the database
and sorting them at each session start would cost what the reconciliation saves, so
one :class:`HeadCache` per node keeps them (the pure :class:`protocol.replication.HeadItems`):
loaded once, then, after each commit in this process, the authors whose logs it grew
are read again (one query, at the next session start), and so are those whose log
was cut back or erased (a fork recovered from, a school blocked); a commit by another process
(the command line) is seen by SQLite's ``data_version`` and reloads the whole.
docs/performance.md, "Session start", has the figures.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from node.store.database import Store
from protocol.keys import NodeId
from protocol.replication import Head, HeadItems, HeadSet

HEADS_QUERY = "SELECT h.author, h.seq, h.id, e.ts FROM heads AS h JOIN entries AS e ON e.id = h.id"
_CHUNK = 500  # authors per query: under SQLite's limit on parameters


class HeadCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.items = HeadItems()
        self._version: int | None = None  # PRAGMA data_version when last read (None: never)
        self._stale: set[NodeId] = set()
        self._lock = asyncio.Lock()
        self.reads = 0  # queries made, for tests and bench/session_start.py
        store.add_listener(self._on_commit)
        store.add_erased_listener(self._on_commit)  # a blocked school's head is gone too

    def _on_commit(self, authors: set[NodeId]) -> None:
        self._stale.update(authors)

    async def snapshot(self) -> HeadSet:
        """Every head held, as items: shared by the sessions until a head moves."""
        async with self._lock:
            stale, self._stale = self._stale, set()
            known = self._version
            version, full, rows = await self.store.read(lambda conn: _read(conn, known, stale))
            self.reads += 1
            if full:
                self.items.replace(rows)
            else:
                found = {head.author for head in rows}
                for head in rows:
                    self.items.put(head)
                for author in stale - found:  # its whole log was dropped (a fork)
                    self.items.drop(author)
            self._version = version
            return self.items.snapshot()


def _read(
    conn: sqlite3.Connection, known: int | None, authors: set[NodeId]
) -> tuple[int, bool, list[Head]]:
    """The data version, whether every head was read, and the heads: every one the
    first time, or when another process committed since ``known`` (a teacher posted from
    the command line); else those of ``authors`` only."""
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    full = known is None or version != known
    rows: list[Any] = []
    if full:
        rows = conn.execute(HEADS_QUERY).fetchall()
    else:
        wanted = sorted(authors, key=bytes)
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += conn.execute(f"{HEADS_QUERY} WHERE h.author IN ({marks})", chunk).fetchall()
    heads = [Head(NodeId(a), int(s), bytes(i), int(t)) for a, s, i, t in rows]
    return version, full, heads
