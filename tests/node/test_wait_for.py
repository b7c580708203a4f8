"""tests.network.wait_for, which most node tests wait with: a check counts only when no
write transaction began or ran while it read, so a check must only read."""

from __future__ import annotations

from pathlib import Path

import pytest

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
