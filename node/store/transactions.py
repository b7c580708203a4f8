"""Transactions on the database thread: the functions ``Store.write(fn)``,
``Store.read(fn)`` and ``Store.within(fn)`` run there (node/store/database.py), in
one trip, so that a cancelled caller can never leave a transaction open.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def begin_now(conn: sqlite3.Connection) -> None:
    """As :meth:`Store._begin`, on the database thread (so the retries block only it)."""
    for attempt in range(100):
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 99:
                raise
            time.sleep(0.1)


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """On the database thread: BEGIN IMMEDIATE, ``fn``, COMMIT; ROLLBACK if anything fails."""
    begin_now(conn)
    try:
        result = fn(conn)
        conn.execute("COMMIT")  # inside the try: a commit can fail too (a full disk)
    except BaseException:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("ROLLBACK")
        raise
    return result


def within(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """On the database thread: ``fn`` in the caller's write transaction, which must be open."""
    if not conn.in_transaction:
        raise RuntimeError("Store.within runs inside `async with store.write()` only")
    return fn(conn)


def snapshot(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """On the database thread: ``fn`` in one read transaction, or in the caller's."""
    if conn.in_transaction:
        return fn(conn)
    conn.execute("BEGIN")
    try:
        return fn(conn)
    finally:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("COMMIT")  # a read changed nothing: COMMIT just ends it
