"""Offers from peers are indexed for search after their entries' commit, not in it
(node/store/indexer.py): on real databases, with a real process killed in between."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from node.clock import now_ms
from node.node import Node
from node.store import database, search
from node.store.database import Store
from node.store.indexer import SearchIndexer, index_in
from node.store.search import Filters, index_row, text_of
from protocol.entry import Entry, create_entry
from protocol.keys import NodeKey
from tests.helpers import append_signed, history, key, offer_content
from tests.network import holding_everything

TODAY = date(2026, 11, 23)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    await holding_everything(opened)  # made-up schools' entries, whole
    yield opened
    await opened.close()


async def count(store: Store, table: str) -> int:
    row = await store.fetch_one(f"SELECT count(*) FROM {table}")
    return int(row[0])


async def titles(node: Node, query: str) -> list[str]:
    found = await node.offers.search(query, Filters(), today=TODAY)
    return sorted(item.as_json()["title"] for item in found)


async def until_indexed(store: Store) -> None:
    for _ in range(600):  # at most a minute on a loaded machine
        if await count(store, "unindexed") == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the indexer never took what waits")


async def test_entries_from_peers_are_stored_before_they_are_indexed(node: Node) -> None:
    entries = history(key(7), 3)
    results = await node.store.ingest(entries, now_ms())
    assert all(r.outcome.value == "stored" for r in results)
    # Stored and acknowledged, not yet in the index: it waits for a later transaction.
    assert await count(node.store, "unindexed") == 3
    assert await count(node.store, "listings") == 0
    assert await count(node.store, "listing_text") == 0
    # A search indexes what waits before it looks: nothing stored is ever missing.
    assert await titles(node, "offer") == ["Offer 1", "Offer 2", "Offer 3"]
    assert await count(node.store, "unindexed") == 0
    assert await count(node.store, "listings") == 3
    assert await titles(node, "offer") == ["Offer 1", "Offer 2", "Offer 3"]  # once each


async def test_the_indexer_indexes_in_the_background(node: Node) -> None:
    indexer = SearchIndexer(node.store, delay_s=0.05)
    indexer.start()
    try:
        await node.store.ingest(history(key(7), 5), now_ms())
        await until_indexed(node.store)
        assert await count(node.store, "listings") == 5
        assert await count(node.store, "listing_text") == 5
    finally:
        await indexer.stop()


async def test_the_indexer_indexes_what_waits_when_it_stops(node: Node) -> None:
    indexer = SearchIndexer(node.store, delay_s=3600)  # would wait an hour
    indexer.start()
    await node.store.ingest(history(key(7), 2), now_ms())
    await indexer.stop()
    assert await count(node.store, "unindexed") == 0
    assert await count(node.store, "listings") == 2


def withdrawal(entries: list[Entry], target: Entry) -> Entry:
    last = entries[-1]
    return create_entry(
        key(7),
        seq=last.seq + 1,
        prev=last.id,
        timestamp=last.payload.timestamp + 1,
        kind="withdraw",
        content={"target": bytes(target.id), "reason": "filled"},
    )


async def test_an_offer_withdrawn_before_it_is_indexed_is_never_indexed(node: Node) -> None:
    entries = history(key(7), 2)
    await node.store.ingest(entries, now_ms())
    await node.store.ingest([withdrawal(entries, entries[0])], now_ms())
    assert await count(node.store, "unindexed") == 1  # the withdrawn one taken off
    assert await node.store.index_all() == 1
    assert await count(node.store, "listings") == 1
    assert await titles(node, "offer") == ["Offer 2"]


async def test_an_author_dropped_before_its_offers_are_indexed_leaves_nothing_waiting(
    node: Node,
) -> None:
    await node.store.ingest(history(key(7), 2), now_ms())
    await node.store.ingest(history(key(8), 1), now_ms())
    async with node.store.write():
        await node.store.delete_author(key(7).node_id)
    assert await count(node.store, "unindexed") == 1
    await node.store.index_all()
    assert await titles(node, "offer") == ["Offer 1"]  # key(8)'s


def withdrawn(log: list[Entry], signer: NodeKey, targets: list[Entry]) -> list[Entry]:
    """``signer``'s withdrawals of ``targets``, chained after ``log`` (which grows)."""
    made = []
    for target in targets:
        last = log[-1]
        log.append(
            create_entry(
                signer,
                seq=last.seq + 1,
                prev=last.id,
                timestamp=last.payload.timestamp + 1,
                kind="withdraw",
                content={"target": bytes(target.id), "reason": "filled"},
            )
        )
        made.append(log[-1])
    return made


async def test_an_offer_withdrawn_before_it_is_indexed_is_let_go_from_memory(node: Node) -> None:
    offers = history(key(7), 2)
    await node.store.ingest(offers, now_ms())
    assert node.store.waiting_in_memory == 2
    await node.store.ingest(withdrawn(list(offers), key(7), offers[:1]), now_ms())
    assert node.store.waiting_in_memory == 1  # at once, not when the indexer comes by
    assert await node.store.index_all() == 1
    assert node.store.waiting_in_memory == 0
    assert await titles(node, "offer") == ["Offer 2"]


async def test_an_offer_withdrawn_in_its_own_batch_is_never_kept_in_memory(node: Node) -> None:
    offers = history(key(7), 2)
    log = list(offers)
    await node.store.ingest([*offers, *withdrawn(log, key(7), offers[:1])], now_ms())
    assert node.store.waiting_in_memory == 1
    assert await count(node.store, "unindexed") == 1
    await node.store.index_all()
    assert await titles(node, "offer") == ["Offer 2"]


async def test_offers_of_a_school_blocked_before_they_are_indexed_are_let_go(node: Node) -> None:
    await node.store.ingest(history(key(7), 3), now_ms())
    async with node.store.write():
        await node.store.delete_author(key(7).node_id)
    assert node.store.waiting_in_memory == 0


async def test_an_offer_filled_in_before_it_is_indexed_is_let_go_from_memory(node: Node) -> None:
    (offer,) = history(key(7), 1)
    await node.store.ingest([offer.without_content()], now_ms())
    assert node.store.waiting_in_memory == 1
    await node.store.ingest([offer], now_ms())  # indexed at once, whole
    assert node.store.waiting_in_memory == 0
    assert await titles(node, "offer") == ["Offer 1"]


async def test_a_school_withdrawing_what_it_sends_cannot_fill_the_memory_for_others(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hostile school sends offers and withdraws them before they are indexed, again
    # and again: their copies went nowhere and counted toward MAX_WAITING until the
    # process ended, so the offers of every other school were decoded twice.
    monkeypatch.setattr(database, "MAX_WAITING", 4)
    rogue = key(66)
    log: list[Entry] = []
    for _ in range(3):
        offers = [append_signed(log, rogue, "offer", offer_content()) for _ in range(4)]
        results = await node.store.ingest(offers, now_ms())
        results += await node.store.ingest(withdrawn(log, rogue, offers), now_ms())
        assert {r.outcome.value for r in results} == {"stored"}
    assert await count(node.store, "unindexed") == 0
    assert node.store.waiting_in_memory == 0
    await node.store.ingest(history(key(8), 2), now_ms())
    assert node.store.waiting_in_memory == 2  # an honest school's offers kept decoded


async def test_offers_indexed_from_memory_or_from_their_bytes_make_the_same_rows(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past MAX_WAITING, offers are indexed from their stored bytes, decoded again and
    # checked against today's schema; those in memory were checked on arrival.
    monkeypatch.setattr(database, "MAX_WAITING", 2)
    kept, past = history(key(7), 3), history(key(8), 3)
    await node.store.ingest(kept, now_ms())  # kept decoded in memory
    await node.store.ingest(past, now_ms())  # past the bound: from the bytes
    assert await node.store.index_all() == 6
    numbered = [(n, entry) for n, entry in enumerate([*kept, *past], start=2)]
    expected = [index_row(n, entry, "") for n, entry in numbered]
    columns = search.INSERT_LISTING.split("(", 1)[1].split(")", 1)[0]  # in index_row's order
    listed = await node.store.fetch_all(f"SELECT {columns} FROM listings ORDER BY n")
    assert listed == expected
    text = await node.store.fetch_all("SELECT rowid, words FROM listing_text ORDER BY rowid")
    assert text == [text_of(row) for row in expected if row is not None]


async def test_an_offer_under_the_number_of_one_deleted_is_indexed_as_itself(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Numbers are the largest plus one: the last entries deleted, the next ones take
    # their numbers, while the deleted ones may still be held in memory.
    monkeypatch.setattr(database, "MAX_WAITING", 1)
    await node.store.ingest(history(key(7), 2), now_ms())
    async with node.store.write():
        await node.store.delete_author(key(7).node_id)
    await node.store.ingest(history(key(8), 3), now_ms())
    assert await node.store.index_all() == 3
    authors = await node.store.fetch_all("SELECT DISTINCT author FROM listings")
    assert authors == [(bytes(key(8).node_id),)]
    assert await titles(node, "offer") == ["Offer 1", "Offer 2", "Offer 3"]


async def test_an_offer_in_memory_without_its_content_is_indexed_from_its_bytes(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An offer that first came without its content (erased where it came from) keeps
    # its number in memory after its author is deleted here; the same offer, whole,
    # later takes the same number (the largest plus one) while memory is full: the
    # one in memory has the right id but no content, and the stored bytes have it.
    monkeypatch.setattr(database, "MAX_WAITING", 1)
    (offer,) = history(key(7), 1)
    await node.store.ingest([offer.without_content()], now_ms())
    async with node.store.write():
        await node.store.delete_author(key(7).node_id)
    results = await node.store.ingest([offer], now_ms())
    assert [r.outcome.value for r in results] == ["stored"]
    assert await node.store.index_all() == 1
    assert await titles(node, "offer") == ["Offer 1"]


CRASH = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from node.clock import now_ms
    from node.node import Node
    from tests.helpers import history, key

    async def main() -> None:
        node = await Node.open(Path(sys.argv[1]))
        await node.store.ingest(history(key(9), 40), now_ms())
        print("stored", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # before any indexing: a crash

    asyncio.run(main())
    """
)


async def test_offers_stored_before_a_crash_are_indexed_when_the_node_starts(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "n"
    node = await Node.create(folder, name="Oakfield Primary", country="GB")
    await holding_everything(node)
    await node.close()
    crash = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASH,
        str(folder),
        str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(crash.communicate(), 120)
    assert stdout.decode().strip() == "stored", stderr.decode()
    assert crash.returncode == -9
    node = await Node.open(folder)
    try:
        assert await count(node.store, "entries") == 41  # its own profile, and the 40
        assert await count(node.store, "unindexed") == 40
        assert await count(node.store, "listings") == 0
        indexer = SearchIndexer(node.store, delay_s=3600)
        indexer.start()  # as `schoolmesh run` does: what waits is taken first
        try:
            await until_indexed(node.store)
        finally:
            await indexer.stop()
        assert await count(node.store, "listings") == 40
        assert len(await titles(node, "offer")) == 40
    finally:
        await node.close()


#: (first offer waiting since, newest stored at, now) -> seconds until indexing, with
#: storing quiet after 0.5 s and the longest wait 10 s.
INDEX_IN = [
    (0.0, 0.0, 0.0, 0.5),  # a lone offer: indexed once half a second passes quietly
    (0.0, 0.0, 0.5, 0.0),
    (0.0, 3.0, 3.2, 0.3),  # a catch-up storing on: waits for it to pause
    (0.0, 9.8, 9.9, 0.1),  # ... but never past ten seconds after the first
    (0.0, 9.9, 10.0, 0.0),
    (0.0, 10.0, 12.0, -2.0),  # overdue (a long write held the loop): at once
]


@pytest.mark.parametrize(("first", "last", "now", "left"), INDEX_IN)
def test_indexing_waits_for_storing_to_pause_within_a_bound(
    first: float, last: float, now: float, left: float
) -> None:
    assert index_in(first, last, now, quiet_s=0.5, max_delay_s=10.0) == pytest.approx(left)


@pytest.mark.parametrize(("delay_s", "quiet_s"), [(3600, 0.05), (0.2, 3600)])
async def test_the_indexer_indexes_when_storing_pauses_or_at_the_bound(
    node: Node, delay_s: float, quiet_s: float
) -> None:
    """Either way of :func:`index_in` starts the indexing: storing quiet for
    ``quiet_s`` (the bound an hour away), or the bound (storing never quiet enough)."""
    indexer = SearchIndexer(node.store, delay_s=delay_s, quiet_s=quiet_s)
    indexer.start()
    try:
        await node.store.ingest(history(key(8), 4), now_ms())
        await until_indexed(node.store)
        assert await count(node.store, "listings") == 4
    finally:
        await indexer.stop()
