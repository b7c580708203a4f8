"""A partner gone rogue, in a real session: hand-made frames over a real WebSocket.

The rogue school holds a valid key and is a partner of the target, so it passes
the handshake; everything after that is whatever it likes to send. Each test
checks that the target refuses with an error frame and a documented code, logs
a bounded number of escaped lines, and keeps serving its other partners.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import aiohttp
import pytest

from node.clock import now_ms
from node.partners.peerbook import PeerBook
from protocol import codec, frames, replication
from protocol.entry import create_entry
from protocol.handshake import DiallerHandshake
from protocol.keys import NodeId
from protocol.log import Head
from tests.helpers import chain, key, offer_content
from tests.network import LiveNode, partner, wait_for
from tests.rogue import (
    LINES_PER_PEER,
    ROGUE,
    Socket,
    connect,
    frames_until_closed,
    handshake,
    lines_about,
    next_frame,
    open_sync,
    raw,
)


async def test_an_ack_whose_heads_have_three_items_is_refused_and_others_are_still_served(
    target: LiveNode, client: aiohttp.ClientSession, tmp_path: Path
) -> None:
    friend = await LiveNode.start(tmp_path / "friend", "Friendly School")
    try:
        await partner(target, friend)
        ws = await connect(client, target)
        await open_sync(ws)
        batch = await next_frame(ws, frames.Entries)
        assert isinstance(batch, frames.Entries)
        mine = bytes(target.node.node_id)
        await ws.send_bytes(raw("ack", batch=batch.batch, heads=[[mine, 1, bytes(32)]]))
        error = await next_frame(ws, frames.Error)
        assert isinstance(error, frames.Error)
        assert error.code == "bad-frame"
        entry = await target.node.offers.post("offer", offer_content("Still flowing"))
        await wait_for(lambda: friend.holds(entry.id), what="the friend to get the offer")
    finally:
        await friend.stop()


async def test_an_ack_with_more_heads_than_a_batch_can_hold_is_refused(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    await open_sync(ws)
    batch = await next_frame(ws, frames.Entries)
    assert isinstance(batch, frames.Entries)
    heads = sorted([os.urandom(32), 1] for _ in range(frames.MAX_BATCH_ENTRIES + 1))
    await ws.send_bytes(raw("ack", batch=batch.batch, heads=heads))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"


async def test_a_clock_number_beyond_two_to_the_53_is_refused_without_ending_the_session(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    mine = bytes(target.node.node_id)
    await ws.send_bytes(raw("clock", heads=[[mine, 2**64 - 1, bytes(32)]], final=True))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"
    await open_sync(ws)  # the session goes on: the target still sends what it holds
    assert isinstance(await next_frame(ws, frames.Entries), frames.Entries)


async def test_a_mail_clock_number_beyond_two_to_the_53_is_refused_without_ending_the_session(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    mark = [bytes(target.node.node_id), bytes(ROGUE.node_id), 2**64 - 1]
    await ws.send_bytes(raw("mail-clock", marks=[mark], final=True))
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"
    await open_sync(ws)
    assert isinstance(await next_frame(ws, frames.Entries), frames.Entries)


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:1\n2026-12-06 WARNING node.peers: forged line",
        "http://127.0.0.1:1\x00",
        "http://user:secret@127.0.0.1:8470",
        "javascript:alert(1)",
    ],
    ids=["newline", "nul", "userinfo", "not-http"],
)
async def test_a_hello_with_a_bad_address_is_refused_never_stored_and_never_logged_raw(
    target: LiveNode,
    client: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    address: str,
) -> None:
    caplog.set_level(logging.INFO)
    ws, answer = await handshake(client, target, address=address)
    assert isinstance(answer, frames.Error)
    assert answer.code == "bad-address"
    await ws.close()
    stored = await PeerBook(target.node.store).get(ROGUE.node_id)
    assert stored is not None
    assert stored.address is None
    for record in caplog.records:
        assert address not in record.getMessage()
        assert "\n" not in record.getMessage()
        assert "\x00" not in record.getMessage()


async def test_an_error_frame_carrying_a_forged_log_line_is_refused_and_never_logged_raw(
    target: LiveNode, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ws = await connect(client, target)
    forged = "fine\n2026-12-06 23:00:00 WARNING node.peers: Oakfield was blocked"
    await ws.send_bytes(raw("error", code="bad-frame", message=forged))
    answer = await next_frame(ws, frames.Error)
    assert isinstance(answer, frames.Error)
    assert answer.code == "bad-frame"
    assert not [r for r in caplog.records if "\n" in r.getMessage()]


async def test_a_flood_of_entries_that_cannot_be_stored_writes_a_bounded_number_of_lines(
    target: LiveNode, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = await connect(client, target)
    await open_sync(ws)
    # Entries 2 to 257 of the rogue's log without entry 1: each verifies, none can be
    # stored (a gap), and gaps are no strikes, so the session goes on for ever.
    first = chain(ROGUE, 1)[0]
    gaps = [
        create_entry(
            ROGUE, seq=n, prev=first.id, timestamp=now_ms(), kind="offer", content=offer_content()
        ).encode()
        for n in range(2, 2 + frames.MAX_BATCH_ENTRIES)
    ]
    rounds = 8
    for number in range(1, rounds + 1):
        await ws.send_bytes(frames.encode(frames.Entries(number, gaps)))
    for _ in range(rounds):
        assert isinstance(await next_frame(ws, frames.Ack), frames.Ack)
    logged = lines_about(caplog, ROGUE)
    assert len(logged) <= LINES_PER_PEER, logged[-5:]
    assert await target.node.store.count_entries() == 1  # the target's own profile


async def test_a_batch_of_bad_signatures_gets_ten_error_frames_then_the_session_closes(
    target: LiveNode, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = await connect(client, target)
    await open_sync(ws)
    good = chain(ROGUE, 1)[0]
    forged = bytearray(good.signature)
    forged[0] ^= 1
    bad = codec.encode([good.payload_bytes, bytes(forged), good.content_bytes])
    await ws.send_bytes(frames.encode(frames.Entries(1, [bad] * frames.MAX_BATCH_ENTRIES)))
    received = await frames_until_closed(ws)
    errors = [f for f in received if isinstance(f, frames.Error)]
    assert len(errors) == 10
    assert {e.code for e in errors} == {"bad-signature"}
    assert len(lines_about(caplog, ROGUE)) <= LINES_PER_PEER


async def test_a_partner_that_redials_while_its_closed_session_is_closing_is_accepted(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    # The target closes the session (told the rogue's disk is full) and waits for the
    # close to be answered; the rogue does not answer but redials at once. The old
    # session is closing: it must not count as the session with the rogue. (Ended for
    # ten strikes, the rogue would be refused for a while: tests/hostile/test_redial.py.)
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Error.about("storage-full", "the disk is full")))
    again = await connect(client, target)
    assert isinstance(await next_frame(again, frames.Clock), frames.Clock)
    await again.close()
    # And redialling straight after a clean close, many times over.
    for attempt in range(20):
        ws = await connect(client, target)
        clock = await next_frame(ws, frames.Clock)  # kept, not closed as a duplicate
        assert isinstance(clock, frames.Clock), f"attempt {attempt}"
        await ws.close()


async def test_a_stranger_dialling_again_and_again_writes_a_bounded_number_of_lines(
    target: LiveNode, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert target.address is not None
    stranger = key(72)  # a valid key, but no partner of the target: refused every time
    for _ in range(40):
        ws = await client.ws_connect(target.address + "/peer")
        hs = DiallerHandshake(stranger, nonce=os.urandom(32), now_ms=now_ms(), expected=None)
        await ws.send_bytes(hs.hello_bytes)
        await ws.send_bytes(hs.receive_welcome((await ws.receive(timeout=5)).data))
        refusal = frames.decode((await ws.receive(timeout=5)).data)
        assert isinstance(refusal, frames.Error)
        assert refusal.code == "not-a-partner"
        await ws.close()
    refused = [r for r in caplog.records if "refused a peer from" in r.getMessage()]
    assert len(refused) <= LINES_PER_PEER


async def test_a_partner_naming_us_as_its_relay_cannot_make_us_keep_a_row_per_made_up_sender(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """The rogue names the target as its relay, then "confirms" letters from 500 senders
    the target never held mail of: none is kept to pass back (mail_delivered), so the
    table is bounded by the mail the target took as a relay."""
    store = target.node.store
    profile = create_entry(
        ROGUE,
        seq=1,
        prev=None,
        timestamp=now_ms(),
        kind="profile",
        content={"name": "Rogue School", "country": "GB", "relays": [str(target.node.node_id)]},
    )
    await store.ingest([profile], now_ms())
    me, rogue = bytes(target.node.node_id), bytes(ROGUE.node_id)
    assert target.node.node_id in await target.node.mail.relays_of(ROGUE.node_id)
    # One letter of ours to the rogue: its confirmation shows the clock was judged.
    await target.node.mail.send(
        "project-join", {"p": "0" * 32}, [ROGUE.node_id], about=None, now=now_ms()
    )
    ws = await connect(client, target)
    made_up = [[os.urandom(32), rogue, 1] for _ in range(500)]
    await ws.send_bytes(frames.encode(frames.MailClock([*made_up, [me, rogue, 1]], final=True)))

    async def judged() -> bool:
        return bool(await store.fetch_one("SELECT 1 FROM mail_acked WHERE recipient = ?", (rogue,)))

    await wait_for(judged, what="the target to take the rogue's mail clock")
    assert await store.fetch_one("SELECT count(*) FROM mail_delivered") == (0,)


async def test_a_clock_of_thousands_of_made_up_heads_is_compared_in_one_go_and_a_wrong_id_shown(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """A rogue's clock names 4,000 schools the target never heard of, with head ids, and
    the target itself under its first number with an id that is not its entry's. The
    target compares them all (in one trip to its database), answers the wrong id with
    its own entry as evidence, once, and the session goes on."""
    mine = bytes(target.node.node_id)
    made_up = [[os.urandom(32), 3, os.urandom(32)] for _ in range(4000)]
    heads = sorted([*made_up, [mine, 1, os.urandom(32)]])
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Clock(heads, final=False)))
    evidence = await next_frame(ws, frames.Entries)
    assert isinstance(evidence, frames.Entries)
    own = await target.node.store.entry_at(target.node.node_id, 1)
    assert own is not None
    assert evidence.entries == [own.encode()]
    await open_sync(ws)  # the session goes on: what the target posts next reaches us
    posted = await target.node.offers.post("offer", offer_content("Still flowing"))
    batch = await next_frame(ws, frames.Entries)
    assert isinstance(batch, frames.Entries)
    assert batch.entries == [posted.encode()]


async def test_a_wrong_head_named_thousands_of_times_is_answered_once(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    """One clock frame names the target's first entry under a wrong id 4,096 times, a
    second names it again: the target sends its entry as evidence once in the session,
    not once per pair (4,097 copies of up to 66 KiB each, outside the window)."""
    mine = bytes(target.node.node_id)
    wrong = [mine, 1, os.urandom(32)]
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Clock([wrong] * 4096, final=False)))
    await ws.send_bytes(frames.encode(frames.Clock([wrong], final=False)))
    await open_sync(ws)
    own = await target.node.store.entry_at(target.node.node_id, 1)
    assert own is not None
    posted = await target.node.offers.post("offer", offer_content("Still flowing"))
    shown = 0
    while True:  # in order: everything the clocks caused comes before the new offer
        batch = await next_frame(ws, frames.Entries)
        assert isinstance(batch, frames.Entries)
        if batch.entries == [own.encode()]:
            shown += 1
        if posted.encode() in batch.entries:
            break
    assert shown == 1


async def test_clock_frames_with_head_ids_past_the_bound_end_the_session_and_no_other(
    target: LiveNode,
    client: aiohttp.ClientSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node sends head ids only in the clock that opens a session; a rogue sending
    frame after frame of them (each a trip to the target's database) is told
    ``too-many-clocks`` past the session's bound, and the session ends. Others are
    served. The bound is 32,768 such frames of one pair (each counted as 64 pairs:
    tests/protocol/test_clock_bounds.py), which the frame rate (2,000 a second) lets
    through in 16 s: here it is cut to 512, the frames a rogue once had."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(  # read when a session starts
        replication, "MAX_ID_PAIRS", 512 * replication.MIN_ID_CLOCK_PAIRS
    )
    friend = await LiveNode.start(tmp_path / "friend", "Friendly School")
    try:
        await partner(target, friend)
        ws = await connect(client, target)
        mine = bytes(target.node.node_id)
        own = await target.node.store.entry_at(target.node.node_id, 1)
        assert own is not None
        head = frames.encode(frames.Clock([[mine, 1, bytes(own.id)]], final=False))
        for _ in range(512 + 1):
            await ws.send_bytes(head)
        received = await frames_until_closed(ws)
        errors = [f for f in received if isinstance(f, frames.Error)]
        assert [e.code for e in errors] == ["too-many-clocks"]
        assert [line for line in lines_about(caplog, ROGUE) if "too-many-clocks" in line]
        entry = await target.node.offers.post("offer", offer_content("Still flowing"))
        await wait_for(lambda: friend.holds(entry.id), what="the friend to get the offer")
    finally:
        await friend.stop()


async def test_forks_past_the_bound_end_the_session_before_any_more_is_sent(
    target: LiveNode, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each clock names another of the target's entries under a wrong id: the target
    shows each once, up to the bound of a session, then ends the session with
    ``too-many-forks`` instead of sending its store to the rogue as evidence."""
    monkeypatch.setattr(replication, "MAX_EVIDENCE", 2)  # read when a session starts
    for title in ("One", "Two"):
        await target.node.offers.post("offer", offer_content(title))
    mine = bytes(target.node.node_id)
    ws = await connect(client, target)
    for seq in (1, 2, 3):
        await ws.send_bytes(frames.encode(frames.Clock([[mine, seq, bytes(32)]], final=False)))
    received = await frames_until_closed(ws)
    shown = [f for f in received if isinstance(f, frames.Entries)]
    held = [await target.node.store.entry_at(target.node.node_id, seq) for seq in (1, 2)]
    assert [batch.entries for batch in shown] == [[e.encode()] for e in held if e is not None]
    assert [f.code for f in received if isinstance(f, frames.Error)] == ["too-many-forks"]


async def ended_and_held_off(target: LiveNode, ws: Socket) -> list[frames.Frame]:
    """Every frame until the target closes the session, once its dial loop holds off
    the rogue (the session's end is recorded a moment after the close)."""
    received = await frames_until_closed(ws)
    backoff = target.service.peers._backoff(ROGUE.node_id)

    async def held_off() -> bool:
        return backoff.open and ROGUE.node_id not in target.service.peers.sessions

    await wait_for(held_off, what="the target to hold off before dialling the rogue again")
    return received


async def test_a_session_ended_past_a_bound_holds_the_dialler_off(
    target: LiveNode, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the session ended and the target's dial loop called the rogue again at
    once, into a session with fresh bounds: as for a full disk, it now waits its
    cool-down (38 to 50 seconds; a rogue that dials in meanwhile is refused:
    tests/hostile/test_redial.py)."""
    # One frame of ids: the second goes past (read when a session starts).
    monkeypatch.setattr(replication, "MAX_ID_PAIRS", replication.MIN_ID_CLOCK_PAIRS)
    ws = await connect(client, target)
    own = await target.node.store.entry_at(target.node.node_id, 1)
    assert own is not None
    head = frames.encode(frames.Clock([[bytes(own.author), 1, bytes(own.id)]], final=False))
    for _ in range(2):
        await ws.send_bytes(head)
    received = await ended_and_held_off(target, ws)
    assert [f.code for f in received if isinstance(f, frames.Error)] == ["too-many-clocks"]


async def test_a_session_ended_for_too_many_strikes_holds_the_dialler_off(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    ws = await connect(client, target)
    for _ in range(10):
        await ws.send_bytes(b"\xc1")
    received = await ended_and_held_off(target, ws)
    assert len([f for f in received if isinstance(f, frames.Error)]) == 10


async def test_a_peer_saying_the_session_went_past_its_bounds_is_not_redialled_at_once(
    target: LiveNode, client: aiohttp.ClientSession
) -> None:
    # The other side of the bounds: told too-many-clocks, the target waits too.
    ws = await connect(client, target)
    await ws.send_bytes(frames.encode(frames.Error.about("too-many-clocks", "past the bound")))
    await ended_and_held_off(target, ws)


async def test_clocks_asking_again_do_not_make_the_target_read_every_head_it_holds(
    target: LiveNode, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock frame without ids, ``final``, of a few bytes: before, each made the target
    read every head it holds (about a second of CPU on a hub of 200,000 schools:
    docs/performance.md) to mark dirty what its view left behind, with no bound on how
    many a session sends. A later clock now reads the heads only of the authors it asks
    again for (given up on): nothing else it names can have more to send."""
    store = target.node.store
    full_reads = 0
    heads = store.heads

    async def counted() -> dict[NodeId, Head]:
        nonlocal full_reads
        full_reads += 1
        return await heads()

    monkeypatch.setattr(store, "heads", counted)
    ws = await connect(client, target)
    await open_sync(ws)
    assert isinstance(await next_frame(ws, frames.Entries), frames.Entries)
    opened = full_reads  # the target's own clock, and the peer's opening one
    mine = bytes(target.node.node_id)
    asking = frames.encode(frames.Clock([[mine, 1]], final=True))
    for _ in range(50):
        await ws.send_bytes(asking)
    await ws.send_bytes(frames.encode(frames.Ack(10**6, [])))  # answered after the clocks
    error = await next_frame(ws, frames.Error)
    assert isinstance(error, frames.Error)
    assert error.code == "bad-frame"
    assert full_reads == opened
