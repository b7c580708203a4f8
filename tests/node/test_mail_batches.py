"""The mail room reads and writes what protocol/mailsync.py decides, on real SQLite files.

Two nodes, no network: what one would send is read from its database and handed to
the other's ``Mailroom.accept`` as a peer session would (node/mail_session.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from node.node import Node
from protocol import letters
from protocol.keys import NodeId
from protocol.mailsync import MAIL_BATCH_BYTES, Mark


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    oak = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    lycee = await Node.create(tmp_path / "lycee", name="Lycée Victor Hugo", country="FR")
    try:
        yield oak, lycee
    finally:
        await oak.close()
        await lycee.close()


async def seal(sender: Node, recipient: Node, count: int) -> None:
    for i in range(count):
        await sender.mail.send(
            letters.PROJECT_JOIN,
            {"p": f"{i:032x}"},
            [recipient.node_id],
            about=None,
            now=now_ms(),
        )


async def test_a_batch_holds_what_the_peer_lacks_in_order_and_stops_at_the_byte_budget(
    pair: tuple[Node, Node],
) -> None:
    oak, lycee = pair
    await seal(oak, lycee, 4)
    me, peer = oak.node_id, lycee.node_id
    everything = await oak.mail.outgoing(peer, {})
    assert [(o.sender, o.recipient, o.seq) for o in everything] == [
        (me, peer, q) for q in (1, 2, 3, 4)
    ]
    assert len({o.wire for o in everything}) == 4
    lacking = await oak.mail.outgoing(peer, {(me, peer): 2})
    assert [o.seq for o in lacking] == [3, 4]
    assert [o.wire for o in lacking] == [o.wire for o in everything[2:]]
    size = len(everything[0].wire)
    assert [o.seq for o in await oak.mail.outgoing(peer, {}, max_bytes=2 * size + 1)] == [1, 2]
    assert [o.seq for o in await oak.mail.outgoing(peer, {}, max_bytes=1)] == [1]  # one goes
    assert size * 4 < MAIL_BATCH_BYTES


async def test_a_school_that_names_no_relay_is_never_given_a_third_schools_letters(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    oak, lycee = pair
    colegio = await Node.create(tmp_path / "colegio", name="Colegio Cervantes", country="ES")
    try:
        await seal(oak, colegio, 2)
        assert await oak.mail.outgoing(lycee.node_id, {}) == []
        assert len(await oak.mail.outgoing(colegio.node_id, {})) == 2
    finally:
        await colegio.close()


async def test_a_batch_is_taken_strictly_in_order_and_the_ack_gives_the_mark_after_it(
    pair: tuple[Node, Node],
) -> None:
    oak, lycee = pair
    await seal(oak, lycee, 4)
    me, peer = oak.node_id, lycee.node_id
    wires = [o.wire for o in await oak.mail.outgoing(peer, {})]
    # 3 before 1 is a gap, the second 1 a repeat: 1 and 2 are taken, then 4 is a gap.
    marks, _ = await lycee.mail.accept(
        [wires[2], wires[0], wires[0], wires[1], wires[3]], me, now_ms()
    )
    assert marks == [(me, peer, 2)]
    assert await lycee.mail._mark((me, peer)) == 2
    marks, _ = await lycee.mail.accept([wires[2], wires[3]], me, now_ms())
    assert marks == [(me, peer, 4)]
    # The sender hears the mark and forgets what the recipient holds.
    await oak.mail.confirmed(peer, marks)
    assert await oak.mail.outgoing(peer, {}) == []


async def test_a_slot_for_a_school_that_does_not_name_us_is_left_out_of_the_ack(
    pair: tuple[Node, Node], tmp_path: Path
) -> None:
    oak, lycee = pair
    colegio = await Node.create(tmp_path / "colegio", name="Colegio Cervantes", country="ES")
    try:
        await seal(oak, colegio, 1)
        wires = [o.wire for o in await oak.mail.outgoing(colegio.node_id, {})]
        marks, refused = await lycee.mail.accept(wires, oak.node_id, now_ms())
        assert (marks, refused) == ([], [])
        rows = await lycee.store.fetch_all("SELECT COUNT(*) FROM mail")
        assert rows[0][0] == 0
    finally:
        await colegio.close()


async def test_envelopes_confirmed_by_another_session_between_the_two_reads_are_left_out(
    pair: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``outgoing`` reads what it holds, then the chosen envelopes' bytes: another
    session may confirm and drop some in between. The rest still goes."""
    oak, lycee = pair
    await seal(oak, lycee, 4)
    me, peer = oak.node_id, lycee.node_id
    relays_of = oak.mail._relays

    async def confirmed_meanwhile(recipients: set[NodeId]) -> dict[NodeId, set[NodeId]]:
        await oak.mail.confirmed(peer, [Mark(me, peer, 2)])  # as another session would
        return await relays_of(recipients)

    monkeypatch.setattr(oak.mail, "_relays", confirmed_meanwhile)
    assert [o.seq for o in await oak.mail.outgoing(peer, {})] == [3, 4]
