"""SIGKILL during sync and during local writes loses nothing acknowledged (issue 20,
Deliver 8). A few rounds here; ``python -m scripts.kill9_rounds --rounds 50`` runs more."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.kill9 import FixedPorts, new_pair, one_round

ROUNDS = 2


@pytest.fixture
def network(tmp_path: Path) -> Iterator[FixedPorts]:
    net = FixedPorts(tmp_path)
    try:
        yield net
    finally:
        net.close()


def test_kill_9_during_sync_and_local_writes_loses_nothing_acknowledged(
    network: FixedPorts,
) -> None:
    for seed in range(ROUNDS):
        oak, lycee = new_pair(network, seed)
        figures = one_round(network, oak, lycee, random.Random(seed))
        assert figures["acknowledged"] > 0
        network.stop(oak)
        network.stop(lycee)
