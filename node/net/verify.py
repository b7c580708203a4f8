"""Where the entries peers send are decoded and their signatures checked.

Every batch of entries a session receives is checked off the event loop
(``protocol.entry.decode_entries``): on the node's verify threads, and on a hub also
in a **verify process** (docs/decisions.md, "Signature checks in a process for
hubs"). A thread's signature check releases the GIL, but the strict decoding and
schema checks around it (a third of its work) do not, so on two cores the threads
and the event loop contend for one interpreter. A process has its own: it checks a
batch and answers only which entries passed, one byte each; the node then rebuilds
those entries from the same bytes without checking them again
(``protocol.entry.entry_from_checked``, about 10 µs an entry against about 100 to
check one). An entry that failed is decoded again on a thread, so that its error is
exactly the one the thread path gives (failures are rare, and a peer that sends
many is cut off after a few strikes).

Batches are cut into pieces of :data:`PIECE` entries; pieces go to a process while it
has fewer than :data:`PER_PROCESS` in hand, the rest to the threads, so that both cores
are kept busy whichever is free.

The process is ``python -m node.net.verify``, talking over its stdin and stdout
(a 4-byte length, then msgpack: ``[number, now_ms, [entry, ...]]`` one way,
``[number, flags]`` back). It dies with the node: it is stopped with it, and it
exits when its stdin closes, which the kernel does when the node is killed; it
ignores SIGINT and SIGTERM, which reach every process of the node (Ctrl-C, systemd's
stop), so that it ends after the node's clean shutdown. It is started with ``-P``: a
``protocol`` folder in the current directory must not be imported as the checking
code. If it dies (killed, out of memory, a crash), or does not answer within
:data:`ANSWER_TIMEOUT_S` (it is killed then), the batches it had in hand are checked
again on the threads, never in another process (a batch that crashes one would crash
each), while a new one starts: a session stores a batch only once all of it has been
checked, in order, so nothing is lost or half stored.

Off by default: a process is about 25 MB more (13 MB of it its own), which a
school's small box may not have, and on two cores it costs more CPU than it saves;
on for a hub (``schoolmesh hub on``) with three cores or more unless ``schoolmesh
verify-process off``, and on any node with ``schoolmesh verify-process on``. After
:data:`MAX_RESTARTS` restarts in a minute the node gives up on processes until it
starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import msgpack

from node import collector
from protocol.entry import Entry, decode_entries, entry_from_checked
from protocol.errors import ProtocolError
from protocol.keys import NodeId

if TYPE_CHECKING:  # not imported at run time: the verify process imports this module
    from node.store.database import Store

log = logging.getLogger(__name__)

Decoded = list[Entry | ProtocolError]  # a batch's entries, or why each was refused

#: Entries checked together where the node has a verify process: a batch (up to 256)
#: is cut into pieces of this many, each sent where there is room. Whole batches sent
#: to the threads (the node's own interpreter, shared with the event loop) were checked
#: slowest, and the batches after them, stored in order, waited; in pieces the process
#: takes most of each batch and the threads small parts of it (docs/performance.md,
#: "Where item 6 stands").
PIECE = 64
#: Pieces a verify process holds at once (two batches' worth: one being checked, one
#: waiting), so it never waits for the node between two; more go to the threads.
PER_PROCESS = 8
#: The node setting: "on", "off", or absent (on for a hub).
SETTING = "verify-process"
STATES = ("on", "off", "auto")
#: Restarts within :data:`RESTART_WINDOW_S` after which the node gives up on processes
#: until it starts again (one that cannot start would otherwise be restarted forever).
MAX_RESTARTS = 3
RESTART_WINDOW_S = 60.0
#: Seconds a process may take to answer a batch (about 25 ms of work, one more batch
#: ahead of it): one that takes longer is stuck (stopped, swapping) and is killed, and
#: what it had in hand is checked on the threads.
ANSWER_TIMEOUT_S = 10.0
_LENGTH = 4  # bytes of each message's length, big-endian
_ROOT = str(Path(__file__).resolve().parents[2])  # where `node` and `protocol` are


def cores() -> int | None:
    """The processor cores this node may use: those of its CPU affinity (taskset, a
    container's cpuset) where the system says, else all the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def processes_for(cores: int | None) -> int:
    """Verify processes on a machine of ``cores`` cores: all but one, 1 to 4."""
    return max(1, min(4, (cores or 1) - 1))


#: ``auto`` uses processes on a hub with at least this many cores. On two, the process
#: costs more CPU (rebuilding the checked entries) than the interpreter it frees is
#: worth (docs/decisions.md, "Signature checks in a process for hubs").
AUTO_CORES = 3


async def wanted(store: Store, me: NodeId, cores: int | None) -> bool:
    """Whether this node checks signatures in processes: the setting, or ``auto``: being
    a hub on a machine of :data:`AUTO_CORES` cores or more."""
    value = await store.get_setting(SETTING)
    if value is not None:
        return value == b"on"
    if (cores or 1) < AUTO_CORES:
        return False
    profile = await store.profile_of(me)
    return profile is not None and profile.hub is not None


async def setting(store: Store) -> str:
    """``on``, ``off`` or ``auto`` (absent: on for a hub of three cores or more)."""
    value = await store.get_setting(SETTING)
    return "auto" if value is None else value.decode()


async def set_setting(store: Store, state: str) -> None:
    if state not in STATES:
        raise ValueError(f"verify-process is on, off or auto, not {state!r}")
    await store.set_setting(SETTING, None if state == "auto" else state.encode())


# -- in the verify process -------------------------------------------------------------


def check_batch(wires: Sequence[bytes], now_ms: int) -> bytes:
    """One byte per entry, 1 if :func:`protocol.entry.decode_entry` accepts it."""
    return bytes(isinstance(item, Entry) for item in decode_entries(wires, now_ms=now_ms))


def serve() -> None:
    """The verify process: check the batches read on stdin until it closes."""
    # Ctrl-C, and systemd's stop (SIGTERM to all the node's processes), are the node's
    # to handle: this process ends when the node closes its stdin, after its clean
    # shutdown, or when the node dies (the kernel closes it then).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    collector.settle()
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while len(head := source.read(_LENGTH)) == _LENGTH:
        number, now_ms, wires = msgpack.unpackb(source.read(int.from_bytes(head, "big")))
        body = msgpack.packb([number, check_batch(wires, now_ms)])
        sink.write(len(body).to_bytes(_LENGTH, "big") + body)
        sink.flush()


# -- in the node -----------------------------------------------------------------------


class ProcessGone(Exception):
    """The verify process ended before it answered."""


class VerifyProcess:
    """One verify process and the batches it has in hand."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._waiting: dict[int, asyncio.Future[bytes]] = {}
        self._number = 0
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="verify reader")

    @classmethod
    async def start(cls) -> VerifyProcess:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": _ROOT if not path else f"{_ROOT}{os.pathsep}{path}"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",  # not the current directory first on the path: its `protocol` folder,
            "-m",  # if any, would be trusted as the checking code
            "node.net.verify",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    def when_ended(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once it has ended (its reader has seen it end)."""
        self._reader.add_done_callback(lambda _: callback())

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def in_hand(self) -> int:
        return len(self._waiting)

    @property
    def alive(self) -> bool:
        return not self._reader.done()

    async def check(self, wires: list[bytes], now_ms: int) -> bytes:
        """Which entries of the batch pass (one byte each): :meth:`send`, then
        :meth:`answer`."""
        return await self.answer(*self.send(wires, now_ms))

    def send(self, wires: list[bytes], now_ms: int) -> tuple[int, asyncio.Future[bytes]]:
        """Send a batch now: it is in hand at once, so that batches decoded in the same
        turn of the event loop are shared between the processes and the threads.
        ProcessGone if it died."""
        if not self.alive:
            raise ProcessGone("the verify process has stopped")
        self._number += 1
        number = self._number
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[number] = answer
        body = msgpack.packb([number, now_ms, wires])
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(len(body).to_bytes(_LENGTH, "big") + body)
        except (ConnectionError, RuntimeError) as exc:
            self._waiting.pop(number, None)
            raise ProcessGone(f"the verify process has stopped: {exc}") from exc
        return number, answer

    async def answer(self, number: int, answer: asyncio.Future[bytes]) -> bytes:
        """The answer to a batch sent; ProcessGone if it died, or if it did not answer
        within :data:`ANSWER_TIMEOUT_S` (it is killed then: it is stuck)."""
        stdin = self.process.stdin
        assert stdin is not None
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):  # sending waits if it is stuck
                try:
                    await stdin.drain()
                except (ConnectionError, RuntimeError) as exc:
                    self._waiting.pop(number, None)
                    raise ProcessGone(f"the verify process has stopped: {exc}") from exc
                return await answer
        except TimeoutError:
            log.warning(
                "a signature-checking process of this node did not answer within %g "
                "seconds: it is stopped, and the entries it was checking are checked again",
                ANSWER_TIMEOUT_S,
            )
            self._waiting.pop(number, None)
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()  # its reader ends: the rest it had in hand fail too
            raise ProcessGone("the verify process did not answer") from None

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                head = await stdout.readexactly(_LENGTH)
                number, flags = msgpack.unpackb(
                    await stdout.readexactly(int.from_bytes(head, "big"))
                )
                answer = self._waiting.pop(number, None)
                if answer is not None and not answer.done():
                    answer.set_result(flags)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # it ended (or said nonsense): what it had in hand is checked again
        finally:
            waiting, self._waiting = self._waiting, {}
            for answer in waiting.values():
                if not answer.done():
                    answer.set_exception(ProcessGone("the verify process has stopped"))

    async def close(self) -> None:
        """Stop it: its stdin closes, and it is killed if it does not end at once."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 1.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def _joined(pieces: list[asyncio.Future[Decoded]]) -> Decoded:
    """The pieces' results, in order, as one batch's."""
    return [item for result in await asyncio.gather(*pieces) for item in result]


class Verifier:
    """The node's verify threads, and its verify processes when it has any."""

    def __init__(self, threads: Executor) -> None:
        self.threads = threads
        self.processes: list[VerifyProcess] = []
        self._wanted = 0
        self._closed = False
        self._starting: asyncio.Task[None] | None = None
        self.restarts = 0  # verify processes started again after one died (tests)
        self._restarted_at: list[float] = []

    async def start_processes(self, count: int) -> None:
        """Check batches in ``count`` processes too, from now on."""
        if self._closed or count < 1 or self._wanted:
            return
        self._wanted = count
        for _ in range(count):
            try:
                self.processes.append(self._watched(await VerifyProcess.start()))
            except OSError as exc:  # the node runs on, checking in its own process
                log.warning("could not start a signature-checking process: %s", exc)
                return

    async def started(self) -> None:
        """Wait until every process answers (tests and benchmarks: a process takes a
        moment to import what it checks with)."""
        for process in self.processes:
            with contextlib.suppress(ProcessGone):
                await process.check([], 0)

    @property
    def pids(self) -> list[int]:
        """The verify processes running now (tests)."""
        return [p.pid for p in self.processes if p.alive]

    def decode(self, wires: Sequence[bytes], now_ms: int) -> asyncio.Future[Decoded]:
        """Decode and check a batch off the event loop; the result, in order, is what
        ``decode_entries`` gives. With a verify process, in pieces of :data:`PIECE`."""
        if not self.processes or len(wires) <= PIECE:
            return self._decode(wires, now_ms)
        pieces = [self._decode(wires[i : i + PIECE], now_ms) for i in range(0, len(wires), PIECE)]
        return asyncio.get_running_loop().create_task(_joined(pieces))

    def _decode(self, wires: Sequence[bytes], now_ms: int) -> asyncio.Future[Decoded]:
        """One piece (or batch): to a process with room, else to the threads."""
        loop = asyncio.get_running_loop()
        free = [p for p in self.processes if p.alive and p.in_hand < PER_PROCESS]
        if free:
            chosen = min(free, key=lambda p: p.in_hand)
            with contextlib.suppress(ProcessGone):  # if it died, to the threads
                sent = chosen.send(list(wires), now_ms)  # in hand now: the next sees it
                return loop.create_task(self._in_process(chosen, sent, wires, now_ms))
        self._restart_dead()
        return loop.run_in_executor(self.threads, partial(decode_entries, wires, now_ms=now_ms))

    async def _in_process(
        self,
        process: VerifyProcess,
        sent: tuple[int, asyncio.Future[bytes]],
        wires: Sequence[bytes],
        now_ms: int,
    ) -> Decoded:
        try:
            passed = await process.answer(*sent)
        except ProcessGone:
            # On the threads, never in another process: a batch that crashes the
            # process it is given (not a refusal: a bug) would crash each in turn.
            self._restart_dead()
            return await asyncio.get_running_loop().run_in_executor(
                self.threads, partial(decode_entries, wires, now_ms=now_ms)
            )
        return [
            entry_from_checked(wire) if ok else await self._again(wire, now_ms)
            for wire, ok in zip(wires, passed, strict=True)
        ]

    async def _again(self, wire: bytes, now_ms: int) -> Entry | ProtocolError:
        """An entry the process refused, decoded on a thread for its exact error."""
        decoded = await asyncio.get_running_loop().run_in_executor(
            self.threads, partial(decode_entries, [wire], now_ms=now_ms)
        )
        return decoded[0]

    def _watched(self, process: VerifyProcess) -> VerifyProcess:
        """``process``, replaced as soon as it ends (killed, crashed, stuck)."""
        process.when_ended(self._restart_dead)
        return process

    def _restart_dead(self) -> None:
        """Replace the processes that died, in the background (batches meanwhile go to
        the threads)."""
        if self._closed or (self._starting is not None and not self._starting.done()):
            return
        if all(p.alive for p in self.processes):
            return
        self._starting = asyncio.get_running_loop().create_task(self._replace())

    async def _replace(self) -> None:
        loop = asyncio.get_running_loop()
        for i, process in enumerate(self.processes):
            if process.alive or self._closed:
                continue
            await process.close()
            log.warning(
                "a signature-checking process of this node stopped (exit code %s); the "
                "entries it was checking are checked again",
                process.process.returncode,
            )
            recent = [t for t in self._restarted_at if loop.time() - t < RESTART_WINDOW_S]
            if len(recent) >= MAX_RESTARTS:
                log.warning(
                    "signature-checking processes of this node keep stopping: entries are "
                    "checked in the node's own process until it is started again"
                )
                self.processes = [p for p in self.processes if p.alive]
                return
            self._restarted_at = [*recent, loop.time()]
            try:
                self.processes[i] = self._watched(await VerifyProcess.start())
            except OSError as exc:
                log.warning("could not start a signature-checking process: %s", exc)
                return
            self.restarts += 1

    def stopping(self) -> None:
        """The node is stopping: no process is started again from now on (those running
        check what they are given until :meth:`close`)."""
        self._closed = True

    async def close(self) -> None:
        """Stop the processes, then the threads."""
        self._closed = True
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        processes, self.processes = self.processes, []
        for process in processes:
            await process.close()
        self.threads.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    serve()
