"""Signature checks in a verify process (node/net/verify.py): the same verdicts as the
verify threads on the same inputs, a forged entry still refused with the rest of its
batch handled as before, a killed process costing nothing, and no process outliving
its node."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.clock import now_ms
from node.net import verify
from node.net.verify import Decoded, Verifier
from protocol import codec, frames
from protocol.entry import Entry, create_entry, decode_entries
from protocol.errors import ProtocolError
from tests.helpers import history, key, offer_content
from tests.network import EVERYTHING, LiveNode, partner, wait_for
from tests.node.test_bad_peers import connect, forged_entries
from tests.rogue import ROGUE, next_frame

ROOT = Path(__file__).resolve().parents[2]


def same(a: Decoded, b: Decoded) -> None:
    """The two results say the same of each entry: equal entries, or the same error."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, ProtocolError):
            assert isinstance(y, ProtocolError)
            assert (type(x), x.code, str(x)) == (type(y), y.code, str(y))
        else:
            assert x == y


def mixed_batch() -> list[bytes]:
    """Good entries of two schools, and entries that each break one rule."""
    now = now_ms()
    good = [e.encode() for e in history(key(5), 3)]
    future = create_entry(
        key(6), seq=1, prev=None, timestamp=now + 3_600_000, kind="offer", content=offer_content()
    )
    return [
        good[0],
        *forged_entries().values(),
        good[1],
        future.encode(),
        codec.encode(["not", "an", "entry"]),
        good[2],
    ]


@pytest.fixture
async def checker() -> AsyncIterator[Verifier]:
    verifier = Verifier(ThreadPoolExecutor(2, thread_name_prefix="verify"))
    await verifier.start_processes(1)
    await verifier.started()
    yield verifier
    await verifier.close()


async def test_the_process_gives_what_the_threads_give(checker: Verifier) -> None:
    wires = mixed_batch()
    now = now_ms()
    through_process = await checker.decode(wires, now)
    same(through_process, decode_entries(wires, now_ms=now))
    assert sum(isinstance(x, Entry) for x in through_process) == 5  # 3 good, gap, wrong-prev
    assert checker.restarts == 0


async def test_batches_beyond_what_the_process_holds_go_to_the_threads(checker: Verifier) -> None:
    batches = [[e.encode() for e in history(key(10 + i), 20)] for i in range(6)]
    now = now_ms()
    results = await asyncio.gather(*(checker.decode(b, now) for b in batches))
    for wires, result in zip(batches, results, strict=True):
        same(result, decode_entries(wires, now_ms=now))


async def test_a_killed_process_is_replaced_and_its_batches_checked_again(
    checker: Verifier,
) -> None:
    wires = mixed_batch()
    now = now_ms()
    (pid,) = checker.pids
    os.kill(pid, signal.SIGKILL)
    result = await checker.decode(wires, now)  # in hand as it died, or sent to it dead
    same(result, decode_entries(wires, now_ms=now))
    await wait_for(_async(lambda: checker.restarts == 1 and len(checker.pids) == 1))
    assert checker.pids != [pid]
    same(await checker.decode(wires, now), decode_entries(wires, now_ms=now))


def _replaced(checker: Verifier, pid: int) -> Callable[[], Any]:
    return _async(lambda: checker.pids not in ([], [pid]))


def _async(condition: Callable[[], bool]) -> Callable[[], Any]:
    async def check() -> bool:
        return condition()

    return check


@pytest.mark.parametrize("process", [False, True], ids=["threads", "process"])
async def test_a_forged_batch_is_judged_alike_by_both_paths(
    target: LiveNode, client: aiohttp.ClientSession, process: bool
) -> None:
    """The entries that fail are refused with the same errors, the rest of the batch is
    stored, and the ack says so, whether the node checks in a process or not."""
    if process:
        await target.service.peers.verify.start_processes(1)
    ws = await connect(client, target)
    before = await target.node.store.count_entries()
    batch = mixed_batch()
    expected = [
        x.code for x in decode_entries(batch, now_ms=now_ms()) if isinstance(x, ProtocolError)
    ]
    assert len(expected) == 6
    await ws.send_bytes(frames.encode(frames.Entries(1, batch)))
    errors = [await next_frame(ws, frames.Error) for _ in expected]
    assert sorted(e.code for e in errors if isinstance(e, frames.Error)) == sorted(expected)
    ack = await next_frame(ws, frames.Ack)
    assert isinstance(ack, frames.Ack)
    assert dict((bytes(a), s) for a, s in ack.heads) == {
        bytes(ROGUE.node_id): 0,
        bytes(key(5).node_id): 3,
    }
    assert await target.node.store.count_entries() == before + 3
    assert bool(target.service.peers.verify.pids) is process


async def test_a_catch_up_completes_when_the_process_is_killed_midway(tmp_path: Path) -> None:
    a = await LiveNode.start(tmp_path / "a", "A", holding=EVERYTHING)
    b = await LiveNode.start(tmp_path / "b", "B", holding=EVERYTHING)
    try:
        missed = history(key(9), 3000)
        await a.node.store.ingest(missed, now_ms())
        checker = b.service.peers.verify
        await checker.start_processes(1)
        await checker.started()
        (pid,) = checker.pids
        original = checker.decode
        batches = 0

        def decode(wires: Sequence[bytes], now: int) -> asyncio.Future[Decoded]:
            nonlocal batches
            batches += 1
            decoding = original(wires, now)
            if batches == 4:  # three batches before it in flight or being stored
                os.kill(pid, signal.SIGKILL)
            return decoding

        checker.decode = decode  # type: ignore[method-assign,assignment]
        await partner(a, b)
        await wait_for(lambda: b.holds(missed[-1].id), within=60, what="B to catch up")
        assert await b.node.store.count_entries() == await a.node.store.count_entries()
        assert batches >= 4
        assert checker.restarts == 1
        assert checker.pids
        assert checker.pids != [pid]
    finally:
        await b.stop()
        await a.stop()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # ended, not yet reaped
    except FileNotFoundError:
        return True


async def test_the_process_stops_with_the_node(tmp_path: Path) -> None:
    live = await LiveNode.start(tmp_path / "hub", "Hub")
    await verify.set_setting(live.node.store, "on")
    await live.stop()
    await live.restart()
    try:
        pids = live.service.peers.verify.pids
        assert len(pids) == verify.processes_for(os.cpu_count())
    finally:
        await live.stop()
    assert all(_gone(pid) for pid in pids)


async def test_the_process_ends_when_its_node_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from concurrent.futures import ThreadPoolExecutor
        from node.net.verify import Verifier

        async def main():
            verifier = Verifier(ThreadPoolExecutor(1))
            await verifier.start_processes(1)
            await verifier.started()
            print(verifier.pids[0], flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
        """
    )
    node = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert node.stdout is not None
        pid = int(await asyncio.wait_for(node.stdout.readline(), 30))
        assert not _gone(pid)
        node.kill()
        await node.wait()
        await wait_for(_async(lambda: _gone(pid)), what="the verify process to end")
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()


async def test_on_for_a_hub_of_three_cores_unless_switched_off(tmp_path: Path) -> None:
    live = await LiveNode.start(tmp_path / "school", "School", listen=False)
    try:
        store, me = live.node.store, live.node.node_id
        assert not await verify.wanted(store, me, 8)  # a school's node: off by default
        await live.node.update_profile(hub={})
        assert await verify.wanted(store, me, 3)
        assert not await verify.wanted(store, me, 2)  # two cores: the threads cost less
        await verify.set_setting(store, "off")
        assert not await verify.wanted(store, me, 8)
        await verify.set_setting(store, "auto")
        assert await verify.setting(store) == "auto"
        await live.node.update_profile(hub=None)
        await verify.set_setting(store, "on")
        assert await verify.wanted(store, me, 2)
        assert await verify.wanted(store, me, None)
    finally:
        await live.stop()


async def test_a_protocol_folder_where_the_node_was_started_is_not_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m` puts the current directory first on the import path: a `protocol`
    folder there (another checkout, /tmp) must not become the checking code."""
    fake = tmp_path / "protocol"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "errors.py").write_text("class ProtocolError(Exception):\n    pass\n")
    (fake / "keys.py").write_text("NodeId = bytes\n")
    (fake / "entry.py").write_text(
        textwrap.dedent(
            """
            class Entry:
                pass

            def decode_entries(wires, *, now_ms):
                return [Entry() for _ in wires]  # everything passes

            def entry_from_checked(data):
                return Entry()
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    verifier = Verifier(ThreadPoolExecutor(1, thread_name_prefix="verify"))
    try:
        await verifier.start_processes(1)
        await verifier.started()
        assert verifier.pids
        bad = forged_entries()
        forged = [bad[k] for k in ("bad-signature", "wrong-author", "tampered")]
        result = await verifier.decode(forged, now_ms())
        assert all(isinstance(x, ProtocolError) for x in result)
    finally:
        await verifier.close()


async def test_batches_decoded_in_one_turn_fill_the_process_then_go_to_the_threads(
    checker: Verifier,
) -> None:
    batches = [[e.encode() for e in history(key(20 + i), 5)] for i in range(verify.PER_PROCESS + 2)]
    now = now_ms()
    decoding = [checker.decode(b, now) for b in batches]  # no await between them
    (process,) = checker.processes
    assert process.in_hand == verify.PER_PROCESS
    for wires, result in zip(batches, await asyncio.gather(*decoding), strict=True):
        same(result, decode_entries(wires, now_ms=now))
    assert process.in_hand == 0


async def test_the_process_outlives_a_sigterm_to_the_node_s_group(checker: Verifier) -> None:
    """systemd's stop sends SIGTERM to every process of the node: the verify process
    ends when the node closes its stdin, not before the node's clean shutdown."""
    (process,) = checker.processes
    os.kill(process.pid, signal.SIGTERM)
    wires = mixed_batch()
    await process.check(wires, now_ms())  # ProcessGone if the SIGTERM ended it
    assert checker.pids == [process.pid]


async def test_a_stuck_process_is_killed_and_its_batch_checked_on_the_threads(
    checker: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify, "ANSWER_TIMEOUT_S", 0.5)
    (pid,) = checker.pids
    os.kill(pid, signal.SIGSTOP)
    try:
        # Two batches of 400 entries (about 100 kB each) fill the pipe and the node's
        # write buffer: sending them waits too, and that wait is bounded as well.
        batches = [[e.encode() for e in history(key(30 + i), 400)] for i in range(2)]
        now = now_ms()
        results = await asyncio.wait_for(
            asyncio.gather(*(checker.decode(b, now) for b in batches)), 60
        )
        for wires, result in zip(batches, results, strict=True):
            same(result, decode_entries(wires, now_ms=now))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    await wait_for(_async(lambda: _gone(pid)), what="the stuck process to be killed")
    await wait_for(_async(lambda: checker.restarts == 1 and len(checker.pids) == 1))


async def test_a_batch_that_kills_its_process_is_not_given_to_another() -> None:
    verifier = Verifier(ThreadPoolExecutor(1, thread_name_prefix="verify"))
    try:
        await verifier.start_processes(2)
        await verifier.started()
        pids = verifier.pids
        assert len(pids) == 2
        crashing: Any = [123]  # not bytes: decoding it raises TypeError, not a refusal
        with pytest.raises(TypeError):
            await verifier.decode(crashing, now_ms())
        # The one it was given has ended (its reader saw it), the other was spared.
        assert sum(pid in verifier.pids for pid in pids) == 1
    finally:
        await verifier.close()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_auto_counts_the_cores_the_node_may_use() -> None:
    """A node confined to one core (taskset, a container's cpuset) counts one."""
    script = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
    script += "from node.net.verify import cores; print(cores())"
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "1"


async def test_a_batch_is_checked_in_pieces_and_answered_whole_in_order(
    checker: Verifier,
) -> None:
    """A batch longer than a piece is cut (node/net/verify.py, PIECE): the process takes
    the pieces it has room for, the threads the rest, and the batch's result is what
    checking it whole gives, entry by entry, forged entries where they were."""
    good = [e.encode() for e in history(key(30), 3 * verify.PIECE)]
    bad = list(forged_entries().values())
    wires = good[: verify.PIECE - 1] + bad + good[verify.PIECE - 1 :]  # across a cut
    now = now_ms()
    (process,) = checker.processes
    decoding = checker.decode(wires, now)
    pieces = -(-len(wires) // verify.PIECE)
    assert process.in_hand == min(pieces, verify.PER_PROCESS)
    second = checker.decode(wires, now)  # these fill the process
    assert process.in_hand == verify.PER_PROCESS
    expected = decode_entries(wires, now_ms=now)
    same(await decoding, expected)
    same(await second, expected)
