"""The test suite hashes passwords cheaply (tests/conftest.py); the program never does."""

import sqlite3
from contextlib import closing
from pathlib import Path

from node.datadir import DataDir
from tests.cli.test_commands import init, ok
from tests.helpers import run_cli

#: argon2-cffi's defaults (RFC 9106's low-memory profile): what a school's node stores.
PRODUCTION = "$argon2id$v=19$m=65536,t=3,p=4$"


def stored_hash(path: Path, name: str) -> str:
    with closing(sqlite3.connect(DataDir(path).database)) as db:
        (hashed,) = db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
    return str(hashed)


def test_the_installed_command_hashes_with_argon2s_defaults(tmp_path: Path) -> None:
    path = tmp_path / "node"
    assert init(path).returncode == 0
    added = run_cli(
        "user", "add", "--role", "staff", "--name", "Mr Jones", "--data", str(path), process=True
    )
    assert added.returncode == 0, added.stderr
    assert stored_hash(path, "Mr Jones").startswith(PRODUCTION)
    ok("user", "add", "--role", "staff", "--name", "Mrs Patel", "--data", str(path))
    assert not stored_hash(path, "Mrs Patel").startswith(PRODUCTION)  # in the tests' process
