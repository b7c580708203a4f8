"""bench/week.py, the realistic week of bench/simulate.py, on small networks: every school
that wants an entry gets it, and the figures the RESULT reports hold (not timed)."""

from __future__ import annotations

import random

from bench import week
from bench.simulate import DEGREE, sparse_graph


def test_thirty_schools_receive_each_entry_about_once() -> None:
    r = week.redundancy(sparse_graph(30, DEGREE, random.Random(7)), 4, 10, 1)
    assert r["entries"] == 40
    assert r["copies_per_node_per_entry"] <= 1.2
    assert r["first_entry_copies_per_node"] > r["copies_per_node_per_entry"]


def test_a_week_of_three_hundred_schools() -> None:
    """spread() raises if a school that wants a sampled offer misses it, and
    check_policy() if the wanting sets disagree with protocol/horizon.py."""
    with_hubs = week.simulate_week(300, 10, 3, hubs=True, queries=50)
    without = week.simulate_week(300, 10, 3, hubs=False, queries=50)
    assert with_hubs["hubs"] == 3
    assert without["hubs"] == 0
    for r in (with_hubs, without):
        assert 0 < r["entries_stored_per_day"] <= 300 * 2 / 7
        assert r["copies_per_stored_offer"] < 1.5
        assert 0 <= r["search_reach"] <= 1
        assert r["received_bytes_per_day"] > 0
    assert with_hubs["search_reach"] == 1.0
    assert with_hubs["hub_sent_bytes_per_day"] > with_hubs["sent_bytes_per_day"]
