"""A full disk (issue 20, Why 1): said in the school's words, the node stays up read-only,
partners hold off, and everything works again by itself once there is room."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import aiohttp
import pytest

from node import status
from node.net.session import STORAGE_DAMAGED, STORAGE_FULL
from node.node import Node
from node.partners.peerbook import PeerBook
from node.store import integrity
from node.store.problems import DISK_FULL_PAGE
from protocol.errors import DiskFullError
from tests.faults.disk import fill, long_offer, make_room
from tests.helpers import offer_content
from tests.network import LiveNode, wait_for

ROOT = Path(__file__).resolve().parents[2]


async def test_a_post_on_a_full_disk_says_so_in_the_schools_words_and_is_saved_once_there_is_room(
    tmp_path: Path,
) -> None:
    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        refusal = await fill(node)
        assert "the disk holding the schoolmesh data" in str(refusal)
        assert "is full: free some space; nothing was lost" in str(refusal)
        assert "please report" not in str(refusal)
        assert "restore" not in str(refusal)
        assert refusal.page == DISK_FULL_PAGE
        held = await node.store.count_entries()
        with pytest.raises(DiskFullError):
            await node.offers.post("offer", long_offer("Refused while full"))
        assert await node.store.count_entries() == held  # nothing half-written
        assert (await status.report(node))["storage"]["state"] == "full"
        assert (await integrity.check(node.store, full=True)).ok

        await make_room(node)  # no reopening, no restart
        entry = await node.offers.post("offer", long_offer("Saved once there is room"))
        assert await node.store.get(entry.id) is not None
        assert (await status.report(node))["storage"]["state"] == "ok"
    finally:
        await node.close()


async def test_a_node_on_a_full_disk_serves_pages_and_has_partners_hold_off_until_there_is_room(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    a, b = pair
    await fill(a.node)
    entry = await b.node.offers.post("offer", long_offer("Forest school morning"))
    held_off = b.service.peers._backoff(a.node.node_id)

    async def b_holds_off() -> bool:
        statuses = await PeerBook(b.node.store).statuses()
        told = statuses.get(a.node.node_id)
        return held_off.open and told is not None and STORAGE_FULL in (told.last_error or "")

    # Before, the session closed and B redialled at once: ~950 sessions a minute.
    await wait_for(b_holds_off, what="B to be told A's disk is full, and hold off")
    assert not await a.holds(entry.id)
    report = await status.report(a.node)
    assert report["storage"]["state"] == "full"
    assert report["running"]

    assert a.address is not None
    async with aiohttp.ClientSession() as client:  # pages and node information still served
        async with client.get(a.address + "/.well-known/schoolmesh") as response:
            assert response.status == 200
        async with client.get(a.address + "/") as response:
            assert response.status == 200

    await make_room(a.node)  # no restart: the next session stores it
    await wait_for(lambda: a.holds(entry.id), what="B's offer at A once there is room")
    assert (await status.report(a.node))["storage"]["state"] == "ok"


async def test_a_node_whose_database_is_found_damaged_has_partners_hold_off_too(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    a, b = pair
    a.node.store.mark_damaged("the entries table has a damaged page")  # as `check` does
    entry = await b.node.offers.post("offer", offer_content("Forest school morning"))
    held_off = b.service.peers._backoff(a.node.node_id)

    async def b_holds_off() -> bool:
        told = (await PeerBook(b.node.store).statuses()).get(a.node.node_id)
        return held_off.open and told is not None and STORAGE_DAMAGED in (told.last_error or "")

    await wait_for(b_holds_off, what="B to be told A cannot store, and hold off")
    assert not await a.holds(entry.id)
    a.node.store.clear_damage()  # `schoolmesh check` found it sound again
    await wait_for(lambda: a.holds(entry.id), what="B's offer at A once repaired")


async def test_a_watcher_that_fails_is_started_again_and_shown_in_status(
    pair: tuple[LiveNode, LiveNode], caplog: pytest.LogCaptureFixture
) -> None:
    """The watcher relays what the command line commits: before, it died on its first
    failure ("Task exception was never retrieved") and posts stopped reaching partners."""
    a, b = pair
    database = a.node.data.database
    caplog.set_level(logging.WARNING, logger="node.net.supervisor")
    with closing(sqlite3.connect(database, timeout=10)) as other:  # another process's change
        other.execute("ALTER TABLE partners RENAME TO partners_away")
        other.commit()

    async def restarting() -> bool:
        return a.service.peers.supervisor.health["change watcher"].restarts >= 1

    await wait_for(restarting, what="the watcher to fail and be started again")
    with closing(sqlite3.connect(database, timeout=10)) as other:
        other.execute("ALTER TABLE partners_away RENAME TO partners")
        other.commit()
    lines = [r for r in caplog.records if "change watcher" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]  # one line, not one a failure

    async with await Node.open(a.node.data.path) as command_line:
        entry = await command_line.offers.post(
            "offer", offer_content("Posted from the command line")
        )
    await wait_for(lambda: b.holds(entry.id), what="the post relayed by the restarted watcher")

    async def shown() -> bool:
        tasks = (await status.report(a.node))["tasks"]
        return any(t["name"] == "change watcher" and t["restarts"] >= 1 for t in tasks)

    await wait_for(shown, what="the restarts in status")
    watcher = next(t for t in (await status.report(a.node))["tasks"] if t["restarts"])
    assert watcher["state"] == "running"
    assert "no such table: partners" in watcher["last_error"]


def _namespaces() -> bool:
    """A user and mount namespace can be made here without privileges (not everywhere)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _namespaces(), reason="no unprivileged user and mount namespaces here")
def test_a_node_on_a_disk_that_really_fills_up(tmp_path: Path) -> None:
    """Before: the post said "unexpected OperationalError ... please report it", later
    commands hung, the watcher died (status: "not running"), and a disk already full
    made `status` say the database was not usable: "restore it from a backup"."""
    done = subprocess.run(
        ["unshare", "-rm", sys.executable, "-m", "tests.faults.tmpfs_full", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)
    full = "the disk holding the schoolmesh data"
    refused = steps["post_while_full"]
    assert refused["code"] == 1
    assert (
        f"{full} ({tmp_path}/disk/oak) is full: free some space; nothing was lost"
        in (refused["err"])
    )
    assert "report" not in refused["err"]
    assert steps["list_while_full"]["code"] == 0  # no command hangs
    assert f"WARNING: {full} is full" in steps["status_while_full"]["out"]
    assert steps["status_json_while_full"]["storage"]["state"] == "full"
    assert steps["status_json_while_full"]["running"]
    assert steps["post_with_room"]["code"] == 0  # no restart needed
    assert steps["status_with_room"]["running"]
    assert steps["status_with_room"]["storage"]["state"] == "ok"
    assert "node_hung_on_stop" not in steps
    already = steps["status_already_full"]
    assert already["code"] == 1
    assert f"{full} ({tmp_path}/disk/oak) is full" in already["err"]
    assert "restore" not in already["err"]
    assert "A visit saved once there is room" in steps["list_after"]["out"]
    assert "A visit that does not fit" not in steps["list_after"]["out"]
    assert "Traceback" not in steps["node_log"]
