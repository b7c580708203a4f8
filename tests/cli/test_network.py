"""Real networks of real ``schoolmesh run`` processes, driven only through the command.

Every node is its own ``schoolmesh run`` subprocess on a loopback port (or with
``--no-listen``) over its own data folder under tmp_path. The tests work them the way a
school's administrator does: ``invite create``, ``partner add``, ``offer post``, ``status``,
and SIGTERM (or SIGKILL) to stop them. The Python API only fills a database quickly
(thousands of entries, a forked log) before or beside the command.

The nodes are ``schoolmesh run`` processes; the other commands run in this process
(``cli_many``, tests.helpers.run_cli), which spares ~0.7 s of CPU each for starting
Python and importing.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from node.clock import now_ms
from node.keyfile import load_key
from node.node import Node
from node.store.placement import Outcome
from protocol.entry import Entry, create_entry
from protocol.invite import Invite
from tests.helpers import SCHOOLMESH, chain, history, key, offer_content, run_cli

T = TypeVar("T")
Command = Sequence[str]

LISTENING = re.compile(r"Listening on (http://127\.0\.0\.1:\d+)")
OUTBOUND_ONLY = "Not listening (outbound only)"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
STARTUP_SECONDS = 20.0  # from starting `schoolmesh run` to its first heartbeat, loaded machine
STOP_SECONDS = 15.0  # SIGTERM to exit: sessions get 10 s to finish the batch in hand
LIVE_SECONDS = 5.0  # "within a few seconds": an offer crossing a live session
KEY9 = key(9)


# -- running commands -----------------------------------------------------------------


def environment() -> dict[str, str]:
    """As run_cli: no SCHOOLMESH_* settings from whoever runs the tests."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLMESH")}


def cli_many(*commands: Command) -> list[subprocess.CompletedProcess[str]]:
    """Run the command once per argument list, one after the other, in this process
    (tests.helpers.run_cli): the nodes are the processes here, not these commands."""
    results = []
    for command in commands:
        result = run_cli(*command)
        assert "Traceback" not in result.stderr, result.stderr
        results.append(result)
    return results


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_many(args)[0]


def ok_many(*commands: Command) -> list[str]:
    results = cli_many(*commands)
    for result in results:
        assert result.returncode == 0, f"{' '.join(result.args[1:])}: {result.stderr}"
    return [result.stdout for result in results]


def ok(*args: str) -> str:
    return ok_many(args)[0]


def ok_json_many(*commands: Command) -> list[Any]:
    return [json.loads(out) for out in ok_many(*[[*command, "--json"] for command in commands])]


def error(result: subprocess.CompletedProcess[str], code: int | None = None) -> str:
    """The one-line error of a failed command (any non-zero exit when ``code`` is None)."""
    if code is None:
        assert result.returncode != 0, result.stdout
    else:
        assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("schoolmesh: error: ")
    return lines[0]


def eventually(check: Callable[[], T], *, within: float, what: str, pause: float = 0.1) -> T:
    """Call ``check`` until it returns something truthy; bounded by ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what} (last: {value!r})")
        time.sleep(pause)


def sql(database: Path, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read a node's database directly (read-only), to look at what the command cannot show."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
        return list(db.execute(query, params).fetchall())


# -- the nodes ------------------------------------------------------------------------


@dataclass
class School:
    """One school's data folder, and its ``schoolmesh run`` process while it runs."""

    name: str
    path: Path
    node_id: str
    proc: subprocess.Popen[str] | None = None
    address: str | None = None
    stdout: list[str] = field(default_factory=list)
    runs: int = 0
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    pump: threading.Thread | None = None
    stderr_file: IO[str] | None = None

    @property
    def data(self) -> str:
        return str(self.path)

    @property
    def database(self) -> Path:
        return self.path / "schoolmesh.db"

    @property
    def stderr_path(self) -> Path:
        return self.path.with_name(f"{self.name}-run{self.runs}.stderr")

    def stderr(self) -> str:
        path = self.stderr_path
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def status(self) -> Any:
        return status(self)[0]


class Network:
    """Makes schools and runs them; every stop must exit 0 and leave the WAL checkpointed."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.schools: list[School] = []

    def init(self, *names: str, holding: str | None = None) -> list[School]:
        """``holding``: what the schools hold, when not the default (``everything`` where
        a made-up busy school's log is relayed: holding is not the point there)."""
        outputs = ok_many(
            *[
                ("init", "--data", str(self.tmp_path / name), "--name", name, "--country", "GB")
                for name in names
            ]
        )
        if holding is not None:
            ok_many(*[("holding", holding, "--data", str(self.tmp_path / n)) for n in names])
        made = []
        for name, out in zip(names, outputs, strict=True):
            found = re.search(r"^node id:\s+(\S+)$", out, re.MULTILINE)
            assert found is not None, out
            made.append(School(name, self.tmp_path / name, found[1]))
        self.schools.extend(made)
        return made

    def start(self, *schools: School, listen: bool = True) -> None:
        """``schoolmesh run`` each (side by side); return once each serves and beats."""
        started = now_ms()
        for school in schools:
            self._spawn(school, listen)
        for school in schools:
            self._wait_started(school, listen, started)

    def _spawn(self, school: School, listen: bool) -> None:
        assert school.proc is None, f"{school.name} is already running"
        school.runs += 1
        school.stderr_file = school.stderr_path.open("w", encoding="utf-8")
        school.proc = subprocess.Popen(
            [SCHOOLMESH, "run", "--data", school.data]
            + (["--port", "0"] if listen else ["--no-listen"]),
            stdout=subprocess.PIPE,
            stderr=school.stderr_file,
            text=True,
            env=environment() | {"SCHOOLMESH_LOG": "INFO"},  # in {name}-run{n}.stderr
        )
        school.lines = queue.Queue()
        school.pump = threading.Thread(
            target=_pump, args=(school.proc.stdout, school.lines), daemon=True
        )
        school.pump.start()

    def _wait_started(self, school: School, listen: bool, started: int) -> None:
        first = self._next_line(school)
        if listen:
            found = LISTENING.fullmatch(first)
            assert found is not None, first
            school.address = found[1]
        else:
            assert first.startswith(OUTBOUND_ONLY), first
            school.address = None
        assert f"Node {school.name} ({school.node_id}) is running" in self._next_line(school)

        # `status` and `invite create` go by the heartbeat, written just after that line.
        def beating() -> bool:
            rows = sql(school.database, "SELECT value FROM settings WHERE name = 'heartbeat'")
            return bool(rows) and int(rows[0][0]) >= started

        eventually(beating, within=STARTUP_SECONDS, what=f"{school.name}'s heartbeat", pause=0.02)

    def _next_line(self, school: School) -> str:
        try:
            line = school.lines.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            raise AssertionError(f"{school.name} printed nothing for {STARTUP_SECONDS}s") from None
        if line is None:
            assert school.proc is not None
            code = school.proc.wait(timeout=STOP_SECONDS)
            self._release(school)
            raise AssertionError(f"{school.name} exited with {code}: {school.stderr()}")
        school.stdout.append(line)
        return line

    def stop(self, school: School, sig: signal.Signals = signal.SIGTERM) -> float:
        """Send ``sig``: the node must exit 0 soon, with its write-ahead log checkpointed.

        Returns the seconds it took to exit.
        """
        proc = school.proc
        assert proc is not None, f"{school.name} is not running"
        sent = time.monotonic()
        proc.send_signal(sig)
        try:
            code = proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_SECONDS)
            self._release(school)
            raise AssertionError(
                f"{school.name} still ran {STOP_SECONDS}s after {sig.name}: {school.stderr()}"
            ) from None
        self._release(school)
        assert code == 0, f"{school.name} exited with {code} after {sig.name}: {school.stderr()}"
        assert school.stdout[-1] == "Stopping...", school.stdout
        wal = school.path / "schoolmesh.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0, f"{school.name}: WAL not checkpointed"
        return time.monotonic() - sent

    def kill(self, school: School) -> None:
        """SIGKILL: the node gets no chance to finish anything."""
        assert school.proc is not None, f"{school.name} is not running"
        school.proc.kill()
        assert school.proc.wait(timeout=STOP_SECONDS) == -signal.SIGKILL
        self._release(school)

    def _release(self, school: School) -> None:
        assert school.proc is not None
        if school.pump is not None:
            school.pump.join(timeout=STOP_SECONDS)
        if school.proc.stdout is not None:
            school.proc.stdout.close()
        if school.stderr_file is not None:
            school.stderr_file.close()
        while not school.lines.empty():  # what it printed after the lines waited for
            line = school.lines.get_nowait()
            if line is not None:
                school.stdout.append(line)
        school.proc = school.pump = school.stderr_file = None

    def close(self) -> None:
        failures = []
        for school in self.schools:
            if school.proc is not None:
                try:
                    self.stop(school)
                except AssertionError as exc:
                    failures.append(str(exc))
        assert not failures, failures


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    net = Network(tmp_path)
    try:
        yield net
    finally:
        net.close()


# -- what the tests do through the command ------------------------------------------------


def invite(school: School, *extra: str) -> str:
    """``invite create --json``: the JSON, then the code alone on the last line."""
    out = ok("invite", "create", "--data", school.data, "--json", *extra)
    *json_lines, code = out.rstrip("\n").split("\n")
    shown = json.loads("\n".join(json_lines))
    assert set(shown) == {"code", "expires"}
    assert shown["code"] == code
    assert code.startswith("schoolmesh-invite:")
    assert ISO.fullmatch(shown["expires"])
    return code


def partner_add(school: School, code: str) -> subprocess.CompletedProcess[str]:
    return cli("partner", "add", "--data", school.data, code)


def partner_by_invite(inviting: School, joining: School) -> None:
    out = ok("partner", "add", "--data", joining.data, invite(inviting))
    assert f"Partnered with node {inviting.node_id}" in out


def partners(*schools: School) -> list[dict[str, dict[str, Any]]]:
    listed = ok_json_many(*[("partner", "list", "--data", s.data) for s in schools])
    return [{row["node_id"]: row for row in rows} for rows in listed]


def status(*schools: School) -> list[Any]:
    return ok_json_many(*[("status", "--data", s.data) for s in schools])


def post_offers(*posts: tuple[School, str]) -> list[str]:
    shown = ok_json_many(
        *[
            ("offer", "post", "--data", s.data, "--kind", "visit", "--title", title)
            for s, title in posts
        ]
    )
    return [str(item["id"]) for item in shown]


def wait_for_offers(*wanted: tuple[School, str]) -> list[list[dict[str, Any]]]:
    """Until each school lists its offer; return the listings."""
    listings: list[list[dict[str, Any]]] = []

    def arrived() -> bool:
        listings[:] = ok_json_many(*[("offer", "list", "--data", s.data) for s, _ in wanted])
        return all(
            offer in {row["id"] for row in rows}
            for (_, offer), rows in zip(wanted, listings, strict=True)
        )

    what = ", ".join(f"offer {offer[:8]} at {s.name}" for s, offer in wanted)
    eventually(arrived, within=LIVE_SECONDS, what=what)
    return listings


def wait_connected(*schools: School) -> list[Any]:
    """Until every school's status shows it running and each of its partners connected."""
    shown: list[Any] = []

    def connected() -> bool:
        shown[:] = status(*schools)
        return all(
            s["running"] and s["peers"] and all(p["connected"] for p in s["peers"]) for s in shown
        )

    names = ", ".join(s.name for s in schools)
    eventually(connected, within=15, what=f"{names} to be connected to their partners")
    return shown


def seed(school: School, entries: list[Entry]) -> None:
    """Store entries in a stopped school's database with the Python API (as if received)."""

    async def store() -> list[Outcome]:
        async with await Node.open(school.path) as node:
            return [result.outcome for result in await node.store.ingest(entries, now_ms())]

    assert set(asyncio.run(store())) == {Outcome.STORED}


# -- the tests ------------------------------------------------------------------------


def test_partnering_by_invite_live_offers_and_clean_stops(network: Network) -> None:
    a, b, c = network.init("A", "B", "C")
    network.start(a, b)
    code = invite(a)
    out = ok("partner", "add", "--data", b.data, code)
    assert f"Partnered with node {a.node_id}" in out
    at_a, at_b = partners(a, b)
    assert {k: (v["state"], v["address"]) for k, v in at_a.items()} == {
        b.node_id: ("partner", b.address)  # B told A where to dial it
    }
    assert {k: (v["state"], v["address"]) for k, v in at_b.items()} == {
        a.node_id: ("partner", a.address)
    }

    # The command writes to the database of a running node; the node notices and sends.
    from_a, from_b = post_offers((a, "Year 5 maths mastery lessons"), (b, "Phonics in reception"))
    listed_at_b, listed_at_a = wait_for_offers((b, from_a), (a, from_b))
    assert {(r["id"], r["school"], r["school_id"]) for r in listed_at_b} == {
        (from_a, "A", a.node_id),
        (from_b, "B", b.node_id),
    }
    assert {r["id"] for r in listed_at_a} == {from_a, from_b}

    for shown, me, other in zip(wait_connected(a, b), (a, b), (b, a), strict=True):
        assert shown["running"] is True
        assert shown["address"] == me.address
        assert [(p["node_id"], p["name"], p["connected"]) for p in shown["peers"]] == [
            (other.node_id, other.name, True)
        ]
        assert shown["equivocations"] == []
    # A dials B as soon as the code is redeemed, and B knows A by then: no refusal.
    assert "not-a-partner" not in a.stderr() + b.stderr()

    # The code was single-use: a third school cannot use it again.
    message = error(partner_add(c, code))
    assert "already used" in message
    at_c, at_a = partners(c, a)
    assert at_c == {}
    assert set(at_a) == {b.node_id}

    # Stopping with the session open: exit 0, "Stopping...", the WAL checkpointed into the
    # database (Network.stop checks these), and `status` knows at once.
    network.stop(a, signal.SIGTERM)
    network.stop(b, signal.SIGINT)  # Ctrl-C
    for school in (a, b):
        assert sql(school.database, "PRAGMA integrity_check") == [("ok",)]
    for shown in status(a, b):
        assert (shown["running"], shown["address"]) == (False, None)
        assert [p["connected"] for p in shown["peers"]] == [False]


def test_invite_edge_cases(network: Network) -> None:
    a, b = network.init("A", "B")
    seed = load_key(a.path / "node.key")
    expired = Invite(seed.node_id, "http://127.0.0.1:9", os.urandom(16), now_ms() - 1).sign(seed)
    results = cli_many(
        ("invite", "create", "--data", a.data),  # not running: where would others dial?
        ("invite", "create", "--data", a.data, "--address", "http://127.0.0.1:9", "--json"),
        *[("invite", "create", "--data", a.data, "--expires", e) for e in ("0d", "soon", "7")],
        ("partner", "add", "--data", b.data, "garbage"),
        ("partner", "add", "--data", b.data, "schoolmesh-invite:!!!"),
        ("partner", "add", "--data", b.data, expired),
    )
    assert "`schoolmesh run`" in error(results[0], 2)
    assert results[1].returncode == 0, results[1].stderr
    own = results[1].stdout.rstrip("\n").rsplit("\n", 1)[-1]
    assert json.loads(results[1].stdout[: -len(own) - 1])["code"] == own
    for result in results[2:5]:
        assert "--expires" in error(result, 2)
    for result in results[5:7]:
        assert "is not a schoolmesh invite code" in error(result, 2)
    assert "has expired" in error(results[7], 2)

    tampered = own[:-6] + ("AAAAAA" if not own.endswith("AAAAAA") else "BBBBBB")
    results = cli_many(
        ("partner", "add", "--data", b.data, tampered),
        ("partner", "add", "--data", a.data, own),
    )
    assert "is not a schoolmesh invite code" in error(results[0], 2)
    assert "own invite code" in error(results[1], 2)

    # A real code of a node that has stopped since.
    network.start(a)
    code = invite(a)
    network.stop(a)
    message = error(partner_add(b, code), 1)
    assert "could not reach" in message
    assert f"{a.address} " in message
    assert partners(b) == [{}]


def test_outbound_only_node_partners_and_syncs_live(network: Network) -> None:
    a, b = network.init("A", "B")
    network.start(a)
    network.start(b, listen=False)
    results = cli_many(
        ("invite", "create", "--data", b.data),
        ("invite", "create", "--data", a.data),
    )
    assert "not listening" in error(results[0], 2)
    assert results[1].returncode == 0, results[1].stderr
    ok("partner", "add", "--data", b.data, results[1].stdout.rstrip("\n").rsplit("\n", 1)[-1])

    shown_a, shown_b = wait_connected(a, b)
    assert (shown_b["running"], shown_b["address"]) == (True, None)
    assert shown_a["peers"][0]["address"] is None  # A cannot dial B: B dials A
    assert shown_b["peers"][0]["address"] == a.address

    from_a, from_b = post_offers((a, "From the listening school"), (b, "From behind a firewall"))
    wait_for_offers((b, from_a), (a, from_b))
    [later] = post_offers((a, "Later, on the same session"))
    wait_for_offers((b, later))


def test_sigterm_exits_cleanly_and_checkpoints(network: Network) -> None:
    [a] = network.init("A")
    network.start(a)
    [offer] = post_offers((a, "Written while the node runs"))
    wal = a.path / "schoolmesh.db-wal"
    # Each command checkpoints as it closes; the node's next heartbeat writes to the WAL.
    eventually(
        lambda: wal.exists() and wal.stat().st_size > 0,
        within=10,
        what="the running node to write to its WAL",
        pause=0.05,
    )
    seconds = network.stop(a, signal.SIGTERM)  # checks: exit 0, "Stopping...", WAL emptied
    assert seconds < 5, f"an idle node took {seconds:.1f}s to stop"
    assert not wal.exists() or wal.stat().st_size == 0
    assert sql(a.database, "PRAGMA integrity_check") == [("ok",)]
    stored = sql(a.database, "SELECT COUNT(*) FROM entries WHERE id = ?", [bytes.fromhex(offer)])
    assert stored == [(1,)]


def test_killed_during_catch_up_resumes_without_loss_or_duplicates(network: Network) -> None:
    total = 20_000
    a, b = network.init("A", "B", holding="everything")
    seed(a, history(KEY9, total))  # a busy school A relays for
    network.start(a, b)
    partner_by_invite(a, b)

    def part_way() -> int:
        entries = int(b.status()["entries"])
        assert entries < total - 2000, f"B caught up too fast to interrupt ({entries})"
        return entries if entries > 2000 else 0

    seen = eventually(part_way, within=30, what="B to be part way through the catch-up")
    network.kill(b)
    network.start(b)
    expected = int(a.status()["entries"])
    assert expected == total + 2  # key(9)'s log and both profiles

    def caught_up() -> bool:
        entries = int(b.status()["entries"])
        assert entries >= seen  # nothing committed before the kill was lost
        return entries == expected

    eventually(caught_up, within=40, what=f"B to hold all {expected} entries", pause=0.3)
    network.stop(b)

    assert sql(b.database, "SELECT COUNT(*), COUNT(DISTINCT id) FROM entries") == [
        (expected, expected)
    ]
    author = bytes(KEY9.node_id)
    assert sql(
        b.database, "SELECT COUNT(*), MIN(seq), MAX(seq) FROM entries WHERE author = ?", [author]
    ) == [(total, 1, total)]
    assert sql(b.database, "SELECT seq FROM heads WHERE author = ?", [author]) == [(total,)]
    assert sql(b.database, "PRAGMA integrity_check") == [("ok",)]


def test_fork_received_from_a_partner_is_reported(network: Network) -> None:
    a, c = network.init("A", "C", holding="everything")
    common = chain(KEY9, 2, start_ts=now_ms() - 60_000)
    seed(a, common)
    seed(c, common)
    for_a, for_c = (
        create_entry(
            KEY9,
            seq=3,
            prev=common[-1].id,
            timestamp=now_ms() - 1000,
            kind="offer",
            content=offer_content(title),
        )
        for title in ("The copy at A", "The copy at C")
    )
    network.start(a, c)
    partner_by_invite(a, c)
    wait_connected(a, c)

    # Each node now knows the other holds key(9) up to 2. Give each a different 3: each
    # sends its own to the other, which already holds a different one. (C's first: if
    # C's copy reached A before A's was stored, storing A's reports the fork instead.)
    async def fork() -> None:
        async with await Node.open(c.path) as node_c, await Node.open(a.path) as node_a:
            await node_c.store.ingest([for_c], now_ms())
            await node_a.store.ingest([for_a], now_ms())

    asyncio.run(fork())

    reported = eventually(
        lambda: a.status()["equivocations"], within=10, what="A to report the fork"
    )
    [item] = reported
    assert set(item) == {"author", "seq", "detected_at", "first", "second"}
    assert (item["author"], item["seq"]) == (str(KEY9.node_id), 3)
    assert {item["first"], item["second"]} == {for_a.encode().hex(), for_c.encode().hex()}
    assert ISO.fullmatch(item["detected_at"])

    printed = ok("status", "--data", a.data).splitlines()
    warnings = [line for line in printed if line.startswith("WARNING:")]
    assert len(warnings) == 1, printed
    assert f"node {KEY9.node_id} signed two different entries numbered 3" in warnings[0]
