"""``schoolmesh backup`` and ``schoolmesh restore`` in a subprocess (issue 20, item 2)."""

import json
import os
import stat
import subprocess
import tarfile
from pathlib import Path

from tests.helpers import run_cli

POST = ("offer", "post", "--kind", "observation", "--title", "Year 5 maths")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(*args)
    assert "Traceback" not in result.stderr
    assert "unexpected" not in result.stderr
    return result


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _node_with_backup(tmp_path: Path) -> tuple[str, Path]:
    data = str(tmp_path / "oak")
    made = cli("init", "--data", data, "--name", "Oakfield Primary", "--country", "GB")
    assert made.returncode == 0, made.stderr
    assert cli(*POST, "--data", data).returncode == 0
    out = tmp_path / "oak.backup"
    result = cli("backup", "--data", data, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)
    assert written["file"] == str(out)
    assert written["own_head"] == 2
    return data, out


def test_a_backup_is_private_and_never_overwritten_by_accident(tmp_path: Path) -> None:
    data, out = _node_with_backup(tmp_path)
    assert _mode(out) == 0o600  # it holds the school's key
    again = cli("backup", "--data", data, "--out", str(out))
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert cli("backup", "--data", data, "--out", str(out), "--force").returncode == 0


def test_a_restored_node_is_private_sound_and_waits_until_told_it_is_the_only_copy(
    tmp_path: Path,
) -> None:
    _, out = _node_with_backup(tmp_path)
    again = tmp_path / "again"
    result = cli("restore", str(out), "--data", str(again))
    assert result.returncode == 0, result.stderr
    assert _mode(again) == 0o700
    assert _mode(again / "node.key") == _mode(again / "schoolmesh.db") == 0o600
    assert cli("check", "--data", str(again)).returncode == 0
    listed = json.loads(cli("offer", "list", "--data", str(again), "--json").stdout)
    assert len(listed) == 1

    refused = cli(*POST, "--data", str(again))
    assert refused.returncode == 1
    assert "restored from a backup" in refused.stderr
    assert "--only-copy" in refused.stderr
    status = json.loads(cli("status", "--data", str(again), "--json").stdout)
    assert status["restored"] is not None
    assert "waiting to fetch" in cli("status", "--data", str(again)).stdout

    assert cli("restore", "--only-copy", "--data", str(again)).returncode == 0
    assert cli(*POST, "--data", str(again)).returncode == 0
    assert json.loads(cli("status", "--data", str(again), "--json").stdout)["restored"] is None


def test_restore_refuses_to_replace_a_node_unless_forced(tmp_path: Path) -> None:
    data, out = _node_with_backup(tmp_path)
    refused = cli("restore", str(out), "--data", data)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr
    forced = cli("restore", str(out), "--data", data, "--force", "--only-copy")
    assert forced.returncode == 0, forced.stderr


def test_a_damaged_or_foreign_backup_file_is_refused_in_words(tmp_path: Path) -> None:
    _, out = _node_with_backup(tmp_path)
    damaged = tmp_path / "damaged"
    raw = bytearray(out.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    damaged.write_bytes(bytes(raw[: len(raw) - 10]))
    foreign = tmp_path / "foreign.tar"
    with tarfile.open(foreign, "w") as tar:
        tar.add(__file__, arcname="notes.txt")
    text = tmp_path / "text"
    text.write_text("hello")
    for i, bad in enumerate((damaged, foreign, text)):
        target = tmp_path / f"t{i}"
        result = cli("restore", str(bad), "--data", str(target))
        assert result.returncode == 1, result.stdout
        assert "is not a usable schoolmesh backup" in result.stderr
        assert "nothing was restored" in result.stderr
        assert not (target / "node.key").exists()
    missing = cli("restore", str(tmp_path / "nowhere"), "--data", str(tmp_path / "t9"))
    assert missing.returncode == 2
    assert "no backup file" in missing.stderr
    assert os.listdir(tmp_path / "oak")  # the node itself untouched
