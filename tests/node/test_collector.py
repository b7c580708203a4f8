"""node/collector.py: a running node's garbage-collector settings."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from node import collector


@pytest.fixture
def python_defaults() -> Iterator[None]:
    """The test process's collector as it was, after the test."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_what_the_node_started_with_and_collects_young_objects_less_often(
    python_defaults: None,
) -> None:
    _, middle, old = gc.get_threshold()
    started_with = [object() for _ in range(3)]  # alive when the node has started
    collector.settle()
    assert gc.get_freeze_count() >= len(started_with)
    assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, middle, old)


def test_garbage_cycles_are_still_freed_by_the_collector_running_on_its_own(
    python_defaults: None,
) -> None:
    """Settling delays collections, never turns them off: a node runs for days."""
    collector.settle()
    freed = []

    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: reference counting alone never frees it

        def __del__(self) -> None:
            freed.append(True)

    Node()
    kept: list[list[None]] = [
        [] for _ in range(3 * collector.YOUNG_THRESHOLD)
    ]  # new objects, no gc.collect()
    assert freed == [True]
    assert len(kept) == 3 * collector.YOUNG_THRESHOLD
