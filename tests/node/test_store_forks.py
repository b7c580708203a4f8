"""The store and a ``continue`` entry, on a real SQLite file: what a receiver holding
the dropped branch undoes, what the kept branch then brings, and what is superseded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.store.database import Store
from node.store.placement import Outcome
from protocol import kinds
from protocol.entry import Entry, create_entry
from tests.helpers import NOW, append_signed, key, offer_content
from tests.network import holding_everything

SIGNER = key(3)


def _next(log: list[Entry], kind: str, content: dict[str, Any], seq: int | None = None) -> Entry:
    return append_signed(log, SIGNER, kind, content, seq)


def _event(title: str, replaces: bytes | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {
        "title": title,
        "start": "2026-11-02T16:00Z",
        "end": "2026-11-02T17:00Z",
    }
    if replaces is not None:
        content["replaces"] = replaces
    return content


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "node.db")
    await holding_everything(opened)  # made-up schools' logs, whole
    yield opened
    await opened.close()


async def test_dropping_a_branch_undoes_its_effects_and_the_kept_one_follows(
    store: Store,
) -> None:
    common: list[Entry] = []
    _next(common, kinds.PROFILE, {"name": "Oakfield Primary", "country": "GB"})
    early = _next(common, kinds.OFFER, offer_content("Before the fork"))
    meeting = _next(common, kinds.EVENT, _event("Parents' evening"))

    dropped = list(common)
    _next(dropped, kinds.PROFILE, {"name": "Renamed on the dropped branch", "country": "GB"})
    _next(dropped, kinds.WITHDRAW, {"target": bytes(early.id)})
    _next(dropped, kinds.EVENT, _event("Parents' evening, moved", bytes(meeting.id)))
    extra = _next(dropped, kinds.OFFER, offer_content("Only on the dropped branch"))

    kept = list(common)
    mine = _next(kept, kinds.OFFER, offer_content("On the kept branch"))
    fork = common[-1].seq + 1
    continuation = _next(
        kept, kinds.CONTINUE, {"fork": fork, "keep": bytes(mine.id)}, seq=dropped[-1].seq + 1
    )

    stored = await store.ingest(dropped, NOW)
    assert {r.outcome for r in stored} == {Outcome.STORED}
    assert await store.withdrawn(early.id) is not None
    assert (await store.schools([SIGNER.node_id]))[SIGNER.node_id][0] == (
        "Renamed on the dropped branch"
    )

    [result] = await store.ingest([continuation], NOW)
    assert result.outcome is Outcome.REFUSED
    assert result.error is not None
    assert result.error.code == "fork-dropped"
    head = await store.head(SIGNER.node_id)
    assert head is not None
    assert head.seq == fork - 1
    # Undone: the withdrawal, the renamed profile, the moved event, the extra offer.
    assert await store.withdrawn(early.id) is None
    assert (await store.schools([SIGNER.node_id]))[SIGNER.node_id][0] == "Oakfield Primary"
    assert [e.id for e in await store.current(kinds.EVENT)] == [meeting.id]
    assert await store.get(extra.id) is None
    # Not undone: the withdrawn offer's content was erased here and is not held again.
    held_early = await store.get(early.id)
    assert held_early is not None
    assert held_early.content is None

    results = await store.ingest(kept[fork - 1 :], NOW)
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.STORED]
    assert [e.id for e in await store.entries_after(SIGNER.node_id, 0, 100)] == [e.id for e in kept]
    assert await store.forks() == []
    # The dropped branch arriving late is superseded: neither stored nor evidence.
    late = await store.ingest(dropped[fork - 1 :], NOW)
    assert {r.outcome for r in late} == {Outcome.SUPERSEDED}
    assert await store.equivocations() == []
    assert await store.forks() == []


async def test_a_fork_is_shown_until_it_is_continued(store: Store) -> None:
    common: list[Entry] = []
    _next(common, kinds.PROFILE, {"name": "Oakfield Primary", "country": "GB"})
    kept, other = list(common), list(common)
    a = _next(kept, kinds.OFFER, offer_content("Kept"))
    _next(other, kinds.OFFER, offer_content("Other"))
    after = _next(other, kinds.OFFER, offer_content("Other, later"))
    await store.ingest(kept, NOW)
    [refused] = await store.ingest([after], NOW)
    assert refused.error is not None
    assert refused.error.code == "wrong-prev"
    assert await store.forks() == [(SIGNER.node_id, 2)]
    continuation = _next(kept, kinds.CONTINUE, {"fork": 2, "keep": bytes(a.id)}, seq=4)
    assert [r.outcome for r in await store.ingest([continuation], NOW)] == [Outcome.STORED]
    assert await store.forks() == []


async def test_two_continuations_in_one_batch_cannot_reopen_the_first(store: Store) -> None:
    log: list[Entry] = []
    _next(log, kinds.PROFILE, {"name": "Oakfield Primary", "country": "GB"})
    offers = [_next(log, kinds.OFFER, offer_content(f"Offer {i}")) for i in range(3)]
    await store.ingest(log, NOW)
    first = _next(log, kinds.CONTINUE, {"fork": 4, "keep": bytes(offers[-1].id)})
    second = create_entry(
        SIGNER,
        seq=first.seq + 1,
        prev=offers[0].id,  # not the head: would drop the log from 2, the first too
        timestamp=NOW,
        kind=kinds.CONTINUE,
        content={"fork": 2, "keep": bytes(32)},
    )
    results = await store.ingest([first, second], NOW)
    assert results[0].outcome is Outcome.STORED
    assert results[1].outcome is Outcome.REFUSED
    assert results[1].error is not None
    assert results[1].error.code == "fork-before-continuation"
    for entry in offers:
        assert await store.get(entry.id) is not None


async def test_the_commit_listeners_are_told_which_logs_grew_with_a_continuation(
    store: Store,
) -> None:
    # The sessions try those authors again with every peer, even one that gave up on
    # them (node/net/peers.py, protocol/replication.py ``renew``): told by the commit
    # in this process, and by ``continued_above`` for a commit by another one.
    told: list[tuple[set[bytes], set[bytes]]] = []
    store.add_listener(
        lambda authors: told.append(
            ({bytes(a) for a in authors}, {bytes(a) for a in store.continued})
        )
    )
    me = bytes(SIGNER.node_id)
    common: list[Entry] = []
    _next(common, kinds.PROFILE, {"name": "Oakfield Primary", "country": "GB"})
    kept, other = list(common), list(common)
    a = _next(kept, kinds.OFFER, offer_content("Kept"))
    _next(other, kinds.OFFER, offer_content("Other"))
    await store.ingest(other, NOW)
    assert told[-1] == ({me}, set())
    continuation = _next(kept, kinds.CONTINUE, {"fork": 2, "keep": bytes(a.id)}, seq=3)
    [dropped] = await store.ingest([continuation], NOW)  # the other branch goes first
    assert dropped.outcome is Outcome.REFUSED
    assert told[-1][1] == set()
    assert await store.continued_above({SIGNER.node_id: 1}) == set()
    results = await store.ingest(kept[1:], NOW)
    assert [r.outcome for r in results] == [Outcome.STORED, Outcome.STORED]
    assert told[-1] == ({me}, {me})
    assert await store.continued_above({SIGNER.node_id: 2}) == {SIGNER.node_id}
    assert await store.continued_above({SIGNER.node_id: 3}) == set()
    after = _next(kept, kinds.OFFER, offer_content("After"))
    await store.ingest([after], NOW)
    assert told[-1] == ({me}, set())
