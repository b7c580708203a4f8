"""Making offers and requests from peers searchable, after their entries are stored.

A catch-up stores entries batch by batch, each batch one transaction that is
acknowledged once committed. Putting their offers and requests into the search
index (FTS5 and the ``listings`` table) in that same transaction doubled the
database's work on the path of every acknowledgement (docs/performance.md, catch-up).
So :meth:`Store.ingest` queues them in the table ``unindexed``, in the entries'
transaction, and this task indexes what waits in a later one: as soon as
:data:`BACKLOG` wait, or :data:`DELAY_S` after the first did, whichever comes
first, in transactions of :data:`~node.store.database.INDEX_BATCH` (short enough not to
hold up the entries' own commits for long).

Nothing is lost in a crash: what waits is in the database with the entries, and
the indexer takes it first when the node starts again. A search meanwhile indexes
what waits before it looks (``Offers.search``, :meth:`Store.index_waiting`), so no
stored offer is ever missing from a search, only indexed a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from node.store.database import INDEX_BATCH, Store
from protocol.errors import StorageError

log = logging.getLogger(__name__)

#: Longest wait between an offer's entry being stored and its indexing (seconds).
DELAY_S = 1.0
#: Index at once when this many wait, without waiting for DELAY_S.
BACKLOG = 8 * INDEX_BATCH
#: After a failure (a full disk, damage): wait this long before trying again (seconds).
RETRY_S = 30.0


class SearchIndexer:
    """The background task of a running node that indexes what peers sent."""

    def __init__(self, store: Store, *, delay_s: float = DELAY_S) -> None:
        self.store = store
        self.delay_s = delay_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="search indexer")

    async def stop(self) -> None:
        """Stop, after indexing what waits (what cannot be is taken at the next start)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(StorageError):
            await self.store.index_all()

    async def _run(self) -> None:
        store = self.store
        loop = asyncio.get_running_loop()
        await self._index()  # first what an earlier run left waiting (a crash), at once
        while True:
            await store.index_wanted.wait()
            deadline = loop.time() + self.delay_s
            while store.unindexed < BACKLOG and (left := deadline - loop.time()) > 0:
                store.index_wanted.clear()
                # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
                # cancellation that comes as the event is set, and stop() would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await store.index_wanted.wait()
            store.index_wanted.clear()
            await self._index()

    async def _index(self) -> None:
        try:
            while await self.store.index_pending() == INDEX_BATCH:
                pass  # more waits: a catch-up outran the delay
        except StorageError as exc:
            log.warning("offers from partners are not searchable yet: %s", exc)
            await asyncio.sleep(RETRY_S)
            self.store.index_wanted.set()
