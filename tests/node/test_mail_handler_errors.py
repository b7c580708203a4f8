"""A letter whose handler fails is refused alone: its half-done writes are undone and the
rest of the batch goes on (node/mail/mailroom.py, ``_open``).

Two nodes, no network: what one would send is read from its database and handed to
the other's ``Mailroom.accept`` as a peer session would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from node.mail.mailroom import LetterHandler
from node.node import Node
from node.store.problems import restored_error
from protocol import letters
from protocol.errors import RestoredError
from protocol.sealed import Letter


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    oak = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    lycee = await Node.create(tmp_path / "lycee", name="Lycée Victor Hugo", country="FR")
    try:
        yield oak, lycee
    finally:
        await oak.close()
        await lycee.close()


class Failing:
    """A handler that writes for every letter, then fails on the one numbered ``bad``
    (a bug, or a limit met half way, such as a letter with too many recipients)."""

    def __init__(self, node: Node, bad: str) -> None:
        self.node = node
        self.bad = bad
        self.needs_checkpoint = False
        self.seen: list[str] = []

    async def receive(self, letter: Letter, now: int) -> None:
        project = letter.content["p"]
        self.seen.append(project)
        await self.node.store.execute(
            "INSERT INTO settings VALUES (?, ?)", (f"seen-{project}", b"1")
        )
        if project == self.bad:
            raise ValueError("a letter goes to 1 to 64 other schools")


async def test_a_handler_that_raises_refuses_its_letter_alone_and_the_batch_goes_on(
    pair: tuple[Node, Node], caplog: pytest.LogCaptureFixture
) -> None:
    oak, lycee = pair
    for i in range(3):
        await oak.mail.send(
            letters.PROJECT_JOIN, {"p": f"{i:032x}"}, [lycee.node_id], about=None, now=now_ms()
        )
    failing = Failing(lycee, f"{1:032x}")
    handler: LetterHandler = failing
    lycee.mail.handler = handler
    me, peer = oak.node_id, lycee.node_id
    batch = await oak.mail.outgoing(peer, {})
    marks, refused = await lycee.mail.accept([o.wire for o in batch], me, now_ms())
    # Every letter was taken: the batch is acknowledged, so it is not sent again.
    assert (me, peer, 3) in marks
    assert failing.seen == [f"{i:032x}" for i in range(3)]
    kept = await lycee.store.fetch_all("SELECT name FROM settings WHERE name LIKE 'seen-%'")
    # What the failing letter's handler wrote is undone; the others' writes stay.
    assert sorted(name for (name,) in kept) == [f"seen-{0:032x}", f"seen-{2:032x}"]
    # Our own failure is not the sending school's fault: it is logged, not blamed on it.
    assert refused == []
    assert any("could not be acted on" in r.getMessage() for r in caplog.records)
    # Offered again, nothing is taken twice.
    again = await oak.mail.outgoing(peer, {(me, peer): 3})
    assert again == []


async def test_a_handler_stopped_by_this_nodes_own_state_leaves_the_batch_to_be_taken_again(
    pair: tuple[Node, Node],
) -> None:
    """Nothing may be sent while the node waits after a restore: a letter whose answer
    would send one is not set aside for good, the batch is simply not taken yet."""
    oak, lycee = pair
    await oak.mail.send(
        letters.PROJECT_JOIN, {"p": f"{0:032x}"}, [lycee.node_id], about=None, now=now_ms()
    )

    class Restored(Failing):
        async def receive(self, letter: Letter, now: int) -> None:
            raise restored_error()

    lycee.mail.handler = Restored(lycee, "")
    me, peer = oak.node_id, lycee.node_id
    batch = await oak.mail.outgoing(peer, {})
    with pytest.raises(RestoredError):
        await lycee.mail.accept([o.wire for o in batch], me, now_ms())
    assert await lycee.mail._mark((me, peer)) == 0
