"""Making offers and requests from peers searchable, after their entries are stored.

A catch-up stores entries batch by batch, each batch one transaction that is
acknowledged once committed. Putting their offers and requests into the search
index (FTS5 and the ``listings`` table) in that same transaction doubled the
database's work on the path of every acknowledgement (docs/performance.md, catch-up).
So :meth:`Store.ingest` queues them in the table ``unindexed``, in the entries'
transaction, and this task indexes what waits in a later one, in transactions of
:data:`~node.store.database.INDEX_BATCH`.

It indexes once storing pauses (:data:`QUIET_S` without a new offer stored: a lone
offer from a partner is searchable within about half a second), or once the first
offer waiting has waited :data:`MAX_DELAY_S`, however busy storing is
(:func:`index_in`). Indexing while a catch-up stores took a third of the database
thread's work from the catch-up's own path; waiting for its end raised a hub's
catch-up by about a sixth (docs/performance.md, "Where item 6 stands").

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

#: Index once no offer has been stored for this long (seconds): storing has paused.
QUIET_S = 0.5
#: Index once the first offer waiting has waited this long (seconds), even while
#: storing goes on (a catch-up of a large network takes minutes).
MAX_DELAY_S = 10.0
#: After a failure (a full disk, damage): wait this long before trying again (seconds).
RETRY_S = 30.0


def index_in(
    first_waiting_at: float,
    last_stored_at: float,
    now: float,
    *,
    quiet_s: float,
    max_delay_s: float,
) -> float:
    """Seconds until what waits should be indexed (0 or less: now), for offers waiting
    since ``first_waiting_at``, the newest stored at ``last_stored_at``: when storing
    has paused for ``quiet_s``, or the first has waited ``max_delay_s``."""
    return min(last_stored_at + quiet_s, first_waiting_at + max_delay_s) - now


class SearchIndexer:
    """The background task of a running node that indexes what peers sent."""

    def __init__(
        self, store: Store, *, delay_s: float = MAX_DELAY_S, quiet_s: float = QUIET_S
    ) -> None:
        self.store = store
        self.delay_s = delay_s  # the longest wait (MAX_DELAY_S)
        self.quiet_s = quiet_s
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
            first = last = loop.time()
            store.index_wanted.clear()
            while (left := index_in(first, last, loop.time(), quiet_s=self.quiet_s,
                                    max_delay_s=self.delay_s)) > 0:  # fmt: skip
                # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
                # cancellation that comes as the event is set, and stop() would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await store.index_wanted.wait()
                if store.index_wanted.is_set():  # more offers stored: not quiet yet
                    store.index_wanted.clear()
                    last = loop.time()
            await self._index()

    async def _index(self) -> None:
        try:
            while await self.store.index_pending() == INDEX_BATCH:
                pass  # more waits: a catch-up outran the delay
        except StorageError as exc:
            log.warning("offers from partners are not searchable yet: %s", exc)
            await asyncio.sleep(RETRY_S)
            self.store.index_wanted.set()
