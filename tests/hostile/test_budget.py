"""A partner with a valid key floods the target with its own signed entries, far past
its budget (protocol/budget.py): the target holds them back without a strike, an
error frame or a line per entry, keeps the session, and asks again when their time
comes. Asking again cannot be turned against the asker's partners either."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from node.clock import now_ms
from protocol import frames
from protocol.budget import DAY_MS, Rule
from protocol.entry import Entry, create_entry
from tests.helpers import offer_content
from tests.network import LiveNode
from tests.rogue import LINES_PER_PEER, ROGUE, connect, lines_about, next_frame, open_sync

SMALL = Rule(count=3, window_ms=DAY_MS)


class Clock:
    def __init__(self) -> None:
        self.ms = now_ms()

    def __call__(self) -> int:
        return self.ms


async def test_a_flood_of_signed_entries_is_held_back_without_strikes(
    target: LiveNode, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    budgets = target.node.store.budgets
    budgets.rule, budgets.clock = SMALL, clock
    ws = await connect(client, target)
    await open_sync(ws)
    await next_frame(ws, frames.Clock)  # the target's clock: the sync has begun
    log: list[Entry] = []
    for seq in range(1, 2 * frames.MAX_BATCH_ENTRIES + 1):
        log.append(
            create_entry(
                ROGUE,
                seq=seq,
                prev=log[-1].id if log else None,
                timestamp=now_ms(),
                kind="offer",
                content=offer_content(f"Flood {seq}"),
            )
        )
    wires = [e.encode() for e in log]
    rounds = 4  # each batch sent twice, as a stubborn sender would
    for number in range(1, rounds + 1):
        half = (number - 1) % 2 * frames.MAX_BATCH_ENTRIES
        await ws.send_bytes(
            frames.encode(frames.Entries(number, wires[half : half + frames.MAX_BATCH_ENTRIES]))
        )
    for _ in range(rounds):
        ack = await next_frame(ws, frames.Ack)
        assert isinstance(ack, frames.Ack)
        assert ack.heads == [[bytes(ROGUE.node_id), 3]]  # the budget taken, no more
    head = await target.node.store.head(ROGUE.node_id)
    assert head is not None
    assert head.seq == 3
    session = target.service.peers.sessions[ROGUE.node_id]
    assert session._strikes == 0
    assert not session.closing
    # all but entries 1 to 3, taken first then duplicates in the batches sent again
    assert session.held_back == rounds * frames.MAX_BATCH_ENTRIES - 3 * rounds // 2
    assert len(lines_about(caplog, ROGUE)) <= LINES_PER_PEER

    # A day later (by the target's clock) three more are due: it asks again.
    clock.ms += DAY_MS + 60_000  # the entries were signed just after the clock was read
    budgets.moved()
    again = await next_frame(ws, frames.Clock)
    assert isinstance(again, frames.Clock)
    assert again.heads == [[bytes(ROGUE.node_id), 3]]
    assert again.final
    await ws.send_bytes(frames.encode(frames.Entries(rounds + 1, wires[3:20])))
    ack = await next_frame(ws, frames.Ack)
    assert isinstance(ack, frames.Ack)
    assert ack.heads == [[bytes(ROGUE.node_id), 6]]
    assert session._strikes == 0
    await ws.close()


async def test_a_partner_asking_again_and_again_gets_each_entry_once(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    # A clock later in the session asks again only for authors given up on; for
    # others it changes nothing, so a stream of clocks makes the target send nothing
    # it has not sent already.
    ws = await connect(client, target)
    await open_sync(ws)
    profile = await next_frame(ws, frames.Entries)
    assert isinstance(profile, frames.Entries)
    assert len(profile.entries) == 1  # the target's profile
    await ws.send_bytes(frames.encode(frames.Ack(profile.batch, [[bytes(target.node.node_id), 1]])))
    for _ in range(50):
        await ws.send_bytes(frames.encode(frames.Clock([[bytes(target.node.node_id), 1]])))
    # Then something the target must answer, to know it has read every clock before.
    await ws.send_bytes(frames.encode(frames.Ack(999, [])))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"
    session = target.service.peers.sessions[ROGUE.node_id]
    assert session.sent == 1
    await ws.close()
