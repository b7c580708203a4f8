"""``schoolmesh check`` and the check at ``run``, in a subprocess (issue 20, item 3)."""

import json
import stat
import subprocess
from pathlib import Path

from tests.damage import damage_entries_page, damage_search_index, make_node
from tests.helpers import run_cli

POST = ("offer", "post", "--kind", "observation", "--title", "Year 5 maths")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(*args)
    assert "Traceback" not in result.stderr
    assert "unexpected" not in result.stderr  # worded as a bug before the fix
    return result


async def test_check_says_a_sound_database_is_sound(tmp_path: Path) -> None:
    await make_node(tmp_path / "oak")
    result = cli("check", "--data", str(tmp_path / "oak"))
    assert result.returncode == 0, result.stderr
    assert "is sound" in result.stdout
    report = json.loads(cli("check", "--data", str(tmp_path / "oak"), "--json").stdout)
    assert report["ok"] is True
    assert report["database_problems"] == report["search_index_problems"] == []


async def test_a_damaged_entries_page_is_reported_with_the_way_out_and_posts_are_refused(
    tmp_path: Path,
) -> None:
    """Before: `offer list` said "unexpected DatabaseError ... please report it", and
    `offer post` into the damaged table succeeded."""
    data = str(tmp_path / "oak")
    damage_entries_page(await make_node(tmp_path / "oak"))
    listed = cli("offer", "list", "--data", data)
    assert listed.returncode == 1
    assert "is damaged" in listed.stderr
    assert "Run `schoolmesh check`" in listed.stderr
    posted = cli(*POST, "--data", data)
    assert posted.returncode == 1
    assert "nothing was saved" in posted.stderr
    checked = cli("check", "--data", data, "--json")
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert report["ok"] is False
    assert report["database_problems"]
    assert "last backup" in checked.stderr
    repaired = cli("check", "--repair", "--data", data)  # --repair cannot mend this
    assert repaired.returncode == 1
    assert "last backup" in repaired.stderr


async def test_run_refuses_to_start_on_a_damaged_database(tmp_path: Path) -> None:
    damage_entries_page(await make_node(tmp_path / "oak"))
    result = cli("run", "--no-listen", "--data", str(tmp_path / "oak"))
    assert result.returncode == 1
    assert "is damaged" in result.stderr
    assert "is running" not in result.stdout


async def test_a_damaged_search_index_is_found_and_check_repair_rebuilds_it(
    tmp_path: Path,
) -> None:
    data = str(tmp_path / "oak")
    damage_search_index(await make_node(tmp_path / "oak"))
    checked = cli("check", "--data", data)
    assert checked.returncode == 1
    assert "search index: listing_text" in checked.stdout
    assert "`schoolmesh check --repair`" in checked.stderr
    assert cli(*POST, "--data", data).returncode == 1  # nothing written meanwhile
    repaired = cli("check", "--repair", "--data", data)
    assert repaired.returncode == 0, repaired.stderr
    assert "Rebuilt the search index (listing_text)." in repaired.stdout
    assert "is sound" in repaired.stdout
    assert cli(*POST, "--data", data).returncode == 0
    found = cli("search", "Offer 123", "--data", data, "--json")
    assert found.returncode == 0, found.stderr
    assert "Offer 123" in found.stdout


async def test_a_data_folder_readable_by_everyone_is_made_private_and_said(
    tmp_path: Path,
) -> None:
    database = await make_node(tmp_path / "oak")
    (tmp_path / "oak").chmod(0o755)
    database.chmod(0o644)
    result = cli("id", "--data", str(tmp_path / "oak"))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "oak").stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert result.stderr.count("made it private") == 2
    assert "could be read by other users of this computer" in result.stderr
    again = cli("id", "--data", str(tmp_path / "oak"))
    assert "made it private" not in again.stderr
