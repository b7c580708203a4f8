"""A hostile school and the ``continue`` entry: signed with its own valid key, it may
take back only its own recent entries, never reach far back into its log, never undo
an earlier continuation, and never touch another school's entries.

Oakfield (the victim) and the Colegio (us) each partner only with the Lycée (the
rogue), so everything reaches us through the rogue's sessions.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from node.clock import now_ms
from protocol import kinds
from protocol.entry import Entry, create_entry
from protocol.keys import EntryId
from protocol.log import MAX_FORK_DEPTH
from tests.helpers import offer_content
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, network, wait_for

Schools = dict[str, LiveNode]


@pytest.fixture
async def trio(tmp_path: Path) -> AsyncIterator[Schools]:
    async with network(
        tmp_path, (OAK, LYCEE, COLEGIO), [("oak", "lycee"), ("lycee", "colegio")]
    ) as nodes:
        yield nodes


async def continue_as(
    rogue: LiveNode, *, seq: int, prev: EntryId, fork: int, keep: EntryId
) -> Entry:
    """A ``continue`` entry signed with the rogue's real key and put in its log as its
    newest entry without asking any rule: what a modified node would publish."""
    store = rogue.node.store
    entry = create_entry(
        rogue.node.key,
        seq=seq,
        prev=prev,
        timestamp=now_ms(),
        kind=kinds.CONTINUE,
        content={"fork": fork, "keep": bytes(keep)},
    )
    async with store.write():
        await store.insert_signed([entry], now_ms())
    return entry


async def _setup(trio: Schools) -> tuple[LiveNode, LiveNode, list[Entry], Entry]:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    theirs = await victim.node.offers.post("offer", offer_content("Oakfield's own offer"))
    own = [
        await rogue.node.offers.post("offer", offer_content(f"Lycée offer {i}")) for i in range(3)
    ]
    for entry in (theirs, *own):
        await wait_for(partial(us.holds, entry.id), what="the offers at the Colegio")
    return rogue, us, own, theirs


async def _logged(caplog: pytest.LogCaptureFixture, words: str) -> bool:
    return any(words in r.getMessage() for r in caplog.records)


async def _dropped_here(caplog: pytest.LogCaptureFixture, us: LiveNode, rogue: LiveNode) -> bool:
    """The rogue's continuation truncated its log at the Colegio: logged, and its row
    in ``truncations`` committed there. The log line alone may be the Oakfield's, which
    hears the rogue too and may be first (seen under load, with the suite on two cores)."""
    taken_back = await us.node.store.taken_back(rogue.node.node_id, 0)
    return await _logged(caplog, "ended a fork of its log") and taken_back > 0


async def test_a_continuation_cannot_take_back_more_than_the_limit(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rogue, us, own, theirs = await _setup(trio)
    head = own[-1]
    await continue_as(
        rogue, seq=2 + MAX_FORK_DEPTH + 1, prev=EntryId(bytes(32)), fork=2, keep=EntryId(bytes(32))
    )
    await wait_for(lambda: _logged(caplog, "reaches back to entry 2"), what="the refusal")
    for entry in (*own, theirs):
        assert await us.holds(entry.id)
    assert (await us.node.store.head(rogue.node.node_id)).seq == head.seq  # type: ignore[union-attr]


async def test_a_continuation_cannot_undo_an_earlier_one(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rogue, us, own, theirs = await _setup(trio)
    head = own[-1]
    first = await continue_as(rogue, seq=head.seq + 1, prev=head.id, fork=head.seq, keep=head.id)
    await wait_for(lambda: us.holds(first.id), what="a continuation that changes nothing")
    await continue_as(
        rogue,
        seq=first.seq + 1,
        prev=EntryId(bytes(32)),
        fork=own[0].seq,
        keep=EntryId(bytes(32)),
    )
    await wait_for(lambda: _logged(caplog, "would take back entries before"), what="refusal")
    for entry in (*own, theirs):
        assert await us.holds(entry.id)


async def test_a_continuation_takes_back_only_its_authors_own_entries(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    """It names another school's offer as the one kept, and that school's offer as the
    entry it follows: only the rogue's own entries from its fork point go."""
    caplog.set_level(logging.INFO)
    rogue, us, own, theirs = await _setup(trio)
    ours = await us.node.offers.post("offer", offer_content("The Colegio's own offer"))
    await continue_as(rogue, seq=own[-1].seq + 1, prev=theirs.id, fork=own[0].seq, keep=theirs.id)
    await wait_for(partial(_dropped_here, caplog, us, rogue), what="the fork ended here")
    for entry in own:
        assert not await us.holds(entry.id)  # its own, taken back like a withdrawal
    assert await us.holds(theirs.id)
    assert await us.holds(ours.id)
    titles = {o.entry.content["title"] for o in await us.node.offers.listing("offer")}  # type: ignore[index]
    assert titles == {"Oakfield's own offer", "The Colegio's own offer"}
    held = await us.node.store.entries_after(rogue.node.node_id, 0, 100)
    assert [e.seq for e in held] == list(range(1, own[0].seq))  # its profile stays
    assert (await us.node.store.schools([rogue.node.node_id]))[rogue.node.node_id][0] == (
        "Lycée Jean Moulin"
    )


async def test_a_withdrawn_continuation_still_settles_its_fork(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    """The rogue withdraws its continuation, so that its content (the fork it settled)
    would be erased, then tries to reach before it again."""
    caplog.set_level(logging.INFO)
    rogue, us, own, theirs = await _setup(trio)
    head = own[-1]
    first = await continue_as(rogue, seq=head.seq + 1, prev=head.id, fork=head.seq, keep=head.id)
    await wait_for(partial(us.holds, first.id), what="a continuation that changes nothing")
    store = rogue.node.store
    async with store.write():
        withdrawal = create_entry(
            rogue.node.key,
            seq=first.seq + 1,
            prev=first.id,
            timestamp=now_ms(),
            kind=kinds.WITHDRAW,
            content={"target": bytes(first.id)},
        )
        await store.insert_signed([withdrawal], now_ms())
    await wait_for(partial(us.holds, withdrawal.id), what="the withdrawal of the continuation")
    held = await us.node.store.get(first.id)
    assert held is not None
    assert held.content is not None
    await continue_as(
        rogue,
        seq=withdrawal.seq + 1,
        prev=EntryId(bytes(32)),
        fork=own[0].seq,
        keep=EntryId(bytes(32)),
    )
    await wait_for(partial(_logged, caplog, "would take back entries before"), what="refusal")
    for entry in (*own, theirs):
        assert await us.holds(entry.id)


async def test_chained_continuations_cannot_take_back_more_than_the_limit_in_all(
    trio: Schools, caplog: pytest.LogCaptureFixture
) -> None:
    """Each continuation truncates within the limit but none is ever kept: the second
    would bring what they took back together above it, so it is refused and the rest
    of the rogue's log stays."""
    caplog.set_level(logging.INFO)
    rogue, us, own, theirs = await _setup(trio)
    zero = EntryId(bytes(32))
    reach = MAX_FORK_DEPTH - 3
    last = own[-1]
    await continue_as(rogue, seq=last.seq + reach, prev=zero, fork=last.seq, keep=zero)
    await wait_for(partial(_dropped_here, caplog, us, rogue), what="the first drop here")
    assert not await us.holds(last.id)
    # numbered below the first, so that it is the next the rogue sends
    before = own[-2]
    await continue_as(rogue, seq=last.seq + reach - 1, prev=zero, fork=before.seq, keep=zero)
    await wait_for(lambda: _logged(caplog, "may be taken back in all"), what="the refusal")
    for entry in (*own[:-1], theirs):
        assert await us.holds(entry.id)
    assert (await us.node.store.head(rogue.node.node_id)).seq == before.seq  # type: ignore[union-attr]
