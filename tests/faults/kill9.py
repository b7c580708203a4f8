"""Rounds of SIGKILL during sync and during local writes (issue 20, Deliver 8).

Two real ``schoolmesh run`` processes, Oakfield and the Lycée, partnered. In each
round a writer process (tests/faults/writer.py) posts offers into Oakfield's folder
as fast as it can, printing each id once its commit returned: those are the
acknowledged posts. While they stream to the Lycée, the Lycée is killed (during
sync), started and killed again part way through its catch-up, then the writer
(during local writes) and Oakfield itself are killed. Both are started again, and
every acknowledged post must reach both schools: none lost, Oakfield's log without
a gap or a second entry under one number, both databases sound.

tests/faults/test_kill9.py runs a few rounds; ``python -m scripts.kill9_rounds``
runs as many as asked and prints the figures.
"""

from __future__ import annotations

import queue
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench.live import listening_port, port_of
from protocol.keys import NodeId
from tests.cli.test_network import (
    Network,
    School,
    _pump,
    environment,
    eventually,
    partner_by_invite,
    sql,
    wait_connected,
)
from tests.helpers import SCHOOLMESH

CATCH_UP_SECONDS = 120.0  # every acknowledged post at both schools, loaded machine


class FixedPorts(Network):
    """A school started again listens on the port it had, as a real school's node does
    (with ``--port 0`` each time, two schools both started again would each hold the
    other's old address, and neither could dial).

    This process reserves each school's port (bench/live.py, ``reserve_port``) from
    before its first start until :meth:`close`, so that no other socket is given it
    while the school is down (another pytest-xdist worker's node, an outgoing
    connection). Should a server of another program listen there all the same, the
    school starts on a new port: its partner, running, learns it from its hello."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self._ports: dict[str, socket.socket | None] = {}

    def _spawn(self, school: School, listen: bool) -> None:
        if not listen:
            super()._spawn(school, listen)
            return
        held = self._ports.get(school.name)
        reserved = listening_port(held)
        if held is not None and held is not reserved:
            held.close()
        self._ports[school.name] = reserved
        if reserved is None:  # no reservation on this system: the port it had, if any
            port = school.address.rsplit(":")[-1] if school.address else "0"
        else:
            port = str(port_of(reserved))
        assert school.proc is None, f"{school.name} is already running"
        school.runs += 1
        school.stderr_file = school.stderr_path.open("w", encoding="utf-8")
        school.proc = subprocess.Popen(
            [SCHOOLMESH, "run", "--data", school.data, "--port", port],
            stdout=subprocess.PIPE,
            stderr=school.stderr_file,
            text=True,
            env=environment() | {"SCHOOLMESH_LOG": "INFO"},
        )
        school.lines = queue.Queue()
        school.pump = threading.Thread(
            target=_pump, args=(school.proc.stdout, school.lines), daemon=True
        )
        school.pump.start()

    def close(self) -> None:
        try:
            super().close()
        finally:
            for reserved in self._ports.values():
                if reserved is not None:
                    reserved.close()
            self._ports.clear()


@dataclass
class Writer:
    """The posting process and the ids it acknowledged."""

    proc: subprocess.Popen[str]
    acked: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    @classmethod
    def start(cls, school: School) -> Writer:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.writer", school.data],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # killed mid-write: whatever it was saying
            text=True,
        )
        writer = cls(proc)
        assert proc.stdout is not None
        threading.Thread(target=_ids, args=(proc.stdout, writer.lines), daemon=True).start()
        return writer

    def wait_for(self, count: int, within: float = 60.0) -> None:
        """Until at least ``count`` posts are acknowledged."""
        end = time.monotonic() + within
        while len(self.acked) < count:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the writer acknowledged only {len(self.acked)}") from None
            if line is None:
                raise AssertionError(f"the writer stopped after {len(self.acked)} posts")
            self.acked.append(line)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=15)
        while True:  # what it printed before it died was acknowledged too
            try:
                line = self.lines.get(timeout=15)
            except queue.Empty:
                break
            if line is None:
                break
            self.acked.append(line)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _ids(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        if len(line.strip()) == 64:  # a whole id: a line cut by the kill was not printed
            lines.put(line.strip())
    lines.put(None)


def held(school: School, author: str) -> set[str]:
    rows = sql(
        school.database,
        "SELECT id FROM entries WHERE author = ?",
        (bytes(NodeId.parse(author)),),
    )
    return {bytes(row[0]).hex() for row in rows}


def sound(school: School) -> bool:
    return sql(school.database, "PRAGMA integrity_check") == [("ok",)]


def new_pair(net: Network, number: int) -> tuple[School, School]:
    """Two partner schools, running and connected, for one round. A round posts up to
    about 150 offers and a school's budget (protocol/budget.py) takes 200 at once, so
    each round needs a school of its own."""
    oak, lycee = net.init(f"Oakfield{number}", f"Lycee{number}")
    net.start(oak, lycee)
    partner_by_invite(oak, lycee)
    wait_connected(oak, lycee)
    return oak, lycee


def one_round(net: Network, oak: School, lycee: School, rng: random.Random) -> dict[str, float]:
    """One round; both schools running before and after. Return its figures."""
    started = time.monotonic()
    writer = Writer.start(oak)
    try:
        writer.wait_for(rng.randint(5, 40))
        net.kill(lycee)  # during sync: it was receiving the posts as they were made
        writer.wait_for(len(writer.acked) + rng.randint(20, 60))
        net.start(lycee)
        time.sleep(rng.uniform(0.0, 1.0))  # part way through its catch-up (or after it)
        net.kill(lycee)
        writer.wait_for(len(writer.acked) + rng.randint(5, 30))
        net.start(lycee)
        writer.wait_for(len(writer.acked) + rng.randint(1, 20))
        writer.kill()  # during local writes
        net.kill(oak)  # and the node beside it, mid-relay
    finally:
        if writer.proc.returncode is None:
            writer.kill()
    net.start(oak)
    acked = set(writer.acked)

    missing: dict[str, int] = {}

    def everywhere() -> bool:
        for school in (oak, lycee):
            missing[school.name] = len(acked - held(school, oak.node_id))
        return not any(missing.values())

    try:
        eventually(everywhere, within=CATCH_UP_SECONDS, what="every acknowledged post at both")
    except AssertionError:
        raise AssertionError(f"acknowledged posts missing: {missing} of {len(acked)}") from None
    seqs = [
        int(row[0])
        for row in sql(
            oak.database,
            "SELECT seq FROM entries WHERE author = ? ORDER BY seq",
            (bytes(NodeId.parse(oak.node_id)),),
        )
    ]
    assert seqs == list(range(1, len(seqs) + 1)), "a gap or a repeat in Oakfield's log"
    assert sound(oak)
    assert sound(lycee)
    return {"acknowledged": len(acked), "seconds": time.monotonic() - started}
