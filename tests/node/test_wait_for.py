"""tests.network.wait_for, which most node tests wait with: a check counts only when no
write transaction began or ran while it read, so a check must only read."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from node.store.database import Store
from tests.network import LiveNode, wait_for


async def test_a_check_that_writes_never_counts_and_fails_in_words(tmp_path: Path) -> None:
    live = await LiveNode.start(tmp_path / "a", "Oakfield Primary")
    try:

        async def writes() -> bool:
            await live.node.store.set_setting("probe", b"1")
            return True

        with pytest.raises(AssertionError, match="a check must only read"):
            await wait_for(writes, within=0.5, what="a check that writes")
        await live.node.store.set_setting("probe", b"2")

        async def reads() -> bool:
            return await live.node.store.get_setting("probe") == b"2"

        await wait_for(reads, what="a check that reads")
    finally:
        await live.stop()


async def test_a_transaction_queued_before_a_check_and_run_during_it_is_seen(
    tmp_path: Path,
) -> None:
    """A write waiting for the lock when a commit wakes the check takes the lock while
    the check reads: the check read its uncommitted (here rolled back) statements and
    must not count, though the lock was free at its start and at its end."""
    store = await Store.open(tmp_path / "node.db")
    hold, written, seen, gone = (asyncio.Event() for _ in range(4))
    values: list[bytes | None] = []

    async def first() -> None:  # holds the lock until the check waits for a commit
        async with store.write():
            await store.execute("INSERT INTO settings VALUES ('other', x'00')")
            await hold.wait()

    async def rolled_back() -> None:  # queued behind it; never committed
        with contextlib.suppress(LookupError):
            async with store.write():
                await store.execute("INSERT INTO settings VALUES ('probe', x'00')")
                written.set()
                await seen.wait()
                raise LookupError("rolled back")
        gone.set()

    async def check() -> bool:
        await written.wait()
        values.append(await store.get_setting("probe"))
        seen.set()
        await gone.wait()
        return values[-1] is not None or len(values) > 1

    try:
        tasks = [asyncio.create_task(first())]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(rolled_back()))
        waiting = asyncio.create_task(wait_for(check, within=5, what="a committed read"))
        await asyncio.sleep(0)
        hold.set()
        await waiting
        await asyncio.gather(*tasks)
        assert values[-1] is None  # what counted read only what was committed
    finally:
        await store.close()
