"""A fork of a school's log with real nodes on loopback (issue 20, Why 2 and Deliver 8).

A copy restored from an old backup with ``--only-copy`` posts: one partner holds the
lost copy's posts, another the restored copy's, and the log has forked. Today's rules
leave both sides stuck; ``schoolmesh recover`` ends it with a signed continuation,
and every partner converges on one log with nothing either copy posted lost.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from node import backup
from node.node import Node
from node.store.placement import Outcome
from protocol.entry import Entry
from protocol.keys import NodeId
from tests.helpers import offer_content, run_cli
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, network, wait_for


async def _log(live: LiveNode, author: NodeId) -> list[bytes]:
    return [bytes(e.id) for e in await live.node.store.entries_after(author, 0, 10_000)]


async def _titles(live: LiveNode, author: NodeId) -> set[str]:
    listed = await live.node.store.current("offer")
    return {str((e.content or {})["title"]) for e in listed if e.author == author}


async def test_a_fork_after_a_restore_is_ended_by_recover_and_every_partner_converges(
    tmp_path: Path,
) -> None:
    async with network(tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("oak", "colegio")]) as (
        nodes
    ):
        oak, lycee, colegio = nodes["oak"], nodes["lycee"], nodes["colegio"]
        me = oak.node.node_id
        await backup.backup(oak.node, tmp_path / "b")
        await colegio.stop()  # away while the lost copy posts
        lost = await oak.node.offers.post("offer", offer_content("Posted by the lost copy"))
        later = await oak.node.offers.post("offer", offer_content("Also by the lost copy"))
        gone = await oak.node.offers.post("offer", offer_content("Withdrawn by the lost copy"))
        withdrawal = await oak.node.offers.withdraw("offer", str(gone.id))
        await wait_for(partial(lycee.holds, withdrawal.id), what="the lost copy's posts")
        await oak.stop()  # the school's computer is lost

        mine = await _restored_only_copy_posts(tmp_path, oak, colegio, lost)

        async def fork_known(live: LiveNode) -> bool:
            return any(author == me for author, _ in await live.node.store.forks())

        # Each side shows the other the entry it holds under the number they share.
        await wait_for(lambda: fork_known(oak), what="the fork seen by the school itself")
        await wait_for(lambda: fork_known(lycee), what="the fork seen at the Lycée")
        status = run_cli("status", "--data", str(tmp_path / "lycee"))
        assert f"node {me} signed two different entries numbered 2" in status.stdout
        # Both sides are stuck: the rules refuse each other's branch for good.
        stuck = await oak.node.store.ingest([await _get(lycee, later)], 0)
        assert stuck[0].outcome is Outcome.REFUSED
        assert stuck[0].error is not None
        assert stuck[0].error.code == "wrong-prev"
        stuck = await lycee.node.store.ingest([mine], 0)
        assert stuck[0].outcome is Outcome.EQUIVOCATION
        status = run_cli("status", "--data", str(tmp_path / "oak"))
        assert "run `schoolmesh recover`" in status.stdout, status.stdout

        # Step 1, node stopped.
        await oak.stop()
        first = run_cli("recover", "--data", str(tmp_path / "oak"), "--json")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout) == {"step": "started", "from_seq": lost.seq, "set_aside": 1}
        await oak.restart()

        async def fetched() -> bool:
            return await oak.node.store.get_setting("restored") is None

        await wait_for(fetched, what="the school's log fetched from the Lycée")
        assert await oak.holds(later.id)
        assert not await oak.holds(mine.id)  # set aside, refused from the Colegio meanwhile

        # Step 2, while the node runs.
        second = run_cli("recover", "--data", str(tmp_path / "oak"), "--json")
        assert second.returncode == 0, second.stderr
        done = json.loads(second.stdout)
        assert done["fork"] == lost.seq
        assert done["reposted"] == 1
        assert done["continuation"] == gone.seq + 2  # above both branches

        async def converged() -> bool:
            logs = [await _log(live, me) for live in (oak, lycee, colegio)]
            return logs[0] == logs[1] == logs[2] and len(logs[0]) == done["continuation"] + 1

        await wait_for(converged, within=30, what="one log of the school everywhere")
        for live in (oak, lycee, colegio):
            assert await _titles(live, me) == {
                "Posted by the lost copy",
                "Also by the lost copy",
                "Posted after the restore",
            }
            assert not await live.holds(mine.id)  # only its repost
            assert not await fork_known(live)
            assert (await live.node.store.withdrawn(gone.id)) is not None
        status = run_cli("status", "--data", str(tmp_path / "colegio"), "--json")
        assert json.loads(status.stdout)["forks"] == []


async def _get(live: LiveNode, entry: Entry) -> Entry:
    held = await live.node.store.get(entry.id)
    assert held is not None
    return held


async def test_restore_then_post_nothing_acknowledged_lost(tmp_path: Path) -> None:
    """The restored node waits, catches up from its partners, then posts: every partner
    ends with every entry either copy posted, in one log, and no fork anywhere."""
    async with network(
        tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("oak", "colegio")]
    ) as nodes:
        oak, lycee, colegio = nodes["oak"], nodes["lycee"], nodes["colegio"]
        me = oak.node.node_id
        await backup.backup(oak.node, tmp_path / "b")
        acknowledged = [
            await oak.node.offers.post("offer", offer_content(f"Acknowledged {i}"))
            for i in range(3)
        ]
        for live in (lycee, colegio):
            await wait_for(partial(live.holds, acknowledged[-1].id), what="the posts at partners")
        await oak.stop()

        await backup.restore(tmp_path / "b", tmp_path / "oak", force=True)
        await oak.restart()

        async def caught_up() -> bool:
            return await backup.restored_state(oak.node) is None

        await wait_for(caught_up, what="the restored node to catch up")
        after = await oak.node.offers.post("offer", offer_content("After the restore"))
        assert after.seq == acknowledged[-1].seq + 1

        async def everywhere() -> bool:
            logs = [await _log(live, me) for live in (oak, lycee, colegio)]
            return logs[0] == logs[1] == logs[2] and bytes(after.id) in logs[0]

        await wait_for(everywhere, what="one log everywhere with the new post")
        for live in (oak, lycee, colegio):
            assert await _titles(live, me) == {
                "Acknowledged 0",
                "Acknowledged 1",
                "Acknowledged 2",
                "After the restore",
            }
            assert await live.node.store.forks() == []
            assert await live.node.store.equivocations() == []


async def test_a_post_before_recover_finishes_does_not_keep_the_continuation_back(
    tmp_path: Path,
) -> None:
    """The school posts between the two steps of ``recover``: the partner holding the
    dropped branch refuses that post too (it does not follow its branch), and the
    continuation signed after it must still reach that partner in the same session.
    (Replication.renew tried a grown author again once per head the peer stopped at:
    the post used that once, and the continuation was never sent.)"""
    async with network(tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("oak", "colegio")]) as (
        nodes
    ):
        oak, lycee, colegio = nodes["oak"], nodes["lycee"], nodes["colegio"]
        me = oak.node.node_id
        await backup.backup(oak.node, tmp_path / "b")
        await colegio.stop()
        lost = await oak.node.offers.post("offer", offer_content("Posted by the lost copy"))
        later = await oak.node.offers.post("offer", offer_content("Also by the lost copy"))
        await wait_for(partial(lycee.holds, later.id), what="the lost copy's posts")
        await oak.stop()
        await _restored_only_copy_posts(tmp_path, oak, colegio, lost)
        await oak.stop()
        first = run_cli("recover", "--data", str(tmp_path / "oak"), "--json")
        assert first.returncode == 0, first.stderr
        await oak.restart()

        async def fetched() -> bool:
            return await oak.node.store.get_setting("restored") is None

        await wait_for(fetched, what="the school's log fetched from the Lycée")

        async def given_up() -> bool:
            session = oak.service.peers.sessions.get(colegio.node.node_id)
            return session is not None and me in session.sync.declined

        # The Colegio refuses the kept branch (it holds the other entry 2) until the
        # continuation: the Oak gives up on its own log there for now.
        await wait_for(given_up, what="the Colegio refusing the kept branch")
        session = oak.service.peers.sessions[colegio.node.node_id]
        meanwhile = await oak.node.offers.post("offer", offer_content("Posted meanwhile"))
        await wait_for(given_up, what="the Colegio refusing the post meanwhile too")
        assert oak.service.peers.sessions[colegio.node.node_id] is session

        second = run_cli("recover", "--data", str(tmp_path / "oak"), "--json")
        assert second.returncode == 0, second.stderr
        done = json.loads(second.stdout)
        assert done["fork"] == lost.seq

        async def converged() -> bool:
            logs = [await _log(live, me) for live in (oak, lycee, colegio)]
            return logs[0] == logs[1] == logs[2] and len(logs[0]) == done["continuation"] + 1

        await wait_for(converged, within=30, what="one log of the school everywhere")
        assert oak.service.peers.sessions[colegio.node.node_id] is session  # no new session
        assert await colegio.holds(meanwhile.id)
        assert "Posted after the restore" in await _titles(colegio, me)


async def _restored_only_copy_posts(
    tmp_path: Path, oak: LiveNode, colegio: LiveNode, lost: Entry
) -> Entry:
    """oak, stopped, is restored from its backup as "the only copy" and posts at once:
    its log forks under ``lost``'s number. Both restart; the post reaches colegio."""
    await backup.restore(tmp_path / "b", tmp_path / "oak", force=True, only_copy=True)
    async with await Node.open(tmp_path / "oak") as node:
        mine = await node.offers.post("offer", offer_content("Posted after the restore"))
    assert mine.seq == lost.seq
    await oak.restart()
    await colegio.restart()
    await wait_for(lambda: colegio.holds(mine.id), what="the restored copy's post")
    return mine
