"""A restored backup with real nodes on loopback: it waits for its own newest entries
from a partner before it signs anything, so the school's log does not fork (issue 20,
Why 2)."""

from pathlib import Path

import pytest

from node import backup
from node.clock import now_ms
from node.net.server import NodeService
from node.node import Node
from protocol.errors import RestoredError
from tests.helpers import offer_content, run_cli
from tests.network import LiveNode, partner, wait_for


async def _open_live(path: Path) -> LiveNode:
    node = await Node.open(path)
    service = NodeService(node)
    await service.start(listen=False)
    return LiveNode(node, service)


async def test_a_restored_node_posts_only_after_fetching_its_newer_entries_and_does_not_fork(
    tmp_path: Path,
) -> None:
    oak = await LiveNode.start(tmp_path / "oak", "Oakfield Primary")
    lycee = await LiveNode.start(tmp_path / "lycee", "Lycée Jean Moulin", country="FR")
    restored: LiveNode | None = None
    try:
        await partner(oak, lycee)
        first = await oak.node.offers.post("offer", offer_content("Before the backup"))
        # Made by the command, in another process, while the node runs.
        made = run_cli("backup", "--data", str(tmp_path / "oak"), "--out", str(tmp_path / "b"))
        assert made.returncode == 0, made.stderr
        after = await oak.node.offers.post("offer", offer_content("After the backup"))
        await wait_for(lambda: lycee.holds(after.id), what="the newer offer at the partner")
        await oak.stop()  # the school's computer is lost; its partner still holds all

        await backup.restore(tmp_path / "b", tmp_path / "again")
        node = await Node.open(tmp_path / "again")
        assert await node.store.get(first.id) is not None
        assert await node.store.get(after.id) is None
        with pytest.raises(RestoredError, match="restored from a backup"):
            await node.offers.post("offer", offer_content("Too early"))
        await node.close()

        restored = await _open_live(tmp_path / "again")
        await wait_for(lambda: restored.holds(after.id), what="its own newer offer fetched")

        async def not_waiting() -> bool:
            assert restored is not None
            return await backup.restored_state(restored.node) is None

        await wait_for(not_waiting, what="the restored node to stop waiting")
        newest = await restored.node.offers.post("offer", offer_content("After the restore"))
        assert newest.seq == after.seq + 1
        await wait_for(lambda: lycee.holds(newest.id), what="the new offer at the partner")
        assert await lycee.node.store.equivocations() == []
    finally:
        for live in (oak, lycee, restored):
            if live is not None:
                await live.stop()


async def test_a_node_restored_as_the_only_copy_posts_at_once(tmp_path: Path) -> None:
    async with await Node.create(tmp_path / "oak", name="Oakfield", country="GB") as node:
        await backup.backup(node, tmp_path / "b")
    await backup.restore(tmp_path / "b", tmp_path / "again", only_copy=True)
    async with await Node.open(tmp_path / "again") as node:
        entry = await node.offers.post("offer", offer_content())
        assert entry.seq == 2


async def test_a_restored_node_seals_no_letter_while_it_waits(tmp_path: Path) -> None:
    async with await Node.create(tmp_path / "oak", name="Oakfield", country="GB") as node:
        await backup.backup(node, tmp_path / "b")
    await backup.restore(tmp_path / "b", tmp_path / "again")
    async with await Node.create(tmp_path / "x", name="X", country="FR") as x:
        other = x.node_id
    async with await Node.open(tmp_path / "again") as node:
        with pytest.raises(RestoredError):
            await node.mail.send("rsvp", {}, [other], about=None, now=0)


async def test_a_restored_node_numbers_its_letters_after_those_the_lost_copy_sealed(
    tmp_path: Path,
) -> None:
    """The backup knows one letter fewer than the partner got: the restored node's next
    letter must not reuse its number (the partner would drop it as a repeat)."""
    oak = await LiveNode.start(tmp_path / "oak", "Oakfield Primary")
    lycee = await LiveNode.start(tmp_path / "lycee", "Lycée Jean Moulin", country="FR")
    restored: LiveNode | None = None
    pair = (oak.node.node_id, lycee.node.node_id)

    async def letters_taken(count: int) -> bool:
        return (*pair, count) in await lycee.node.mail.marks()

    try:
        await partner(oak, lycee)
        offer = await lycee.node.offers.post("offer", offer_content("French lessons"))
        await wait_for(lambda: oak.holds(offer.id), what="the partner's offer")
        await backup.backup(oak.node, tmp_path / "b")
        await oak.node.interests.send(str(offer.id), "We are interested", by=None, now=now_ms())
        await wait_for(lambda: letters_taken(1), what="the first letter at the partner")
        await oak.stop()

        await backup.restore(tmp_path / "b", tmp_path / "again")
        restored = await _open_live(tmp_path / "again")

        async def not_waiting() -> bool:
            assert restored is not None
            return await backup.restored_state(restored.node) is None

        await wait_for(not_waiting, what="the restored node to stop waiting")
        await restored.node.interests.send(str(offer.id), "Still keen", by=None, now=now_ms())
        await wait_for(lambda: letters_taken(2), what="the letter after the restore")
    finally:
        for live in (oak, lycee, restored):
            if live is not None:
                await live.stop()
