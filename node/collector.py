"""Python's garbage collector, set for a node that runs for days.

A node builds and drops many small objects per entry it receives (the entry, its
payload, its ids, the rows stored). Python's default collector runs its youngest
generation every 700 new container objects, and now and then a full pass over every
object the process holds: during a hub's catch-up that was 2 to 7 µs of CPU an entry
(docs/performance.md, "The collector"). Two standard settings cut it to under 1:

- the objects alive once the node has started (modules, its settings, its caches) are
  moved out of the collector's sight (:func:`gc.freeze`): they live as long as the
  process, so checking them again and again finds nothing;
- the youngest generation is collected every :data:`YOUNG_THRESHOLD` new objects
  instead of 700. Cycles of garbage are kept a little longer (a few megabytes at
  most); everything else is freed at once by reference counting, as before.

Called by processes that run a node (``schoolmesh run``, ``schoolmesh demo``, the
verify process, the benchmarks); never on import, so tests and scripts that only use
the library keep Python's defaults.
"""

from __future__ import annotations

import gc

#: New container objects between two collections of the youngest generation
#: (Python's default is 700).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Set the collector for a long-running node, once what it starts with is loaded."""
    gc.collect()  # what starting left behind is freed, not frozen
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
