"""Post offers into a node's data folder as fast as it takes them, as the command line
does beside a running node, printing each one's id once it is acknowledged (the
commit returned). tests/faults/kill9.py kills it with SIGKILL part way.

    python -m tests.faults.writer DATA
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from node.node import Node

#: Posts at most this many, then waits to be killed: below a school's budget of public
#: entries taken at once (protocol/budget.py), which would refuse the rest.
MOST = 190
TEXT = "Two teachers would be welcome for a morning of phonics and guided reading. " * 20


async def main(data: Path) -> None:
    async with await Node.open(data) as node:
        for i in range(MOST):
            entry = await node.offers.post(
                "offer", {"activity": "visit", "title": f"Visit {i}", "text": TEXT}
            )
            print(entry.id, flush=True)  # acknowledged: it must never be lost
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
