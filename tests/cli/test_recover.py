"""``schoolmesh recover`` in a subprocess: each step says what to do next, and bad
input is refused in words with nothing changed (issue 20, item 2)."""

import asyncio
import json
import subprocess
from pathlib import Path

from node.node import Node
from protocol.entry import create_entry
from tests.helpers import NOW, chain, key, offer_content, run_cli
from tests.network import holding_everything

POST = ("offer", "post", "--kind", "observation", "--title", "Year 5 maths")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(*args)
    assert "Traceback" not in result.stderr
    assert "unexpected" not in result.stderr
    return result


def _restored(tmp_path: Path, *, posts: int) -> str:
    data = str(tmp_path / "oak")
    assert cli("init", "--data", data, "--name", "Oakfield", "--country", "GB").returncode == 0
    backup = str(tmp_path / "b")
    assert cli("backup", "--data", data, "--out", backup).returncode == 0
    again = str(tmp_path / "again")
    assert cli("restore", backup, "--data", again, "--only-copy").returncode == 0
    for _ in range(posts):
        assert cli(*POST, "--data", again).returncode == 0
    return again


def test_nothing_to_recover_on_a_node_that_never_forked(tmp_path: Path) -> None:
    data = str(tmp_path / "oak")
    assert cli("init", "--data", data, "--name", "Oakfield", "--country", "GB").returncode == 0
    result = cli("recover", "--data", data)
    assert result.returncode != 0
    assert "nothing to recover" in result.stderr
    assert "--from N" in result.stderr
    restored = _restored(tmp_path / "r", posts=0)
    result = cli("recover", "--data", restored)
    assert result.returncode != 0
    assert "posted nothing since it was restored" in result.stderr


def test_a_number_out_of_range_is_refused(tmp_path: Path) -> None:
    data = _restored(tmp_path, posts=1)
    for bad in ("0", "1", "3"):
        result = cli("recover", "--data", data, "--from", bad)
        assert result.returncode != 0
        assert "--from must be a number from 2 to 2" in result.stderr
        assert "nothing was changed" in result.stderr


def test_the_steps_say_what_comes_next(tmp_path: Path) -> None:
    data = _restored(tmp_path, posts=1)
    first = cli("recover", "--data", data)
    assert first.returncode == 0, first.stderr
    assert "Set aside 1 of this school's entries, from number 2 on" in first.stdout
    assert "`schoolmesh run`" in first.stdout
    status = cli("status", "--data", data)
    assert "Recovering from a fork of this school's log (from entry 2): fetching" in (status.stdout)
    posted = cli(*POST, "--data", data)
    assert posted.returncode != 0  # nothing new is signed while it waits
    early = cli("recover", "--data", data)
    assert early.returncode != 0
    assert "has not yet fetched this school's log from a partner" in early.stderr
    assert "--now" in early.stderr
    again = cli("recover", "--data", data, "--from", "2")
    assert again.returncode != 0
    assert "already under way" in again.stderr
    # No partner at all: finish with what it holds; its own entry is its log again.
    done = cli("recover", "--data", data, "--now", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "step": "finished",
        "fork": None,
        "continuation": None,
        "reposted": 0,
        "not_reposted": 0,
        "kept_own": True,
    }
    listed = json.loads(cli("offer", "list", "--data", data, "--json").stdout)
    assert [o["title"] for o in listed] == ["Year 5 maths"]
    assert cli(*POST, "--data", data).returncode == 0


def test_status_names_a_partners_fork_known_from_one_entry(tmp_path: Path) -> None:
    """An entry that does not follow the log held (its prev is another entry under the
    number held) is enough to know the author's log forked."""

    other = key(11)
    held = chain(other, 2)
    stray = [
        create_entry(
            other,
            seq=2,
            prev=held[0].id,
            timestamp=NOW,
            kind="offer",
            content=offer_content("The other copy's"),
        ),
    ]
    stray.append(
        create_entry(
            other,
            seq=3,
            prev=stray[0].id,
            timestamp=NOW,
            kind="offer",
            content=offer_content("Its next"),
        ),
    )

    async def fork() -> None:
        async with await Node.create(tmp_path / "oak", name="Oakfield", country="GB") as node:
            await holding_everything(node)  # a made-up school's log, whole
            await node.store.ingest(held, NOW)
            await node.store.ingest([stray[1]], NOW)

    asyncio.run(fork())
    status = cli("status", "--data", str(tmp_path / "oak"))
    assert f"WARNING: the log of {other.node_id} has forked (from about entry 2)" in (status.stdout)
    assert "runs `schoolmesh recover`" in status.stdout
    forks = json.loads(cli("status", "--data", str(tmp_path / "oak"), "--json").stdout)["forks"]
    assert forks == [{"author": str(other.node_id), "name": "", "seq": 2, "own": False}]
