"""The SQLite store, on real files: atomic appends, idempotent ingest, withdrawals."""

import sqlite3
from pathlib import Path

import pytest

from node.store.database import Outcome, Store
from node.store.migrations import LATEST_VERSION, MIGRATIONS
from node.store.search import Filters
from protocol.entry import create_entry
from protocol.errors import NotFoundError, SchemaError, SchemaTooNewError, StorageError
from protocol.keys import EntryId
from tests.helpers import NOW, chain, key, offer_content

SIGNER = key(1)


@pytest.fixture
async def store(tmp_path: Path):
    opened = await Store.open(tmp_path / "node.db")
    yield opened
    await opened.close()


async def test_fresh_database_is_migrated(store: Store) -> None:
    assert await store.schema_version() == LATEST_VERSION


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
    entries = chain(key(2), 5)
    results = await store.ingest(entries, NOW)
    assert [r.outcome for r in results] == [Outcome.STORED] * 5
    again = await store.ingest(entries, NOW)
    assert [r.outcome for r in again] == [Outcome.DUPLICATE] * 5
    assert await store.count_entries() == 5
    heads = await store.heads()
    assert heads[key(2).node_id].seq == 5


async def test_gap_refused_without_failing_batch(store: Store) -> None:
    a, b = chain(key(2), 3), chain(key(3), 1)
    results = await store.ingest([a[0], a[2], b[0]], NOW)
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.REFUSED, Outcome.STORED]
    assert results[1].error is not None
    assert results[1].error.code == "gap"
    assert await store.get(a[2].id) is None


async def test_equivocation_recorded_with_evidence(store: Store) -> None:
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
    (offer,) = chain(key(2), 1)
    await store.ingest([offer.without_content()], NOW)
    await store.ingest([offer], NOW)
    held = await store.get(offer.id)
    assert held is not None
    assert held.content == offer.content


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
        assert await store.search("offer", Filters(), "2026-01-01", 10) == [entry]
    finally:
        await store.close()


async def test_existing_node_database_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="empty or not a schoolmesh database"):
        await Store.open(tmp_path / "missing.db", create=False)
