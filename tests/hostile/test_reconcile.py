"""A partner gone rogue at the session start by reconciliation (docs/protocol.md,
"Session start"): it holds a valid key, announces the feature or not, and sends
whatever ``reconcile`` frames it likes. The target refuses with a documented code,
falls back to its full clock, and never loops or stalls."""

from __future__ import annotations

import os

import aiohttp
import msgpack
import pytest

from bench.live import hold, schools_offers
from node.clock import now_ms
from protocol import codec, frames
from protocol.handshake import DiallerHandshake
from protocol.reconcile import (
    DIFF,
    FINGERPRINT,
    FULL_IDLIST,
    IDLIST,
    SHORT_ID_BYTES,
    ItemSet,
    Reconciler,
)
from tests.network import LiveNode
from tests.rogue import ROGUE, connect, next_frame

Socket = aiohttp.ClientWebSocketResponse
#: Heads the target holds: enough that it reconciles rather than send its full clock.
HELD = 40


@pytest.fixture
async def holding(target: LiveNode) -> LiveNode:
    """The rogue's target, holding its own profile and 40 other schools' offers."""
    await hold(target.node, schools_offers(HELD))
    return target


async def connect_reconciling(
    client: aiohttp.ClientSession, live: LiveNode, *, short: bool = False
) -> Socket:
    """Dial ``live`` as the rogue, announcing ``reconcile`` (and ``short-ids`` if
    ``short``); the target agrees."""
    assert live.address is not None
    ws = await client.ws_connect(live.address + "/peer")
    features = ["reconcile", "short-ids"] if short else ["reconcile"]
    hs = DiallerHandshake(
        ROGUE, nonce=os.urandom(32), now_ms=now_ms(), expected=None, features=features
    )
    await ws.send_bytes(hs.hello_bytes)
    welcome = (await ws.receive(timeout=5)).data
    await ws.send_bytes(hs.receive_welcome(welcome))
    assert isinstance(frames.decode((await ws.receive(timeout=5)).data), frames.Ready)
    assert hs.shared == set(features)
    return ws


def reconcile(msg: bytes, set_name: str = "heads") -> bytes:
    return codec.encode({"t": "reconcile", "v": 1, "set": set_name, "msg": msg})


async def error_then_full_clock(ws: Socket, code: str) -> None:
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == code
    clock = await next_frame(ws, frames.Clock)  # every head it holds: a full clock
    assert isinstance(clock, frames.Clock)
    assert clock.final
    assert len(clock.heads) == HELD + 1


async def test_a_reconcile_frame_from_a_peer_that_did_not_announce_it_is_a_strike(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)  # no features: the target sends its full clock
    clock = await next_frame(ws, frames.Clock)
    assert isinstance(clock, frames.Clock)
    await ws.send_bytes(reconcile(b"\x92\x01\x90"))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"


async def test_a_message_that_does_not_decode_ends_in_full_clocks(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_reconciling(client, holding)
    await ws.send_bytes(reconcile(b"\xc1"))
    await error_then_full_clock(ws, "malformed")
    # The session goes on as with a node without the feature.
    await ws.send_bytes(frames.encode(frames.Clock([], final=True)))
    await ws.send_bytes(frames.encode(frames.MailClock([], final=True)))
    batch = await next_frame(ws, frames.Entries)
    assert isinstance(batch, frames.Entries)
    assert len(batch.entries) == HELD + 1  # everything it holds


async def test_a_reconciliation_of_a_set_not_offered_ends_in_full_clocks(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_reconciling(client, holding)
    await ws.send_bytes(reconcile(Reconciler(ItemSet([])).initiate(), "offers"))
    await error_then_full_clock(ws, "bad-reconcile")


async def test_an_end_before_the_start_ends_in_full_clocks(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_reconciling(client, holding)
    await ws.send_bytes(reconcile(b""))
    await error_then_full_clock(ws, "bad-reconcile")


async def test_a_peer_that_never_finishes_is_cut_off_after_128_messages(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    """A wrong fingerprint of everything, again and again: the target answers 128
    times (a fresh split each time), then refuses with reconcile-too-long and sends its
    full clock; it never loops."""
    ws = await connect_reconciling(client, holding)
    liar = codec.encode([1, [[None, b"", FINGERPRINT, b"\xee" * 16]]])
    for _ in range(128):
        await ws.send_bytes(reconcile(liar))
        answer = await next_frame(ws, frames.Reconcile)
        assert isinstance(answer, frames.Reconcile)
        assert answer.msg  # its 41 heads, split and listed
    await ws.send_bytes(reconcile(liar))
    await error_then_full_clock(ws, "reconcile-too-long")


def made_up_ids(width: int = 32) -> bytes:
    """250 lists of 31 made-up ids, then a wrong fingerprint so that the target's
    answer asks something and the rogue may go on (issue 23, item 3)."""
    body: list[list[object]] = [[1, b"", IDLIST, os.urandom(width * 31)] for _ in range(250)]
    body.append([None, b"", FINGERPRINT, b"\xee" * 16])
    return codec.encode([1, body])


@pytest.mark.parametrize("short", [False, True])
async def test_a_peer_listing_made_up_ids_gets_the_full_clock_without_a_strike(
    holding: LiveNode, client: aiohttp.ClientSession, short: bool
) -> None:
    """Lists of made-up ids once filled the target's memory for 128 messages (a million
    ids). Past the ids a start reads (4,096 + 4 per head held) the target gives up and
    sends its full clock, with no error: such a peer is met as one without the feature.
    Prefixes count as ids alike (``short-ids``)."""
    ws = await connect_reconciling(client, holding, short=short)
    await ws.send_bytes(reconcile(made_up_ids(SHORT_ID_BYTES if short else 32)))
    while not isinstance(frame := frames.decode((await ws.receive(timeout=5)).data), frames.Clock):
        assert not isinstance(frame, (frames.Reconcile, frames.Error)), frame
    assert frame.final  # no answer, no error: the full clock
    assert len(frame.heads) == HELD + 1
    # It reads no more of them: one more is out of turn, a strike.
    await ws.send_bytes(reconcile(made_up_ids()))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"


async def test_a_message_after_an_answer_that_asked_nothing_ends_in_full_clocks(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_reconciling(client, holding)
    opening = Reconciler(ItemSet((1, os.urandom(32)) for _ in range(10))).initiate()
    await ws.send_bytes(reconcile(opening))
    answer = await next_frame(ws, frames.Reconcile)  # a Diff: only the end may follow
    assert isinstance(answer, frames.Reconcile)
    await ws.send_bytes(reconcile(opening))
    await error_then_full_clock(ws, "bad-reconcile")


async def test_a_reconcile_frame_after_a_failed_start_is_a_strike(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_reconciling(client, holding)
    await ws.send_bytes(reconcile(b"\xc1"))
    await error_then_full_clock(ws, "malformed")
    await ws.send_bytes(reconcile(b"\xc1"))  # the rogue was waiting for an answer: none is due
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"


async def test_a_reconcile_frame_after_the_start_is_a_strike_and_the_session_goes_on(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect_reconciling(client, holding)
    rogue = Reconciler(ItemSet([]))
    await ws.send_bytes(reconcile(rogue.initiate()))
    answer = await next_frame(ws, frames.Reconcile)
    assert isinstance(answer, frames.Reconcile)
    assert rogue.receive(answer.msg) is None  # the target's Diff: all it holds
    await ws.send_bytes(reconcile(b""))  # over
    clock = await next_frame(ws, frames.Clock)  # the one head that differs
    assert isinstance(clock, frames.Clock)
    assert len(clock.heads) == HELD + 1  # it lacks them all
    assert bytes(holding.node.node_id) in [pair[0] for pair in clock.heads]
    await ws.send_bytes(reconcile(rogue.initiate()))  # out of turn
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"
    await ws.send_bytes(frames.encode(frames.Clock([], final=True)))
    await ws.send_bytes(frames.encode(frames.MailClock([], final=True)))
    batch = await next_frame(ws, frames.Entries)
    assert isinstance(batch, frames.Entries)
    assert len(batch.entries) == HELD + 1


async def test_a_target_with_few_heads_answers_with_its_full_clock(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """Holding fewer than 32 heads, the target gives up at once: no error, its clock."""
    ws = await connect_reconciling(client, target)
    opening = Reconciler(ItemSet((1, os.urandom(32)) for _ in range(100))).initiate()
    await ws.send_bytes(reconcile(opening))
    clock = await next_frame(ws, frames.Clock)
    assert isinstance(clock, frames.Clock)
    assert [pair[0] for pair in clock.heads] == [bytes(target.node.node_id)]
    # The rogue waits for an answer, so no reconcile frame of its is due: one more is
    # a strike, and the session goes on.
    await ws.send_bytes(reconcile(opening))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"
    await ws.send_bytes(frames.encode(frames.Clock([], final=True)))
    await ws.send_bytes(frames.encode(frames.MailClock([], final=True)))
    first = await next_frame(ws, frames.Entries)
    assert isinstance(first, frames.Entries)


# -- short-ids (docs/decisions.md, "Issue 23: id prefixes in reconciliation") ---------


@pytest.mark.parametrize(
    "ranges",
    [
        [[None, b"", FULL_IDLIST, os.urandom(32)]],  # a whole-id list of mode 4
        [[None, b"", IDLIST, os.urandom(48)]],  # three prefixes: not whole 32-byte ids
    ],
)
async def test_prefixes_from_a_peer_without_short_ids_end_in_full_clocks(
    holding: LiveNode, client: aiohttp.ClientSession, ranges: list[object]
) -> None:
    ws = await connect_reconciling(client, holding)  # reconcile only: whole ids
    await ws.send_bytes(reconcile(codec.encode([1, ranges])))
    await error_then_full_clock(ws, "bad-reconcile")


@pytest.mark.parametrize(
    "ranges",
    [
        [[None, b"", IDLIST, os.urandom(17)]],  # not whole 16-byte prefixes
        [[None, b"", IDLIST, os.urandom(16 * 32)]],  # 32 prefixes: one too many
        [[None, b"", IDLIST, bytes(32)]],  # one prefix twice
    ],
)
async def test_bad_prefix_lists_end_in_full_clocks(
    holding: LiveNode, client: aiohttp.ClientSession, ranges: list[object]
) -> None:
    ws = await connect_reconciling(client, holding, short=True)
    await ws.send_bytes(reconcile(codec.encode([1, ranges])))
    await error_then_full_clock(ws, "bad-reconcile")


async def test_after_a_diff_of_prefixes_only_whole_lists_may_follow(
    holding: LiveNode, client: aiohttp.ClientSession
) -> None:
    """The rogue lists three made-up prefixes; the target answers with a Diff of
    prefixes (and the fingerprint of what matched). The rogue may then list that range
    in whole ids, or end; asking anything else is refused."""
    ws = await connect_reconciling(client, holding, short=True)
    await ws.send_bytes(reconcile(codec.encode([1, [[None, b"", IDLIST, os.urandom(48)]]])))
    answer = await next_frame(ws, frames.Reconcile)
    assert isinstance(answer, frames.Reconcile)
    (diff,) = msgpack.unpackb(answer.msg)[1]
    assert diff[2] == DIFF
    assert len(diff) == 6  # [ts, prefix, mode, prefixes it lacks, bitmap, fingerprint]
    assert len(diff[3]) == SHORT_ID_BYTES * (HELD + 1)
    await ws.send_bytes(reconcile(codec.encode([1, [[None, b"", FINGERPRINT, bytes(16)]]])))
    await error_then_full_clock(ws, "bad-reconcile")
