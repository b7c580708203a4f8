"""The SQLite store, on real files: atomic appends, idempotent ingest, withdrawals."""

import asyncio
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from node.store.database import RESTORED_SETTING, Store
from node.store.migrations import LATEST_VERSION, MIGRATIONS
from node.store.placement import Outcome
from protocol.budget import DAY_MS, Rule
from protocol.entry import create_entry
from protocol.errors import (
    DiskFullError,
    NotFoundError,
    RestoredError,
    SchemaError,
    SchemaTooNewError,
    StorageError,
    UserInputError,
)
from protocol.keys import EntryId, NodeId
from protocol.replication import Read
from tests.helpers import NOW, chain, key, offer_content
from tests.network import holding_everything

AUTHOR = key(5).node_id  # an author whose log a write says it grew

SIGNER = key(1)


@pytest.fixture
async def store(tmp_path: Path):
    opened = await Store.open(tmp_path / "node.db")
    yield opened
    await opened.close()


async def test_fresh_database_is_migrated(store: Store) -> None:
    assert await store.schema_version() == LATEST_VERSION


async def test_the_log_is_copied_into_the_database_every_4000_pages(tmp_path: Path) -> None:
    """Not SQLite's 1,000: the write-ahead log grows to 16 MB before a commit copies it,
    and then empties when the store closes (docs/performance.md)."""
    store = await Store.open(tmp_path / "node.db")
    wal = tmp_path / "node.db-wal"
    try:
        assert await store.fetch_one("PRAGMA wal_autocheckpoint") == (4000,)
        for _ in range(3):
            await store.append_local(SIGNER, "offer", offer_content(), NOW)
        assert wal.exists()
    finally:
        await store.close()
    assert not wal.exists() or wal.stat().st_size == 0


async def test_reopen_keeps_data(tmp_path: Path) -> None:
    first = await Store.open(tmp_path / "node.db")
    entry = await first.append_local(SIGNER, "offer", offer_content(), NOW)
    await first.close()
    second = await Store.open(tmp_path / "node.db")
    assert await second.get(entry.id) == entry
    assert await second.schema_version() == LATEST_VERSION
    await second.close()


async def test_newer_database_refused(tmp_path: Path) -> None:
    await (await Store.open(tmp_path / "node.db")).close()
    db = sqlite3.connect(tmp_path / "node.db")
    db.execute("UPDATE schema_version SET version = 999")
    db.commit()
    db.close()
    with pytest.raises(SchemaTooNewError, match="upgrade schoolmesh"):
        await Store.open(tmp_path / "node.db")


async def test_not_a_database_refused(tmp_path: Path) -> None:
    (tmp_path / "node.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="backup"):
        await Store.open(tmp_path / "node.db")


async def test_local_appends_chain(store: Store) -> None:
    first = await store.append_local(SIGNER, "offer", offer_content("A"), NOW)
    second = await store.append_local(SIGNER, "offer", offer_content("B"), NOW + 1)
    assert (first.seq, second.seq) == (1, 2)
    assert second.payload.prev == first.id
    head = await store.head(SIGNER.node_id)
    assert head is not None
    assert (head.seq, head.id) == (2, second.id)


async def test_failed_append_leaves_nothing(store: Store) -> None:
    with pytest.raises(SchemaError):
        await store.append_local(SIGNER, "offer", {"title": "no activity"}, NOW)
    assert await store.count_entries() == 0
    assert await store.head(SIGNER.node_id) is None
    entry = await store.append_local(SIGNER, "offer", offer_content(), NOW)
    assert entry.seq == 1


async def test_ingest_stores_in_order_and_ignores_repeats(store: Store) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    entries = chain(key(2), 5)
    results = await store.ingest(entries, NOW)
    assert [r.outcome for r in results] == [Outcome.STORED] * 5
    again = await store.ingest(entries, NOW)
    assert [r.outcome for r in again] == [Outcome.DUPLICATE] * 5
    assert await store.count_entries() == 5
    heads = await store.heads()
    assert heads[key(2).node_id].seq == 5


async def test_several_authors_read_for_sending_in_one_trip_stop_at_a_batch_s_worth(
    store: Store,
) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    a, b, c = chain(key(2), 4), chain(key(3), 2), chain(key(4), 3)
    await store.ingest(a + b + c, NOW)
    reads = [Read(key(2).node_id, 1, 5), Read(key(3).node_id, 0, 5), Read(key(4).node_id, 0, 5)]
    each = await store.wire_after_each(reads, enough=5, enough_bytes=10**6)
    assert each == [  # 3 of a's, then 2 of b's make 5: c is not read
        await store.wire_after(key(2).node_id, 1, 5),
        await store.wire_after(key(3).node_id, 0, 5),
    ]
    assert [seq for seq, _ in each[0]] == [2, 3, 4]
    by_bytes = await store.wire_after_each(reads, enough=100, enough_bytes=1)
    assert len(by_bytes) == 1
    everything = await store.wire_after_each(reads, enough=100, enough_bytes=10**6)
    assert [len(rows) for rows in everything] == [3, 2, 3]


async def test_gap_refused_without_failing_batch(store: Store) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    a, b = chain(key(2), 3), chain(key(3), 1)
    results = await store.ingest([a[0], a[2], b[0]], NOW)
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.REFUSED, Outcome.STORED]
    assert results[1].error is not None
    assert results[1].error.code == "gap"
    assert await store.get(a[2].id) is None


async def test_equivocation_recorded_with_evidence(store: Store) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    log = chain(key(2), 2)
    await store.ingest(log, NOW)
    fork = create_entry(
        key(2), seq=2, prev=log[0].id, timestamp=NOW, kind="offer", content=offer_content("Fork")
    )
    (result,) = await store.ingest([fork], NOW)
    assert result.outcome is Outcome.EQUIVOCATION
    (record,) = await store.equivocations()
    assert (record.author, record.seq) == (key(2).node_id, 2)
    assert {record.first, record.second} == {log[1].encode(), fork.encode()}
    assert await store.get(fork.id) is None


async def test_withdrawal_erases_content(store: Store) -> None:
    offer = await store.append_local(SIGNER, "offer", offer_content(), NOW)
    await store.append_local(SIGNER, "withdraw", {"target": bytes(offer.id)}, NOW)
    assert await store.current("offer") == []
    held = await store.get(offer.id)
    assert held is not None
    assert held.content is None
    assert await store.count_entries() == 2  # the envelope stays, only content goes


async def test_withdrawal_arriving_first_still_applies(store: Store) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    author = key(2)
    offer = create_entry(
        author, seq=1, prev=None, timestamp=NOW, kind="offer", content=offer_content()
    )
    withdrawal = create_entry(
        author,
        seq=2,
        prev=offer.id,
        timestamp=NOW,
        kind="withdraw",
        content={"target": bytes(offer.id)},
    )
    # The envelope-only copy of the offer and the withdrawal arrive first,
    # then a full copy of the offer from a slower path: it must stay erased.
    await store.ingest([offer.without_content(), withdrawal], NOW)
    await store.ingest([offer], NOW)
    held = await store.get(offer.id)
    assert held is not None
    assert held.content is None


async def test_only_the_author_can_withdraw(store: Store) -> None:
    offer = await store.append_local(SIGNER, "offer", offer_content(), NOW)
    other = create_entry(
        key(2),
        seq=1,
        prev=None,
        timestamp=NOW,
        kind="withdraw",
        content={"target": bytes(offer.id)},
    )
    await store.ingest([other], NOW)
    assert [e.id for e in await store.current("offer")] == [offer.id]


async def test_missing_content_filled_from_a_later_copy(store: Store) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    (offer,) = chain(key(2), 1)
    await store.ingest([offer.without_content()], NOW)
    await store.ingest([offer], NOW)
    held = await store.get(offer.id)
    assert held is not None
    assert held.content == offer.content


async def test_missing_content_filled_once_from_two_copies_in_one_batch(store: Store) -> None:
    """Two full copies in one batch (two frames stored together, or a peer sending it
    twice): the second is a duplicate, not a second listing that fails the batch."""
    await holding_everything(store)  # made-up schools' logs, whole
    (offer,) = chain(key(2), 1)
    await store.ingest([offer.without_content()], NOW)
    results = await store.ingest([offer, offer], NOW)
    assert [r.outcome for r in results] == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    held = await store.get(offer.id)
    assert held is not None
    assert held.content == offer.content
    assert [e.id for e in await store.current("offer")] == [offer.id]


async def test_content_filled_in_before_the_indexer_ran_is_indexed_once(store: Store) -> None:
    """A content-less copy waits in ``unindexed`` like any offer; a full copy arriving
    before the indexer takes it indexes the offer at once. The indexer must then not
    index it a second time (the search text's row would be a duplicate: every later
    pass failed, and no offer stored after it was found again)."""
    await holding_everything(store)  # made-up schools' logs, whole
    first, later = chain(key(2), 2)
    await store.ingest([first.without_content()], NOW)
    await store.ingest([first], NOW)
    await store.ingest([later], NOW)
    assert await store.index_all() >= 1
    rows = await store.fetch_all("SELECT n FROM listings ORDER BY n")
    assert len(rows) == 2
    assert await store.fetch_all("SELECT n FROM unindexed") == []


async def test_content_filled_in_by_a_full_copy_later_in_the_same_batch(store: Store) -> None:
    """A content-less copy and then a full one in one batch (frames of one session are
    stored together): the entry is stored with its content, found by search, not left
    content-less for the full copy's coming too early to fill it in."""
    await holding_everything(store)  # made-up schools' logs, whole
    (offer,) = chain(key(2), 1)
    results = await store.ingest([offer.without_content(), offer], NOW)
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.DUPLICATE]
    held = await store.get(offer.id)
    assert held is not None
    assert held.content == offer.content
    await store.index_all()
    assert len(await store.fetch_all("SELECT n FROM listings")) == 1


async def test_resolve_prefix(store: Store) -> None:
    offer = await store.append_local(SIGNER, "offer", offer_content(), NOW)
    assert await store.resolve(str(offer.id)[:8]) == offer.id
    assert await store.resolve(str(offer.id).upper()) == offer.id
    with pytest.raises(NotFoundError):
        await store.resolve("00000000" if not str(offer.id).startswith("0000") else "ffffffff")
    with pytest.raises(Exception, match="at least"):
        await store.resolve("abc")
    assert EntryId.parse(str(offer.id)) == offer.id


async def test_entries_after_returns_in_order(store: Store) -> None:
    await holding_everything(store)  # made-up schools' logs, whole
    entries = chain(key(2), 10)
    await store.ingest(entries, NOW)
    page = await store.entries_after(key(2).node_id, 3, limit=4)
    assert [e.seq for e in page] == [4, 5, 6, 7]


async def test_old_database_is_migrated_and_keeps_its_entries(tmp_path: Path) -> None:
    """A database at schema 1 (the first release) opens and gains the later tables."""
    path = tmp_path / "old.db"
    entry = chain(key(2), 1)[0]
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[0].split(";"):
        db.execute(statement)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute(
        "INSERT INTO entries (id, author, seq, kind, ts, payload, sig, content, received_at)"
        " VALUES (?, ?, 1, 'offer', 0, ?, ?, ?, 0)",
        (
            bytes(entry.id),
            bytes(entry.author),
            entry.payload_bytes,
            entry.signature,
            entry.content_bytes,
        ),
    )
    db.commit()
    db.close()
    store = await Store.open(path, create=False)
    try:
        assert await store.schema_version() == LATEST_VERSION
        assert await store.get(entry.id) == entry
        assert await store.fetch_all("SELECT * FROM partners") == []
        # The search index added later is filled from the entries already held.
        listed = await store.fetch_all(
            "SELECT e.id FROM listings AS l JOIN entries AS e ON e.n = l.n"
        )
        assert [bytes(row[0]) for row in listed] == [bytes(entry.id)]
    finally:
        await store.close()


async def test_existing_node_database_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="empty or not a schoolmesh database"):
        await Store.open(tmp_path / "missing.db", create=False)


# -- one trip per operation: store.write(fn) and store.read(fn) (issue 21, item 2) ------


def _put(name: str, value: bytes) -> Callable[[sqlite3.Connection], int]:
    def fn(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO settings VALUES (?, ?)", (name, value))
        return int(conn.execute("SELECT COUNT(*) FROM settings").fetchone()[0])

    return fn


async def test_a_write_function_commits_and_returns_its_result(store: Store) -> None:
    seen: list[set[NodeId]] = []
    mail: list[str] = []
    store.add_listener(seen.append)
    store.add_mail_listener(lambda: mail.append("mail"))

    def fn(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO settings VALUES ('a', x'01')")
        store.touched([AUTHOR])
        store.mail_changed()
        return 42

    assert await store.write(fn) == 42
    assert await store.get_setting("a") == b"\x01"
    assert seen == [{AUTHOR}]
    assert mail == ["mail"]
    assert not store.write_locked()


async def test_a_failing_write_function_leaves_nothing(store: Store) -> None:
    seen: list[set[NodeId]] = []
    store.add_listener(seen.append)

    def fn(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO settings VALUES ('a', x'01')")
        raise NotFoundError("no such post: nothing was changed")

    with pytest.raises(NotFoundError, match="nothing was changed"):
        await store.write(fn)
    assert await store.get_setting("a") is None
    assert seen == []  # no commit, no listener
    assert await store.write(_put("b", b"2")) == 1  # and the next write goes ahead


async def test_a_write_function_waits_for_the_write_lock(store: Store) -> None:
    """Queued while another writer holds the lock, it runs after that commit, and
    sees it (run inside the other transaction, its BEGIN would fail)."""
    async with store.write():
        waiting = asyncio.create_task(store.write(_put("second", b"2")))
        await store.execute("INSERT INTO settings VALUES ('first', x'01')")
    assert await waiting == 2


async def test_a_write_function_is_refused_on_a_damaged_database(store: Store) -> None:
    ran: list[bool] = []

    def fn(conn: sqlite3.Connection) -> None:
        ran.append(True)

    store.mark_damaged("the entries table is damaged")
    with pytest.raises(StorageError, match="nothing was saved: the entries table is damaged"):
        await store.write(fn)
    assert ran == []
    store.clear_damage()
    await store.write(fn)
    assert ran == [True]


async def test_a_write_function_meeting_a_full_disk_says_so_and_saves_again_later(
    store: Store,
) -> None:
    pages = int((await store.fetch_one("PRAGMA page_count"))[0])
    await store.fetch_one(f"PRAGMA max_page_count = {pages}")

    def big(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO settings VALUES ('big', ?)", (b"x" * 200_000,))
        store.touched([AUTHOR])

    with pytest.raises(DiskFullError, match="is full: free some space; nothing was lost"):
        await store.write(big)
    assert store.full
    assert await store.get_setting("big") is None
    await store.fetch_one("PRAGMA max_page_count = 1073741823")
    await store.write(big)
    assert not store.full
    assert await store.get_setting("big") == b"x" * 200_000


async def test_a_write_function_is_refused_after_a_restore(store: Store) -> None:
    await store.set_setting(RESTORED_SETTING, b"1")

    def sign(conn: sqlite3.Connection) -> None:
        Store.refuse_if_restored_now(conn)
        conn.execute("INSERT INTO settings VALUES ('signed', x'01')")

    with pytest.raises(RestoredError, match="restored from a backup"):
        await store.write(sign)
    assert await store.get_setting("signed") is None


async def test_a_read_function_runs_on_the_database_thread_in_one_snapshot(
    store: Store,
) -> None:
    await store.write(_put("a", b"1"))

    def both(conn: sqlite3.Connection) -> tuple[int, bool]:
        count = int(conn.execute("SELECT COUNT(*) FROM settings").fetchone()[0])
        return count, conn.in_transaction

    assert await store.read(both) == (1, True)
    # Inside a write the caller holds, it sees what that write did so far.
    async with store.write():
        await store.execute("INSERT INTO settings VALUES ('b', x'02')")
        assert await store.read(both) == (2, True)
    # On another thread, sqlite3 refuses the connection: read() is on the right one.
    with pytest.raises(sqlite3.ProgrammingError):
        await asyncio.to_thread(both, store._db._conn)


async def test_a_read_function_on_a_damaged_page_marks_the_database(store: Store) -> None:
    # A real damaged page is in tests/node/test_integrity.py; here, SQLite's own error.
    error = sqlite3.DatabaseError("database disk image is malformed")
    error.sqlite_errorcode = 11

    def corrupt(conn: sqlite3.Connection) -> None:
        raise error

    with pytest.raises(StorageError, match="is damaged"):
        await store.read(corrupt)
    assert store.damage is not None


async def test_a_cancelled_write_function_is_still_done_whole_and_told(store: Store) -> None:
    """Cancelled while its function runs on the database thread: the transaction is
    committed whole (it cannot be stopped half way), and the listeners hear of it."""
    started, release = threading.Event(), threading.Event()
    seen: list[set[NodeId]] = []
    store.add_listener(seen.append)

    def slow(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO settings VALUES ('a', x'01')")
        started.set()
        release.wait()
        conn.execute("INSERT INTO settings VALUES ('b', x'02')")
        store.touched([AUTHOR])

    task = asyncio.create_task(store.write(slow))
    await asyncio.to_thread(started.wait)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.get_setting("a") == b"\x01"
    assert await store.get_setting("b") == b"\x02"
    assert seen == [{AUTHOR}]
    assert not store.write_locked()


async def test_within_runs_in_the_callers_write_and_nowhere_else(store: Store) -> None:
    """``Store.within``: what a letter's handler writes commits or rolls back with the
    caller's transaction; outside one it is a mistake in our code, said at once."""
    with pytest.raises(RuntimeError, match="runs inside"):
        await store.within(_put("a", b"1"))

    async def refused() -> None:
        async with store.write():
            await store.within(_put("a", b"1"))
            raise NotFoundError("no such post: nothing was changed")

    with pytest.raises(NotFoundError):
        await refused()
    assert await store.get_setting("a") is None
    async with store.write():
        await store.within(_put("a", b"1"))
    assert await store.get_setting("a") == b"1"


async def test_appending_several_entries_signs_all_or_none(store: Store) -> None:
    store.budgets.rule = Rule(count=2, window_ms=DAY_MS)
    three = [("offer", offer_content(f"Offer {i}")) for i in range(3)]
    with pytest.raises(UserInputError, match="try again after"):
        await store.append_local_all(SIGNER, three, NOW)
    assert await store.head(SIGNER.node_id) is None
    first, second = await store.append_local_all(SIGNER, three[:2], NOW)
    assert (first.seq, second.seq, second.payload.prev) == (1, 2, first.id)


async def test_a_closed_store_leaves_no_thread_running(tmp_path: Path) -> None:
    """Once close returns, aiosqlite's thread has ended too: a run of the tests counts
    the database threads left at its end (tests/conftest.py), and a thread still on its
    way out was counted as a node left open. Right after aiosqlite's own close, the
    thread was still running about half the time: ten closes would all but surely
    meet one."""
    for n in range(10):
        before = set(threading.enumerate())
        store = await Store.open(tmp_path / f"{n}.db")
        await store.close()
        assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []


def test_a_store_module_used_alone_binds_node_ids() -> None:
    """How a NodeId is bound is set by the package, not by database.py: a function of
    reads.py used in a process that never imported database.py binds it too."""
    script = (
        "import sqlite3, sys\n"
        "from node.store import reads\n"
        "from protocol.keys import NodeId\n"
        "assert 'node.store.database' not in sys.modules\n"
        "conn = sqlite3.connect(':memory:')\n"
        "print(conn.execute('SELECT ?', (NodeId(bytes(range(32))),)).fetchone()[0].hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == bytes(range(32)).hex()
