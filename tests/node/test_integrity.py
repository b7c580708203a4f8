"""Integrity at start (issue 20, item 3): real SQLite files, damaged on purpose."""

import logging
import stat
from pathlib import Path

import pytest

from node.datadir import DataDir
from node.node import Node
from node.store import integrity
from node.store.search import Filters
from protocol.errors import StorageError
from tests.damage import OFFERS, damage_entries_page, damage_search_index, make_node
from tests.helpers import offer_content


async def test_a_sound_database_passes_both_checks(tmp_path: Path) -> None:
    await make_node(tmp_path / "oak")
    async with await Node.open(tmp_path / "oak", check=True) as node:
        report = await integrity.check(node.store, full=True)
        assert report.ok
        assert node.store.damage is None


async def test_a_node_with_a_damaged_entries_page_does_not_start_and_says_to_restore(
    tmp_path: Path,
) -> None:
    damage_entries_page(await make_node(tmp_path / "oak"))
    with pytest.raises(StorageError, match="is damaged") as raised:
        await Node.open(tmp_path / "oak", check=True)
    assert "Restore the data folder from your last backup" in str(raised.value)


async def test_nothing_is_written_into_a_database_that_failed_its_check(tmp_path: Path) -> None:
    """Before the fix, a post into a damaged entries table succeeded."""
    damage_entries_page(await make_node(tmp_path / "oak"))
    with pytest.raises(StorageError):
        await Node.open(tmp_path / "oak", check=True)
    async with await Node.open(tmp_path / "oak") as node:  # another command, later
        before = await node.store.count_entries()
        with pytest.raises(StorageError, match=r"nothing was saved: .* is damaged"):
            await node.offers.post("offer", offer_content())
        assert await node.store.count_entries() == before


async def test_reading_a_damaged_page_says_the_database_is_damaged_and_stops_writes(
    tmp_path: Path,
) -> None:
    damage_entries_page(await make_node(tmp_path / "oak"))
    async with await Node.open(tmp_path / "oak") as node:
        with pytest.raises(StorageError, match=r"is damaged .*last backup"):
            await node.offers.listing("offer")
        with pytest.raises(StorageError, match="nothing was saved"):
            await node.offers.post("offer", offer_content())


async def test_a_damaged_search_index_is_found_at_start_and_rebuilt_by_repair(
    tmp_path: Path,
) -> None:
    damage_search_index(await make_node(tmp_path / "oak"))
    with pytest.raises(StorageError, match=r"search index .* `schoolmesh check --repair`"):
        await Node.open(tmp_path / "oak", check=True)
    async with await Node.open(tmp_path / "oak") as node:
        assert not (await integrity.check(node.store, full=True)).ok
        assert await integrity.repair_search(node.store) == ("listing_text",)
        assert (await integrity.check(node.store, full=True)).ok
        assert node.store.damage is None
        # Every offer is found by its own words again, and by no others.
        assert await node.offers.search("nothing like it", Filters()) == []
        row = await node.store.fetch_one(
            "SELECT count(*) FROM listings AS l JOIN listing_text AS t ON t.rowid = l.n "
            "WHERE t.words = l.folded"
        )
        assert row[0] == OFFERS
        found = await node.offers.search("Offer 123", Filters())
        assert (found[0].entry.content or {})["title"] == "Offer 123"
        await node.offers.post("offer", offer_content())  # writes allowed again
    async with await Node.open(tmp_path / "oak", check=True):
        pass


async def test_the_folder_and_database_files_are_made_private_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = await make_node(tmp_path / "oak")
    wal = database.with_name("schoolmesh.db-wal")
    wal.touch()
    (tmp_path / "oak").chmod(0o755)
    database.chmod(0o644)
    wal.chmod(0o664)
    with caplog.at_level(logging.WARNING, logger="node.datadir"):
        async with await Node.open(tmp_path / "oak"):
            assert stat.S_IMODE((tmp_path / "oak").stat().st_mode) == 0o700
            assert stat.S_IMODE(database.stat().st_mode) == 0o600
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    repaired = [r.getMessage() for r in caplog.records if "made it private" in r.getMessage()]
    assert len(repaired) == 3
    assert "(mode -rw-r--r--): made it private (mode -rw-------)" in repaired[1]


def test_a_disk_that_keeps_no_permissions_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FAT or network disk ignores chmod: say so once, not at every file or command."""
    data = DataDir(tmp_path / "usb")
    data.prepare()
    for name in ("schoolmesh.db", "schoolmesh.db-wal"):
        (data.path / name).touch(mode=0o644)
        (data.path / name).chmod(0o644)
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)  # what such a disk does
    with caplog.at_level(logging.WARNING, logger="node.datadir"):
        data.make_private()
        data.make_private()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "cannot make" in lines[0]
    assert "other users of this computer may read" in lines[0]


async def test_a_running_node_stops_writing_once_a_check_elsewhere_finds_damage(
    tmp_path: Path,
) -> None:
    """`schoolmesh check` runs in another process than the node: its finding holds there."""
    damage_search_index(await make_node(tmp_path / "oak"))
    async with await Node.open(tmp_path / "oak") as running:
        await running.offers.post("offer", offer_content("Before the check"))
        async with await Node.open(tmp_path / "oak") as checking:
            assert not (await integrity.check(checking.store, full=True)).ok
        with pytest.raises(StorageError, match=r"nothing was saved: the search index"):
            await running.offers.post("offer", offer_content("After the check"))
        async with await Node.open(tmp_path / "oak") as checking:
            await integrity.repair_search(checking.store)
            assert (await integrity.check(checking.store, full=True)).ok
        await running.offers.post("offer", offer_content("After the repair"))


def test_a_file_that_cannot_be_changed_is_reported_with_the_chmod_to_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's file (an administrator running a command): say what to run."""
    data = DataDir(tmp_path / "shared")
    data.prepare()
    (data.path / "schoolmesh.db").touch()
    (data.path / "schoolmesh.db").chmod(0o644)

    def refuse(self: Path, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "chmod", refuse)
    with caplog.at_level(logging.WARNING, logger="node.datadir"):
        data.make_private()
    (line,) = [r.getMessage() for r in caplog.records]
    assert "Operation not permitted" in line
    assert f"chmod 600 {data.path / 'schoolmesh.db'}" in line
