"""Shared test helpers: fixed keys and entries, and running the real command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from node.store import migrations
from protocol import budget
from protocol.entry import Entry, create_entry
from protocol.keys import NodeKey

NOW = 1_790_000_000_000  # a fixed "now" (2026-09-21) for pure tests
SCHOOLMESH = str(Path(sys.executable).with_name("schoolmesh"))


def key(n: int) -> NodeKey:
    """A reproducible key: seed of 32 bytes all equal to ``n``."""
    return NodeKey(bytes([n]) * 32)


def offer_content(title: str = "Year 5 maths mastery lessons") -> dict[str, Any]:
    return {"activity": "observation", "title": title}


def chain(
    signer: NodeKey, count: int, *, start_ts: int = NOW - 60_000, step_ms: int = 1
) -> list[Entry]:
    """``count`` consecutive offers of one author, correctly chained, signed ``step_ms`` apart."""
    entries: list[Entry] = []
    for i in range(count):
        entries.append(
            create_entry(
                signer,
                seq=i + 1,
                prev=entries[-1].id if entries else None,
                timestamp=start_ts + i * step_ms,
                kind="offer",
                content=offer_content(f"Offer {i + 1}"),
            )
        )
    return entries


def history(signer: NodeKey, count: int) -> list[Entry]:
    """A busy school's ``count`` offers signed within its budget (protocol/budget.py),
    the newest a minute ago: every node takes them all at once. (A flood signed in a
    minute would be held back: tests/node/test_budget.py.)"""
    step = budget.RULE.interval_ms
    start = time.time_ns() // 1_000_000 - 60_000 - count * step
    return chain(signer, count, start_ts=start, step_ms=step)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``schoolmesh`` command, capturing its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLMESH")}
    full_env.update(env or {})
    return subprocess.run(
        [SCHOOLMESH, *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


class Trips:
    """Counts the calls a node makes on its database thread (aiosqlite's queue), as
    bench/approve.py counts them: ``with Trips(node.store) as trips: ...; trips.count``."""

    def __init__(self, store: Any) -> None:
        self.count = 0
        self._db = store._db
        self._real = self._db._execute

    async def _counted(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        return await self._real(fn, *args, **kwargs)

    def __enter__(self) -> Trips:
        self._db._execute = self._counted
        return self

    def __exit__(self, *exc: object) -> None:
        self._db._execute = self._real


def undoing_migrations(first: int) -> list[str]:
    """Statements undoing the migrations from index ``first`` on (their new tables and
    columns, newest first), so that a test can play a database an older version left,
    and see them run again."""
    made = re.compile(
        r"CREATE TABLE (?:IF NOT EXISTS )?(?P<table>\w+)"
        r"|CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?(?P<index>\w+)"
        r"|ALTER TABLE (?P<altered>\w+) ADD COLUMN (?P<column>\w+)"
    )
    undo: list[str] = []
    for sql in migrations.MIGRATIONS[first:]:
        for found in made.finditer(sql):  # in the order the migration made them
            if found["table"]:
                undo.append(f"DROP TABLE IF EXISTS {found['table']}")
            elif found["index"]:
                undo.append(f"DROP INDEX IF EXISTS {found['index']}")
            else:
                undo.append(f"ALTER TABLE {found['altered']} DROP COLUMN {found['column']}")
    return undo[::-1]
