"""The node's database: entries as their verbatim signed bytes, heads, withdrawals.

One connection, one writer: writes run inside ``BEGIN IMMEDIATE`` under an
asyncio lock, so a batch is all-or-nothing and a command-line process writing to
the same file meanwhile waits its turn (``busy_timeout``) instead of failing.
Every stored entry was verified first; reads return protocol Entry objects.

A database that failed its check (node/integrity.py), or in which SQLite met a
damaged page, is marked damaged: a report file beside it (``schoolmesh.db-damaged``)
says what was found and what to do, and every write is refused with that report
until ``schoolmesh check`` finds the database sound again. Writing on into a
damaged file could spread the damage, and hand it to partner schools.

A full disk is not damage: SQLite refuses the write (SQLITE_FULL, or an I/O error
when there is no room left even for its temporary files), the transaction rolls
back whole, and :class:`DiskFullError` says so in the school's words. Nothing is
latched: the next write simply tries again, so the node saves again by itself as
soon as there is room, without a restart. Meanwhile reads go on (pages are served)
and :attr:`Store.full` tells the peer sessions to refuse entries with the
``storage-full`` error, which tells partners to back off (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar, overload

import aiosqlite

from node.store import search
from node.store.budgets import Budgets
from node.store.migrations import LATEST_VERSION, MIGRATIONS, SEARCH_INDEX_VERSION
from node.store.placement import (
    IngestResult,
    batch_state_now,
    keep_newest_profiles,
    loose_batch,
    place,
    place_loose,
    place_next,
)
from node.store.problems import (
    DAMAGED_PAGE,
    DISK_CODES,
    error_code,
    is_damage,
    read_damage,
    restored_error,
    storage_problem,
)
from node.store.reads import (
    ENTRY_COLUMNS,
    current_now,
    get_now,
    newest_version_now,
    resolve_now,
    schools_now,
    select_in_now,
    wire_after_each,
    wire_after_now,
)
from node.store.search import index_listings_now, index_now, unindex_now
from node.store.transactions import snapshot, transaction, within
from node.store.withdrawals import (
    Withdrawn,
    apply_withdrawal_now,
    keep_cancelled_event_now,
    keep_question_now,
    keep_title_now,
    withdrawn_now,
)
from protocol import codec, kinds
from protocol.contents.entries import (
    ProfileContent,
)
from protocol.entry import CONTENT_LIMITS, Entry, create_entry, load_entry
from protocol.errors import (
    DiskFullError,
    SchemaTooNewError,
    StorageError,
    UserInputError,
    said,
)
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.log import (
    Fork,
    Head,
    fork_of,
)
from protocol.replication import Read
from protocol.rules import entries as rules
from protocol.rules import holding as holding_rules

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a statement waits for another process's lock before failing (milliseconds).
BUSY_TIMEOUT_MS = 10_000
#: How long a checkpoint waits for readers of an older snapshot (an export, a backup
#: in another process) before giving up for now: it holds the node's write lock.
CHECKPOINT_WAIT_MS = 1_000
#: The longest a close waits for aiosqlite's thread to end once the connection is closed.
THREAD_END_S = 5.0
# aiosqlite logs every statement with its parameters at DEBUG level: that would put
# pupils' words into log files. Its warnings still show.
logging.getLogger("aiosqlite").setLevel(logging.WARNING)

#: Set by ``schoolmesh restore`` (node/backup.py): while present, nothing new is signed.
RESTORED_SETTING = "restored"
#: Offers and requests indexed per transaction when indexing what peers sent
#: (:meth:`Store.index_pending`); larger batches cost FTS5 less per entry.
INDEX_BATCH = 1024
#: Entries waiting to be indexed that are kept decoded in memory; past this many, the
#: indexer decodes them from the database again.
MAX_WAITING = 20_000
#: Pages of write-ahead log after which a commit copies it into the database file.
WAL_CHECKPOINT_PAGES = 4_000


@dataclass(frozen=True, slots=True)
class EquivocationRecord:
    author: NodeId
    seq: int
    first: bytes
    second: bytes
    detected_at: int


class Store:
    """Async façade over the node's SQLite file."""

    #: Called with each store this process opens: the program adds none; the tests
    #: watch their nodes' commits and write locks (tests/network.py, ``wait_for``).
    opened: ClassVar[list[Callable[[Store], None]]] = []

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        #: What the last check found wrong, while it is not put right (None: sound).
        self.damage: str | None = read_damage(self.damage_report)
        #: The last write failed for want of room on the disk (cleared by the next commit).
        self.full = False
        self._write_lock = asyncio.Lock()
        self._listeners: list[Callable[[set[NodeId]], None]] = []
        #: Authors whose whole log a transaction erased (a block): told apart from
        #: ``_touched`` so that a block still reaches the partner watcher as a commit
        #: that stored no entries (node/net/peers.py), and to the head cache.
        self._erased: set[NodeId] = set()
        self._erased_listeners: list[Callable[[set[NodeId]], None]] = []
        self._touched: set[NodeId] = set()  # authors whose log grew in this transaction
        #: Of those, the authors whose log grew with a continuation (node/forks.py): read
        #: by the commit listeners, which try them again with every peer
        #: (protocol/replication.py, ``Replication.renew``).
        self.continued: set[NodeId] = set()
        #: Of the authors whose log grew in this transaction, the head each now has: read
        #: by the commit listeners, so that a session whose peer holds that head already
        #: does not read the log for nothing (protocol/replication.py, ``mark_dirty``).
        #: Never below the head (a session would leave out entries the peer lacks):
        #: every path that moves a head up sets it (``_insert_now``, ``placement._promote``); a
        #: branch dropped after growth leaves it above, which only skips empty reads.
        self.grown_to: dict[NodeId, int] = {}
        self._mail_listeners: list[Callable[[], None]] = []
        self._mail_touched = False  # this transaction queued sealed letters to pass on
        #: Erase what a school wrote in a service's tables when it is blocked
        #: (``forget(school, now)``, inside the blocking transaction; node/partners/peerbook.py).
        self.forgetters: list[Callable[[NodeId, int], Awaitable[None]]] = []
        #: Each school's budget of public entries (node/budgets.py): sessions hold back
        #: entries past it, and this school's own node signs none past it.
        self.budgets = Budgets()
        #: Ids of this school's own entries a fork recovery set aside, read at the first
        #: ingest (node/forks.py): refused while it waits for the other branch.
        self._taken_back: set[bytes] | None = None
        #: Per author, each fork point where one of its continuations truncated our copy
        #: of its log, and the id kept there (table ``truncations``), read at the first
        #: ingest: the dropped branch is not taken again (protocol/log.py).
        self._dropped_at: dict[NodeId, dict[int, EntryId]] | None = None
        #: A checkpoint could not finish (a reader held an older snapshot), so erased
        #: content may still be in the log file: tried again after each commit.
        self.needs_checkpoint = False
        #: Offers and requests from peers are made searchable in a later transaction
        #: (table ``unindexed``, node/store/indexer.py): how many wait, as far as this
        #: process knows, and an event set when a commit adds to them.
        self.unindexed = 0
        self.index_wanted = asyncio.Event()
        self._queued: list[tuple[int, Entry]] = []  # queued by this transaction
        #: The entries waiting, as decoded when they arrived, so that the index is made
        #: from them rather than from their bytes decoded again (bounded: past it, from
        #: the bytes).
        self._waiting: dict[int, Entry] = {}

    def add_listener(self, listener: Callable[[set[NodeId]], None]) -> None:
        """Call ``listener(authors)`` after each commit in this process (authors may be empty)."""
        self._listeners.append(listener)

    def add_erased_listener(self, listener: Callable[[set[NodeId]], None]) -> None:
        """Call ``listener(authors)`` after each commit in this process that erased the
        whole log of ``authors`` (:meth:`delete_author`): their heads are gone."""
        self._erased_listeners.append(listener)

    def add_mail_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each commit in this process that queued sealed mail."""
        self._mail_listeners.append(listener)

    def mail_changed(self) -> None:
        """Called inside a transaction that queued mail to pass on."""
        self._mail_touched = True

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open and migrate the database at ``path``; make a new one only if ``create``."""
        if create:
            # Private from the start: it will hold pupil work and staff details.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise storage_problem(exc, path, f"cannot open the database {path}") from exc
        store = cls(db, path)
        try:
            for pragma in (
                f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
                "PRAGMA journal_mode = WAL",
                # FULL: a commit is on disk before we acknowledge it, also across
                # power loss; batching keeps the cost to one sync per batch.
                "PRAGMA synchronous = FULL",
                "PRAGMA secure_delete = ON",  # erased content is overwritten, not left
                # Copy the log into the database every 4,000 pages (16 MB) rather than
                # 1,000: a page written again meanwhile (a busy index's) is copied once.
                # On a hub catching up 100,000 entries: 1.4 fewer writes and 2.5 fewer
                # reads per entry, 3 µs less of the database thread's CPU
                # (docs/performance.md, "Where item 6 stands").
                f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}",
            ):
                await db.execute(pragma)
            await store._migrate(path, create)
        except sqlite3.DatabaseError as exc:
            await _close_quietly(db)
            if not is_damage(exc):
                # A full disk or an I/O error is no reason to give up the data: the
                # advice to restore a backup could make a school throw good data away.
                raise storage_problem(exc, path, f"cannot open the database {path}") from exc
            raise StorageError(
                f"{path} is not a usable schoolmesh database ({exc}); restore it from a backup",
                page=DAMAGED_PAGE,
            ) from exc
        except BaseException:
            await _close_quietly(db)
            raise
        for watcher in cls.opened:
            watcher(store)
        return store

    @property
    def damage_report(self) -> Path:
        """The file that marks this database damaged (see the module's docstring)."""
        return self.path.with_name(self.path.name + "-damaged")

    def mark_damaged(self, report: str) -> None:
        """Refuse writes from now on, in this process and in any other that opens the file."""
        self.damage = report
        with contextlib.suppress(OSError):  # the refusal in this process holds anyway
            fd = os.open(self.damage_report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, report.encode())
            finally:
                os.close(fd)

    def clear_damage(self) -> None:
        """The database passed a full check: writes are allowed again."""
        self.damage = None
        self.damage_report.unlink(missing_ok=True)

    def _damaged(self, exc: sqlite3.DatabaseError) -> StorageError:
        """SQLite met a damaged page: mark the database, and say what to do."""
        report = (
            f"the schoolmesh database {self.path} is damaged ({exc}): nothing more is "
            "written to it. Run `schoolmesh check`: it says whether `schoolmesh check "
            "--repair` can mend it or the data folder must be restored from your last "
            "backup (docs/admin.md, Backups)"
        )
        self.mark_damaged(report)
        return StorageError(report, page=DAMAGED_PAGE)

    def _problem(self, exc: sqlite3.Error, what: str = "nothing was saved") -> StorageError:
        """What SQLite met, as the error to raise; a full disk is remembered in :attr:`full`."""
        problem = storage_problem(exc, self.path, what)
        if isinstance(problem, DiskFullError):
            if not self.full:  # the running node says it in its log (node/peers.py)
                log.info("%s", problem)
            self.full = True
        return problem

    def _raise_ours(
        self, exc: BaseException, what: str = "nothing was saved", *, repairing: bool = False
    ) -> None:
        """Raise what a read or a write met in our words, if it is a damaged page (not
        while ``repairing``), a full disk or an I/O error; return for any other error,
        which the caller raises as it is."""
        if isinstance(exc, sqlite3.DatabaseError) and is_damage(exc) and not repairing:
            raise self._damaged(exc) from exc
        if isinstance(exc, sqlite3.Error) and error_code(exc) in DISK_CODES:
            raise self._problem(exc, what) from exc

    def write_locked(self) -> bool:
        """A write transaction is under way on this connection (or waiting to start)."""
        return self._write_lock.locked()

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the main file and empty it (after erasing content,
        so no old copy of it stays in the log file). True if done.

        A reader of an older snapshot (another process's read transaction, such as
        ``schoolmesh export``) keeps the log from being emptied: SQLite then says
        busy. The checkpoint is not dropped: :attr:`needs_checkpoint` stays set and
        it is tried again, without waiting, after each later commit."""
        async with self._write_lock:
            return await self._checkpoint(CHECKPOINT_WAIT_MS)

    async def _checkpoint(self, wait_ms: int) -> bool:
        """Under the write lock: a TRUNCATE checkpoint waiting at most ``wait_ms``."""
        await self._db.execute(f"PRAGMA busy_timeout = {wait_ms}")
        try:
            row = await self.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:  # busy or locked before it began
            log.debug("checkpoint of %s put off: %s", self.path, exc)
            row = None
        finally:
            await self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        done = row is not None and int(row[0]) == 0
        if not done and not self.needs_checkpoint:
            log.info("a reader holds an older snapshot of %s: checkpoint put off", self.path)
        self.needs_checkpoint = not done
        return done

    async def close(self) -> None:
        """Checkpoint the write-ahead log into the main file and close.

        PASSIVE: copy what no reader still needs, without waiting for (or blocking)
        another process that has the file open; the last one to close empties it.
        A checkpoint that fails (a full disk) loses nothing: the log file keeps what
        it holds, and the next process to open the database copies it. The
        connection, and aiosqlite's thread, are closed whatever happens: a thread
        left running would keep the command from ever exiting (issue 20).

        Offers this process stored from peers and has not indexed yet are indexed
        first (what cannot be waits for the next start: node/store/indexer.py).
        """
        if self.unindexed:
            try:
                await self.index_all()
            except (StorageError, sqlite3.Error) as exc:
                log.info("closed with offers still to index: %s", exc)
        async with self._write_lock:
            try:
                await self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:
                log.info("the database was closed without a checkpoint: %s", exc)
            finally:
                await _close_quietly(self._db)

    async def _migrate(self, path: Path, create: bool) -> None:
        if await self.fetch_one("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"):
            row = await self.fetch_one("SELECT version FROM schema_version")
            if row is not None and int(row[0]) == LATEST_VERSION:
                return  # current: no need to take the write lock (a node may be running)
        async with self.write():
            if not create and not await self.fetch_one(
                "SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"
            ):
                raise StorageError(
                    f"{path} is empty or not a schoolmesh database: restore it from a backup"
                )
            await self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            row = await self.fetch_one("SELECT version FROM schema_version")
            current = 0 if row is None else int(row[0])
            if current > LATEST_VERSION:
                raise SchemaTooNewError(
                    f"the database {path} was written by a newer schoolmesh (schema "
                    f"{current}, this program knows up to {LATEST_VERSION}): upgrade schoolmesh"
                )
            for script in MIGRATIONS[current:]:
                for statement in script.split(";"):
                    if statement.strip():
                        await self._db.execute(statement)
            if current < SEARCH_INDEX_VERSION <= LATEST_VERSION:
                indexed = sorted(search.INDEXED_KINDS)
                await self._index_listings(
                    f"SELECT n, {ENTRY_COLUMNS} FROM entries "
                    f"WHERE kind IN ({', '.join('?' * len(indexed))})",
                    indexed,
                )
            if row is None:
                await self._db.execute(
                    "INSERT INTO schema_version (version) VALUES (?)", (LATEST_VERSION,)
                )
            else:
                await self._db.execute("UPDATE schema_version SET version = ?", (LATEST_VERSION,))

    async def schema_version(self) -> int:
        row = await self.fetch_one("SELECT version FROM schema_version")
        assert row is not None
        return int(row[0])

    # -- transactions -------------------------------------------------------------

    @overload
    def write(
        self, fn: None = None, *, repairing: bool = False
    ) -> AbstractAsyncContextManager[None]: ...

    @overload
    def write(
        self, fn: Callable[[sqlite3.Connection], T], *, repairing: bool = False
    ) -> Coroutine[Any, Any, T]: ...

    def write(
        self, fn: Callable[[sqlite3.Connection], T] | None = None, *, repairing: bool = False
    ) -> AbstractAsyncContextManager[None] | Coroutine[Any, Any, T]:
        """A write transaction: ``async with store.write():`` around awaited statements,
        or ``await store.write(fn)``, which runs the plain function ``fn(conn)`` on the
        database thread inside one transaction, in ONE trip there and back (in the
        manner of datasette's ``execute_write_fn``), and returns what it returns.

        Both take the same write lock, are refused the same way while the database is
        damaged, map SQLite's errors the same way (a full disk, damage) and call the
        same listeners after the commit. ``fn`` runs on the database thread: it must
        not touch the event loop; it tells the listeners what it did through
        :meth:`touched` and :meth:`mail_changed`.
        """
        if fn is None:
            return self._write(repairing=repairing)
        return self._write_fn(fn, repairing=repairing)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run the plain function ``fn(conn)`` on the database thread in one trip.

        Outside a transaction, ``fn`` sees one consistent snapshot (a read
        transaction around it); inside one the caller holds (under
        ``async with store.write()``), it runs in that transaction and sees what
        it wrote so far. Errors are mapped as :meth:`fetch_all` maps them."""
        try:
            return await self._run(snapshot, fn)
        except sqlite3.DatabaseError as exc:
            self._raise_ours(exc, "it could not be read")
            raise

    async def within(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run the plain function ``fn(conn)`` on the database thread, in one trip,
        inside the write transaction the caller holds (``async with store.write()``,
        such as the mail room's around a letter's handler): what it writes commits or
        rolls back with the rest, and its errors are mapped by that write, in the
        words of a write ("nothing was saved")."""
        return await self._run(within, fn)

    def touched(self, authors: Iterable[NodeId]) -> None:
        """Called inside a transaction (also from ``fn`` on the database thread) that
        grew the logs of ``authors``: the listeners are told after the commit."""
        self._touched.update(authors)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on aiosqlite's own thread, the one that owns the
        sqlite3 connection (it refuses any other: ``check_same_thread``).

        aiosqlite has no public call for this; ``Connection._execute`` is the queue
        its own public methods use (stable from 0.17 to 0.22). It is used here and
        nowhere else, so a change in aiosqlite is met in one place, and
        tests/node/test_store.py fails at once if it changes."""
        conn = self._db._conn
        result: T = await self._db._execute(fn, conn, *args)  # type: ignore[no-untyped-call]
        return result

    async def _write_fn(self, fn: Callable[[sqlite3.Connection], T], *, repairing: bool) -> T:
        if not repairing:
            self.damage = read_damage(self.damage_report)
            if self.damage is not None:
                raise StorageError(f"nothing was saved: {self.damage}", page=DAMAGED_PAGE)
        async with self._write_lock:
            self._touched = set()
            self.continued = set()
            self.grown_to = {}
            self._erased = set()
            self._mail_touched = False
            self._queued = []
            try:
                # BEGIN, fn, COMMIT (or ROLLBACK) all run on the thread in one call, so
                # a cancelled caller can never leave the transaction open: the thread
                # finishes it whole either way. Cancelled, the caller still waits for
                # it (holding the lock), and a commit is still told to the listeners.
                run = asyncio.ensure_future(self._run(transaction, fn))
                try:
                    result: T = await asyncio.shield(run)
                except asyncio.CancelledError:
                    await asyncio.wait([run])
                    if not run.cancelled() and run.exception() is None:
                        await self._committed()
                    raise
            except sqlite3.Error as exc:
                self._raise_ours(exc, repairing=repairing)
                raise
            await self._committed()
        return result

    @asynccontextmanager
    async def _write(self, *, repairing: bool = False) -> AsyncIterator[None]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error).

        Refused while the database is marked damaged, except ``repairing`` (what
        ``schoolmesh check`` itself runs).

        Cancellation-safe: aiosqlite runs statements in order on its thread even when
        the awaiting task is cancelled, so on any exception (cancellation included)
        a ROLLBACK is queued behind whatever was sent, and never left out.
        """
        if not repairing:
            # Read again each time: `schoolmesh check` in another process may have
            # found damage, or found the database sound again, since this one opened.
            self.damage = read_damage(self.damage_report)
            if self.damage is not None:
                raise StorageError(f"nothing was saved: {self.damage}", page=DAMAGED_PAGE)
        async with self._write_lock:
            try:
                await self._begin()
                self._touched = set()
                self.continued = set()
                self.grown_to = {}
                self._erased = set()
                self._mail_touched = False
                self._queued = []
                yield
                # Inside the try: a commit can fail too (no room for the log file).
                await asyncio.shield(self._db.execute("COMMIT"))
            except BaseException as exc:
                await asyncio.shield(self._rollback())
                self._raise_ours(exc, repairing=repairing)
                raise
            await self._committed()

    async def _committed(self) -> None:
        """Under the write lock, after a commit: tell the listeners what changed."""
        if self.full and (self._touched or self._mail_touched):
            # Only a commit that stored entries or letters shows there is room
            # again: a heartbeat rewritten in place needs none.
            log.info("the database saves again: there is room on the disk once more")
            self.full = False
        if self._queued:
            if len(self._waiting) < MAX_WAITING:
                self._waiting.update(self._queued)
            self.unindexed += len(self._queued)
            self._queued = []
            self.index_wanted.set()
        for listener in self._listeners:
            listener(self._touched)
        if self._erased:
            for erased_listener in self._erased_listeners:
                erased_listener(self._erased)
        if self._mail_touched:
            for mail_listener in self._mail_listeners:
                mail_listener()
        if self.needs_checkpoint:  # put off earlier: try again, not waiting for readers
            await self._checkpoint(0)

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, retried while another process holds the write lock.

        busy_timeout covers most waits, but SQLite returns "locked" at once in some
        cases (such as recovering the log after a crash), so retry for a while.
        """
        for attempt in range(100):
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 99:
                    raise
                await asyncio.sleep(0.1)

    async def _rollback(self) -> None:
        self._dropped_at = None  # read again: the truncations undone may be in it
        with contextlib.suppress(sqlite3.OperationalError):  # BEGIN never ran: nothing to undo
            await self._db.execute("ROLLBACK")

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The row of a one-row query (by key, an aggregate, or LIMIT 1), or None."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        # One trip to the database thread, where execute-then-fetch would take three.
        try:
            return list(await self._db.execute_fetchall(sql, params))
        except sqlite3.DatabaseError as exc:
            self._raise_ours(exc, "it could not be read")
            raise

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (inside :meth:`write` for changes); return rows changed."""
        async with self._db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def data_version(self) -> int:
        """Changes when another process (the command line) commits to this file."""
        row = await self.fetch_one("PRAGMA data_version")
        return int(row[0])

    # -- writing ------------------------------------------------------------------

    async def append_local(
        self, key: NodeKey, kind: str, content: dict[str, Any], now_ms: int
    ) -> Entry:
        """Sign and store the next entry of this node's own log, atomically, in one trip
        to the database thread (:meth:`append_now` inside :meth:`write`).

        Content that every receiver would refuse (:func:`rules.bounds`) is refused
        here, before it is signed: signed, it would break this school's log.
        """
        (entry,) = await self._appending(key, [(kind, content)], now_ms, self.write)
        return entry

    async def append_local_all(
        self, key: NodeKey, items: Sequence[tuple[str, dict[str, Any]]], now_ms: int
    ) -> list[Entry]:
        """As :meth:`append_local` for several entries one after the other (``(kind,
        content)`` each), in one transaction and one trip: all are signed, or none (a
        budget with room for some of them only refuses them all)."""
        return await self._appending(key, items, now_ms, self.write)

    async def append_local_in_transaction(
        self, key: NodeKey, kind: str, content: dict[str, Any], now_ms: int
    ) -> Entry:
        """As :meth:`append_local`, inside a transaction the caller holds (so what the
        caller wrote and the entry commit together, or neither); one trip too."""
        (entry,) = await self._appending(key, [(kind, content)], now_ms, self.within)
        return entry

    async def _appending(
        self,
        key: NodeKey,
        items: Sequence[tuple[str, dict[str, Any]]],
        now_ms: int,
        trip: Callable[[Callable[[sqlite3.Connection], list[Entry]]], Awaitable[list[Entry]]],
    ) -> list[Entry]:
        for kind, content in items:  # before the trip: nothing to undo
            refuse_out_of_bounds(kind, content)
        author = key.node_id
        seen: list[tuple[int, int]] = []  # the budget state found at the head
        try:
            return await trip(lambda conn: self.append_all_now(conn, key, items, now_ms, seen))
        finally:
            # Kept on the event loop, refused or not, as Budgets.tat keeps it: the next
            # entry folds one timestamp more, not the whole log.
            if seen and ((held := self.budgets.cached(author)) is None or held[0] <= seen[0][0]):
                self.budgets.remember(author, *seen[0])

    def append_now(
        self,
        conn: sqlite3.Connection,
        key: NodeKey,
        kind: str,
        content: dict[str, Any],
        now_ms: int,
    ) -> Entry:
        """As :meth:`append_local_in_transaction`, in a function run by :meth:`write`
        (on the database thread, inside its transaction): no trip of its own."""
        (entry,) = self.append_all_now(conn, key, [(kind, content)], now_ms)
        return entry

    def append_all_now(
        self,
        conn: sqlite3.Connection,
        key: NodeKey,
        items: Sequence[tuple[str, dict[str, Any]]],
        now_ms: int,
        seen: list[tuple[int, int]] | None = None,
    ) -> list[Entry]:
        """As :meth:`append_local_all`, on the database thread inside the caller's
        transaction (:meth:`append_now` for one entry).

        The budget state is folded from the one kept for the author (only read here)
        and the timestamps after it; the state found at the head is added to ``seen``,
        for the caller to keep (``budgets.remember``) back on the event loop."""
        for kind, content in items:
            refuse_out_of_bounds(kind, content)
        Store.refuse_if_restored_now(conn)
        author = key.node_id
        row = conn.execute("SELECT seq, id FROM heads WHERE author = ?", (author,)).fetchone()
        seq, prev = (0, None) if row is None else (int(row[0]), EntryId(row[1]))
        tat = self.budgets.tat_now(conn, author, seq, self.budgets.cached(author))
        if seen is not None:
            seen.append((seq, tat))
        self.budgets.refuse_past(tat, now_ms, len(items))
        entries: list[Entry] = []
        for kind, content in items:
            entry = create_entry(
                key,
                seq=seq + len(entries) + 1,
                prev=prev,
                timestamp=now_ms,
                kind=kind,
                content=content,
            )
            entries.append(entry)
            prev = entry.id
        self._insert_now(conn, entries, now_ms)
        return entries

    async def ingest(self, entries: Iterable[Entry], now_ms: int) -> list[IngestResult]:
        """Store verified entries from elsewhere, in one transaction.

        Entries that cannot be placed (a gap, a wrong prev) are refused one by one
        without failing the batch; an equivocation is recorded as evidence. The
        state the log rules need is read for the whole batch in a few queries,
        because a round trip per entry would bound catch-up speed.
        """
        batch = list(entries)
        if not batch:
            return []
        results: list[IngestResult] = []
        async with self.write():
            # Distinct by their bytes, which hash in C (a NodeId hashes in Python).
            authors = list({e.payload.author.key: e.payload.author for e in batch}.values())
            # What the log rules need of the batch, read in one trip to the database
            # thread (each trip costs both threads a wake-up: docs/performance.md).
            ids = [e.id.digest for e in batch]
            blocked_rows, head_rows, held_rows, loose_rows = await self.read(
                lambda conn: batch_state_now(conn, authors, ids)
            )
            blocked = {NodeId(row[0]) for row in blocked_rows}
            heads = {NodeId(row[0]): Head(int(row[1]), EntryId(row[2])) for row in head_rows}
            held: dict[bytes, Entry] = {}
            loose_ids: set[bytes] = set()
            for row in held_rows:
                held[row[0]] = load_entry(*row[2:])
                if row[1]:
                    loose_ids.add(row[0])
            has_loose = {NodeId(row[0]) for row in loose_rows}
            loose = await loose_batch(self, authors, heads, loose_ids, has_loose)
            accepted: list[Entry] = []
            for entry in batch:
                author = entry.author
                if (
                    loose is not None
                    and not loose.policy.whole(author)
                    and author not in heads
                    and author not in blocked
                ):
                    results.append(await place_loose(self, entry, now_ms, held, loose))
                    continue
                # The common case (the next entry of a log, nothing held under its
                # number) is judged by a plain function: a coroutine per entry cost
                # about a tenth of the event loop's time in a catch-up.
                placed = place_next(self, entry, blocked, heads, held, accepted, loose)
                if placed is None:  # anything else: the full judgement, which may read
                    placed = await place(self, entry, now_ms, blocked, heads, held, accepted, loose)
                results.append(placed)
            await self._insert(accepted, now_ms, index_later=True)
            if loose is not None:
                await self._insert(loose.accepted, now_ms, index_later=True, loose=True)
                await keep_newest_profiles(self, loose.accepted)
        return results

    async def loose_at(self, author: NodeId, seq: int) -> Entry | None:
        """The loose entry held under ``author`` and ``seq``, if any."""
        row = await self.fetch_one(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE author = ? AND seq = ? AND loose = 1",
            (bytes(author), seq),
        )
        return None if row is None else load_entry(*row)

    async def forget_loose(self, today: date) -> int:
        """Delete the loose entries past keeping (protocol/rules/holding.py, expired);
        return how many. Loose withdrawals of what goes go with them (the
        ``withdrawals`` rows stay: a copy of the target arriving again is erased; and
        for 90 days their ``swept`` time, which a catch-up lists).
        Tombstones (loose withdrawals of what was never held) go, with their
        ``withdrawals`` rows, :data:`~protocol.rules.holding.LOOSE_DAYS` days after
        they were signed or received (``tombstone_expired``), and so do loose
        withdrawals that left no ``withdrawals`` row (they remember nothing) and
        those whose target came later and is another author's (they withdraw nothing)."""
        # Dated kinds, and any other (a question, an answer) whose content a withdrawal
        # erased: nothing is left of it to show.
        rows = await self.fetch_all(
            "SELECT n, kind, content FROM entries WHERE loose = 1 AND kind NOT IN (?, ?) "
            "AND (kind IN (?, ?, ?) OR content IS NULL)",
            (kinds.PROFILE, kinds.WITHDRAW, kinds.OFFER, kinds.REQUEST, kinds.EVENT),
        )
        gone = []
        for n, kind, content in rows:
            decoded = None if content is None else codec.decode(content, CONTENT_LIMITS)
            if holding_rules.expired(kind, decoded if isinstance(decoded, dict) else None, today):
                gone.append(int(n))
        tombstones = [  # loose withdrawals whose target is not held, past keeping
            (int(n), bytes(target), bytes(author), bytes(i))
            for n, i, ts, received, target, author in await self.fetch_all(
                "SELECT e.n, e.id, e.ts, e.received_at, w.target, w.author FROM entries AS e "
                "JOIN withdrawals AS w ON w.withdraw_id = e.id WHERE e.loose = 1 AND e.kind = ? "
                # Held by another author (it came after), the target withdraws nothing.
                "AND NOT EXISTS (SELECT 1 FROM entries AS t WHERE t.id = w.target "
                "AND t.author = w.author)",
                (kinds.WITHDRAW,),
            )
            if holding_rules.tombstone_expired(int(ts), today, int(received))
        ]
        # Loose withdrawals that remember nothing (another of the same target by the
        # same author, kept in the same batch; another school's, whose target came
        # later in its batch): past a tombstone's keeping, they go too.
        idle = [
            int(n)
            for n, ts, received in await self.fetch_all(
                "SELECT n, ts, received_at FROM entries WHERE loose = 1 AND kind = ? "
                "AND id NOT IN (SELECT withdraw_id FROM withdrawals)",
                (kinds.WITHDRAW,),
            )
            if holding_rules.tombstone_expired(int(ts), today, int(received))
        ]
        # Withdrawals swept with their target, listed at catch-up no longer than a
        # partner offers them (protocol/catchup.py, ``wanted``: ``tombstone_expired``).
        # By their key (target, author): the table only grows, and no index covers
        # ``withdraw_id`` (an update by it reads every row).
        listed = [
            (bytes(target), bytes(author))
            for target, author, ts in await self.fetch_all(
                "SELECT target, author, swept FROM withdrawals WHERE swept IS NOT NULL"
            )
            if holding_rules.tombstone_expired(int(ts), today)
        ]
        if not gone and not tombstones and not idle and not listed:
            return 0
        withdrawals: list[int] = list(idle)
        async with self.write():
            await self._db.executemany(
                "UPDATE withdrawals SET swept = NULL WHERE target = ? AND author = ?", listed
            )
            for i in range(0, len(gone), 500):
                chunk = gone[i : i + 500]
                select_n = f"SELECT n FROM entries WHERE n IN ({','.join('?' * len(chunk))})"
                swept = await self.fetch_all(  # their loose withdrawals: nothing left to do
                    "SELECT e.n, w.target, w.author, e.ts FROM entries AS e JOIN withdrawals AS w "
                    "ON w.withdraw_id = e.id WHERE e.loose = 1 AND e.kind = ? AND "
                    "(w.target, w.author) IN (SELECT id, author FROM entries "
                    f"WHERE n IN ({select_n}))",
                    (kinds.WITHDRAW, *chunk),
                )
                withdrawals += [int(n) for n, _, _, _ in swept]
                # Remembered for the catch-up: a partner offers it for 90 days.
                await self._db.executemany(
                    "UPDATE withdrawals SET swept = ? WHERE target = ? AND author = ?",
                    [
                        (int(ts), bytes(target), bytes(author))
                        for _, target, author, ts in swept
                        if not holding_rules.tombstone_expired(int(ts), today)
                    ],
                )
                await self._unindex(select_n, chunk)
                for table in ("withdrawn_titles", "withdrawn_answers"):
                    await self._db.execute(
                        f"DELETE FROM {table} WHERE id IN (SELECT id FROM entries "
                        f"WHERE n IN ({select_n}))",
                        chunk,
                    )
                await self._db.execute(f"DELETE FROM entries WHERE n IN ({select_n})", chunk)
            for n, target, author, withdraw_id in tombstones:
                await self._db.execute(
                    "DELETE FROM withdrawals WHERE target = ? AND author = ? AND withdraw_id = ?",
                    (target, author, withdraw_id),
                )
                withdrawals.append(n)
            for i in range(0, len(withdrawals), 500):
                chunk = withdrawals[i : i + 500]
                await self._db.execute(
                    f"DELETE FROM entries WHERE n IN ({','.join('?' * len(chunk))})", chunk
                )
        return len(gone) + len(withdrawals)

    # -- forks (protocol/log.py, "continuation after a fork") ------------------------

    async def continuation(self, author: NodeId) -> tuple[Fork, int] | None:
        """The fork named by the newest continuation held of ``author``, and its number."""
        row = await self.fetch_one(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE author = ? AND kind = ? "
            "ORDER BY seq DESC LIMIT 1",
            (bytes(author), kinds.CONTINUE),
        )
        if row is None:
            return None
        entry = load_entry(*row)
        fork = fork_of(entry)
        return None if fork is None else (fork, entry.seq)

    async def continued_above(self, heads: Mapping[NodeId, int]) -> set[NodeId]:
        """Of ``heads``' authors, those holding a continuation numbered above the head
        given: what another process (``schoolmesh recover``) signed or stored since."""
        rows = await self.fetch_all(
            "SELECT author, MAX(seq) FROM entries WHERE kind = ? AND loose = 0 GROUP BY author",
            (kinds.CONTINUE,),
        )
        found = {NodeId(author): int(seq) for author, seq in rows}
        return {a for a, seq in heads.items() if found.get(a, 0) > seq}

    async def taken_back(self, author: NodeId, after_seq: int) -> int:
        """How many entries ``author``'s continuations numbered above ``after_seq`` (its
        newest continuation held) took back here by truncating its log: their reaches
        summed (protocol/log.py, judge_continuation)."""
        row = await self.fetch_one(
            "SELECT COALESCE(SUM(seq - fork), 0) FROM truncations WHERE author = ? AND seq > ?",
            (bytes(author), after_seq),
        )
        return 0 if row is None else int(row[0])

    async def drop_branch(self, author: NodeId, from_seq: int) -> Head | None:
        """Delete ``author``'s entries numbered ``from_seq`` and above, and undo what they
        did here (call inside :meth:`write`); return the new head.

        Undone: their listings in search, a profile among them (the school's name comes
        from its newest profile held again), withdrawals among them (their targets are
        no longer listed as withdrawn) and events (gone from pages and calendars; an
        event they revised shows its earlier version again). Not undone: the content a
        dropped withdrawal erased (it is not held any more: docs/decisions.md).
        """
        key = bytes(author)
        select_n = "SELECT n FROM entries WHERE author = ? AND seq >= ?"
        await self._unindex(select_n, (key, from_seq))
        dropped_withdrawals = "SELECT id FROM entries WHERE author = ? AND seq >= ? AND kind = ?"
        params = (key, from_seq, kinds.WITHDRAW)
        targets = f"SELECT target FROM withdrawals WHERE withdraw_id IN ({dropped_withdrawals})"
        for table in ("withdrawn_titles", "withdrawn_answers", "cancelled_events"):
            await self._db.execute(
                f"DELETE FROM {table} WHERE author = ? AND id IN ({targets})", (key, *params)
            )
        await self._db.execute(
            f"DELETE FROM withdrawals WHERE withdraw_id IN ({dropped_withdrawals})", params
        )
        await self._db.execute("DELETE FROM entries WHERE author = ? AND seq >= ?", (key, from_seq))
        await self._db.execute("DELETE FROM schools WHERE author = ? AND seq >= ?", (key, from_seq))
        await self._index_listings(
            f"SELECT n, {ENTRY_COLUMNS} FROM entries WHERE author = ? AND kind = ? "
            "AND content IS NOT NULL ORDER BY seq DESC LIMIT 1",
            (key, kinds.PROFILE),
        )
        row = await self.fetch_one(
            "SELECT seq, id FROM entries WHERE author = ? ORDER BY seq DESC LIMIT 1", (key,)
        )
        self._touched.add(author)  # its head moved back, or went: the head cache reads it again
        if row is None:
            await self._db.execute("DELETE FROM heads WHERE author = ?", (key,))
            return None
        await self._db.execute(
            "UPDATE heads SET seq = ?, id = ? WHERE author = ?", (int(row[0]), row[1], key)
        )
        return Head(int(row[0]), EntryId(row[1]))

    async def insert_signed(self, entries: list[Entry], now_ms: int) -> None:
        """Store entries this node signed or checked itself, already in log order
        (call inside :meth:`write`): the fork recovery's continuation and reposts."""
        await self._insert(entries, now_ms)

    async def forks(self) -> list[tuple[NodeId, int]]:
        """Authors whose log is known to have forked and not been continued since, with
        the lowest number known to differ (from equivocations and fork hints)."""
        rows = await self.fetch_all(
            "SELECT author, MIN(seq) FROM (SELECT author, seq FROM equivocations "
            "UNION ALL SELECT author, seq - 1 FROM fork_hints) GROUP BY author"
        )
        found = []
        for author, seq in rows:
            held = await self.continuation(NodeId(author))
            if held is not None and held[0].seq <= int(seq) < held[1]:
                continue  # the author said which branch is its log
            found.append((NodeId(author), int(seq)))
        return found

    async def _index_listings(self, select: str, params: Sequence[Any]) -> None:
        """Index the offers, requests and profiles that ``select`` (n + entry columns) finds."""
        await self._run(index_listings_now, select, params)

    async def _unindex(self, select_n: str, params: Sequence[Any]) -> None:
        self._forget_waiting(await self._run(unindex_now, select_n, params))

    def _forget_waiting(self, numbers: Iterable[int]) -> None:
        """These entries were taken off the indexer's queue (withdrawn, their author
        blocked or their branch dropped, filled in and indexed at once): let their
        decoded copies go now, the committed ones and those this transaction queued.
        Kept, they were never freed (the indexer frees a copy as it takes its number,
        and these never come up), and counted toward MAX_WAITING: a school sending
        offers and withdrawing them could hold 20,000 of up to 64 KiB each.

        Under the write lock (on the database thread or the loop), as ``_waiting`` is.
        A transaction rolled back keeps its queue rows, which are then indexed from
        their bytes: slower, never wrong."""
        gone = set(numbers)
        if not gone:
            return
        for n in gone:
            self._waiting.pop(n, None)
        self._queued = [(n, e) for n, e in self._queued if n not in gone]

    @property
    def waiting_in_memory(self) -> int:
        """Entries waiting to be indexed whose decoded copies are kept (at most
        MAX_WAITING): for tests and measurements."""
        return len(self._waiting)

    async def index_pending(self, limit: int = INDEX_BATCH) -> int:
        """Put up to ``limit`` of the offers and requests waiting in ``unindexed`` (the
        oldest first) into the search index, in one transaction; return how many were
        taken (0: none waits). Those withdrawn or dropped meanwhile are just taken off."""
        waiting = self._waiting

        def run(conn: sqlite3.Connection) -> int:
            # The entries decoded on arrival are indexed from those objects (whose
            # content passed today's schema then), so only their numbers and ids are
            # read here; the bytes only of those not in memory (after a restart, or
            # past MAX_WAITING). ``waiting`` is touched only under the write lock.
            rows = conn.execute(
                "SELECT u.n, e.id, e.kind, e.content IS NOT NULL FROM unindexed AS u "
                "LEFT JOIN entries AS e ON e.n = u.n ORDER BY u.n LIMIT ?",
                (limit,),
            ).fetchall()
            held, stored = [], []
            for n, entry_id, kind, has_content in rows:
                entry = waiting.pop(n, None)
                if not has_content or kind not in search.SIDES:
                    continue  # withdrawn, dropped or erased meanwhile
                # The same number may be another entry's since (the last one deleted):
                # the same id is the same payload, so the same content, or none. One
                # held here without content (it came so, and came again whole under
                # the same number) is read from its bytes, which have it.
                if entry is not None and entry.content is not None and entry.id.digest == entry_id:
                    held.append((n, entry))
                else:
                    stored.append(n)
            search.insert_listings(conn, held, checked=True)
            for i in range(0, len(stored), 500):
                loaded = select_in_now(
                    conn, f"SELECT n, {ENTRY_COLUMNS} FROM entries WHERE n IN", stored[i : i + 500]
                )
                search.insert_listings(conn, [(n, load_entry(*columns)) for n, *columns in loaded])
            if rows:
                conn.execute("DELETE FROM unindexed WHERE n <= ?", (rows[-1][0],))
            return len(rows)

        taken = await self.write(run)
        self.unindexed = max(0, self.unindexed - taken) if taken else 0
        return taken

    async def index_all(self) -> int:
        """:meth:`index_pending` until nothing waits; return how many were taken."""
        total = 0
        while taken := await self.index_pending():
            total += taken
        return total

    async def index_waiting(self) -> None:
        """Index what waits (:meth:`index_pending`), so that a search about to run finds
        every offer stored, as before indexing moved out of the entries' commit; on a
        full disk or damage, the search goes on with what is indexed."""
        try:
            await self.index_all()
        except StorageError as exc:
            log.warning("searching without the newest offers: %s", exc)

    async def newest_version(self, first: Entry) -> Entry | None:
        """The newest version held of the event ``first`` (:func:`newest_version_now`)."""
        return await self.read(lambda conn: newest_version_now(conn, first))

    async def entry_at(self, author: NodeId, seq: int) -> Entry | None:
        """The entry held under ``author`` and ``seq``, if any."""
        row = await self.fetch_one(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE author = ? AND seq = ?",
            (bytes(author), seq),
        )
        return None if row is None else load_entry(*row)

    async def _select_in(self, sql: str, values: Sequence[Any]) -> list[Any]:
        return await self.fetch_all(f"{sql} ({','.join('?' * len(values))})", values)

    async def _insert(
        self, entries: list[Entry], now_ms: int, *, index_later: bool = False, loose: bool = False
    ) -> None:
        """:meth:`_insert_now` in one trip, inside the caller's transaction."""
        if entries:
            await self._run(self._insert_now, entries, now_ms, index_later, loose)

    def _insert_now(
        self,
        conn: sqlite3.Connection,
        entries: list[Entry],
        now_ms: int,
        index_later: bool = False,
        loose: bool = False,
    ) -> None:
        """Insert entries already judged to extend their logs, and move the heads (on
        the database thread, inside the caller's transaction).

        ``index_later``: offers and requests go into the search index in a later
        transaction (:meth:`index_pending`), not this one; profiles still update
        ``schools`` here, as pages name schools from it. ``loose``: entries kept alone,
        outside their authors' logs: no head moves."""
        if not entries:
            return
        withdrawn = {
            (row[0], row[1]): row[2]
            for row in select_in_now(
                conn,
                "SELECT target, author, withdraw_id FROM withdrawals WHERE target IN",
                [e.id.digest for e in entries],
            )
        }
        erased = [
            e
            for e in entries
            if (bytes(e.id), bytes(e.author)) in withdrawn and rules.erasable(e.kind)
        ]
        # Numbered here as SQLite would number them (the largest ``n`` plus one, and
        # on: the table has no AUTOINCREMENT, and ``n``, local, never nears 2**63), so
        # that the search index has each entry's number without reading them back
        # (about 2 us an entry in a catch-up, docs/performance.md).
        n = conn.execute("SELECT max(n) FROM entries").fetchone()[0] or 0
        # One pass over the entries, each field read once (this thread's Python, per
        # entry of a catch-up: docs/performance.md, issue 23 item 6, fifth step).
        rows, numbered, withdrawals, continued = [], [], [], []
        for e in entries:
            n += 1
            payload = e.payload
            kind = payload.kind
            gone = bool(withdrawn) and (e.id.digest, payload.author.key) in withdrawn
            rows.append(
                (
                    n,
                    e.id.digest,
                    payload.author.key,
                    payload.seq,
                    kind,
                    payload.timestamp,
                    e.payload_bytes,
                    e.signature,
                    e.content_bytes,  # erased below, once what it was called is kept
                    now_ms,
                    int(loose),
                )
            )
            if kind in search.INDEXED_KINDS and not gone:
                numbered.append((n, e))  # index the objects in hand, not decoded again
            if kind == kinds.WITHDRAW and e.content is not None:
                withdrawals.append(e)
            elif kind == kinds.CONTINUE:
                continued.append(payload.author)
        conn.executemany(
            "INSERT INTO entries (n, id, author, seq, kind, ts, payload, sig, content,"
            " received_at, loose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for e in erased:  # withdrawn before they came: erased as if they had come first
            target, author = bytes(e.id), bytes(e.author)
            keep_title_now(conn, target, author)
            keep_question_now(conn, target, author)
            row = conn.execute(
                "SELECT ts FROM entries WHERE id = ?", (withdrawn[(target, author)],)
            ).fetchone()
            if row is not None:
                keep_cancelled_event_now(conn, target, author, int(row[0]))
            conn.execute("UPDATE entries SET content = NULL WHERE id = ?", (target,))
        if numbered:
            if index_later:
                later = [(n, e) for n, e in numbered if e.kind in search.SIDES]
                conn.executemany(
                    "INSERT OR IGNORE INTO unindexed (n) VALUES (?)", [(n,) for n, _ in later]
                )
                self._queued.extend(later)
                numbered = [(n, e) for n, e in numbered if e.kind not in search.SIDES]
            if numbered:
                index_now(conn, numbered)
        # entries come in log order: the last of each author is its head
        newest = {} if loose else {e.payload.author.key: e for e in entries}
        self.touched(e.author for e in newest.values())
        self.grown_to.update((e.author, e.seq) for e in newest.values())
        if not loose:
            self.continued.update(continued)
        conn.executemany(
            "INSERT INTO heads (author, seq, id) VALUES (?, ?, ?) ON CONFLICT (author) "
            "DO UPDATE SET seq = excluded.seq, id = excluded.id",
            [(a, e.seq, e.id.digest) for a, e in newest.items()],
        )
        for entry in withdrawals:  # an offer of this batch among them: never kept waiting
            self._forget_waiting(apply_withdrawal_now(conn, entry))

    async def withdrawn(self, entry_id: EntryId, author: NodeId | None = None) -> Withdrawn | None:
        """What we know of the withdrawal of ``entry_id`` by its author, if it was
        withdrawn (one trip: :func:`withdrawn_now`)."""
        return await self.read(lambda conn: withdrawn_now(conn, entry_id, author))

    # -- reading ------------------------------------------------------------------

    async def head(self, author: NodeId) -> Head | None:
        row = await self.fetch_one("SELECT seq, id FROM heads WHERE author = ?", (bytes(author),))
        return None if row is None else Head(int(row[0]), EntryId(row[1]))

    async def heads_of(self, authors: Iterable[NodeId]) -> dict[NodeId, int]:
        """The newest sequence number held of each of ``authors`` (0 if none)."""
        wanted = list(authors)
        rows = await self._select_in("SELECT author, seq FROM heads WHERE author IN", wanted)
        held = {NodeId(row[0]): int(row[1]) for row in rows}
        return {author: held.get(author, 0) for author in wanted}

    async def schools(self, authors: Iterable[NodeId]) -> dict[NodeId, tuple[str, str]]:
        """Name and country of each author that has sent its profile."""
        wanted = list(authors)
        return await self.read(lambda conn: schools_now(conn, wanted))

    async def heads(self) -> dict[NodeId, Head]:
        """The vector clock: for each author, the newest entry held."""
        rows = await self.fetch_all("SELECT author, seq, id FROM heads")
        return {NodeId(a): Head(int(s), EntryId(i)) for a, s, i in rows}

    async def head_seqs(self) -> dict[NodeId, int]:
        """Each author's newest number held: :meth:`heads` without the ids, for counting
        (a third of the objects: a hub holds 200,000 heads)."""
        rows = await self.fetch_all("SELECT author, seq FROM heads")
        return {NodeId(a): s for a, s in rows}

    async def get(self, entry_id: EntryId) -> Entry | None:
        return await self.read(lambda conn: get_now(conn, entry_id))

    async def entries_after(self, author: NodeId, seq: int, limit: int) -> list[Entry]:
        """The author's entries numbered above ``seq``, in order, at most ``limit``."""
        rows = await self.fetch_all(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE author = ? AND seq > ? "
            "AND loose = 0 ORDER BY seq LIMIT ?",
            (bytes(author), seq, limit),
        )
        return [load_entry(*row) for row in rows]

    async def wire_after(self, author: NodeId, seq: int, limit: int) -> list[tuple[int, bytes]]:
        """``(seq, wire bytes)`` of the author's entries above ``seq``, for sending.

        Built from the stored columns without decoding: erased content goes as nil.
        """
        return await self.read(partial(wire_after_now, author, seq, limit))

    async def wire_after_each(
        self, reads: Sequence[Read], *, enough: int, enough_bytes: int
    ) -> list[list[tuple[int, bytes]]]:
        """:meth:`wire_after` for each read in order, in one trip to the database thread,
        stopping after the read that brings the entries to ``enough`` or their bytes to
        ``enough_bytes`` (a batch's worth): what was read, for a prefix of ``reads``."""
        return await self.read(partial(wire_after_each, reads, enough, enough_bytes))

    async def current(self, kind: str) -> list[Entry]:
        """Entries of ``kind`` that still have content (not withdrawn), newest first."""
        return await self.read(lambda conn: current_now(conn, kind))

    async def latest_profile(self, author: NodeId) -> dict[str, Any] | None:
        """The newest profile of ``author`` held with its content, as the map signed: for
        a new version of our own that keeps every field (read it with :meth:`profile_of`)."""
        entry = await self._latest_profile(author)
        return None if entry is None else entry.content

    async def profile_of(self, author: NodeId) -> ProfileContent | None:
        """The newest profile of ``author`` held with its content, read typed."""
        entry = await self._latest_profile(author)
        return None if entry is None else ProfileContent.of(entry)

    async def _latest_profile(self, author: NodeId) -> Entry | None:
        row = await self.fetch_one(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE author = ? AND kind = ? "
            "AND content IS NOT NULL ORDER BY seq DESC LIMIT 1",
            (bytes(author), kinds.PROFILE),
        )
        return None if row is None else load_entry(*row)

    async def resolve(self, text: str) -> EntryId:
        """An entry id from its hex form or a unique prefix of at least 8 characters."""
        if len(text.strip()) == 64:  # no need to ask the database
            return EntryId.parse(text.strip().lower())
        return await self.read(lambda conn: resolve_now(conn, text))

    async def blocked_authors(self) -> set[NodeId]:
        rows = await self.fetch_all("SELECT node_id FROM partners WHERE state = 'blocked'")
        return {NodeId(row[0]) for row in rows}

    async def delete_author(self, author: NodeId) -> None:
        """Drop every entry of ``author`` (call inside :meth:`write`).

        Its name and country stay in ``schools``, so that pages can still say which
        school was blocked and whose project or interest it was.
        """
        await self._unindex("SELECT n FROM entries WHERE author = ?", (bytes(author),))
        for table in (
            "entries",
            "heads",
            "withdrawals",
            "withdrawn_titles",
            "withdrawn_answers",
            "equivocations",
            "fork_hints",
            "cancelled_events",
            "truncations",
        ):
            await self._db.execute(f"DELETE FROM {table} WHERE author = ?", (bytes(author),))
        self._erased.add(author)
        if self._dropped_at is not None:
            self._dropped_at.pop(author, None)

    async def get_setting(self, name: str) -> bytes | None:
        row = await self.fetch_one("SELECT value FROM settings WHERE name = ?", (name,))
        return None if row is None else bytes(row[0])

    async def set_setting(self, name: str, value: bytes | None) -> None:
        async with self.write():
            if value is None:
                await self.execute("DELETE FROM settings WHERE name = ?", (name,))
            else:
                await self.execute(
                    "INSERT INTO settings VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                    "SET value = excluded.value",
                    (name, value),
                )

    async def refuse_if_restored(self) -> None:
        """Inside a write: refuse to sign anything while the node waits, after a restore,
        for its own newest entries from a partner (node/backup.py says why)."""
        if await self.get_setting(RESTORED_SETTING) is not None:
            raise restored_error()

    @staticmethod
    def refuse_if_restored_now(conn: sqlite3.Connection) -> None:
        """:meth:`refuse_if_restored` for a function run by :meth:`write` (``fn``)."""
        found = conn.execute("SELECT 1 FROM settings WHERE name = ?", (RESTORED_SETTING,))
        if found.fetchone() is not None:
            raise restored_error()

    async def count_entries(self) -> int:
        row = await self.fetch_one("SELECT COUNT(*) FROM entries")
        return int(row[0])

    async def equivocations(self) -> list[EquivocationRecord]:
        rows = await self.fetch_all(
            "SELECT author, seq, first, second, detected_at FROM equivocations ORDER BY detected_at"
        )
        return [EquivocationRecord(NodeId(a), int(s), f, b, int(t)) for a, s, f, b, t in rows]


async def _close_quietly(db: aiosqlite.Connection) -> None:
    """Close a connection and end its thread, even if SQLite complains while closing."""
    try:
        await db.close()
    except sqlite3.Error as exc:  # aiosqlite stops its thread all the same
        log.info("closing the database: %s", exc)
    # aiosqlite's close returns once its thread has closed the connection, a moment
    # before that thread ends (half the time, measured): a process that checks or
    # waits for its threads right after (tests/conftest.py) would find it running.
    # It has nothing left to do but return, so this wait is short; bounded all the
    # same, as it holds up the event loop. Before aiosqlite 0.22 the connection was
    # the thread itself.
    thread = getattr(db, "_thread", db)
    if isinstance(thread, threading.Thread):
        thread.join(timeout=THREAD_END_S)
        if thread.is_alive():
            log.warning("the database thread still runs %s s after closing", THREAD_END_S)


def refuse_out_of_bounds(kind: str, content: dict[str, Any]) -> None:
    """Refuse content that every receiver would refuse (:func:`rules.bounds`)."""
    out_of_bounds = rules.bounds(kind, content)
    if out_of_bounds is not None:
        raise UserInputError(
            out_of_bounds.reason,
            page=said("Check the event's details: one of them cannot be accepted."),
        )
