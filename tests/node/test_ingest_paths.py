"""Store.ingest judges the common case with a plain function (``place_next``) and
everything else with ``place`` (node/store/placement.py): both paths must give the same outcomes and
leave the same rows, whatever a batch holds (docs/decisions.md, "Ingest for hubs,
third step")."""

from pathlib import Path
from typing import Any

import pytest

from node.partners.peerbook import PeerBook
from node.store import database
from node.store.database import Store
from node.store.placement import Outcome
from protocol.entry import Entry, create_entry
from tests.helpers import NOW, chain, key, offer_content
from tests.network import holding_everything

TABLES = (
    "SELECT n, id, author, seq, kind, content FROM entries ORDER BY n",
    "SELECT author, seq, id FROM heads ORDER BY author",
    "SELECT author, seq FROM equivocations ORDER BY author, seq",
    "SELECT author, seq FROM fork_hints ORDER BY author, seq",
    "SELECT n FROM unindexed ORDER BY n",
)


def batches() -> list[list[Entry]]:
    """Every case the plain function decides, beside those it hands on."""
    two, three, blocked = chain(key(2), 6), chain(key(3), 3), chain(key(4), 2)
    fork = create_entry(
        key(2), seq=2, prev=two[0].id, timestamp=NOW, kind="offer", content=offer_content("Fork")
    )
    wrong_prev = create_entry(
        key(3), seq=2, prev=two[0].id, timestamp=NOW, kind="offer", content=offer_content()
    )
    return [
        [two[0], two[1], three[0]],  # first entries, then the next one
        [two[1], two[2], fork, three[2], blocked[0], wrong_prev, three[1], three[2]],
        [two[3], two[5], two[4], two[5], blocked[1]],  # a gap, then filled
    ]


async def ingest_all(store: Store) -> tuple[list[Any], list[Any]]:
    await holding_everything(store)
    await PeerBook(store).block(key(4).node_id, key(9).node_id, NOW)
    results = []
    for batch in batches():
        results.append(
            [
                (r.outcome, None if r.error is None else r.error.code)
                for r in await store.ingest(batch, NOW)
            ]
        )
    rows = [await store.fetch_all(sql) for sql in TABLES]
    return results, rows


async def test_the_plain_function_and_the_full_judgement_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = await Store.open(tmp_path / "plain.db")
    try:
        fast = await ingest_all(plain)
    finally:
        await plain.close()
    # Every entry the long way: Store.ingest calls place_next as database.py names it.
    # Were it called by another name, both runs would be the plain one: ``asked`` says
    # not (test_ingest_paths_random.py patches the same name).
    asked: list[Entry] = []
    monkeypatch.setattr(database, "place_next", lambda store, entry, *rest: asked.append(entry))
    full = await Store.open(tmp_path / "full.db")
    try:
        slow = await ingest_all(full)
    finally:
        await full.close()
    assert asked
    assert fast == slow
    outcomes = [outcome for batch in fast[0] for outcome, _ in batch]
    assert {Outcome.STORED, Outcome.DUPLICATE, Outcome.EQUIVOCATION, Outcome.REFUSED} <= set(
        outcomes
    )
    codes = {code for batch in fast[0] for _, code in batch}
    assert {"blocked", "gap", "wrong-prev"} <= codes
