"""Shared test helpers: fixed keys and entries, and running the command (in this process or
as the installed program)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cli import main as cli_main
from node.store import migrations
from protocol import budget, codec
from protocol.entry import Entry, Payload, create_entry
from protocol.keys import NodeKey, content_hash

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


def append_signed(
    log: list[Entry], signer: NodeKey, kind: str, content: Any, seq: int | None = None
) -> Entry:
    """The next entry of ``signer``'s ``log`` (or one under ``seq``: a fork, a gap), signed
    a millisecond after the one before, appended to ``log`` and returned."""
    entry = create_entry(
        signer,
        seq=seq or (log[-1].seq + 1 if log else 1),
        prev=log[-1].id if log else None,
        timestamp=NOW - 1000 + len(log),
        kind=kind,
        content=content,
    )
    log.append(entry)
    return entry


def history(signer: NodeKey, count: int) -> list[Entry]:
    """A busy school's ``count`` offers signed within its budget (protocol/budget.py),
    the newest a minute ago: every node takes them all at once. (A flood signed in a
    minute would be held back: tests/node/test_budget.py.)"""
    step = budget.RULE.interval_ms
    start = time.time_ns() // 1_000_000 - 60_000 - count * step
    return chain(signer, count, start_ts=start, step_ms=step)


#: Commands that serve until a signal stops them, which only a main thread can take:
#: always run as the installed program.
SERVING = frozenset({"run", "demo"})


def run_cli(
    *args: str, env: dict[str, str] | None = None, process: bool | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``schoolmesh`` command, capturing its output, exit code and log lines.

    In this process by default (:func:`in_process`), as the installed command would
    run it but without starting an interpreter (0.3 to 1 s of CPU each); with
    ``process=True``, the installed command itself in a subprocess, for the tests whose
    point is the process (signals, a closed pipe, the exit code the shell sees, a
    node that keeps running). ``None``: in a subprocess for the :data:`SERVING` commands.
    """
    if process is None:
        process = bool(args) and args[0] in SERVING
    if not process:
        return in_process(args, env or {})
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLMESH")}
    full_env.update(env or {})
    return subprocess.run(
        [SCHOOLMESH, *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


def in_process(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``cli.main.main(args)`` as the installed command runs it: on a thread of its own
    (its own event loop, even when the caller is a test's), with the environment's
    SCHOOLMESH_* variables replaced by ``env``, and stdout, stderr and the log lines
    captured as a subprocess's would be (text with universal newlines). One command at a
    time: the environment and the standard streams are the process's."""
    with _ONE_COMMAND, ThreadPoolExecutor(1, thread_name_prefix="schoolmesh") as thread:
        return thread.submit(_main, args, env).result(timeout=60)


_ONE_COMMAND = threading.Lock()


def _main(args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("SCHOOLMESH")]:
        del os.environ[name]
    os.environ.update(env)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    log = logging.StreamHandler(err)  # what basicConfig gives the real command
    log.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # Not the lines of nodes the test runs on its own thread's loop beside the command.
    test_thread = threading.main_thread().ident
    log.addFilter(lambda record: record.thread != test_thread)
    root = logging.getLogger()
    level = root.level
    root.setLevel(os.environ.get("SCHOOLMESH_LOG", "WARNING").upper())
    root.addHandler(log)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code: int = cli_main.main(list(args))
            except SystemExit as exit:  # argparse: --help, --version, a bad argument
                if isinstance(exit.code, str):
                    print(exit.code, file=sys.stderr)
                code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    finally:
        root.removeHandler(log)
        root.setLevel(level)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess([SCHOOLMESH, *args], code, _text(out), _text(err))


def _text(stream: io.TextIOWrapper) -> str:
    """What ``subprocess.run(..., text=True)`` would have read: newlines made ``\\n``."""
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


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


async def stored_as_an_older_node_did(store: Any, entries: list[Entry]) -> None:
    """Write ``entries`` straight into ``store``, unchecked, as a node of a version that
    did not know their kind yet kept them (docs/protocol.md, "Forward compatibility")."""
    async with store.write():
        await store._insert(entries, entries[-1].payload.timestamp)


def unchecked_entry(
    signer: NodeKey, kind: str, content: dict[str, Any], *, seq: int = 1, prev: Entry | None = None
) -> Entry:
    """An entry signed without the schema check of today's version: what an older node,
    which did not know ``kind`` yet, relayed and kept unchecked."""
    content_bytes = codec.encode(content)
    timestamp = int(time.time() * 1000) - 60_000 + seq
    payload = Payload(
        signer.node_id,
        seq,
        None if prev is None else prev.id,
        timestamp,
        kind,
        content_hash(content_bytes),
    )
    payload_bytes = payload.encode()
    return Entry(payload, payload_bytes, signer.sign(payload_bytes), content_bytes, content)


def run_before_the_write(store: Any, first: Any, *, of: str) -> Any:
    """Make the next write of the method ``of`` (a qualified name, such as
    ``Moderation.approve``) run ``first()`` just before it: after the method's reads, so
    that the two meet there however loaded the machine. Every other write (a
    session's, the mail's, the indexer's, running meanwhile on live nodes) goes through
    untouched. Returns the store's own ``write``, for the caller to put back."""
    write = store.write

    def later(fn: Any = None, **options: Any) -> Any:
        if not getattr(fn, "__qualname__", "").startswith(f"{of}.<locals>."):
            return write(fn, **options)
        store.write = write  # once: ``first`` writes too

        async def run() -> Any:
            await first()
            return await write(fn, **options)

        return run()

    store.write = later
    return write
